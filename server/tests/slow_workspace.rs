//! Lakeline in front of a slow or misbehaving workspace: a proxy before a real local workspace
//! that delays chosen answers or pages forever (a deliberately broken peer: CML cannot be made
//! to do this on cue).

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::api::{ApplyPipelineSetup, CheckPipelineSetup, TriggerPipeline};
use app::error::AppError;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use common::workspace::TestWorkspace;
use common::TestApp;
use domain::RunSource;
use lakeline::config::Secret;
use serde_json::json;

#[derive(Clone, Default)]
struct Faults {
    /// Answer `POST …/jobs/{id}/runs` only after this long (the run is created at once).
    slow_create: Arc<std::sync::Mutex<Option<Duration>>>,
    /// Answer `GET …/jobs` with a slow page and a new page token, forever.
    endless_jobs: Arc<AtomicBool>,
    /// Requests for the job list seen.
    job_list_hits: Arc<AtomicUsize>,
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    faults: Faults,
}

async fn forward(State(proxy): State<Proxy>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
    let is_job_list = parts.method == Method::GET && parts.uri.path().ends_with("/jobs");
    if is_job_list {
        proxy.faults.job_list_hits.fetch_add(1, Ordering::SeqCst);
        if proxy.faults.endless_jobs.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let token = format!("page-{}", proxy.faults.job_list_hits.load(Ordering::SeqCst));
            return axum::Json(json!({"jobs": [], "next_page_token": token})).into_response();
        }
    }
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let mut upstream = proxy.http.request(parts.method.clone(), format!("{}{path}", proxy.upstream)).body(body);
    for name in [axum::http::header::AUTHORIZATION, axum::http::header::CONTENT_TYPE] {
        if let Some(value) = parts.headers.get(&name) {
            upstream = upstream.header(name, value);
        }
    }
    let answer = upstream.send().await.unwrap();
    let status = answer.status();
    let bytes = answer.bytes().await.unwrap();
    let creates_run = parts.method == Method::POST && parts.uri.path().ends_with("/runs");
    let delay = *proxy.faults.slow_create.lock().unwrap();
    if let (true, Some(delay)) = (creates_run, delay) {
        tokio::time::sleep(delay).await;
    }
    Response::builder().status(status).header("content-type", "application/json").body(Body::from(bytes)).unwrap()
}

async fn proxy_before(ws: &TestWorkspace) -> (String, Faults) {
    let faults = Faults::default();
    let proxy = Proxy { upstream: ws.workspace.url(), http: reqwest::Client::new(), faults: faults.clone() };
    let router = axum::Router::new().fallback(forward).with_state(proxy);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, faults)
}

fn through(proxy: String, ws: &TestWorkspace, config: impl FnOnce(&mut lakeline::config::Config) + Send + 'static) -> common::TestAppBuilder {
    let (key, project) = (ws.workspace.api_key().to_string(), ws.project_id.clone());
    TestApp::builder().with_config(move |c| {
        c.cml_url = Some(format!("{proxy}/api/v1"));
        c.cml_api_key = Some(Secret(key));
        c.cml_project_id = Some(project);
        c.owner_suffix = Some("slow".into());
        config(c);
    })
}

/// The workspace started the run but its answer never reached Lakeline: the user hears that it
/// may have started, and once it appears it is theirs, not an "external" run.
#[tokio::test]
async fn a_trigger_whose_answer_was_lost_is_still_the_user_s_run() {
    let ws = TestWorkspace::start().await;
    let (proxy, faults) = proxy_before(&ws).await;
    let server = through(proxy, &ws, |c| c.cml_timeout_secs = 1).start().await;
    server.call(ApplyPipelineSetup {}).await.unwrap();

    *faults.slow_create.lock().unwrap() = Some(Duration::from_secs(3));
    let refused = server.call(TriggerPipeline { arguments: String::new(), environment: String::new() }).await.unwrap_err();
    assert!(matches!(&refused.error, AppError::Workspace(m) if m.contains("did not answer") && m.contains("may have started the run anyway")), "{refused:?}");

    let store = server.store().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let id = loop {
        if let Some(id) = store.latest_pipeline_run().await.unwrap() {
            break id;
        }
        assert!(Instant::now() < deadline, "the run the workspace started never appeared");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let (run, _) = store.pipeline_run(id).await.unwrap().unwrap();
    assert_eq!(run.source, RunSource::Lakeline, "claimed as the trigger's run, not an external one");
    let events = store.recent_events(10).await.unwrap();
    assert!(events.iter().any(|e| e.action == "pipeline.trigger" && e.detail.contains("answer was lost")), "{events:?}");
    server.stop().await;
    ws.workspace.shutdown().await;
}

/// A workspace that pages forever and slowly: the page's request ends at its deadline with a
/// message a person can act on, and the calls made for it stop with it.
#[tokio::test]
async fn a_request_past_its_deadline_says_why_and_its_workspace_calls_stop() {
    let ws = TestWorkspace::start().await;
    let (proxy, faults) = proxy_before(&ws).await;
    let server = through(proxy, &ws, |c| c.request_timeout_secs = 2).start().await;
    tokio::time::sleep(Duration::from_millis(500)).await; // the tracker's first pass is done

    faults.endless_jobs.store(true, Ordering::SeqCst);
    let asked = Instant::now();
    let refused = server.call(CheckPipelineSetup {}).await.unwrap_err();
    assert!(asked.elapsed() < Duration::from_secs(5), "answered at its deadline, not after {:?}", asked.elapsed());
    assert_eq!(refused.status, 504);
    assert!(matches!(&refused.error, AppError::Workspace(m) if m.contains("gave up after 2 s")), "{refused:?}");

    // The request is gone: so are its calls.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after_answer = faults.job_list_hits.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(faults.job_list_hits.load(Ordering::SeqCst), after_answer, "calls went on after the request ended");
    faults.endless_jobs.store(false, Ordering::SeqCst);
    server.stop().await;
    ws.workspace.shutdown().await;
}
