//! The CML API v2 client: the only way Lakeline talks to a workspace, local or real.
//!
//! GET requests are retried on 5xx, 429, timeouts and connection failures with bounded
//! exponential backoff; nothing else is retried (a duplicated job run is worse than an error).
//! Every call has a timeout. Lists follow `next_page_token` to the end.

mod error;
mod experiments;
mod files;
mod job_runs;
mod jobs;
mod models;
mod projects;
mod registry;

use std::time::Duration;

use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

pub use error::{CmlError, CmlResult};

/// An API key. Its `Debug` and `Display` never show it.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into().trim().to_string())
    }
    fn bearer(&self) -> String {
        format!("Bearer {}", self.0)
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// How hard the client tries.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Retries after the first attempt, for GET only.
    pub max_retries: u32,
    pub first_backoff: Duration,
    /// Items asked for per page when following every page of a list.
    pub page_size: u32,
    /// Pages followed per listing before giving up on a workspace that keeps paging.
    pub max_pages: u32,
    /// The largest answer read (a bigger one is refused, never held in memory).
    pub max_body_bytes: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_retries: 3,
            first_backoff: Duration::from_millis(250),
            page_size: 100,
            max_pages: 200,
            max_body_bytes: 16 * 1024 * 1024,
        }
    }
}

#[derive(Clone)]
pub struct CmlClient {
    http: reqwest::Client,
    /// `scheme://host[:port]`, without `/api/v2`.
    root: Url,
    key: ApiKey,
    options: ClientOptions,
    calls: Calls,
}

/// The labels of one call to the workspace: the operation and how it ended.
#[derive(Debug, Clone, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
pub struct CallLabels {
    pub operation: String,
    pub outcome: &'static str,
}

/// Every HTTP request a client (and its clones) sent, retries included: in all, and by operation
/// and outcome (for `/metrics`).
#[derive(Debug, Clone, Default)]
pub struct Calls {
    total: std::sync::Arc<std::sync::atomic::AtomicU64>,
    pub by_operation: prometheus_client::metrics::family::Family<CallLabels, prometheus_client::metrics::counter::Counter>,
}

impl Calls {
    /// Counts a call as it is sent.
    fn sent(&self) {
        self.total.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Counts how a call ended.
    fn ended<T>(&self, operation: &str, result: &CmlResult<T>) {
        let outcome = result.as_ref().map_or_else(CmlError::outcome, |_| "ok");
        self.by_operation.get_or_create(&CallLabels { operation: operation.to_string(), outcome }).inc();
    }
}

impl std::fmt::Debug for CmlClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CmlClient").field("root", &self.root.as_str()).field("key", &self.key).finish()
    }
}

/// A job run filter on status words (`running`, `succeeded`, …) as CML's search filter takes them.
#[derive(Debug, Clone, Default)]
pub struct RunQuery {
    pub status: Option<String>,
    pub newest_first: bool,
    pub page_size: Option<u32>,
}

impl CmlClient {
    pub fn new(base_url: &str, key: ApiKey) -> CmlResult<Self> {
        Self::with_options(base_url, key, ClientOptions::default())
    }

