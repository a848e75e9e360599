//! CML API v2 wire types, named and shaped as in Cloudera's `swagger.json` (snake_case fields,
//! int64 as JSON strings, RFC 3339 UTC timestamps, `environment` a JSON string in responses and
//! a map in requests). Readers are lenient (numbers or strings for int64, absent fields default);
//! writers are faithful.

pub mod experiments;
pub mod jobs;
pub mod registry;
pub mod projects;
pub mod runtimes;
pub mod schedule;
pub mod serde_double;
pub mod serde_int64;
pub mod status;
pub mod timestamp;

pub use experiments::*;
pub use jobs::*;
pub use registry::*;
pub use projects::*;
pub use runtimes::*;
pub use status::*;

use serde::{Deserialize, Serialize};

/// The gRPC-gateway error envelope every failed call answers with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RuntimeError {
    pub error: String,
    pub code: i32,
    pub message: String,
    pub details: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ShortUser {
    pub username: String,
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ValidateApiKeyRequest {
    pub audience: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ValidateApiKeyResponse {
    pub valid: bool,
    pub username: String,
    pub message: String,
}

/// An empty response message (`DeleteJobResponse` and friends).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Empty {}

/// Encodes a map of environment variables the way responses carry it: a JSON string.
pub fn environment_to_string(env: &std::collections::BTreeMap<String, String>) -> String {
    serde_json::to_string(env).unwrap_or_else(|_| "{}".into())
}

/// Reads a response's `environment` string; empty or malformed strings give an empty map.
pub fn environment_from_string(s: &str) -> std::collections::BTreeMap<String, String> {
    if s.trim().is_empty() {
        return Default::default();
    }
    serde_json::from_str(s).unwrap_or_default()
}
