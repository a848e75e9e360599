use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Metric, ShortProject, ShortUser, Tag};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateRegisteredModelRequest {
    pub project_id: String,
    pub experiment_id: String,
    pub run_id: String,
    pub model_path: String,
    pub model_name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub notes: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MlflowMetadata {
    pub experiment_id: String,
    pub run_id: String,
    pub metrics: Vec<Metric>,
    pub params: Vec<Tag>,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelVersionMetadata {
    pub mlops_type: String,
    pub tags: Vec<Tag>,
    pub workspace_url: String,
    pub project_id: String,
    pub owner: ShortUser,
    pub mlflow_metadata: MlflowMetadata,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RegisteredModelVersion {
    pub model_id: String,
    pub model_version_id: String,
    pub version_name: String,
    pub number: i32,
    pub notes: String,
    pub user: ShortUser,
    #[serde(skip_serializing_if = "Option::is_none", with = "crate::timestamp")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none", with = "crate::timestamp")]
    pub updated_at: Option<DateTime<Utc>>,
    pub status: String,
    pub model_version_metadata: ModelVersionMetadata,
    pub tags: Vec<Tag>,
    pub error_message: String,
}

impl RegisteredModelVersion {
    /// The experiment run this version was registered from.
    pub fn run_id(&self) -> &str {
        &self.model_version_metadata.mlflow_metadata.run_id
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RegisteredModel {
    pub model_id: String,
    pub name: String,
    pub description: String,
    pub owner: ShortUser,
    pub permission: String,
    pub visibility: String,
    #[serde(skip_serializing_if = "Option::is_none", with = "crate::timestamp")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none", with = "crate::timestamp")]
    pub updated_at: Option<DateTime<Utc>>,
    pub count: i32,
    pub model_versions: Vec<RegisteredModelVersion>,
    pub next_page_token: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Model {
    pub id: String,
    pub name: String,
    pub description: String,
    pub creator: ShortUser,
    pub access_key: String,
    pub deletion_status: String,
    #[serde(skip_serializing_if = "Option::is_none", with = "crate::timestamp")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none", with = "crate::timestamp")]
    pub updated_at: Option<DateTime<Utc>>,
    pub crn: String,
    pub auth_enabled: bool,
    pub project: ShortProject,
    pub registered_model_id: String,
    pub visibility: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateModelRequest {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub project_id: String,
    pub name: String,
    pub description: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub disable_authentication: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub registered_model_id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelBuild {
    pub id: String,
    pub model_id: String,
    pub creator: ShortUser,
    pub comment: String,
    pub file_path: String,
    pub function_name: String,
    pub kernel: String,
    #[serde(skip_serializing_if = "Option::is_none", with = "crate::timestamp")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none", with = "crate::timestamp")]
    pub updated_at: Option<DateTime<Utc>>,
    /// `pending`, `building`, `built`, `build failed`.
    pub status: String,
    pub deletion_status: String,
    pub crn: String,
    #[serde(skip_serializing_if = "Option::is_none", with = "crate::timestamp")]
    pub built_at: Option<DateTime<Utc>>,
    pub runtime_identifier: String,
    pub registered_model_version_id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateModelBuildRequest {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub project_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub model_id: String,
    pub registered_model_version_id: String,
    pub runtime_identifier: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub comment: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelDeployment {
    pub project_id: String,
    pub model_id: String,
    pub build_id: String,
    pub id: String,
    pub cpu: f64,
    pub memory: f64,
    pub nvidia_gpu: i32,
    pub environment: String,
    #[serde(skip_serializing_if = "Option::is_none", with = "crate::timestamp")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none", with = "crate::timestamp")]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none", with = "crate::timestamp")]
    pub stopped_at: Option<DateTime<Utc>>,
    pub crn: String,
    pub deployer: ShortUser,
    /// `pending`, `deploying`, `deployed`, `stopping`, `stopped`, `failed`.
    pub status: String,
    pub replicas: i32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateModelDeploymentRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub environment: std::collections::BTreeMap<String, String>,
}
