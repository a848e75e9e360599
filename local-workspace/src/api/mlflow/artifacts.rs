//! Artifact storage: the mlflow-artifacts routes over files under the workspace's artifact folder.

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::{MlflowError, Result};
use crate::Workspace;

fn artifact_path(ws: &Workspace, relative: &str) -> Result<PathBuf> {
    crate::paths::inside(&ws.artifacts_dir, relative).ok_or_else(|| MlflowError::invalid(format!("{relative:?} is not a valid artifact path")))
}

pub(super) async fn artifact_put(State(ws): State<Arc<Workspace>>, Path(path): Path<String>, bytes: Bytes) -> Result<Json<Value>> {
    let file = artifact_path(&ws, &path)?;
    if let Some(parent) = file.parent() {
        tokio::fs::create_dir_all(parent).await?;
    }
    tokio::fs::write(&file, &bytes).await?;
    Ok(Json(json!({})))
}

pub(super) async fn artifact_get(State(ws): State<Arc<Workspace>>, Path(path): Path<String>) -> Result<Response> {
    let file = artifact_path(&ws, &path)?;
    let bytes = tokio::fs::read(&file).await.map_err(|_| MlflowError::missing(format!("artifact {path:?} not found")))?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    pub path: Option<String>,
}

pub(super) async fn artifact_list(State(ws): State<Arc<Workspace>>, Query(q): Query<ListQuery>) -> Result<Json<Value>> {
    let dir = artifact_path(&ws, q.path.as_deref().unwrap_or(""))?;
    let Ok(mut entries) = tokio::fs::read_dir(&dir).await else {
        return Ok(Json(json!({})));
    };
    let mut files = vec![];
    while let Some(entry) = entries.next_entry().await? {
        let meta = entry.metadata().await?;
        let mut file = json!({"path": entry.file_name().to_string_lossy(), "is_dir": meta.is_dir()});
        if !meta.is_dir() {
            file["file_size"] = json!(meta.len());
        }
        files.push(file);
    }
    Ok(Json(json!({"files": files})))
}

