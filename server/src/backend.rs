//! The server's side of the UI's server functions: the store, the tracker and the CML client
//! behind [`app::backend::Backend`]. Reads come from Lakeline's store (the tracker keeps it
//! current); only a user's own actions call the workspace (trigger, stop, set up jobs, check the
//! set-up again, a test prediction). Errors become messages a user can act on; internals go to
//! the log.

use std::time::Instant;

use chrono::Utc;

use app::api::*;
use app::backend::Caller;
use app::error::AppError;

use crate::auth::{sessions, Auth, AuthError};
use crate::cml::CmlError;
use crate::pipeline::definition::Definition;
use crate::pipeline::tracker::{Tracker, TrackerError};
use crate::store::history::{Cursor, FilterText, HistoryQuery};
use crate::store::audit::Actor;
use crate::store::notes::MAX_NOTE;
use crate::store::Store;
use domain::{Role, RunRequest};
use tracing::Instrument;
use crate::views;
use crate::workspace::Workspace;

pub struct ServerBackend {
    pub store: Store,
    pub workspace: tokio::sync::RwLock<Workspace>,
    pub tracker: std::sync::Arc<Tracker>,
    pub auth: Auth,
    defaults: PipelineSettings,
    started: Instant,
    database: String,
    description: String,
    /// The last check of the jobs against their definition (Settings), made on a user's action,
    /// and the definition version it was made for (a change here or on another replica outdates it).
    setup: tokio::sync::Mutex<Option<(u64, SetupView)>>,
}

const PAGE_SIZE: i64 = 25;

fn store_error(e: crate::store::StoreError) -> AppError {
    tracing::error!(error = %e, "store error");
    AppError::Store("see the server log".into())
}

fn cml_error(e: CmlError) -> AppError {
    tracing::warn!(error = %e, "workspace error");
    AppError::Workspace(e.to_string())
}

/// Carries a user's state-changing action to its end even when the request that asked for it
/// goes away (a closed tab, an answer that timed out): a trigger cut between the workspace's
/// answer and Lakeline's record would leave a run nobody claims. Reads, in contrast, stop with
/// their request.
async fn to_the_end<T: Send + 'static>(action: impl std::future::Future<Output = T> + Send + 'static) -> T {
    match tokio::spawn(action.in_current_span()).await {
        Ok(done) => done,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

impl From<AuthError> for AppError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Store(e) => store_error(e),
            AuthError::WrongCredentials => AppError::Unauthenticated(e.to_string()),
            AuthError::Throttled(_) => AppError::TooManyAttempts(e.to_string()),
            AuthError::NotLoopback | AuthError::SetupDone | AuthError::NotYours => AppError::Forbidden(e.to_string()),
            AuthError::NoSuchUser(_) | AuthError::NoSuchToken(_) => AppError::NotFound(e.to_string()),
            other => AppError::Invalid(other.to_string()),
        }
    }
}

/// Who acted, owned (for work that outlives the request).
struct OwnedActor {
    name: String,
    address: String,
}

impl OwnedActor {
    fn of(caller: &Caller) -> Self {
        Self::named(caller.name(), caller)
    }

    /// Someone not (yet) signed in: a sign-in attempt, the first admin.
    fn named(name: &str, caller: &Caller) -> Self {
        OwnedActor { name: name.to_string(), address: caller.address.to_string() }
    }

    fn as_actor(&self) -> Actor<'_> {
        Actor { name: &self.name, address: &self.address }
    }
}

/// A webhook's fields checked: a name, an http(s) URL, at least one known event.
fn check_webhook(name: &str, url: &str, events: &str) -> Result<Vec<domain::AlertEvent>, AppError> {
    if name.is_empty() || name.chars().count() > 64 {
        return Err(AppError::Invalid("name: use 1 to 64 characters".into()));
    }
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
        _ => return Err(AppError::Invalid("url: give the webhook's http:// or https:// address".into())),
    }
    let mut chosen = vec![];
    for word in events.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        let event = word.parse::<domain::AlertEvent>().map_err(|e| AppError::Invalid(format!("events: {e}")))?;
        if !chosen.contains(&event) {
            chosen.push(event);
        }
    }
    if chosen.is_empty() {
        return Err(AppError::Invalid("events: choose at least one of failed, stopped, timedout, succeeded".into()));
    }
    Ok(chosen)
}

