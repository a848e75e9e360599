//! Server functions (the UI's only data path) and the types they carry.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

pub use domain::{AlertEvent, BatchFigures, WebhookKind, PSI_DRIFT, Change, ChangeKind, DeploymentState, GateDecision, JobCheck, JobCheckState, PipelineSettings, JobRunState, PipelineStatus, QualityGate, Role, RunSource, Stage};

/// What the server says about itself; shown by the "Check server" button.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerStatus {
    pub version: String,
    pub uptime_seconds: u64,
    pub database: String,
    /// "embedded local workspace at …" or "CML workspace https://…".
    pub workspace: String,
}

/// One job run of a pipeline run: an attempt at one stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StageView {
    pub stage: Stage,
    /// 1 for the chain's own run of the stage, 2 and up for retries.
    pub attempt: i64,
    pub job_id: String,
    pub run_id: String,
    pub state: JobRunState,
    pub created_at: Option<String>,
    pub running_at: Option<String>,
    pub finished_at: Option<String>,
    pub duration_seconds: Option<f64>,
}

/// A pipeline run as lists show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PipelineRunSummary {
    pub id: i64,
    pub status: PipelineStatus,
    pub triggered_by: String,
    pub source: RunSource,
    pub created_at: String,
    pub finished_at: Option<String>,
    pub duration_seconds: Option<f64>,
    pub stages: Vec<StageView>,
    pub snapshot_id: Option<String>,
    pub parent_snapshot_id: Option<String>,
    pub rows_added: Option<i64>,
    pub accuracy: Option<f64>,
    pub recall: Option<f64>,
    pub model_version: Option<i64>,
    /// The deployment's current state (a later run's deployment replaces it: then stopped).
    pub deployment: Option<DeploymentState>,
    /// How many notes people left on the run.
    pub note_count: i64,
    /// The stage a retry would start again, for a run that ended without succeeding.
    pub retry_from: Option<Stage>,
    /// The redeployment's quality gate: whether the model deployed, and the figures.
    pub gate: Option<QualityGate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

/// Everything a run links to, resolved by ids.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Lineage {
    pub snapshot_id: Option<String>,
    pub parent_snapshot_id: Option<String>,
    pub snapshot_committed_at: Option<String>,
    pub rows_added: Option<i64>,
    pub table: Option<String>,
    pub experiment_id: Option<String>,
    pub experiment_run_id: Option<String>,
    pub experiment_run_name: Option<String>,
    pub params: Vec<KeyValue>,
    pub metrics: Vec<KeyValue>,
    pub tags: Vec<KeyValue>,
    /// The `row_count` tag: a number, or shown raw when it is not one.
    pub row_count: Option<String>,
    pub registered_model_id: Option<String>,
    pub registered_model_name: Option<String>,
    pub model_version_id: Option<String>,
    pub model_version_number: Option<i64>,
    pub model_version_run_id: Option<String>,
    pub model_id: Option<String>,
    pub model_name: Option<String>,
    pub build_id: Option<String>,
    pub build_status: Option<String>,
    pub build_version_id: Option<String>,
    pub deployment_id: Option<String>,
    pub deployment: Option<DeploymentState>,
    /// Why part of the lineage could not be resolved, in words.
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StageLog {
    pub stage: Stage,
    pub attempt: i64,
    pub job_run_id: String,
    pub path: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PipelineRunDetail {
    /// Its stages as they stand: the latest attempt at each.
    pub run: PipelineRunSummary,
    pub lineage: Lineage,
    /// Every attempt at every stage, in chain order and then attempt order.
    pub attempts: Vec<StageView>,
    /// One log per attempt, in the same order.
    pub logs: Vec<StageLog>,
    /// Notes on the run, oldest first.
    pub notes: Vec<NoteView>,
}

/// When New Batch runs: by hand only, or on a cron schedule in the job's time zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleView {
    pub job_name: String,
    /// The cron expression (minute hour day-of-month month day-of-week); empty: by hand only.
    pub cron: String,
    /// The time zone the expression is read in (the job's).
    pub timezone: String,
    /// The workspace's own words for it, when it gives them.
    pub english: String,
    pub paused: bool,
    /// The next times it runs (RFC 3339, UTC), soonest first.
    pub next: Vec<String>,
}

/// A note someone left on a pipeline run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoteView {
    pub author: String,
    pub at: String,
    pub text: String,
}

