//! Notes on pipeline runs: plain text with author and time; never edited, only added.

use chrono::{DateTime, Utc};

use super::{Result, Store};

/// The longest note accepted, in characters.
pub const MAX_NOTE: usize = 4000;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct NoteRow {
    pub id: i64,
    pub pipeline_run_id: i64,
    pub author: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

impl Store {
    /// Adds a note to a run (and counts it on the run, in the same transaction); `None` when there
    /// is no such run.
    pub async fn add_note(&self, run_id: i64, author: &str, body: &str) -> Result<Option<NoteRow>> {
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let counted = sqlx::query("UPDATE pipeline_runs SET note_count = note_count + 1 WHERE id = $1").bind(run_id).execute(&mut *tx).await?;
            if counted.rows_affected() == 0 {
                return Ok(None);
            }
            let note = sqlx::query_as(
                "INSERT INTO run_notes (pipeline_run_id, author, body, created_at) VALUES ($1, $2, $3, $4) RETURNING *",
            )
            .bind(run_id)
            .bind(author)
            .bind(body)
            .bind(Utc::now())
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Some(note))
        })
    }

    /// A run's notes, oldest first.
    pub async fn notes(&self, run_id: i64) -> Result<Vec<NoteRow>> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as("SELECT * FROM run_notes WHERE pipeline_run_id = $1 ORDER BY id").bind(run_id).fetch_all(pool).await?)
        })
    }
}
