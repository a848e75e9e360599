//! Announces pipeline runs that ended to the webhooks admins configured. Its own task: it queues
//! each ending once in the database (lossless: it reads what the tracker stored, not the event
//! stream, which only wakes it), then delivers the queue with retries and backoff. A slow or
//! failing webhook delays only its own deliveries, never the tracker or a page.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use domain::{Alert, ChangeKind};
use tokio::sync::{broadcast, watch};

use crate::store::alerts::{Attempt, DeliveryRow};
use crate::store::{Store, StoreError};

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: i64 = 6;
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);
/// How long one attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the queue is looked at when nothing wakes the task.
const IDLE: Duration = Duration::from_secs(5);

pub struct Alerts {
    store: Store,
    http: reqwest::Client,
    /// Lakeline's address as people reach it: the start of each deep link.
    base_url: String,
    /// The wait after a first failed attempt; it doubles with each further one.
    retry_after: Duration,
}

impl Alerts {
    pub fn new(store: Store, base_url: String, retry_after: Duration) -> Arc<Alerts> {
        let http = reqwest::Client::builder().timeout(ATTEMPT_TIMEOUT).redirect(reqwest::redirect::Policy::none()).build().expect("an HTTP client");
        Arc::new(Alerts { store, http, base_url, retry_after })
    }

    /// Queues and delivers until Lakeline closes; pipeline status changes wake it early.
    pub async fn run(self: Arc<Self>, mut changes: broadcast::Receiver<domain::Change>, mut closing: watch::Receiver<bool>) {
        loop {
            if let Err(e) = self.queue_endings().await {
                tracing::warn!(error = %e, "could not queue alerts");
            }
            if let Err(e) = self.deliver_due().await {
                tracing::warn!(error = %e, "could not deliver alerts");
            }
            let next = match self.store.next_delivery_at().await {
                Ok(Some(at)) => (at - Utc::now()).to_std().unwrap_or(Duration::ZERO).min(IDLE),
                _ => IDLE,
            };
            // Until the next delivery is due, or a run's status changes (or events were lost):
            // other changes (log tails, stages) go by without a pass.
            let due = tokio::time::sleep(next);
            tokio::pin!(due);
            loop {
                let change = tokio::select! {
                    _ = &mut due => break,
                    change = changes.recv() => change,
                    _ = closing.wait_for(|c| *c) => return,
                };
                match change {
                    Ok(change) if !matches!(change.kind, ChangeKind::Status | ChangeKind::Resync) => continue,
                    // No more events (Lakeline is closing): keep the schedule.
                    Err(broadcast::error::RecvError::Closed) => (&mut due).await,
                    _ => {}
                }
                break;
            }
        }
    }

    /// Queues a delivery per interested webhook for each run that ended and was not queued yet.
    pub async fn queue_endings(&self) -> Result<(), StoreError> {
        let runs = self.store.runs_to_alert(50).await?;
        if runs.is_empty() {
            return Ok(());
        }
        let webhooks = self.store.webhooks().await?;
        for run in runs {
            let stages: Vec<_> = self.store.stages(run.id).await?.iter().map(|s| s.outcome()).collect();
            let alert = Alert::for_run(run.id, run.status, &stages, run.stop_requested_by.as_deref(), &run.triggered_by, &self.base_url);
            let Some(alert) = alert else { continue };
            let deliveries: Vec<(i64, String)> =
                webhooks.iter().filter(|w| w.events().contains(&alert.event)).map(|w| (w.id, alert.body(w.kind).to_string())).collect();
            self.store.queue_deliveries(run.id, alert.event, &deliveries).await?;
            if !deliveries.is_empty() {
                tracing::info!(pipeline_run = run.id, event = %alert.event, webhooks = deliveries.len(), "alert queued");
            }
        }
        Ok(())
    }

    /// Sends the deliveries that are due, side by side.
    pub async fn deliver_due(&self) -> Result<(), StoreError> {
        let due = self.store.due_deliveries(Utc::now(), 20).await?;
        let attempts = due.iter().map(|d| self.attempt(d));
        for result in futures_util::future::join_all(attempts).await {
            result?;
        }
        Ok(())
    }

    async fn attempt(&self, delivery: &DeliveryRow) -> Result<(), StoreError> {
        let sent = self.http.post(&delivery.url).header("content-type", "application/json").body(delivery.body.clone()).send().await;
        let error = match sent {
            Ok(response) if response.status().is_success() => None,
            Ok(response) => Some(format!("the webhook answered {}", response.status())),
            // Without the URL: it may hold the webhook's secret.
            Err(e) => Some(format!("could not reach the webhook: {}", e.without_url())),
        };
        let attempts = delivery.attempts + 1;
        let outcome = match &error {
            None => Attempt::Delivered,
            Some(error) if attempts >= MAX_ATTEMPTS => Attempt::Failed { error },
            Some(error) => Attempt::Retry { error, at: Utc::now() + chrono::Duration::from_std(self.backoff(attempts)).unwrap_or_default() },
        };
        match &error {
            None => tracing::info!(delivery = delivery.id, webhook = %delivery.webhook_name, pipeline_run = delivery.pipeline_run_id, "alert delivered"),
            Some(e) => tracing::warn!(delivery = delivery.id, webhook = %delivery.webhook_name, attempts, error = %e, "alert not delivered"),
        }
        self.store.record_attempt(delivery.id, outcome).await
    }

    /// The wait after the `attempts`-th failed attempt: the base, doubled each time, capped.
    fn backoff(&self, attempts: i64) -> Duration {
        let factor = 2u32.saturating_pow(attempts.saturating_sub(1).clamp(0, 20) as u32);
        self.retry_after.saturating_mul(factor).min(MAX_BACKOFF)
    }
}
