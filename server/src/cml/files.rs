//! Runtimes and project files (a file's tail read with bounded memory).

use bytes::Bytes;
use cml_api::*;
use reqwest::Method;
use serde_json::Value;

use super::{CmlClient, CmlResult};

impl CmlClient {
    /// Runtimes matching every given `(key, value)` (keys: kernel, edition, editor, …), all pages.
    pub async fn list_runtimes(&self, filter: &[(&str, &str)]) -> CmlResult<Vec<Runtime>> {
        let mut params = vec![];
        if !filter.is_empty() {
            let map: serde_json::Map<String, Value> =
                filter.iter().map(|(k, v)| (k.to_string(), Value::String(v.to_string()))).collect();
            params.push(("search_filter", Value::Object(map).to_string()));
        }
        let runtimes: Vec<Runtime> = self.list_all(&["runtimes"], &params, "runtimes", "list_runtimes").await?;
        // The server matches substrings ("Python 3.1" would match "Python 3.11"): keep exact matches.
        Ok(runtimes
            .into_iter()
            .filter(|r| {
                let value = serde_json::to_value(r).unwrap_or_default();
                filter.iter().all(|(k, v)| value.get(*k).and_then(Value::as_str) == Some(*v))
            })
            .collect())
    }

    pub async fn list_project_files(&self, project_id: &str, path: &str) -> CmlResult<ListProjectFilesResponse> {
        let mut segments = vec!["projects", project_id, "files"];
        segments.extend(path.split('/').filter(|s| !s.is_empty()));
        if segments.len() == 3 {
            segments.push("");
        }
        self.call(Method::GET, &segments, &[], None::<&()>, "list_project_files").await
    }

    /// Asks for a project file (`…/files/<dirs>/<name>:download`); the body is the file, or its
    /// last `tail` bytes where the workspace answers a range (others send the whole file).
    async fn open_project_file(&self, project_id: &str, path: &str, tail: Option<usize>) -> CmlResult<reqwest::Response> {
        let mut parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let last = format!("{}:download", parts.pop().unwrap_or_default());
        let mut segments = vec!["projects", project_id, "files"];
        segments.extend(parts);
        segments.push(&last);
        let range: Vec<_> = tail.map(|n| (reqwest::header::RANGE, format!("bytes=-{n}"))).into_iter().collect();
        self.send(Method::POST, &segments, &[], &range, None::<&()>, "download_project_file").await
    }

    pub async fn download_project_file(&self, project_id: &str, path: &str) -> CmlResult<Bytes> {
        let response = self.open_project_file(project_id, path, None).await?;
        self.read_body(response, "download_project_file").await.map(Bytes::from)
    }

    /// The last `max` bytes of a project file, read as a stream: memory stays bounded by `max`
    /// whatever the file's size.
    pub async fn download_project_file_tail(&self, project_id: &str, path: &str, max: usize) -> CmlResult<Vec<u8>> {
        use futures_util::StreamExt;
        let response = self.open_project_file(project_id, path, Some(max)).await?;
        let mut stream = response.bytes_stream();
        let mut tail: Vec<u8> = Vec::with_capacity(max.min(64 * 1024));
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.transport_error(e, "download_project_file"))?;
            let chunk = &chunk[chunk.len().saturating_sub(max)..];
            let keep = max - chunk.len();
            if tail.len() > keep {
                tail.drain(..tail.len() - keep);
            }
            tail.extend_from_slice(chunk);
        }
        Ok(tail)
    }
}
