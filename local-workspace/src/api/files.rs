use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use cml_api::{FileInfo, ListProjectFilesResponse};

use crate::error::{ApiError, ApiResult};
use crate::Workspace;

pub async fn list_root(State(ws): State<Arc<Workspace>>, Path(project_id): Path<String>) -> ApiResult<Json<ListProjectFilesResponse>> {
    list_path(&ws, &project_id, "").await
}

pub async fn list(
    State(ws): State<Arc<Workspace>>,
    Path((project_id, path)): Path<(String, String)>,
) -> ApiResult<Json<ListProjectFilesResponse>> {
    list_path(&ws, &project_id, &path).await
}

async fn list_path(ws: &Workspace, project_id: &str, path: &str) -> ApiResult<Json<ListProjectFilesResponse>> {
    let project = ws.project(project_id).await?;
    let full = resolve(&project.dir, path)?;
    let meta = tokio::fs::metadata(&full).await.map_err(|_| ApiError::not_found(format!("no file or directory {path:?} in the project")))?;
    let mut files = vec![];
    if meta.is_dir() {
        let mut entries = tokio::fs::read_dir(&full).await?;
        while let Some(entry) = entries.next_entry().await? {
            let meta = entry.metadata().await?;
            files.push(FileInfo {
                path: entry.file_name().to_string_lossy().into_owned(),
                is_dir: meta.is_dir(),
                file_size: if meta.is_dir() { 0 } else { meta.len() as i64 },
            });
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
    } else {
        files.push(FileInfo {
            path: full.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            is_dir: false,
            file_size: meta.len() as i64,
        });
    }
    Ok(Json(ListProjectFilesResponse { files }))
}

/// `POST …/files/{path}:download`: the file's raw bytes.
pub async fn download(State(ws): State<Arc<Workspace>>, Path((project_id, path)): Path<(String, String)>) -> ApiResult<Response> {
    let Some(path) = path.strip_suffix(":download") else {
        return Err(ApiError::not_found("files support POST {path}:download only"));
    };
    let project = ws.project(&project_id).await?;
    let full = resolve(&project.dir, path)?;
    match tokio::fs::metadata(&full).await {
        Ok(m) if m.is_file() => {}
        Ok(_) => return Err(ApiError::invalid(format!("{path:?} is a directory; only files can be downloaded"))),
        Err(_) => return Err(ApiError::not_found(format!("no file {path:?} in the project"))),
    }
    let bytes = tokio::fs::read(&full).await?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}

/// Maps a project-relative path to the file system, refusing anything outside the project.
fn resolve(project_dir: &str, path: &str) -> ApiResult<PathBuf> {
    crate::paths::inside(FsPath::new(project_dir), path).ok_or_else(|| ApiError::invalid(format!("{path:?} is not a path inside the project")))
}
