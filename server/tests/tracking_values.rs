//! Every metric, param and tag value a client logs to the local workspace reads back exactly as
//! it was sent, through MLflow's REST routes and through API v2 — numbers to the last bit.

mod common;

use chrono::{TimeZone, Utc};
use cml_api::{LogExperimentRunBatchRequest, Metric, Tag};
use common::workspace::TestWorkspace;
use serde_json::{json, Value};

/// Values that break naive float parsing or printing.
const HARD: &[f64] = &[
    0.1 + 0.2,
    5e-324,
    2.2250738585072014e-308,
    1.7976931348623157e308,
    0.9222222222222223,
    0.9222222222222224,
    0.38566829194149443,
    0.23980378213491294,
    1.0000000000000002,
    -0.0,
    1e23,
    9007199254740993.0,
];

/// Param and tag values that must come back byte for byte.
const TEXTS: &[&str] = &["0.9222222222222223", "0.1", "1e-07", "  spaced  ", "ünïcødé ✓", "line\nbreak", "\"quoted\"", ""];

struct Mlflow<'a> {
    ws: &'a TestWorkspace,
    http: reqwest::Client,
}

impl Mlflow<'_> {
    /// Posts a raw JSON text, so that the numbers travel exactly as written here.
    async fn post(&self, route: &str, body: String) -> Value {
        let response = self
            .http
            .post(format!("{}/api/2.0/mlflow/{route}", self.ws.workspace.url()))
            .bearer_auth(self.ws.workspace.api_key())
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let value: Value = response.json().await.unwrap();
        assert!(status.is_success(), "{route}: {status} {value}");
        value
    }

    async fn get(&self, route: &str, query: &[(&str, &str)]) -> Value {
        let response =
            self.http.get(format!("{}/api/2.0/mlflow/{route}", self.ws.workspace.url())).bearer_auth(self.ws.workspace.api_key()).query(query).send().await.unwrap();
        assert!(response.status().is_success(), "{route}: {}", response.status());
        response.json().await.unwrap()
    }
}

/// A double as MLflow's JSON carries it: a number, or "NaN" / "Infinity" / "-Infinity".
fn double(v: &Value) -> f64 {
    cml_api::serde_double::from_json(v).unwrap_or_else(|| panic!("{v} is not a double"))
}

fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn metric_key(i: usize) -> String {
    format!("m{i:02}")
}

