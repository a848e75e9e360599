//! The same Lakeline, configured with a workspace URL and key, drives that workspace over HTTP
//! (here a local workspace started on its own, standing in for CML).

mod common;

use app::api::{ApplyPipelineSetup, JobCheckState};
use common::workspace::TestWorkspace;
use common::TestApp;
use lakeline::config::Secret;

#[tokio::test]
async fn lakeline_drives_a_workspace_given_by_url_and_key() {
    let ws = TestWorkspace::start().await;
    let server = TestApp::builder().remote_workspace(&ws).with_config(|c| c.owner_suffix = Some("remote".into())).start().await;

    let setup = server.call(ApplyPipelineSetup {}).await.unwrap();
    assert_eq!(setup.workspace, format!("CML workspace {}", ws.workspace.url()));
    assert_eq!(setup.jobs.len(), 3);
    assert!(setup.jobs.iter().all(|j| j.state == JobCheckState::Matches), "{:?}", setup.jobs);
    // The jobs exist in the workspace Lakeline was pointed at.
    let jobs = ws.client.list_jobs(&ws.project_id).await.unwrap();
    let mut names: Vec<_> = jobs.iter().map(|j| j.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["API Redeployment remote", "New Batch remote", "Retrain XGBoost remote"]);
    server.stop().await;
    ws.workspace.shutdown().await;
}

#[tokio::test]
async fn a_url_without_a_key_or_project_is_a_clear_error() {
    let err = TestApp::builder().with_config(|c| c.cml_url = Some("https://ml.example.com".into())).prepare().await.err().expect("refused");
    assert!(err.to_string().contains("--cml-api-key"), "{err}");
    let err = TestApp::builder()
        .with_config(|c| {
            c.cml_url = Some("https://ml.example.com".into());
            c.cml_api_key = Some(Secret("k".into()));
        })
        .prepare()
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("--cml-project-id"), "{err}");
}

#[tokio::test]
async fn twenty_simultaneous_set_ups_leave_exactly_three_jobs() {
    let ws = TestWorkspace::start().await;
    let server = TestApp::builder().remote_workspace(&ws).with_config(|c| c.owner_suffix = Some("race".into())).start().await;
    let calls = (0..20).map(|_| server.call(ApplyPipelineSetup {}));
    let answers = futures_util::future::join_all(calls).await;
    for answer in answers {
        let view = answer.unwrap();
        assert!(view.jobs.iter().all(|j| j.state == JobCheckState::Matches), "{:?}", view.jobs);
    }
    let jobs = ws.client.list_jobs(&ws.project_id).await.unwrap();
    let mut names: Vec<_> = jobs.iter().map(|j| j.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["API Redeployment race", "New Batch race", "Retrain XGBoost race"], "no job was created twice");
    server.stop().await;
    ws.workspace.shutdown().await;
}
