use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Json;
use cml_api::{CreateJobRunRequest, EngineStatus, JobRun};
use serde_json::{json, Value};

use super::parse_body;
use crate::error::{ApiError, ApiResult};
use crate::listing::{encode_token, ListQuery};
use crate::Workspace;

pub async fn list(
    State(ws): State<Arc<Workspace>>,
    Path((project_id, job_id)): Path<(String, String)>,
    q: ListQuery,
) -> ApiResult<Json<Value>> {
    let project = ws.project(&project_id).await?;
    let job = ws.job(&project.id, &job_id).await?;
    let mut statuses = vec![];
    for (key, value) in q.filter()? {
        match key.as_str() {
            "status" => statuses.push(status_word(&value)?),
            "job_id" | "project_id" => {}
            other => return Err(ApiError::invalid(format!("search_filter key {other:?} is not supported for job runs; use \"status\""))),
        }
    }
    let newest_first = match q.sort_keys().first() {
        None => true,
        Some((key, desc)) if key == "created_at" => *desc,
        Some((key, _)) => return Err(ApiError::invalid(format!("job runs sort by created_at, not {key:?}"))),
    };
    let (size, offset) = (q.page_size()?, q.offset()?);
    let (rows, total) = ws.store.runs_page(&job.id, &statuses, newest_first, size, offset).await?;
    let next = if offset + size < total { encode_token(offset + size) } else { String::new() };
    let runs: Vec<JobRun> = rows.iter().map(|r| r.to_api()).collect();
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
        return Err(ApiError::not_found(format!("no such method on job runs: POST {run_method:?} (did you mean {run_method}:stop?)")));
    };
    let project = ws.project(&project_id).await?;
    let job = ws.job(&project.id, &job_id).await?;
    let run = ws.run(&job.id, run_id).await?;
    ws.runner.stop_run(&run).await?;
    Ok(Json(ws.run(&job.id, run_id).await?.to_api()))
}