/// History filters; empty fields do not filter.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HistoryFilter {
    pub status: String,
    /// YYYY-MM-DD, inclusive.
    pub from: String,
    pub to: String,
    pub who: String,
    pub snapshot: String,
    /// Runs with a note containing this text.
    #[serde(default)]
    pub note: String,
    /// Only runs with notes.
    #[serde(default)]
    pub with_notes: bool,
}

/// Where a page of history starts: the newest runs, the runs older than run `before`, or the
/// runs newer than run `after` (keyset pagination: a page costs the same anywhere in history).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryCursor {
    pub before: Option<i64>,
    pub after: Option<i64>,
}

impl HistoryCursor {
    /// As text in a URL or a form: empty (the newest), `before-<id>` or `after-<id>`.
    pub fn encode(&self) -> String {
        match (self.before, self.after) {
            (Some(id), _) => format!("before-{id}"),
            (None, Some(id)) => format!("after-{id}"),
            (None, None) => String::new(),
        }
    }

    pub fn parse(text: &str) -> Result<HistoryCursor, String> {
        let text = text.trim();
        let id = |rest: &str| rest.parse::<i64>().map_err(|_| format!("cursor: {text:?} is not before-<run id> or after-<run id>"));
        if text.is_empty() {
            Ok(HistoryCursor::default())
        } else if let Some(rest) = text.strip_prefix("before-") {
            Ok(HistoryCursor { before: Some(id(rest)?), after: None })
        } else if let Some(rest) = text.strip_prefix("after-") {
            Ok(HistoryCursor { before: None, after: Some(id(rest)?) })
        } else {
            Err(format!("cursor: {text:?} is not before-<run id> or after-<run id>"))
        }
    }
}

/// A pipeline run as History's table shows it: a summary without what only a run's own page
/// shows (each stage's job, attempts and times; the gate's figures), so that a page of History
/// carries (and its page's hydration data holds) a third of the bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryRow {
    pub id: i64,
    pub status: PipelineStatus,
    pub triggered_by: String,
    pub source: RunSource,
    pub created_at: String,
    pub duration_seconds: Option<f64>,
    /// The latest attempt's state of each stage, in the chain's order (`Stage::ALL`); none for a
    /// stage that has not started.
    pub stages: Vec<Option<JobRunState>>,
    pub snapshot_id: Option<String>,
    pub parent_snapshot_id: Option<String>,
    pub accuracy: Option<f64>,
    pub recall: Option<f64>,
    pub model_version: Option<i64>,
    pub deployment: Option<DeploymentState>,
    pub note_count: i64,
    /// The redeployment's gate decision and its one-line summary.
    pub gate: Option<(GateDecision, String)>,
}

impl From<PipelineRunSummary> for HistoryRow {
    fn from(run: PipelineRunSummary) -> HistoryRow {
        let state = |stage: Stage| run.stages.iter().rfind(|s| s.stage == stage).map(|s| s.state);
        HistoryRow {
            id: run.id,
            status: run.status,
            stages: Stage::ALL.iter().map(|&stage| state(stage)).collect(),
            triggered_by: run.triggered_by,
            source: run.source,
            created_at: run.created_at,
            duration_seconds: run.duration_seconds,
            snapshot_id: run.snapshot_id,
            parent_snapshot_id: run.parent_snapshot_id,
            accuracy: run.accuracy,
            recall: run.recall,
            model_version: run.model_version,
            deployment: run.deployment,
            note_count: run.note_count,
            gate: run.gate.map(|g| (g.decision, g.list_text())),
        }
    }
}

/// A page of History as its table shows it (the REST API's `HistoryPage` holds whole summaries).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryTable {
    pub rows: Vec<HistoryRow>,
    pub total: i64,
    pub newer_count: i64,
    pub page_size: i64,
    pub older: Option<HistoryCursor>,
    pub newer: Option<HistoryCursor>,
}

