//! The real `mlflow` client (the pipeline's runtime) against the local workspace's MLflow routes:
//! search filters of every kind, `order_by` on every key kind in both directions, paging,
//! refusals, metric history and `search_experiments`, each answer compared with what MLflow's own
//! rules give on the same runs (`mlflow_client/search_check.py`, run as a job in the workspace).

mod common;

use common::workspace::{run_check_script, TestWorkspace};
use domain::JobRunState;

#[tokio::test]
async fn the_mlflow_client_gets_the_answers_mlflows_own_rules_give() {
    let (run, log) = run_check_script("mlflow_client/search_check.py", "MLflow search check").await;
    assert_eq!(run.status, JobRunState::Succeeded, "the check found differences:\n{log}");
    assert!(log.contains("every answer matches MLflow's rules"), "{log}");
}

#[tokio::test]
async fn unknown_mlflow_routes_answer_in_mlflows_error_shape() {
    let ws = TestWorkspace::start().await;
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