    pub fn with_options(base_url: &str, key: ApiKey, options: ClientOptions) -> CmlResult<Self> {
        let root = normalize_base_url(base_url)?;
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.connect_timeout)
            .user_agent(concat!("lakeline/", env!("CARGO_PKG_VERSION")))
            // A redirect is answered as an error that names where it pointed (a wrong URL, a
            // sign-in page), never followed with the key.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| CmlError::Unreachable { host: root.to_string(), reason: e.to_string() })?;
        Ok(CmlClient { http, root, key, options, calls: Default::default() })
    }

    /// The workspace's address, e.g. `https://ml-1234.example.com`.
    pub fn base_url(&self) -> &str {
        self.root.as_str().trim_end_matches('/')
    }

    /// How many HTTP requests this client (and its clones) has sent, retries included.
    pub fn calls_made(&self) -> u64 {
        self.calls.total.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The calls by operation and outcome.
    pub fn calls(&self) -> &Calls {
        &self.calls
    }


    fn url(&self, segments: &[&str], query: &[(&str, String)]) -> Url {
        let mut url = self.root.clone();
        {
            let mut path = url.path_segments_mut().expect("http URLs have paths");
            path.pop_if_empty().extend(["api", "v2"]).extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        url
    }

    async fn call<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<&B>,
        operation: &str,
    ) -> CmlResult<T> {
        let response = self.send(method, segments, query, &[], body, operation).await?;
        let bytes = self.read_body(response, operation).await?;
        serde_json::from_slice(&bytes).map_err(|e| CmlError::BadResponse {
            operation: operation.to_string(),
            detail: format!("{e}; the body began with {:?}", preview(&bytes)),
        })
    }

    /// Reads an answer's body, refusing one larger than `max_body_bytes` without holding it.
    async fn read_body(&self, response: reqwest::Response, operation: &str) -> CmlResult<Vec<u8>> {
        use futures_util::StreamExt;
        let limit = self.options.max_body_bytes;
        let too_big = || CmlError::BadResponse { operation: operation.to_string(), detail: format!("the answer is larger than {} MiB; Lakeline does not read it", limit / (1024 * 1024)) };
        if response.content_length().is_some_and(|n| n as usize > limit) {
            return Err(too_big());
        }
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.transport_error(e, operation))?;
            if body.len() + chunk.len() > limit {
                return Err(too_big());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// Sends one request (retrying a GET when that may help) and turns error answers into errors.
    #[tracing::instrument(name = "workspace", skip_all, fields(operation = %operation, method = %method), err(level = "debug", Display))]
    async fn send<B: Serialize + ?Sized>(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        headers: &[(reqwest::header::HeaderName, String)],
        body: Option<&B>,
        operation: &str,
    ) -> CmlResult<reqwest::Response> {
        let url = self.url(segments, query);
        let retries = if method == Method::GET { self.options.max_retries } else { 0 };
        let mut attempt = 0;
        loop {
            let result = self.send_once(method.clone(), url.clone(), headers, body, operation).await;
            match result {
                Err(e) if attempt < retries && e.is_transient() => {
                    let delay = self.options.first_backoff * 2u32.saturating_pow(attempt);
                    tracing::debug!(operation, attempt, error = %e, ?delay, "retrying a CML call");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn send_once<B: Serialize + ?Sized>(
        &self,
        method: Method,
        url: Url,
        headers: &[(reqwest::header::HeaderName, String)],
        body: Option<&B>,
        operation: &str,
    ) -> CmlResult<reqwest::Response> {
        self.calls.sent();
        tracing::trace!(target: "lakeline::workspace_calls", operation, "calling the workspace");
        let result = self.request_once(method, url, headers, body, operation).await;
        self.calls.ended(operation, &result);
        result
    }

    async fn request_once<B: Serialize + ?Sized>(
        &self,
        method: Method,
        url: Url,
        headers: &[(reqwest::header::HeaderName, String)],
        body: Option<&B>,
        operation: &str,
    ) -> CmlResult<reqwest::Response> {
        let mut request = self.http.request(method, url).header(reqwest::header::AUTHORIZATION, self.key.bearer());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request = match body {
            Some(body) => request.json(body),
            None => request.header(reqwest::header::CONTENT_TYPE, "application/json"),
        };
        let response = request.send().await.map_err(|e| self.transport_error(e, operation))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        if status.is_redirection() {
            let to = response.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("nowhere").to_string();
            return Err(CmlError::BadResponse {
                operation: operation.to_string(),
                detail: format!("the workspace answered with a redirect ({status}) to {to}: check the CML URL (it should be the workspace's own address)"),
            });
        }
        let bytes = self.read_body(response, operation).await.unwrap_or_default();
        let (code, message) = match serde_json::from_slice::<Value>(&bytes) {
            Ok(body) => (
                body.get("code").and_then(Value::as_i64).map(|c| c as i32),
                body.get("message")
                    .or_else(|| body.get("error"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            ),
            Err(_) => (None, preview(&bytes)),
        };
        Err(CmlError::from_status(status, code, message, operation))
    }

    fn transport_error(&self, e: reqwest::Error, operation: &str) -> CmlError {
        let host = self.base_url().to_string();
        if e.is_timeout() {
            CmlError::Timeout { host, operation: operation.to_string(), seconds: self.options.timeout.as_secs() }
        } else {
            // reqwest's message names the URL but never the headers, so the key stays out.
            let mut reason = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                reason = format!("{reason}: {s}");
                source = s.source();
            }
            CmlError::Unreachable { host, reason }
        }
    }

    /// Follows `next_page_token` through every page, collecting the items under `field`.
    async fn list_all<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, String)],
        field: &str,
        operation: &str,
    ) -> CmlResult<Vec<T>> {
        let mut items = Vec::new();
        let mut token = String::new();
        let mut seen_tokens = std::collections::HashSet::new();
        for _ in 0..self.options.max_pages {
            let mut params = query.to_vec();
            if !params.iter().any(|(k, _)| *k == "page_size") {
                params.push(("page_size", self.options.page_size.to_string()));
            }
            if !token.is_empty() {
                params.push(("page_token", token.clone()));
            }
            let page: Value = self.call(Method::GET, segments, &params, None::<&()>, operation).await?;
            let list = page.get(field).cloned().unwrap_or(Value::Array(vec![]));
            let batch: Vec<T> = serde_json::from_value(list).map_err(|e| CmlError::BadResponse {
                operation: operation.to_string(),
                detail: format!("the {field} list did not have the expected shape: {e}"),
            })?;
            items.extend(batch);
            token = page.get("next_page_token").and_then(Value::as_str).unwrap_or_default().to_string();
            if token.is_empty() {
                return Ok(items);
            }
            if !seen_tokens.insert(token.clone()) {
                return Err(CmlError::BadResponse {
                    operation: operation.to_string(),
                    detail: "the server returned the same page token twice".into(),
                });
            }
        }
        Err(CmlError::BadResponse {
            operation: operation.to_string(),
            detail: format!("the workspace kept paging: {} pages of {} items and still a next page; Lakeline stopped there", self.options.max_pages, self.options.page_size),
        })
    }
}

/// A `search_filter` on `name`; CML matches it as a substring, so callers keep exact matches.
fn name_filter(name: &str) -> (&'static str, String) {
    ("search_filter", serde_json::json!({ "name": name }).to_string())
}

fn run_query(query: &RunQuery) -> Vec<(&'static str, String)> {
    let mut params = vec![];
    if let Some(status) = &query.status {
        params.push(("search_filter", serde_json::json!({ "status": status }).to_string()));
    }
    if query.newest_first {
        params.push(("sort", "-created_at".to_string()));
    }
    if let Some(size) = query.page_size {
        params.push(("page_size", size.to_string()));
    }
    params
}

fn preview(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned();
    if text.trim().is_empty() {
        "(an empty body)".into()
    } else {
        text
    }
}

/// Accepts `https://host`, `https://host/`, `https://host/api/v2` and CML's in-workload
/// `CDSW_API_URL` (`…/api/v1`); returns `scheme://host[:port]/`.
pub fn normalize_base_url(input: &str) -> CmlResult<Url> {
    let trimmed = input.trim().trim_end_matches('/');
    let with_scheme = if trimmed.contains("://") { trimmed.to_string() } else { format!("https://{trimmed}") };
    let mut url = Url::parse(&with_scheme).map_err(|_| CmlError::BadBaseUrl(input.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(CmlError::BadBaseUrl(input.to_string()));
    }
    let path = url.path().trim_end_matches('/').to_string();
    let prefix = ["/api/v2", "/api/v1"].iter().find_map(|suffix| path.strip_suffix(suffix)).unwrap_or(&path).to_string();
    url.set_path(&format!("{prefix}/"));
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_in_every_accepted_form_normalize_to_the_workspace_root() {
        for input in [
            "https://ml-1.example.com",
            "https://ml-1.example.com/",
            "https://ml-1.example.com/api/v2",
            "https://ml-1.example.com/api/v2/",
            "https://ml-1.example.com/api/v1",
            "ml-1.example.com",
        ] {
            assert_eq!(normalize_base_url(input).unwrap().as_str(), "https://ml-1.example.com/", "{input}");
        }
        assert_eq!(normalize_base_url("http://127.0.0.1:8080/api/v1").unwrap().as_str(), "http://127.0.0.1:8080/");
        assert!(normalize_base_url("ftp://x").is_err());
        assert!(normalize_base_url("").is_err());
    }

    #[test]
    fn urls_keep_custom_methods_literal_and_encode_segments() {
        let client = CmlClient::new("https://ml.example.com/api/v2", ApiKey::new("k")).unwrap();
        let url = client.url(&["projects", "p", "jobs", "j", "runs", "r:stop"], &[]);
        assert_eq!(url.as_str(), "https://ml.example.com/api/v2/projects/p/jobs/j/runs/r:stop");
        let url = client.url(&["projects", "p", "files", "logs", "a b.log:download"], &[("x", "{\"a\":1}".into())]);
        assert!(url.as_str().starts_with("https://ml.example.com/api/v2/projects/p/files/logs/a%20b.log:download?x="));
    }

    #[test]
    fn the_key_never_shows_in_debug_output() {
        let client = CmlClient::new("https://ml.example.com", ApiKey::new("s3cr3t-key")).unwrap();
        let shown = format!("{client:?} {:?}", ApiKey::new("s3cr3t-key"));
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }
}
