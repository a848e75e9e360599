//! The server side of the server functions. `server/` implements [`Backend`] and provides it as
//! context; the app never touches the database or CML directly.

use std::sync::Arc;

use leptos::prelude::use_context;

use crate::api::*;
use domain::Role;
use crate::error::AppError;

/// What the server does for the server functions. Actions take the [`Caller`]: who acted, and
/// from where, goes into the run and the audit log.
#[async_trait::async_trait]
pub trait Backend: Send + Sync + 'static {
    async fn server_status(&self) -> Result<ServerStatus, AppError>;
    async fn current_run(&self) -> Result<Option<PipelineRunDetail>, AppError>;
    async fn trigger(&self, caller: &Caller, arguments: String, environment: String) -> Result<i64, AppError>;
    async fn stop(&self, caller: &Caller, id: i64) -> Result<(), AppError>;
    async fn schedule(&self) -> Result<Option<ScheduleView>, AppError>;
    async fn set_schedule(&self, caller: &Caller, cron: String) -> Result<ScheduleView, AppError>;
    /// Starts a run that ended without succeeding again from the stage that did not succeed.
    async fn retry(&self, caller: &Caller, id: i64) -> Result<Stage, AppError>;
    /// Deploys the model the quality gate held back (its redeployment again, past the gate).
    async fn deploy_anyway(&self, caller: &Caller, id: i64) -> Result<(), AppError>;
    async fn history(&self, filter: HistoryFilter, cursor: HistoryCursor) -> Result<HistoryPage, AppError>;
    async fn run_detail(&self, id: i64) -> Result<PipelineRunDetail, AppError>;
    async fn setup_view(&self) -> Result<SetupView, AppError>;
    async fn apply_setup(&self, caller: &Caller) -> Result<SetupView, AppError>;
    async fn remove_duplicate_jobs(&self, caller: &Caller) -> Result<SetupView, AppError>;
    async fn check_setup_again(&self) -> Result<SetupView, AppError>;
    async fn settings(&self) -> Result<PipelineSettings, AppError>;
    async fn save_settings(&self, caller: &Caller, settings: PipelineSettings) -> Result<PipelineSettings, AppError>;
    async fn quality_series(&self) -> Result<QualityTrend, AppError>;
    async fn snapshots(&self) -> Result<Vec<SnapshotView>, AppError>;
    async fn compare(&self, ids: Vec<i64>) -> Result<RunComparison, AppError>;
    async fn latest_deployment(&self) -> Result<Option<DeploymentView>, AppError>;
    async fn predict(&self, caller: &Caller, request: String) -> Result<String, AppError>;
    async fn needs_first_admin(&self) -> Result<bool, AppError>;
    async fn create_first_admin(&self, caller: &Caller, name: String, password: String) -> Result<Me, AppError>;
    async fn sign_in(&self, caller: &Caller, name: String, password: String) -> Result<Me, AppError>;
    async fn sign_out(&self, caller: &Caller) -> Result<(), AppError>;
    async fn audit_log(&self, filter: AuditFilter) -> Result<Vec<AuditEntry>, AppError>;
    async fn tokens(&self, caller: &Caller) -> Result<Vec<TokenView>, AppError>;
    async fn create_token(&self, caller: &Caller, owner: String, name: String, role: Role) -> Result<NewTokenView, AppError>;
    async fn revoke_token(&self, caller: &Caller, id: i64) -> Result<TokenView, AppError>;
    async fn users(&self) -> Result<Vec<UserView>, AppError>;
    async fn add_user(&self, caller: &Caller, name: String, role: Role, password: String) -> Result<UserView, AppError>;
    async fn update_user(&self, caller: &Caller, name: String, role: Role, disabled: bool) -> Result<UserView, AppError>;
    async fn add_note(&self, caller: &Caller, run_id: i64, text: String) -> Result<NoteView, AppError>;
    async fn webhooks(&self) -> Result<Vec<WebhookView>, AppError>;
    async fn add_webhook(&self, caller: &Caller, name: String, url: String, kind: WebhookKind, events: String) -> Result<WebhookView, AppError>;
    async fn remove_webhook(&self, caller: &Caller, id: i64) -> Result<(), AppError>;
    async fn deliveries(&self) -> Result<Vec<DeliveryView>, AppError>;
    async fn unseen_failures(&self, caller: &Caller) -> Result<FailureNotice, AppError>;
    async fn mark_failures_seen(&self, caller: &Caller) -> Result<(), AppError>;
    async fn deploy_model(&self, caller: &Caller, run_id: i64) -> Result<(), AppError>;
}

