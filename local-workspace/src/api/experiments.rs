//! API v2 experiments and experiment runs, over the MLflow tracking store.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Json;
use chrono::{TimeZone, Utc};
use cml_api::{Experiment, ExperimentRun, ExperimentRunData, LogExperimentRunBatchRequest, Metric, RegisteredModelMetadata, Tag};
use serde_json::{json, Value};

use super::parse_body;
use crate::error::{ApiError, ApiResult};
use crate::listing::{page, Keys, ListQuery};
use crate::registry::Registry;
use crate::store::user;
use crate::tracking::{map_to_kv, now_ms, ExperimentRow, FullRun, MetricRow, RunRow, Tracking};
use crate::Workspace;

fn time(ms: i64) -> Option<chrono::DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms).single()
}

fn tags(pairs: &[(String, String)]) -> Vec<Tag> {
    pairs.iter().map(|(k, v)| Tag { key: k.clone(), value: v.clone() }).collect()
}

pub(crate) fn metrics(full: &FullRun) -> Vec<Metric> {
    full.metrics.iter().map(|m| Metric { key: m.key.clone(), value: m.value, timestamp: time(m.timestamp), step: m.step }).collect()
}

fn experiment_to_api(e: &ExperimentRow) -> Experiment {
    Experiment {
        id: e.id.clone(),
        project_id: e.project_id.clone(),
        name: e.name.clone(),
        artifact_location: e.artifact_location.clone(),
        created_at: time(e.created_at),
        updated_at: time(e.updated_at),
        tags: tags(&map_to_kv(&e.tags)),
        lifecycle_stage: e.lifecycle_stage.clone(),
        user: user(&e.creator),
    }
}

pub(crate) async fn run_to_api(ws: &Workspace, full: &FullRun) -> ApiResult<ExperimentRun> {
    let r = &full.run;
    let registry = Registry(ws.store.pool());
    let mut registered = vec![];
    for v in registry.versions_of_run(&r.id).await? {
        let name = registry.registered_model(&v.model_id).await?.map(|m| m.name).unwrap_or_default();
        registered.push(RegisteredModelMetadata {
            model_path: v.model_path.clone(),
            model_name: name,
            model_id: v.model_id.clone(),
            model_version_id: v.id.clone(),
            version_number: v.number as i32,
            run_id: v.run_id.clone(),
            created_at: Some(v.created_at),
        });
    }
    let files = full.models.iter().map(|m| cml_api::FileInfo { path: m.name.clone(), is_dir: true, file_size: 0 }).collect();
    Ok(ExperimentRun {
        id: r.id.clone(),
        name: r.name.clone(),
        experiment_id: r.experiment_id.clone(),
        user: user(if r.user_id.is_empty() { &ws.owner } else { &r.user_id }),
        status: format!("EXPERIMENT_RUN_{}", r.status),
        start_time: time(r.start_time),
        end_time: r.end_time.and_then(time),
        artifact_uri: r.artifact_uri.clone(),
        data: ExperimentRunData { metrics: metrics(full), params: tags(&full.params), tags: tags(&full.tags), files, registered_model_metadata: registered },
        inputs: Default::default(),
    })
}

async fn experiment(ws: &Workspace, project_id: &str, id: &str) -> ApiResult<ExperimentRow> {
    ws.project(project_id).await?;
    Tracking(ws.store.pool())
        .experiment(id)
        .await?
        .filter(|e| e.project_id == project_id)
        .ok_or_else(|| ApiError::not_found(format!("experiment {id:?} not found in project {project_id:?}")))
}

pub async fn list(State(ws): State<Arc<Workspace>>, Path(project_id): Path<String>, q: ListQuery) -> ApiResult<Json<Value>> {
    ws.project(&project_id).await?;
    let items = Tracking(ws.store.pool()).experiments(&project_id).await?.iter().map(|e| serde_json::to_value(experiment_to_api(e)).unwrap_or_default()).collect();
    let (experiments, next) = page(items, &q, &Keys {
        // Undocumented: what experiments have.
        filters: &["name", "user.username"],
        sorts: &["created_at", "name", "updated_at"],
        aliases: &[],
        dynamic: false,
    })?;
    Ok(Json(json!({"experiments": experiments, "next_page_token": next})))
}

