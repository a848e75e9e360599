//! The server's error type: what failed, said so that an operator can act on it.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the data directory {path} cannot be used: {source}. Choose a writable directory with --data-dir or LAKELINE_DATA_DIR")]
    DataDir { path: PathBuf, source: std::io::Error },

    #[error("the database {path} cannot be opened: {source}")]
    DatabaseOpen { path: PathBuf, source: sqlx::Error },

    #[error("the database could not be migrated: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),

    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),

    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: std::net::SocketAddr, source: std::io::Error },

    #[error("configuration: {0}")]
    Settings(&'static str),

    #[error(transparent)]
    Cml(crate::cml::CmlError),

    #[error(transparent)]
    LocalWorkspace(local_workspace::StartError),

    #[error("the server failed: {0}")]
    Serve(std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
