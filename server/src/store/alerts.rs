//! Webhooks, their queued deliveries, and which run endings were queued.

use chrono::{DateTime, Utc};
use domain::{AlertEvent, WebhookKind};

use super::pipeline_runs::PipelineRunRow;
use super::{Result, Store};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct WebhookRow {
    pub id: i64,
    pub name: String,
    pub url: String,
    #[sqlx(try_from = "String")]
    pub kind: WebhookKind,
    pub events: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl WebhookRow {
    pub fn events(&self) -> Vec<AlertEvent> {
        self.events.split(',').filter_map(|e| e.trim().parse().ok()).collect()
    }
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: i64,
    pub webhook_id: i64,
    pub webhook_name: String,
    pub url: String,
    pub pipeline_run_id: i64,
    pub event: String,
    pub body: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// How a delivery attempt ended.
pub enum Attempt<'a> {
    Delivered,
    /// Try again at this time.
    Retry { error: &'a str, at: DateTime<Utc> },
    /// Given up.
    Failed { error: &'a str },
}

const DELIVERY: &str = "SELECT d.id, d.webhook_id, w.name AS webhook_name, w.url, d.pipeline_run_id, d.event, d.body, d.state, \
                        d.attempts, d.next_attempt_at, d.last_error, d.created_at, d.delivered_at \
                        FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id";

impl Store {
    pub async fn add_webhook(&self, name: &str, url: &str, kind: WebhookKind, events: &[AlertEvent], by: &str) -> Result<WebhookRow> {
        on_pool!(self, pool => {
            let events: Vec<&str> = events.iter().map(|e| e.as_str()).collect();
            Ok(sqlx::query_as(
                "INSERT INTO webhooks (name, url, kind, events, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)
                 RETURNING id, name, url, kind, events, created_by, created_at",
            )
            .bind(name)
            .bind(url)
            .bind(kind.as_str())
            .bind(events.join(","))
            .bind(by)
            .bind(Utc::now())
            .fetch_one(pool)
            .await?)
        })
    }

    /// The webhooks in use, oldest first.
    pub async fn webhooks(&self) -> Result<Vec<WebhookRow>> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as("SELECT id, name, url, kind, events, created_by, created_at FROM webhooks WHERE removed_at IS NULL ORDER BY id")
                .fetch_all(pool)
                .await?)
        })
    }

    /// Removes a webhook (its past deliveries stay listed; pending ones are dropped); `None` when
    /// there is no such webhook in use.
    pub async fn remove_webhook(&self, id: i64) -> Result<Option<String>> {
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let name: Option<String> = sqlx::query_scalar("UPDATE webhooks SET removed_at = $1 WHERE id = $2 AND removed_at IS NULL RETURNING name")
                .bind(Utc::now())
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            sqlx::query("UPDATE webhook_deliveries SET state = 'failed', last_error = 'the webhook was removed' WHERE webhook_id = $1 AND state = 'pending'")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(name)
        })
    }

    /// Runs that ended and whose ending was not queued yet, oldest first.
    pub async fn runs_to_alert(&self, limit: i64) -> Result<Vec<PipelineRunRow>> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as("SELECT * FROM pipeline_runs WHERE NOT alerted AND status != 'running' ORDER BY id LIMIT $1")
                .bind(limit)
                .fetch_all(pool)
                .await?)
        })
    }

    /// Queues a run's deliveries (one per webhook, `(webhook id, body)`) and marks the run as
    /// alerted, in one transaction; a delivery queued before is not queued twice.
    pub async fn queue_deliveries(&self, run_id: i64, event: AlertEvent, deliveries: &[(i64, String)]) -> Result<()> {
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let now = Utc::now();
            for (webhook_id, body) in deliveries {
                sqlx::query(
                    "INSERT INTO webhook_deliveries (webhook_id, pipeline_run_id, event, body, next_attempt_at, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                )
                .bind(webhook_id)
                .bind(run_id)
                .bind(event.as_str())
                .bind(body)
                .bind(now)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query("UPDATE pipeline_runs SET alerted = TRUE WHERE id = $1").bind(run_id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Pending deliveries whose time has come.
    pub async fn due_deliveries(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<DeliveryRow>> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as(&format!("{DELIVERY} WHERE d.state = 'pending' AND d.next_attempt_at <= $1 ORDER BY d.next_attempt_at LIMIT $2"))
                .bind(now)
                .bind(limit)
                .fetch_all(pool)
                .await?)
        })
    }

    /// When the next pending delivery is due, if any is.
    pub async fn next_delivery_at(&self) -> Result<Option<DateTime<Utc>>> {
        on_pool!(self, pool => {
            Ok(sqlx::query_scalar("SELECT MIN(next_attempt_at) FROM webhook_deliveries WHERE state = 'pending'").fetch_one(pool).await?)
        })
    }

    pub async fn record_attempt(&self, id: i64, attempt: Attempt<'_>) -> Result<()> {
        on_pool!(self, pool => {
            let now = Utc::now();
            let query = match attempt {
                Attempt::Delivered => sqlx::query(
                    "UPDATE webhook_deliveries SET state = 'delivered', attempts = attempts + 1, delivered_at = $1, last_error = NULL WHERE id = $2",
                )
                .bind(now),
                Attempt::Retry { error, at } => {
                    sqlx::query("UPDATE webhook_deliveries SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2 WHERE id = $3").bind(error).bind(at)
                }
                Attempt::Failed { error } => {
                    sqlx::query("UPDATE webhook_deliveries SET state = 'failed', attempts = attempts + 1, last_error = $1 WHERE id = $2").bind(error)
                }
            };
            query.bind(id).execute(pool).await?;
            Ok(())
        })
    }

    /// The latest deliveries, newest first.
    /// How many webhook deliveries are in each state: pending, delivered, failed (for `/metrics`).
    pub async fn count_deliveries(&self) -> Result<Vec<(String, i64)>> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as("SELECT state, COUNT(*) FROM webhook_deliveries GROUP BY state").fetch_all(pool).await?)
        })
    }

    pub async fn deliveries(&self, limit: i64) -> Result<Vec<DeliveryRow>> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as(&format!("{DELIVERY} ORDER BY d.id DESC LIMIT $1")).bind(limit).fetch_all(pool).await?)
        })
    }

    /// Runs that ended badly after `since`, newest first.
    pub async fn failures_since(&self, since: DateTime<Utc>, limit: i64) -> Result<Vec<PipelineRunRow>> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as(
                "SELECT * FROM pipeline_runs WHERE status IN ('failed', 'stopped', 'timedout', 'incomplete') AND finished_at > $1
                 ORDER BY finished_at DESC LIMIT $2",
            )
            .bind(since)
            .bind(limit)
            .fetch_all(pool)
            .await?)
        })
    }

    /// Until when a person has seen failures (their account's start, before they first looked).
    pub async fn failures_seen_at(&self, user: &str) -> Result<Option<DateTime<Utc>>> {
        on_pool!(self, pool => {
            Ok(sqlx::query_scalar("SELECT COALESCE(failures_seen_at, created_at) FROM users WHERE LOWER(name) = LOWER($1)").bind(user).fetch_optional(pool).await?)
        })
    }

    pub async fn mark_failures_seen(&self, user: &str, at: DateTime<Utc>) -> Result<()> {
        on_pool!(self, pool => {
            sqlx::query("UPDATE users SET failures_seen_at = $1 WHERE LOWER(name) = LOWER($2)").bind(at).bind(user).execute(pool).await?;
            Ok(())
        })
    }
}
