//! Alerts: webhooks hear once about each pipeline run that ended, with the run, the stage, the
//! reason and a link to the run; a receiver that answers 500 at first gets the message again
//! later; the banner shows failures until the person has seen them.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::api::*;
use common::workspace::scripted_project;
use common::TestApp;
use serde_json::Value;

/// A webhook receiver on loopback: it records every request by path, and refuses the first
/// `refuse` requests with a 500.
struct Receiver {
    url: String,
    seen: Arc<Mutex<Vec<(String, u16, Value)>>>,
}

async fn receiver(refuse: usize) -> Receiver {
    let seen: Arc<Mutex<Vec<(String, u16, Value)>>> = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri, body: String| {
        let log = log.clone();
        async move {
            let mut log = log.lock().unwrap();
            let status = if log.len() < refuse { 500 } else { 200 };
            log.push((uri.path().to_string(), status, serde_json::from_str(&body).unwrap_or(Value::Null)));
            axum::http::StatusCode::from_u16(status).unwrap()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver { url, seen }
}

impl Receiver {
    /// What was accepted (200) at `path`.
    fn accepted(&self, path: &str) -> Vec<Value> {
        self.seen.lock().unwrap().iter().filter(|(p, status, _)| p == path && *status == 200).map(|(_, _, body)| body.clone()).collect()
    }
}

async fn finished_run(app: &TestApp) -> i64 {
    let id = app.call(TriggerPipeline { arguments: String::new(), environment: String::new() }).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while app.call(GetPipelineRun { id }).await.unwrap().run.status == PipelineStatus::Running {
        assert!(Instant::now() < deadline, "pipeline run {id} never finished");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    id
}

async fn settled(app: &TestApp, expected: usize) -> Vec<DeliveryView> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let deliveries = app.call(AlertDeliveries {}).await.unwrap();
        if deliveries.len() >= expected && deliveries.iter().all(|d| d.state != "pending") {
            return deliveries;
        }
        assert!(Instant::now() < deadline, "deliveries never settled: {deliveries:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn webhooks_hear_once_about_each_ending_and_are_retried_after_a_500() {
    let hooks = receiver(2).await;
    let app = TestApp::builder()
        .project_dir(scripted_project(["print(1)", "print(2)", "print(3)"]))
        .with_config(|c| c.alert_retry_secs = 0.2)
        .start()
        .await;
    app.call(ApplyPipelineSetup {}).await.unwrap();

    // Refusals name the field.
    for (url, events, field) in [("ftp://x", "failed", "url:"), ("not a url", "failed", "url:"), ("http://x", "", "events:"), ("http://x", "exploded", "events:")] {
        let refused = app.call(AddWebhook { name: "x".into(), url: url.into(), kind: WebhookKind::Generic, events: events.into() }).await.unwrap_err();
        assert!(refused.status.is_client_error() && refused.error.to_string().starts_with(field), "{url} {events}: {refused:?}");
    }
    let generic = format!("{}/generic?secret=s3cr3t-in-the-url", hooks.url);
    let added = app.call(AddWebhook { name: "ops".into(), url: generic, kind: WebhookKind::Generic, events: "failed,succeeded".into() }).await.unwrap();
    assert!(!added.target.contains("s3cr3t"), "the list shows the host only: {added:?}");
    let slack = format!("{}/slack", hooks.url);
    app.call(AddWebhook { name: "team".into(), url: slack, kind: WebhookKind::Slack, events: "failed".into() }).await.unwrap();

    let first = finished_run(&app).await;
    std::fs::write(app.project_dir.path().join("train_xgboost.py"), "import sys\nsys.exit(2)\n").unwrap();
    let second = finished_run(&app).await;
    let deliveries = settled(&app, 3).await;

    // One delivery per event and webhook, all delivered in the end; the first after two 500s.
    assert_eq!(deliveries.len(), 3, "{deliveries:?}");
    assert!(deliveries.iter().all(|d| d.state == "delivered"), "{deliveries:?}");
    let retried = deliveries.iter().find(|d| d.pipeline_run_id == first).unwrap();
    assert_eq!((retried.attempts, retried.webhook.as_str()), (3, "ops"), "{retried:?}");

    let generic = hooks.accepted("/generic");
    assert_eq!(generic.len(), 2, "{generic:?}");
    let succeeded = generic.iter().find(|b| b["event"] == "succeeded").expect("the success");
    assert_eq!(succeeded["pipeline_run_id"], first);
    assert_eq!(succeeded["url"], app.url(&format!("/runs/{first}")));
    let failed = generic.iter().find(|b| b["event"] == "failed").expect("the failure");
    assert_eq!((failed["pipeline_run_id"].as_i64(), failed["stage"].as_str()), (Some(second), Some("train_xgboost")));
    assert_eq!(failed["reason"], "Retrain XGBoost ended failed");
    assert_eq!(failed["url"], app.url(&format!("/runs/{second}")));
    let slack = hooks.accepted("/slack");
    assert_eq!(slack.len(), 1, "the Slack webhook asked for failures only: {slack:?}");
    let text = slack[0]["text"].as_str().unwrap();
    assert!(text.contains(&format!("#{second}")) && text.contains("Retrain XGBoost") && text.contains(&app.url(&format!("/runs/{second}"))), "{text}");

    // The banner: the failure, until it is seen.
    let notice = app.call(UnseenFailures {}).await.unwrap();
    assert_eq!((notice.count, notice.runs.first().map(|r| r.id)), (1, Some(second)));
    app.call(MarkFailuresSeen {}).await.unwrap();
    assert_eq!(app.call(UnseenFailures {}).await.unwrap().count, 0);

    // A removed webhook hears nothing more.
    let webhooks = app.call(ListWebhooks {}).await.unwrap();
    for w in &webhooks {
        app.call(RemoveWebhook { id: w.id }).await.unwrap();
    }
    finished_run(&app).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(app.call(AlertDeliveries {}).await.unwrap().len(), 3);

    let events = app.store().await.recent_events(100).await.unwrap();
    for action in ["alert.webhook_add", "alert.webhook_remove", "alert.seen"] {
        assert!(events.iter().any(|e| e.action == action && e.outcome == "ok"), "{action}: {events:?}");
    }
    assert!(!format!("{events:?}").contains("s3cr3t"), "the audit log holds no webhook URL");
    app.stop().await;
}
