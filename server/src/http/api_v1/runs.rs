//! Pipeline runs: list and filter, one run with its lineage and logs, trigger, stop, retry.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Extension;
use serde::{Deserialize, Serialize};

use app::api::{HistoryCursor, HistoryFilter, HistoryPage, Lineage, PipelineRunDetail, StageLog};
use app::backend::{Backend, Caller};
use app::error::AppError;
use domain::{Role, Stage};

use super::error::{ApiError, Json, Path, Query};
use crate::http::AppState;

/// Which runs to list; empty filters do not filter. Pages hold 25 runs, newest first.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RunsQuery {
    /// `running`, `succeeded`, `failed`, `stopped`, `timedout` or `incomplete`.
    #[serde(default)]
    status: String,
    /// Started on or after this day (YYYY-MM-DD).
    #[serde(default)]
    from: String,
    /// Started on or before this day (YYYY-MM-DD).
    #[serde(default)]
    to: String,
    /// Who triggered (a Lakeline user, or the CML creator of an external run); a prefix.
    #[serde(default)]
    who: String,
    /// An Iceberg snapshot id the run made or started from.
    #[serde(default)]
    snapshot: String,
    /// Runs with a note containing this text.
    #[serde(default)]
    note: String,
    /// Only runs with notes.
    #[serde(default)]
    with_notes: bool,
    /// The page of runs older than this run id (from a page's `older`).
    before: Option<i64>,
    /// The page of runs newer than this run id (from a page's `newer`).
    after: Option<i64>,
}

/// What a new pipeline run starts with.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerRequest {
    /// New Batch's arguments, one line (at most 4 KiB).
    #[serde(default)]
    arguments: String,
    /// Extra environment variables for the run's jobs (at most 64).
    #[serde(default)]
    environment: BTreeMap<String, String>,
}

/// A pipeline run just started.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunCreated {
    pub id: i64,
}

/// Runs, newest first, filtered and paged.
#[utoipa::path(get, path = "/api/v1/runs", tag = "runs", params(RunsQuery), responses(
    (status = 200, description = "A page of runs", body = HistoryPage),
    (status = 400, description = "A filter is not valid", body = ApiError),
    (status = 401, body = ApiError), (status = 403, body = ApiError),
))]
pub async fn list(State(state): State<AppState>, Extension(caller): Extension<Caller>, Query(query): Query<RunsQuery>) -> Result<axum::Json<HistoryPage>, ApiError> {
    caller.require(Role::Viewer)?;
    let filter = HistoryFilter {
        status: query.status,
        from: query.from,
        to: query.to,
        who: query.who,
        snapshot: query.snapshot,
        note: query.note,
        with_notes: query.with_notes,
    };
    let cursor = HistoryCursor { before: query.before, after: query.after };
    Ok(axum::Json(state.backend.history(filter, cursor).await?))
}

/// Starts a pipeline run (New Batch, then its dependents). Refused while a run is active.
#[utoipa::path(post, path = "/api/v1/runs", tag = "runs", request_body = TriggerRequest, responses(
    (status = 201, description = "Started; `Location` is the run", body = RunCreated),
    (status = 400, description = "The request is not valid, or a run is active", body = ApiError),
    (status = 401, body = ApiError), (status = 403, body = ApiError),
    (status = 502, description = "The workspace refused or failed", body = ApiError),
))]
pub async fn trigger(State(state): State<AppState>, Extension(caller): Extension<Caller>, Json(request): Json<TriggerRequest>) -> Result<impl IntoResponse, ApiError> {
    caller.require(Role::Operator)?;
    let mut environment = String::new();
    for (name, value) in &request.environment {
        if value.contains(['\n', '\r']) {
            return Err(ApiError::invalid(format!("environment: the value of {name} contains a line break")));
        }
        environment.push_str(&format!("{name}={value}\n"));
    }
    let id = state.backend.trigger(&caller, request.arguments, environment).await?;
    let location = format!("/api/v1/runs/{id}");
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], axum::Json(RunCreated { id })))
}

/// One run: its stages, lineage and log tails.
#[utoipa::path(get, path = "/api/v1/runs/{id}", tag = "runs", params(("id" = i64, Path, description = "The pipeline run id")), responses(
    (status = 200, body = PipelineRunDetail),
    (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError),
))]
pub async fn detail(State(state): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<i64>) -> Result<axum::Json<PipelineRunDetail>, ApiError> {
    caller.require(Role::Viewer)?;
    Ok(axum::Json(state.backend.run_detail(id).await?))
}

