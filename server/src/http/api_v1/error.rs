//! The REST API's errors: JSON `{"code": …, "message": …}` with a stable `code`, for every
//! refusal, including malformed paths, queries and bodies (axum's own rejections are plain text).

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use app::error::AppError;

/// An error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiError {
    /// Stable: `invalid`, `unauthenticated`, `forbidden`, `not_found`, `too_many_attempts`,
    /// `workspace`, `internal`.
    #[schema(example = "forbidden")]
    pub code: &'static str,
    /// What went wrong, in words a person can act on.
    pub message: String,
    #[serde(skip)]
    status: u16,
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError { code: e.code(), message: e.to_string(), status: e.status() }
    }
}

impl ApiError {
    pub fn invalid(message: String) -> Self {
        AppError::Invalid(message).into()
    }

    /// The same error at another status (a deadline's 504).
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status.as_u16();
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_string(&self).expect("an ApiError serialises");
        let mut response = (status, body).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }
}

/// A path parameter; a malformed one is a 400 naming it.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(e) => Err(ApiError::invalid(format!("path: {}", e.body_text()))),
        }
    }
}

/// The query string; a malformed one is a 400 naming the parameter.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(e) => Err(ApiError::invalid(e.body_text().replace("Failed to deserialize query string: ", "query: "))),
        }
    }
}

/// A JSON body; a malformed one is a 400 naming the field.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(e) => Err(ApiError::invalid(format!("body: {}", e.body_text()))),
        }
    }
}
