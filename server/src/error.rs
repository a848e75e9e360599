//! The server's start-up and serving error: what failed, said so that an operator can act on it.
//!
//! Error policy, one type per layer:
//! - the store returns [`crate::store::StoreError`]; the CML client [`crate::cml::CmlError`];
//!   the tracker [`crate::pipeline::tracker::TrackerError`] (which wraps both);
//! - server functions turn those into [`app::error::AppError`] with a message a user can act on
//!   (store details stay in the log; workspace errors say what the workspace answered);
//! - this type is what `Lakeline::prepare` and `serve` return, printed once at exit.
//! Errors are logged where they are turned into an answer, inside the request's span.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the data directory {path} cannot be used: {source}. Choose a writable directory with --data-dir or LAKELINE_DATA_DIR")]
    DataDir { path: PathBuf, source: std::io::Error },

    #[error(transparent)]
    Store(#[from] crate::store::StoreError),

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

    #[error("the built front end in {} cannot be read: {source}", path.display())]
    Site { path: std::path::PathBuf, source: std::io::Error },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
