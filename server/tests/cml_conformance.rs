//! Every JSON body the local workspace returns for the operations Lakeline uses validates against
//! the matching response definition of Cloudera's `swagger.json`.

mod common;

use std::time::Duration;

use common::swagger::Swagger;
use common::workspace::TestWorkspace;
use reqwest::Method;
use serde_json::{json, Value};

struct Raw<'a> {
    http: reqwest::Client,
    base: String,
    key: &'a str,
    spec: &'a Swagger,
    checked: Vec<String>,
}

impl Raw<'_> {
    /// Calls the workspace and validates the body against the operation's 200 schema (or the
    /// error definition when `expect_error`).
    async fn call(&mut self, method: Method, template: &str, path: &str, body: Option<Value>, expect_error: bool) -> Value {
        let mut request = self.http.request(method.clone(), format!("{}{}", self.base, path)).bearer_auth(self.key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let value: Value = response.json().await.unwrap_or_else(|e| panic!("{method} {path}: body is not JSON: {e}"));
        let schema = if expect_error {
            assert!(!status.is_success(), "{method} {path} was expected to fail: {value}");
            json!({"$ref": "#/definitions/runtimeError"})
        } else {
            assert!(status.is_success(), "{method} {path} failed with {status}: {value}");
            self.spec.response_schema(&method.as_str().to_lowercase(), template).clone()
        };
        let errors = self.spec.check(&schema, &value);
        assert!(errors.is_empty(), "{method} {template} does not match the spec:\n{}\nbody: {value:#}", errors.join("\n"));
        self.checked.push(format!("{method} {template}"));
        value
    }
}

