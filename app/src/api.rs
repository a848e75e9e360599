//! Server functions (the UI's only data path) and the types they carry.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// What the server says about itself; shown by the "Check server" button.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerStatus {
    pub version: String,
    pub uptime_seconds: u64,
    pub database: String,
    /// "embedded local workspace at …" or "CML workspace https://…".
    pub workspace: String,
}

/// The three stages, in order.
pub const STAGES: [&str; 3] = ["New Batch", "Retrain XGBoost", "API Redeployment"];

/// One job run of a pipeline run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageView {
    pub stage: usize,
    pub job_id: String,
    pub run_id: String,
    /// CML's word: scheduling, starting, running, stopping, stopped, succeeded, failed, timedout…
    pub status: String,
    pub created_at: Option<String>,
    pub running_at: Option<String>,
    pub finished_at: Option<String>,
    pub duration_seconds: Option<f64>,
}

/// A pipeline run as lists show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineRunSummary {
    pub id: i64,
    /// running, succeeded, failed, stopped, timedout, incomplete.
    pub status: String,
    pub triggered_by: String,
    /// "lakeline" when started here, "external" when seen in the workspace (CML UI, API, …).
    pub source: String,
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
    pub deployment_status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

/// Everything a run links to, resolved by ids.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
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
    pub deployment_status: Option<String>,
    /// Why part of the lineage could not be resolved, in words.
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageLog {
    pub stage: usize,
    pub path: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineRunDetail {
    pub run: PipelineRunSummary,
    pub lineage: Lineage,
    pub logs: Vec<StageLog>,
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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryPage {
    pub runs: Vec<PipelineRunSummary>,
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
}

/// Whether one of the pipeline's jobs exists in the workspace and matches its definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobCheck {
    pub stage: usize,
    pub name: String,
    pub script: String,
    pub job_id: Option<String>,
    /// "matches", "missing" or "drifted".
    pub state: String,
    pub differences: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetupView {
    pub workspace: String,
    pub project_id: String,
    pub runtime: Option<String>,
    pub jobs: Vec<JobCheck>,
    /// Set when the workspace could not be asked.
    pub error: Option<String>,
}

/// Settings a user can change in the browser.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PipelineSettings {
    pub owner_suffix: String,
    pub runtime_kernel: String,
    pub runtime_editor: String,
    pub runtime_edition: String,
    pub accuracy_key: String,
    pub recall_key: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityPoint {
    pub run_id: i64,
    pub created_at: String,
    pub accuracy: Option<f64>,
    pub recall: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentView {
    pub pipeline_run_id: Option<i64>,
    pub model_name: String,
    pub model_id: String,
    pub build_id: String,
    pub deployment_id: String,
    pub status: String,
    pub version: Option<i64>,
}

#[server(endpoint = "server_status")]
pub async fn get_server_status() -> Result<ServerStatus, AppError> {
    crate::backend::with(|b| async move { b.server_status().await }).await
}

#[server(endpoint = "current_pipeline_run")]
pub async fn current_pipeline_run() -> Result<Option<PipelineRunDetail>, AppError> {
    crate::backend::with(|b| async move { b.current_run().await }).await
}

#[server(endpoint = "trigger_pipeline")]
pub async fn trigger_pipeline(arguments: String, environment: String) -> Result<i64, AppError> {
    crate::backend::with(|b| async move { b.trigger(arguments, environment).await }).await
}

#[server(endpoint = "stop_pipeline")]
pub async fn stop_pipeline(id: i64) -> Result<(), AppError> {
    crate::backend::with(|b| async move { b.stop(id).await }).await
}

#[server(endpoint = "list_pipeline_runs")]
pub async fn list_pipeline_runs(filter: HistoryFilter, page: i64) -> Result<HistoryPage, AppError> {
    crate::backend::with(|b| async move { b.history(filter, page).await }).await
}

#[server(endpoint = "get_pipeline_run")]
pub async fn get_pipeline_run(id: i64) -> Result<PipelineRunDetail, AppError> {
    crate::backend::with(|b| async move { b.run_detail(id).await }).await
}

#[server(endpoint = "pipeline_setup")]
pub async fn pipeline_setup() -> Result<SetupView, AppError> {
    crate::backend::with(|b| async move { b.setup_view().await }).await
}

#[server(endpoint = "apply_pipeline_setup")]
pub async fn apply_pipeline_setup() -> Result<SetupView, AppError> {
    crate::backend::with(|b| async move { b.apply_setup().await }).await
}

#[server(endpoint = "get_settings")]
pub async fn get_settings() -> Result<PipelineSettings, AppError> {
    crate::backend::with(|b| async move { b.settings().await }).await
}

#[server(endpoint = "save_settings")]
pub async fn save_settings(settings: PipelineSettings) -> Result<PipelineSettings, AppError> {
    crate::backend::with(|b| async move { b.save_settings(settings).await }).await
}

#[server(endpoint = "quality_series")]
pub async fn quality_series() -> Result<Vec<QualityPoint>, AppError> {
    crate::backend::with(|b| async move { b.quality_series().await }).await
}

#[server(endpoint = "latest_deployment")]
pub async fn latest_deployment() -> Result<Option<DeploymentView>, AppError> {
    crate::backend::with(|b| async move { b.latest_deployment().await }).await
}

#[server(endpoint = "test_prediction")]
pub async fn test_prediction(request: String) -> Result<String, AppError> {
    crate::backend::with(|b| async move { b.predict(request).await }).await
}
