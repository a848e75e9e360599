//! The real `mlflow` client (the pipeline's runtime) against the local workspace's MLflow routes:
//! search filters of every kind, `order_by` on every key kind in both directions, paging,
//! refusals, metric history and `search_experiments`, each answer compared with what MLflow's own
//! rules give on the same runs (`mlflow_client/search_check.py`, run as a job in the workspace).

mod common;

use cml_api::CreateJobRunRequest;
use common::workspace::{pipeline_project, TestWorkspace};
use domain::JobRunState;

#[tokio::test]
async fn the_mlflow_client_gets_the_answers_mlflows_own_rules_give() {
    let project = pipeline_project();
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mlflow_client/search_check.py"), project.path().join("search_check.py")).unwrap();
    let ws = TestWorkspace::start_in(tempfile::tempdir().unwrap(), project).await;
    let job = ws.job("MLflow search check", "search_check.py", None).await;
    ws.client.create_job_run(&ws.project_id, &job.id, &CreateJobRunRequest::default()).await.unwrap();
    let run = ws.wait_for_end(&job).await;
    let log = std::fs::read_to_string(ws.file(&format!("logs/jobs/{}/{}.log", job.id, run.id))).unwrap_or_default();
    println!("{log}");
    assert_eq!(run.status, JobRunState::Succeeded, "the check found differences:\n{log}");
    assert!(log.contains("every answer matches MLflow's rules"), "{log}");

    // A route MLflow's client might try that is not served: MLflow's error shape, not CML's.
    for (method, path) in [(reqwest::Method::GET, "/api/2.0/mlflow/registered-models/search"), (reqwest::Method::POST, "/api/3.0/mlflow/traces/search")] {
        let response = reqwest::Client::new().request(method, format!("{}{path}", ws.workspace.url())).bearer_auth(ws.workspace.api_key()).send().await.unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::NOT_FOUND, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error_code"], "ENDPOINT_NOT_FOUND", "{path}: {body}");
        assert!(body["message"].as_str().unwrap().contains(path), "{body}");
    }
    ws.workspace.shutdown().await;
}
