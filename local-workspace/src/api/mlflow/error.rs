//! MLflow's error shape: `{"error_code": …, "message": …}` with the matching HTTP status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug)]
pub struct MlflowError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl MlflowError {
    pub(super) fn missing(message: impl Into<String>) -> Self {
        MlflowError { status: StatusCode::NOT_FOUND, code: "RESOURCE_DOES_NOT_EXIST", message: message.into() }
    }
    pub(super) fn invalid(message: impl Into<String>) -> Self {
        MlflowError { status: StatusCode::BAD_REQUEST, code: "INVALID_PARAMETER_VALUE", message: message.into() }
    }
    /// An unknown MLflow route (MLflow's server answers these with its own error shape too).
    pub(super) fn no_endpoint(message: impl Into<String>) -> Self {
        MlflowError { status: StatusCode::NOT_FOUND, code: "ENDPOINT_NOT_FOUND", message: message.into() }
    }
    #[cfg(test)]
    pub(super) fn message(&self) -> &str {
        &self.message
    }
    pub(super) fn exists(message: impl Into<String>) -> Self {
        MlflowError { status: StatusCode::BAD_REQUEST, code: "RESOURCE_ALREADY_EXISTS", message: message.into() }
    }
}

impl From<sqlx::Error> for MlflowError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "tracking database error");
        MlflowError { status: StatusCode::INTERNAL_SERVER_ERROR, code: "INTERNAL_ERROR", message: "the tracking database failed".into() }
    }
}

impl From<std::io::Error> for MlflowError {
    fn from(e: std::io::Error) -> Self {
        MlflowError { status: StatusCode::INTERNAL_SERVER_ERROR, code: "INTERNAL_ERROR", message: format!("artifact storage failed: {e}") }
    }
}

impl IntoResponse for MlflowError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({"error_code": self.code, "message": self.message}))).into_response()
    }
}

pub(super) type Result<T, E = MlflowError> = std::result::Result<T, E>;
