//! API v2 model registry: registering an experiment run's model adds a version.

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Json;
use chrono::Utc;
use cml_api::{CreateRegisteredModelRequest, MlflowMetadata, RegisteredModel, RegisteredModelVersion, Tag};
use serde_json::{json, Value};

use super::parse_body;
use crate::error::{ApiError, ApiResult};
use crate::ids::new_id;
use crate::listing::{page, Keys, ListQuery};
use crate::registry::{Registry, RegisteredModelRow, VersionRow};
use crate::tracking::Tracking;
use crate::Workspace;

async fn version_to_api(ws: &Workspace, v: &VersionRow) -> ApiResult<RegisteredModelVersion> {
    let tracking = Tracking(ws.store.pool());
    let mlflow = match tracking.run(&v.run_id).await? {
        Some(run) => {
            let full = tracking.full_run(run).await?;
            let kv = |pairs: &[(String, String)]| pairs.iter().map(|(k, v)| Tag { key: k.clone(), value: v.clone() }).collect();
            MlflowMetadata {
                experiment_id: v.experiment_id.clone(),
                run_id: v.run_id.clone(),
                metrics: super::experiments::metrics(&full),
                params: kv(&full.params),
                tags: kv(&full.tags),
            }
        }
        None => MlflowMetadata { experiment_id: v.experiment_id.clone(), run_id: v.run_id.clone(), ..Default::default() },
    };
    Ok(v.to_api(mlflow, &ws.owner, &ws.url))
}

async fn model_to_api(ws: &Workspace, m: &RegisteredModelRow) -> ApiResult<RegisteredModel> {
    let rows = Registry(ws.store.pool()).versions(&m.id).await?;
    let mut versions = vec![];
    for v in &rows {
        versions.push(version_to_api(ws, v).await?);
    }
    Ok(m.to_api(versions, rows.len()))
}

/// Where a run's model lives: the MLflow 3 logged model named `model_path`, or the run's own
/// artifact folder of that name.
async fn model_files(ws: &Workspace, run_id: &str, model_path: &str) -> ApiResult<PathBuf> {
    let tracking = Tracking(ws.store.pool());
    let run = tracking.run(run_id).await?.ok_or_else(|| ApiError::not_found(format!("experiment run {run_id:?} not found")))?;
    let full = tracking.full_run(run).await?;
    let mut candidates: Vec<String> = full.models.iter().filter(|m| m.name == model_path).map(|m| m.artifact_location.clone()).collect();
    candidates.push(format!("{}/{}", full.run.artifact_uri, model_path.trim_matches('/')));
    for uri in candidates {
        if let Some(relative) = uri.strip_prefix("mlflow-artifacts:/") {
            let dir = ws.artifacts_dir.join(relative.trim_start_matches('/'));
            if dir.join("MLmodel").is_file() {
                return Ok(dir);
            }
        }
    }
    Err(ApiError::invalid(format!("experiment run {run_id} has no MLflow model at {model_path:?} (no MLmodel file)")))
}

pub async fn create(State(ws): State<Arc<Workspace>>, body: Bytes) -> ApiResult<Json<RegisteredModel>> {
    let req: CreateRegisteredModelRequest = parse_body(&body)?;
    let name = req.model_name.trim();
    if name.is_empty() || req.run_id.is_empty() || req.model_path.is_empty() {
        return Err(ApiError::invalid("model_name, run_id and model_path are required"));
    }
    let project_id = if req.project_id.is_empty() { ws.default_project_id.clone() } else { req.project_id.clone() };
    ws.project(&project_id).await?;
    let source = model_files(&ws, &req.run_id, &req.model_path).await?;
    let run = Tracking(ws.store.pool()).run(&req.run_id).await?.expect("model_files found it");
    if !req.experiment_id.is_empty() && req.experiment_id != run.experiment_id {
        return Err(ApiError::invalid(format!("run {} belongs to experiment {}, not {}", run.id, run.experiment_id, req.experiment_id)));
    }

    let registry = Registry(ws.store.pool());
    let now = Utc::now();
    let model = registry
        .registered_model_named(&RegisteredModelRow { id: new_id(), name: name.into(), description: req.description.clone(), creator: ws.owner.clone(), created_at: now, updated_at: now })
        .await?;
    let id = new_id();
    let target = ws.data_dir.join("registry").join(&model.id).join(&id);
    crate::serving::copy_dir(&source, &target)?;
    let mut version = VersionRow {
        id,
        model_id: model.id.clone(),
        number: 0,
        project_id,
        experiment_id: run.experiment_id.clone(),
        run_id: run.id.clone(),
        model_path: req.model_path.clone(),
        artifact_dir: target.to_string_lossy().into_owned(),
        status: "REGISTERED".into(),
        notes: req.notes.clone(),
        creator: ws.owner.clone(),
        created_at: now,
        updated_at: now,
    };
    registry.insert_version(&mut version).await?;
    tracing::info!(model = %model.name, version = version.number, run = %run.id, "model version registered");
    let model = registry.registered_model(&model.id).await?.expect("exists");
    Ok(Json(model_to_api(&ws, &model).await?))
}

