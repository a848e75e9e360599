//! The front end's built files under `/pkg` (the wasm, its JavaScript and the stylesheet).
//!
//! Pages name them under the build's version, `/pkg/<version>/lakeline.wasm`: the version is a
//! hash of the files' contents (computed at start), so a name never stands for other contents and
//! browsers keep them for a year without asking again (`immutable`). A new build has a new
//! version, so its pages name new URLs. The plain `/pkg/<file>` names still answer, with
//! `no-cache` (a bodiless 304 while the file is unchanged). A `/pkg/<other version>/…` is 404.
//!
//! The build compresses the files once (`scripts/precompress.sh` writes a `.br` and a `.gz` beside
//! each), so a browser gets the stored file in the best encoding it takes (brotli: the release
//! wasm in 70 % of gzip's bytes) instead of the server compressing megabytes of wasm on every
//! download; without a copy the file is sent as is and the response layer compresses it.

use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use sha2::{Digest, Sha256};
use tower_http::services::ServeDir;

/// A year: "forever" for a file whose name changes with its contents.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The version of the built files in `pkg_dir`: the first 16 hex digits of a SHA-256 over their
/// names and contents (the `.br` and `.gz` copies are made from them and add nothing). A missing folder
/// has a version too, so that a server without a front end still starts.
pub fn version(pkg_dir: &Path) -> std::io::Result<String> {
    let mut files: Vec<_> = match std::fs::read_dir(pkg_dir) {
        Ok(entries) => entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_file() && p.extension().is_none_or(|e| e != "gz" && e != "br")).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => vec![],
        Err(e) => return Err(e),
    };
    files.sort();
    let mut hash = Sha256::new();
    for file in files {
        hash.update(file.file_name().map(|n| n.as_encoded_bytes()).unwrap_or_default());
        hash.update(std::fs::read(&file)?);
    }
    Ok(hex::encode(&hash.finalize()[..8]))
}

pub fn router<S: Clone + Send + Sync + 'static>(site_root: &Path, version: &str) -> Router<S> {
    let files = ServeDir::new(site_root.join("pkg")).precompressed_br().precompressed_gzip();
    Router::new().nest_service("/pkg", files).layer(axum::middleware::from_fn_with_state(Arc::<str>::from(version), by_version))
}

/// `/pkg/<this version>/x` is the file `x`, cached for good; `/pkg/x` is `x`, revalidated.
async fn by_version(State(version): State<Arc<str>>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let rest = path.strip_prefix("/pkg/").unwrap_or_default();
    let (versioned, file) = match rest.split_once('/') {
        Some((v, file)) if v == &*version => (true, file.to_string()),
        // Another build's version: its files are gone.
        Some((v, _)) if v.len() == version.len() && v.bytes().all(|b| b.is_ascii_hexdigit()) => {
            return (axum::http::StatusCode::NOT_FOUND, "this build's files are gone; reload the page\n").into_response();
        }
        _ => (false, rest.to_string()),
    };
    if versioned {
        let query = request.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
        if let Ok(uri) = format!("/pkg/{file}{query}").parse::<Uri>() {
            *request.uri_mut() = uri;
        }
    }
    let mut response = next.run(request).await;
    let cache = if versioned && response.status().is_success() { IMMUTABLE } else { "no-cache" };
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}
