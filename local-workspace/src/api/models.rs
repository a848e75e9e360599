//! API v2 models, model builds and model deployments, and the model endpoint (`POST /model`).

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use cml_api::{CreateModelBuildRequest, CreateModelDeploymentRequest, CreateModelRequest, Model, ModelBuild, ModelDeployment};
use serde_json::{json, Value};

use super::parse_body;
use crate::error::{ApiError, ApiResult};
use crate::ids::{new_api_key, new_id};
use crate::listing::{page, Keys, ListQuery};
use crate::registry::{BuildRow, DeploymentRow, ModelRow, Registry};
use crate::serving::PredictError;
use crate::Workspace;

async fn model(ws: &Workspace, project_id: &str, id: &str) -> ApiResult<ModelRow> {
    Registry(ws.store.pool()).model(project_id, id).await?.ok_or_else(|| ApiError::not_found(format!("model {id:?} not found in project {project_id:?}")))
}

async fn build(ws: &Workspace, project_id: &str, model_id: &str, id: &str) -> ApiResult<BuildRow> {
    model(ws, project_id, model_id).await?;
    Registry(ws.store.pool()).build(model_id, id).await?.ok_or_else(|| ApiError::not_found(format!("build {id:?} not found for model {model_id:?}")))
}

async fn to_api(ws: &Workspace, m: &ModelRow) -> ApiResult<Model> {
    Ok(m.to_api(ws.project(&m.project_id).await?.short()))
}

pub async fn list(State(ws): State<Arc<Workspace>>, Path(project_id): Path<String>, q: ListQuery) -> ApiResult<Json<Value>> {
    ws.project(&project_id).await?;
    let mut items = vec![];
    for m in Registry(ws.store.pool()).models(&project_id).await? {
        items.push(serde_json::to_value(to_api(&ws, &m).await?).unwrap_or_default());
    }
    let (models, next) = page(items, &q, &Keys {
        filters: &["auth_enabled", "creator.email", "creator.name", "creator.username", "description", "name"],
        sorts: &["auth_enabled", "created_at", "creator.email", "creator.name", "creator.username", "description", "name", "updated_at"],
        aliases: &[],
        dynamic: false,
    })?;
    Ok(Json(json!({"models": models, "next_page_token": next})))
}

pub async fn get(State(ws): State<Arc<Workspace>>, Path((project_id, id)): Path<(String, String)>) -> ApiResult<Json<Model>> {
    let m = model(&ws, &project_id, &id).await?;
    Ok(Json(to_api(&ws, &m).await?))
}

pub async fn create(State(ws): State<Arc<Workspace>>, Path(project_id): Path<String>, body: Bytes) -> ApiResult<Json<Model>> {
    let req: CreateModelRequest = parse_body(&body)?;
    ws.project(&project_id).await?;
    if req.name.trim().is_empty() {
        return Err(ApiError::invalid("a model needs a name"));
    }
    if !req.registered_model_id.is_empty() && Registry(ws.store.pool()).registered_model(&req.registered_model_id).await?.is_none() {
        return Err(ApiError::invalid(format!("registered model {:?} does not exist", req.registered_model_id)));
    }
    let now = Utc::now();
    let m = ModelRow {
        id: new_id(),
        project_id,
        name: req.name.trim().into(),
        description: req.description.clone(),
        access_key: new_api_key().split('.').next().unwrap_or_default().to_string(),
        auth_enabled: !req.disable_authentication,
        registered_model_id: req.registered_model_id.clone(),
        creator: ws.owner.clone(),
        created_at: now,
        updated_at: now,
    };
    Registry(ws.store.pool()).insert_model(&m).await?;
    Ok(Json(to_api(&ws, &m).await?))
}

