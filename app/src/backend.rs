//! The server side of the server functions. `server/` implements [`Backend`] and provides it as
//! context; the app never touches the database or CML directly.

use std::sync::Arc;

use leptos::prelude::use_context;

use crate::api::ServerStatus;
use crate::error::AppError;

#[async_trait::async_trait]
pub trait Backend: Send + Sync + 'static {
    async fn server_status(&self) -> Result<ServerStatus, AppError>;
}

pub type SharedBackend = Arc<dyn Backend>;

/// The backend provided by the server for this request.
pub fn current() -> Result<SharedBackend, AppError> {
    use_context::<SharedBackend>()
        .ok_or_else(|| AppError::Store("the server did not provide its backend".into()))
}
