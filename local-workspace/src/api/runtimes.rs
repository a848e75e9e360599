use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::error::ApiResult;
use crate::listing::{page, Keys, ListQuery};
use crate::Workspace;

const KEYS: Keys = Keys {
    filters: &["image_identifier", "editor", "kernel", "edition", "description", "full_version"],
    sorts: &["image_identifier", "editor", "kernel", "edition", "description", "full_version"],
    aliases: &[],
    dynamic: false,
};

pub async fn list(State(ws): State<Arc<Workspace>>, q: ListQuery) -> ApiResult<Json<Value>> {
    let items = ws.runner.runtimes().iter().map(|r| serde_json::to_value(r.api()).unwrap_or_default()).collect();
    let (runtimes, next) = page(items, &q, &KEYS)?;
    Ok(Json(json!({ "runtimes": runtimes, "next_page_token": next })))
}
