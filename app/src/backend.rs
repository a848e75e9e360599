//! The server side of the server functions. `server/` implements [`Backend`] and provides it as
//! context; the app never touches the database or CML directly.

use std::sync::Arc;

use leptos::prelude::use_context;

use crate::api::*;
use crate::error::AppError;

#[async_trait::async_trait]
pub trait Backend: Send + Sync + 'static {
    async fn server_status(&self) -> Result<ServerStatus, AppError>;
    async fn current_run(&self) -> Result<Option<PipelineRunDetail>, AppError>;
    async fn trigger(&self, arguments: String, environment: String) -> Result<i64, AppError>;
    async fn stop(&self, id: i64) -> Result<(), AppError>;
    async fn history(&self, filter: HistoryFilter, page: i64) -> Result<HistoryPage, AppError>;
    async fn run_detail(&self, id: i64) -> Result<PipelineRunDetail, AppError>;
    async fn setup_view(&self) -> Result<SetupView, AppError>;
    async fn apply_setup(&self) -> Result<SetupView, AppError>;
    async fn settings(&self) -> Result<PipelineSettings, AppError>;
    async fn save_settings(&self, settings: PipelineSettings) -> Result<PipelineSettings, AppError>;
    async fn quality_series(&self) -> Result<Vec<QualityPoint>, AppError>;
    async fn latest_deployment(&self) -> Result<Option<DeploymentView>, AppError>;
    async fn predict(&self, request: String) -> Result<String, AppError>;
}

pub type SharedBackend = Arc<dyn Backend>;

/// The backend provided by the server for this request.
pub fn current() -> Result<SharedBackend, AppError> {
    use_context::<SharedBackend>().ok_or_else(|| AppError::Store("the server did not provide its backend".into()))
}
