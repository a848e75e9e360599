//! What the browsers hear over server-sent events: which pipeline run changed, and how. Pages
//! refetch only what they show, and only when it changed.

use serde::{Deserialize, Serialize};

use crate::{JobRunState, PipelineStatus, Stage};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// A stage's job run changed state (`stage` and `state` say which and to what).
    Stage,
    /// The pipeline run's status changed (`status`).
    Status,
    /// More of a stage's log was read (`stage`).
    Log,
    /// More of the run's lineage is known (snapshot, experiment run, model, deployment).
    Lineage,
    /// A deployment's state changed, for example when a later run replaced it.
    Deployment,
    /// Someone left a note on the run.
    Note,
    /// The server dropped events for this browser: refetch everything shown.
    Resync,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub kind: ChangeKind,
    /// `None` only for [`ChangeKind::Resync`].
    pub pipeline_run_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<Stage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<JobRunState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<PipelineStatus>,
}

impl Change {
    pub fn new(kind: ChangeKind, pipeline_run_id: i64) -> Self {
        Change { kind, pipeline_run_id: Some(pipeline_run_id), stage: None, state: None, status: None }
    }

    pub fn resync() -> Self {
        Change { kind: ChangeKind::Resync, pipeline_run_id: None, stage: None, state: None, status: None }
    }

    /// Whether a page showing pipeline run `id` (or, with `None`, any run) needs to refetch.
    pub fn concerns(&self, id: Option<i64>) -> bool {
        self.kind == ChangeKind::Resync || id.is_none() || self.pipeline_run_id == id
    }

    /// Whether lists of runs (History) show what changed: not log text.
    pub fn shows_in_lists(&self) -> bool {
        self.kind != ChangeKind::Log
    }

    /// Whether quality figures or the latest deployment may have changed.
    pub fn touches_models(&self) -> bool {
        matches!(self.kind, ChangeKind::Lineage | ChangeKind::Deployment | ChangeKind::Resync)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_travel_as_small_json() {
        let mut c = Change::new(ChangeKind::Stage, 7);
        c.stage = Some(Stage::RetrainXgboost);
        c.state = Some(JobRunState::Running);
        let text = serde_json::to_string(&c).unwrap();
        assert_eq!(text, r#"{"kind":"stage","pipeline_run_id":7,"stage":"train_xgboost","state":"ENGINE_RUNNING"}"#);
        assert_eq!(serde_json::from_str::<Change>(&text).unwrap(), c);
    }

    #[test]
    fn pages_refetch_only_what_they_show() {
        let log = Change::new(ChangeKind::Log, 3);
        assert!(log.concerns(Some(3)) && !log.concerns(Some(4)) && log.concerns(None));
        assert!(!log.shows_in_lists() && !log.touches_models());
        assert!(Change::new(ChangeKind::Deployment, 1).touches_models());
        assert!(Change::resync().concerns(Some(9)) && Change::resync().shows_in_lists());
    }
}
