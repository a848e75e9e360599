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
}

impl Store {
    pub async fn record_event(&self, actor: &str, action: &str, detail: &str) -> Result<i64> {
        let id = sqlx::query_scalar::<_, i64>(
            "INSERT INTO audit_events (at, actor, action, detail) VALUES (?, ?, ?, ?) RETURNING id",
        )
        .bind(Utc::now())
        .bind(actor)
        .bind(action)
        .bind(detail)
        .fetch_one(self.pool())
        .await?;
        Ok(id)
    }

    pub async fn recent_events(&self, limit: i64) -> Result<Vec<AuditEvent>> {
        Ok(sqlx::query_as::<_, AuditEvent>(
            "SELECT id, at, actor, action, detail FROM audit_events ORDER BY id DESC LIMIT ?",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }
}