pub async fn list_builds(
    State(ws): State<Arc<Workspace>>,
    Path((project_id, model_id)): Path<(String, String)>,
    q: ListQuery,
) -> ApiResult<Json<Value>> {
    model(&ws, &project_id, &model_id).await?;
    let items = Registry(ws.store.pool()).builds(&model_id).await?.iter().map(|b| serde_json::to_value(b.to_api()).unwrap_or_default()).collect();
    let (builds, next) = page(items, &q, &Keys {
        filters: &["comment", "creator.email", "creator.name", "creator.username", "crn", "status"],
        sorts: &["built_at", "comment", "created_at", "creator.email", "creator.name", "creator.username", "crn", "status", "updated_at"],
        aliases: &[],
        dynamic: false,
    })?;
    Ok(Json(json!({"model_builds": builds, "next_page_token": next})))
}

pub async fn get_build(State(ws): State<Arc<Workspace>>, Path((project_id, model_id, id)): Path<(String, String, String)>) -> ApiResult<Json<ModelBuild>> {
    Ok(Json(build(&ws, &project_id, &model_id, &id).await?.to_api()))
}

pub async fn create_build(State(ws): State<Arc<Workspace>>, Path((project_id, model_id)): Path<(String, String)>, body: Bytes) -> ApiResult<Json<ModelBuild>> {
    let req: CreateModelBuildRequest = parse_body(&body)?;
    let m = model(&ws, &project_id, &model_id).await?;
    if req.registered_model_version_id.is_empty() {
        return Err(ApiError::invalid("the local workspace builds models from the registry: set registered_model_version_id"));
    }
    let version = Registry(ws.store.pool())
        .version(&req.registered_model_version_id)
        .await?
        .ok_or_else(|| ApiError::invalid(format!("registered model version {:?} does not exist", req.registered_model_version_id)))?;
    let runtime = if req.runtime_identifier.is_empty() { ws.runner.default_runtime().identifier().to_string() } else { req.runtime_identifier.clone() };
    if ws.runner.runtime(&runtime).is_none() {
        return Err(ApiError::invalid(format!("runtime {runtime:?} is not available in this workspace")));
    }
    let now = Utc::now();
    let b = BuildRow {
        id: new_id(),
        model_id: m.id.clone(),
        project_id,
        registered_model_version_id: version.id.clone(),
        runtime_identifier: runtime,
        comment: req.comment.clone(),
        status: "pending".into(),
        message: String::new(),
        creator: ws.owner.clone(),
        created_at: now,
        updated_at: now,
        built_at: None,
    };
    Registry(ws.store.pool()).insert_build(&b).await?;
    ws.serving.start_build(b.clone(), PathBuf::from(&version.artifact_dir));
    Ok(Json(b.to_api()))
}

pub async fn list_deployments(
    State(ws): State<Arc<Workspace>>,
    Path((project_id, model_id, build_id)): Path<(String, String, String)>,
    q: ListQuery,
) -> ApiResult<Json<Value>> {
    build(&ws, &project_id, &model_id, &build_id).await?;
    let items = Registry(ws.store.pool()).deployments(&build_id).await?.iter().map(|d| serde_json::to_value(d.to_api()).unwrap_or_default()).collect();
    let (deployments, next) = page(items, &q, &Keys {
        // Undocumented (the documented sort list is empty): what deployments have.
        filters: &["status"],
        sorts: &["created_at", "status", "updated_at"],
        aliases: &[],
        dynamic: false,
    })?;
    Ok(Json(json!({"model_deployments": deployments, "next_page_token": next})))
}

