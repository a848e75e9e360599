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
    async fn history(&self, filter: HistoryFilter, cursor: HistoryCursor) -> Result<HistoryPage, AppError>;
    async fn run_detail(&self, id: i64) -> Result<PipelineRunDetail, AppError>;
    async fn setup_view(&self) -> Result<SetupView, AppError>;
    async fn apply_setup(&self) -> Result<SetupView, AppError>;
    async fn remove_duplicate_jobs(&self) -> Result<SetupView, AppError>;
    async fn check_setup_again(&self) -> Result<SetupView, AppError>;
    async fn settings(&self) -> Result<PipelineSettings, AppError>;
    async fn save_settings(&self, settings: PipelineSettings) -> Result<PipelineSettings, AppError>;
    async fn quality_series(&self) -> Result<Vec<QualityPoint>, AppError>;
    async fn latest_deployment(&self) -> Result<Option<DeploymentView>, AppError>;
    async fn predict(&self, request: String) -> Result<String, AppError>;
}

pub type SharedBackend = Arc<dyn Backend>;

/// The backend provided by the server for this request.
fn current() -> Result<SharedBackend, AppError> {
    use_context::<SharedBackend>().ok_or_else(|| AppError::Store("the server did not provide its backend".into()))
}

/// Runs a server function's work on the backend and answers with an HTTP status that fits the
/// outcome (400 refused, 404 missing, 502 the workspace failed, 500 Lakeline failed).
pub async fn with<T, F, Fut>(work: F) -> Result<T, AppError>
where
    F: FnOnce(SharedBackend) -> Fut,
    Fut: std::future::Future<Output = Result<T, AppError>>,
{
    let result = work(current()?).await;
    if let Err(e) = &result {
        let status = match e {
            AppError::Invalid(_) => axum::http::StatusCode::BAD_REQUEST,
            AppError::NotFound(_) => axum::http::StatusCode::NOT_FOUND,
            AppError::Workspace(_) => axum::http::StatusCode::BAD_GATEWAY,
            AppError::Store(_) | AppError::Transport(_) => axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        };
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(status);
        }
    }
    result
}