#[tokio::test]
async fn logged_values_read_back_bit_exactly_through_mlflow_and_api_v2() {
    let ws = TestWorkspace::start().await;
    let mlflow = Mlflow { ws: &ws, http: reqwest::Client::new() };
    let experiment_id = mlflow.post("experiments/create", json!({"name": "exact"}).to_string()).await["experiment_id"].as_str().unwrap().to_string();
    let run = mlflow.post("runs/create", json!({"experiment_id": experiment_id, "start_time": 1}).to_string()).await;
    let run_id = run["run"]["info"]["run_id"].as_str().unwrap().to_string();

    // Numbers written as Python's json (and so mlflow's client) writes them: the shortest text
    // that reads back as the same double; the special values as protobuf's strings.
    let mut values: Vec<f64> = HARD.to_vec();
    values.extend([f64::NAN, f64::INFINITY, f64::NEG_INFINITY]);
    let metrics: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let text = match cml_api::serde_double::to_json(*v) {
                Value::String(s) => format!("\"{s}\""),
                _ => format!("{v:?}"),
            };
            format!(r#"{{"key":"{}","value":{text},"timestamp":1000,"step":0}}"#, metric_key(i))
        })
        .collect();
    let params: Vec<Value> = TEXTS.iter().enumerate().map(|(i, t)| json!({"key": format!("p{i}"), "value": t})).collect();
    let tags: Vec<Value> = TEXTS.iter().enumerate().map(|(i, t)| json!({"key": format!("t{i}"), "value": t})).collect();
    let batch = format!(
        r#"{{"run_id":"{run_id}","metrics":[{}],"params":{},"tags":{}}}"#,
        metrics.join(","),
        serde_json::to_string(&params).unwrap(),
        serde_json::to_string(&tags).unwrap()
    );
    mlflow.post("runs/log-batch", batch).await;
    // One more through the single-metric route.
    mlflow.post("runs/log-metric", format!(r#"{{"run_id":"{run_id}","key":"single","value":{:?},"timestamp":1000}}"#, 0.9222222222222223)).await;

    // MLflow REST: runs/get and metrics/get-history.
    let got = mlflow.get("runs/get", &[("run_id", &run_id)]).await;
    let data = &got["run"]["data"];
    for (i, v) in values.iter().enumerate() {
        let key = metric_key(i);
        let m = data["metrics"].as_array().unwrap().iter().find(|m| m["key"] == key.as_str()).unwrap_or_else(|| panic!("metric {key}"));
        assert!(same(double(&m["value"]), *v), "runs/get {key}: sent {v:?}, got {}", m["value"]);
        let history = mlflow.get("metrics/get-history", &[("run_id", &run_id), ("metric_key", &key)]).await;
        let points = history["metrics"].as_array().unwrap();
        assert_eq!(points.len(), 1, "{history}");
        assert!(same(double(&points[0]["value"]), *v), "get-history {key}: sent {v:?}, got {}", points[0]["value"]);
    }
    let single = data["metrics"].as_array().unwrap().iter().find(|m| m["key"] == "single").unwrap();
    assert_eq!(double(&single["value"]).to_bits(), 0.9222222222222223f64.to_bits());
    for (list, prefix) in [("params", "p"), ("tags", "t")] {
        for (i, t) in TEXTS.iter().enumerate() {
            let key = format!("{prefix}{i}");
            let entry = data[list].as_array().unwrap().iter().find(|e| e["key"] == key.as_str()).unwrap_or_else(|| panic!("{list} {key}"));
            assert_eq!(entry["value"], *t, "{list} {key}");
        }
    }

    // API v2 reads the same run the same way.
    let read = ws.client.get_experiment_run(&ws.project_id, &experiment_id, &run_id).await.unwrap();
    for (i, v) in values.iter().enumerate() {
        let key = metric_key(i);
        let m = read.data.metrics.iter().find(|m| m.key == key).unwrap_or_else(|| panic!("API v2 metric {key}"));
        assert!(same(m.value, *v), "API v2 {key}: sent {v:?}, got {:?}", m.value);
    }
    for (i, t) in TEXTS.iter().enumerate() {
        assert_eq!(read.param(&format!("p{i}")), Some(*t));
        assert_eq!(read.tag(&format!("t{i}")), Some(*t));
    }

    // And what API v2 logs (LogExperimentRunBatch) reads back exactly through both.
    let request = LogExperimentRunBatchRequest {
        metrics: values
            .iter()
            .enumerate()
            .map(|(i, v)| Metric { key: format!("v2_{i:02}"), value: *v, timestamp: Utc.timestamp_millis_opt(2000).single(), step: 3 })
            .collect(),
        params: vec![Tag { key: "v2_param".into(), value: "0.30000000000000004".into() }],
        tags: vec![Tag { key: "v2_tag".into(), value: "ünïcødé ✓".into() }],
    };
    ws.client.log_experiment_run_batch(&ws.project_id, &experiment_id, &run_id, &request).await.unwrap();
    let read = ws.client.get_experiment_run(&ws.project_id, &experiment_id, &run_id).await.unwrap();
    let got = mlflow.get("runs/get", &[("run_id", &run_id)]).await;
    for (i, v) in values.iter().enumerate() {
        let key = format!("v2_{i:02}");
        let m = read.data.metrics.iter().find(|m| m.key == key).unwrap_or_else(|| panic!("API v2 metric {key}"));
        assert!(same(m.value, *v), "API v2 → API v2 {key}: sent {v:?}, got {:?}", m.value);
        assert_eq!(m.step, 3);
        assert_eq!(m.timestamp, Utc.timestamp_millis_opt(2000).single());
        let m = got["run"]["data"]["metrics"].as_array().unwrap().iter().find(|m| m["key"] == key.as_str()).unwrap();
        assert!(same(double(&m["value"]), *v), "API v2 → MLflow {key}: sent {v:?}, got {}", m["value"]);
    }
    assert_eq!(read.param("v2_param"), Some("0.30000000000000004"));
    assert_eq!(read.tag("v2_tag"), Some("ünïcødé ✓"));
    ws.workspace.shutdown().await;
}

#[tokio::test]
async fn a_metric_without_a_number_is_refused_with_its_key_named() {
    let ws = TestWorkspace::start().await;
    let mlflow = Mlflow { ws: &ws, http: reqwest::Client::new() };
    let experiment_id = mlflow.post("experiments/create", json!({"name": "refusals"}).to_string()).await["experiment_id"].as_str().unwrap().to_string();
    let run_id = mlflow.post("runs/create", json!({"experiment_id": experiment_id}).to_string()).await["run"]["info"]["run_id"].as_str().unwrap().to_string();
    let response = mlflow
        .http
        .post(format!("{}/api/2.0/mlflow/runs/log-metric", ws.workspace.url()))
        .bearer_auth(ws.workspace.api_key())
        .json(&json!({"run_id": run_id, "key": "accuracy", "value": "high"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");
    assert!(body["message"].as_str().unwrap().contains("\"accuracy\""), "{body}");

    // API v2: an empty key is refused, naming what is wrong; nothing is logged.
    let request = LogExperimentRunBatchRequest { metrics: vec![Metric { key: " ".into(), value: 1.0, ..Default::default() }], ..Default::default() };
    let err = ws.client.log_experiment_run_batch(&ws.project_id, &experiment_id, &run_id, &request).await.unwrap_err();
    assert!(matches!(err, lakeline::cml::CmlError::InvalidRequest { .. }), "{err}");
    assert!(err.to_string().contains("needs a key"), "{err}");
    assert!(ws.client.get_experiment_run(&ws.project_id, &experiment_id, &run_id).await.unwrap().data.metrics.is_empty());
    ws.workspace.shutdown().await;
}