/// The start of a text, for an audit entry.
fn first_words(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    match line.char_indices().nth(80) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None if line.len() < text.len() => format!("{line}…"),
        None => line.to_string(),
    }
}

/// Sets (or clears) the session cookie on this server function's response.
fn set_cookie(cookie: &str) {
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        response.insert_header(axum::http::header::SET_COOKIE, axum::http::HeaderValue::from_str(cookie).expect("a cookie is ASCII"));
    }
}

impl From<TrackerError> for AppError {
    fn from(e: TrackerError) -> Self {
        match e {
            TrackerError::Cml(e) => cml_error(e),
            TrackerError::Store(e) => store_error(e),
            TrackerError::NoSuchRun(_) => AppError::NotFound(e.to_string()),
            TrackerError::TriggerUnanswered(_) => AppError::Workspace(e.to_string()),
            other => AppError::Invalid(other.to_string()),
        }
    }
}

impl ServerBackend {
    pub async fn new(store: Store, workspace: Workspace, defaults: PipelineSettings, database: String, proxy: Option<crate::auth::ProxyTrust>) -> crate::error::Result<Self> {
        let settings = store.merged_settings(&defaults).await?;
        let tracker = Tracker::new(workspace.client.clone(), workspace.project_id.clone(), store.clone(), Definition { settings });
        tracker.set_defaults(defaults.clone());
        Ok(ServerBackend {
            auth: Auth::new(store.clone()).trusting(proxy),
            store,
            description: workspace.description.clone(),
            workspace: tokio::sync::RwLock::new(workspace),
            tracker,
            defaults,
            started: Instant::now(),
            database,
            setup: tokio::sync::Mutex::new(None),
        })
    }

    /// Stops the embedded workspace and closes the database.
    pub async fn shutdown(&self) {
        self.workspace.write().await.shutdown().await;
        self.store.close().await;
    }

    /// A run with its lineage and logs, as the tracker stored them.
    async fn detail(&self, id: i64) -> Result<PipelineRunDetail, AppError> {
        let (row, stages) = self.store.pipeline_run(id).await.map_err(store_error)?.ok_or_else(|| AppError::NotFound(format!("there is no pipeline run {id}")))?;
        let attempts = self.store.attempts(id).await.map_err(store_error)?;
        let notes = self.store.notes(id).await.map_err(store_error)?.into_iter().map(views::note).collect();
        let now = Utc::now();
        Ok(PipelineRunDetail {
            run: views::summary(&row, &stages, now),
            lineage: views::lineage(&row),
            attempts: attempts.iter().map(|s| views::stage(s, now)).collect(),
            logs: attempts.iter().map(views::log).collect(),
            notes,
        })
    }

    /// Checks the jobs against their definition in the workspace (a user's action) and keeps the
    /// answer for the Settings page.
    async fn check_setup(&self) -> SetupView {
        let version = self.tracker.definition_version();
        let definition = self.tracker.definition().await;
        let client = self.tracker.client();
        let project_id = self.tracker.project_id().to_string();
        let mut view = SetupView { workspace: self.description.clone(), project_id: project_id.clone(), runtime: None, jobs: vec![], error: None };
        let result = async {
            let runtime = definition.runtime(client).await?;
            let jobs = definition.find_jobs(client, &project_id).await?;
            Ok::<_, CmlError>((runtime, jobs))
        }
        .await;
        match result {
            Ok((runtime, jobs)) => {
                view.jobs = definition.check(&jobs, runtime.as_ref());
                let extra: usize = view.jobs.iter().map(|j| j.duplicates.len()).sum();
                if extra > 0 {
                    view.error = Some(format!("{extra} more job(s) carry the pipeline's job names; remove the duplicates so that nothing runs twice"));
                }
                view.runtime = runtime.map(|r| format!("{} ({} · {} · {})", r.image_identifier, r.kernel, r.editor, r.edition));
                if view.runtime.is_none() {
                    view.error = Some("no runtime matches the runtime settings".into());
                }
            }
            Err(e) => view.error = Some(e.to_string()),
        }
        *self.setup.lock().await = Some((version, view.clone()));
        view
    }
}


