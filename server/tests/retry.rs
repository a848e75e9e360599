//! Retry from the failed stage: a new attempt at the stage that did not succeed, with its own job
//! run and log; a retried retrain reads the same snapshot range as the first attempt even after a
//! newer batch landed; the run's status follows the latest attempt; the dependents follow.

mod common;

use std::time::{Duration, Instant};

use app::api::*;
use common::workspace::scripted_project;
use common::TestApp;
use reqwest::StatusCode;

/// New Batch commits snapshot n (parent n-1; the first has none) and writes the summary the
/// pipeline's own script writes. The retrain fails on its first run only and records the range
/// it was given.
const NEW_BATCH: &str = r#"
import json, os, pathlib
counter = pathlib.Path("snapshots.txt")
n = int(counter.read_text()) + 1 if counter.exists() else 1
counter.write_text(str(n))
summary = {"snapshot_id": n, "parent_id": n - 1 if n > 1 else None, "rows_added": 10, "table": "t", "committed_at": "2026-11-22T09:00:00Z"}
pathlib.Path("logs/new_batch").mkdir(parents=True, exist_ok=True)
pathlib.Path(f"logs/new_batch/{os.environ['CDSW_ENGINE_ID']}.json").write_text(json.dumps(summary))
print(f"committed snapshot {n}")
"#;
const RETRAIN: &str = r#"
import os, pathlib, sys
marker = pathlib.Path("failed-once")
if not marker.exists():
    marker.write_text("1")
    print("retrain: failing the first attempt on purpose")
    sys.exit(1)
given = (os.environ.get("ICEBERG_SNAPSHOT_ID", "latest"), os.environ.get("ICEBERG_PARENT_ID", "latest"))
with open("retrain-ranges.txt", "a") as f:
    f.write(f"{given[0]} {given[1] or '-'}\n")
print(f"retrain: reading snapshots {given[1] or '(table start)'} -> {given[0]}")
"#;

