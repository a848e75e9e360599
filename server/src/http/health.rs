use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::AppState;

/// `GET /healthz`: 200 when the database answers, 503 otherwise. Also says how many API calls
/// Lakeline has made to its workspace (the tracker's load on CML).
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let calls = state.backend.tracker.client().calls_made();
    match state.backend.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION"), "workspace_api_calls": calls }))),
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "unavailable", "reason": "database" })))
        }
    }
}