pub async fn create_deployment(
    State(ws): State<Arc<Workspace>>,
    Path((project_id, model_id, build_id)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult<Json<ModelDeployment>> {
    let req: CreateModelDeploymentRequest = parse_body(&body)?;
    let b = build(&ws, &project_id, &model_id, &build_id).await?;
    if b.status != "built" {
        return Err(ApiError::precondition(format!("build {} is {:?}; only a built build can be deployed", b.id, b.status)));
    }
    let now = Utc::now();
    let d = DeploymentRow {
        id: new_id(),
        model_id,
        build_id,
        project_id,
        cpu: req.cpu.unwrap_or(1.0),
        memory: req.memory.unwrap_or(2.0),
        replicas: req.replicas.unwrap_or(1).max(1) as i64,
        environment: cml_api::environment_to_string(&req.environment),
        status: "pending".into(),
        message: String::new(),
        deployer: ws.owner.clone(),
        created_at: now,
        updated_at: now,
        stopped_at: None,
    };
    Registry(ws.store.pool()).insert_deployment(&d).await?;
    ws.serving.start_deployment(d.clone(), b);
    Ok(Json(d.to_api()))
}

/// `GET …/deployments/{id}`; `POST …/deployments/{id}:stop` and `:restart`.
pub async fn get_deployment(
    State(ws): State<Arc<Workspace>>,
    Path((project_id, model_id, build_id, id)): Path<(String, String, String, String)>,
) -> ApiResult<Json<ModelDeployment>> {
    build(&ws, &project_id, &model_id, &build_id).await?;
    let d = Registry(ws.store.pool()).deployment(&build_id, &id).await?.ok_or_else(|| ApiError::not_found(format!("deployment {id:?} not found")))?;
    Ok(Json(d.to_api()))
}

pub async fn deployment_method(
    State(ws): State<Arc<Workspace>>,
    Path((project_id, model_id, build_id, id_method)): Path<(String, String, String, String)>,
) -> ApiResult<Json<ModelDeployment>> {
    let (id, method) = id_method
        .split_once(':')
        .filter(|(_, method)| matches!(*method, "stop" | "restart"))
        .ok_or_else(|| ApiError::unimplemented(format!("POST …/deployments/{id_method} is not an operation: use {{deployment_id}}:stop or :restart")))?;
    let b = build(&ws, &project_id, &model_id, &build_id).await?;
    let registry = Registry(ws.store.pool());
    let d = registry.deployment(&build_id, id).await?.ok_or_else(|| ApiError::not_found(format!("deployment {id:?} not found")))?;
    if method == "stop" {
        if !matches!(d.status.as_str(), "deployed" | "deploying" | "pending") {
            return Err(ApiError::precondition(format!("deployment {id} is {}, not running", d.status)));
        }
        ws.serving.stop(&d).await.map_err(|e| ApiError::new(crate::error::Code::Internal, e.to_string()))?;
    } else {
        ws.serving.stop(&d).await.map_err(|e| ApiError::new(crate::error::Code::Internal, e.to_string()))?;
        registry.set_deployment_status(&d.id, "pending", "").await?;
        ws.serving.start_deployment(d.clone(), b);
    }
    let d = registry.deployment(&build_id, id).await?.expect("exists");
    Ok(Json(d.to_api()))
}

/// `POST /model`: CML's model protocol.
pub async fn predict(State(ws): State<Arc<Workspace>>, headers: HeaderMap, body: Bytes) -> Response {
    let fail = |status: StatusCode, message: String| (status, Json(json!({"success": false, "errors": [message]}))).into_response();
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return fail(StatusCode::BAD_REQUEST, "the body must be JSON: {\"accessKey\": …, \"request\": {…}}".into());
    };
    let Some(key) = request["accessKey"].as_str() else {
        return fail(StatusCode::BAD_REQUEST, "accessKey is missing".into());
    };
    let bearer_ok = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|k| k.trim() == ws.api_key);
    match ws.serving.predict(key, bearer_ok, request["request"].clone()).await {
        Ok(answer) => Json(answer).into_response(),
        Err(e @ PredictError::UnknownKey) => fail(StatusCode::NOT_FOUND, e.to_string()),
        Err(e @ PredictError::Unauthenticated) => fail(StatusCode::UNAUTHORIZED, e.to_string()),
        Err(e @ PredictError::NotDeployed) => fail(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        Err(e @ PredictError::Model(_)) => fail(StatusCode::BAD_REQUEST, e.to_string()),
    }
}