pub async fn get(State(ws): State<Arc<Workspace>>, Path((project_id, id)): Path<(String, String)>) -> ApiResult<Json<Experiment>> {
    Ok(Json(experiment_to_api(&experiment(&ws, &project_id, &id).await?)))
}

pub async fn list_runs(
    State(ws): State<Arc<Workspace>>,
    Path((project_id, id)): Path<(String, String)>,
    q: ListQuery,
) -> ApiResult<Json<Value>> {
    let e = experiment(&ws, &project_id, &id).await?;
    let tracking = Tracking(ws.store.pool());
    let mut items = vec![];
    for run in tracking.runs_of(std::slice::from_ref(&e.id)).await?.into_iter().filter(|r| r.lifecycle_stage == "active") {
        let full = tracking.full_run(run).await?;
        items.push(serde_json::to_value(run_to_api(&ws, &full).await?).unwrap_or_default());
    }
    // Newest first unless a sort is given.
    items.sort_by(|a, b| b["start_time"].as_str().cmp(&a["start_time"].as_str()));
    let (runs, next) = page(items, &q, &Keys {
        filters: &["creator.email", "creator.name", "creator.username", "name", "status"],
        sorts: &["created_at", "creator.email", "creator.name", "creator.username", "name", "start_time"],
        // An experiment run's creator is its `user`; it was created when it started.
        aliases: &[("creator.email", "user.email"), ("creator.name", "user.name"), ("creator.username", "user.username"), ("created_at", "start_time")],
        dynamic: true,
    })?;
    Ok(Json(json!({"experiment_runs": runs, "next_page_token": next})))
}

async fn experiment_run(ws: &Workspace, project_id: &str, id: &str, run_id: &str) -> ApiResult<RunRow> {
    let e = experiment(ws, project_id, id).await?;
    Tracking(ws.store.pool())
        .run(run_id)
        .await?
        .filter(|r| r.experiment_id == e.id)
        .ok_or_else(|| ApiError::not_found(format!("experiment run {run_id:?} not found in experiment {id:?}")))
}

pub async fn get_run(
    State(ws): State<Arc<Workspace>>,
    Path((project_id, id, run_id)): Path<(String, String, String)>,
) -> ApiResult<Json<ExperimentRun>> {
    let run = experiment_run(&ws, &project_id, &id, &run_id).await?;
    let full = Tracking(ws.store.pool()).full_run(run).await?;
    Ok(Json(run_to_api(&ws, &full).await?))
}

/// `POST …/runs/{run_id}:logbatch` (`LogExperimentRunBatch`): values are stored exactly as sent.
pub async fn run_method(
    State(ws): State<Arc<Workspace>>,
    Path((project_id, id, run_method)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let Some(run_id) = run_method.strip_suffix(":logbatch") else {
        return Err(ApiError::unimplemented(format!("POST …/runs/{run_method} is not an operation of this workspace (it offers {{run_id}}:logbatch)")));
    };
    let run = experiment_run(&ws, &project_id, &id, run_id).await?;
    let request: LogExperimentRunBatchRequest = parse_body(&body)?;
    if let Some(blank) = request.metrics.iter().map(|m| &m.key).chain(request.params.iter().map(|p| &p.key)).chain(request.tags.iter().map(|t| &t.key)).find(|k| k.trim().is_empty()) {
        return Err(ApiError::invalid(format!("every metric, param and tag needs a key ({blank:?} is empty)")));
    }
    let tracking = Tracking(ws.store.pool());
    for p in &request.params {
        tracking.set_param(&run.id, &p.key, &p.value).await?;
    }
    for t in &request.tags {
        tracking.set_tag(&run.id, &t.key, &t.value).await?;
    }
    for m in &request.metrics {
        let timestamp = m.timestamp.map(|t| t.timestamp_millis()).unwrap_or_else(now_ms);
        tracking.log_metric(&run.id, &MetricRow { key: m.key.clone(), value: m.value, timestamp, step: m.step }, None).await?;
    }
    Ok(Json(json!({})))
}
