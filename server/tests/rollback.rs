//! Rolling back the deployment: an earlier run's model is deployed again through API v2, the run
//! that is live changes everywhere, and test predictions answer from it.

mod common;

use std::time::{Duration, Instant};

use app::api::*;
use common::TestApp;
use reqwest::StatusCode;

async fn finished_run(app: &TestApp, seed: u32) -> PipelineRunDetail {
    let id = app.call(TriggerPipeline { arguments: format!("--seed {seed}"), environment: String::new() }).await.unwrap();
    wait_for(app, id, "the run to end", |d| !d.run.status.is_active()).await
}

async fn wait_for(app: &TestApp, id: i64, what: &str, done: impl Fn(&PipelineRunDetail) -> bool) -> PipelineRunDetail {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let detail = app.call(GetPipelineRun { id }).await.unwrap();
        if done(&detail) {
            return detail;
        }
        assert!(Instant::now() < deadline, "pipeline run {id}: waited in vain for {what}: {:?}", detail.run);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn an_earlier_runs_model_is_deployed_again_and_answers() {
    let app = TestApp::start().await;
    app.call(ApplyPipelineSetup {}).await.unwrap();
    let first = finished_run(&app, 11).await;
    assert_eq!(first.run.status, PipelineStatus::Succeeded, "{:?}", first.run);
    let second = finished_run(&app, 12).await;
    assert_eq!(second.run.status, PipelineStatus::Succeeded, "{:?}", second.run);
    let (first, second) = (first.run.id, second.run.id);
    wait_for(&app, first, "the replaced deployment to show as stopped", |d| d.run.deployment == Some(DeploymentState::Stopped)).await;
    assert_eq!(app.call(LatestDeployment {}).await.unwrap().and_then(|d| d.pipeline_run_id), Some(second));

    // Nothing to deploy, or no such run: refused, with a reason.
    let missing = app.call(DeployModel { id: 999 }).await.unwrap_err();
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{missing:?}");

    app.call(DeployModel { id: first }).await.unwrap();
    wait_for(&app, first, "its model to be live again", |d| d.run.deployment == Some(DeploymentState::Deployed)).await;
    wait_for(&app, second, "the newer deployment to be replaced", |d| d.run.deployment == Some(DeploymentState::Stopped)).await;
    let live = app.call(LatestDeployment {}).await.unwrap().expect("a live deployment");
    assert_eq!((live.pipeline_run_id, live.state), (Some(first), Some(DeploymentState::Deployed)));
    let answer = app.call(TestPrediction { request: r#"{"iot_signal_1": 50, "iot_signal_2": 50, "iot_signal_3": 50, "iot_signal_4": 50}"#.into() }).await.unwrap();
    assert!(answer.contains("predictions"), "{answer}");

    let events = app.store().await.recent_events(50).await.unwrap();
    assert!(events.iter().any(|e| e.action == "model.redeploy" && e.outcome == "ok" && e.detail.contains(&format!("pipeline run {first}"))), "{events:?}");
    assert!(events.iter().any(|e| e.action == "model.redeploy" && e.outcome.starts_with("refused")), "{events:?}");
    app.stop().await;
}
