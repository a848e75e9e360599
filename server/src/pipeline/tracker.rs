//! The tracker: one background task that reconciles the three jobs' runs into pipeline runs in
//! Lakeline's database — including runs started outside Lakeline — and tells the browsers when
//! something changed. It polls fast only while something is active, slowly otherwise, and counts
//! the API calls it makes.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use cml_api::{CreateJobRunRequest, EngineStatus, Job, JobRun};
use tokio::sync::{broadcast, Mutex, Notify, RwLock};

use super::definition::Definition;
use super::lineage;
use crate::cml::{CmlClient, CmlError, RunQuery};
use crate::store::Store;

pub const FAST: Duration = Duration::from_secs(1);
pub const SLOW: Duration = Duration::from_secs(15);
/// Job runs read per job and cycle (newest first).
const PAGE: u32 = 10;

#[derive(Debug, thiserror::Error)]
pub enum TrackerError {
    #[error("pipeline run {0} is still running; wait for it to finish or stop it first")]
    AlreadyRunning(i64),
    #[error("a job of the pipeline already has an active run ({0}); wait for it or stop it first")]
    JobBusy(String),
    #[error("the pipeline's jobs are not set up in the workspace yet: open Settings and create them")]
    NotSetUp,
    #[error("pipeline run {0} is not running")]
    NotRunning(i64),
    #[error("no pipeline run {0}")]
    NoSuchRun(i64),
    #[error("environment must be KEY=VALUE lines: {0:?} is not")]
    BadEnvironment(String),
    #[error(transparent)]
    Cml(#[from] CmlError),
    #[error(transparent)]
    Store(#[from] crate::error::Error),
}

/// What the browsers hear: a pipeline run changed.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Changed {
    pub pipeline_run_id: i64,
}

pub struct Tracker {
    client: CmlClient,
    project_id: String,
    store: Store,
    definition: RwLock<Definition>,
    events: broadcast::Sender<Changed>,
    wake: Notify,
    /// Held while reconciling and while triggering, so that a run Lakeline starts is never also
    /// imported as an "external" one, and two clicks never start two chains.
    lock: Mutex<()>,
    jobs: RwLock<Option<[Job; 3]>>,
    who: RwLock<Option<String>>,
    /// When all three jobs were last read; in between, an active chain's pass reads only the
    /// jobs that can change next.
    last_full_pass: std::sync::Mutex<Option<std::time::Instant>>,
}

impl Tracker {
    pub fn new(client: CmlClient, project_id: String, store: Store, definition: Definition) -> Arc<Self> {
        Arc::new(Tracker {
            client,
            project_id,
            store,
            definition: RwLock::new(definition),
            events: broadcast::channel(256).0,
            wake: Notify::new(),
            lock: Mutex::new(()),
            jobs: RwLock::new(None),
            who: RwLock::new(None),
            last_full_pass: std::sync::Mutex::new(None),
        })
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Changed> {
        self.events.subscribe()
    }

    pub fn client(&self) -> &CmlClient {
        &self.client
    }

    pub fn project_id(&self) -> &str {
        &self.project_id
    }

    pub async fn definition(&self) -> Definition {
        self.definition.read().await.clone()
    }

    /// New settings: forget the jobs found under the old names.
    pub async fn set_definition(&self, definition: Definition) {
        *self.definition.write().await = definition;
        *self.jobs.write().await = None;
        self.wake.notify_one();
    }

    /// Runs until the task is dropped.
    pub async fn run(self: Arc<Self>) {
        loop {
            let active = match self.reconcile().await {
                Ok(active) => active,
                Err(e) => {
                    tracing::warn!(error = %e, "tracker could not reconcile");
                    false
                }
            };
            let pause = if active { FAST } else { SLOW };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = self.wake.notified() => {}
            }
        }
    }

    async fn jobs(&self) -> Result<Option<[Job; 3]>, CmlError> {
        if let Some(jobs) = self.jobs.read().await.clone() {
            return Ok(Some(jobs));
        }
        let definition = self.definition().await;
        let found = definition.find_jobs(&self.client, &self.project_id).await?;
        let jobs = match found {
            [Some(a), Some(b), Some(c)] => Some([a, b, c]),
            _ => None,
        };
        *self.jobs.write().await = jobs.clone();
        Ok(jobs)
    }

