//! People who sign in, and their sessions.

use chrono::{DateTime, Utc};
use domain::Role;

use super::{Exclusive, Result, Store};

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
        on_pool!(self, pool => {
            Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(pool).await?)
        })
    }

    /// Adds a user; `None` when the name is taken (names compare without case).
    pub async fn insert_user(&self, name: &str, role: Role, password_hash: &str) -> Result<Option<i64>> {
        self.insert_user_if(name, role, password_hash, "WHERE TRUE ON CONFLICT DO NOTHING").await
    }

    /// Adds the first user only while there is none (two set-ups at once make one admin).
    pub async fn insert_first_user(&self, name: &str, role: Role, password_hash: &str) -> Result<Option<i64>> {
        self.insert_user_if(name, role, password_hash, "WHERE NOT EXISTS (SELECT 1 FROM users)").await
    }

    /// One statement in a transaction no other writer of `users` runs beside, so that
    /// `condition` holds at the moment of the insert.
    async fn insert_user_if(&self, name: &str, role: Role, password_hash: &str, condition: &str) -> Result<Option<i64>> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_exclusive("users").await?;
            let id = sqlx::query_scalar(&format!(
                "INSERT INTO users (name, role, password_hash, created_at) SELECT $1, $2, $3, $4 {condition} RETURNING id"
            ))
            .bind(name)
            .bind(role.as_str())
            .bind(password_hash)
            .bind(Utc::now())
            .fetch_optional(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(id)
        })
    }

    pub async fn user_by_name(&self, name: &str) -> Result<Option<UserRow>> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as("SELECT * FROM users WHERE LOWER(name) = LOWER($1)").bind(name).fetch_optional(pool).await?)
        })
    }

    pub async fn users(&self) -> Result<Vec<UserRow>> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as("SELECT * FROM users ORDER BY LOWER(name)").fetch_all(pool).await?)
        })
    }

    /// Sets a user's role and whether they are disabled (their sessions end at once), unless
    /// that would leave no enabled admin: checked in the same statement, in a transaction no other
    /// writer of `users` runs beside, so two admins demoting each other at once cannot both
    /// succeed. False when refused or there is no such user.
    pub async fn set_user_access(&self, name: &str, role: Role, disabled: bool) -> Result<bool> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_exclusive("users").await?;
            let done = sqlx::query(
                "UPDATE users SET role = $1, disabled = $2 WHERE LOWER(name) = LOWER($3) AND (
                     ($1 = 'admin' AND NOT $2) OR role != 'admin' OR disabled
                     OR (SELECT COUNT(*) FROM users WHERE role = 'admin' AND NOT disabled) > 1)",
            )
            .bind(role.as_str())
            .bind(disabled)
            .bind(name)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 1 && disabled {
                sqlx::query("DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE LOWER(name) = LOWER($1))").bind(name).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(done.rows_affected() == 1)
        })
    }

    pub async fn create_session(&self, token_hash: &str, user_id: i64, expires_at: DateTime<Utc>, address: &str) -> Result<()> {
        on_pool!(self, pool => {
            sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at, address) VALUES ($1, $2, $3, $4, $5)")
                .bind(token_hash)
                .bind(user_id)
                .bind(Utc::now())
                .bind(expires_at)
                .bind(address)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// The user of a live session (not expired, user not disabled).
    pub async fn session_user(&self, token_hash: &str) -> Result<Option<UserRow>> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as(
                "SELECT users.* FROM sessions JOIN users ON users.id = sessions.user_id
                 WHERE sessions.token_hash = $1 AND sessions.expires_at > $2 AND NOT users.disabled",
            )
            .bind(token_hash)
            .bind(Utc::now())
            .fetch_optional(pool)
            .await?)
        })
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        on_pool!(self, pool => {
            sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(pool).await?;
            Ok(())
        })
    }

    pub async fn delete_expired_sessions(&self) -> Result<u64> {
        on_pool!(self, pool => {
            Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(Utc::now()).execute(pool).await?.rows_affected())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn two_first_set_ups_at_once_make_one_user() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::test_store(&dir).await;
        for round in 0..10 {
            let names: Vec<String> = (0..4).map(|i| format!("first-{round}-{i}")).collect();
            let made = futures_util::future::join_all(names.iter().map(|n| store.insert_first_user(n, Role::Admin, "hash"))).await;
            let made = made.into_iter().map(Result::unwrap).filter(Option::is_some).count();
            assert_eq!((made, store.count_users().await.unwrap()), (1, 1), "round {round}");
            sqlx_delete_users(&store).await;
        }
        store.close().await;
    }

    #[tokio::test]
    async fn two_admins_demoting_each_other_at_once_leave_one_admin() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::test_store(&dir).await;
        for round in 0..10 {
            let (a, b) = (format!("ada-{round}"), format!("bo-{round}"));
            store.insert_user(&a, Role::Admin, "hash").await.unwrap().unwrap();
            store.insert_user(&b, Role::Admin, "hash").await.unwrap().unwrap();
            let (x, y) = tokio::join!(store.set_user_access(&a, Role::Viewer, false), store.set_user_access(&b, Role::Viewer, false));
            assert_eq!([x.unwrap(), y.unwrap()].iter().filter(|done| **done).count(), 1, "round {round}: exactly one demotion lands");
            let admins = store.users().await.unwrap().into_iter().filter(|u| u.role == Role::Admin && !u.disabled).count();
            assert_eq!(admins, 1, "round {round}");
            sqlx_delete_users(&store).await;
        }
        store.close().await;
    }

    #[tokio::test]
    async fn names_compare_without_case() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::test_store(&dir).await;
        store.insert_user("Ada", Role::Admin, "hash").await.unwrap().unwrap();
        assert_eq!(store.insert_user("ADA", Role::Viewer, "hash").await.unwrap(), None, "the name is taken");
        assert_eq!(store.user_by_name("ada").await.unwrap().unwrap().name, "Ada");
        store.close().await;
    }

    async fn sqlx_delete_users(store: &Store) {
        on_pool!(store, pool => sqlx::query("DELETE FROM users").execute(pool).await.map(drop)).unwrap();
    }
}
