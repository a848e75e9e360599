use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{EngineStatus, ShortProject, ShortUser};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Job {
    pub id: String,
    pub name: String,
    pub script: String,
    pub cpu: f64,
    pub memory: f64,
    pub nvidia_gpu: i32,
    pub arguments: String,
    /// `manual`, `cron` or `dependent`.
    #[serde(rename = "type")]
    pub job_type: String,
    pub kernel: String,
    pub parent_id: String,
    pub paused: bool,
    pub schedule: String,
    pub english_schedule: String,
    #[serde(with = "crate::serde_int64")]
    pub timeout: i64,
    pub kill_on_timeout: bool,
    pub timezone: String,
    /// Default environment variables as a JSON-encoded string.
    pub environment: String,
    pub runtime_identifier: String,
    pub runtime_addon_identifiers: Vec<String>,
    #[serde(with = "crate::serde_int64")]
    pub engine_image_id: i64,
    pub creator: ShortUser,
    pub owner: ShortUser,
    pub project: ShortProject,
    #[serde(skip_serializing_if = "Option::is_none", with = "crate::timestamp")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none", with = "crate::timestamp")]
    pub updated_at: Option<DateTime<Utc>>,
}

impl Job {
    pub fn environment_map(&self) -> BTreeMap<String, String> {
        crate::environment_from_string(&self.environment)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateJobRequest {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub project_id: String,
    pub name: String,
    pub script: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nvidia_gpu: Option<i32>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub parent_id: String,
    /// Deprecated alias of `parent_id`; read, never written.
    #[serde(skip_serializing)]
    pub parent_job_id: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub arguments: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kill_on_timeout: Option<bool>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub schedule: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub timezone: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kernel: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub runtime_identifier: String,
}

/// A partial `Job` for `PATCH …/jobs/{job.id}`: only the fields that are set are sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UpdateJob {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nvidia_gpu: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", with = "opt_int64", default)]
    pub timeout: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kill_on_timeout: Option<bool>,
    /// As a JSON-encoded string, like in the `Job` resource.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime_identifier: Option<String>,
}

mod opt_int64 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => s.serialize_str(&v.to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        #[derive(Deserialize)]
        struct Wrap(#[serde(with = "crate::serde_int64")] i64);
        Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListJobsResponse {
    pub jobs: Vec<Job>,
    pub next_page_token: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateJobRunRequest {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub arguments: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JobRun {
    pub id: String,
    pub project_id: String,
    pub job_id: String,
    pub status: EngineStatus,
    #[serde(skip_serializing_if = "Option::is_none", with = "crate::timestamp")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none", with = "crate::timestamp")]
    pub scheduling_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none", with = "crate::timestamp")]
    pub starting_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none", with = "crate::timestamp")]
    pub running_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none", with = "crate::timestamp")]
    pub finished_at: Option<DateTime<Utc>>,
    pub kernel: String,
    pub cpu: f64,
    pub memory: f64,
    pub nvidia_gpu: i32,
    pub arguments: String,
    /// Environment overrides as a JSON-encoded string.
    pub environment: String,
    pub creator: ShortUser,
    pub runtime_identifier: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListJobRunsResponse {
    pub job_runs: Vec<JobRun>,
    pub next_page_token: String,
}
