//! The tracker against the real local workspace: grouping job runs into pipeline runs, runs
//! started outside Lakeline, a restart mid-chain, and the double-trigger refusal.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::api::PipelineSettings;
use cml_api::CreateJobRequest;
use common::workspace::TestWorkspace;
use domain::{ChangeKind, JobRunState, PipelineStatus, RunRequest, RunSource, Stage};
use lakeline::pipeline::definition::Definition;
use lakeline::pipeline::tracker::{Tracker, TrackerError};
use lakeline::store::history::{Cursor, HistoryQuery};
use lakeline::store::audit::Actor;
use lakeline::store::Store;

const ME: Actor<'static> = Actor { name: "tester", address: "127.0.0.1" };

fn definition() -> Definition {
    Definition {
        settings: PipelineSettings {
            owner_suffix: "t".into(),
            runtime_kernel: String::new(),
            runtime_editor: "Workbench".into(),
            runtime_edition: "Standard".into(),
            accuracy_key: "accuracy".into(),
            recall_key: "recall".into(),
            ..Default::default()
        },
    }
}

/// The pipeline's three jobs under their real names, running small scripts (the tracker only
/// cares about the jobs and their runs).
async fn jobs(ws: &TestWorkspace, scripts: [&str; 3]) {
    std::fs::write(ws.file("slow.py"), "import time\ntime.sleep(1.5)\nprint('done')\n").unwrap();
    let d = definition();
    let mut parent = String::new();
    for (&stage, script) in Stage::ALL.iter().zip(scripts) {
        let request = CreateJobRequest { name: d.job_name(stage), script: script.into(), parent_id: parent.clone(), ..Default::default() };
        parent = ws.client.create_job(&ws.project_id, &request).await.unwrap().id;
    }
}

/// A tracker on the store of data directory `dir` (SQLite, or PostgreSQL when tests run on it).
async fn tracker(ws: &TestWorkspace, dir: &std::path::Path) -> (Arc<Tracker>, Store) {
    let store = common::database::store(dir).await;
    (Tracker::new(ws.client.clone(), ws.project_id.clone(), store.clone(), definition()), store)
}

