//! A property test of how server functions read their arguments: whatever the body — random
//! bytes, the right fields with any values, fields missing, repeated or unknown — every server
//! function answers 2xx, or 4xx with an error a person can read; never 5xx, never a dropped
//! connection. Seeded, so every run tries the same cases (`FUZZ_CASES` asks for more).

mod common;

use app::error::AppError;
use common::TestApp;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

/// Every server function but the one that creates jobs (it takes no arguments), with its fields.
const ENDPOINTS: &[(&str, &[&str])] = &[
    ("stop_pipeline", &["id"]),
    ("get_pipeline_run", &["id"]),
    ("trigger_pipeline", &["arguments", "environment"]),
    ("list_pipeline_runs", &["filter[status]", "filter[from]", "filter[to]", "filter[who]", "filter[snapshot]", "cursor"]),
    (
        "save_settings",
        &[
            "settings[owner_suffix]",
            "settings[runtime_kernel]",
            "settings[runtime_editor]",
            "settings[runtime_edition]",
            "settings[accuracy_key]",
            "settings[recall_key]",
            "settings[gate_accuracy_margin]",
            "settings[gate_recall_margin]",
        ],
    ),
    ("test_prediction", &["request"]),
    ("current_pipeline_run", &[]),
    ("server_status", &[]),
    ("pipeline_setup", &[]),
    ("check_pipeline_setup", &[]),
    ("get_settings", &[]),
    ("quality_series", &[]),
    ("latest_deployment", &[]),
];

const SEED: [u8; 32] = *b"lakeline argument decoding fuzz!";

fn encode(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// A value: text a person might type, a number at the edges, or any bytes.
fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<String>().prop_map(String::into_bytes),
        prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(-1i64), Just(0i64), any::<i64>()].prop_map(|n| n.to_string().into_bytes()),
        Just(b"before-9223372036854775807".to_vec()),
        Just(b"after--1".to_vec()),
        Just(b"2026-02-30".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..64),
    ]
}

/// A body for one server function: raw bytes, or a form of its fields (some missing, some
/// repeated, some unknown), percent-encoded or not.
fn body(fields: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    let field_names: Vec<&'static str> = fields.iter().copied().chain(["unknown", "id[]", "filter"]).collect();
    let form = proptest::collection::vec((proptest::sample::select(field_names), value(), any::<bool>()), 0..8).prop_map(|pairs| {
        let parts: Vec<Vec<u8>> = pairs
            .into_iter()
            .map(|(name, value, raw)| {
                let mut part = encode(name.as_bytes()).into_bytes();
                part.push(b'=');
                part.extend(if raw { value } else { encode(&value).into_bytes() });
                part
            })
            .collect();
        parts.join(&b'&')
    });
    prop_oneof![1 => proptest::collection::vec(any::<u8>(), 0..256), 4 => form]
}

#[test]
fn no_body_makes_a_server_function_fail_or_drop_the_connection() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(TestApp::start());
    let http = server.client().clone();
    let cases = std::env::var("FUZZ_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(600);
    let config = Config { cases, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &SEED));
    let strategy = proptest::sample::select(ENDPOINTS).prop_flat_map(|(name, fields)| (Just(name), body(fields)));
    let result = runner.run(&strategy, |(name, body)| {
        let shown = String::from_utf8_lossy(&body).into_owned();
        let answer = runtime.block_on(async {
            let response = http
                .post(server.url(&format!("/api/{name}")))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await?;
            let status = response.status();
            Ok::<_, reqwest::Error>((status, response.text().await?))
        });
        let (status, text) = answer.map_err(|e| TestCaseError::fail(format!("{name} {shown:?}: the connection failed: {e}")))?;
        prop_assert!(status.as_u16() < 500, "{} {:?}: answered {} {}", name, shown, status, text);
        if status.is_client_error() {
            let error = serde_json::from_str::<AppError>(&text);
            prop_assert!(error.is_ok(), "{} {:?}: {} with an unreadable error: {}", name, shown, status, text);
        }
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
    runtime.block_on(server.stop());
}
