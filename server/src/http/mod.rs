//! The HTTP surface: the Leptos pages and server functions, `/healthz`, static files, and the
//! tower-http layers around them.

use std::sync::Arc;
use std::time::Duration;

use app::backend::SharedBackend;
use app::{shell, App};
use axum::http::{header, HeaderValue};
use axum::Router;
use leptos::prelude::{provide_context, LeptosOptions};
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::backend::ServerBackend;

mod access;
pub mod api_v1;
pub(crate) mod assets;
mod arguments;
mod deadline;
mod events;
mod health;
pub mod metrics;
pub mod page_cache;

/// Everything a request handler may need.
#[derive(Clone, axum::extract::FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub backend: Arc<ServerBackend>,
    /// Turns true when the server is shutting down; long-lived streams end then.
    pub closing: tokio::sync::watch::Receiver<bool>,
    pub metrics: Arc<metrics::Metrics>,
    pub page_cache: Arc<page_cache::PageCache>,
}

/// `/metrics` alone, for serving on an address of its own (`--metrics-listen`).
pub fn metrics_router(state: AppState) -> Router {
    Router::new().route("/metrics", axum::routing::get(metrics::render)).with_state(state)
}

/// Everything Lakeline serves; `/metrics` too unless it has an address of its own.
pub fn router(state: AppState, request_timeout: Duration, metrics_here: bool) -> Router {
    let routes = generate_route_list(App);
    let shared: SharedBackend = state.backend.clone();
    let options = state.leptos_options.clone();
    let site_root = std::path::PathBuf::from(options.site_root.as_ref());

    let mut router = Router::new().route("/healthz", axum::routing::get(health::healthz));
    if metrics_here {
        router = router.route("/metrics", axum::routing::get(metrics::render));
    }
    let router = router
        .route("/api/events", axum::routing::get(events::events))
        .merge(api_v1::router())
        .merge(assets::router(&site_root, options.site_pkg_dir.trim_start_matches("pkg/")))
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(shared.clone()),
            move || shell(options.clone()),
        )
        // Inside the routes (it needs the matched route) and the access check (it needs the caller).
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), page_cache::serve))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn_with_state(state.metrics.clone(), metrics::observe));
    with_security_headers(router)
        .layer(axum::middleware::from_fn(arguments::readable_arguments))
        .layer(axum::middleware::from_fn_with_state(state.clone(), access::identify))
        // Pages and answers are compressed at the fastest level (the built files come precompressed).
        .layer(CompressionLayer::new().quality(CompressionLevel::Fastest))
        .layer(axum::middleware::from_fn_with_state(request_timeout, deadline::within))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Headers every response carries; handlers may set stricter ones themselves.
fn with_security_headers<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    // Pages set their own, with the nonce of their inline scripts (see `app::shell`).
    const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
                       style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
                       frame-ancestors 'none'; base-uri 'self'; form-action 'self'";
    let headers = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CONTENT_SECURITY_POLICY, CSP),
    ];
    headers.into_iter().fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value)))
    })
}
