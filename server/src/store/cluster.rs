//! Several Lakelines on one PostgreSQL database: which one polls the workspace (a lease), actions
//! that must not run beside each other on any replica (a cluster-wide lock), and the live changes
//! every replica's browsers hear (`LISTEN/NOTIFY`). On SQLite there is one Lakeline: it always
//! holds the lease, the lock is its own, and changes stay in the process.

use domain::Change;
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgListener;
use sqlx::Postgres;

use super::{Db, Result, Store};

/// Advisory lock keys (PostgreSQL's `pg_advisory_lock` takes a 64-bit number): "LKLN" + a small
/// number, so that they do not meet another application's keys on a shared server.
const LEASE_KEY: i64 = 0x4c4b_4c4e_0000_0001;
const ACTIONS_KEY: i64 = 0x4c4b_4c4e_0000_0002;

/// The channel live changes travel on between replicas.
pub const CHANGES_CHANNEL: &str = "lakeline_changes";

/// The right to poll the workspace, held while this replica's session holds the lease's advisory
/// lock: when the replica dies, its connection closes and the lock is free for another.
pub struct Lease {
    conn: Option<PoolConnection<Postgres>>,
}

impl Lease {
    /// Whether the lease still holds (the connection that holds it still answers).
    pub async fn holds(&mut self) -> bool {
        match &mut self.conn {
            None => true,
            Some(conn) => sqlx::query("SELECT 1").execute(&mut **conn).await.is_ok(),
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // A connection holding a session lock must not go back to the pool: closing it frees the lock.
        if let Some(conn) = self.conn.take() {
            drop(conn.detach());
        }
    }
}

/// Held while an action that must not run beside another (a trigger, a reconciling pass) runs, on
/// whichever replica; freed when dropped.
pub struct ActionLock {
    conn: Option<PoolConnection<Postgres>>,
}

impl Drop for ActionLock {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else { return };
        match tokio::runtime::Handle::try_current() {
            // Unlocked, the connection goes back to the pool; should unlocking fail, closing
            // the connection frees the lock.
            Ok(runtime) => drop(runtime.spawn(async move {
                if sqlx::query("SELECT pg_advisory_unlock($1)").bind(ACTIONS_KEY).execute(&mut *conn).await.is_err() {
                    drop(conn.detach());
                }
            })),
            Err(_) => drop(conn.detach()),
        }
    }
}

impl Store {
    /// Whether several replicas may share this database (PostgreSQL).
    pub fn shared(&self) -> bool {
        matches!(self.db(), Db::Postgres(_))
    }

    /// Takes the polling lease unless another replica holds it.
    pub async fn try_lease(&self) -> Result<Option<Lease>> {
        let Db::Postgres(pool) = self.db() else { return Ok(Some(Lease { conn: None })) };
        let mut conn = pool.acquire().await?;
        let taken: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)").bind(LEASE_KEY).fetch_one(&mut *conn).await?;
        Ok(taken.then_some(Lease { conn: Some(conn) }))
    }

    /// Waits for the cluster-wide action lock.
    pub async fn lock_actions(&self) -> Result<ActionLock> {
        let Db::Postgres(pool) = self.db() else { return Ok(ActionLock { conn: None }) };
        let mut conn = pool.acquire().await?;
        sqlx::query("SELECT pg_advisory_lock($1)").bind(ACTIONS_KEY).execute(&mut *conn).await?;
        Ok(ActionLock { conn: Some(conn) })
    }

    /// Tells the other replicas (`from` names this replica, so that it can skip its own messages
    /// when they come back).
    pub async fn publish(&self, from: &str, message: Message) -> Result<()> {
        if let Db::Postgres(pool) = self.db() {
            let payload = serde_json::to_string(&Published { from: from.to_string(), message }).expect("a message serialises");
            sqlx::query("SELECT pg_notify($1, $2)").bind(CHANGES_CHANNEL).bind(payload).execute(pool).await?;
        }
        Ok(())
    }

    /// Listens for the changes replicas publish (`None` on SQLite, where there are no others).
    pub async fn listen(&self) -> Result<Option<PgListener>> {
        let Db::Postgres(pool) = self.db() else { return Ok(None) };
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(CHANGES_CHANNEL).await?;
        Ok(Some(listener))
    }
}

/// What replicas tell each other.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Message {
    /// A live change, for the pages.
    Change(Change),
    /// The settings or the jobs changed: read them again.
    Definition,
}

/// A message as it travels between replicas.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Published {
    pub from: String,
    pub message: Message,
}
