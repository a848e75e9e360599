//! The quality gate through Lakeline: the first model deploys; a quiet week's batch (few failures
//! to learn from) trains a model far worse on recall than the live one, which the redeployment
//! holds back (History and the run page say why; the live model keeps serving); an operator's
//! "Deploy anyway" (audited; refused to viewers, 403, and for runs that were not gated) deploys it.

mod common;

use app::api::*;
use common::TestApp;
use reqwest::StatusCode;

async fn chain(app: &TestApp, arguments: &str) -> PipelineRunDetail {
    let id = app.call(TriggerPipeline { arguments: arguments.into(), environment: String::new() }).await.unwrap();
    let done = app.wait_for_run(id, "the run and its gate decision", |d| !d.run.status.is_active() && d.run.gate.is_some()).await;
    assert_eq!(done.run.status, PipelineStatus::Succeeded, "{:?}", done.attempts);
    done
}

#[tokio::test]
async fn a_worse_model_is_gated_and_an_operator_deploys_it_anyway() {
    let mut app = TestApp::start().await;
    app.call(ApplyPipelineSetup {}).await.unwrap();
    let settings = app.call(GetSettings {}).await.unwrap();
    assert_eq!((settings.gate_accuracy_margin.as_str(), settings.gate_recall_margin.as_str()), ("0.03", "0.15"), "the default margins");

    let first = chain(&app, "--seed 106").await;
    assert_eq!(first.run.gate.as_ref().unwrap().decision, GateDecision::First);
    let first = app.wait_for_run(first.run.id, "its deployment", |d| d.run.deployment == Some(DeploymentState::Deployed)).await;
    let refused = app.call(DeployAnyway { id: first.run.id }).await.unwrap_err();
    assert!(refused.status == StatusCode::BAD_REQUEST && refused.error.to_string().contains("not held back"), "{refused:?}");

    let gated = chain(&app, "--seed 206 --failure-rate 0.04").await;
    let gate = gated.run.gate.clone().unwrap();
    assert_eq!(gate.decision, GateDecision::Gated, "{gate:?}");
    let (recall, live_recall, margin) = (gate.recall.unwrap(), gate.live_recall.unwrap(), gate.recall_margin.unwrap());
    eprintln!("{}", gate.summary());
    assert!(recall < live_recall - margin, "{gate:?}");
    assert!(gate.summary().starts_with("gated: recall "), "{gate:?}");
    assert_eq!(gated.lineage.deployment, None, "nothing deployed");
    assert!(gated.lineage.problems.is_empty(), "a gated model is no lineage problem: {:?}", gated.lineage.problems);
    assert_eq!(app.call(LatestDeployment {}).await.unwrap().and_then(|d| d.pipeline_run_id), Some(first.run.id), "the live model serves on");
    let listed = app.call(ListPipelineRuns { filter: HistoryFilter::default(), cursor: String::new() }).await.unwrap();
    let row = listed.rows.iter().find(|r| r.id == gated.run.id).unwrap();
    assert_eq!(row.gate, Some((GateDecision::Gated, gate.summary())), "History shows the gate and its reason");

    // The quality chart marks the gated run and draws the gate where it stands: the live model's
    // figures less the margins.
    let trend = app.call(QualitySeries {}).await.unwrap();
    assert_eq!(trend.points.iter().map(|p| p.run_id).collect::<Vec<_>>(), [first.run.id, gated.run.id]);
    assert!(trend.points[1].gate.as_ref().is_some_and(|g| g.is_gated()));
    let live_recall = first.run.recall.unwrap();
    assert_eq!(trend.recall_threshold, Some(live_recall - 0.15));
    assert_eq!(trend.accuracy_threshold, Some(first.run.accuracy.unwrap() - 0.03));

    // Viewers may not; operators may, once.
    app.sign_in_as_new_user("vera", Role::Viewer).await;
    let forbidden = app.call(DeployAnyway { id: gated.run.id }).await.unwrap_err();
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN, "{forbidden:?}");
    app.sign_in_as_new_user("olga", Role::Operator).await;
    let missing = app.call(DeployAnyway { id: 999 }).await.unwrap_err();
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{missing:?}");
    app.call(DeployAnyway { id: gated.run.id }).await.unwrap();
    let deployed = app.wait_for_run(gated.run.id, "the model deployed anyway", |d| {
        !d.run.status.is_active() && d.run.deployment == Some(DeploymentState::Deployed) && d.run.gate.as_ref().is_some_and(|g| g.decision == GateDecision::Overridden)
    })
    .await;
    assert_eq!(deployed.run.status, PipelineStatus::Succeeded);
    let attempts: Vec<(Stage, i64)> = deployed.attempts.iter().map(|a| (a.stage, a.attempt)).collect();
    assert_eq!(attempts.last(), Some(&(Stage::ApiRedeployment, 2)), "a new attempt of the redeployment: {attempts:?}");
    assert_eq!(deployed.lineage.model_version_number, Some(2));
    app.wait_for_run(first.run.id, "the replaced deployment to show as stopped", |d| d.run.deployment == Some(DeploymentState::Stopped)).await;
    assert_eq!(app.call(LatestDeployment {}).await.unwrap().and_then(|d| d.pipeline_run_id), Some(gated.run.id));
    let again = app.call(DeployAnyway { id: gated.run.id }).await.unwrap_err();
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "already deployed: {again:?}");

    let events = app.store().await.recent_events(50).await.unwrap();
    let audited = |outcome: &str| events.iter().any(|e| e.action == "pipeline.deploy_anyway" && e.actor == "olga" && e.outcome.starts_with(outcome));
    assert!(audited("ok") && audited("refused"), "{events:?}");
    app.stop().await;
}

#[tokio::test]
async fn margins_are_settings_checked_by_field_and_given_to_the_redeployment() {
    let app = TestApp::start().await;
    let mut settings = app.call(GetSettings {}).await.unwrap();
    settings.gate_recall_margin = "a lot".into();
    let refused = app.call(SaveSettings { settings: settings.clone() }).await.unwrap_err();
    assert!(refused.status == StatusCode::BAD_REQUEST && refused.error.to_string().contains("gate_recall_margin"), "{refused:?}");
    settings.gate_recall_margin = "0.25".into();
    app.call(SaveSettings { settings }).await.unwrap();
    let setup = app.call(ApplyPipelineSetup {}).await.unwrap();
    let redeploy = setup.jobs.iter().find(|j| j.stage == Stage::ApiRedeployment).unwrap();
    assert_eq!(redeploy.state, JobCheckState::Matches, "{redeploy:?}");
    let mut settings = app.call(GetSettings {}).await.unwrap();
    settings.gate_recall_margin = "0.1".into();
    app.call(SaveSettings { settings }).await.unwrap();
    let view = app.call(PipelineSetup {}).await.unwrap();
    let redeploy = view.jobs.iter().find(|j| j.stage == Stage::ApiRedeployment).unwrap();
    assert!(redeploy.differences.iter().any(|d| d.contains("GATE_RECALL_MARGIN should be \"0.1\"")), "the job is told the new margin on repair: {redeploy:?}");
    app.stop().await;
}
