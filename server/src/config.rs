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

    /// A PostgreSQL database for Lakeline's own data, postgres://user:password@host/database (for a
    /// team, or several Lakelines behind a load balancer). Unset: SQLite in the data directory.
    /// Never logged with its password.
    #[arg(long, env = "LAKELINE_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<Secret>,

    /// Address the dashboard listens on.
    #[arg(long, env = "LAKELINE_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// Log filter, e.g. `info` or `lakeline=debug,tower_http=info`. RUST_LOG wins when set.
    #[arg(long, env = "LAKELINE_LOG", default_value = "info")]
    pub log_level: String,

    /// The built front end (cargo-leptos' site directory: `pkg/` and the public files).
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_dir: PathBuf,

    /// The CML workspace to drive, e.g. https://ml-1234.example.com (CDSW_API_URL works too).
    /// Without it Lakeline starts its embedded local workspace.
    #[arg(long, env = "LAKELINE_CML_URL")]
    pub cml_url: Option<String>,

    /// API v2 key for the CML workspace (CDSW_APIV2_KEY works too). Never logged.
    #[arg(long, env = "LAKELINE_CML_API_KEY", hide_env_values = true)]
    pub cml_api_key: Option<Secret>,

    /// The CML project holding the pipeline's jobs (CDSW_PROJECT_ID works too).
    #[arg(long, env = "LAKELINE_CML_PROJECT_ID")]
    pub cml_project_id: Option<String>,

    /// Embedded workspace: the project directory whose scripts jobs run.
    #[arg(long, env = "LAKELINE_PROJECT_DIR", default_value = "pipeline")]
    pub project_dir: PathBuf,

    /// Embedded workspace: the Python that runs jobs.
    #[arg(long, env = "LAKELINE_PYTHON", default_value = "python3")]
    pub python: PathBuf,

    /// Embedded workspace: the address its API listens on (port 0 picks a free port).
    #[arg(long, env = "LAKELINE_WORKSPACE_LISTEN", default_value = "127.0.0.1:0")]
    pub workspace_listen: SocketAddr,

    /// Embedded workspace: where Python runtimes (venvs) are built [default: <data-dir>/workspace/runtimes].
    #[arg(long, env = "LAKELINE_RUNTIMES_DIR")]
    pub runtimes_dir: Option<PathBuf>,

    /// Suffix of the pipeline's job names ("New Batch <suffix>"), table, experiment and model
    /// names, as in the lab. Changeable in Settings.
    #[arg(long, env = "LAKELINE_OWNER_SUFFIX")]
    pub owner_suffix: Option<String>,

    /// Runtime lookup for the jobs: kernel (empty = the newest Python), editor and edition.
    #[arg(long, env = "LAKELINE_RUNTIME_KERNEL", default_value = "")]
    pub runtime_kernel: String,
    #[arg(long, env = "LAKELINE_RUNTIME_EDITOR", default_value = "Workbench")]
    pub runtime_editor: String,
    #[arg(long, env = "LAKELINE_RUNTIME_EDITION", default_value = "Standard")]
    pub runtime_edition: String,

    /// Which metric or param of the retrain's run is shown as accuracy and as recall.
    #[arg(long, env = "LAKELINE_ACCURACY_KEY", default_value = "accuracy")]
    pub accuracy_key: String,
    #[arg(long, env = "LAKELINE_RECALL_KEY", default_value = "recall")]
    pub recall_key: String,

    /// The quality gate: how much lower than the live model's a new model's accuracy and recall
    /// (on the same held-out rows) may be for it to deploy. Settings can change them.
    #[arg(long, env = "LAKELINE_GATE_ACCURACY_MARGIN", default_value = "0.03", value_parser = margin)]
    pub gate_accuracy_margin: String,
    #[arg(long, env = "LAKELINE_GATE_RECALL_MARGIN", default_value = "0.15", value_parser = margin)]
    pub gate_recall_margin: String,

    /// Serve Prometheus metrics (`/metrics`) on this address only, e.g. 127.0.0.1:9100. Unset:
    /// on the main address.
    #[arg(long, env = "LAKELINE_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// Lakeline's address as people reach it (behind a proxy, its public URL): the start of the
    /// links in alerts. Default: the address it listens on.
    #[arg(long, env = "LAKELINE_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Seconds before a failed alert delivery is tried again (doubling with each attempt).
    #[arg(long, env = "LAKELINE_ALERT_RETRY_SECS", default_value_t = 5.0)]
    pub alert_retry_secs: f64,

    /// Seconds a request may take before Lakeline answers 504 with a message saying so.
    #[arg(long, env = "LAKELINE_REQUEST_TIMEOUT", default_value_t = 30)]
    pub request_timeout_secs: u64,

    /// Seconds one call to the workspace may take (shorter than the request timeout, so that a
    /// slow workspace is named as the cause).
    #[arg(long, env = "LAKELINE_CML_TIMEOUT", default_value_t = 20)]
    pub cml_timeout_secs: u64,

    /// Behind a proxy that signs people in (a CML Application, an SSO gateway): the request header
    /// that names the person, for example `Remote-User`. Off unless set.
    #[arg(long, env = "LAKELINE_TRUSTED_USER_HEADER")]
    pub trusted_user_header: Option<String>,

    /// The proxies whose user header is believed (comma-separated addresses).
    #[arg(long, env = "LAKELINE_TRUSTED_PROXIES", value_delimiter = ',', default_value = "127.0.0.1,::1")]
    pub trusted_proxies: Vec<std::net::IpAddr>,

    /// The role of a person first seen through the trusted header.
    #[arg(long, env = "LAKELINE_TRUSTED_DEFAULT_ROLE", default_value = "viewer")]
    pub trusted_default_role: domain::Role,

    /// Without a command, Lakeline serves the dashboard.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Manage the people who sign in (on this data directory).
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens (on this data directory). Tokens sign scripts and `lakeline run` in.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Starts a pipeline run on a running Lakeline. With --wait, follows it to its end and exits
    /// 0 when it succeeded, 1 when it did not (failed, stopped, timed out, incomplete); 2 when
    /// Lakeline could not be asked.
    Run {
        /// New Batch's arguments, one line.
        #[arg(long, default_value = "", allow_hyphen_values = true)]
        arguments: String,
        /// An environment variable for the run's jobs, KEY=VALUE (repeatable).
        #[arg(long = "env", value_name = "KEY=VALUE")]
        environment: Vec<String>,
        /// Follow the run to its end, printing each stage's progress.
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        remote: Remote,
    },
    /// Pipeline runs of a running Lakeline.
    #[command(subcommand)]
    Runs(RunsCommand),
}

