//! Lakeline's own database: a SQLite file in the data directory (the default), or a PostgreSQL
//! database for a team (`--database-url`), migrated at start.
//!
//! Every query is written once, in SQL both understand (`$1` parameters, `TRUE`/`FALSE`, `ON
//! CONFLICT`, `IS DISTINCT FROM`), and compiled for each database by [`on_pool!`]: the rows and
//! bound values keep their Rust types (times are `TIMESTAMPTZ` on PostgreSQL, text on SQLite).

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

/// Runs `$body` with `$pool` bound to the store's pool, whichever database it is: the body is
/// compiled once for each, so its SQL must be valid in both.
#[macro_export]
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store.db() {
            $crate::store::Db::Sqlite($pool) => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}

pub mod alerts;
pub mod audit;
pub mod cluster;
pub mod error;
pub mod history;
pub mod notes;
pub mod page_data;
pub mod pipeline_runs;
pub mod settings;
pub mod tokens;
pub mod users;

pub use error::{Result, StoreError};

/// Where the database is.
#[derive(Debug, Clone, PartialEq)]
pub enum Location {
    /// A SQLite file (created when missing).
    Sqlite(PathBuf),
    /// A PostgreSQL URL, `postgres://user:password@host:port/database`.
    Postgres(String),
}

impl Location {
    /// The location as it may be shown and logged: a PostgreSQL URL without its password.
    pub fn display(&self) -> String {
        match self {
            Location::Sqlite(path) => path.display().to_string(),
            Location::Postgres(url) => redact_password(url),
        }
    }
}

/// `postgres://ana:secret@db/lakeline` → `postgres://ana:***@db/lakeline`, and the same for a
/// `password=` query parameter.
pub fn redact_password(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else { return "<a PostgreSQL URL that cannot be parsed>".into() };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("***"));
    }
    let query: Vec<(String, String)> =
        parsed.query_pairs().map(|(k, v)| (k.to_string(), if k == "password" { "***".into() } else { v.to_string() })).collect();
    if !query.is_empty() {
        parsed.query_pairs_mut().clear().extend_pairs(query);
    }
    parsed.to_string()
}

/// Transactions that no other writer of a table runs beside, for checks that must still hold when
/// the write lands (PostgreSQL's default isolation lets two transactions each miss the other's
/// write).
pub(crate) trait Exclusive {
    type Database: sqlx::Database;
    /// SQLite takes its (database-wide) write lock at once; PostgreSQL locks `table` against
    /// other writers until the transaction ends (readers go on).
    async fn begin_exclusive(&self, table: &str) -> Result<sqlx::Transaction<'static, Self::Database>>;
}

impl Exclusive for SqlitePool {
    type Database = sqlx::Sqlite;
    async fn begin_exclusive(&self, _table: &str) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.begin_with("BEGIN IMMEDIATE").await?)
    }
}

impl Exclusive for PgPool {
    type Database = sqlx::Postgres;
    async fn begin_exclusive(&self, table: &str) -> Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        let mut tx = self.begin().await?;
        sqlx::query(&format!("LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")).execute(&mut *tx).await?;
        Ok(tx)
    }
}

/// The pool of whichever database the store is on.
#[derive(Clone)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

#[derive(Clone)]
pub struct Store {
    db: Db,
}

impl Store {
    /// Opens the database and applies pending migrations.
    pub async fn connect(location: &Location) -> Result<Self> {
        match location {
            Location::Sqlite(path) => Self::open(path).await,
            Location::Postgres(url) => Self::open_postgres(url).await,
        }
    }

    /// Opens (creating when missing) the SQLite database at `path` and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        let failed = |source| StoreError::Open { database: path.display().to_string(), source };
        local_workspace::make_private_database(path).map_err(|e| failed(sqlx::Error::Io(e)))?;
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(failed)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await.map_err(failed)?;
        sqlx::migrate!("../migrations/sqlite").run(&pool).await?;
        Ok(Store { db: Db::Sqlite(pool) })
    }

    /// Connects to the PostgreSQL database at `url` and applies pending migrations.
    pub async fn open_postgres(url: &str) -> Result<Self> {
        let failed = |source| StoreError::Open { database: redact_password(url), source };
        let options = PgConnectOptions::from_str(url).map_err(failed)?.application_name("lakeline");
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(failed)?;
        sqlx::migrate!("../migrations/postgres").run(&pool).await?;
        Ok(Store { db: Db::Postgres(pool) })
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// A cheap query that proves the database answers.
    pub async fn ping(&self) -> Result<()> {
        on_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(drop))?;
        Ok(())
    }

    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }
}

/// A store for unit tests: on the PostgreSQL server tests run against, else SQLite in `dir`.
#[cfg(test)]
pub(crate) async fn test_store(dir: &tempfile::TempDir) -> Store {
    match test_database::server() {
        Some(server) => Store::open_postgres(&test_database::create(&server)).await.unwrap(),
        None => Store::open(&dir.path().join("test.db")).await.unwrap(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postgres_url_is_shown_without_its_password() {
        assert_eq!(redact_password("postgres://ana:s3cret@db:5432/lakeline"), "postgres://ana:***@db:5432/lakeline");
        assert_eq!(redact_password("postgres://db/lakeline?user=ana&password=s3cret"), "postgres://db/lakeline?user=ana&password=***");
        assert_eq!(redact_password("postgres://ana@db/lakeline"), "postgres://ana@db/lakeline");
        assert!(!redact_password("postgres://ana:s3cret@[::1/x").contains("s3cret"));
    }
}

/// Fresh databases for tests: `LAKELINE_TEST_POSTGRES` names a PostgreSQL server (`make
/// test-postgres` starts one on a private port) on which each test gets a database of its own;
/// unset, tests use SQLite files.
pub mod test_database {
    use std::sync::atomic::{AtomicU32, Ordering};

    use sqlx::Connection;

    /// The variable that names the PostgreSQL server tests run against.
    pub const SERVER_VAR: &str = "LAKELINE_TEST_POSTGRES";

    /// The server's URL, when tests run against PostgreSQL.
    pub fn server() -> Option<String> {
        std::env::var(SERVER_VAR).ok().filter(|s| !s.trim().is_empty())
    }

    /// Creates a new, empty database on the server at `server_url` and answers its URL. Blocking
    /// (it runs on a thread of its own), so that synchronous test set-up can call it.
    pub fn create(server_url: &str) -> String {
        static COUNT: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        let name = format!("lakeline_test_{}_{}_{nanos}", std::process::id(), COUNT.fetch_add(1, Ordering::Relaxed));
        let mut url = url::Url::parse(server_url).expect("LAKELINE_TEST_POSTGRES is a URL");
        let server = server_url.to_string();
        let create = format!("CREATE DATABASE {name}");
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            runtime.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&server).await.expect("the test PostgreSQL server answers");
                sqlx::query(&create).execute(&mut conn).await.expect("a test database is created");
                conn.close().await.ok();
            })
        })
        .join()
        .expect("the database is created");
        url.set_path(&name);
        url.to_string()
    }
}
