//! The MLflow REST subset real `mlflow` clients use (`mlflow-skinny` 3.x): experiments, runs,
//! logged models and artifacts. Jobs reach it through MLFLOW_TRACKING_URI, so `mlflow` in the job
//! scripts works unchanged — the same code that logs to CML's built-in tracking.
//!
//! Here: the routes and their handlers; `search` holds the filter grammar, `artifacts` the
//! artifact storage, `error` MLflow's error shape.

mod artifacts;
mod error;
mod search;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::ids::new_id;
use crate::tracking::{kv_list, map_to_kv, now_ms, ExperimentRow, FullRun, LoggedModelRow, MetricRow, RunRow, Tracking};
use crate::Workspace;
use error::{MlflowError, Result};
use search::Subject;

pub fn routes() -> Router<Arc<Workspace>> {
    let p = "/api/2.0/mlflow";
    Router::new()
        .route("/api/3.0/mlflow/server-info", get(server_info))
        .route(&format!("{p}/experiments/get-by-name"), get(experiment_by_name))
        .route(&format!("{p}/experiments/get"), get(experiment_get))
        .route(&format!("{p}/experiments/create"), post(experiment_create))
        .route(&format!("{p}/runs/create"), post(run_create))
        .route(&format!("{p}/runs/get"), get(run_get))
        .route(&format!("{p}/runs/update"), post(run_update))
        .route(&format!("{p}/runs/log-parameter"), post(log_param))
        .route(&format!("{p}/runs/log-metric"), post(log_metric))
        .route(&format!("{p}/runs/set-tag"), post(set_tag))
        .route(&format!("{p}/runs/delete-tag"), post(delete_tag))
        .route(&format!("{p}/runs/log-batch"), post(log_batch))
        .route(&format!("{p}/runs/log-inputs"), post(ignore_ok))
        .route(&format!("{p}/runs/outputs"), post(ignore_ok))
        .route(&format!("{p}/runs/search"), post(run_search))
        .route(&format!("{p}/experiments/search"), post(experiment_search))
        .route(&format!("{p}/metrics/get-history"), get(metric_history))
        .route(&format!("{p}/logged-models"), post(logged_model_create))
        .route(&format!("{p}/logged-models/search"), post(logged_model_search))
        .route(&format!("{p}/logged-models/{{model_id}}"), get(logged_model_get).patch(logged_model_finalize))
        .route(&format!("{p}/logged-models/{{model_id}}/tags"), patch(logged_model_tags))
        .route("/api/2.0/mlflow-artifacts/artifacts", get(artifacts::artifact_list))
        .route("/api/2.0/mlflow-artifacts/artifacts/{*path}", get(artifacts::artifact_get).put(artifacts::artifact_put))
        .route(&format!("{p}/{{*rest}}"), axum::routing::any(unknown_route))
        .route("/api/3.0/mlflow/{*rest}", axum::routing::any(unknown_route))
}

/// MLflow's error shape: `{"error_code": …, "message": …}`.
fn body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(if bytes.is_empty() { b"{}" } else { bytes }).map_err(|e| MlflowError::invalid(format!("malformed request body: {e}")))
}

