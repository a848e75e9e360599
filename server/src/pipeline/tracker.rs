//! The tracker: the one component that reads the workspace on a schedule. It reconciles the
//! three jobs' runs into pipeline runs in Lakeline's database (including runs started outside
//! Lakeline), keeps each stage's log tail, the lineage and the deployments' states current there,
//! and tells the browsers what changed. Pages read the database, never the workspace.
//!
//! It reads only what can change next: while a chain runs, the one job run that is active (or
//! the next job's runs, in the same pass that saw a stage succeed and while the dependent is
//! awaited), twice a second around the end the stage's past durations predict, once a second
//! just after a start and while a stage is scheduled, and every few seconds in between (see
//! [`pause_for`]); when idle, only New Batch's runs, with a full pass over all three jobs and the
//! live deployment every few minutes.
//!
//! Among several replicas on one PostgreSQL database, only the one holding the polling lease
//! reads the workspace; how the replicas share that and their changes is in [`replicas`].

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use cml_api::schedule::Schedule;
use cml_api::{CreateJobRunRequest, Job, JobRun, UpdateJob};
use domain::{Change, ChangeKind, DeploymentState, JobRunState, PipelineStatus, RunRequest, RunSource, Stage};
use tracing::Instrument;
use tokio::sync::{broadcast, mpsc, Mutex, MutexGuard, Notify, RwLock};

use super::definition::{Definition, PARENT_ID_ENV, QUALITY_GATE_ENV, RETRAIN_JOB_RUN_ENV, SNAPSHOT_ID_ENV};
use super::lineage;
use crate::cml::{CmlClient, CmlError, RunQuery};
use crate::store::audit::Actor;
use crate::store::pipeline_runs::{PipelineRunRow, StageRow};
use crate::store::cluster::{ActionLock, Lease, Message};
use crate::store::Store;

mod replicas;
pub use replicas::LEASE_RETRY;

