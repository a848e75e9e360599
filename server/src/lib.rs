//! Lakeline's server as a library, so that `main.rs`, the tests and the benchmarks share it.

pub mod alerts;
pub mod auth;
pub mod backend;
pub mod cli;
pub mod cml;
pub mod config;
pub mod error;
pub mod http;
pub mod memory;
pub mod pipeline;
pub mod store;
pub mod telemetry;
pub mod views;
pub mod workspace;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use leptos::prelude::LeptosOptions;
use tokio::net::TcpListener;

use crate::backend::ServerBackend;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::http::AppState;
use crate::store::Store;
use crate::workspace::Workspace;

/// Opens the data directory and the database, then binds the listen address. Everything that can
/// fail because of the environment fails here, before anything is served.
pub struct Lakeline {
    config: Config,
    listener: TcpListener,
    state: AppState,
    closing: tokio::sync::watch::Sender<bool>,
}

/// How long in-flight requests get to finish once shutdown is asked for.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

impl Lakeline {
    pub async fn prepare(config: Config) -> Result<Self> {
        prepare_data_dir(&config.data_dir)?;
        let database = config.database();
        let store = Store::connect(&database).await?;
        store.record_event(store::audit::Actor::lakeline("lakeline"), "server.start", env!("CARGO_PKG_VERSION"), "ok").await?;

        let workspace = Workspace::connect(&config).await?;

        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| Error::Listen { addr: config.listen, source })?;
        let addr = listener.local_addr().map_err(Error::Serve)?;

        let pkg = config.site_dir.join("pkg");
        let version = http::assets::version(&pkg).map_err(|source| Error::Site { path: pkg, source })?;
        let leptos_options = LeptosOptions::builder()
            .output_name("lakeline")
            .site_root(config.site_dir.to_string_lossy().to_string())
            .site_pkg_dir(format!("pkg/{version}"))
            .site_addr(addr)
            .build();
        let backend = Arc::new(ServerBackend::new(store, workspace, config.default_settings(), database.display(), config.proxy_trust()).await?);
        let (closing, closing_rx) = tokio::sync::watch::channel(false);
        let metrics = http::metrics::Metrics::new(backend.tracker.client().calls());
        Ok(Lakeline { config, listener, state: AppState { leptos_options, backend, closing: closing_rx, metrics, page_cache: Default::default() }, closing })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests and closes the store.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        let timeout = Duration::from_secs(self.config.request_timeout_secs);
        let backend = self.state.backend.clone();
        let tracker = tokio::spawn(backend.tracker.clone().run());
        let addr = self.listener.local_addr().map_err(Error::Serve)?;
        let reachable = if addr.ip().is_unspecified() { SocketAddr::from(([127, 0, 0, 1], addr.port())) } else { addr };
        let base_url = self.config.public_url.clone().unwrap_or_else(|| format!("http://{reachable}"));
        let retry_after = Duration::from_secs_f64(self.config.alert_retry_secs.max(0.1));
        let alerts = alerts::Alerts::new(backend.store.clone(), base_url, retry_after);
        let alerts = tokio::spawn(alerts.run(backend.tracker.subscribe(), self.state.closing.clone()));
        let metrics = self.state.metrics.clone();
        let trimmer = tokio::spawn(memory::trim_when_quiet(move || metrics.answered(), self.state.closing.clone()));
        let metrics_server = match self.config.metrics_listen {
            Some(metrics_addr) => {
                let listener = TcpListener::bind(metrics_addr).await.map_err(|source| Error::Listen { addr: metrics_addr, source })?;
                tracing::info!(addr = %listener.local_addr().map_err(Error::Serve)?, "metrics are served on their own address");
                let mut closed = self.state.closing.clone();
                let router = http::metrics_router(self.state.clone());
                let listener = axum::serve::ListenerExt::tap_io(listener, no_delay);
                Some(tokio::spawn(async move {
                    let _ = axum::serve(listener, router).with_graceful_shutdown(async move { let _ = closed.wait_for(|c| *c).await; }).await;
                }))
            }
            None => None,
        };
        let router = http::router(self.state, timeout, metrics_server.is_none());
        tracing::info!(%addr, "Lakeline is listening");
        if backend.auth.needs_first_admin().await.unwrap_or(false) {
            tracing::warn!(
                "Lakeline has no users yet: open http://{reachable}/setup in a browser on this machine to create the first admin \
                 (or run `lakeline user add NAME --role admin`)"
            );
        }
        let listener = axum::serve::ListenerExt::tap_io(self.listener, no_delay);
        let closing = self.closing;
        let mut closed = closing.subscribe();
        let signal = async move {
            shutdown.await;
            let _ = closing.send(true);
        };
        let serve = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(signal);
        tokio::select! {
            result = serve => result.map_err(Error::Serve)?,
            _ = async {
                let _ = closed.wait_for(|c| *c).await;
                tokio::time::sleep(SHUTDOWN_GRACE).await;
            } => tracing::warn!("requests still open after {SHUTDOWN_GRACE:?}; stopping anyway"),
        }
        tracker.abort();
        alerts.abort();
        trimmer.abort();
        if let Some(server) = metrics_server {
            server.abort();
        }
        backend.shutdown().await;
        tracing::info!("Lakeline stopped");
        Ok(())
    }
}

/// Small streamed responses (server-rendered pages, a file's chunks) must not wait for the
/// client's delayed ACK (40 ms each on Linux).
fn no_delay(tcp: &mut tokio::net::TcpStream) {
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!(error = %e, "could not set TCP_NODELAY");
    }
}

/// Creates the data directory when missing and proves it is writable.
fn prepare_data_dir(dir: &std::path::Path) -> Result<()> {
    let fail = |source| Error::DataDir { path: dir.to_path_buf(), source };
    std::fs::create_dir_all(dir).map_err(fail)?;
    // The database, the workspace's key and the job logs are the user's alone.
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(fail)?;
    }
    let probe = dir.join(".lakeline-write-test");
    std::fs::write(&probe, b"ok").map_err(fail)?;
    std::fs::remove_file(&probe).map_err(fail)?;
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown requested");
}
