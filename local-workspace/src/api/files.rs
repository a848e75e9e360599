use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use cml_api::{FileInfo, ListProjectFilesResponse};

use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

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

/// `POST …/files/{path}:download`: the file's raw bytes, streamed (memory stays small whatever
/// the file's size). A `Range: bytes=…` header (`-N` for the last N bytes, `A-` or `A-B`) gets
/// 206 and only those bytes, so reading a log's tail costs its tail.
pub async fn download(State(ws): State<Arc<Workspace>>, Path((project_id, path)): Path<(String, String)>, headers: HeaderMap) -> ApiResult<Response> {
    let Some(path) = path.strip_suffix(":download") else {
        return Err(ApiError::not_found("files support POST {path}:download only"));
    };
    let project = ws.project(&project_id).await?;
    let full = resolve(&project.dir, path)?;
    let len = match tokio::fs::metadata(&full).await {
        Ok(m) if m.is_file() => m.len(),
        Ok(_) => return Err(ApiError::invalid(format!("{path:?} is a directory; only files can be downloaded"))),
        Err(_) => return Err(ApiError::not_found(format!("no file {path:?} in the project"))),
    };
    let mut file = tokio::fs::File::open(&full).await?;
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok()).and_then(|v| byte_range(v, len));
    let response = match range {
        Some((start, end)) => {
            file.seek(std::io::SeekFrom::Start(start)).await?;
            let body = Body::from_stream(ReaderStream::new(file.take(end - start + 1)));
            Response::builder()
                .status(StatusCode::PARTIAL_CONTENT)
                .header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{len}"))
                .header(header::CONTENT_LENGTH, end - start + 1)
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .body(body)
        }
        None => Response::builder()
            .header(header::CONTENT_LENGTH, len)
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(Body::from_stream(ReaderStream::new(file))),
    };
    Ok(response.expect("a valid response").into_response())
}

/// The inclusive byte range a `Range` header asks of a file of `len` bytes; `None` (answer the
/// whole file) for anything else: several ranges, other units, a range past the end.
fn byte_range(spec: &str, len: u64) -> Option<(u64, u64)> {
    let spec = spec.trim().strip_prefix("bytes=")?;
    let (first, last) = spec.split_once('-')?;
    if len == 0 || spec.contains(',') {
        return None;
    }
    match (first.trim(), last.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().ok().filter(|n| *n > 0)?;
            Some((len.saturating_sub(n), len - 1))
        }
        (first, "") => {
            let first: u64 = first.parse().ok()?;
            (first < len).then_some((first, len - 1))
        }
        (first, last) => {
            let (first, last): (u64, u64) = (first.parse().ok()?, last.parse().ok()?);
            (first <= last && first < len).then_some((first, last.min(len - 1)))
        }
    }
}

/// Maps a project-relative path to the file system, refusing anything outside the project.
fn resolve(project_dir: &str, path: &str) -> ApiResult<PathBuf> {
    crate::paths::inside(FsPath::new(project_dir), path).ok_or_else(|| ApiError::invalid(format!("{path:?} is not a path inside the project")))
}

#[cfg(test)]
mod tests {
    use super::byte_range;

    #[test]
    fn ranges_of_a_file() {
        assert_eq!(byte_range("bytes=-10", 100), Some((90, 99)), "the last ten bytes");
        assert_eq!(byte_range("bytes=-1000", 100), Some((0, 99)), "a suffix longer than the file is the file");
        assert_eq!(byte_range("bytes=10-", 100), Some((10, 99)));
        assert_eq!(byte_range("bytes=10-19", 100), Some((10, 19)));
        assert_eq!(byte_range("bytes=10-1000", 100), Some((10, 99)));
        for whole in ["bytes=100-", "bytes=-0", "bytes=5-4", "bytes=0-1,5-6", "items=0-1", "bytes=a-b", ""] {
            assert_eq!(byte_range(whole, 100), None, "{whole:?}");
        }
        assert_eq!(byte_range("bytes=-10", 0), None, "an empty file is answered whole");
    }
}