impl From<HistoryPage> for HistoryTable {
    fn from(page: HistoryPage) -> HistoryTable {
        HistoryTable {
            rows: page.runs.into_iter().map(HistoryRow::from).collect(),
            total: page.total,
            newer_count: page.newer_count,
            page_size: page.page_size,
            older: page.older,
            newer: page.newer,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryPage {
    pub runs: Vec<PipelineRunSummary>,
    /// Runs matching the filter, in all.
    pub total: i64,
    /// Runs matching the filter that are newer than this page's first.
    pub newer_count: i64,
    pub page_size: i64,
    /// Cursors of the neighbouring pages, when there are any.
    pub older: Option<HistoryCursor>,
    pub newer: Option<HistoryCursor>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetupView {
    pub workspace: String,
    pub project_id: String,
    pub runtime: Option<String>,
    pub jobs: Vec<JobCheck>,
    /// Set when the workspace could not be asked.
    pub error: Option<String>,
}

/// Pipeline runs side by side (the Compare page): one row per figure, one value per run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunComparison {
    pub runs: Vec<i64>,
    pub rows: Vec<ComparisonRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonRow {
    /// Run, Data, Quality, Model, Params, Metrics or Tags.
    pub section: String,
    pub key: String,
    /// One per run, in the comparison's order; `None`: the run has no such value.
    pub values: Vec<Option<String>>,
    /// Not every run has the same value.
    pub differs: bool,
}

/// The most runs one comparison shows.
pub const MAX_COMPARED: usize = 8;

/// Reads the Compare page's `runs` (run ids separated by commas): 2 to [`MAX_COMPARED`] distinct
/// ids, in the order given.
pub fn parse_compared(text: &str) -> Result<Vec<i64>, String> {
    let mut ids = vec![];
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let id = part.trim_start_matches('#').parse::<i64>().map_err(|_| format!("runs: {part:?} is not a pipeline run id; give ids separated by commas, e.g. 3,5"))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.len() < 2 || ids.len() > MAX_COMPARED {
        return Err(format!("runs: compare 2 to {MAX_COMPARED} different pipeline runs (got {})", ids.len()));
    }
    Ok(ids)
}

/// One snapshot of the Iceberg table (the Data page): the batch its New Batch committed, the
/// batch's figures, and the pipeline runs whose retrain read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotView {
    pub snapshot_id: String,
    pub parent_id: Option<String>,
    pub committed_at: Option<String>,
    pub rows_added: Option<i64>,
    /// The pipeline run whose New Batch committed it.
    pub committed_by: i64,
    pub figures: Option<BatchFigures>,
    /// Some signal shifted by more than [`PSI_DRIFT`] against the rows trained on before.
    pub drifted: bool,
    /// The pipeline runs whose retrain read it (empty: not trained on).
    pub trained_by: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityPoint {
    pub run_id: i64,
    pub created_at: String,
    pub accuracy: Option<f64>,
    pub recall: Option<f64>,
    pub status: PipelineStatus,
    pub gate: Option<QualityGate>,
}

/// The quality chart: the runs that ended, oldest first, and where the gate stands now — the
/// live model's figures less the margins (`None` while no model is live).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityTrend {
    pub points: Vec<QualityPoint>,
    pub accuracy_threshold: Option<f64>,
    pub recall_threshold: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentView {
    pub pipeline_run_id: Option<i64>,
    pub model_name: String,
    pub model_id: String,
    pub build_id: String,
    pub deployment_id: String,
    pub state: Option<DeploymentState>,
    pub version: Option<i64>,
}

/// The signed-in person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    pub name: String,
    pub role: Role,
}

/// Audit log filters; empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditFilter {
    pub actor: String,
    pub action: String,
}

/// One audited action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: String,
    pub actor: String,
    pub address: String,
    pub action: String,
    pub detail: String,
    pub outcome: String,
}

/// A webhook that hears about pipeline runs ending (admins).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookView {
    pub id: i64,
    pub name: String,
    /// The URL's scheme and host only: the rest may hold the webhook's secret.
    pub target: String,
    pub kind: WebhookKind,
    pub events: Vec<AlertEvent>,
    pub created_by: String,
    pub created_at: String,
}

/// One queued announcement and how its delivery went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryView {
    pub id: i64,
    pub webhook: String,
    pub pipeline_run_id: i64,
    pub event: String,
    /// pending, delivered or failed.
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: Option<String>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub delivered_at: Option<String>,
}

/// Pipeline runs that ended badly since the person last looked (the banner).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FailureNotice {
    /// The newest few, newest first.
    pub runs: Vec<PipelineRunSummary>,
    /// All of them.
    pub count: i64,
}

/// An API token as lists show it (its secret is never shown again).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenView {
    pub id: i64,
    pub owner: String,
    pub name: String,
    pub role: Role,
    /// The token's first characters, to tell it apart.
    pub prefix: String,
    pub created_at: String,
    pub created_by: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// A token just made: the only time its secret is shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewTokenView {
    pub token: TokenView,
    pub secret: String,
}

