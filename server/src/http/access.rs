//! Who may reach what. Every request learns its [`Caller`] here (the session cookie's user and
//! the address it came from); state-changing requests from another site are refused; pages and
//! the live stream need a signed-in user (server functions check their own role, see
//! `app::backend::with`).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use app::api::Me;
use app::backend::Caller;
use app::error::AppError;

use super::{api_v1, AppState};
use crate::auth::{sessions, tokens};

/// A refusal in the shape the caller reads: the REST API's [`ApiError`], else the UI's `AppError`.
pub fn refusal(path: &str, status: StatusCode, error: AppError) -> Response {
    if api_v1::owns(path) {
        return api_v1::ApiError::from(error).with_status(status).into_response();
    }
    let body = serde_json::to_string(&error).expect("an AppError serialises");
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Whether a request that changes something came from another site: the browser says so in
/// `Sec-Fetch-Site`, and an `Origin` that is not this host says so too.
fn cross_site(headers: &HeaderMap) -> bool {
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if fetch_site.is_some_and(|site| site != "same-origin" && site != "none") {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()), host) {
        (Some("null"), _) => true,
        (Some(origin), Some(host)) => origin.split_once("://").map(|(_, authority)| authority) != Some(host),
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// Files served as they are, and what monitoring reads: nobody needs to be known to fetch them.
fn static_file(path: &str) -> bool {
    path.starts_with("/pkg/") || matches!(path, "/favicon.svg" | "/healthz" | "/metrics")
}

/// Paths anyone may fetch: static files, health, the sign-in and set-up pages. Server functions
/// (`/api/…`) check their own roles; the live stream is a page's.
fn public(path: &str) -> bool {
    static_file(path)
        || path == "/sign-in"
        || path == "/setup"
        || (path.starts_with("/api/") && path != "/api/events")
}

pub async fn identify(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, mut request: Request, next: Next) -> Response {
    let state_changing = !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if state_changing && cross_site(request.headers()) {
        tracing::warn!(path = request.uri().path(), "refused a state-changing request from another site");
        return refusal(request.uri().path(), StatusCode::FORBIDDEN, AppError::Forbidden("a request from another site was refused: use Lakeline's own pages".into()));
    }
    if static_file(request.uri().path()) {
        // No session lookup for the page's wasm, script and style.
        return next.run(request).await;
    }
    let session = request.headers().get(header::COOKIE).and_then(|v| v.to_str().ok()).and_then(sessions::from_cookie_header).map(str::to_string);
    let bearer = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(tokens::from_authorization).map(str::to_string);
    let auth = &state.backend.auth;
    let found = match (&bearer, &session) {
        (Some(token), _) => auth.user_of_token(token).await,
        (None, Some(session)) => auth.user_of(session).await,
        (None, None) => Ok(None),
    };
    let user = match found {
        Ok(user) => user.map(|u| Me { name: u.name, role: u.role }),
        Err(e) => {
            tracing::error!(error = %e, "could not look up a session or token");
            return refusal(request.uri().path(), StatusCode::INTERNAL_SERVER_ERROR, AppError::Store("see the server log".into()));
        }
    };
    if bearer.is_some() && user.is_none() {
        // A script's token that no longer works: say so, rather than treat it as nobody.
        return refusal(request.uri().path(), StatusCode::UNAUTHORIZED, AppError::Unauthenticated("the API token is unknown or revoked: make a new one on the Tokens page".into()));
    }
    // Behind a proxy that signs people in: the person it names.
    let user = match (user, auth.proxy_header(peer.ip())) {
        (None, Some(header)) => match request.headers().get(header).and_then(|v| v.to_str().ok()).map(str::trim).filter(|n| !n.is_empty()) {
            Some(name) => match auth.user_from_proxy(name).await {
                Ok(Some((user, created))) => {
                    if created {
                        let detail = format!("user {:?} ({}) named by the proxy's {header} header", user.name, user.role);
                        let address = peer.ip().to_string();
                        let actor = crate::store::audit::Actor { name: &user.name, address: &address };
                        if let Err(e) = state.backend.store.record_event(actor, "user.create_from_proxy", &detail, "ok").await {
                            tracing::error!(error = %e, "could not audit a user made from the proxy's header");
                        }
                    }
                    Some(Me { name: user.name, role: user.role })
                }
                Ok(None) => None,
                Err(e) => {
                    tracing::error!(error = %e, "could not look up the proxy's user");
                    return refusal(request.uri().path(), StatusCode::INTERNAL_SERVER_ERROR, AppError::Store("see the server log".into()));
                }
            },
            None => None,
        },
        (user, _) => user,
    };
    let secure = request.headers().get("x-forwarded-proto").is_some_and(|v| v.as_bytes() == b"https");
    let caller = Caller { user, address: peer.ip(), secure, session };
    let path = request.uri().path().to_string();
    if caller.user.is_none() && !public(&path) {
        if path == "/api/events" {
            return refusal(request.uri().path(), StatusCode::UNAUTHORIZED, AppError::Unauthenticated("sign in first: this needs a Lakeline account".into()));
        }
        // A page: to the set-up page while nobody can sign in, else to sign-in and back.
        let first = auth.needs_first_admin().await.unwrap_or(false);
        let to = if first { "/setup".to_string() } else { format!("/sign-in?next={}", encode(request.uri().path_and_query().map_or("/", |p| p.as_str()))) };
        return Redirect::to(&to).into_response();
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}

fn encode(text: &str) -> String {
    text.bytes().map(|b| if b.is_ascii_alphanumeric() || b"/-_.".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (axum::http::HeaderName::from_static(k), HeaderValue::from_static(v))).collect()
    }

    #[test]
    fn requests_from_other_sites_are_recognised() {
        assert!(!cross_site(&headers(&[("host", "127.0.0.1:3000")])), "no Origin: a script or an old browser");
        assert!(!cross_site(&headers(&[("host", "127.0.0.1:3000"), ("origin", "http://127.0.0.1:3000"), ("sec-fetch-site", "same-origin")])));
        assert!(cross_site(&headers(&[("host", "127.0.0.1:3000"), ("origin", "http://evil.example")])));
        assert!(cross_site(&headers(&[("host", "127.0.0.1:3000"), ("sec-fetch-site", "cross-site")])));
        assert!(cross_site(&headers(&[("host", "127.0.0.1:3000"), ("sec-fetch-site", "same-site")])));
        assert!(cross_site(&headers(&[("host", "127.0.0.1:3000"), ("origin", "null")])));
    }

    #[test]
    fn pages_need_sign_in_static_files_do_not() {
        for path in ["/", "/history", "/runs/3", "/settings", "/audit", "/api/events"] {
            assert!(!public(path), "{path}");
        }
        for path in ["/pkg/lakeline.wasm", "/healthz", "/metrics", "/sign-in", "/setup", "/api/sign_in", "/api/trigger_pipeline"] {
            assert!(public(path), "{path}");
        }
    }
}
