use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Json;
use chrono::Utc;
use cml_api::{CreateJobRequest, Empty, Job, UpdateJob};
use serde_json::{json, Value};

use super::parse_body;
use crate::error::{ApiError, ApiResult};
use crate::ids::new_id;
use crate::listing::{page, Keys, ListQuery};
use crate::store::JobRow;
use crate::Workspace;

const KEYS: Keys = Keys {
    filters: &["creator.email", "creator.name", "creator.username", "description", "kernel", "name", "paused", "script", "type"],
    sorts: &["created_at", "creator.email", "creator.name", "creator.username", "description", "kernel", "name", "paused", "script", "type", "updated_at"],
    aliases: &[],
    dynamic: false,
};

pub async fn list(
    State(ws): State<Arc<Workspace>>,
    Path(project_id): Path<String>,
    q: ListQuery,
) -> ApiResult<Json<Value>> {
    let project = ws.project(&project_id).await?;
    let items = ws
        .store
        .jobs(&project.id)
        .await?
        .iter()
        .map(|j| serde_json::to_value(j.to_api(&project, &ws.owner)).unwrap_or_default())
        .collect();
    let (jobs, next) = page(items, &q, &KEYS)?;
    Ok(Json(json!({ "jobs": jobs, "next_page_token": next })))
}

pub async fn get(State(ws): State<Arc<Workspace>>, Path((project_id, job_id)): Path<(String, String)>) -> ApiResult<Json<Job>> {
    let project = ws.project(&project_id).await?;
    let job = ws.job(&project.id, &job_id).await?;
    Ok(Json(job.to_api(&project, &ws.owner)))
}

