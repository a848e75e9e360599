//! People who sign in, and their sessions.

use chrono::{DateTime, Utc};
use domain::Role;

use super::{Result, Store};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    pub disabled: bool,
}

impl Store {
    pub async fn count_users(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(self.pool()).await?)
    }

    /// Adds a user; `None` when the name is taken (names compare without case).
    pub async fn insert_user(&self, name: &str, role: Role, password_hash: &str) -> Result<Option<i64>> {
        self.insert_user_if(name, role, password_hash, "WHERE true ON CONFLICT (name) DO NOTHING").await
    }

    /// Adds the first user only while there is none (two set-ups at once make one admin).
    pub async fn insert_first_user(&self, name: &str, role: Role, password_hash: &str) -> Result<Option<i64>> {
        self.insert_user_if(name, role, password_hash, "WHERE NOT EXISTS (SELECT 1 FROM users)").await
    }

    /// One statement, so that `condition` holds at the moment of the insert.
    async fn insert_user_if(&self, name: &str, role: Role, password_hash: &str, condition: &str) -> Result<Option<i64>> {
        let id = sqlx::query_scalar(&format!(
            "INSERT INTO users (name, role, password_hash, created_at) SELECT ?, ?, ?, ? {condition} RETURNING id"
        ))
        .bind(name)
        .bind(role.as_str())
        .bind(password_hash)
        .bind(Utc::now())
        .fetch_optional(self.pool())
        .await?;
        Ok(id)
    }

    pub async fn user_by_name(&self, name: &str) -> Result<Option<UserRow>> {
        Ok(sqlx::query_as("SELECT * FROM users WHERE name = ?").bind(name).fetch_optional(self.pool()).await?)
    }

    pub async fn users(&self) -> Result<Vec<UserRow>> {
        Ok(sqlx::query_as("SELECT * FROM users ORDER BY name").fetch_all(self.pool()).await?)
    }

    /// Sets a user's role and whether they are disabled (their sessions end at once), unless
    /// that would leave no enabled admin: checked in the same statement, so two admins demoting
    /// each other at once cannot both succeed. False when refused or there is no such user.
    pub async fn set_user_access(&self, name: &str, role: Role, disabled: bool) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE users SET role = ?1, disabled = ?2 WHERE name = ?3 AND (
                 (?1 = 'admin' AND ?2 = 0) OR role != 'admin' OR disabled = 1
                 OR (SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0) > 1)",
        )
        .bind(role.as_str())
        .bind(disabled)
        .bind(name)
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 1 && disabled {
            sqlx::query("DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = ?)").bind(name).execute(self.pool()).await?;
        }
        Ok(done.rows_affected() == 1)
    }

    pub async fn create_session(&self, token_hash: &str, user_id: i64, expires_at: DateTime<Utc>, address: &str) -> Result<()> {
        sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at, address) VALUES (?, ?, ?, ?, ?)")
            .bind(token_hash)
            .bind(user_id)
            .bind(Utc::now())
            .bind(expires_at)
            .bind(address)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The user of a live session (not expired, user not disabled).
    pub async fn session_user(&self, token_hash: &str) -> Result<Option<UserRow>> {
        Ok(sqlx::query_as(
            "SELECT users.* FROM sessions JOIN users ON users.id = sessions.user_id
             WHERE sessions.token_hash = ? AND sessions.expires_at > ? AND users.disabled = 0",
        )
        .bind(token_hash)
        .bind(Utc::now())
        .fetch_optional(self.pool())
        .await?)
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?").bind(token_hash).execute(self.pool()).await?;
        Ok(())
    }

    pub async fn delete_expired_sessions(&self) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= ?").bind(Utc::now()).execute(self.pool()).await?.rows_affected())
    }
}
