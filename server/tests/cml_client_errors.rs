//! The client against a test server that misbehaves on purpose: CML errors, 5xx and timeouts,
//! garbage bodies. (A deliberately broken peer; CML itself cannot be made to do this on cue.)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use lakeline::cml::{ApiKey, ClientOptions, CmlClient, CmlError};
use serde_json::json;

#[derive(Clone, Default)]
struct Hits(Arc<AtomicUsize>);

impl Hits {
    fn next(&self) -> usize {
        self.0.fetch_add(1, Ordering::SeqCst)
    }
    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

async fn misbehaving_server() -> (String, Hits) {
    let hits = Hits::default();
    let app = Router::new()
        // 503 twice, then a real answer.
        .route("/api/v2/projects/flaky/jobs", get(|State(h): State<Hits>| async move {
            if h.next() < 2 {
                (StatusCode::SERVICE_UNAVAILABLE, "upstream connect error").into_response()
            } else {
                Json(json!({"jobs": [{"id": "a", "name": "New Batch", "timeout": 0}], "next_page_token": ""})).into_response()
            }
        }))
        // Always 500 with the gateway shape.
        .route("/api/v2/projects/broken/jobs", get(|State(h): State<Hits>| async move {
            h.next();
            (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"code": 13, "message": "database is down", "error": "database is down", "details": []})))
        }))
        // Slower than the client's timeout once, then fine.
        .route("/api/v2/projects/slow/jobs", get(|State(h): State<Hits>| async move {
            if h.next() == 0 {
                tokio::time::sleep(Duration::from_secs(3)).await;
            }
            Json(json!({"jobs": [], "next_page_token": ""}))
        }))
        // A POST that fails with 503 must not be repeated.
        .route("/api/v2/projects/p/jobs/j/runs", post(|State(h): State<Hits>| async move {
            h.next();
            (StatusCode::SERVICE_UNAVAILABLE, "try later")
        }))
        // CML's own errors, typed.
        .route("/api/v2/projects/p/jobs/missing", get(|| async {
            (StatusCode::NOT_FOUND, Json(json!({"code": 5, "message": "job not found", "error": "job not found", "details": []})))
        }))
        .route("/api/v2/projects/p/jobs/forbidden", get(|| async {
            (StatusCode::FORBIDDEN, Json(json!({"code": 7, "message": "you are not a collaborator"})))
        }))
        .route("/api/v2/auth/validate_key", post(|| async {
            (StatusCode::UNAUTHORIZED, Json(json!({"code": 16, "message": "invalid API key"})))
        }))
        // 200 with a body that is not JSON, and JSON of the wrong shape.
        .route("/api/v2/projects/p/jobs/garbage", get(|| async { "<html>login page</html>" }))
        .route("/api/v2/projects/p/jobs/wrongshape", get(|| async { Json(json!({"id": 5, "timeout": "soon"})) }))
        .route("/api/v2/projects/p/jobs", get(|| async { Json(json!({"jobs": {"not": "a list"}, "next_page_token": ""})) }))
        .route("/api/v2/projects/loop/jobs", get(|| async { Json(json!({"jobs": [], "next_page_token": "same"})) }))
        // A new page token on every answer, forever.
        .route("/api/v2/projects/endless/jobs", get(|State(h): State<Hits>| async move {
            let n = h.next();
            Json(json!({"jobs": [], "next_page_token": format!("page-{n}")}))
        }))
        // 50 MB of JSON, with and without a length announced up front.
        .route("/api/v2/projects/huge/jobs", get(|| async { huge_jobs() }))
        .route("/api/v2/projects/huge-stream/jobs", get(|| async {
            let chunks = (0..50).map(|_| Ok::<_, std::io::Error>(axum::body::Bytes::from(vec![b' '; 1024 * 1024])));
            axum::body::Body::from_stream(futures_util::stream::iter(chunks))
        }))
        // A sign-in gateway in front of the workspace.
        .route("/api/v2/projects/redirected/jobs", get(|| async {
            (StatusCode::FOUND, [(axum::http::header::LOCATION, "https://sso.example.com/login")], "")
        }))
        .with_state(hits.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, hits)
}

fn huge_jobs() -> String {
    let job = r#"{"id":"x","name":"padding padding padding padding padding padding padding padding"}"#;
    let mut body = String::from(r#"{"next_page_token":"","jobs":["#);
    while body.len() < 50 * 1024 * 1024 {
        body.push_str(job);
        body.push(',');
    }
    body.push_str(job);
    body.push_str("]}");
    body
}

fn client(url: &str) -> CmlClient {
    CmlClient::with_options(
        url,
        ApiKey::new("secret-key-value"),
        ClientOptions {
            timeout: Duration::from_millis(700),
            connect_timeout: Duration::from_millis(500),
            max_retries: 3,
            first_backoff: Duration::from_millis(20),
            page_size: 100,
            max_pages: 25,
            max_body_bytes: 4 * 1024 * 1024,
        },
    )
    .unwrap()
}

#[tokio::test]
async fn gets_are_retried_through_5xx_until_they_succeed() {
    let (url, hits) = misbehaving_server().await;
    let jobs = client(&url).list_jobs("flaky").await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].name, "New Batch");
    assert_eq!(hits.count(), 3);
}

