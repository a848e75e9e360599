//! Audit events: who did what, when. Lakeline keeps what CML does not.

use chrono::{DateTime, Utc};

use super::Store;
use super::Result;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AuditEvent {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub detail: String,
    /// Where the request came from (empty for Lakeline's own actions).
    pub address: String,
    /// `ok`, or why it was refused or failed.
    pub outcome: String,
}

/// Who acted and from where.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub name: &'a str,
    pub address: &'a str,
}

impl<'a> Actor<'a> {
    /// Lakeline itself (starts, claims).
    pub fn lakeline(name: &'a str) -> Self {
        Actor { name, address: "" }
    }
}

impl Store {
    /// Records an action and its outcome (`ok`, or the reason it was refused or failed).
    pub async fn record_event(&self, actor: Actor<'_>, action: &str, detail: &str, outcome: &str) -> Result<i64> {
        on_pool!(self, pool => {
            let id = sqlx::query_scalar::<_, i64>(
                "INSERT INTO audit_events (at, actor, action, detail, address, outcome) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(Utc::now())
            .bind(actor.name)
            .bind(action)
            .bind(detail)
            .bind(actor.address)
            .bind(outcome)
            .fetch_one(pool)
            .await?;
            Ok(id)
        })
    }

    /// Events whose actor and action start with the given texts (empty: any), newest first.
    pub async fn audit_events(&self, actor: &str, action: &str, limit: i64) -> Result<Vec<AuditEvent>> {
        on_pool!(self, pool => {
            let prefix = |text: &str| format!("{}%", super::history::escape_like(text));
            Ok(sqlx::query_as::<_, AuditEvent>(
                "SELECT id, at, actor, action, detail, address, outcome FROM audit_events
                 WHERE LOWER(actor) LIKE LOWER($1) ESCAPE '\\' AND LOWER(action) LIKE LOWER($2) ESCAPE '\\' ORDER BY id DESC LIMIT $3",
            )
            .bind(prefix(actor))
            .bind(prefix(action))
            .bind(limit)
            .fetch_all(pool)
            .await?)
        })
    }

    pub async fn recent_events(&self, limit: i64) -> Result<Vec<AuditEvent>> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as::<_, AuditEvent>(
                "SELECT id, at, actor, action, detail, address, outcome FROM audit_events ORDER BY id DESC LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?)
        })
    }
}