/// Where a running Lakeline is, and the token to sign in with.
#[derive(Debug, Clone, clap::Args)]
pub struct Remote {
    /// Lakeline's address.
    #[arg(long, env = "LAKELINE_URL", default_value = "http://127.0.0.1:3000")]
    pub server: String,
    /// An API token (llt_…): from the Tokens page or `lakeline token create`.
    #[arg(long, env = "LAKELINE_TOKEN", hide_env_values = true)]
    pub token: Option<Secret>,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum RunsCommand {
    /// The newest runs (25), optionally filtered.
    List {
        /// running, succeeded, failed, stopped, timedout or incomplete.
        #[arg(long, default_value = "")]
        status: String,
        /// Who triggered (a prefix).
        #[arg(long, default_value = "")]
        who: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// One run: its stages, lineage and where its logs are.
    Show {
        id: i64,
        #[command(flatten)]
        remote: Remote,
    },
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum TokenCommand {
    /// Makes a token and prints it (shown only this once) on standard output.
    Create {
        /// What the token is for, e.g. "nightly CI".
        name: String,
        /// The user the token acts for.
        #[arg(long)]
        user: String,
        /// viewer, operator or admin; at most the user's role.
        #[arg(long, default_value = "viewer")]
        role: domain::Role,
    },
    /// Lists the tokens (never their secrets).
    List,
    /// Revokes a token: it stops working at once.
    Revoke { id: i64 },
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum UserCommand {
    /// Adds a user. The password is asked for on the terminal, or read from standard input with
    /// --password-stdin.
    Add {
        name: String,
        /// viewer, operator or admin.
        #[arg(long, default_value = "viewer")]
        role: domain::Role,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Lists the users and their roles.
    List,
}

impl Config {
    /// A configuration for tests and embedding: everything default but the data directory and
    /// an ephemeral port on loopback.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        let mut config = Config::parse_from(["lakeline"]);
        config.data_dir = data_dir.into();
        config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        config.project_dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../pipeline"));
        config
    }

    /// Fills CML settings from the variables CML sets inside its workloads, so that Lakeline runs
    /// inside CML without settings.
    pub fn with_cml_environment(mut self) -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        self.cml_url = self.cml_url.or_else(|| var("CDSW_API_URL"));
        self.cml_api_key = self.cml_api_key.or_else(|| var("CDSW_APIV2_KEY").map(Secret));
        self.cml_project_id = self.cml_project_id.or_else(|| var("CDSW_PROJECT_ID"));
        self
    }

    pub fn cml_client_options(&self) -> crate::cml::ClientOptions {
        crate::cml::ClientOptions { timeout: std::time::Duration::from_secs(self.cml_timeout_secs.max(1)), ..Default::default() }
    }

    /// Whom a signing-in proxy may name, when one is configured.
    pub fn proxy_trust(&self) -> Option<crate::auth::ProxyTrust> {
        self.trusted_user_header.as_ref().filter(|h| !h.trim().is_empty()).map(|header| crate::auth::ProxyTrust {
            header: header.trim().to_ascii_lowercase(),
            from: self.trusted_proxies.clone(),
            default_role: self.trusted_default_role,
        })
    }

    /// The pipeline settings this configuration starts with.
    pub fn default_settings(&self) -> domain::PipelineSettings {
        let suffix = self.owner_suffix.clone().unwrap_or_else(|| {
            std::env::var("USER").ok().filter(|u| !u.is_empty()).unwrap_or_else(|| "lakeline".into())
        });
        domain::PipelineSettings {
            owner_suffix: suffix,
            runtime_kernel: self.runtime_kernel.clone(),
            runtime_editor: self.runtime_editor.clone(),
            runtime_edition: self.runtime_edition.clone(),
            accuracy_key: self.accuracy_key.clone(),
            recall_key: self.recall_key.clone(),
            gate_accuracy_margin: self.gate_accuracy_margin.clone(),
            gate_recall_margin: self.gate_recall_margin.clone(),
        }
    }

    /// Where Lakeline's database is: PostgreSQL when a URL is given, else the SQLite file in the
    /// data directory.
    pub fn database(&self) -> crate::store::Location {
        match &self.database_url {
            Some(url) => crate::store::Location::Postgres(url.expose().to_string()),
            None => crate::store::Location::Sqlite(self.data_dir.join("lakeline.db")),
        }
    }
}

/// A secret setting: shown as `<redacted>` by `Debug`, so that printing the configuration never
/// prints it.
#[derive(Clone)]
pub struct Secret(pub String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_string()))
    }
}

/// A quality-gate margin: a number from 0 to 1.
fn margin(value: &str) -> Result<String, String> {
    domain::check_margin("margin", value).map(|_| value.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_key_never_shows_when_the_configuration_is_printed() {
        let config = Config::parse_from(["lakeline", "--cml-url", "https://ml.example.com", "--cml-api-key", "s3cr3t"]);
        assert_eq!(config.cml_api_key.as_ref().map(Secret::expose), Some("s3cr3t"));
        assert!(!format!("{config:?}").contains("s3cr3t"));
    }

    #[test]
    fn a_gate_margin_is_a_number_from_zero_to_one() {
        let config = Config::parse_from(["lakeline", "--gate-recall-margin", " 0.2 "]);
        assert_eq!(config.default_settings().gate_recall_margin, "0.2");
        let refused = Config::try_parse_from(["lakeline", "--gate-accuracy-margin", "lots"]).unwrap_err().to_string();
        assert!(refused.contains("--gate-accuracy-margin") && refused.contains("not a margin"), "{refused}");
    }
}