/// MLflow's JSON may carry int64 as numbers or strings.
fn int(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

fn str_field(v: &Value, key: &str) -> String {
    match &v[key] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

// JSON shapes --------------------------------------------------------------------------------

fn experiment_json(e: &ExperimentRow) -> Value {
    json!({
        "experiment_id": e.id, "name": e.name, "artifact_location": e.artifact_location,
        "lifecycle_stage": e.lifecycle_stage, "creation_time": e.created_at, "last_update_time": e.updated_at,
        "tags": kv_list(&map_to_kv(&e.tags)),
    })
}

pub fn run_json(full: &FullRun) -> Value {
    let r = &full.run;
    let mut info = json!({
        "run_id": r.id, "run_uuid": r.id, "experiment_id": r.experiment_id, "run_name": r.name, "user_id": r.user_id,
        "status": r.status, "start_time": r.start_time, "artifact_uri": r.artifact_uri, "lifecycle_stage": r.lifecycle_stage,
    });
    if let Some(end) = r.end_time {
        info["end_time"] = json!(end);
    }
    json!({
        "info": info,
        "data": {
            "metrics": full.metrics.iter().map(metric_json).collect::<Vec<_>>(),
            "params": kv_list(&full.params),
            "tags": kv_list(&full.tags),
        },
        "inputs": {},
        "outputs": {"model_outputs": full.models.iter().map(|m| json!({"model_id": m.id, "step": 0})).collect::<Vec<_>>()},
    })
}

/// A metric as MLflow's JSON has it: NaN and the infinities as protobuf's strings.
fn metric_json(m: &MetricRow) -> Value {
    json!({"key": m.key, "value": cml_api::serde_double::to_json(m.value), "timestamp": m.timestamp, "step": m.step})
}

/// A logged model with the metric points linked to it.
async fn logged_model_json(tracking: &Tracking<'_>, m: &LoggedModelRow) -> Result<Value> {
    let metrics: Vec<Value> = tracking
        .logged_model_metrics(&m.id)
        .await?
        .iter()
        .map(|(run_id, metric)| {
            let mut v = metric_json(metric);
            v["run_id"] = json!(run_id);
            v["model_id"] = json!(m.id);
            v
        })
        .collect();
    Ok(json!({
        "info": {
            "model_id": m.id, "experiment_id": m.experiment_id, "name": m.name, "artifact_uri": m.artifact_location,
            "creation_timestamp_ms": m.created_at, "last_updated_timestamp_ms": m.updated_at, "status": m.status,
            "model_type": m.model_type, "source_run_id": m.source_run_id, "tags": kv_list(&map_to_kv(&m.tags)),
        },
        "data": {"params": kv_list(&map_to_kv(&m.params)), "metrics": metrics},
    }))
}

// Handlers -----------------------------------------------------------------------------------

async fn server_info() -> Json<Value> {
    Json(json!({"store_type": "SqlStore", "workspaces_enabled": false}))
}

async fn ignore_ok() -> Json<Value> {
    Json(json!({}))
}

#[derive(Deserialize)]
struct ByName {
    experiment_name: String,
}

async fn experiment_by_name(State(ws): State<Arc<Workspace>>, Query(q): Query<ByName>) -> Result<Json<Value>> {
    let e = Tracking(ws.store.pool()).experiment_by_name(&q.experiment_name).await?;
    let e = e.ok_or_else(|| MlflowError::missing(format!("Could not find experiment with name '{}'", q.experiment_name)))?;
    Ok(Json(json!({"experiment": experiment_json(&e)})))
}

#[derive(Deserialize)]
struct ById {
    experiment_id: String,
}

async fn experiment_get(State(ws): State<Arc<Workspace>>, Query(q): Query<ById>) -> Result<Json<Value>> {
    let e = Tracking(ws.store.pool()).experiment(&q.experiment_id).await?;
    let e = e.ok_or_else(|| MlflowError::missing(format!("No experiment with id {}", q.experiment_id)))?;
    Ok(Json(json!({"experiment": experiment_json(&e)})))
}

async fn experiment_create(State(ws): State<Arc<Workspace>>, bytes: Bytes) -> Result<Json<Value>> {
    let req: Value = body(&bytes)?;
    let name = str_field(&req, "name");
    let id = ws.create_experiment(&name, req["tags"].as_array().cloned().unwrap_or_default()).await?;
    Ok(Json(json!({"experiment_id": id})))
}

impl Workspace {
    /// Creates an experiment in the default project; used by MLflow and API v2.
    pub async fn create_experiment(&self, name: &str, tags: Vec<Value>) -> Result<String> {
        let name = name.trim();
        if name.is_empty() {
            return Err(MlflowError::invalid("an experiment needs a name"));
        }
        let tracking = Tracking(self.store.pool());
        if tracking.experiment_by_name(name).await?.is_some() {
            return Err(MlflowError::exists(format!("Experiment '{name}' already exists.")));
        }
        let id = new_id();
        let tags: BTreeMap<String, String> = tags.iter().map(|t| (str_field(t, "key"), str_field(t, "value"))).collect();
        let now = now_ms();
        tracking
            .insert_experiment(&ExperimentRow {
                id: id.clone(),
                project_id: self.default_project_id.clone(),
                name: name.to_string(),
                artifact_location: format!("mlflow-artifacts:/{id}"),
                lifecycle_stage: "active".into(),
                tags: serde_json::to_string(&tags).unwrap_or_default(),
                creator: self.owner.clone(),
                created_at: now,
                updated_at: now,
            })
            .await
            .map_err(|e| match e.as_database_error() {
                // Created by someone else since the check: answered as MLflow answers it.
                Some(db) if db.is_unique_violation() => MlflowError::exists(format!("Experiment '{name}' already exists.")),
                _ => e.into(),
            })?;
        Ok(id)
    }
}

async fn run_create(State(ws): State<Arc<Workspace>>, bytes: Bytes) -> Result<Json<Value>> {
    let req: Value = body(&bytes)?;
    let tracking = Tracking(ws.store.pool());
    let experiment_id = str_field(&req, "experiment_id");
    let experiment = tracking.experiment(&experiment_id).await?.ok_or_else(|| MlflowError::missing(format!("No experiment with id {experiment_id}")))?;
    let id = uuid_hex();
    let tags: Vec<(String, String)> = req["tags"].as_array().map(|a| a.iter().map(|t| (str_field(t, "key"), str_field(t, "value"))).collect()).unwrap_or_default();
    let mut name = str_field(&req, "run_name");
    if name.is_empty() {
        name = tags.iter().find(|(k, _)| k == "mlflow.runName").map(|(_, v)| v.clone()).unwrap_or_else(|| format!("run-{}", &id[..8]));
    }
    let run = RunRow {
        id: id.clone(),
        experiment_id: experiment.id.clone(),
        name: name.clone(),
        user_id: str_field(&req, "user_id"),
        status: "RUNNING".into(),
        start_time: int(&req["start_time"]).unwrap_or_else(now_ms),
        end_time: None,
        artifact_uri: format!("{}/{id}/artifacts", experiment.artifact_location),
        lifecycle_stage: "active".into(),
    };
    tracking.insert_run(&run).await?;
    for (k, v) in &tags {
        tracking.set_tag(&id, k, v).await?;
    }
    tracking.set_tag(&id, "mlflow.runName", &name).await?;
    let full = tracking.full_run(tracking.run(&id).await?.expect("just inserted")).await?;
    Ok(Json(json!({"run": run_json(&full)})))
}

#[derive(Deserialize)]
struct RunQuery {
    run_id: Option<String>,
    run_uuid: Option<String>,
}

async fn load_run(ws: &Workspace, id: &str) -> Result<RunRow> {
    Tracking(ws.store.pool()).run(id).await?.ok_or_else(|| MlflowError::missing(format!("Run with id={id} not found")))
}

async fn run_get(State(ws): State<Arc<Workspace>>, Query(q): Query<RunQuery>) -> Result<Json<Value>> {
    let id = q.run_id.or(q.run_uuid).unwrap_or_default();
    let run = load_run(&ws, &id).await?;
    let full = Tracking(ws.store.pool()).full_run(run).await?;
    Ok(Json(json!({"run": run_json(&full)})))
}

fn run_id_of(req: &Value) -> String {
    let id = str_field(req, "run_id");
    if id.is_empty() { str_field(req, "run_uuid") } else { id }
}

async fn run_update(State(ws): State<Arc<Workspace>>, bytes: Bytes) -> Result<Json<Value>> {
    let req: Value = body(&bytes)?;
    let id = run_id_of(&req);
    load_run(&ws, &id).await?;
    let status = req["status"].as_str();
    if let Some(s) = status {
        if !["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"].contains(&s) {
            return Err(MlflowError::invalid(format!("unknown run status {s}")));
        }
    }
    let name = req["run_name"].as_str().filter(|s| !s.is_empty());
    let tracking = Tracking(ws.store.pool());
    tracking.update_run(&id, status, int(&req["end_time"]), name).await?;
    if let Some(name) = name {
        tracking.set_tag(&id, "mlflow.runName", name).await?;
    }
    let full = tracking.full_run(load_run(&ws, &id).await?).await?;
    Ok(Json(json!({"run_info": run_json(&full)["info"]})))
}

async fn log_param(State(ws): State<Arc<Workspace>>, bytes: Bytes) -> Result<Json<Value>> {
    let req: Value = body(&bytes)?;
    let id = run_id_of(&req);
    load_run(&ws, &id).await?;
    Tracking(ws.store.pool()).set_param(&id, &str_field(&req, "key"), &str_field(&req, "value")).await?;
    Ok(Json(json!({})))
}

/// A metric point from a request, and the logged model it is linked to (MLflow 3's `model_id`).
fn metric_from(v: &Value) -> Result<(MetricRow, Option<String>)> {
    let value = cml_api::serde_double::from_json(&v["value"]);
    let model_id = Some(str_field(v, "model_id")).filter(|id| !id.is_empty());
    let metric = MetricRow {
        key: str_field(v, "key"),
        value: value.ok_or_else(|| MlflowError::invalid(format!("metric {:?} needs a numeric value (a number, \"NaN\", \"Infinity\" or \"-Infinity\"), not {}", str_field(v, "key"), v["value"])))?,
        timestamp: int(&v["timestamp"]).unwrap_or_else(now_ms),
        step: int(&v["step"]).unwrap_or(0),
    };
    Ok((metric, model_id))
}

async fn log_metric(State(ws): State<Arc<Workspace>>, bytes: Bytes) -> Result<Json<Value>> {
    let req: Value = body(&bytes)?;
    let id = run_id_of(&req);
    load_run(&ws, &id).await?;
    let (metric, model_id) = metric_from(&req)?;
    Tracking(ws.store.pool()).log_metric(&id, &metric, model_id.as_deref()).await?;
    Ok(Json(json!({})))
}

async fn set_tag(State(ws): State<Arc<Workspace>>, bytes: Bytes) -> Result<Json<Value>> {
    let req: Value = body(&bytes)?;
    let id = run_id_of(&req);
    load_run(&ws, &id).await?;
    Tracking(ws.store.pool()).set_tag(&id, &str_field(&req, "key"), &str_field(&req, "value")).await?;
    Ok(Json(json!({})))
}

async fn delete_tag(State(ws): State<Arc<Workspace>>, bytes: Bytes) -> Result<Json<Value>> {
    let req: Value = body(&bytes)?;
    let id = run_id_of(&req);
    Tracking(ws.store.pool()).delete_tag(&id, &str_field(&req, "key")).await?;
    Ok(Json(json!({})))
}

async fn log_batch(State(ws): State<Arc<Workspace>>, bytes: Bytes) -> Result<Json<Value>> {
    let req: Value = body(&bytes)?;
    let id = run_id_of(&req);
    load_run(&ws, &id).await?;
    let tracking = Tracking(ws.store.pool());
    for p in req["params"].as_array().into_iter().flatten() {
        tracking.set_param(&id, &str_field(p, "key"), &str_field(p, "value")).await?;
    }
    for t in req["tags"].as_array().into_iter().flatten() {
        tracking.set_tag(&id, &str_field(t, "key"), &str_field(t, "value")).await?;
    }
    for m in req["metrics"].as_array().into_iter().flatten() {
        let (metric, model_id) = metric_from(m)?;
        tracking.log_metric(&id, &metric, model_id.as_deref()).await?;
    }
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
struct HistoryQuery {
    run_id: Option<String>,
    run_uuid: Option<String>,
    metric_key: String,
}

async fn metric_history(State(ws): State<Arc<Workspace>>, Query(q): Query<HistoryQuery>) -> Result<Json<Value>> {
    let id = q.run_id.or(q.run_uuid).unwrap_or_default();
    let rows = Tracking(ws.store.pool()).metric_history(&id, &q.metric_key).await?;
    let metrics: Vec<Value> = rows.iter().map(metric_json).collect();
    Ok(Json(json!({"metrics": metrics})))
}

/// MLflow's paging: `max_results` (default 1000, at most 50,000) and an opaque token.
fn page_window(req: &Value, default: i64) -> Result<(usize, usize)> {
    let max = match &req["max_results"] {
        Value::Null => default,
        v => int(v).ok_or_else(|| MlflowError::invalid(format!("Invalid value {v} for parameter 'max_results'")))?,
    };
    if !(1..=50_000).contains(&max) {
        return Err(MlflowError::invalid(format!("Invalid value {max} for parameter 'max_results' supplied. It must be at most 50000 and at least 1")));
    }
    let offset = match req["page_token"].as_str().filter(|t| !t.is_empty()) {
        None => 0,
        Some(token) => token.parse().map_err(|_| MlflowError::invalid(format!("Invalid page token {token:?}")))?,
    };
    Ok((offset, max as usize))
}

fn paged<T>(items: Vec<T>, (offset, max): (usize, usize), field: &str, to_json: impl Fn(&T) -> Value) -> Value {
    let total = items.len();
    let page: Vec<Value> = items.iter().skip(offset).take(max).map(to_json).collect();
    let mut out = json!({ field: page });
    if offset + max < total {
        out["next_page_token"] = json!((offset + max).to_string());
    }
    out
}

/// MLflow's view types: active runs (the default), deleted ones, or all.
fn view_keeps(req: &Value, field: &str, lifecycle_stage: &str) -> Result<bool> {
    let view = match &req[field] {
        Value::Null => "ACTIVE_ONLY".to_string(),
        Value::Number(n) => match n.as_i64() {
            Some(1) => "ACTIVE_ONLY".into(),
            Some(2) => "DELETED_ONLY".into(),
            Some(3) => "ALL".into(),
            _ => String::new(),
        },
        Value::String(s) => s.clone(),
        _ => String::new(),
    };
    match view.as_str() {
        "ACTIVE_ONLY" => Ok(lifecycle_stage == "active"),
        "DELETED_ONLY" => Ok(lifecycle_stage == "deleted"),
        "ALL" => Ok(true),
        other => Err(MlflowError::invalid(format!("Invalid value {other:?} for parameter '{field}': use ACTIVE_ONLY, DELETED_ONLY or ALL"))),
    }
}

fn order_by_list(req: &Value) -> Vec<String> {
    req["order_by"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(String::from)).collect()
}

async fn run_search(State(ws): State<Arc<Workspace>>, bytes: Bytes) -> Result<Json<Value>> {
    let req: Value = body(&bytes)?;
    let ids: Vec<String> = req["experiment_ids"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(String::from)).collect();
    let filter = search::parse_filter(req["filter"].as_str().unwrap_or(""), Subject::Runs)?;
    let order = search::parse_order_by(&order_by_list(&req), Subject::Runs)?;
    let window = page_window(&req, 1000)?;
    let tracking = Tracking(ws.store.pool());
    let mut runs = vec![];
    for run in tracking.runs_of(&ids).await? {
        if !view_keeps(&req, "run_view_type", &run.lifecycle_stage)? {
            continue;
        }
        let full = tracking.full_run(run).await?;
        if search::run_matches(&filter, &full) {
            runs.push(full);
        }
    }
    search::sort_runs(&mut runs, &order);
    Ok(Json(paged(runs, window, "runs", run_json)))
}

async fn experiment_search(State(ws): State<Arc<Workspace>>, bytes: Bytes) -> Result<Json<Value>> {
    let req: Value = body(&bytes)?;
    let filter = search::parse_filter(req["filter"].as_str().unwrap_or(""), Subject::Experiments)?;
    let order = search::parse_order_by(&order_by_list(&req), Subject::Experiments)?;
    let window = page_window(&req, 1000)?;
    let mut found = vec![];
    for e in Tracking(ws.store.pool()).all_experiments().await? {
        if view_keeps(&req, "view_type", &e.lifecycle_stage)? && search::experiment_matches(&filter, &e) {
            found.push(e);
        }
    }
    search::sort_experiments(&mut found, &order);
    Ok(Json(paged(found, window, "experiments", experiment_json)))
}

/// Any other MLflow route: MLflow's error shape, so that a client can read what went wrong.
async fn unknown_route(uri: axum::http::Uri) -> MlflowError {
    MlflowError::no_endpoint(format!("No MLflow endpoint {} here; this workspace serves the tracking subset its jobs use", uri.path()))
}

async fn logged_model_create(State(ws): State<Arc<Workspace>>, bytes: Bytes) -> Result<Json<Value>> {
    let req: Value = body(&bytes)?;
    let tracking = Tracking(ws.store.pool());
    let experiment_id = str_field(&req, "experiment_id");
    let experiment = tracking.experiment(&experiment_id).await?.ok_or_else(|| MlflowError::missing(format!("No experiment with id {experiment_id}")))?;
    let id = format!("m-{}", uuid_hex());
    let pairs = |field: &str| -> String {
        let map: BTreeMap<String, String> = req[field].as_array().into_iter().flatten().map(|t| (str_field(t, "key"), str_field(t, "value"))).collect();
        serde_json::to_string(&map).unwrap_or_default()
    };
    let now = now_ms();
    let model = LoggedModelRow {
        id: id.clone(),
        experiment_id: experiment.id.clone(),
        name: str_field(&req, "name"),
        source_run_id: str_field(&req, "source_run_id"),
        model_type: str_field(&req, "model_type"),
        status: "LOGGED_MODEL_PENDING".into(),
        artifact_location: format!("{}/models/{id}/artifacts", experiment.artifact_location),
        tags: pairs("tags"),
        params: pairs("params"),
        created_at: now,
        updated_at: now,
    };
    tracking.insert_logged_model(&model).await?;
    Ok(Json(json!({"model": logged_model_json(&Tracking(ws.store.pool()), &model).await?})))
}

async fn load_model(ws: &Workspace, id: &str) -> Result<LoggedModelRow> {
    Tracking(ws.store.pool()).logged_model(id).await?.ok_or_else(|| MlflowError::missing(format!("Logged model with ID '{id}' not found")))
}

async fn logged_model_get(State(ws): State<Arc<Workspace>>, Path(id): Path<String>) -> Result<Json<Value>> {
    Ok(Json(json!({"model": logged_model_json(&Tracking(ws.store.pool()), &load_model(&ws, &id).await?).await?})))
}

async fn logged_model_finalize(State(ws): State<Arc<Workspace>>, Path(id): Path<String>, bytes: Bytes) -> Result<Json<Value>> {
    let req: Value = body(&bytes)?;
    let mut model = load_model(&ws, &id).await?;
    if let Some(status) = req["status"].as_str() {
        model.status = status.to_string();
    }
    model.updated_at = now_ms();
    Tracking(ws.store.pool()).update_logged_model(&model).await?;
    Ok(Json(json!({"model": logged_model_json(&Tracking(ws.store.pool()), &model).await?})))
}

async fn logged_model_tags(State(ws): State<Arc<Workspace>>, Path(id): Path<String>, bytes: Bytes) -> Result<Json<Value>> {
    let req: Value = body(&bytes)?;
    let mut model = load_model(&ws, &id).await?;
    let mut tags: BTreeMap<String, String> = serde_json::from_str(&model.tags).unwrap_or_default();
    for t in req["tags"].as_array().into_iter().flatten() {
        tags.insert(str_field(t, "key"), str_field(t, "value"));
    }
    model.tags = serde_json::to_string(&tags).unwrap_or_default();
    model.updated_at = now_ms();
    Tracking(ws.store.pool()).update_logged_model(&model).await?;
    Ok(Json(json!({})))
}

async fn logged_model_search(State(ws): State<Arc<Workspace>>, bytes: Bytes) -> Result<Json<Value>> {
    let req: Value = body(&bytes)?;
    let ids: Vec<String> = req["experiment_ids"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(String::from)).collect();
    let filter = search::parse_logged_model_filter(req["filter"].as_str().unwrap_or(""))?;
    let tracking = Tracking(ws.store.pool());
    let mut models = vec![];
    for m in tracking.logged_models_of(&ids).await? {
        if search::logged_model_matches(&filter, &m) {
            models.push(logged_model_json(&tracking, &m).await?);
        }
    }
    Ok(Json(json!({"models": models})))
}

fn uuid_hex() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..16).map(|_| format!("{:02x}", rng.random::<u8>())).collect()
}
