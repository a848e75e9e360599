//! Lakeline's versioned REST API for scripts and the CLI, under `/api/v1`. The OpenAPI document
//! at `/api/v1/openapi.json` is generated from these handlers and their types (utoipa): every
//! route is registered together with its description, so the two cannot drift. Callers sign in
//! with an API token (`Authorization: Bearer llt_…`) or a session cookie; each route checks its
//! role; errors are JSON with a stable `code` ([`ApiError`]).

use std::sync::Arc;

use axum::extract::Extension;
use axum::Router;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use app::api::Me;
use app::backend::{Backend, Caller};
use app::api::SetupView;
use domain::Role;

use super::AppState;

mod error;
mod runs;

pub use error::ApiError;
pub use runs::RunCreated;

#[derive(OpenApi)]
#[openapi(
    info(title = "Lakeline REST API", description = "Pipeline runs of the Cloudera AI (CML) MLOps pipeline New Batch → Retrain XGBoost → API Redeployment: list, detail, lineage, logs, trigger, stop, retry, deploy a gated model anyway; the jobs' status."),
    modifiers(&Security),
    security(("token" = []), ("session" = [])),
    tags((name = "runs", description = "Pipeline runs"), (name = "jobs", description = "The pipeline's jobs"), (name = "meta", description = "This API")),
)]
struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some("An API token (llt_…): the Tokens page or `lakeline token create`")).build();
        components.add_security_scheme("token", SecurityScheme::Http(bearer));
        components.add_security_scheme("session", SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::auth::COOKIE))));
    }
}

/// The routes and the document that describes them.
fn parts() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(runs::list, runs::trigger))
        .routes(routes!(runs::detail))
        .routes(routes!(runs::stop))
        .routes(routes!(runs::retry))
        .routes(routes!(runs::deploy_anyway))
        .routes(routes!(runs::lineage))
        .routes(routes!(runs::logs))
        .routes(routes!(runs::stage_log))
        .routes(routes!(jobs))
        .routes(routes!(me))
        .routes(routes!(openapi))
        .split_for_parts()
}

/// The OpenAPI document, as served.
pub fn document() -> utoipa::openapi::OpenApi {
    parts().1
}

pub fn router() -> Router<AppState> {
    let (router, doc) = parts();
    router
        .route("/api/v1/{*rest}", axum::routing::any(unknown_route))
        .layer(axum::middleware::from_fn(method_not_allowed))
        .layer(Extension(Arc::new(doc)))
}

async fn unknown_route(uri: axum::http::Uri) -> ApiError {
    app::error::AppError::NotFound(format!("{} is not a route of the REST API: see /api/v1/openapi.json", uri.path())).into()
}

/// axum answers a known path with another method by an empty 405: say so in an [`ApiError`].
async fn method_not_allowed(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    let method = request.method().clone();
    let response = next.run(request).await;
    if response.status() != axum::http::StatusCode::METHOD_NOT_ALLOWED {
        return response;
    }
    let message = format!("method: this route does not answer {method}; /api/v1/openapi.json lists each route's methods");
    ApiError::invalid(message).with_status(axum::http::StatusCode::METHOD_NOT_ALLOWED).into_response()
}
/// Whether a path belongs to this API (its errors are [`ApiError`]s).
pub fn owns(path: &str) -> bool {
    path.starts_with("/api/v1/")
}

/// The pipeline's jobs compared with their definition (as last checked).
#[utoipa::path(get, path = "/api/v1/jobs", tag = "jobs", responses(
    (status = 200, body = SetupView), (status = 401, body = ApiError), (status = 403, body = ApiError),
))]
async fn jobs(axum::extract::State(state): axum::extract::State<AppState>, Extension(caller): Extension<Caller>) -> Result<axum::Json<SetupView>, ApiError> {
    caller.require(Role::Viewer)?;
    Ok(axum::Json(state.backend.setup_view().await?))
}

/// Who the token or session acts for, and in which role.
#[utoipa::path(get, path = "/api/v1/me", tag = "meta", responses(
    (status = 200, body = Me), (status = 401, body = ApiError),
))]
async fn me(Extension(caller): Extension<Caller>) -> Result<axum::Json<Me>, ApiError> {
    Ok(axum::Json(caller.require(Role::Viewer)?.clone()))
}

/// This document (no sign-in needed).
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta", security(()), responses(
    (status = 200, description = "The OpenAPI document", content_type = "application/json"),
))]
async fn openapi(Extension(doc): Extension<Arc<utoipa::openapi::OpenApi>>) -> axum::Json<Arc<utoipa::openapi::OpenApi>> {
    axum::Json(doc)
}
