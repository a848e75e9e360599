//! API tokens: known by their SHA-256, listed with their last use, revoked for good.

use chrono::{DateTime, Duration, Utc};
use domain::Role;

use super::users::UserRow;
use super::{Result, Store};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TokenRow {
    pub id: i64,
    pub owner_id: i64,
    pub owner: String,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What a new token is.
pub struct NewToken<'a> {
    pub user_id: i64,
    pub name: &'a str,
    pub role: Role,
    pub token_hash: &'a str,
    pub prefix: &'a str,
    pub created_by: &'a str,
}

/// How often a token's last use is written (a script calling every second writes once a minute).
const LAST_USED_GRANULARITY: Duration = Duration::seconds(60);

const COLUMNS: &str = "api_tokens.id, api_tokens.user_id AS owner_id, users.name AS owner, api_tokens.name, api_tokens.role, api_tokens.prefix, \
                       api_tokens.created_at, api_tokens.created_by, api_tokens.last_used_at, api_tokens.revoked_at";

impl Store {
    pub async fn insert_token(&self, token: NewToken<'_>) -> Result<i64> {
        on_pool!(self, pool => {
            Ok(sqlx::query_scalar(
                "INSERT INTO api_tokens (user_id, name, role, token_hash, prefix, created_at, created_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(token.user_id)
            .bind(token.name)
            .bind(token.role.as_str())
            .bind(token.token_hash)
            .bind(token.prefix)
            .bind(Utc::now())
            .bind(token.created_by)
            .fetch_one(pool)
            .await?)
        })
    }

    /// Tokens, newest first: one owner's (by user id), or everyone's.
    pub async fn tokens(&self, owner: Option<i64>) -> Result<Vec<TokenRow>> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM api_tokens JOIN users ON users.id = api_tokens.user_id
                 WHERE $1 IS NULL OR api_tokens.user_id = $2 ORDER BY api_tokens.id DESC"
            ))
            .bind(owner)
            .bind(owner)
            .fetch_all(pool)
            .await?)
        })
    }

    pub async fn token(&self, id: i64) -> Result<Option<TokenRow>> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM api_tokens JOIN users ON users.id = api_tokens.user_id WHERE api_tokens.id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?)
        })
    }

    /// The owner of a live token (not revoked, owner not disabled) and the token's own role;
    /// notes the use.
    pub async fn token_user(&self, token_hash: &str) -> Result<Option<(UserRow, Role)>> {
        on_pool!(self, pool => {
            #[derive(sqlx::FromRow)]
            struct Found {
                token_id: i64,
                #[sqlx(try_from = "String")]
                token_role: Role,
                last_used_at: Option<DateTime<Utc>>,
                #[sqlx(flatten)]
                user: UserRow,
            }
            let found: Option<Found> = sqlx::query_as(
                "SELECT api_tokens.id AS token_id, api_tokens.role AS token_role, api_tokens.last_used_at, users.*
                 FROM api_tokens JOIN users ON users.id = api_tokens.user_id
                 WHERE api_tokens.token_hash = $1 AND api_tokens.revoked_at IS NULL AND NOT users.disabled",
            )
            .bind(token_hash)
            .fetch_optional(pool)
            .await?;
            let Some(found) = found else { return Ok(None) };
            let now = Utc::now();
            if found.last_used_at.is_none_or(|at| now - at >= LAST_USED_GRANULARITY) {
                sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2").bind(now).bind(found.token_id).execute(pool).await?;
            }
            Ok(Some((found.user, found.token_role)))
        })
    }

    /// Revokes a token; false when it was already revoked.
    pub async fn revoke_token(&self, id: i64) -> Result<bool> {
        on_pool!(self, pool => {
            let done = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(Utc::now())
                .bind(id)
                .execute(pool)
                .await?;
            Ok(done.rows_affected() == 1)
        })
    }
}
