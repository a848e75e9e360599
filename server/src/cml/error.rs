//! What can go wrong talking to a CML workspace, said so that a user can act on it. Never
//! carries the API key.

use reqwest::StatusCode;

#[derive(Debug, thiserror::Error)]
pub enum CmlError {
    #[error("the CML URL {0:?} is not usable: give https://<workspace>, https://<workspace>/api/v2 or CDSW_API_URL")]
    BadBaseUrl(String),

    #[error("cannot reach the CML workspace at {host}: {reason}")]
    Unreachable { host: String, reason: String },

    #[error("the CML workspace at {host} did not answer {operation} within {seconds} s")]
    Timeout { host: String, operation: String, seconds: u64 },

    #[error("CML refused the API key: {message}. Create an API key with the \"API\" audience in CML (User Settings → API Keys)")]
    Unauthenticated { message: String },

    #[error("CML refused: permission denied ({message})")]
    PermissionDenied { message: String },

    #[error("not found in CML: {message}")]
    NotFound { message: String },

    #[error("CML refused because of the current state: {message}")]
    Conflict { message: String },

    #[error("CML rejected the request: {message}")]
    InvalidRequest { message: String },

    #[error("CML answered {status} to {operation}: {message}")]
    Upstream { status: u16, code: Option<i32>, operation: String, message: String },

    #[error("CML's answer to {operation} was not what the API promises: {detail}")]
    BadResponse { operation: String, detail: String },
}

impl CmlError {
    /// The kind of failure, as a metric label.
    pub fn outcome(&self) -> &'static str {
        match self {
            CmlError::BadBaseUrl(_) => "bad_url",
            CmlError::Unreachable { .. } => "unreachable",
            CmlError::Timeout { .. } => "timeout",
            CmlError::Unauthenticated { .. } => "unauthenticated",
            CmlError::PermissionDenied { .. } => "permission_denied",
            CmlError::NotFound { .. } => "not_found",
            CmlError::Conflict { .. } => "conflict",
            CmlError::InvalidRequest { .. } => "invalid",
            CmlError::Upstream { .. } => "upstream_error",
            CmlError::BadResponse { .. } => "bad_response",
        }
    }

    /// Whether a request that failed this way may still have been carried out: the answer was
    /// lost (a timeout, a dropped connection, a garbled or 5xx answer), not refused.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            CmlError::Timeout { .. } | CmlError::Unreachable { .. } | CmlError::BadResponse { .. } => true,
            CmlError::Upstream { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// Maps an error answer (HTTP status, and the gRPC code and message of the body when it has
    /// the gateway shape) to a typed error.
    pub(crate) fn from_status(status: StatusCode, code: Option<i32>, message: String, operation: &str) -> Self {
        let message = if message.trim().is_empty() {
            status.canonical_reason().unwrap_or("no message").to_string()
        } else {
            message
        };
        match (code, status.as_u16()) {
            (Some(16), _) | (_, 401) => CmlError::Unauthenticated { message },
            (Some(7), _) | (_, 403) => CmlError::PermissionDenied { message },
            (Some(5), _) | (_, 404) => CmlError::NotFound { message },
            (Some(6 | 9 | 10), _) | (_, 409) => CmlError::Conflict { message },
            (Some(3), _) | (_, 400) => CmlError::InvalidRequest { message },
            _ => CmlError::Upstream { status: status.as_u16(), code, operation: operation.to_string(), message },
        }
    }

    /// Whether repeating the same idempotent request may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            CmlError::Unreachable { .. } | CmlError::Timeout { .. } => true,
            CmlError::Upstream { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

pub type CmlResult<T> = Result<T, CmlError>;
