use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Json;
use cml_api::{CreateJobRunRequest, EngineStatus, JobRun};
use serde_json::{json, Value};

use super::parse_body;
use crate::error::{ApiError, ApiResult};
use crate::listing::{encode_token, page, Keys, ListQuery};
use crate::Workspace;

/// What job run lists take. CML documents the jobs' keys for them (runs have no name, script or
/// paused); these are the keys runs have, including the documented example's `status` and `id`.
const KEYS: Keys = Keys {
    filters: &["creator.email", "creator.name", "creator.username", "id", "kernel", "status"],
    sorts: &["created_at", "creator.email", "creator.name", "creator.username", "finished_at", "kernel", "running_at", "status"],
    aliases: &[],
    dynamic: false,
};

pub async fn list(
    State(ws): State<Arc<Workspace>>,
    Path((project_id, job_id)): Path<(String, String)>,
    q: ListQuery,
) -> ApiResult<Json<Value>> {
    let project = ws.project(&project_id).await?;
    let job = ws.job(&project.id, &job_id).await?;
    let filter = q.filter()?;
    let sorts = q.sort_keys();
    // A status word (`running`) or name (`ENGINE_RUNNING`) means that status.
    let mut statuses = vec![];
    let mut by_name = serde_json::Map::new();
    for (key, value) in &filter {
        let value = if key == "status" {
            let status = status_word(value)?;
            statuses.push(status);
            status.as_str().to_string()
        } else {
            value.clone()
        };
        by_name.insert(key.clone(), Value::String(value));
    }
    let (size, offset) = (q.page_size()?, q.offset()?);
    // The common lists (newest first, by status) page in the database; the others in memory.
    if filter.iter().all(|(k, _)| k == "status") && sorts.len() <= 1 && sorts.iter().all(|(k, _)| k == "created_at") {
        let newest_first = sorts.first().is_none_or(|(_, desc)| *desc);
        let (rows, total) = ws.store.runs_page(&job.id, &statuses, newest_first, size, offset).await?;
        let next = if offset + size < total { encode_token(offset + size) } else { String::new() };
        let runs: Vec<JobRun> = rows.iter().map(|r| r.to_api()).collect();
        return Ok(Json(json!({ "job_runs": runs, "next_page_token": next })));
    }
    let (rows, _) = ws.store.runs_page(&job.id, &[], true, i64::MAX as usize, 0).await?;
    let items = rows.iter().map(|r| serde_json::to_value(r.to_api()).unwrap_or_default()).collect();
    let query = ListQuery { search_filter: Some(Value::Object(by_name).to_string()), ..q };
    let (runs, next) = page(items, &query, &KEYS)?;
    Ok(Json(json!({ "job_runs": runs, "next_page_token": next })))
}

fn status_word(word: &str) -> ApiResult<EngineStatus> {
    EngineStatus::ALL
        .into_iter()
        .find(|s| s.word() == word || s.as_str() == word)
        .ok_or_else(|| ApiError::invalid(format!("unknown job run status {word:?} in search_filter")))
}

pub async fn get(
    State(ws): State<Arc<Workspace>>,
    Path((project_id, job_id, run_id)): Path<(String, String, String)>,
) -> ApiResult<Json<JobRun>> {
    let project = ws.project(&project_id).await?;
    let job = ws.job(&project.id, &job_id).await?;
    Ok(Json(ws.run(&job.id, &run_id).await?.to_api()))
}

pub async fn create(
    State(ws): State<Arc<Workspace>>,
    Path((project_id, job_id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Json<JobRun>> {
    let request: CreateJobRunRequest = parse_body(&body)?;
    let project = ws.project(&project_id).await?;
    let job = ws.job(&project.id, &job_id).await?;
    let run = ws.runner.start_run(&project, &job, request, &ws.owner).await?;
    tracing::info!(job = %job.name, run = %run.id, "job run created");
    Ok(Json(run.to_api()))
}

/// `POST …/runs/{run_id}:stop`.
pub async fn stop(
    State(ws): State<Arc<Workspace>>,
    Path((project_id, job_id, run_method)): Path<(String, String, String)>,
) -> ApiResult<Json<JobRun>> {
    let Some(run_id) = run_method.strip_suffix(":stop") else {
        return Err(ApiError::unimplemented(format!("POST …/runs/{run_method} is not an operation (did you mean {run_method}:stop?)")));
    };
    let project = ws.project(&project_id).await?;
    let job = ws.job(&project.id, &job_id).await?;
    let run = ws.run(&job.id, run_id).await?;
    ws.runner.stop_run(&run).await?;
    Ok(Json(ws.run(&job.id, run_id).await?.to_api()))
}