/// A Lakeline account, as admins manage it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserView {
    pub name: String,
    pub role: Role,
    pub created_at: String,
    pub disabled: bool,
    /// Signs in only through the trusted proxy (no password).
    pub proxy_only: bool,
}

#[server(endpoint = "server_status")]
pub async fn get_server_status() -> Result<ServerStatus, AppError> {
    crate::backend::with(Role::Viewer, |b, _| async move { b.server_status().await }).await
}

#[server(endpoint = "current_pipeline_run")]
pub async fn current_pipeline_run() -> Result<Option<PipelineRunDetail>, AppError> {
    crate::backend::with(Role::Viewer, |b, _| async move { b.current_run().await }).await
}

#[server(endpoint = "trigger_pipeline")]
pub async fn trigger_pipeline(arguments: String, environment: String) -> Result<i64, AppError> {
    crate::backend::with(Role::Operator, |b, c| async move { b.trigger(&c, arguments, environment).await }).await
}

#[server(endpoint = "stop_pipeline")]
pub async fn stop_pipeline(id: i64) -> Result<(), AppError> {
    crate::backend::with(Role::Operator, |b, c| async move { b.stop(&c, id).await }).await
}

/// Retries a pipeline run from the stage that did not succeed (operators); answers that stage.
#[server(endpoint = "retry_pipeline")]
pub async fn retry_pipeline(id: i64) -> Result<Stage, AppError> {
    crate::backend::with(Role::Operator, |b, c| async move { b.retry(&c, id).await }).await
}

/// Deploys the model the quality gate held back in a run (operators): the run's redeployment
/// again, past the gate.
#[server(endpoint = "deploy_anyway")]
pub async fn deploy_anyway(id: i64) -> Result<(), AppError> {
    crate::backend::with(Role::Operator, |b, c| async move { b.deploy_anyway(&c, id).await }).await
}

/// New Batch's schedule and when it runs next (everyone signed in); `None` until the jobs are set up.
#[server(endpoint = "get_schedule")]
pub async fn get_schedule() -> Result<Option<ScheduleView>, AppError> {
    crate::backend::with(Role::Viewer, |b, _| async move { b.schedule().await }).await
}

/// Sets New Batch's schedule (admins): a cron expression, or empty for by hand only.
#[server(endpoint = "set_schedule")]
pub async fn set_schedule(cron: String) -> Result<ScheduleView, AppError> {
    crate::backend::with(Role::Admin, |b, c| async move { b.set_schedule(&c, cron).await }).await
}

#[server(endpoint = "list_pipeline_runs")]
pub async fn list_pipeline_runs(filter: HistoryFilter, cursor: String) -> Result<HistoryTable, AppError> {
    crate::backend::with(Role::Viewer, |b, _| async move {
        let cursor = HistoryCursor::parse(&cursor).map_err(AppError::Invalid)?;
        Ok(b.history(filter, cursor).await?.into())
    })
    .await
}

#[server(endpoint = "get_pipeline_run")]
pub async fn get_pipeline_run(id: i64) -> Result<PipelineRunDetail, AppError> {
    crate::backend::with(Role::Viewer, |b, _| async move { b.run_detail(id).await }).await
}

#[server(endpoint = "pipeline_setup")]
pub async fn pipeline_setup() -> Result<SetupView, AppError> {
    crate::backend::with(Role::Admin, |b, _| async move { b.setup_view().await }).await
}

/// Asks the workspace again how the jobs compare with their definition.
#[server(endpoint = "check_pipeline_setup")]
pub async fn check_pipeline_setup() -> Result<SetupView, AppError> {
    crate::backend::with(Role::Admin, |b, _| async move { b.check_setup_again().await }).await
}

#[server(endpoint = "apply_pipeline_setup")]
pub async fn apply_pipeline_setup() -> Result<SetupView, AppError> {
    crate::backend::with(Role::Admin, |b, c| async move { b.apply_setup(&c).await }).await
}

/// Deletes the jobs that carry the pipeline's names but are not the ones its chain uses.
#[server(endpoint = "remove_duplicate_jobs")]
pub async fn remove_duplicate_jobs() -> Result<SetupView, AppError> {
    crate::backend::with(Role::Admin, |b, c| async move { b.remove_duplicate_jobs(&c).await }).await
}

#[server(endpoint = "get_settings")]
pub async fn get_settings() -> Result<PipelineSettings, AppError> {
    crate::backend::with(Role::Viewer, |b, _| async move { b.settings().await }).await
}

