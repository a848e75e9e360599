//! The CML API v2 subset, over HTTP.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::error::ApiError;
use crate::Workspace;

mod files;
mod experiments;
mod jobs;
mod mlflow;
mod models;
mod registry;
mod projects;
mod runs;
mod runtimes;
mod swagger;

/// The answer to a path no operation of this workspace takes.
const NO_SUCH_ROUTE: &str = "no such API route in this workspace";

pub fn router(workspace: Arc<Workspace>) -> Router {
    let api = Router::new()
        .route("/api/v2/auth/validate_key", post(projects::validate_key))
        .route("/api/v2/projects", get(projects::list))
        // CML's batch read of projects is not offered (without this, "batch" would be read as a project id).
        .route("/api/v2/projects/batch", get(|| async { ApiError::unimplemented("GET /api/v2/projects/batch is not offered by this workspace") }))
        .route("/api/v2/projects/{project_id}", get(projects::get))
        .route("/api/v2/projects/{project_id}/jobs", get(jobs::list).post(jobs::create))
        .route("/api/v2/projects/{project_id}/jobs/{job_id}", get(jobs::get).patch(jobs::update).delete(jobs::delete))
        .route("/api/v2/projects/{project_id}/jobs/{job_id}/runs", get(runs::list).post(runs::create))
        // `{run_id}` also matches the custom method `{run_id}:stop`.
        .route("/api/v2/projects/{project_id}/jobs/{job_id}/runs/{run_id}", get(runs::get).post(runs::stop))
        .route("/api/v2/runtimes", get(runtimes::list))
        .route("/api/v2/projects/{project_id}/files", get(files::list_root))
        .route("/api/v2/projects/{project_id}/files/", get(files::list_root))
        .route("/api/v2/projects/{project_id}/files/{*path}", get(files::list).post(files::download))
        .route("/api/v2/projects/{project_id}/experiments", get(experiments::list))
        .route("/api/v2/projects/{project_id}/experiments/{experiment_id}", get(experiments::get))
        .route("/api/v2/projects/{project_id}/experiments/{experiment_id}/runs", get(experiments::list_runs))
        // `{run_id}` also matches the custom method `{run_id}:logbatch`.
        .route("/api/v2/projects/{project_id}/experiments/{experiment_id}/runs/{run_id}", get(experiments::get_run).post(experiments::run_method))
        .route("/api/v2/registry/models", get(registry::list).post(registry::create))
        .route("/api/v2/registry/models/{model_id}", get(registry::get))
        .route("/api/v2/registry/models/{model_id}/versions/{version_id}", get(registry::get_version))
        .route("/api/v2/projects/{project_id}/models", get(models::list).post(models::create))
        .route("/api/v2/projects/{project_id}/models/{model_id}", get(models::get))
        .route("/api/v2/projects/{project_id}/models/{model_id}/builds", get(models::list_builds).post(models::create_build))
        .route("/api/v2/projects/{project_id}/models/{model_id}/builds/{build_id}", get(models::get_build))
        .route(
            "/api/v2/projects/{project_id}/models/{model_id}/builds/{build_id}/deployments",
            get(models::list_deployments).post(models::create_deployment),
        )
        .route(
            "/api/v2/projects/{project_id}/models/{model_id}/builds/{build_id}/deployments/{deployment_id}",
            get(models::get_deployment).post(models::deployment_method),
        )
        .merge(mlflow::routes())
        .layer(middleware::from_fn_with_state(workspace.clone(), require_key))
        // Served without a key, as real CML does.
        .route("/api/v2/swagger.json", get(swagger::document))
        .fallback(|| async { ApiError::not_found(NO_SUCH_ROUTE) })
        // As CML's gateway: a method a route does not take is UNIMPLEMENTED, in the JSON envelope.
        .method_not_allowed_fallback(|method: axum::http::Method, uri: axum::http::Uri| async move {
            ApiError::unimplemented(format!("Method Not Allowed: {method} {} is not an operation of this API", uri.path()))
        });
    // The model endpoint checks access keys itself (and the API key when the model asks for it).
    let model = Router::new().route("/model", post(models::predict));
    api.merge(model).with_state(workspace)
}

/// Every API call carries `authorization: Bearer <key>`.
async fn require_key(State(ws): State<Arc<Workspace>>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    match presented {
        Some(key) if constant_time_eq(key.as_bytes(), ws.api_key.as_bytes()) => next.run(request).await,
        Some(_) => ApiError::unauthenticated("the API key is not valid for this workspace").into_response(),
        None => ApiError::unauthenticated("missing API key: send 'authorization: Bearer <API key>'").into_response(),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Reads a JSON body leniently: an empty body is the default message, a malformed one a clear 400.
pub(crate) fn parse_body<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| ApiError::invalid(format!("the request body is not valid JSON for this call: {e}")))
}