#[async_trait::async_trait]
impl app::backend::Backend for ServerBackend {
    async fn server_status(&self) -> Result<ServerStatus, AppError> {
        self.store.ping().await.map_err(store_error)?;
        Ok(ServerStatus {
            version: env!("CARGO_PKG_VERSION").to_string(),
            uptime_seconds: self.started.elapsed().as_secs(),
            database: self.database.clone(),
            workspace: self.description.clone(),
        })
    }

    async fn current_run(&self) -> Result<Option<PipelineRunDetail>, AppError> {
        match self.store.latest_pipeline_run().await.map_err(store_error)? {
            Some(id) => Ok(Some(self.detail(id).await?)),
            None => Ok(None),
        }
    }

    #[tracing::instrument(skip_all, fields(user = caller.name()), err(level = "info", Display))]
    async fn trigger(&self, caller: &Caller, arguments: String, environment: String) -> Result<i64, AppError> {
        let request = RunRequest::parse(&arguments, &environment).map_err(|e| AppError::Invalid(e.to_string()));
        let request = self.audit_refusal(&OwnedActor::of(caller), "pipeline.trigger", "", request).await?;
        self.tracker_action(caller, "pipeline.trigger", "", move |tracker, actor| async move { tracker.trigger(request, actor.as_actor()).await }).await
    }

    #[tracing::instrument(skip_all, fields(user = caller.name()), err(level = "info", Display))]
    async fn stop(&self, caller: &Caller, id: i64) -> Result<(), AppError> {
        let detail = format!("pipeline run {id}");
        self.tracker_action(caller, "pipeline.stop", &detail, move |tracker, actor| async move { tracker.stop(id, actor.as_actor()).await }).await
    }

