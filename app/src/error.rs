//! The error the UI receives from server functions: a message a user can act on, never internals.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// The request could not be carried out as asked (bad input, a refused action).
    #[error("{0}")]
    Invalid(String),
    /// The workspace (CML or the local one) refused or failed.
    #[error("{0}")]
    Workspace(String),
    /// Something asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Lakeline's own store failed; details are in the server log.
    #[error("Lakeline's database failed: {0}")]
    Store(String),
    /// The transport between browser and server failed.
    #[error("the request to Lakeline failed: {0}")]
    Transport(String),
    /// Nobody is signed in (or the name and password did not match).
    #[error("{0}")]
    Unauthenticated(String),
    /// The signed-in person's role may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Too many attempts: wait before the next.
    #[error("{0}")]
    TooManyAttempts(String),
}

impl AppError {
    /// A stable, machine-readable name of the kind of error (the REST API's `code`).
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Invalid(_) => "invalid",
            AppError::Workspace(_) => "workspace",
            AppError::NotFound(_) => "not_found",
            AppError::Store(_) => "internal",
            AppError::Transport(_) => "transport",
            AppError::Unauthenticated(_) => "unauthenticated",
            AppError::Forbidden(_) => "forbidden",
            AppError::TooManyAttempts(_) => "too_many_attempts",
        }
    }

    /// The HTTP status that fits: 400 refused, 401 not signed in, 403 role too low, 404 missing,
    /// 429 too many attempts, 502 the workspace failed, 500 Lakeline failed.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Invalid(_) => 400,
            AppError::Unauthenticated(_) => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::TooManyAttempts(_) => 429,
            AppError::Workspace(_) => 502,
            AppError::Store(_) | AppError::Transport(_) => 500,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}
