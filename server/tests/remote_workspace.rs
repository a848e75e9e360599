//! The same Lakeline, configured with a workspace URL and key, drives that workspace over HTTP
//! (here a local workspace started on its own, standing in for CML).

mod common;

use app::api::{ApplyPipelineSetup, CheckPipelineSetup, JobCheckState, RemoveDuplicateJobs};
use cml_api::CreateJobRequest;
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

/// Jobs that carry the pipeline's names twice (left by an old race, or made by hand) are shown
/// in Settings and removed in one click; the chain that remains is whole.
#[tokio::test]
async fn duplicate_jobs_are_shown_and_removed_in_one_click() {
    let ws = TestWorkspace::start().await;
    let server = TestApp::builder().remote_workspace(&ws).with_config(|c| c.owner_suffix = Some("dup".into())).start().await;
    let setup = server.call(ApplyPipelineSetup {}).await.unwrap();
    let kept: Vec<String> = setup.jobs.iter().map(|j| j.job_id.clone().unwrap()).collect();
    for (name, script, parent, copies) in [("Retrain XGBoost dup", "train_xgboost.py", &kept[0], 2), ("API Redeployment dup", "api_redeployment.py", &kept[1], 1)] {
        for _ in 0..copies {
            let request = CreateJobRequest { name: name.into(), script: script.into(), parent_id: parent.clone(), ..Default::default() };
            ws.client.create_job(&ws.project_id, &request).await.unwrap();
        }
    }

    let seen = server.call(CheckPipelineSetup {}).await.unwrap();
    let counts: Vec<usize> = seen.jobs.iter().map(|j| j.duplicates.len()).collect();
    assert_eq!(counts, [0, 2, 1], "{:?}", seen.jobs);
    assert_eq!(seen.jobs.iter().map(|j| j.job_id.clone().unwrap()).collect::<Vec<_>>(), kept, "the chain keeps using the jobs it had");
    assert!(seen.error.as_deref().is_some_and(|e| e.contains("3 more job(s)")), "{:?}", seen.error);

    let cleaned = server.call(RemoveDuplicateJobs {}).await.unwrap();
    assert!(cleaned.jobs.iter().all(|j| j.duplicates.is_empty() && j.state == JobCheckState::Matches), "{:?}", cleaned.jobs);
    let jobs = ws.client.list_jobs(&ws.project_id).await.unwrap();
    let mut ids: Vec<_> = jobs.iter().map(|j| j.id.clone()).collect();
    ids.sort();
    let mut expected = kept.clone();
    expected.sort();
    assert_eq!(ids, expected, "exactly the chain's three jobs remain");
    let events = server.store().await.recent_events(5).await.unwrap();
    assert!(events.iter().any(|e| e.action == "pipeline.remove_duplicates" && e.detail.contains("deleted")), "{events:?}");
    server.stop().await;
    ws.workspace.shutdown().await;
}
