//! `GET /metrics`: Prometheus metrics in the OpenMetrics text format — HTTP requests and their
//! latency by route, calls to the workspace by operation and outcome, the tracker's lag, open live
//! connections, pipeline runs by status and webhook deliveries by state. Counters live in memory
//! from the start of the process; the runs and deliveries are counted in the database at each
//! scrape. Served without sign-in, like `/healthz`, on the main address or on its own
//! (`--metrics-listen`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use super::AppState;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

type Latency = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// Lakeline's metrics: the in-memory ones, and the registry that renders them all.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    /// All requests answered, for [`Metrics::answered`].
    answered: AtomicU64,
    latency: Latency,
    live_connections: Gauge,
    tracker_lag: Gauge<f64, AtomicU64>,
    tracker_leading: Gauge,
    pipeline_runs: Family<StateLabels, Gauge>,
    deliveries: Family<StateLabels, Gauge>,
    page_cache: Family<OutcomeLabels, Counter>,
}

fn latency_buckets() -> Histogram {
    // 1 ms to about 16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Metrics {
    /// Registers everything; the workspace calls are the client's own counters.
    pub fn new(workspace_calls: &crate::cml::Calls) -> Arc<Metrics> {
        let (requests, live_connections, tracker_lag, tracker_leading, pipeline_runs, deliveries, page_cache) = Default::default();
        let latency: Latency = Family::new_with_constructor(latency_buckets);
        let mut registry = Registry::with_prefix("lakeline");
        registry.register("http_requests", "HTTP requests answered, by method, route and status", Family::clone(&requests));
        registry.register("http_request_duration_seconds", "Time to answer an HTTP request, by method and route", latency.clone());
        registry.register("workspace_calls", "HTTP requests sent to the workspace (retries included), by operation and outcome", workspace_calls.by_operation.clone());
        registry.register("live_connections", "Open live-event streams (/api/events)", Gauge::clone(&live_connections));
        registry.register("tracker_lag_seconds", "How long ago the tracker's next pass fell due (0 while on time)", Gauge::<f64, AtomicU64>::clone(&tracker_lag));
        registry.register("tracker_leading", "1 while this replica polls the workspace (one replica does at a time), else 0", Gauge::clone(&tracker_leading));
        registry.register("pipeline_runs", "Pipeline runs, by status", Family::clone(&pipeline_runs));
        registry.register("webhook_deliveries", "Webhook deliveries, by state (pending, delivered, failed)", Family::clone(&deliveries));
        registry.register(
            "page_cache_requests",
            "Requests for pages the page cache may answer, by outcome (hit, miss: rendered and kept, skipped: a chain runs)",
            Family::clone(&page_cache),
        );
        Arc::new(Metrics { registry, requests, answered: AtomicU64::new(0), latency, live_connections, tracker_lag, tracker_leading, pipeline_runs, deliveries, page_cache })
    }

    /// The requests answered since the start.
    pub fn answered(&self) -> u64 {
        self.answered.load(Ordering::Relaxed)
    }

    /// Counts a page request the page cache looked at.
    pub fn page_cache_outcome(&self, outcome: &'static str) {
        self.page_cache.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    /// Counts an open live stream until the guard is dropped.
    pub fn live_connection(self: &Arc<Self>) -> LiveConnection {
        self.live_connections.inc();
        LiveConnection(self.clone())
    }
}

pub struct LiveConnection(Arc<Metrics>);

impl Drop for LiveConnection {
    fn drop(&mut self) {
        self.0.live_connections.dec();
    }
}

/// Middleware: counts each request and its latency under its route's template (`/runs/{id}`),
/// or `unmatched`.
pub async fn observe(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.latency.get_or_create(&RouteLabels { method: method.clone(), route: route.clone() }).observe(started.elapsed().as_secs_f64());
    metrics.requests.get_or_create(&RequestLabels { method, route, status: response.status().as_u16() }).inc();
    metrics.answered.fetch_add(1, Ordering::Relaxed);
    response
}

pub async fn render(State(state): State<AppState>) -> Response {
    let metrics = &state.metrics;
    let store = &state.backend.store;
    let (runs, deliveries) = match (store.count_by_status().await, store.count_deliveries().await) {
        (Ok(runs), Ok(deliveries)) => (runs, deliveries),
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!(error = %e, "metrics: the database could not be read");
            return (StatusCode::SERVICE_UNAVAILABLE, "the database could not be read; see Lakeline's log\n").into_response();
        }
    };
    for (family, counts) in [(&metrics.pipeline_runs, runs), (&metrics.deliveries, deliveries)] {
        family.clear();
        for (state, count) in counts {
            family.get_or_create(&StateLabels { state }).set(count);
        }
    }
    metrics.tracker_lag.set(state.backend.tracker.lag().as_secs_f64());
    metrics.tracker_leading.set(i64::from(state.backend.tracker.leading()));
    let mut text = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &metrics.registry) {
        tracing::warn!(error = %e, "metrics could not be encoded");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text).into_response()
}