    /// One pass: read the jobs' newest runs, group them, update statuses and lineage. Returns
    /// whether anything is active (then the next pass comes sooner).
    pub async fn reconcile(&self) -> Result<bool, TrackerError> {
        let _guard = self.lock.lock().await;
        let Some(jobs) = self.jobs().await? else { return Ok(false) };
        let stages = self.stages_to_read().await?;
        let mut active = false;
        for (stage, job) in jobs.iter().enumerate().filter(|(stage, _)| stages.contains(stage)) {
            let query = RunQuery { newest_first: true, page_size: Some(PAGE), ..Default::default() };
            let runs = match self.client.list_job_runs_page(&self.project_id, &job.id, &query, None).await {
                Ok((runs, _)) => runs,
                Err(CmlError::NotFound { .. }) => {
                    // The job was deleted or renamed: look the jobs up again next time.
                    *self.jobs.write().await = None;
                    return Ok(false);
                }
                Err(e) => return Err(e.into()),
            };
            for run in runs.iter().rev() {
                active |= run.status.is_active();
                self.track(stage as i64, run).await?;
            }
        }
        for id in self.store.active_pipeline_runs().await? {
            active = true;
            self.update_status(id, false).await?;
        }
        for id in self.store.unresolved_pipeline_runs().await? {
            self.resolve_lineage(id).await?;
        }
        Ok(active)
    }

    async fn track(&self, stage: i64, run: &JobRun) -> Result<(), TrackerError> {
        if let Some(known) = self.store.stage_of_job_run(&run.id).await? {
            if known.status != run.status.as_str() || known.finished_at != run.finished_at || known.running_at != run.running_at {
                self.store.upsert_stage(known.pipeline_run_id, stage, run).await?;
                self.update_status(known.pipeline_run_id, true).await?;
                self.notify(known.pipeline_run_id);
            }
            return Ok(());
        }
        let created = run.created_at.unwrap_or_else(Utc::now);
        let pipeline_run = if stage == 0 {
            // A New Batch run Lakeline did not start: from the CML UI, the API, a schedule.
            let who = if run.creator.username.is_empty() { "unknown".to_string() } else { run.creator.username.clone() };
            let id = self.store.insert_pipeline_run(&who, "external", created).await?;
            tracing::info!(pipeline_run = id, job_run = %run.id, "tracking a pipeline run started outside Lakeline");
            Some(id)
        } else {
            self.store.pipeline_run_awaiting(stage, created).await?
        };
        match pipeline_run {
            Some(id) => {
                self.store.upsert_stage(id, stage, run).await?;
                self.update_status(id, true).await?;
                self.notify(id);
            }
            None => tracing::debug!(job_run = %run.id, stage, "a job run that continues no pipeline run"),
        }
        Ok(())
    }

    /// Which jobs this pass reads: all three every slow interval (runs may start anywhere, from
    /// anyone), and in between only the active chain's current and next stage.
    async fn stages_to_read(&self) -> Result<Vec<usize>, TrackerError> {
        let now = std::time::Instant::now();
        let full_due = self.last_full_pass.lock().expect("tracker clock").is_none_or(|t| now.duration_since(t) >= SLOW);
        let active = self.store.active_pipeline_runs().await?;
        if full_due || active.is_empty() {
            *self.last_full_pass.lock().expect("tracker clock") = Some(now);
            return Ok(vec![0, 1, 2]);
        }
        let mut stages = vec![];
        for id in active {
            let current = self.store.stages(id).await?.iter().map(|s| s.stage as usize).max().unwrap_or(0);
            stages.extend([current, (current + 1).min(2)]);
        }
        stages.sort_unstable();
        stages.dedup();
        Ok(stages)
    }

    async fn update_status(&self, id: i64, stage_changed: bool) -> Result<(), TrackerError> {
        let stages = self.store.stages(id).await?;
        let (status, finished) = lineage::pipeline_status(&stages, Utc::now());
        if self.store.set_pipeline_status(id, status, finished).await? {
            self.notify(id);
        }
        // Lineage grows stage by stage: resolve what a newly finished stage made known.
        if stage_changed && status == "running" && stages.iter().any(|s| s.engine_status() == EngineStatus::Succeeded) {
            self.resolve_lineage(id).await?;
        }
        Ok(())
    }

    async fn resolve_lineage(&self, id: i64) -> Result<(), TrackerError> {
        let Some((run, stages)) = self.store.pipeline_run(id).await? else { return Ok(()) };
        let definition = self.definition().await;
        let (update, problems) =
            lineage::resolve(&self.client, &self.project_id, &definition.settings, &definition.experiment_name(), &run, &stages).await;
        let finished = run.status != "running";
        if !problems.is_empty() && finished {
            tracing::info!(pipeline_run = id, ?problems, "lineage only partly resolved");
        }
        self.store.set_lineage(id, &update, finished).await?;
        self.notify(id);
        Ok(())
    }

