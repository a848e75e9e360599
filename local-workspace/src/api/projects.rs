use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Json;
use cml_api::{ListProjectsResponse, Project, ProjectPermissions, ValidateApiKeyRequest, ValidateApiKeyResponse};
use serde_json::Value;

use super::parse_body;
use crate::error::{ApiError, ApiResult};
use crate::listing::{page, Keys, ListQuery};
use crate::store::{slug, user, ProjectRow};
use crate::Workspace;

pub(crate) fn to_api(p: &ProjectRow, owner: &str) -> Project {
    Project {
        id: p.id.clone(),
        name: p.name.clone(),
        owner: user(owner),
        creator: user(owner),
        description: p.description.clone(),
        visibility: "private".into(),
        default_engine_type: "ml_runtime".into(),
        created_at: Some(p.created_at),
        updated_at: Some(p.updated_at),
        creation_status: "success".into(),
        permissions: ProjectPermissions { read: true, write: true, admin: true, business_user: true, operator: true, inherit: false },
        environment: "{}".into(),
        slug: slug(&p.name),
    }
}

const KEYS: Keys = Keys {
    filters: &["creator.email", "creator.name", "creator.username", "description", "name", "owner.email", "owner.name", "owner.username"],
    sorts: &["created_at", "creator.email", "creator.name", "creator.username", "description", "name", "owner.email", "owner.name", "owner.username", "updated_at"],
    aliases: &[],
    dynamic: false,
};

pub async fn list(State(ws): State<Arc<Workspace>>, q: ListQuery) -> ApiResult<Json<Value>> {
    let items = ws.store.projects().await?.iter().map(|p| serde_json::to_value(to_api(p, &ws.owner)).unwrap_or_default()).collect();
    let (projects, next) = page(items, &q, &KEYS)?;
    let response = ListProjectsResponse { projects: vec![], next_page_token: next };
    let mut body = serde_json::to_value(response).unwrap_or_default();
    body["projects"] = Value::Array(projects);
    Ok(Json(body))
}

pub async fn get(State(ws): State<Arc<Workspace>>, Path(project_id): Path<String>) -> ApiResult<Json<Project>> {
    let project = ws.project(&project_id).await?;
    Ok(Json(to_api(&project, &ws.owner)))
}

pub async fn validate_key(State(ws): State<Arc<Workspace>>, body: Bytes) -> ApiResult<Json<ValidateApiKeyResponse>> {
    let request: ValidateApiKeyRequest = parse_body(&body)?;
    match request.audience.as_str() {
        "" | "API" | "Application" => Ok(Json(ValidateApiKeyResponse {
            valid: true,
            username: ws.owner.clone(),
            message: "API key is valid for the given audience".into(),
        })),
        other => Err(ApiError::invalid(format!("unknown audience {other:?}; use \"API\" or \"Application\""))),
    }
}