#[server(endpoint = "save_settings")]
pub async fn save_settings(settings: PipelineSettings) -> Result<PipelineSettings, AppError> {
    crate::backend::with(Role::Admin, |b, c| async move { b.save_settings(&c, settings).await }).await
}

/// Pipeline runs side by side (everyone signed in): `runs` is their ids separated by commas.
#[server(endpoint = "compare_runs")]
pub async fn compare_runs(runs: String) -> Result<RunComparison, AppError> {
    crate::backend::with(Role::Viewer, |b, _| async move {
        let ids = parse_compared(&runs).map_err(AppError::Invalid)?;
        b.compare(ids).await
    })
    .await
}

/// The table's snapshots as Lakeline learned them, newest first (everyone signed in).
#[server(endpoint = "data_snapshots")]
pub async fn data_snapshots() -> Result<Vec<SnapshotView>, AppError> {
    crate::backend::with(Role::Viewer, |b, _| async move { b.snapshots().await }).await
}

#[server(endpoint = "quality_series")]
pub async fn quality_series() -> Result<QualityTrend, AppError> {
    crate::backend::with(Role::Viewer, |b, _| async move { b.quality_series().await }).await
}

#[server(endpoint = "latest_deployment")]
pub async fn latest_deployment() -> Result<Option<DeploymentView>, AppError> {
    crate::backend::with(Role::Viewer, |b, _| async move { b.latest_deployment().await }).await
}

#[server(endpoint = "test_prediction")]
pub async fn test_prediction(request: String) -> Result<String, AppError> {
    crate::backend::with(Role::Operator, |b, c| async move { b.predict(&c, request).await }).await
}

/// The signed-in person, if any.
#[server(endpoint = "current_user")]
pub async fn current_user() -> Result<Option<Me>, AppError> {
    crate::backend::with_anyone(|_, c| async move { Ok(c.user) }).await
}

/// Whether Lakeline has no users yet (then the set-up page creates the first admin).
#[server(endpoint = "needs_first_admin")]
pub async fn needs_first_admin() -> Result<bool, AppError> {
    crate::backend::with_anyone(|b, _| async move { b.needs_first_admin().await }).await
}

/// Creates the first admin and signs them in: only while there are no users, only from this
/// machine.
#[server(endpoint = "create_first_admin")]
pub async fn create_first_admin(name: String, password: String) -> Result<Me, AppError> {
    crate::backend::with_anyone(|b, c| async move { b.create_first_admin(&c, name, password).await }).await
}

#[server(endpoint = "sign_in")]
pub async fn sign_in(name: String, password: String) -> Result<Me, AppError> {
    crate::backend::with_anyone(|b, c| async move { b.sign_in(&c, name, password).await }).await
}

#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    crate::backend::with_anyone(|b, c| async move { b.sign_out(&c).await }).await
}

/// The audit log, newest first, filtered (admins).
#[server(endpoint = "audit_log")]
pub async fn audit_log(filter: AuditFilter) -> Result<Vec<AuditEntry>, AppError> {
    crate::backend::with(Role::Admin, |b, _| async move { b.audit_log(filter).await }).await
}

/// API tokens: the caller's own, or everyone's for an admin.
#[server(endpoint = "list_tokens")]
pub async fn list_tokens() -> Result<Vec<TokenView>, AppError> {
    crate::backend::with(Role::Viewer, |b, c| async move { b.tokens(&c).await }).await
}

/// Makes a token for `owner` (empty: the caller; another user: admins only) with a role no
/// higher than the owner's.
#[server(endpoint = "create_token")]
pub async fn create_token(owner: String, name: String, role: Role) -> Result<NewTokenView, AppError> {
    crate::backend::with(Role::Viewer, |b, c| async move { b.create_token(&c, owner, name, role).await }).await
}

/// Revokes a token: it stops working at once (the caller's own; admins: anyone's).
#[server(endpoint = "revoke_token")]
pub async fn revoke_token(id: i64) -> Result<TokenView, AppError> {
    crate::backend::with(Role::Viewer, |b, c| async move { b.revoke_token(&c, id).await }).await
}

#[server(endpoint = "list_users")]
pub async fn list_users() -> Result<Vec<UserView>, AppError> {
    crate::backend::with(Role::Admin, |b, _| async move { b.users().await }).await
}

