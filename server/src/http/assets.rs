//! The front end's built files under `/pkg` (the wasm, its JavaScript and the stylesheet).
//!
//! The build compresses them once (`scripts/precompress.sh` writes a `.gz` beside each), so a
//! browser that takes gzip gets the stored file instead of the server compressing 8 MB of wasm on
//! every download; without a `.gz` the file is sent as is and the response layer compresses it.
//! Their names carry no hash, so browsers keep them but ask again each time (`no-cache`): the
//! answer is a bodiless 304 while the file's date is unchanged.

use std::path::Path;

use axum::http::{header, HeaderValue};
use axum::Router;
use tower::ServiceBuilder;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

pub fn router<S: Clone + Send + Sync + 'static>(site_root: &Path, pkg_dir: &str) -> Router<S> {
    let files = ServeDir::new(site_root.join(pkg_dir)).precompressed_gzip();
    let service = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
        .service(files);
    Router::new().nest_service(&format!("/{pkg_dir}"), service)
}
