//! What the tracker does among several replicas sharing one PostgreSQL database: exactly one of
//! them polls the workspace (it holds the polling lease; the others try to take it over every
//! [`LEASE_RETRY`]); actions that must not run beside each other take a cluster-wide lock; each
//! replica's changes reach the others' pages, and settings or jobs changed on one are read again
//! on the others. On SQLite there is one replica: it always holds the lease and sends nothing.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use domain::Change;
use tokio::sync::MutexGuard;

use super::{Definition, Tracker, TrackerError};
use crate::store::cluster::{ActionLock, Message, Published};

/// How often a replica that does not poll the workspace tries to take the polling lease over.
pub const LEASE_RETRY: Duration = Duration::from_secs(2);

impl Tracker {
    /// The configuration's settings, so that settings saved on another replica can be read again.
    pub fn set_defaults(&self, defaults: domain::PipelineSettings) {
        let _ = self.defaults.set(defaults);
    }

    /// Which change of the settings or the jobs this replica last heard of (from here or another
    /// replica): what was read of the jobs before a change is stale.
    pub fn definition_version(&self) -> u64 {
        self.definition_version.load(Ordering::Relaxed)
    }

    /// Tells the other replicas that the settings or the jobs changed here.
    pub fn announce_definition(&self) {
        self.definition_version.fetch_add(1, Ordering::Relaxed);
        if self.store.shared() {
            let _ = self.outbox.send(Message::Definition);
        }
    }

    /// The jobs were changed here: read them again, and tell the other replicas to.
    pub(super) async fn jobs_changed(&self) {
        *self.jobs.write().await = None;
        self.announce_definition();
    }

    /// Another replica changed the settings or the jobs: read both again.
    async fn reload_definition(&self) -> Result<(), TrackerError> {
        if let Some(defaults) = self.defaults.get() {
            let settings = self.store.merged_settings(defaults).await?;
            *self.definition.write().await = Definition { settings };
        }
        *self.jobs.write().await = None;
        self.definition_version.fetch_add(1, Ordering::Relaxed);
        self.wake.notify_one();
        Ok(())
    }

    /// Whether this replica polls the workspace: it keeps the lease while the lease holds, and
    /// takes it when no other replica holds it.
    pub(super) async fn lead(&self) -> bool {
        let mut lease = self.lease.lock().await;
        if let Some(held) = lease.as_mut() {
            if held.holds().await {
                return true;
            }
            *lease = None;
            self.leading.store(false, Ordering::Relaxed);
            tracing::warn!("this replica lost the polling lease (its database connection failed)");
        }
        match self.store.try_lease().await {
            Ok(Some(taken)) => {
                *lease = Some(taken);
                self.leading.store(true, Ordering::Relaxed);
                if self.store.shared() {
                    tracing::info!(replica = %self.replica, "this replica now polls the workspace");
                }
                true
            }
            Ok(None) => false,
            Err(e) => {
                tracing::warn!(error = %e, "the polling lease could not be asked for");
                false
            }
        }
    }

    /// Whether this replica polls the workspace now (for `/metrics`).
    pub fn leading(&self) -> bool {
        self.leading.load(Ordering::Relaxed)
    }

    /// Sends this replica's changes to the others and passes theirs to this replica's pages (and
    /// wakes the tracker: a trigger elsewhere starts a chain this replica may be polling).
    pub(super) async fn follow_replicas(self: Arc<Self>) {
        let Some(mut outbox) = self.outbox_rx.lock().expect("tracker outbox").take() else { return };
        let mut listener = loop {
            match self.store.listen().await {
                Ok(Some(listener)) => break listener,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for the other replicas' changes; trying again");
                    tokio::time::sleep(LEASE_RETRY).await;
                }
            }
        };
        loop {
            tokio::select! {
                Some(message) = outbox.recv() => {
                    if let Err(e) = self.store.publish(&self.replica, message).await {
                        tracing::warn!(error = %e, "a change could not be sent to the other replicas");
                    }
                }
                heard = listener.recv() => match heard {
                    Ok(notification) => match serde_json::from_str::<Published>(notification.payload()) {
                        Ok(published) if published.from != self.replica => match published.message {
                            Message::Change(change) => {
                                let _ = self.events.send(change);
                                self.wake.notify_one();
                            }
                            Message::Definition => {
                                if let Err(e) = self.reload_definition().await {
                                    tracing::warn!(error = %e, "the settings another replica saved could not be read");
                                }
                            }
                        },
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "a replica's change could not be read"),
                    },
                    Err(e) => {
                        // The listener reconnects; what was sent meanwhile is lost: pages refetch.
                        tracing::warn!(error = %e, "lost the other replicas' changes for a moment");
                        let _ = self.events.send(Change::resync());
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                },
            }
        }
    }

    /// The tracker's lock and the cluster-wide action lock: nothing else that must not run beside
    /// this (a pass, a trigger, a stop, a set-up) runs on any replica until it is dropped.
    pub(super) async fn exclusive(&self) -> Result<(MutexGuard<'_, ()>, ActionLock), TrackerError> {
        let local = self.lock.lock().await;
        Ok((local, self.store.lock_actions().await?))
    }
}
