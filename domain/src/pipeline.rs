//! A pipeline run: its status, added up from its stages' job runs, and where it was started.

use chrono::{DateTime, Duration, Utc};

use crate::{named_enum, JobRunState, Stage};

/// A pipeline run's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PipelineStatus {
    Running,
    Succeeded,
    Failed,
    Stopped,
    TimedOut,
    /// A stage was skipped, or the next job never started after its parent succeeded.
    Incomplete,
}

named_enum!(PipelineStatus, "pipeline run status", {
    Running => "running",
    Succeeded => "succeeded",
    Failed => "failed",
    Stopped => "stopped",
    TimedOut => "timedout",
    Incomplete => "incomplete",
});

impl PipelineStatus {
    pub fn is_active(self) -> bool {
        self == PipelineStatus::Running
    }
}

/// Where a pipeline run was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunSource {
    /// Run pipeline in Lakeline.
    Lakeline,
    /// Seen in the workspace: the CML UI, the API.
    External,
    /// Seen in the workspace, started by New Batch's schedule.
    Scheduled,
}

named_enum!(RunSource, "run source", {
    Lakeline => "lakeline",
    External => "external",
    Scheduled => "scheduled",
});

/// What the status rule needs to know of one stage's job run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StageOutcome {
    pub stage: Stage,
    pub state: JobRunState,
    pub finished_at: Option<DateTime<Utc>>,
}

/// How long a succeeded stage may wait for its dependent to start before the pipeline run counts
/// as incomplete (CML starts a dependent within moments of its parent's success).
pub const NEXT_STAGE_GRACE: Duration = Duration::seconds(120);

impl PipelineStatus {
    /// The status a pipeline run's stages (in chain order) add up to, and when it ended: the first
    /// stage that did not succeed decides; all three succeeded is success; a chain whose next job
    /// never started within [`NEXT_STAGE_GRACE`] is incomplete.
    pub fn of(stages: &[StageOutcome], now: DateTime<Utc>) -> (PipelineStatus, Option<DateTime<Utc>>) {
        let mut last_finished = None;
        for s in stages {
            let ended = match s.state {
                JobRunState::Failed => PipelineStatus::Failed,
                JobRunState::Stopped => PipelineStatus::Stopped,
                JobRunState::TimedOut => PipelineStatus::TimedOut,
                JobRunState::Skipped => PipelineStatus::Incomplete,
                JobRunState::Succeeded => {
                    last_finished = s.finished_at;
                    continue;
                }
                _ => return (PipelineStatus::Running, None),
            };
            return (ended, s.finished_at);
        }
        match stages.last() {
            Some(s) if s.stage.is_last() => (PipelineStatus::Succeeded, s.finished_at),
            Some(_) if last_finished.is_some_and(|t| now - t > NEXT_STAGE_GRACE) => (PipelineStatus::Incomplete, last_finished),
            _ => (PipelineStatus::Running, None),
        }
    }
}

impl PipelineStatus {
    /// The stage a pipeline run that ended without succeeding can be retried from: the first of
    /// its stages that did not succeed (failed, stopped, timed out, skipped), or the stage after
    /// the last one that did when the chain ended between stages. `None` while it runs and once it
    /// succeeded.
    pub fn retry_from(self, stages: &[StageOutcome]) -> Option<Stage> {
        if matches!(self, PipelineStatus::Running | PipelineStatus::Succeeded) {
            return None;
        }
        match stages.iter().find(|s| s.state != JobRunState::Succeeded) {
            Some(s) => Some(s.stage),
            None => stages.last().map_or(Some(Stage::NewBatch), |s| s.stage.next()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap() + Duration::seconds(seconds)
    }

    /// Stage `i` in `state`; a terminal one ended at 10 (i + 1) seconds.
    fn stage(i: usize, state: JobRunState) -> StageOutcome {
        StageOutcome { stage: Stage::from_index(i).unwrap(), state, finished_at: state.is_terminal().then(|| at(10 * (i as i64 + 1))) }
    }

    use JobRunState::{Failed, Running as Busy, Skipped, Starting, Stopped, Succeeded, TimedOut};

    #[test]
    fn a_pipeline_run_succeeds_only_when_all_three_stages_did() {
        let now = at(100);
        assert_eq!(PipelineStatus::of(&[], now), (PipelineStatus::Running, None), "just triggered");
        assert_eq!(PipelineStatus::of(&[stage(0, Busy)], now), (PipelineStatus::Running, None));
        assert_eq!(PipelineStatus::of(&[stage(0, Succeeded), stage(1, Starting)], now), (PipelineStatus::Running, None));
        let all = [stage(0, Succeeded), stage(1, Succeeded), stage(2, Succeeded)];
        assert_eq!(PipelineStatus::of(&all, now), (PipelineStatus::Succeeded, Some(at(30))));
    }

    #[test]
    fn the_first_stage_that_did_not_succeed_decides() {
        let now = at(100);
        for (state, expected) in [(Failed, PipelineStatus::Failed), (Stopped, PipelineStatus::Stopped), (TimedOut, PipelineStatus::TimedOut), (Skipped, PipelineStatus::Incomplete)] {
            let stages = [stage(0, Succeeded), stage(1, state)];
            assert_eq!(PipelineStatus::of(&stages, now), (expected, Some(at(20))), "{state}");
        }
        assert_eq!(PipelineStatus::of(&[stage(0, Stopped)], now), (PipelineStatus::Stopped, Some(at(10))), "a stopped New Batch ends the run");
    }

    #[test]
    fn a_chain_whose_next_job_never_starts_becomes_incomplete_after_the_grace() {
        let stages = [stage(0, Succeeded)];
        assert_eq!(PipelineStatus::of(&stages, at(10) + NEXT_STAGE_GRACE), (PipelineStatus::Running, None), "still within the grace");
        assert_eq!(PipelineStatus::of(&stages, at(11) + NEXT_STAGE_GRACE), (PipelineStatus::Incomplete, Some(at(10))));
    }

    #[test]
    fn statuses_read_and_write_their_stored_names() {
        for status in PipelineStatus::ALL {
            assert_eq!(status.as_str().parse::<PipelineStatus>(), Ok(*status));
        }
        assert!("FAILED".parse::<PipelineStatus>().is_err());
        assert_eq!("external".parse::<RunSource>(), Ok(RunSource::External));
    }

    #[test]
    fn a_run_is_retried_from_the_stage_that_did_not_succeed() {
        use PipelineStatus as P;
        let failed_retrain = [stage(0, Succeeded), stage(1, Failed)];
        assert_eq!(P::Failed.retry_from(&failed_retrain), Some(Stage::RetrainXgboost));
        assert_eq!(P::Stopped.retry_from(&[stage(0, Stopped)]), Some(Stage::NewBatch));
        assert_eq!(P::TimedOut.retry_from(&[stage(0, Succeeded), stage(1, Succeeded), stage(2, TimedOut)]), Some(Stage::ApiRedeployment));
        assert_eq!(P::Incomplete.retry_from(&[stage(0, Succeeded)]), Some(Stage::RetrainXgboost), "the dependent never started");
        assert_eq!(P::Incomplete.retry_from(&[stage(0, Succeeded), stage(1, Skipped)]), Some(Stage::RetrainXgboost));
        assert_eq!(P::Running.retry_from(&[stage(0, Succeeded), stage(1, Busy)]), None, "a running chain");
        assert_eq!(P::Succeeded.retry_from(&[stage(0, Succeeded), stage(1, Succeeded), stage(2, Succeeded)]), None);
    }
}
