//! The server's side of the UI's server functions.

use std::time::Instant;

use app::api::ServerStatus;
use app::error::AppError;

use crate::store::Store;

pub struct ServerBackend {
    pub store: Store,
    started: Instant,
    database: String,
}

impl ServerBackend {
    pub fn new(store: Store, database: String) -> Self {
        ServerBackend { store, started: Instant::now(), database }
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
            workspace: "embedded local workspace".into(),
        })
    }
}