#[tokio::test]
async fn local_workspace_bodies_match_cml_s_swagger() {
    let Some(spec) = Swagger::load() else { return };
    let ws = TestWorkspace::start().await;
    let pid = ws.project_id.clone();
    let mut raw = Raw { http: reqwest::Client::new(), base: ws.workspace.url(), key: ws.workspace.api_key(), spec: &spec, checked: vec![] };

    raw.call(Method::POST, "/api/v2/auth/validate_key", "/api/v2/auth/validate_key", Some(json!({"audience": "API"})), false).await;
    raw.call(Method::GET, "/api/v2/projects", "/api/v2/projects", None, false).await;
    raw.call(Method::GET, "/api/v2/projects/{project_id}", &format!("/api/v2/projects/{pid}"), None, false).await;
    raw.call(Method::GET, "/api/v2/runtimes", "/api/v2/runtimes", None, false).await;
    let runtimes = raw
        .call(Method::GET, "/api/v2/runtimes", r#"/api/v2/runtimes?search_filter={"editor":"Workbench"}"#, None, false)
        .await;
    let runtime = runtimes["runtimes"][0]["image_identifier"].as_str().unwrap().to_string();

    let jobs = format!("/api/v2/projects/{pid}/jobs");
    let parent = raw
        .call(
            Method::POST,
            "/api/v2/projects/{project_id}/jobs",
            &jobs,
            Some(json!({"name": "New Batch", "script": "ok.py", "runtime_identifier": runtime, "cpu": 2, "memory": 4, "nvidia_gpu": 0,
                        "environment": {"A": "1"}, "timeout": 600, "kill_on_timeout": true})),
            false,
        )
        .await;
    let parent_id = parent["id"].as_str().unwrap().to_string();
    assert_eq!(parent["timeout"], "600", "int64 travels as a string");
    assert_eq!(parent["environment"], r#"{"A":"1"}"#, "environment is a JSON string in responses");
    let child = raw
        .call(Method::POST, "/api/v2/projects/{project_id}/jobs", &jobs, Some(json!({"name": "Retrain", "script": "ok.py", "parent_job_id": parent_id})), false)
        .await;
    assert_eq!(child["parent_id"], parent_id.as_str(), "the deprecated alias is read, parent_id is written");
    assert_eq!(child["type"], "dependent");
    let child_id = child["id"].as_str().unwrap().to_string();
    raw.call(Method::GET, "/api/v2/projects/{project_id}/jobs", &jobs, None, false).await;
    raw.call(Method::GET, "/api/v2/projects/{project_id}/jobs", &format!(r#"{jobs}?search_filter={{"name":"New"}}&sort=-name&page_size=1"#), None, false).await;
    raw.call(Method::GET, "/api/v2/projects/{project_id}/jobs/{job_id}", &format!("{jobs}/{parent_id}"), None, false).await;
    raw.call(Method::PATCH, "/api/v2/projects/{project_id}/jobs/{job.id}", &format!("{jobs}/{child_id}"), Some(json!({"cpu": 1.5})), false).await;

    let runs = format!("{jobs}/{parent_id}/runs");
    let run = raw.call(Method::POST, "/api/v2/projects/{project_id}/jobs/{job_id}/runs", &runs, Some(json!({})), false).await;
    let run_id = run["id"].as_str().unwrap().to_string();
    raw.call(Method::GET, "/api/v2/projects/{project_id}/jobs/{job_id}/runs/{run_id}", &format!("{runs}/{run_id}"), None, false).await;
    raw.call(Method::GET, "/api/v2/projects/{project_id}/jobs/{job_id}/runs", &format!("{runs}?sort=-created_at&page_size=1"), None, false).await;
    raw.call(Method::GET, "/api/v2/projects/{project_id}/jobs/{job_id}/runs", &format!(r#"{runs}?search_filter={{"status":"running"}}"#), None, false).await;

    // Let the chain finish so that every phase timestamp is present, then check again.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let listed = raw.call(Method::GET, "/api/v2/projects/{project_id}/jobs/{job_id}/runs", &format!("{jobs}/{child_id}/runs"), None, false).await;
        if listed["job_runs"][0]["status"] == "ENGINE_SUCCEEDED" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the chain did not finish");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let finished = raw.call(Method::GET, "/api/v2/projects/{project_id}/jobs/{job_id}/runs/{run_id}", &format!("{runs}/{run_id}"), None, false).await;
    for field in ["created_at", "scheduling_at", "starting_at", "running_at", "finished_at"] {
        assert!(finished[field].is_string(), "{field} is set: {finished}");
    }

    // Stopping: a running job, then the error shape for a run that is no longer active.
    let sleeper = raw.call(Method::POST, "/api/v2/projects/{project_id}/jobs", &jobs, Some(json!({"name": "sleeper", "script": "sleep.py"})), false).await;
    let sleeper_runs = format!("{jobs}/{}/runs", sleeper["id"].as_str().unwrap());
    let sleeping = raw.call(Method::POST, "/api/v2/projects/{project_id}/jobs/{job_id}/runs", &sleeper_runs, None, false).await;
    let stop = format!("{sleeper_runs}/{}:stop", sleeping["id"].as_str().unwrap());
    raw.call(Method::POST, "/api/v2/projects/{project_id}/jobs/{job_id}/runs/{run_id}:stop", &stop, None, false).await;
    raw.call(Method::POST, "/api/v2/projects/{project_id}/jobs/{job_id}/runs/{run_id}:stop", &format!("{runs}/{run_id}:stop"), None, true).await;

    raw.call(Method::GET, "/api/v2/projects/{project_id}/files/{path}", &format!("/api/v2/projects/{pid}/files/logs"), None, false).await;
    raw.call(Method::GET, "/api/v2/projects/{project_id}/files/{path}", &format!("/api/v2/projects/{pid}/files/ok.py"), None, false).await;
    raw.call(Method::DELETE, "/api/v2/projects/{project_id}/jobs/{job_id}", &format!("{jobs}/{child_id}"), None, false).await;

    // Errors: not found, bad input, and no key at all.
    raw.call(Method::GET, "", &format!("{jobs}/nope-nope-nope-nope"), None, true).await;
    raw.call(Method::POST, "", &jobs, Some(json!({"name": ""})), true).await;
    // Bad query values, a page size beyond the workspace's and a method no operation takes: the
    // JSON envelope, with the code CML's gateway gives, naming what was wrong.
    let bad = raw.call(Method::GET, "", &format!("{jobs}?page_size=ten"), None, true).await;
    assert_eq!(bad["code"], 3, "{bad}");
    assert!(bad["message"].as_str().unwrap().contains("page_size"), "{bad}");
    let big = raw.call(Method::GET, "", &format!("{jobs}?page_size=5000"), None, true).await;
    assert!(big["message"].as_str().unwrap().contains("page_size"), "{big}");
    let unimplemented = raw.call(Method::PUT, "", &jobs, None, true).await;
    assert_eq!(unimplemented["code"], 12, "{unimplemented}");
    let unauthenticated = reqwest::get(format!("{}{jobs}", ws.workspace.url())).await.unwrap();
    assert_eq!(unauthenticated.status(), 401);
    let body: Value = unauthenticated.json().await.unwrap();
    assert!(spec.check(&json!({"$ref": "#/definitions/runtimeError"}), &body).is_empty(), "{body}");
    assert_eq!(body["code"], 16);

    eprintln!("checked against the spec: {}", raw.checked.join(", "));
    ws.workspace.shutdown().await;
}

#[test]
fn the_checker_rejects_what_the_spec_forbids() {
    let Some(spec) = Swagger::load() else { return };
    let job = json!({"$ref": "#/definitions/Job"});
    assert!(spec.check(&job, &json!({"id": "a", "timeout": "600"})).is_empty());
    assert_eq!(spec.check(&job, &json!({"timeout": 600})).len(), 1, "int64 as a number");
    assert_eq!(spec.check(&job, &json!({"environment": {"A": "1"}})).len(), 1, "environment as an object");
    assert_eq!(spec.check(&job, &json!({"parent_job_id": "x"})).len(), 1, "a field Job does not have");
    assert_eq!(spec.check(&job, &json!({"created_at": "yesterday"})).len(), 1);
    let run = json!({"$ref": "#/definitions/JobRun"});
    assert_eq!(spec.check(&run, &json!({"status": "RUNNING"})).len(), 1, "not an EngineStatus");
}