#[server(endpoint = "add_user")]
pub async fn add_user(name: String, role: Role, password: String) -> Result<UserView, AppError> {
    crate::backend::with(Role::Admin, |b, c| async move { b.add_user(&c, name, role, password).await }).await
}

/// Changes a user's role, or disables them (their sessions and tokens stop at once).
#[server(endpoint = "update_user")]
pub async fn update_user(name: String, role: Role, disabled: bool) -> Result<UserView, AppError> {
    crate::backend::with(Role::Admin, |b, c| async move { b.update_user(&c, name, role, disabled).await }).await
}

/// Leaves a note on a pipeline run (operators).
#[server(endpoint = "add_note")]
pub async fn add_note(id: i64, text: String) -> Result<NoteView, AppError> {
    crate::backend::with(Role::Operator, |b, c| async move { b.add_note(&c, id, text).await }).await
}

#[server(endpoint = "list_webhooks")]
pub async fn list_webhooks() -> Result<Vec<WebhookView>, AppError> {
    crate::backend::with(Role::Admin, |b, _| async move { b.webhooks().await }).await
}

/// Adds a webhook: `kind` generic or slack; `events` comma-separated (failed, stopped, timedout,
/// succeeded).
#[server(endpoint = "add_webhook")]
pub async fn add_webhook(name: String, url: String, kind: WebhookKind, events: String) -> Result<WebhookView, AppError> {
    crate::backend::with(Role::Admin, |b, c| async move { b.add_webhook(&c, name, url, kind, events).await }).await
}

#[server(endpoint = "remove_webhook")]
pub async fn remove_webhook(id: i64) -> Result<(), AppError> {
    crate::backend::with(Role::Admin, |b, c| async move { b.remove_webhook(&c, id).await }).await
}

/// The latest alert deliveries, newest first (admins).
#[server(endpoint = "alert_deliveries")]
pub async fn alert_deliveries() -> Result<Vec<DeliveryView>, AppError> {
    crate::backend::with(Role::Admin, |b, _| async move { b.deliveries().await }).await
}

/// Runs that failed, stopped or timed out since the caller last looked (none for someone not
/// signed in: the banner is on every page, the sign-in page too, which must not answer 401).
#[server(endpoint = "unseen_failures")]
pub async fn unseen_failures() -> Result<FailureNotice, AppError> {
    crate::backend::with_anyone(|b, c| async move { if c.user.is_some() { b.unseen_failures(&c).await } else { Ok(FailureNotice::default()) } }).await
}

/// The caller has seen the failures so far (the banner goes until the next one).
#[server(endpoint = "mark_failures_seen")]
pub async fn mark_failures_seen() -> Result<(), AppError> {
    crate::backend::with(Role::Viewer, |b, c| async move { b.mark_failures_seen(&c).await }).await
}

/// Deploys an earlier pipeline run's model again (a rollback): its build becomes the live
/// deployment (operators).
#[server(endpoint = "deploy_model")]
pub async fn deploy_model(id: i64) -> Result<(), AppError> {
    crate::backend::with(Role::Operator, |b, c| async move { b.deploy_model(&c, id).await }).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(stage: Stage, attempt: i64, state: JobRunState) -> StageView {
        StageView { stage, attempt, job_id: "j".into(), run_id: format!("r{attempt}"), state, created_at: None, running_at: None, finished_at: None, duration_seconds: None }
    }

    #[test]
    fn a_history_row_shows_each_stage_s_latest_attempt_in_the_chain_s_order() {
        let summary = PipelineRunSummary {
            id: 7,
            status: PipelineStatus::Running,
            triggered_by: "ada".into(),
            source: RunSource::Lakeline,
            created_at: "2026-11-23T10:00:00Z".into(),
            finished_at: None,
            duration_seconds: Some(12.0),
            stages: vec![
                stage(Stage::RetrainXgboost, 1, JobRunState::Failed),
                stage(Stage::NewBatch, 1, JobRunState::Succeeded),
                stage(Stage::RetrainXgboost, 2, JobRunState::Running),
            ],
            snapshot_id: Some("2".into()),
            parent_snapshot_id: Some("1".into()),
            rows_added: Some(100),
            accuracy: None,
            recall: None,
            model_version: None,
            deployment: None,
            note_count: 1,
            retry_from: None,
            gate: None,
        };
        let row = HistoryRow::from(summary);
        assert_eq!(row.stages, [Some(JobRunState::Succeeded), Some(JobRunState::Running), None]);
        assert_eq!((row.id, row.note_count, row.gate), (7, 1, None));
    }
}
