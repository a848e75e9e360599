//! Every request has a deadline. When it passes, the answer says so in words a person can act on
//! (tower-http's timeout answers an empty 408): the error as JSON for server functions, a short
//! text for anything else. Dropping the handler's future stops the reads it was making.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use app::error::AppError;

pub async fn within(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let message = format!(
                "Lakeline gave up after {} s waiting for the workspace (or its own database); the workspace may be slow or \
                 unreachable. Try again in a moment; Settings shows whether the workspace answers.",
                limit.as_secs()
            );
            tracing::warn!(seconds = limit.as_secs(), "a request ran past its deadline");
            if path.starts_with("/api/") {
                super::access::refusal(&path, StatusCode::GATEWAY_TIMEOUT, AppError::Workspace(message))
            } else {
                (StatusCode::GATEWAY_TIMEOUT, message).into_response()
            }
        }
    }
}