/// Between passes while nothing runs.
pub const IDLE: Duration = Duration::from_secs(30);
/// Between passes while a stage runs, away from the moments a transition is likely.
pub const BETWEEN: Duration = Duration::from_secs(4);
/// Between passes while a stage is being scheduled or stopped, and just after it started running.
pub const NEAR: Duration = Duration::from_secs(1);
/// Between passes around a stage's predicted end and while its dependent is awaited: the moments
/// a change is most likely, and the ones the browsers wait for.
pub const FAST: Duration = Duration::from_millis(500);
/// How often all three jobs (runs started anywhere, by anyone) and the live deployment are read.
pub const FULL_EVERY: Duration = Duration::from_secs(180);
/// How long after a job run starts running a quick failure is still likely: one read in it.
const START_WINDOW: chrono::Duration = chrono::Duration::seconds(1);
/// How long a stage may sit scheduled, starting or stopping before it is looked at less often
/// (a runtime being prepared can take minutes).
const WAIT_WINDOW: chrono::Duration = chrono::Duration::seconds(30);
/// How long after a stage succeeded its dependent is awaited closely.
const AWAIT_WINDOW: chrono::Duration = chrono::Duration::seconds(5);
/// Around a stage's predicted end (the median of its recent durations): a fifth of it before and
/// after, at least this much before and this much after (durations vary with the machine's load
/// and the data; a narrower window, from the shortest to the longest recent duration, measured
/// ends seen 4 s late at p95 once pages loaded the machine).
const END_BEFORE: chrono::Duration = chrono::Duration::seconds(1);
const END_AFTER: chrono::Duration = chrono::Duration::seconds(2);
/// Recent durations a stage's end is predicted from.
const DURATIONS: i64 = 5;
/// A window wider than this (a long stage) is polled at [`NEAR`], not [`FAST`].
const WIDE_WINDOW: chrono::Duration = chrono::Duration::seconds(8);
/// How long after a stage starts running its log is first read, and how often after that.
pub const LOG_FIRST: Duration = Duration::from_secs(5);
pub const LOG_EVERY: Duration = Duration::from_secs(30);
/// How much of a log is kept: its last bytes.
pub const LOG_TAIL: usize = 16 * 1024;
/// Job runs read per listing (newest first).
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
    #[error("pipeline run {0} is running; set up or repair the jobs once it has finished (or stop it)")]
    BusyForSetup(i64),
    #[error("no pipeline run {0}")]
    NoSuchRun(i64),
    #[error("pipeline run {0} is {1}: only a run that failed, stopped, timed out or stayed incomplete can be retried")]
    NotRetryable(i64, PipelineStatus),
    #[error("the snapshot range pipeline run {0} trained on is not known (its New Batch wrote no summary), so a retrain could not read the same batch; start a new run instead")]
    UnknownRange(i64),
    #[error("{0}")]
    Schedule(#[from] cml_api::schedule::ScheduleError),
    #[error("pipeline run {0}'s model was not held back by the quality gate ({1}); only a gated model can be deployed anyway")]
    NotGated(i64, String),
    #[error("pipeline run {0} built no model to deploy")]
    NothingBuilt(i64),
    #[error("pipeline run {0} is running; deploy an earlier model once it has finished (or stop it)")]
    BusyForDeploy(i64),
    #[error("{0}. The workspace may have started the run anyway: if it did, it appears here as yours within a few seconds; check before trying again")]
    TriggerUnanswered(CmlError),
    #[error(transparent)]
    Cml(#[from] CmlError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// When the next pass should come, and why (for the log and the benchmarks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    pub pause: Duration,
    pub active: bool,
}

impl Pace {
    const IDLE: Pace = Pace { pause: IDLE, active: false };
}

/// A trigger whose answer was lost: the workspace may have started the run anyway. The first
/// New Batch run that appears in its window is the user's, not an "external" one.
struct Unanswered {
    who: String,
    address: String,
    asked_at: chrono::DateTime<Utc>,
    until: chrono::DateTime<Utc>,
}

/// Clock differences between Lakeline and the workspace allowed when claiming a run.
const CLAIM_SLACK: chrono::Duration = chrono::Duration::seconds(10);
/// How long after its schedule came round a job run still counts as the schedule's.
const SCHEDULE_SLACK: chrono::Duration = chrono::Duration::seconds(120);

#[derive(Default)]
struct Clocks {
    /// When all three jobs were last read.
    full_pass: Option<Instant>,
    /// When each running job run's log tail was last read.
    log_read: HashMap<String, Instant>,
    /// When the jobs were last looked up.
    jobs_read: Option<Instant>,
}

pub struct Tracker {
    client: CmlClient,
    project_id: String,
    store: Store,
    definition: RwLock<Definition>,
    events: broadcast::Sender<Change>,
    wake: Notify,
    /// Held while reconciling and while triggering (with the cluster-wide action lock, see
    /// [`Tracker::exclusive`]), so that a run Lakeline starts is never also imported as an
    /// "external" one, and two clicks never start two chains, on any replica.
    lock: Mutex<()>,
    /// This replica's name among the replicas sharing the database.
    replica: String,
    /// The right to poll the workspace, while this replica holds it.
    lease: Mutex<Option<Lease>>,
    leading: AtomicBool,
    /// Messages for the other replicas (sent by [`Tracker::run`]'s replica task).
    outbox: mpsc::UnboundedSender<Message>,
    outbox_rx: std::sync::Mutex<Option<mpsc::UnboundedReceiver<Message>>>,
    /// The configuration's settings, under those saved in the browser (for reading them again
    /// when another replica saved new ones).
    defaults: std::sync::OnceLock<domain::PipelineSettings>,
    /// Counts changes of the definition and the jobs, here or on another replica.
    definition_version: std::sync::atomic::AtomicU64,
    jobs: RwLock<Option<[Job; 3]>>,
    clocks: std::sync::Mutex<Clocks>,
    /// When the next pass is due (the last pass's end plus the pause it chose).
    due: std::sync::Mutex<Option<Instant>>,
    unanswered: std::sync::Mutex<Option<Unanswered>>,
    /// Ids lineage resolution keeps from one pipeline run to the next.
    known: lineage::Known,
}

impl Tracker {
    pub fn new(client: CmlClient, project_id: String, store: Store, definition: Definition) -> Arc<Self> {
        let (outbox, outbox_rx) = mpsc::unbounded_channel();
        Arc::new(Tracker {
            replica: format!("{:016x}", rand::random::<u64>()),
            lease: Mutex::new(None),
            leading: AtomicBool::new(false),
            outbox,
            outbox_rx: std::sync::Mutex::new(Some(outbox_rx)),
            defaults: Default::default(),
            definition_version: Default::default(),
            client,
            project_id,
            store,
            definition: RwLock::new(definition),
            events: broadcast::channel(1024).0,
            wake: Notify::new(),
            lock: Mutex::new(()),
            jobs: RwLock::new(None),
            clocks: Default::default(),
            due: Default::default(),
            unanswered: Default::default(),
            known: Default::default(),
        })
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
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

    /// How late the tracker is: the time since its next pass fell due (zero while on time; it
    /// grows while a pass hangs on a slow workspace).
    pub fn lag(&self) -> Duration {
        self.due.lock().expect("tracker due").map_or(Duration::ZERO, |due| Instant::now().saturating_duration_since(due))
    }

    /// New settings: forget the jobs found under the old names.
    pub async fn set_definition(&self, definition: Definition) {
        *self.definition.write().await = definition;
        *self.jobs.write().await = None;
        self.definition_version.fetch_add(1, Ordering::Relaxed);
        self.wake.notify_one();
    }

    /// Runs until the task is dropped: polls the workspace while this replica holds the polling
    /// lease (always, on SQLite), and carries changes between replicas.
    pub async fn run(self: Arc<Self>) {
        let replicas = tokio::spawn(self.clone().follow_replicas());
        let _stop_with_this = AbortOnDrop(replicas);
        loop {
            let pace = if !self.lead().await {
                Pace { pause: LEASE_RETRY, active: false }
            } else {
                match self.reconcile().await {
                    Ok(pace) => pace,
                    Err(e) => {
                        tracing::warn!(error = %e, "tracker could not reconcile");
                        Pace { pause: BETWEEN, active: false }
                    }
                }
            };
            *self.due.lock().expect("tracker due") = Some(Instant::now() + pace.pause);
            tokio::select! {
                _ = tokio::time::sleep(pace.pause) => {}
                _ = self.wake.notified() => {}
            }
        }
    }

    async fn jobs(&self) -> Result<Option<[Job; 3]>, CmlError> {
        if let Some(jobs) = self.jobs.read().await.clone() {
            return Ok(Some(jobs));
        }
        let definition = self.definition().await;
        let jobs = definition.find_jobs(&self.client, &self.project_id).await?.complete();
        *self.jobs.write().await = jobs.clone();
        self.clocks.lock().expect("tracker clocks").jobs_read = Some(Instant::now());
        Ok(jobs)
    }

    /// One pass: read what can change next, record it, resolve lineage. Returns when the next
    /// pass should come.
    #[tracing::instrument(name = "tracker.reconcile", skip_all)]
    pub async fn reconcile(&self) -> Result<Pace, TrackerError> {
        let _guard = self.exclusive().await?;
        let now = Instant::now();
        let full_due = self.clocks.lock().expect("tracker clocks").full_pass.is_none_or(|t| now.duration_since(t) >= FULL_EVERY);
        let jobs_stale = self.clocks.lock().expect("tracker clocks").jobs_read.is_none_or(|t| now.duration_since(t) >= FULL_EVERY);
        if full_due && jobs_stale {
            // The jobs themselves may have changed in the workspace (a schedule set in CML's UI).
            *self.jobs.write().await = None;
        }
        let Some(jobs) = self.jobs().await? else { return Ok(Pace::IDLE) };
        let mut listed = HashSet::new();
        if full_due {
            self.clocks.lock().expect("tracker clocks").full_pass = Some(now);
            for &stage in Stage::ALL {
                if !self.list_runs(stage, &jobs[stage.index()], &mut listed).await? {
                    return Ok(Pace::IDLE);
                }
            }
            self.check_live_deployments(None).await?;
        } else if self.store.active_pipeline_runs().await?.is_empty() {
            // Idle: a chain starts with New Batch, from here or from anywhere else.
            if !self.list_runs(Stage::NewBatch, &jobs[0], &mut listed).await? {
                return Ok(Pace::IDLE);
            }
        }

        let mut pace = Pace::IDLE;
        for id in self.store.active_pipeline_runs().await? {
            let mut stages = self.store.stages(id).await?;
            if let Some(last) = stages.last().filter(|last| last.state.is_active() && !listed.contains(&last.stage)) {
                match self.client.get_job_run(&self.project_id, &last.job_id, &last.job_run_id).await {
                    Ok(run) => self.track(last.stage, &run).await?,
                    Err(CmlError::NotFound { .. }) => *self.jobs.write().await = None,
                    Err(e) => return Err(e.into()),
                }
                stages = self.store.stages(id).await?;
            }
            // A stage that just succeeded: the workspace starts its dependent at once, so look
            // for it in the same pass.
            if let Some(last) = stages.last().filter(|last| last.state == JobRunState::Succeeded) {
                if let Some(next) = last.stage.next().filter(|next| !listed.contains(next)) {
                    self.list_runs(next, &jobs[next.index()], &mut listed).await?;
                }
            }
            let (status, stages) = self.update_status(id, false).await?;
            if status.is_active() {
                let this = self.pace_for(&stages).await?;
                pace = if pace.active { Pace { pause: pace.pause.min(this.pause), active: true } } else { this };
                if let Some(running) = stages.last().filter(|s| s.state == JobRunState::Running) {
                    if self.log_due(running) {
                        self.refresh_log(id, running, false).await?;
                    }
                }
            }
        }
        for id in self.store.unresolved_pipeline_runs().await? {
            self.resolve_lineage(id).await?;
        }
        Ok(pace)
    }

    /// Reads a job's newest runs and tracks each; `false` when the job is gone (then the jobs are
    /// looked up again next time).
    async fn list_runs(&self, stage: Stage, job: &Job, listed: &mut HashSet<Stage>) -> Result<bool, TrackerError> {
        let query = RunQuery { newest_first: true, page_size: Some(PAGE), ..Default::default() };
        let runs = match self.client.list_job_runs_page(&self.project_id, &job.id, &query, None).await {
            Ok((runs, _)) => runs,
            Err(CmlError::NotFound { .. }) => {
                *self.jobs.write().await = None;
                return Ok(false);
            }
            Err(e) => return Err(e.into()),
        };
        listed.insert(stage);
        for run in runs.iter().rev() {
            self.track(stage, run).await?;
        }
        Ok(true)
    }

    /// How soon to look again at a running chain whose stages are `stages`.
    async fn pace_for(&self, stages: &[StageRow]) -> Result<Pace, TrackerError> {
        let Some(last) = stages.last() else { return Ok(Pace { pause: NEAR, active: true }) };
        let entered = match last.state {
            JobRunState::Running => last.running_at,
            JobRunState::Succeeded => last.finished_at,
            _ => None,
        };
        let since = Utc::now() - entered.unwrap_or(last.created_at);
        let expected = if last.state == JobRunState::Running { end_window(self.store.recent_durations(last.stage, DURATIONS).await?) } else { None };
        Ok(Pace { pause: pause_for(last.state, since, expected), active: true })
    }

    #[tracing::instrument(skip_all, fields(stage = %stage, job_run = %run.id, state = %run.status))]
    async fn track(&self, stage: Stage, run: &JobRun) -> Result<(), TrackerError> {
        if let Some(known) = self.store.stage_of_job_run(&run.id).await? {
            if known.state != run.status || known.finished_at != run.finished_at || known.running_at != run.running_at {
                self.store.upsert_stage(known.pipeline_run_id, stage, run).await?;
                self.stage_changed(known.pipeline_run_id, stage, run).await?;
            }
            return Ok(());
        }
        let created = run.created_at.unwrap_or_else(Utc::now);
        let pipeline_run = if stage == Stage::NewBatch {
            if let Some(claim) = self.claim(created) {
                // The run of a trigger whose answer was lost.
                let id = self.store.insert_pipeline_run(&claim.who, RunSource::Lakeline, created).await?;
                let detail = format!("pipeline run {id}, job run {} (the workspace's answer was lost; claimed when the run appeared)", run.id);
                self.store.record_event(Actor { name: &claim.who, address: &claim.address }, "pipeline.trigger", &detail, "ok").await?;
                tracing::info!(pipeline_run = id, "a trigger whose answer was lost started this run");
                Some(id)
            } else {
                // A New Batch run Lakeline did not start: from New Batch's schedule, the CML UI, the API.
                let who = if run.creator.username.is_empty() { "unknown".to_string() } else { run.creator.username.clone() };
                let source = if self.started_by_schedule(created).await { RunSource::Scheduled } else { RunSource::External };
                let id = self.store.insert_pipeline_run(&who, source, created).await?;
                tracing::info!(pipeline_run = id, %source, "tracking a pipeline run started outside Lakeline");
                Some(id)
            }
        } else {
            self.store.pipeline_run_awaiting(stage, created).await?
        };
        match pipeline_run {
            Some(id) => {
                self.store.upsert_stage(id, stage, run).await?;
                self.stage_changed(id, stage, run).await?;
            }
            None => tracing::debug!("a job run that continues no pipeline run"),
        }
        Ok(())
    }

    async fn stage_changed(&self, id: i64, stage: Stage, run: &JobRun) -> Result<(), TrackerError> {
        if run.status.is_active() && run.status != JobRunState::Stopping {
            self.enforce_stop(id, &run.job_id, &run.id).await?;
        }
        self.notify(Change { stage: Some(stage), state: Some(run.status), ..Change::new(ChangeKind::Stage, id) });
        self.update_status(id, run.status == JobRunState::Succeeded).await?;
        // The final log once it ended (while it runs, `log_due` says when).
        if run.status.is_terminal() {
            if let Some(row) = self.store.stage_of_job_run(&run.id).await? {
                self.refresh_log(id, &row, run.status.is_terminal()).await?;
            }
        }
        Ok(())
    }

    /// Whether a running stage's log is to be read now: [`LOG_FIRST`] after it started running,
    /// then every [`LOG_EVERY`] (and once more when it ends).
    fn log_due(&self, stage: &StageRow) -> bool {
        match self.clocks.lock().expect("tracker clocks").log_read.get(&stage.job_run_id) {
            Some(read) => read.elapsed() >= LOG_EVERY,
            None => stage.running_at.is_some_and(|t| Utc::now() - t >= chrono::Duration::from_std(LOG_FIRST).expect("small")),
        }
    }

    /// Reads the last [`LOG_TAIL`] bytes of a stage's log (the job's own log file, written by
    /// Lakeline's scripts on any workspace, else the console log the local workspace keeps) and
    /// stores them. A log read after its job run ended is never read again.
    async fn refresh_log(&self, id: i64, stage: &StageRow, final_read: bool) -> Result<(), TrackerError> {
        if stage.log_final {
            return Ok(());
        }
        self.clocks.lock().expect("tracker clocks").log_read.insert(stage.job_run_id.clone(), Instant::now());
        let mut candidates = vec![format!("logs/jobs/{}/{}.log", stage.job_id, stage.job_run_id), format!("logs/{}/{}.log", stage.stage.log_folder(), stage.job_run_id)];
        if let Some(known) = &stage.log_path {
            candidates.retain(|c| c != known);
            candidates.insert(0, known.clone());
        }
        for path in candidates {
            match self.client.download_project_file_tail(&self.project_id, &path, LOG_TAIL).await {
                Ok(tail) => {
                    let text = String::from_utf8_lossy(&tail).into_owned();
                    let changed = stage.log_tail.as_deref() != Some(text.as_str());
                    self.store.set_stage_log(&stage.job_run_id, Some(&path), &text, final_read).await?;
                    if final_read {
                        self.clocks.lock().expect("tracker clocks").log_read.remove(&stage.job_run_id);
                    }
                    if changed {
                        self.notify(Change { stage: Some(stage.stage), ..Change::new(ChangeKind::Log, id) });
                    }
                    return Ok(());
                }
                Err(CmlError::NotFound { .. }) => continue,
                Err(e) => {
                    tracing::debug!(error = %e, path, "could not read a stage's log");
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Records the status the stages add up to; after a stage succeeded, resolves the lineage it
    /// made known.
    /// Answers the status and the stages it was computed from.
    async fn update_status(&self, id: i64, stage_succeeded: bool) -> Result<(PipelineStatus, Vec<StageRow>), TrackerError> {
        let stages = self.store.stages(id).await?;
        let outcomes: Vec<_> = stages.iter().map(|s| s.outcome()).collect();
        let (status, finished) = PipelineStatus::of(&outcomes, Utc::now());
        if self.store.set_pipeline_status(id, status, finished).await? {
            self.notify(Change { status: Some(status), ..Change::new(ChangeKind::Status, id) });
        }
        // Lineage grows stage by stage: resolve what a newly succeeded stage made known.
        if stage_succeeded && status.is_active() {
            self.resolve_lineage(id).await?;
        }
        Ok((status, stages))
    }

    #[tracing::instrument(skip(self), err)]
    async fn resolve_lineage(&self, id: i64) -> Result<(), TrackerError> {
        let Some((run, stages)) = self.store.pipeline_run(id).await? else { return Ok(()) };
        let definition = self.definition().await;
        let lineage::Resolved { ids: update, seen, problems, retry } =
            lineage::resolve(&self.known, &self.client, &self.project_id, &definition.settings, &definition.experiment_name(), &run, &stages).await;
        // A finished run's lineage is final once nothing failed that may pass on the next pass.
        let finished = !run.status.is_active() && !retry;
        if retry {
            tracing::info!(?problems, pipeline_run = id, "lineage not resolved yet; trying again on the next pass");
        }
        if !problems.is_empty() && finished {
            tracing::info!(?problems, "lineage only partly resolved");
        }
        let new_deployment = update.deployment_id.is_some() && run.lineage.deployment_id.is_none();
        self.store.set_lineage(id, &update, finished).await?;
        if finished {
            // What the run detail page shows beyond the ids, read once.
            if let Some((run, _)) = self.store.pipeline_run(id).await? {
                let mut detail = lineage::fetch_detail(&self.client, &self.project_id, &run, seen).await;
                detail.problems.extend(problems);
                self.store.set_lineage_detail(id, &detail).await?;
            }
        }
        self.notify(Change::new(ChangeKind::Lineage, id));
        if new_deployment {
            // A new deployment replaces the one before it: read the others' states now.
            self.check_live_deployments(Some(id)).await?;
        }
        Ok(())
    }

    /// Reads the current state of every deployment last seen live (except run `except`'s) and
    /// records changes, so that a replaced deployment shows as stopped everywhere.
    async fn check_live_deployments(&self, except: Option<i64>) -> Result<(), TrackerError> {
        for run in self.store.runs_with_live_deployment(except).await? {
            match lineage::deployment_state(&self.client, &self.project_id, &run.lineage).await {
                Ok(state) => {
                    if self.store.set_deployment_state(run.id, state).await? {
                        self.notify(Change::new(ChangeKind::Deployment, run.id));
                    }
                }
                Err(CmlError::NotFound { .. }) => {
                    if self.store.set_deployment_state(run.id, None).await? {
                        self.notify(Change::new(ChangeKind::Deployment, run.id));
                    }
                }
                Err(e) => tracing::debug!(error = %e, pipeline_run = run.id, "could not read a deployment's state"),
            }
        }
        Ok(())
    }

    /// A job run of a pipeline run someone asked to stop is stopped as soon as it is seen: a
    /// dependent the workspace started while the stop was in flight gets no further.
    async fn enforce_stop(&self, id: i64, job_id: &str, job_run_id: &str) -> Result<(), TrackerError> {
        let Some((run, _)) = self.store.pipeline_run(id).await? else { return Ok(()) };
        if run.stop_requested_at.is_none() {
            return Ok(());
        }
        match self.client.stop_job_run(&self.project_id, job_id, job_run_id).await {
            Ok(_) => {
                tracing::info!(pipeline_run = id, job_run = job_run_id, "stopped a stage that started after a stop was asked for");
                Ok(())
            }
            // It ended on its own meanwhile: its dependent, if any, is stopped when seen.
            Err(CmlError::Conflict { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether a New Batch run created at `created` came from the job's schedule: the schedule
    /// came round shortly before (CML creates the run within moments).
    async fn started_by_schedule(&self, created: chrono::DateTime<Utc>) -> bool {
        let Some(jobs) = self.jobs.read().await.clone() else { return false };
        let job = &jobs[Stage::NewBatch.index()];
        if job.schedule.is_empty() {
            return false;
        }
        Schedule::parse(&job.schedule, &job.timezone).is_ok_and(|s| s.fires_between(created - SCHEDULE_SLACK, created + CLAIM_SLACK))
    }

    /// Takes the claim of a trigger whose answer was lost if a run created at `created` is its.
    fn claim(&self, created: chrono::DateTime<Utc>) -> Option<Unanswered> {
        let mut unanswered = self.unanswered.lock().expect("tracker claim");
        let claim = unanswered.take()?;
        if created >= claim.asked_at - CLAIM_SLACK && created <= claim.until + CLAIM_SLACK {
            return Some(claim);
        }
        // Too early for it: keep it for a later run; too late: it lapsed.
        if created < claim.asked_at {
            *unanswered = Some(claim);
        }
        None
    }

    fn notify(&self, change: Change) {
        let _ = self.events.send(change);
        if self.store.shared() {
            let _ = self.outbox.send(Message::Change(change));
        }
    }

    /// Deploys run `id`'s build again (a rollback to its model), through API v2 as CML does it:
    /// a new deployment of the same build, which replaces the model's live one. Refused while a
    /// chain runs (its own redeployment would race this one). The deployment is then followed
    /// until it is live or failed.
    #[tracing::instrument(skip(self, actor), err(level = "info", Display))]
    pub async fn redeploy(self: &Arc<Self>, id: i64, actor: Actor<'_>) -> Result<String, TrackerError> {
        let _guard = self.exclusive().await?;
        if let Some(active) = self.store.active_pipeline_runs().await?.first() {
            return Err(TrackerError::BusyForDeploy(*active));
        }
        let (run, _) = self.store.pipeline_run(id).await?.ok_or(TrackerError::NoSuchRun(id))?;
        let (Some(model_id), Some(build_id)) = (run.lineage.model_id.clone(), run.lineage.build_id.clone()) else {
            return Err(TrackerError::NothingBuilt(id));
        };
        let request = cml_api::CreateModelDeploymentRequest { cpu: Some(2.0), memory: Some(4.0), replicas: Some(1), environment: Default::default() };
        let deployment = self.client.create_model_deployment(&self.project_id, &model_id, &build_id, &request).await?;
        self.store.redeployed(id, &deployment.id, DeploymentState::from_cml(&deployment.status)).await?;
        let version = run.lineage.model_version_number.map_or(String::new(), |v| format!(" (model version {v})"));
        let detail = format!("pipeline run {id}{version}: build {build_id} as deployment {}", deployment.id);
        self.store.record_event(actor, "model.redeploy", &detail, "ok").await?;
        self.notify(Change::new(ChangeKind::Deployment, id));
        let tracker = self.clone();
        tokio::spawn(async move { tracker.follow_deployment(id).await }.in_current_span());
        Ok(deployment.id)
    }

    /// Reads a redeployment's state each second until it is live or failed (at most 30 minutes),
    /// then the others', which it replaced.
    async fn follow_deployment(&self, id: i64) {
        let deadline = Instant::now() + Duration::from_secs(30 * 60);
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let Ok(Some((run, _))) = self.store.pipeline_run(id).await else { return };
            let state = match lineage::deployment_state(&self.client, &self.project_id, &run.lineage).await {
                Ok(state) => state,
                Err(e) => {
                    tracing::debug!(error = %e, pipeline_run = id, "could not read a redeployment's state");
                    continue;
                }
            };
            if self.store.set_deployment_state(id, state).await.unwrap_or(false) {
                self.notify(Change::new(ChangeKind::Deployment, id));
            }
            match state {
                Some(DeploymentState::Deployed) => return self.follow_replaced(id).await,
                Some(DeploymentState::Failed | DeploymentState::Stopped) => return,
                _ => {}
            }
        }
    }

    /// Once run `id`'s redeployment is live, reads the deployments it replaces each second until
    /// the workspace has stopped them (it stops the old replica after the new one is up, which
    /// takes a moment), for at most a minute; the full pass catches anything later.
    async fn follow_replaced(&self, id: i64) {
        for _ in 0..60 {
            if let Err(e) = self.check_live_deployments(Some(id)).await {
                tracing::warn!(error = %e, "could not read the replaced deployments' states");
            }
            match self.store.runs_with_live_deployment(Some(id)).await {
                Ok(others) if others.iter().all(|r| r.lineage.deployment() != Some(DeploymentState::Deployed)) => return,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "could not read the live deployments");
                    return;
                }
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Tells the pages showing run `id` that someone left a note on it.
    pub fn announce_note(&self, id: i64) {
        self.notify(Change::new(ChangeKind::Note, id));
    }

    /// Starts a pipeline run: a run of New Batch. Refused while a chain is active.
    #[tracing::instrument(skip_all, err(level = "info", Display))]
    pub async fn trigger(&self, request: RunRequest, actor: Actor<'_>) -> Result<i64, TrackerError> {
        let _guard = self.exclusive().await?;
        if let Some(id) = self.store.active_pipeline_runs().await?.first() {
            return Err(TrackerError::AlreadyRunning(*id));
        }
        let jobs = self.idle_jobs().await?;
        let asked_at = Utc::now();
        let request = CreateJobRunRequest { environment: request.environment, arguments: request.arguments };
        let run = match self.client.create_job_run(&self.project_id, &jobs[0].id, &request).await {
            Ok(run) => run,
            Err(e) if e.outcome_unknown() => {
                // The workspace may have started it: the run, when it appears, is this user's.
                let until = Utc::now();
                let (who, address) = (actor.name.to_string(), actor.address.to_string());
                *self.unanswered.lock().expect("tracker claim") = Some(Unanswered { who, address, asked_at, until });
                self.wake.notify_one();
                return Err(TrackerError::TriggerUnanswered(e));
            }
            Err(e) => return Err(e.into()),
        };
        let id = self.store.insert_pipeline_run(actor.name, RunSource::Lakeline, run.created_at.unwrap_or_else(Utc::now)).await?;
        self.store.upsert_stage(id, Stage::NewBatch, &run).await?;
        self.store.record_event(actor, "pipeline.trigger", &format!("pipeline run {id}, job run {}", run.id), "ok").await?;
        tracing::info!(pipeline_run = id, job_run = %run.id, "pipeline run started");
        self.notify(Change { stage: Some(Stage::NewBatch), state: Some(run.status), ..Change::new(ChangeKind::Stage, id) });
        self.wake.notify_one();
        Ok(id)
    }

    /// The pipeline's jobs, when none of them has an active run (one started from the CML UI or
    /// a schedule would race a chain started now).
    async fn idle_jobs(&self) -> Result<[Job; 3], TrackerError> {
        let jobs = self.jobs().await?.ok_or(TrackerError::NotSetUp)?;
        for job in &jobs {
            if let Some(latest) = self.client.latest_job_run(&self.project_id, &job.id).await? {
                if latest.status.is_active() {
                    return Err(TrackerError::JobBusy(format!("{} is {}", job.name, latest.status.word())));
                }
            }
        }
        Ok(jobs)
    }

    /// New Batch's job as last read: its schedule and time zone.
    pub async fn new_batch_job(&self) -> Result<Job, TrackerError> {
        let jobs = self.jobs().await?.ok_or(TrackerError::NotSetUp)?;
        Ok(jobs[Stage::NewBatch.index()].clone())
    }

    /// Sets New Batch's schedule through API v2 (`cron` empty: runs by hand only), in the job's
    /// time zone. A bad expression is refused before the workspace is asked.
    #[tracing::instrument(skip(self, actor), err(level = "info", Display))]
    pub async fn set_schedule(&self, cron: &str, actor: Actor<'_>) -> Result<Job, TrackerError> {
        let _guard = self.exclusive().await?;
        let cron = cron.split_whitespace().collect::<Vec<_>>().join(" ");
        let job = self.jobs().await?.ok_or(TrackerError::NotSetUp)?[Stage::NewBatch.index()].clone();
        if !cron.is_empty() {
            Schedule::parse(&cron, &job.timezone)?;
        }
        let patch = UpdateJob { schedule: Some(cron.clone()), ..Default::default() };
        let updated = self.client.update_job(&self.project_id, &job.id, &patch).await?;
        self.jobs_changed().await;
        let detail = if cron.is_empty() { format!("{}: by hand only", job.name) } else { format!("{}: {cron:?} in {}", job.name, updated.timezone) };
        self.store.record_event(actor, "pipeline.schedule", &detail, "ok").await?;
        Ok(updated)
    }

    /// Starts pipeline run `id` again from the stage that did not succeed, as a new attempt (its
    /// own job run and log; the earlier attempts stay); its dependents follow as usual. A retried
    /// retrain reads the snapshot range the run's New Batch committed, and a retried redeployment
    /// deploys the run's own retrain, both passed to the job, so that a retry never takes a newer
    /// chain's batch or model. Refused while any chain runs.
    #[tracing::instrument(skip(self, actor), err(level = "info", Display))]
    pub async fn retry(&self, id: i64, actor: Actor<'_>) -> Result<Stage, TrackerError> {
        let _guard = self.exclusive().await?;
        if let Some(active) = self.store.active_pipeline_runs().await?.first() {
            return Err(TrackerError::AlreadyRunning(*active));
        }
        let (run, stages) = self.store.pipeline_run(id).await?.ok_or(TrackerError::NoSuchRun(id))?;
        let outcomes: Vec<_> = stages.iter().map(StageRow::outcome).collect();
        let stage = run.status.retry_from(&outcomes).ok_or(TrackerError::NotRetryable(id, run.status))?;
        let jobs = self.idle_jobs().await?;
        let mut request = CreateJobRunRequest::default();
        let mut range = String::new();
        if stage == Stage::RetrainXgboost {
            let (snapshot, parent) = self.snapshot_range(&run, &stages).await?.ok_or(TrackerError::UnknownRange(id))?;
            range = format!(", snapshots {} → {snapshot}", parent.as_deref().unwrap_or("(table start)"));
            request.environment.insert(SNAPSHOT_ID_ENV.into(), snapshot);
            request.environment.insert(PARENT_ID_ENV.into(), parent.unwrap_or_default());
        }
        if stage == Stage::ApiRedeployment {
            // Its own run's retrain, though later chains may have retrained since.
            if let Some(retrain) = stages.iter().find(|s| s.stage == Stage::RetrainXgboost && s.state == JobRunState::Succeeded) {
                range = format!(", the model of retrain job run {}", retrain.job_run_id);
                request.environment.insert(RETRAIN_JOB_RUN_ENV.into(), retrain.job_run_id.clone());
            }
        }
        let job_run = self.client.create_job_run(&self.project_id, &jobs[stage.index()].id, &request).await?;
        let detail = format!("pipeline run {id} from {}: job run {}{range}", stage.title(), job_run.id);
        self.start_attempt(id, stage, &job_run, "pipeline.retry", &detail, actor).await?;
        Ok(stage)
    }

    /// Deploys the model the quality gate held back in pipeline run `id`: its redeployment again,
    /// as a new attempt, told which retrain to deploy and to skip the gate (`QUALITY_GATE=off`).
    /// The run's lineage then follows that attempt. Refused while any chain runs and for a run
    /// whose model was not gated.
    #[tracing::instrument(skip(self, actor), err(level = "info", Display))]
    pub async fn deploy_anyway(&self, id: i64, actor: Actor<'_>) -> Result<(), TrackerError> {
        let _guard = self.exclusive().await?;
        if let Some(active) = self.store.active_pipeline_runs().await?.first() {
            return Err(TrackerError::AlreadyRunning(*active));
        }
        let (run, stages) = self.store.pipeline_run(id).await?.ok_or(TrackerError::NoSuchRun(id))?;
        let gate = match run.lineage.gate() {
            Some(gate) if gate.is_gated() => gate,
            other => return Err(TrackerError::NotGated(id, other.map_or("no gate decision".into(), |g| g.decision.to_string()))),
        };
        let retrain = stages.iter().find(|s| s.stage == Stage::RetrainXgboost && s.state == JobRunState::Succeeded).ok_or(TrackerError::NothingBuilt(id))?;
        let jobs = self.idle_jobs().await?;
        let mut request = CreateJobRunRequest::default();
        request.environment.insert(RETRAIN_JOB_RUN_ENV.into(), retrain.job_run_id.clone());
        request.environment.insert(QUALITY_GATE_ENV.into(), "off".into());
        let stage = Stage::ApiRedeployment;
        let job_run = self.client.create_job_run(&self.project_id, &jobs[stage.index()].id, &request).await?;
        let detail = format!("pipeline run {id}: job run {} deploys retrain job run {} past the gate ({})", job_run.id, retrain.job_run_id, gate.summary());
        self.start_attempt(id, stage, &job_run, "pipeline.deploy_anyway", &detail, actor).await
    }

    /// Records a new attempt at `stage` of run `id` (the job run just started), audits it and
    /// tells the pages; the run is running again.
    async fn start_attempt(&self, id: i64, stage: Stage, job_run: &JobRun, action: &str, detail: &str, actor: Actor<'_>) -> Result<(), TrackerError> {
        self.store.start_retry(id, stage, job_run).await?;
        self.store.record_event(actor, action, detail, "ok").await?;
        tracing::info!(pipeline_run = id, job_run = %job_run.id, %stage, action, "new attempt started");
        self.notify(Change { status: Some(PipelineStatus::Running), ..Change::new(ChangeKind::Status, id) });
        self.notify(Change { stage: Some(stage), state: Some(job_run.status), ..Change::new(ChangeKind::Stage, id) });
        self.wake.notify_one();
        Ok(())
    }

    /// The snapshot range run `id`'s New Batch committed: its end and its parent (none for the
    /// table's first snapshot), as resolved into the lineage or read from the batch's summary.
    async fn snapshot_range(&self, run: &PipelineRunRow, stages: &[StageRow]) -> Result<Option<(String, Option<String>)>, TrackerError> {
        if let Some(snapshot) = &run.lineage.snapshot_id {
            return Ok(Some((snapshot.clone(), run.lineage.parent_snapshot_id.clone())));
        }
        let Some(batch) = stages.iter().find(|s| s.stage == Stage::NewBatch && s.state == JobRunState::Succeeded) else { return Ok(None) };
        let Some(summary) = lineage::batch_summary(&self.client, &self.project_id, &batch.job_run_id).await? else { return Ok(None) };
        Ok(lineage::json_text(&summary["snapshot_id"]).map(|snapshot| (snapshot, lineage::json_text(&summary["parent_id"]))))
    }

    /// Stops a pipeline run: the stage active now, and any stage the workspace starts after it
    /// (a stop pressed just as one stage ends and its dependent begins still stops the chain).
    #[tracing::instrument(skip(self, actor), err(level = "info", Display))]
    pub async fn stop(&self, id: i64, actor: Actor<'_>) -> Result<(), TrackerError> {
        // Serialised with reconciling, so that no new stage is recorded between the check and the stop.
        let _guard = self.exclusive().await?;
        let (run, stages) = self.store.pipeline_run(id).await?.ok_or(TrackerError::NoSuchRun(id))?;
        if !run.status.is_active() {
            return Err(TrackerError::NotRunning(id));
        }
        self.store.request_stop(id, actor.name).await?;
        let active = stages.iter().rev().find(|s| s.state.is_active());
        let detail = match active {
            Some(stage) => {
                self.enforce_stop(id, &stage.job_id, &stage.job_run_id).await?;
                format!("pipeline run {id}, job run {}", stage.job_run_id)
            }
            None => format!("pipeline run {id}, between stages"),
        };
        self.store.record_event(actor, "pipeline.stop", &detail, "ok").await?;
        drop(_guard);
        self.wake.notify_one();
        Ok(())
    }

    /// Creates missing jobs and repairs drifted ones. Serialised with triggering, stopping and
    /// reconciling (twenty clicks at once leave three jobs), and refused while a chain runs.
    #[tracing::instrument(skip_all, err(level = "info", Display))]
    pub async fn apply_setup(&self, actor: Actor<'_>) -> Result<Definition, TrackerError> {
        let _guard = self.lock_for_setup().await?;
        let definition = self.definition().await;
        definition.apply(&self.client, &self.project_id).await?;
        self.jobs_changed().await;
        self.store.record_event(actor, "pipeline.setup", &format!("jobs for suffix {:?}", definition.settings.owner_suffix), "ok").await?;
        self.wake.notify_one();
        Ok(definition)
    }

    /// The tracker's lock, for changing the jobs: refused while a chain runs.
    async fn lock_for_setup(&self) -> Result<(MutexGuard<'_, ()>, ActionLock), TrackerError> {
        let guard = self.exclusive().await?;
        if let Some(id) = self.store.active_pipeline_runs().await?.first() {
            return Err(TrackerError::BusyForSetup(*id));
        }
        Ok(guard)
    }

    /// Deletes the jobs that carry the pipeline's names but are not the ones its chain uses
    /// (dependents first), then repairs the chain. Serialised like set-up, refused while a chain
    /// runs. Answers how many were deleted.
    #[tracing::instrument(skip_all, err(level = "info", Display))]
    pub async fn remove_duplicate_jobs(&self, actor: Actor<'_>) -> Result<usize, TrackerError> {
        let _guard = self.lock_for_setup().await?;
        let definition = self.definition().await;
        let found = definition.find_jobs(&self.client, &self.project_id).await?;
        let mut removed = vec![];
        for stage in Stage::ALL.iter().rev() {
            for job in &found.duplicates[stage.index()] {
                self.client.delete_job(&self.project_id, &job.id).await?;
                removed.push(format!("{} ({})", job.id, job.name));
            }
        }
        definition.apply(&self.client, &self.project_id).await?;
        self.jobs_changed().await;
        let detail = if removed.is_empty() { "none found".to_string() } else { format!("deleted {}", removed.join(", ")) };
        self.store.record_event(actor, "pipeline.remove_duplicates", &detail, "ok").await?;
        self.wake.notify_one();
        Ok(removed.len())
    }
}

/// The pause before the next look at a chain whose newest stage has been in `state` for `since`
/// and, while running, usually ends within `end` (from its recent successes): short when a
/// transition is likely, longer in between, never past the start of the expected end.
pub fn pause_for(state: JobRunState, since: chrono::Duration, end: Option<EndWindow>) -> Duration {
    match state {
        // Its dependent is awaited: the workspace starts it at once.
        JobRunState::Succeeded if since < AWAIT_WINDOW => FAST,
        JobRunState::Scheduling | JobRunState::Starting | JobRunState::Stopping if since < WAIT_WINDOW => NEAR,
        JobRunState::Running if since < START_WINDOW => NEAR,
        JobRunState::Running => {
            let Some(EndWindow { from, to }) = end else { return BETWEEN };
            if since >= from && since <= to {
                if to - from > WIDE_WINDOW { NEAR } else { FAST }
            } else if since < from {
                (from - since).to_std().unwrap_or(BETWEEN).clamp(FAST, BETWEEN)
            } else {
                BETWEEN
            }
        }
        _ => BETWEEN,
    }
}

/// When a running stage's end is likely, as time since it started running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndWindow {
    pub from: chrono::Duration,
    pub to: chrono::Duration,
}

/// The window from a stage's recent durations (none without any).
pub fn end_window(mut past: Vec<chrono::Duration>) -> Option<EndWindow> {
    past.sort();
    let median = *past.get(past.len() / 2)?;
    let margin = median / 5;
    Some(EndWindow { from: median - margin.max(END_BEFORE), to: median + margin.max(END_AFTER) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: i64) -> chrono::Duration {
        chrono::Duration::seconds(s)
    }

    fn millis(ms: i64) -> chrono::Duration {
        chrono::Duration::milliseconds(ms)
    }

    #[test]
    fn polling_is_fast_where_a_transition_is_likely_and_slow_in_between() {
        use JobRunState::*;
        for state in [Scheduling, Starting, Stopping] {
            assert_eq!(pause_for(state, secs(3), None), NEAR, "{state} for a few seconds");
            assert_eq!(pause_for(state, secs(100), None), BETWEEN, "{state} for long: a runtime being prepared");
        }
        assert_eq!(pause_for(Succeeded, secs(1), None), FAST, "a dependent awaited");
        assert_eq!(pause_for(Succeeded, secs(60), None), BETWEEN, "a dependent that does not come");
        let window = |from: i64, to: i64| Some(EndWindow { from: millis(from), to: millis(to) });
        assert_eq!(pause_for(Running, millis(500), window(59_500, 61_000)), NEAR, "just after a start");
        assert_eq!(pause_for(Running, secs(20), None), BETWEEN, "no history: steady");
        assert_eq!(pause_for(Running, secs(20), window(59_500, 61_000)), BETWEEN, "far from the expected end");
        assert_eq!(pause_for(Running, secs(4), window(6_400, 9_000)), Duration::from_millis(2400), "up to the window, not past it");
        assert_eq!(pause_for(Running, millis(6_000), window(6_400, 9_000)), FAST, "never shorter than FAST");
        assert_eq!(pause_for(Running, millis(7_500), window(6_400, 9_000)), FAST, "in the window");
        assert_eq!(pause_for(Running, secs(9), window(6_400, 9_000)), FAST, "at its end");
        assert_eq!(pause_for(Running, millis(9_100), window(6_400, 9_000)), BETWEEN, "later than usual");
        assert_eq!(pause_for(Running, secs(30), window(20_000, 40_000)), NEAR, "a long stage's window is wide: polled less closely");
        assert_eq!(pause_for(Failed, secs(1), None), BETWEEN, "nothing follows a failure");
    }

    #[test]
    fn a_stages_end_is_expected_around_the_median_of_its_recent_durations() {
        assert_eq!(end_window(vec![]), None);
        assert_eq!(end_window(vec![secs(10)]), Some(EndWindow { from: secs(8), to: secs(12) }));
        assert_eq!(end_window(vec![secs(4), secs(3), secs(5)]), Some(EndWindow { from: secs(3), to: secs(6) }), "at least 1 s before and 2 s after");
        // One slow run on a busy machine does not move the window.
        assert_eq!(end_window(vec![secs(60), secs(60), secs(61), secs(59), secs(300)]), Some(EndWindow { from: secs(48), to: secs(72) }));
    }
}

/// Aborts a task when dropped (the replica task ends with the tracker's loop).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