pub async fn list(State(ws): State<Arc<Workspace>>, q: ListQuery) -> ApiResult<Json<Value>> {
    let registry = Registry(ws.store.pool());
    let mut items = vec![];
    for m in registry.registered_models().await? {
        let count = registry.versions(&m.id).await?.len();
        let mut value = serde_json::to_value(m.to_api(vec![], count)).unwrap_or_default();
        value.as_object_mut().map(|o| o.remove("model_versions"));
        value["model_name"] = json!(m.name);
        items.push(value);
    }
    let (models, next) = page(items, &q, &Keys {
        filters: &["model_name", "creator_id"],
        // The documented list is the jobs' one; registered models have these.
        sorts: &["created_at", "creator.email", "creator.name", "creator.username", "name", "updated_at"],
        aliases: &[("model_name", "name"), ("creator_id", "creator.username")],
        dynamic: false,
    })?;
    let models: Vec<Value> = models
        .into_iter()
        .map(|mut v| {
            v.as_object_mut().map(|o| o.remove("model_name"));
            v
        })
        .collect();
    Ok(Json(json!({"models": models, "next_page_token": next})))
}

/// What a registered model's versions are paged by (`GetRegisteredModel` lists them).
const VERSION_KEYS: Keys = Keys {
    filters: &["version_number", "creator_id"],
    sorts: &["created_at", "updated_at", "versions", "version_number", "name", "status", "creator.username", "creator.name", "creator.email"],
    aliases: &[
        ("name", "version_name"),
        ("version_number", "number"),
        ("versions", "number"),
        ("creator_id", "user.username"),
        ("creator.username", "user.username"),
        ("creator.name", "user.name"),
        ("creator.email", "user.email"),
    ],
    dynamic: false,
};

pub async fn get(State(ws): State<Arc<Workspace>>, Path(model_id): Path<String>, q: ListQuery) -> ApiResult<Json<RegisteredModel>> {
    let model = Registry(ws.store.pool()).registered_model(&model_id).await?.ok_or_else(|| ApiError::not_found(format!("registered model {model_id:?} not found")))?;
    let mut answer = model_to_api(&ws, &model).await?;
    // One page of its versions, as CML pages them; `count` stays the model's whole count.
    let versions = answer.model_versions.iter().map(|v| serde_json::to_value(v).unwrap_or_default()).collect();
    let (page_of, next) = page(versions, &q, &VERSION_KEYS)?;
    answer.model_versions = page_of.into_iter().filter_map(|v| serde_json::from_value(v).ok()).collect();
    answer.next_page_token = next;
    Ok(Json(answer))
}

pub async fn get_version(State(ws): State<Arc<Workspace>>, Path((model_id, version_id)): Path<(String, String)>) -> ApiResult<Json<RegisteredModelVersion>> {
    let version = Registry(ws.store.pool())
        .version(&version_id)
        .await?
        .filter(|v| v.model_id == model_id)
        .ok_or_else(|| ApiError::not_found(format!("version {version_id:?} of registered model {model_id:?} not found")))?;
    Ok(Json(version_to_api(&ws, &version).await?))
}