    async fn schedule(&self) -> Result<Option<ScheduleView>, AppError> {
        match self.tracker.new_batch_job().await {
            Ok(job) => Ok(Some(views::schedule(&job, Utc::now()))),
            Err(TrackerError::NotSetUp) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn set_schedule(&self, caller: &Caller, cron: String) -> Result<ScheduleView, AppError> {
        let detail = format!("New Batch: {cron:?}");
        let job = self.tracker_action(caller, "pipeline.schedule", &detail, move |tracker, actor| async move { tracker.set_schedule(&cron, actor.as_actor()).await }).await?;
        Ok(views::schedule(&job, Utc::now()))
    }

    async fn retry(&self, caller: &Caller, id: i64) -> Result<Stage, AppError> {
        let detail = format!("pipeline run {id}");
        self.tracker_action(caller, "pipeline.retry", &detail, move |tracker, actor| async move { tracker.retry(id, actor.as_actor()).await }).await
    }

    async fn deploy_anyway(&self, caller: &Caller, id: i64) -> Result<(), AppError> {
        let detail = format!("pipeline run {id}");
        self.tracker_action(caller, "pipeline.deploy_anyway", &detail, move |tracker, actor| async move { tracker.deploy_anyway(id, actor.as_actor()).await }).await
    }

    async fn history(&self, filter: HistoryFilter, cursor: HistoryCursor) -> Result<HistoryPage, AppError> {
        let text = FilterText {
            status: &filter.status,
            from: &filter.from,
            to: &filter.to,
            who: &filter.who,
            snapshot: &filter.snapshot,
            note: &filter.note,
            with_notes: filter.with_notes,
        };
        let query = HistoryQuery::parse(text).map_err(|e| AppError::Invalid(format!("History filter {e}")))?;
        let at = match (cursor.before, cursor.after) {
            (Some(_), Some(_)) => return Err(AppError::Invalid("history: give before or after, not both".into())),
            (Some(id), None) => Cursor::Before(id),
            (None, Some(id)) => Cursor::After(id),
            (None, None) => Cursor::Newest,
        };
        if let Cursor::Before(id) | Cursor::After(id) = at {
            if !self.store.pipeline_run_exists(id).await.map_err(store_error)? {
                return Err(AppError::Invalid(format!("history: there is no pipeline run {id} to page from")));
            }
        }
        let rows = self.store.history(&query, at, PAGE_SIZE).await.map_err(store_error)?;
        let now = Utc::now();
        Ok(HistoryPage {
            runs: rows.runs.iter().map(|(run, stages)| views::summary(run, stages, now)).collect(),
            total: rows.total,
            newer_count: rows.newer_count,
            page_size: PAGE_SIZE,
            older: rows.older_than.map(|id| HistoryCursor { before: Some(id), after: None }),
            newer: rows.newer_than.map(|id| HistoryCursor { before: None, after: Some(id) }),
        })
    }

    async fn run_detail(&self, id: i64) -> Result<PipelineRunDetail, AppError> {
        self.detail(id).await
    }

    /// The last check of the jobs; the first time (after a start) it is made now.
    async fn setup_view(&self) -> Result<SetupView, AppError> {
        if let Some((version, view)) = self.setup.lock().await.clone() {
            if version == self.tracker.definition_version() {
                return Ok(view);
            }
        }
        Ok(self.check_setup().await)
    }

    #[tracing::instrument(skip_all, err(level = "info", Display))]
    async fn check_setup_again(&self) -> Result<SetupView, AppError> {
        Ok(self.check_setup().await)
    }

    #[tracing::instrument(skip_all, fields(user = caller.name()), err(level = "info", Display))]
    async fn remove_duplicate_jobs(&self, caller: &Caller) -> Result<SetupView, AppError> {
        self.tracker_action(caller, "pipeline.remove_duplicates", "", |tracker, actor| async move { tracker.remove_duplicate_jobs(actor.as_actor()).await })
            .await?;
        Ok(self.check_setup().await)
    }

    #[tracing::instrument(skip_all, fields(user = caller.name()), err(level = "info", Display))]
    async fn apply_setup(&self, caller: &Caller) -> Result<SetupView, AppError> {
        self.tracker_action(caller, "pipeline.setup", "", |tracker, actor| async move { tracker.apply_setup(actor.as_actor()).await }).await?;
        Ok(self.check_setup().await)
    }

    async fn settings(&self) -> Result<PipelineSettings, AppError> {
        Ok(self.tracker.definition().await.settings)
    }

    #[tracing::instrument(skip_all, fields(user = caller.name()), err(level = "info", Display))]
    async fn save_settings(&self, caller: &Caller, settings: PipelineSettings) -> Result<PipelineSettings, AppError> {
        let settings = settings.trimmed();
        let checked = settings.check().map_err(|e| AppError::Invalid(format!("Settings {e}")));
        self.audit_refusal(&OwnedActor::of(caller), "settings.save", "", checked).await?;
        for (key, value) in settings.fields() {
            self.store.save_setting(key, value).await.map_err(store_error)?;
        }
        let merged = self.store.merged_settings(&self.defaults).await.map_err(store_error)?;
        self.tracker.set_definition(Definition { settings: merged.clone() }).await;
        self.tracker.announce_definition();
        let detail = settings.fields().iter().map(|(k, v)| format!("{k}={v:?}")).collect::<Vec<_>>().join(", ");
        self.audit(&OwnedActor::of(caller), "settings.save", &detail, "ok").await?;
        Ok(merged)
    }

    async fn quality_series(&self) -> Result<QualityTrend, AppError> {
        let points = self.store.quality_series(50).await.map_err(store_error)?;
        let live = self.store.latest_deployed_run().await.map_err(store_error)?;
        let settings = self.tracker.definition().await.settings;
        Ok(views::quality(points, live.as_ref(), &settings))
    }

    async fn snapshots(&self) -> Result<Vec<SnapshotView>, AppError> {
        self.store.snapshot_runs().await.map(|rows| views::snapshots(&rows)).map_err(store_error)
    }

    async fn compare(&self, ids: Vec<i64>) -> Result<RunComparison, AppError> {
        let mut details = Vec::with_capacity(ids.len());
        for id in ids {
            details.push(self.detail(id).await?);
        }
        Ok(views::comparison(&details))
    }

    async fn latest_deployment(&self) -> Result<Option<DeploymentView>, AppError> {
        let run = self.store.latest_deployed_run().await.map_err(store_error)?;
        Ok(run.as_ref().and_then(views::deployment))
    }

    #[tracing::instrument(skip_all, fields(user = caller.name()), err(level = "info", Display))]
    async fn predict(&self, caller: &Caller, request: String) -> Result<String, AppError> {
        let result = self.predict_now(request).await;
        let outcome = match &result {
            Ok(_) => "ok".to_string(),
            Err(e) => format!("failed: {e}"),
        };
        self.audit(&OwnedActor::of(caller), "model.test_prediction", "", &outcome).await?;
        result
    }

    async fn needs_first_admin(&self) -> Result<bool, AppError> {
        Ok(self.auth.needs_first_admin().await?)
    }

    async fn create_first_admin(&self, caller: &Caller, name: String, password: String) -> Result<Me, AppError> {
        let created = self.auth.create_first_admin(&name, &password, caller.address).await.map_err(AppError::from);
        let who = OwnedActor::named(&name, caller);
        self.audit_refusal(&who, "user.create_first_admin", &format!("user {name:?}"), created).await?;
        self.audit(&who, "user.create_first_admin", &format!("user {name:?} (admin)"), "ok").await?;
        self.sign_in(caller, name, password).await
    }

    async fn sign_in(&self, caller: &Caller, name: String, password: String) -> Result<Me, AppError> {
        // Audited under the name tried, so that failed guesses at an account show up under it.
        let attempt = OwnedActor::named(&name, caller);
        let signed_in = self.auth.sign_in(&name, &password, caller.address).await.map_err(AppError::from);
        let (user, token) = self.audit_refusal(&attempt, "user.sign_in", "", signed_in).await?;
        set_cookie(&sessions::cookie(&token, caller.secure));
        self.audit(&OwnedActor::named(&user.name, caller), "user.sign_in", &format!("role {}", user.role), "ok").await?;
        Ok(Me { name: user.name, role: user.role })
    }

    async fn sign_out(&self, caller: &Caller) -> Result<(), AppError> {
        if let Some(token) = &caller.session {
            self.auth.sign_out(token).await?;
            self.audit(&OwnedActor::of(caller), "user.sign_out", "", "ok").await?;
        }
        set_cookie(&sessions::cleared_cookie(caller.secure));
        Ok(())
    }

    async fn audit_log(&self, filter: AuditFilter) -> Result<Vec<AuditEntry>, AppError> {
        let events = self.store.audit_events(filter.actor.trim(), filter.action.trim(), 500).await.map_err(store_error)?;
        Ok(events.into_iter().map(views::audit_entry).collect())
    }

    async fn tokens(&self, caller: &Caller) -> Result<Vec<TokenView>, AppError> {
        let me = caller.require(Role::Viewer)?;
        let owner = match me.role {
            Role::Admin => None,
            _ => Some(self.store.user_by_name(&me.name).await.map_err(store_error)?.map_or(-1, |u| u.id)),
        };
        Ok(self.store.tokens(owner).await.map_err(store_error)?.into_iter().map(views::token).collect())
    }

    async fn create_token(&self, caller: &Caller, owner: String, name: String, role: Role) -> Result<NewTokenView, AppError> {
        let me = caller.require(Role::Viewer)?;
        let owner = if owner.trim().is_empty() { me.name.clone() } else { owner.trim().to_string() };
        let detail = format!("token {:?} for {owner:?} ({role})", name.trim());
        let made = self.auth.create_token((&me.name, me.role), &owner, &name, role).await.map_err(AppError::from);
        let (token, secret) = self.audit_refusal(&OwnedActor::of(caller), "token.create", &detail, made).await?;
        self.audit(&OwnedActor::of(caller), "token.create", &format!("{detail}, #{} {}…", token.id, token.prefix), "ok").await?;
        Ok(NewTokenView { token: views::token(token), secret })
    }

    async fn revoke_token(&self, caller: &Caller, id: i64) -> Result<TokenView, AppError> {
        let me = caller.require(Role::Viewer)?;
        let revoked = self.auth.revoke_token((&me.name, me.role), id).await.map_err(AppError::from);
        let token = self.audit_refusal(&OwnedActor::of(caller), "token.revoke", &format!("token #{id}"), revoked).await?;
        let detail = format!("token #{id} {:?} of {:?}", token.name, token.owner);
        self.audit(&OwnedActor::of(caller), "token.revoke", &detail, "ok").await?;
        let token = self.store.token(id).await.map_err(store_error)?.unwrap_or(token);
        Ok(views::token(token))
    }

    async fn add_note(&self, caller: &Caller, run_id: i64, text: String) -> Result<NoteView, AppError> {
        let text = text.trim().to_string();
        let checked = if text.is_empty() {
            Err(AppError::Invalid("text: write the note first".into()))
        } else if text.chars().count() > MAX_NOTE {
            Err(AppError::Invalid(format!("text: a note holds at most {MAX_NOTE} characters")))
        } else if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            Err(AppError::Invalid("text: contains a control character; type plain text".into()))
        } else {
            Ok(())
        };
        let detail = format!("pipeline run {run_id}");
        self.audit_refusal(&OwnedActor::of(caller), "run.note", &detail, checked).await?;
        let added = self.store.add_note(run_id, caller.name(), &text).await.map_err(store_error)?.ok_or_else(|| AppError::NotFound(format!("there is no pipeline run {run_id}")));
        let note = self.audit_refusal(&OwnedActor::of(caller), "run.note", &detail, added).await?;
        self.audit(&OwnedActor::of(caller), "run.note", &format!("{detail}: {}", first_words(&text)), "ok").await?;
        self.tracker.announce_note(run_id);
        Ok(views::note(note))
    }

    async fn webhooks(&self) -> Result<Vec<WebhookView>, AppError> {
        Ok(self.store.webhooks().await.map_err(store_error)?.into_iter().map(views::webhook).collect())
    }

    async fn add_webhook(&self, caller: &Caller, name: String, url: String, kind: WebhookKind, events: String) -> Result<WebhookView, AppError> {
        let name = name.trim().to_string();
        let checked = check_webhook(&name, url.trim(), &events);
        let detail = format!("webhook {name:?} ({kind})");
        let events = self.audit_refusal(&OwnedActor::of(caller), "alert.webhook_add", &detail, checked).await?;
        let row = self.store.add_webhook(&name, url.trim(), kind, &events, caller.name()).await.map_err(store_error)?;
        let listed: Vec<&str> = events.iter().map(|e| e.as_str()).collect();
        self.audit(&OwnedActor::of(caller), "alert.webhook_add", &format!("{detail} #{} for {}", row.id, listed.join(", ")), "ok").await?;
        Ok(views::webhook(row))
    }

    async fn remove_webhook(&self, caller: &Caller, id: i64) -> Result<(), AppError> {
        let removed = self.store.remove_webhook(id).await.map_err(store_error)?.ok_or_else(|| AppError::NotFound(format!("there is no webhook {id}")));
        let name = self.audit_refusal(&OwnedActor::of(caller), "alert.webhook_remove", &format!("webhook #{id}"), removed).await?;
        self.audit(&OwnedActor::of(caller), "alert.webhook_remove", &format!("webhook #{id} {name:?}"), "ok").await
    }

    async fn deliveries(&self) -> Result<Vec<DeliveryView>, AppError> {
        Ok(self.store.deliveries(50).await.map_err(store_error)?.into_iter().map(views::delivery).collect())
    }

    async fn unseen_failures(&self, caller: &Caller) -> Result<FailureNotice, AppError> {
        let me = caller.require(Role::Viewer)?;
        let Some(since) = self.store.failures_seen_at(&me.name).await.map_err(store_error)? else { return Ok(FailureNotice::default()) };
        let rows = self.store.failures_since(since, 100).await.map_err(store_error)?;
        let now = Utc::now();
        let mut runs = vec![];
        for row in rows.iter().take(3) {
            let stages = self.store.stages(row.id).await.map_err(store_error)?;
            runs.push(views::summary(row, &stages, now));
        }
        Ok(FailureNotice { runs, count: rows.len() as i64 })
    }

    async fn mark_failures_seen(&self, caller: &Caller) -> Result<(), AppError> {
        let me = caller.require(Role::Viewer)?;
        self.store.mark_failures_seen(&me.name, Utc::now()).await.map_err(store_error)?;
        self.audit(&OwnedActor::of(caller), "alert.seen", "failures seen", "ok").await
    }

    #[tracing::instrument(skip_all, fields(user = caller.name()), err(level = "info", Display))]
    async fn deploy_model(&self, caller: &Caller, run_id: i64) -> Result<(), AppError> {
        let detail = format!("pipeline run {run_id}");
        self.tracker_action(caller, "model.redeploy", &detail, move |tracker, actor| async move { tracker.redeploy(run_id, actor.as_actor()).await.map(|_| ()) })
            .await
    }

    async fn users(&self) -> Result<Vec<UserView>, AppError> {
        Ok(self.store.users().await.map_err(store_error)?.into_iter().map(views::user).collect())
    }

    async fn add_user(&self, caller: &Caller, name: String, role: Role, password: String) -> Result<UserView, AppError> {
        let name = name.trim().to_string();
        let detail = format!("user {name:?} ({role})");
        let added = self.auth.add_user(&name, role, &password).await.map_err(AppError::from);
        self.audit_refusal(&OwnedActor::of(caller), "user.add", &detail, added).await?;
        self.audit(&OwnedActor::of(caller), "user.add", &detail, "ok").await?;
        let user = self.store.user_by_name(&name).await.map_err(store_error)?.ok_or_else(|| AppError::NotFound(format!("there is no user named {name:?}")))?;
        Ok(views::user(user))
    }

    async fn update_user(&self, caller: &Caller, name: String, role: Role, disabled: bool) -> Result<UserView, AppError> {
        let detail = format!("user {name:?}: role {role}{}", if disabled { ", disabled" } else { ", enabled" });
        let updated = self.auth.update_user(&name, role, disabled).await.map_err(AppError::from);
        let user = self.audit_refusal(&OwnedActor::of(caller), "user.update", &detail, updated).await?;
        self.audit(&OwnedActor::of(caller), "user.update", &detail, "ok").await?;
        Ok(views::user(user))
    }
}

impl ServerBackend {
    /// Runs a caller's action on the tracker to its end (see [`to_the_end`]); a refusal is audited
    /// here, a success by the tracker with what it did.
    async fn tracker_action<T, F, Fut>(&self, caller: &Caller, action: &str, detail: &str, work: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(std::sync::Arc<Tracker>, OwnedActor) -> Fut,
        Fut: std::future::Future<Output = Result<T, TrackerError>> + Send + 'static,
    {
        let result = to_the_end(work(self.tracker.clone(), OwnedActor::of(caller))).await.map_err(AppError::from);
        self.audit_refusal(&OwnedActor::of(caller), action, detail, result).await
    }

    /// Records an action.
    async fn audit(&self, actor: &OwnedActor, action: &str, detail: &str, outcome: &str) -> Result<(), AppError> {
        self.store.record_event(actor.as_actor(), action, detail, outcome).await.map_err(store_error)?;
        Ok(())
    }

    /// Records a refused or failed action with the reason and passes the result on. (Actions
    /// that succeed are recorded where they happen, with what they did.)
    async fn audit_refusal<T>(&self, actor: &OwnedActor, action: &str, detail: &str, result: Result<T, AppError>) -> Result<T, AppError> {
        if let Err(e) = &result {
            self.audit(actor, action, detail, &format!("refused: {e}")).await?;
        }
        result
    }

    async fn predict_now(&self, request: String) -> Result<String, AppError> {
        let body: serde_json::Value = serde_json::from_str(&request).map_err(|e| AppError::Invalid(format!("the request is not JSON: {e}")))?;
        let Some(run) = self.store.latest_deployed_run().await.map_err(store_error)? else {
            return Err(AppError::Invalid("no pipeline run has deployed a model yet".into()));
        };
        let client = self.tracker.client();
        let model = client.get_model(self.tracker.project_id(), run.lineage.model_id.as_deref().unwrap_or_default()).await.map_err(cml_error)?;
        let answer = client.call_model(&model.access_key, &body).await.map_err(cml_error)?;
        Ok(serde_json::to_string_pretty(&answer).unwrap_or_default())
    }
}
