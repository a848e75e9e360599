use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ShortUser;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Experiment {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub artifact_location: String,
    #[serde(skip_serializing_if = "Option::is_none", with = "crate::timestamp")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none", with = "crate::timestamp")]
    pub updated_at: Option<DateTime<Utc>>,
    pub tags: Vec<Tag>,
    pub lifecycle_stage: String,
    pub user: ShortUser,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListExperimentsResponse {
    pub experiments: Vec<Experiment>,
    pub next_page_token: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Metric {
    pub key: String,
    #[serde(with = "crate::serde_double")]
    pub value: f64,
    #[serde(skip_serializing_if = "Option::is_none", with = "crate::timestamp")]
    pub timestamp: Option<DateTime<Utc>>,
    #[serde(with = "crate::serde_int64")]
    pub step: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RegisteredModelMetadata {
    pub model_path: String,
    pub model_name: String,
    pub model_id: String,
    pub model_version_id: String,
    pub version_number: i32,
    pub run_id: String,
    #[serde(skip_serializing_if = "Option::is_none", with = "crate::timestamp")]
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExperimentRunData {
    pub metrics: Vec<Metric>,
    pub params: Vec<Tag>,
    pub tags: Vec<Tag>,
    pub files: Vec<crate::FileInfo>,
    pub registered_model_metadata: Vec<RegisteredModelMetadata>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExperimentRunInputs {
    pub dataset_inputs: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExperimentRun {
    pub id: String,
    pub name: String,
    pub experiment_id: String,
    pub user: ShortUser,
    /// `EXPERIMENT_RUN_RUNNING`, `…_FINISHED`, `…_FAILED`, `…_KILLED`, `…_SCHEDULED`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none", with = "crate::timestamp")]
    pub start_time: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none", with = "crate::timestamp")]
    pub end_time: Option<DateTime<Utc>>,
    pub artifact_uri: String,
    pub data: ExperimentRunData,
    pub inputs: ExperimentRunInputs,
}

impl ExperimentRun {
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.data.tags.iter().find(|t| t.key == key).map(|t| t.value.as_str())
    }
    pub fn param(&self, key: &str) -> Option<&str> {
        self.data.params.iter().find(|t| t.key == key).map(|t| t.value.as_str())
    }
    pub fn metric(&self, key: &str) -> Option<f64> {
        self.data.metrics.iter().find(|m| m.key == key).map(|m| m.value)
    }
}

/// `LogExperimentRunBatch`: metrics, params and tags logged to a run in one call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogExperimentRunBatchRequest {
    pub metrics: Vec<Metric>,
    pub params: Vec<Tag>,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListExperimentRunsResponse {
    pub experiment_runs: Vec<ExperimentRun>,
    pub next_page_token: String,
}
