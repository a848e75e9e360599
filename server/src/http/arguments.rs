//! Server function arguments that cannot be read are the caller's mistake: answer 400 with a
//! message that names the fields (Leptos answers such requests 500), and 413 for a body over the
//! limit — never a 500 or a dropped connection for input alone.

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use app::error::AppError;

/// The largest server function request read.
pub const MAX_ARGUMENTS: usize = 256 * 1024;
/// How Leptos words a failure to read a server function's request ("… arguments: …", and
/// "… results: …" for a body that is not UTF-8).
const UNREADABLE: &str = "error deserializing server function";

fn json(status: StatusCode, error: AppError) -> Response {
    let body = serde_json::to_string(&error).expect("an AppError serialises");
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

pub async fn readable_arguments(request: Request, next: Next) -> Response {
    if request.method() != Method::POST || !request.uri().path().starts_with("/api/") {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_ARGUMENTS).await else {
        return json(StatusCode::PAYLOAD_TOO_LARGE, AppError::Invalid(format!("the request is larger than {} KiB", MAX_ARGUMENTS / 1024)));
    };
    let sent: Vec<String> = form_urlencoded_keys(&bytes);
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(body) = to_bytes(body, 64 * 1024).await else { return StatusCode::INTERNAL_SERVER_ERROR.into_response() };
    match serde_json::from_slice::<AppError>(&body) {
        Ok(AppError::Transport(message)) if message.starts_with(UNREADABLE) => {
            let reason = message.split_once(": ").map_or(message.as_str(), |(_, reason)| reason);
            let fields = if sent.is_empty() { "no fields were sent".to_string() } else { format!("fields sent: {}", sent.join(", ")) };
            json(StatusCode::BAD_REQUEST, AppError::Invalid(format!("the request's fields could not be read: {reason} ({fields})")))
        }
        _ => Response::from_parts(parts, Body::from(body)),
    }
}

/// The keys of a URL-encoded form, for messages (values are never echoed).
fn form_urlencoded_keys(body: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|pair| pair.split('=').next())
        .filter(|k| !k.is_empty())
        .map(|k| k.replace("%5B", "[").replace("%5D", "]"))
        .take(20)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn form_keys_are_listed_without_values() {
        assert_eq!(super::form_urlencoded_keys(b"id=abc&filter%5Bstatus%5D=x"), ["id", "filter[status]"]);
        assert!(super::form_urlencoded_keys(b"").is_empty());
    }
}
