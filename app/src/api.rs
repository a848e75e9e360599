//! Server functions (the UI's only data path) and the types they carry.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// What the server says about itself; shown by the "Check server" button.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerStatus {
    pub version: String,
    pub uptime_seconds: u64,
    pub database: String,
    /// "embedded local workspace" or the CML workspace's host.
    pub workspace: String,
}

#[server(endpoint = "server_status")]
pub async fn get_server_status() -> Result<ServerStatus, AppError> {
    crate::backend::current()?.server_status().await
}