async fn wait_for(app: &TestApp, id: i64, what: &str, done: impl Fn(&PipelineRunDetail) -> bool) -> PipelineRunDetail {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let detail = app.call(GetPipelineRun { id }).await.unwrap();
        if done(&detail) {
            return detail;
        }
        assert!(Instant::now() < deadline, "pipeline run {id}: waited in vain for {what}: {:?}", detail.attempts);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn ended(app: &TestApp, id: i64) -> PipelineRunDetail {
    wait_for(app, id, "the run to end", |d| !d.run.status.is_active()).await
}

#[tokio::test]
async fn a_failed_retrain_is_retried_on_the_same_snapshot_range_and_the_chain_completes() {
    let project = scripted_project([NEW_BATCH, RETRAIN, "print('redeployed')"]);
    let project_path = project.path().to_path_buf();
    let app = TestApp::builder().project_dir(project).start().await;
    app.call(ApplyPipelineSetup {}).await.unwrap();

    // The first chain's retrain fails.
    let first = app.call(TriggerPipeline { arguments: String::new(), environment: String::new() }).await.unwrap();
    let failed = ended(&app, first).await;
    assert_eq!(failed.run.status, PipelineStatus::Failed, "{:?}", failed.attempts);
    assert_eq!(failed.run.retry_from, Some(Stage::RetrainXgboost));
    let snapshot = wait_for(&app, first, "the snapshot range", |d| d.lineage.snapshot_id.is_some()).await.lineage;
    assert_eq!((snapshot.parent_snapshot_id.as_deref(), snapshot.snapshot_id.as_deref()), (None, Some("1")));

    // A newer batch lands (a second chain, which succeeds): the retry must not train on it.
    let second = app.call(TriggerPipeline { arguments: String::new(), environment: String::new() }).await.unwrap();
    let newer = ended(&app, second).await;
    assert_eq!(newer.run.status, PipelineStatus::Succeeded, "{:?}", newer.attempts);
    assert_eq!(newer.run.retry_from, None, "a run that succeeded is not retried");
    let refused = app.call(RetryPipeline { id: second }).await.unwrap_err();
    assert!(refused.status == StatusCode::BAD_REQUEST && refused.error.to_string().contains("succeeded"), "{refused:?}");
    let missing = app.call(RetryPipeline { id: 999 }).await.unwrap_err();
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{missing:?}");

    assert_eq!(app.call(RetryPipeline { id: first }).await.unwrap(), Stage::RetrainXgboost);
    let running = app.call(GetPipelineRun { id: first }).await.unwrap();
    assert_eq!(running.run.status, PipelineStatus::Running, "the run follows its latest attempt");
    assert_eq!(running.run.retry_from, None);
    let busy = app.call(RetryPipeline { id: first }).await.unwrap_err();
    assert!(busy.error.to_string().contains("still running"), "one chain at a time: {busy:?}");

    let retried = ended(&app, first).await;
    assert_eq!(retried.run.status, PipelineStatus::Succeeded, "{:?}", retried.attempts);
    let attempts: Vec<(Stage, i64, JobRunState)> = retried.attempts.iter().map(|a| (a.stage, a.attempt, a.state)).collect();
    assert_eq!(
        attempts,
        [
            (Stage::NewBatch, 1, JobRunState::Succeeded),
            (Stage::RetrainXgboost, 1, JobRunState::Failed),
            (Stage::RetrainXgboost, 2, JobRunState::Succeeded),
            (Stage::ApiRedeployment, 1, JobRunState::Succeeded),
        ]
    );
    let current: Vec<Stage> = retried.run.stages.iter().map(|s| s.stage).collect();
    assert_eq!(current, Stage::ALL, "the summary's stages are the latest attempts");
    assert_eq!(retried.run.stages[1].run_id, retried.attempts[2].run_id);
    assert_ne!(retried.attempts[1].run_id, retried.attempts[2].run_id, "each attempt is its own job run");

    // Each attempt keeps its own log.
    let retrain_logs: Vec<&StageLog> = retried.logs.iter().filter(|l| l.stage == Stage::RetrainXgboost).collect();
    assert_eq!(retrain_logs.len(), 2, "{:?}", retried.logs);
    let final_logs = wait_for(&app, first, "both retrain logs", |d| {
        d.logs.iter().filter(|l| l.stage == Stage::RetrainXgboost).all(|l| l.text.contains("retrain:"))
    })
    .await
    .logs;
    let texts: Vec<&str> = final_logs.iter().filter(|l| l.stage == Stage::RetrainXgboost).map(|l| l.text.as_str()).collect();
    assert!(texts[0].contains("failing the first attempt"), "{texts:?}");
    assert!(texts[1].contains("reading snapshots (table start) -> 1"), "{texts:?}");

    // The retrains read: the second chain's (the latest snapshot), then the retry's given range.
    let ranges = std::fs::read_to_string(project_path.join("retrain-ranges.txt")).unwrap();
    assert_eq!(ranges.lines().collect::<Vec<_>>(), ["latest latest", "1 -"]);

    let events = app.store().await.recent_events(50).await.unwrap();
    let retry = events.iter().find(|e| e.action == "pipeline.retry" && e.outcome == "ok").expect("the retry is audited");
    assert!(retry.detail.contains(&format!("pipeline run {first} from Retrain XGBoost")) && retry.detail.contains("(table start) → 1"), "{retry:?}");
    assert!(events.iter().filter(|e| e.action == "pipeline.retry" && e.outcome.starts_with("refused")).count() >= 3, "{events:?}");
    app.stop().await;
}

/// The redeployment fails on its first run only and records which retrain it was told to deploy.
const REDEPLOY: &str = r#"
import os, pathlib, sys
marker = pathlib.Path("redeploy-failed-once")
if not marker.exists():
    marker.write_text("1")
    sys.exit(1)
with open("redeployed.txt", "a") as f:
    f.write(os.environ.get("RETRAIN_JOB_RUN_ID", "newest") + "\n")
"#;

#[tokio::test]
async fn a_retried_redeployment_deploys_its_own_runs_retrain_not_a_later_one() {
    let project = scripted_project([NEW_BATCH, "print('retrained')", REDEPLOY]);
    let project_path = project.path().to_path_buf();
    let app = TestApp::builder().project_dir(project).start().await;
    app.call(ApplyPipelineSetup {}).await.unwrap();
    let first = app.call(TriggerPipeline { arguments: String::new(), environment: String::new() }).await.unwrap();
    let failed = ended(&app, first).await;
    assert_eq!((failed.run.status, failed.run.retry_from), (PipelineStatus::Failed, Some(Stage::ApiRedeployment)), "{:?}", failed.attempts);
    let second = app.call(TriggerPipeline { arguments: String::new(), environment: String::new() }).await.unwrap();
    assert_eq!(ended(&app, second).await.run.status, PipelineStatus::Succeeded);

    assert_eq!(app.call(RetryPipeline { id: first }).await.unwrap(), Stage::ApiRedeployment);
    let retried = ended(&app, first).await;
    assert_eq!(retried.run.status, PipelineStatus::Succeeded, "{:?}", retried.attempts);
    let own_retrain = retried.attempts.iter().find(|a| a.stage == Stage::RetrainXgboost).unwrap().run_id.clone();
    let deployed = std::fs::read_to_string(project_path.join("redeployed.txt")).unwrap();
    assert_eq!(deployed.lines().collect::<Vec<_>>(), ["newest", own_retrain.as_str()], "the second chain's own, then the retry's own run's");
    app.stop().await;
}