    fn notify(&self, pipeline_run_id: i64) {
        let _ = self.events.send(Changed { pipeline_run_id });
    }

    /// Starts a pipeline run: a run of New Batch. Refused while a chain is active.
    pub async fn trigger(&self, arguments: String, environment: String) -> Result<i64, TrackerError> {
        let environment = parse_environment(&environment)?;
        let _guard = self.lock.lock().await;
        if let Some(id) = self.store.active_pipeline_runs().await?.first() {
            return Err(TrackerError::AlreadyRunning(*id));
        }
        let jobs = self.jobs().await?.ok_or(TrackerError::NotSetUp)?;
        for job in &jobs {
            if let Some(latest) = self.client.latest_job_run(&self.project_id, &job.id).await? {
                if latest.status.is_active() {
                    return Err(TrackerError::JobBusy(format!("{} is {}", job.name, latest.status.word())));
                }
            }
        }
        let who = self.who().await;
        let run = self.client.create_job_run(&self.project_id, &jobs[0].id, &CreateJobRunRequest { environment, arguments }).await?;
        let id = self.store.insert_pipeline_run(&who, "lakeline", run.created_at.unwrap_or_else(Utc::now)).await?;
        self.store.upsert_stage(id, 0, &run).await?;
        self.store.record_event(&who, "pipeline.trigger", &format!("pipeline run {id}, job run {}", run.id)).await?;
        tracing::info!(pipeline_run = id, job_run = %run.id, "pipeline run started");
        self.notify(id);
        self.wake.notify_one();
        Ok(id)
    }

    /// Stops a running pipeline run's active job run.
    pub async fn stop(&self, id: i64) -> Result<(), TrackerError> {
        let (run, stages) = self.store.pipeline_run(id).await?.ok_or(TrackerError::NoSuchRun(id))?;
        let active = stages.iter().find(|s| s.engine_status().is_active());
        match active {
            Some(stage) if run.status == "running" => {
                self.client.stop_job_run(&self.project_id, &stage.job_id, &stage.job_run_id).await?;
                let who = self.who().await;
                self.store.record_event(&who, "pipeline.stop", &format!("pipeline run {id}, job run {}", stage.job_run_id)).await?;
                self.wake.notify_one();
                Ok(())
            }
            _ => Err(TrackerError::NotRunning(id)),
        }
    }

    /// The workspace user Lakeline acts as (from `validate_key`), for "triggered by".
    async fn who(&self) -> String {
        if let Some(who) = self.who.read().await.clone() {
            return who;
        }
        let who = match self.client.validate_key().await {
            Ok(v) if !v.username.is_empty() => v.username,
            _ => "lakeline".into(),
        };
        *self.who.write().await = Some(who.clone());
        who
    }
}

/// `KEY=VALUE` lines (blank lines and `#` comments ignored).
pub fn parse_environment(text: &str) -> Result<std::collections::BTreeMap<String, String>, TrackerError> {
    let mut env = std::collections::BTreeMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        match line.split_once('=').map(|(k, v)| (k.trim(), v.trim())) {
            Some((k, v)) if !k.is_empty() && !k.contains(char::is_whitespace) => {
                env.insert(k.to_string(), v.to_string());
            }
            _ => return Err(TrackerError::BadEnvironment(line.to_string())),
        }
    }
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_is_key_value_lines() {
        let env = parse_environment("A=1\n\n  # a comment\nB = two words \nC=\nD=x=y\n").unwrap();
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(pairs, [("A", "1"), ("B", "two words"), ("C", ""), ("D", "x=y")]);
        assert!(parse_environment("").unwrap().is_empty());
        assert_eq!(parse_environment("A=1\nA=2").unwrap()["A"], "2", "the last one wins");
    }

    #[test]
    fn a_line_that_is_not_key_value_is_named_in_the_error() {
        for bad in ["just words", "=value", "TWO WORDS=x", " = "] {
            let err = parse_environment(&format!("OK=1\n{bad}")).unwrap_err();
            assert!(matches!(&err, TrackerError::BadEnvironment(line) if line == bad.trim()), "{bad:?}: {err}");
            assert!(err.to_string().contains("KEY=VALUE"), "{err}");
        }
    }
}