/// Reconciles until pipeline run `id` is no longer running; returns its status and the passes made.
async fn settle(tracker: &Tracker, store: &Store, id: i64) -> (PipelineStatus, u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut passes = 0;
    loop {
        tracker.reconcile().await.unwrap();
        passes += 1;
        let (run, _) = store.pipeline_run(id).await.unwrap().unwrap();
        if !run.status.is_active() {
            return (run.status, passes);
        }
        assert!(Instant::now() < deadline, "pipeline run {id} never finished");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_triggered_chain_becomes_one_pipeline_run_with_three_stages() {
    let ws = TestWorkspace::start().await;
    jobs(&ws, ["ok.py", "ok.py", "ok.py"]).await;
    let db = tempfile::tempdir().unwrap();
    let (tracker, store) = tracker(&ws, db.path()).await;

    let before_trigger = ws.client.calls_made();
    let id = tracker.trigger(RunRequest::parse("", "STAGE=test\n").unwrap(), ME).await.unwrap();
    // Who am I, the three jobs by name, each one's newest run (none may be active), the start.
    let trigger_calls = ws.client.calls_made() - before_trigger;
    assert!(trigger_calls <= 8, "a trigger costs at most 8 API calls, it made {trigger_calls}");
    let mut events = tracker.subscribe();
    let before_chain = ws.client.calls_made();
    let (status, passes) = settle(&tracker, &store, id).await;
    assert_eq!(status, PipelineStatus::Succeeded);
    let (run, stages) = store.pipeline_run(id).await.unwrap().unwrap();
    assert_eq!(run.source, RunSource::Lakeline);
    assert_eq!(stages.len(), 3);
    assert!(stages.iter().all(|s| s.state == JobRunState::Succeeded));
    let finished = |i: usize| stages[i].finished_at.unwrap_or_else(|| panic!("stage {i} has finished_at: {stages:?}"));
    assert!(finished(0) <= stages[1].created_at && finished(1) <= stages[2].created_at, "the stages ran one after another: {stages:?}");
    assert!(stages.iter().all(|s| s.log_final && s.log_tail.as_deref().is_some_and(|t| t.contains("hello from"))), "each stage's final log is kept: {stages:?}");

    // While a chain is active a pass reads one job (its active run, or the next job's runs while
    // a dependent is awaited); the first pass after a start reads all three. On top: per observed
    // change of a job run its log tail (one call, these logs are where the local workspace keeps
    // them), and per lineage step the batch summary and the experiment (these scripts write neither).
    let (mut stage_changes, mut lineage_steps) = (0, 0);
    while let Ok(change) = events.try_recv() {
        match change.kind {
            ChangeKind::Stage => stage_changes += 1,
            ChangeKind::Lineage => lineage_steps += 1,
            _ => {}
        }
    }
    let calls = ws.client.calls_made() - before_chain;
    let budget = 3 + (passes - 1) + stage_changes + 2 * lineage_steps;
    eprintln!("tracker, active chain: {calls} API calls in {passes} passes, {stage_changes} stage changes, {lineage_steps} lineage steps (budget {budget})");
    assert!(calls <= budget, "an active chain cost {calls} API calls, more than the budget of {budget}");
    assert!(calls >= passes, "every pass reads at least one job");

    // Idle: a pass reads New Batch's newest runs and nothing more.
    let before = ws.client.calls_made();
    tracker.reconcile().await.unwrap();
    let per_pass = ws.client.calls_made() - before;
    assert_eq!(per_pass, 1, "an idle pass lists New Batch's newest runs and nothing more");
    assert_eq!(store.history(&HistoryQuery::default(), Cursor::Newest, 10).await.unwrap().total, 1, "no duplicate pipeline run");
    ws.workspace.shutdown().await;
}

#[tokio::test]
async fn runs_started_outside_lakeline_are_tracked_too() {
    let ws = TestWorkspace::start().await;
    jobs(&ws, ["ok.py", "ok.py", "ok.py"]).await;
    let db = tempfile::tempdir().unwrap();
    let (tracker, store) = tracker(&ws, db.path()).await;
    // As if someone clicked Run on New Batch in the CML UI.
    let batch = ws.client.find_jobs_by_name(&ws.project_id, &definition().job_name(Stage::NewBatch)).await.unwrap().remove(0);
    ws.client.create_job_run(&ws.project_id, &batch.id, &Default::default()).await.unwrap();
    tracker.reconcile().await.unwrap();
    let page = store.history(&HistoryQuery::default(), Cursor::Newest, 10).await.unwrap();
    let (runs, total) = (page.runs, page.total);
    assert_eq!(total, 1);
    let (run, _) = &runs[0];
    assert_eq!(run.source, RunSource::External);
    assert!(!run.triggered_by.is_empty());
    assert_eq!(settle(&tracker, &store, run.id).await.0, PipelineStatus::Succeeded);
    assert_eq!(store.stages(run.id).await.unwrap().len(), 3);
    ws.workspace.shutdown().await;
}

#[tokio::test]
async fn a_restarted_lakeline_picks_up_a_chain_where_it_was() {
    let ws = TestWorkspace::start().await;
    jobs(&ws, ["slow.py", "slow.py", "ok.py"]).await;
    let db = tempfile::tempdir().unwrap();
    let id = {
        let (tracker, store) = tracker(&ws, db.path()).await;
        let id = tracker.trigger(RunRequest::default(), ME).await.unwrap();
        tracker.reconcile().await.unwrap();
        assert_eq!(store.stages(id).await.unwrap().len(), 1, "only New Batch has started");
        store.close().await;
        id
    };
    // Lakeline is down while the chain goes on.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (tracker, store) = tracker(&ws, db.path()).await;
    assert_eq!(settle(&tracker, &store, id).await.0, PipelineStatus::Succeeded);
    assert_eq!(store.stages(id).await.unwrap().len(), 3);
    assert_eq!(store.history(&HistoryQuery::default(), Cursor::Newest, 10).await.unwrap().total, 1, "the chain was not imported again");
    ws.workspace.shutdown().await;
}

#[tokio::test]
async fn a_second_trigger_while_a_chain_is_active_is_refused_even_at_the_same_moment() {
    let ws = TestWorkspace::start().await;
    jobs(&ws, ["slow.py", "ok.py", "ok.py"]).await;
    let db = tempfile::tempdir().unwrap();
    let (tracker, store) = tracker(&ws, db.path()).await;
    let (a, b) = tokio::join!(tracker.trigger(RunRequest::default(), ME), tracker.trigger(RunRequest::default(), ME));
    let (ok, refused) = match (a, b) {
        (Ok(id), Err(e)) | (Err(e), Ok(id)) => (id, e),
        other => panic!("exactly one trigger must win: {other:?}"),
    };
    assert!(matches!(refused, TrackerError::AlreadyRunning(id) if id == ok), "{refused}");
    assert!(refused.to_string().contains("still running"), "{refused}");
    let again = tracker.trigger(RunRequest::default(), ME).await.unwrap_err();
    assert!(matches!(again, TrackerError::AlreadyRunning(_)), "{again}");
    assert_eq!(settle(&tracker, &store, ok).await.0, PipelineStatus::Succeeded);
    // Once the chain is over, a new run may start.
    let next = tracker.trigger(RunRequest::default(), ME).await.unwrap();
    assert_ne!(next, ok);
    tracker.stop(next, ME).await.unwrap();
    assert_eq!(settle(&tracker, &store, next).await.0, PipelineStatus::Stopped);
    ws.workspace.shutdown().await;
}

#[tokio::test]
async fn triggering_without_jobs_says_what_to_do() {
    let ws = TestWorkspace::start().await;
    let db = tempfile::tempdir().unwrap();
    let (tracker, _) = tracker(&ws, db.path()).await;
    let err = tracker.trigger(RunRequest::default(), ME).await.unwrap_err();
    assert!(matches!(err, TrackerError::NotSetUp), "{err}");
    ws.workspace.shutdown().await;
}

/// Stop pressed just as New Batch ends (the tracker has not seen the end yet): the dependent that
/// the workspace starts meanwhile is stopped, nothing after it runs, the run ends stopped.
#[tokio::test]
async fn a_stop_at_a_stage_boundary_stops_the_chain() {
    let ws = TestWorkspace::start().await;
    jobs(&ws, ["ok.py", "slow.py", "ok.py"]).await;
    let db = tempfile::tempdir().unwrap();
    let (tracker, store) = tracker(&ws, db.path()).await;
    let d = definition();
    let batch = ws.client.find_jobs_by_name(&ws.project_id, &d.job_name(Stage::NewBatch)).await.unwrap().remove(0);
    let last = ws.client.find_jobs_by_name(&ws.project_id, &d.job_name(Stage::ApiRedeployment)).await.unwrap().remove(0);
    for round in 0..20 {
        let id = tracker.trigger(RunRequest::default(), ME).await.unwrap();
        tracker.reconcile().await.unwrap();
        // New Batch ends in the workspace, and the stop comes before the tracker looks again.
        ws.wait_for(&batch, |r| r.status.is_terminal()).await;
        tracker.stop(id, ME).await.unwrap();
        let (status, _) = settle(&tracker, &store, id).await;
        assert_eq!(status, PipelineStatus::Stopped, "round {round}");
        let stages = store.stages(id).await.unwrap();
        assert!(stages.len() <= 2, "nothing ran after the stopped stage: {stages:?}");
        assert!(stages.iter().all(|s| s.state != JobRunState::Succeeded || s.stage == Stage::NewBatch), "no stage completed after the stop: {stages:?}");
        let (run, _) = store.pipeline_run(id).await.unwrap().unwrap();
        assert!(run.stop_requested_at.is_some() && run.stop_requested_by.is_some());
    }
    assert!(ws.client.list_job_runs(&ws.project_id, &last.id, &Default::default()).await.unwrap().is_empty(), "API Redeployment never ran");
    let stops = store.recent_events(100).await.unwrap().into_iter().filter(|e| e.action == "pipeline.stop").count();
    assert_eq!(stops, 20, "each stop is audited");
    ws.workspace.shutdown().await;
}
