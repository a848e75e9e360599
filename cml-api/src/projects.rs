use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ShortUser;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub owner: ShortUser,
    pub creator: ShortUser,
    pub description: String,
    pub visibility: String,
    pub default_engine_type: String,
    #[serde(skip_serializing_if = "Option::is_none", with = "crate::timestamp")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none", with = "crate::timestamp")]
    pub updated_at: Option<DateTime<Utc>>,
    pub creation_status: String,
    pub permissions: ProjectPermissions,
    pub environment: String,
    pub slug: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProjectPermissions {
    pub read: bool,
    pub write: bool,
    pub admin: bool,
    pub business_user: bool,
    pub operator: bool,
    pub inherit: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ShortProject {
    pub public_identifier: String,
    pub name: String,
    pub default_project_engine: String,
    pub slug: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListProjectsResponse {
    pub projects: Vec<Project>,
    pub next_page_token: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FileInfo {
    pub path: String,
    pub is_dir: bool,
    #[serde(with = "crate::serde_int64")]
    pub file_size: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListProjectFilesResponse {
    pub files: Vec<FileInfo>,
}
