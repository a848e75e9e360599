//! Why the workspace's own work — a job run, a model build or deployment, preparing a runtime —
//! could not be done. The message is recorded on the run or build, so it says what a person can
//! act on.

use std::process::ExitStatus;

#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    #[error("{doing}: {source}")]
    Io { doing: String, source: std::io::Error },
    #[error("the workspace's database failed: {0}")]
    Store(#[from] sqlx::Error),
    #[error("runtime {0:?} is not available in this workspace")]
    NoRuntime(String),
    #[error("the script {0:?} does not exist in the project")]
    NoScript(String),
    #[error("`{command}` failed ({status}); see the log")]
    CommandFailed { command: String, status: ExitStatus },
    #[error("{interpreter} is not a usable Python: {reason}")]
    NoPython { interpreter: String, reason: String },
    #[error("the runtime is not available: {0}")]
    Runtime(Box<WorkError>),
    /// A model that cannot be built or served, with the reason from its log.
    #[error("{0}")]
    Model(String),
}

pub type WorkResult<T> = Result<T, WorkError>;

/// Names what was being done when an I/O error happened.
pub trait Doing<T> {
    fn doing(self, what: impl FnOnce() -> String) -> WorkResult<T>;
}

impl<T> Doing<T> for std::io::Result<T> {
    fn doing(self, what: impl FnOnce() -> String) -> WorkResult<T> {
        self.map_err(|source| WorkError::Io { doing: what(), source })
    }
}
