use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Runtime {
    pub image_identifier: String,
    pub editor: String,
    pub kernel: String,
    pub edition: String,
    pub description: String,
    pub full_version: String,
    pub status: String,
    pub register_user_id: i32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListRuntimesResponse {
    pub runtimes: Vec<Runtime>,
    pub next_page_token: String,
}