/// Stops an active run: its running job and the dependents that have not started.
#[utoipa::path(post, path = "/api/v1/runs/{id}/stop", tag = "runs", params(("id" = i64, Path, description = "The pipeline run id")), responses(
    (status = 202, description = "Stopping; the run's status follows", body = PipelineRunDetail),
    (status = 400, description = "The run is not active", body = ApiError),
    (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 502, body = ApiError),
))]
pub async fn stop(State(state): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<i64>) -> Result<impl IntoResponse, ApiError> {
    caller.require(Role::Operator)?;
    state.backend.stop(&caller, id).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(state.backend.run_detail(id).await?)))
}

/// Retries a run that failed, stopped, timed out or stayed incomplete from the stage that did not
/// succeed: a new attempt at that stage (a retrain reads the same snapshot range as before), and
/// its dependents follow.
#[utoipa::path(post, path = "/api/v1/runs/{id}/retry", tag = "runs", params(("id" = i64, Path, description = "The pipeline run id")), responses(
    (status = 202, description = "Retrying; the run is running again", body = PipelineRunDetail),
    (status = 400, description = "The run cannot be retried (it succeeded, or a chain is running)", body = ApiError),
    (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 502, body = ApiError),
))]
pub async fn retry(State(state): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<i64>) -> Result<impl IntoResponse, ApiError> {
    caller.require(Role::Operator)?;
    state.backend.retry(&caller, id).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(state.backend.run_detail(id).await?)))
}

/// Deploys the model the quality gate held back in a run: its redeployment runs again (a new
/// attempt) with the gate off, and the run's lineage follows it.
#[utoipa::path(post, path = "/api/v1/runs/{id}/deploy-anyway", tag = "runs", params(("id" = i64, Path, description = "The pipeline run id")), responses(
    (status = 202, description = "Deploying; the run is running again", body = PipelineRunDetail),
    (status = 400, description = "The run's model was not gated, or a chain is running", body = ApiError),
    (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 502, body = ApiError),
))]
pub async fn deploy_anyway(State(state): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<i64>) -> Result<impl IntoResponse, ApiError> {
    caller.require(Role::Operator)?;
    state.backend.deploy_anyway(&caller, id).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(state.backend.run_detail(id).await?)))
}

/// What a run links to: snapshot range → MLflow run → model version → build → deployment.
#[utoipa::path(get, path = "/api/v1/runs/{id}/lineage", tag = "runs", params(("id" = i64, Path, description = "The pipeline run id")), responses(
    (status = 200, body = Lineage),
    (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError),
))]
pub async fn lineage(State(state): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<i64>) -> Result<axum::Json<Lineage>, ApiError> {
    caller.require(Role::Viewer)?;
    Ok(axum::Json(state.backend.run_detail(id).await?.lineage))
}

/// The log tail of every attempt at every stage, as Lakeline stored them.
#[utoipa::path(get, path = "/api/v1/runs/{id}/logs", tag = "runs", params(("id" = i64, Path, description = "The pipeline run id")), responses(
    (status = 200, body = Vec<StageLog>),
    (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError),
))]
pub async fn logs(State(state): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<i64>) -> Result<axum::Json<Vec<StageLog>>, ApiError> {
    caller.require(Role::Viewer)?;
    Ok(axum::Json(state.backend.run_detail(id).await?.logs))
}

/// One stage's log tail as plain text (its latest attempt's).
#[utoipa::path(get, path = "/api/v1/runs/{id}/logs/{stage}", tag = "runs", params(
    ("id" = i64, Path, description = "The pipeline run id"),
    ("stage" = Stage, Path, description = "The stage"),
), responses(
    (status = 200, content_type = "text/plain", body = String),
    (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError),
    (status = 404, description = "No such run, or the stage has no log yet", body = ApiError),
))]
pub async fn stage_log(State(state): State<AppState>, Extension(caller): Extension<Caller>, Path((id, stage)): Path<(i64, Stage)>) -> Result<impl IntoResponse, ApiError> {
    caller.require(Role::Viewer)?;
    let detail = state.backend.run_detail(id).await?;
    // The latest attempt's.
    let log = detail.logs.into_iter().rev().find(|l| l.stage == stage).ok_or_else(|| AppError::NotFound(format!("pipeline run {id} has no {stage} log yet")))?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], log.text))
}
