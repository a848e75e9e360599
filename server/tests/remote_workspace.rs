//! The same Lakeline, configured with a workspace URL and key, drives that workspace over HTTP
//! (here a local workspace started on its own, standing in for CML).

mod common;

use common::workspace::TestWorkspace;
use lakeline::config::{Config, Secret};
use lakeline::Lakeline;

#[tokio::test]
async fn lakeline_drives_a_workspace_given_by_url_and_key() {
    let ws = TestWorkspace::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_data_dir(dir.path());
    config.cml_url = Some(format!("{}/api/v1", ws.workspace.url()));
    config.cml_api_key = Some(Secret(ws.workspace.api_key().to_string()));
    config.cml_project_id = Some(ws.project_id.clone());
    config.owner_suffix = Some("remote".into());
    let server = Lakeline::prepare(config).await.unwrap();
    let url = format!("http://{}", server.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.serve(async {
        let _ = stopped.await;
    }));

    let http = reqwest::Client::new();
    let call = |name: &str| http.post(format!("{url}/api/{name}")).header("content-type", "application/x-www-form-urlencoded").body("");
    let setup: serde_json::Value = call("apply_pipeline_setup").send().await.unwrap().json().await.unwrap();
    assert_eq!(setup["workspace"], format!("CML workspace {}", ws.workspace.url()));
    let states: Vec<_> = setup["jobs"].as_array().unwrap().iter().map(|j| j["state"].as_str().unwrap().to_string()).collect();
    assert_eq!(states, ["matches", "matches", "matches"]);
    // The jobs exist in the workspace Lakeline was pointed at.
    let jobs = ws.client.list_jobs(&ws.project_id).await.unwrap();
    let mut names: Vec<_> = jobs.iter().map(|j| j.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["API Redeployment remote", "New Batch remote", "Retrain XGBoost remote"]);
    let _ = stop.send(());
    task.await.unwrap().unwrap();
    ws.workspace.shutdown().await;
}

#[tokio::test]
async fn a_url_without_a_key_or_project_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_data_dir(dir.path());
    config.cml_url = Some("https://ml.example.com".into());
    let err = Lakeline::prepare(config.clone()).await.err().expect("refused");
    assert!(err.to_string().contains("--cml-api-key"), "{err}");
    config.cml_api_key = Some(Secret("k".into()));
    let err = Lakeline::prepare(config).await.err().expect("refused");
    assert!(err.to_string().contains("--cml-project-id"), "{err}");
}