pub async fn create(
    State(ws): State<Arc<Workspace>>,
    Path(project_id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Job>> {
    let request: CreateJobRequest = parse_body(&body)?;
    let project = ws.project(&project_id).await?;
    let parent_id = if request.parent_id.is_empty() { request.parent_job_id.clone() } else { request.parent_id.clone() };
    let runtime_identifier = if request.runtime_identifier.is_empty() {
        ws.runner.default_runtime().identifier().to_string()
    } else {
        request.runtime_identifier.clone()
    };
    let now = Utc::now();
    let job = JobRow {
        id: new_id(),
        project_id: project.id.clone(),
        name: request.name.trim().to_string(),
        script: request.script.trim().to_string(),
        cpu: request.cpu.unwrap_or(1.0),
        memory: request.memory.unwrap_or(1.0),
        nvidia_gpu: request.nvidia_gpu.unwrap_or(0) as i64,
        arguments: request.arguments.clone(),
        environment: cml_api::environment_to_string(&request.environment),
        timeout: request.timeout.unwrap_or(0),
        kill_on_timeout: request.kill_on_timeout.unwrap_or(false),
        schedule: request.schedule.trim().to_string(),
        timezone: if request.schedule.is_empty() {
            String::new()
        } else if request.timezone.is_empty() {
            cml_api::schedule::DEFAULT_TIMEZONE.into()
        } else {
            request.timezone.clone()
        },
        paused: request.paused.unwrap_or(false),
        parent_id,
        runtime_identifier,
        kernel: request.kernel.clone(),
        creator: ws.owner.clone(),
        created_at: now,
        updated_at: now,
    };
    validate(&ws, &job).await?;
    ws.store.insert_job(&job).await?;
    tracing::info!(job = %job.name, id = %job.id, "job created");
    Ok(Json(job.to_api(&project, &ws.owner)))
}

pub async fn update(
    State(ws): State<Arc<Workspace>>,
    Path((project_id, job_id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Json<Job>> {
    let patch: UpdateJob = parse_body(&body)?;
    let project = ws.project(&project_id).await?;
    let mut job = ws.job(&project.id, &job_id).await?;
    if let Some(v) = patch.name {
        job.name = v.trim().to_string();
    }
    if let Some(v) = patch.script {
        job.script = v.trim().to_string();
    }
    if let Some(v) = patch.cpu {
        job.cpu = v;
    }
    if let Some(v) = patch.memory {
        job.memory = v;
    }
    if let Some(v) = patch.nvidia_gpu {
        job.nvidia_gpu = v as i64;
    }
    if let Some(v) = patch.parent_id {
        job.parent_id = v;
    }
    if let Some(v) = patch.schedule {
        job.schedule = v.trim().to_string();
        // A job made scheduled by an update gets CML's default time zone (the field is output only).
        if !job.schedule.is_empty() && job.timezone.is_empty() {
            job.timezone = cml_api::schedule::DEFAULT_TIMEZONE.into();
        }
    }
    if let Some(v) = patch.timeout {
        job.timeout = v;
    }
    if let Some(v) = patch.kill_on_timeout {
        job.kill_on_timeout = v;
    }
    if let Some(v) = patch.arguments {
        job.arguments = v;
    }
    if let Some(v) = patch.runtime_identifier {
        job.runtime_identifier = v;
    }
    if let Some(v) = patch.environment {
        let map: std::collections::BTreeMap<String, String> = if v.trim().is_empty() {
            Default::default()
        } else {
            serde_json::from_str(&v)
                .map_err(|e| ApiError::invalid(format!("environment must be a JSON object of strings, as a string: {e}")))?
        };
        job.environment = cml_api::environment_to_string(&map);
    }
    job.updated_at = Utc::now();
    validate(&ws, &job).await?;
    ws.store.update_job(&job).await?;
    Ok(Json(job.to_api(&project, &ws.owner)))
}

pub async fn delete(
    State(ws): State<Arc<Workspace>>,
    Path((project_id, job_id)): Path<(String, String)>,
) -> ApiResult<Json<Empty>> {
    let project = ws.project(&project_id).await?;
    let job = ws.job(&project.id, &job_id).await?;
    if let Some(active) = ws.store.active_run(&job.id).await? {
        return Err(ApiError::precondition(format!(
            "job {:?} has an active run ({}); stop it before deleting the job",
            job.name, active.id
        )));
    }
    ws.store.delete_job(&job.id).await?;
    Ok(Json(Empty {}))
}

async fn validate(ws: &Workspace, job: &JobRow) -> ApiResult<()> {
    if job.name.is_empty() {
        return Err(ApiError::invalid("a job needs a name"));
    }
    if job.script.is_empty() {
        return Err(ApiError::invalid("a job needs a script (a path relative to the project)"));
    }
    if job.script.starts_with('/') || job.script.split('/').any(|c| c == "..") {
        return Err(ApiError::invalid("the script must be a path inside the project"));
    }
    if job.cpu <= 0.0 || job.memory <= 0.0 {
        return Err(ApiError::invalid("cpu and memory must be positive"));
    }
    if job.nvidia_gpu < 0 {
        return Err(ApiError::invalid("nvidia_gpu must not be negative"));
    }
    if job.timeout < 0 {
        return Err(ApiError::invalid("timeout must not be negative"));
    }
    if ws.runner.runtime(&job.runtime_identifier).is_none() {
        let known: Vec<_> = ws.runner.runtimes().iter().map(|r| r.identifier()).collect();
        return Err(ApiError::invalid(format!(
            "runtime {:?} is not available in this workspace; available: {}",
            job.runtime_identifier,
            known.join(", ")
        )));
    }
    if !job.schedule.is_empty() {
        cml_api::schedule::Schedule::parse(&job.schedule, &job.timezone).map_err(|e| ApiError::invalid(e.to_string()))?;
    }
    if !job.parent_id.is_empty() {
        if !job.schedule.is_empty() {
            return Err(ApiError::invalid("a dependent job (parent_id) cannot also have a schedule"));
        }
        // The parent must exist, and following parents must never lead back to this job.
        let mut current = job.parent_id.clone();
        let mut hops = 0;
        while !current.is_empty() {
            if current == job.id {
                return Err(ApiError::invalid("parent_id would make the job depend on itself"));
            }
            let Some(parent) = ws.store.job(&job.project_id, &current).await? else {
                if hops == 0 {
                    return Err(ApiError::invalid(format!("parent job {current:?} does not exist in this project")));
                }
                break;
            };
            current = parent.parent_id;
            hops += 1;
            if hops > 100 {
                return Err(ApiError::invalid("the dependency chain is too long"));
            }
        }
    }
    Ok(())
}
