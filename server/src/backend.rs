//! The server's side of the UI's server functions.

use std::time::Instant;

use app::api::ServerStatus;
use app::error::AppError;

use crate::store::Store;
use crate::workspace::Workspace;

pub struct ServerBackend {
    pub store: Store,
    pub workspace: tokio::sync::RwLock<Workspace>,
    started: Instant,
    database: String,
}

impl ServerBackend {
    pub fn new(store: Store, workspace: Workspace, database: String) -> Self {
        ServerBackend { store, workspace: tokio::sync::RwLock::new(workspace), started: Instant::now(), database }
    }

    /// Stops the embedded workspace and closes the database.
    pub async fn shutdown(&self) {
        self.workspace.write().await.shutdown().await;
        self.store.close().await;
    }
}

#[async_trait::async_trait]
impl app::backend::Backend for ServerBackend {
    async fn server_status(&self) -> Result<ServerStatus, AppError> {
        self.store.ping().await.map_err(|e| {
            tracing::error!(error = %e, "database ping failed");
            AppError::Store("the database does not answer; see the server log".into())
        })?;
        Ok(ServerStatus {
            version: env!("CARGO_PKG_VERSION").to_string(),
            uptime_seconds: self.started.elapsed().as_secs(),
            database: self.database.clone(),
            workspace: self.workspace.read().await.description.clone(),
        })
    }
}
