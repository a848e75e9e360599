//! Lakeline's configuration, read once at start from flags and the environment.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// Lakeline: a dashboard for the New Batch → Retrain XGBoost → API Redeployment pipeline of
/// Cloudera Machine Learning.
#[derive(Debug, Clone, Parser)]
#[command(name = "lakeline", version, about, long_about = None)]
pub struct Config {
    /// Where Lakeline keeps its database (and, on the embedded default, the local workspace).
    #[arg(long, env = "LAKELINE_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Address the dashboard listens on.
    #[arg(long, env = "LAKELINE_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// Log filter, e.g. `info` or `lakeline=debug,tower_http=info`. RUST_LOG wins when set.
    #[arg(long, env = "LAKELINE_LOG", default_value = "info")]
    pub log_level: String,

    /// The built front end (cargo-leptos' site directory: `pkg/` and the public files).
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_dir: PathBuf,

    /// Seconds a request may take before Lakeline answers 408.
    #[arg(long, env = "LAKELINE_REQUEST_TIMEOUT", default_value_t = 30)]
    pub request_timeout_secs: u64,
}

impl Config {
    /// A configuration for tests and embedding: everything default but the data directory and
    /// an ephemeral port on loopback.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        let mut config = Config::parse_from(["lakeline"]);
        config.data_dir = data_dir.into();
        config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        config
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("lakeline.db")
    }
}