#[tokio::test]
async fn retries_are_bounded_and_the_last_error_is_typed() {
    let (url, hits) = misbehaving_server().await;
    let c = client(&url);
    let err = c.list_jobs("broken").await.unwrap_err();
    assert!(matches!(err, CmlError::Upstream { status: 500, code: Some(13), ref message, .. } if message == "database is down"), "{err}");
    assert_eq!(hits.count(), 4, "one try and three retries");
    assert_eq!(c.calls_made(), 4, "every request is counted");
}

#[tokio::test]
async fn a_get_that_times_out_is_retried() {
    let (url, hits) = misbehaving_server().await;
    let jobs = client(&url).list_jobs("slow").await.unwrap();
    assert!(jobs.is_empty());
    assert_eq!(hits.count(), 2);
}

#[tokio::test]
async fn a_post_is_never_retried() {
    let (url, hits) = misbehaving_server().await;
    let err = client(&url).create_job_run("p", "j", &Default::default()).await.unwrap_err();
    assert!(matches!(err, CmlError::Upstream { status: 503, .. }), "{err}");
    assert_eq!(hits.count(), 1, "a duplicated job run is worse than an error");
}

#[tokio::test]
async fn cml_errors_become_typed_errors_with_cml_s_message() {
    let (url, _) = misbehaving_server().await;
    let c = client(&url);
    let err = c.get_job("p", "missing").await.unwrap_err();
    assert!(matches!(err, CmlError::NotFound { ref message } if message == "job not found"), "{err}");
    let err = c.get_job("p", "forbidden").await.unwrap_err();
    assert!(matches!(err, CmlError::PermissionDenied { .. }), "{err}");
    assert!(err.to_string().contains("permission denied"), "{err}");
    let err = c.validate_key().await.unwrap_err();
    assert!(matches!(err, CmlError::Unauthenticated { .. }), "{err}");
    assert!(!format!("{err} {err:?}").contains("secret-key-value"), "the key never appears in errors");
}

#[tokio::test]
async fn garbage_bodies_are_reported_not_swallowed() {
    let (url, _) = misbehaving_server().await;
    let c = client(&url);
    let err = c.get_job("p", "garbage").await.unwrap_err();
    assert!(matches!(err, CmlError::BadResponse { ref detail, .. } if detail.contains("login page")), "{err}");
    let err = c.get_job("p", "wrongshape").await.unwrap_err();
    assert!(matches!(err, CmlError::BadResponse { .. }), "{err}");
    let err = c.list_jobs("p").await.unwrap_err();
    assert!(matches!(err, CmlError::BadResponse { .. }), "{err}");
    let err = c.list_jobs("loop").await.unwrap_err();
    assert!(err.to_string().contains("same page token"), "{err}");
}

#[tokio::test]
async fn an_unreachable_workspace_is_a_clear_error() {
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let err = client(&url).list_jobs("p").await.unwrap_err();
    assert!(matches!(err, CmlError::Unreachable { .. }), "{err}");
    assert!(err.to_string().starts_with("cannot reach the CML workspace at http://127.0.0.1:"), "{err}");
}

#[tokio::test]
async fn a_workspace_that_pages_forever_gets_a_bounded_number_of_calls() {
    let (url, hits) = misbehaving_server().await;
    let err = client(&url).list_jobs("endless").await.unwrap_err();
    assert!(err.to_string().contains("kept paging"), "{err}");
    assert_eq!(hits.count(), 25, "max_pages calls and no more");
}

#[tokio::test]
async fn an_answer_over_the_size_limit_is_refused_unread() {
    let (url, _) = misbehaving_server().await;
    let c = client(&url);
    for project in ["huge", "huge-stream"] {
        let err = c.list_jobs(project).await.unwrap_err();
        assert!(matches!(err, CmlError::BadResponse { ref detail, .. } if detail.contains("larger than 4 MiB")), "{project}: {err}");
    }
}

#[tokio::test]
async fn a_redirect_is_an_error_that_says_where_it_pointed() {
    let (url, _) = misbehaving_server().await;
    let err = client(&url).list_jobs("redirected").await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("redirect") && text.contains("https://sso.example.com/login") && text.contains("CML URL"), "{text}");
    assert!(!err.is_transient(), "not retried");
}
