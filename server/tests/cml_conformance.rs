//! Every JSON body the local workspace returns for the operations Lakeline uses validates against
//! the matching response definition of Cloudera's `swagger.json`.

mod common;

use std::time::Duration;

use common::swagger::{Swagger, WRONGLY_DOCUMENTED};
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

#[tokio::test]
async fn every_list_takes_the_keys_its_documentation_names() {
    let Some(spec) = Swagger::load() else { return };
    let ws = TestWorkspace::start().await;
    let pid = ws.project_id.clone();
    let mut raw = Raw { http: reqwest::Client::new(), base: ws.workspace.url(), key: ws.workspace.api_key(), spec: &spec, checked: vec![] };

    // Something in every list: a job with a finished run, an experiment with a run that has a
    // metric, a param and a tag.
    let jobs = format!("/api/v2/projects/{pid}/jobs");
    let job = raw.call(Method::POST, "/api/v2/projects/{project_id}/jobs", &jobs, Some(json!({"name": "lister", "script": "ok.py"})), false).await;
    let job_id = job["id"].as_str().unwrap().to_string();
    let job_runs = format!("{jobs}/{job_id}/runs");
    raw.call(Method::POST, "/api/v2/projects/{project_id}/jobs/{job_id}/runs", &job_runs, Some(json!({})), false).await;
    let mlflow = |route: &str| format!("{}/api/2.0/mlflow/{route}", ws.workspace.url());
    let http = reqwest::Client::new();
    let post = |route: &str, body: Value| http.post(mlflow(route)).bearer_auth(ws.workspace.api_key()).json(&body).send();
    let experiment: Value = post("experiments/create", json!({"name": "listed"})).await.unwrap().json().await.unwrap();
    let experiment_id = experiment["experiment_id"].as_str().unwrap().to_string();
    let run: Value = post("runs/create", json!({"experiment_id": experiment_id, "run_name": "one"})).await.unwrap().json().await.unwrap();
    let run_id = run["run"]["info"]["run_id"].as_str().unwrap().to_string();
    post("runs/log-batch", json!({"run_id": run_id, "metrics": [{"key": "acc", "value": 0.9, "timestamp": 1, "step": 0}], "params": [{"key": "depth", "value": "4"}], "tags": [{"key": "team", "value": "ops"}]}))
        .await
        .unwrap();

    let lists = [
        ("/api/v2/projects", "/api/v2/projects".to_string()),
        ("/api/v2/runtimes", "/api/v2/runtimes".to_string()),
        ("/api/v2/projects/{project_id}/jobs", jobs.clone()),
        ("/api/v2/projects/{project_id}/jobs/{job_id}/runs", job_runs.clone()),
        ("/api/v2/projects/{project_id}/experiments", format!("/api/v2/projects/{pid}/experiments")),
        ("/api/v2/projects/{project_id}/experiments/{experiment_id}/runs", format!("/api/v2/projects/{pid}/experiments/{experiment_id}/runs")),
        ("/api/v2/registry/models", "/api/v2/registry/models".to_string()),
        ("/api/v2/projects/{project_id}/models", format!("/api/v2/projects/{pid}/models")),
    ];
    let mut tried = 0;
    for (template, path) in &lists {
        for param in ["search_filter", "sort"] {
            let mut keys = spec.documented_keys(template, param);
            if template.ends_with("/experiments/{experiment_id}/runs") {
                // "Dynamic search key words … [metrics tags params]".
                keys.extend(["metrics.acc", "params.depth", "tags.team"].map(String::from));
            }
            for key in keys {
                let queries = if param == "search_filter" {
                    // A status must be one; any other value just filters.
                    let value = if key == "status" { "succeeded" } else { "o" };
                    vec![format!("search_filter={}", urlencode(&json!({ key.as_str(): value }).to_string()))]
                } else {
                    vec![format!("sort={key}"), format!("sort=-{key}")]
                };
                for query in queries {
                    let url = format!("{path}?{query}");
                    tried += 1;
                    if WRONGLY_DOCUMENTED.contains(&(template, key.as_str())) {
                        let refused = raw.call(Method::GET, template, &url, None, true).await;
                        assert!(refused["message"].as_str().unwrap().contains("supported keys"), "{url}: {refused}");
                    } else {
                        raw.call(Method::GET, template, &url, None, false).await;
                    }
                }
            }
        }
        // A key no documentation names: refused, naming the ones that work.
        let refused = raw.call(Method::GET, template, &format!("{path}?sort=-bogus"), None, true).await;
        assert_eq!(refused["code"], 3, "{refused}");
        assert!(refused["message"].as_str().unwrap().contains("supported keys"), "{refused}");
    }
    assert!(tried > 100, "only {tried} queries: the documented keys were not found");

    // The filters and sorts do what they say.
    let sorted = raw.call(Method::GET, "/api/v2/projects/{project_id}/experiments/{experiment_id}/runs", &format!("/api/v2/projects/{pid}/experiments/{experiment_id}/runs?search_filter={}", urlencode(r#"{"metrics.acc":"0.9"}"#)), None, false).await;
    assert_eq!(sorted["experiment_runs"].as_array().unwrap().len(), 1, "{sorted}");
    let none = raw.call(Method::GET, "/api/v2/projects/{project_id}/experiments/{experiment_id}/runs", &format!("/api/v2/projects/{pid}/experiments/{experiment_id}/runs?search_filter={}", urlencode(r#"{"tags.team":"data"}"#)), None, false).await;
    assert_eq!(none["experiment_runs"].as_array().map_or(0, Vec::len), 0, "{none}");
    ws.workspace.shutdown().await;
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// `GET /api/v2/swagger.json` answers without a key, and it is Cloudera's document cut down to
/// exactly the operations this workspace answers (each operation of Cloudera's document is called
/// with made-up ids: one this workspace does not route answers 404 "no such API route" or 501) and
/// the definitions they reference. `LAKELINE_BLESS_SWAGGER=1` rewrites the served file from that.
#[tokio::test]
async fn swagger_json_lists_exactly_the_operations_this_workspace_answers() {
    let Some(spec) = Swagger::load() else { return };
    let ws = TestWorkspace::start().await;
    let http = reqwest::Client::new();
    let base = ws.workspace.url();

    let served = http.get(format!("{base}/api/v2/swagger.json")).send().await.unwrap();
    assert_eq!(served.status(), 200, "swagger.json is served without a key");
    assert_eq!(served.headers()["content-type"], "application/json");
    let served: Value = served.json().await.unwrap();

    let mut paths = serde_json::Map::new();
    let (mut answered, mut not_answered) = (0, 0);
    for (template, operations) in spec.doc()["paths"].as_object().unwrap() {
        let path = made_up_ids(template);
        let mut kept = serde_json::Map::new();
        for (method, operation) in operations.as_object().unwrap() {
            if method == "parameters" {
                continue;
            }
            let method_ = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let mut request = http.request(method_.clone(), format!("{base}{path}")).bearer_auth(ws.workspace.api_key());
            if method_ != Method::GET && method_ != Method::DELETE {
                request = request.json(&json!({}));
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or_else(|e| panic!("{method} {path}: the answer is not JSON: {e}"));
            let routed = !(status == 501 || (status == 404 && body["message"] == "no such API route in this workspace"));
            if routed {
                kept.insert(method.clone(), operation.clone());
                answered += 1;
            } else {
                assert!(spec.check(&json!({"$ref": "#/definitions/runtimeError"}), &body).is_empty(), "{method} {path}: {body}");
                not_answered += 1;
            }
        }
        if !kept.is_empty() {
            if let Some(shared) = operations.get("parameters") {
                kept.insert("parameters".into(), shared.clone());
            }
            paths.insert(template.clone(), Value::Object(kept));
        }
    }
    assert!(answered >= 30 && not_answered > 0, "answered {answered}, not answered {not_answered}");

    let mut expected = spec.doc().clone();
    expected["info"]["description"] =
        json!("Cloudera AI REST API v2 Reference: the operations Lakeline's local workspace implements");
    expected["paths"] = Value::Object(paths);
    let referenced = referenced_definitions(&expected["paths"], spec.doc());
    let definitions: serde_json::Map<String, Value> =
        spec.doc()["definitions"].as_object().unwrap().iter().filter(|(name, _)| referenced.contains(*name)).map(|(k, v)| (k.clone(), v.clone())).collect();
    expected["definitions"] = Value::Object(definitions);

    if served != expected {
        let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../local-workspace/src/api/swagger.json");
        if std::env::var("LAKELINE_BLESS_SWAGGER").is_ok_and(|v| v == "1") {
            std::fs::write(file, serde_json::to_string_pretty(&expected).unwrap() + "\n").unwrap();
            eprintln!("wrote {file}; rebuild and run again");
        }
        let ops = |doc: &Value| -> Vec<String> {
            doc["paths"].as_object().map_or(vec![], |p| {
                p.iter().flat_map(|(t, ms)| ms.as_object().unwrap().keys().filter(|m| *m != "parameters").map(move |m| format!("{m} {t}"))).collect()
            })
        };
        let (have, want) = (ops(&served), ops(&expected));
        panic!(
            "the served swagger.json is not Cloudera's document cut to the routed operations \
             (run this test with LAKELINE_BLESS_SWAGGER=1 to rewrite {file}).\nserved but not routed: {:?}\nrouted but not served: {:?}",
            have.iter().filter(|o| !want.contains(o)).collect::<Vec<_>>(),
            want.iter().filter(|o| !have.contains(o)).collect::<Vec<_>>(),
        );
    }
}

/// A path of the template with every `{parameter}` replaced by an id no object has.
fn made_up_ids(template: &str) -> String {
    let mut path = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').unwrap() + open;
        path.push_str(&rest[..open]);
        path.push_str("no-such-id");
        rest = &rest[close + 1..];
    }
    path + rest
}

/// The names of the definitions `value` references, directly or through other definitions.
fn referenced_definitions(value: &Value, doc: &Value) -> std::collections::BTreeSet<String> {
    fn walk(value: &Value, doc: &Value, found: &mut std::collections::BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                if let Some(name) = map.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/definitions/")) {
                    if found.insert(name.to_string()) {
                        walk(&doc["definitions"][name], doc, found);
                    }
                }
                map.values().for_each(|v| walk(v, doc, found));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, doc, found)),
            _ => {}
        }
    }
    let mut found = std::collections::BTreeSet::new();
    walk(value, doc, &mut found);
    found
}