pub type SharedBackend = Arc<dyn Backend>;

/// The backend provided by the server for this request.
fn current() -> Result<SharedBackend, AppError> {
    use_context::<SharedBackend>().ok_or_else(|| AppError::Store("the server did not provide its backend".into()))
}

/// Who is asking: the signed-in person (if any) and the address the request came from. The
/// server puts it in each request's extensions; the session token is kept for signing out and
/// never shown.
#[derive(Clone)]
pub struct Caller {
    pub user: Option<Me>,
    pub address: std::net::IpAddr,
    /// Whether the browser reached Lakeline over TLS (then cookies are `Secure`).
    pub secure: bool,
    pub session: Option<String>,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller").field("user", &self.user).field("address", &self.address).field("session", &self.session.as_ref().map(|_| "<secret>")).finish()
    }
}

impl Caller {
    /// The name audit entries and runs carry: the signed-in person, else "anonymous".
    pub fn name(&self) -> &str {
        self.user.as_ref().map_or("anonymous", |u| u.name.as_str())
    }

    /// Whether the caller may do what `needed` may; else the error to answer (401 or 403).
    pub fn require(&self, needed: Role) -> Result<&Me, AppError> {
        match &self.user {
            None => Err(AppError::Unauthenticated("sign in first: this needs a Lakeline account".into())),
            Some(me) if me.role.may(needed) => Ok(me),
            Some(me) => Err(AppError::Forbidden(format!(
                "your role ({}) may not do this; it needs {} (who may {}): ask an admin",
                me.role,
                needed,
                needed.description()
            ))),
        }
    }
}

async fn caller() -> Caller {
    match leptos_axum::extract::<axum::Extension<Caller>>().await {
        Ok(axum::Extension(caller)) => caller,
        // Not reached through the server's router (cannot happen in a running server).
        Err(_) => Caller { user: None, address: std::net::Ipv4Addr::UNSPECIFIED.into(), secure: false, session: None },
    }
}

/// Runs a server function's work on the backend for a caller whose role may do it, and answers
/// with an HTTP status that fits the outcome ([`AppError::status`]).
pub async fn with<T, F, Fut>(needed: Role, work: F) -> Result<T, AppError>
where
    F: FnOnce(SharedBackend, Caller) -> Fut,
    Fut: std::future::Future<Output = Result<T, AppError>>,
{
    let caller = caller().await;
    let result = match caller.require(needed) {
        Ok(_) => work(current()?, caller).await,
        Err(e) => Err(e),
    };
    answer(result)
}

/// As [`with`], for what anyone may ask (signing in, the first admin, who am I).
pub async fn with_anyone<T, F, Fut>(work: F) -> Result<T, AppError>
where
    F: FnOnce(SharedBackend, Caller) -> Fut,
    Fut: std::future::Future<Output = Result<T, AppError>>,
{
    let caller = caller().await;
    answer(work(current()?, caller).await)
}

fn answer<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(e) = &result {
        if let (Some(response), Ok(status)) = (use_context::<leptos_axum::ResponseOptions>(), axum::http::StatusCode::from_u16(e.status())) {
            response.set_status(status);
        }
    }
    result
}
