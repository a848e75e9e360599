//! Lakeline's embedded default: a workspace on loopback that speaks the CML API v2 subset
//! Lakeline uses and really does the work — jobs run as child processes with their dependency
//! chain. Lakeline talks to it only over HTTP, exactly as it talks to CML.

pub mod error;
mod api;
mod ids;
mod listing;
mod paths;
mod processes;
pub mod runner;
pub mod runtimes;
mod registry;
mod schedules;
mod serving;
mod store;
mod tracking;
pub mod work_error;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::error::{ApiError, ApiResult};
use crate::runner::{JobContext, Runner};
use crate::store::{JobRow, ProjectRow, RunRow, Store};

/// How to start a local workspace.
#[derive(Debug, Clone)]
pub struct LocalWorkspaceConfig {
    /// Where the workspace keeps its database and API key.
    pub data_dir: PathBuf,
    /// The default project's files (the repository's `pipeline/` by default).
    pub project_dir: PathBuf,
    /// The Python that runs jobs.
    pub python: PathBuf,
    /// Address to listen on; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Where Python runtimes (venvs) are built; shareable between workspaces.
    pub runtimes_dir: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the local workspace's directory {path} cannot be used: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error("the local workspace's project directory {0} does not exist; set it with --project-dir")]
    ProjectDir(PathBuf),
    #[error("the local workspace's database failed: {0}")]
    Database(#[from] sqlx::Error),
    #[error("no Python runtime for the local workspace: {0}")]
    Runtime(#[source] work_error::WorkError),
    #[error("the local workspace cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
}

/// Shared state of a running workspace.
pub(crate) struct Workspace {
    pub store: Store,
    pub runner: Arc<Runner>,
    pub api_key: String,
    pub owner: String,
    pub default_project_id: String,
    /// Root of MLflow artifacts (`mlflow-artifacts:/<path>` lives at `<artifacts_dir>/<path>`).
    pub artifacts_dir: PathBuf,
    pub data_dir: PathBuf,
    /// This workspace's URL, `http://127.0.0.1:<port>`.
    pub url: String,
    pub serving: Arc<serving::Serving>,
}

impl Workspace {
    pub async fn project(&self, id: &str) -> ApiResult<ProjectRow> {
        self.store.project(id).await?.ok_or_else(|| ApiError::not_found(format!("project {id:?} not found")))
    }
    pub async fn job(&self, project_id: &str, id: &str) -> ApiResult<JobRow> {
        self.store.job(project_id, id).await?.ok_or_else(|| ApiError::not_found(format!("job {id:?} not found in project {project_id:?}")))
    }
    pub async fn run(&self, job_id: &str, id: &str) -> ApiResult<RunRow> {
        self.store.run(job_id, id).await?.ok_or_else(|| ApiError::not_found(format!("job run {id:?} not found for job {job_id:?}")))
    }
}

/// A running local workspace. Dropping it does not stop it; call [`LocalWorkspace::shutdown`].
pub struct LocalWorkspace {
    addr: SocketAddr,
    api_key: String,
    project_id: String,
    workspace: Arc<Workspace>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// The task that fires scheduled jobs.
    schedules: tokio::task::AbortHandle,
}

impl std::fmt::Debug for LocalWorkspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalWorkspace").field("addr", &self.addr).field("api_key", &"<redacted>").finish()
    }
}

impl LocalWorkspace {
    pub async fn start(config: LocalWorkspaceConfig) -> Result<Self, StartError> {
        let data_dir = &config.data_dir;
        std::fs::create_dir_all(data_dir).map_err(|source| StartError::DataDir { path: data_dir.clone(), source })?;
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|source| StartError::DataDir { path: data_dir.clone(), source })?;
        }
        make_private_database(&data_dir.join("workspace.db")).map_err(|source| StartError::DataDir { path: data_dir.join("workspace.db"), source })?;
        let project_dir = std::fs::canonicalize(&config.project_dir).map_err(|_| StartError::ProjectDir(config.project_dir.clone()))?;
        let api_key = load_or_create_key(data_dir)?;
        let store = Store::open(&data_dir.join("workspace.db")).await?;
        let requirements = project_dir.join("requirements.txt");
        let venv = requirements.is_file().then(|| (config.runtimes_dir.join("pipeline-venv"), requirements));
        let runtime = runtimes::detect_python(&config.python, venv).map_err(StartError::Runtime)?;

        let owner = std::env::var("USER").ok().filter(|u| !u.is_empty()).unwrap_or_else(|| "lakeline".into());
        let project = store.upsert_default_project(&ids::new_id(), "lakeline-pipeline", &project_dir.to_string_lossy()).await?;
        // What a crashed predecessor left running dies before its run is recorded as failed.
        processes::Registry(store.pool()).kill_leftovers().await?;
        fail_active_runs(&store, &project, "the local workspace stopped while this run was active; its process was lost").await?;
        registry::Registry(store.pool()).fail_interrupted_builds().await?;

        let listener = TcpListener::bind(config.listen).await.map_err(|source| StartError::Listen { addr: config.listen, source })?;
        let addr = listener.local_addr().map_err(|source| StartError::Listen { addr: config.listen, source })?;
        let base_url = format!("http://{addr}");
        let iceberg = data_dir.join("iceberg");
        let extra_env = BTreeMap::from([
            // MLflow in jobs logs to this workspace, as it logs to CML's built-in tracking.
            ("MLFLOW_TRACKING_URI".to_string(), base_url.clone()),
            ("MLFLOW_TRACKING_TOKEN".to_string(), api_key.clone()),
            // Iceberg through pyiceberg's SQL catalog here (CML's jobs use Spark instead).
            ("LAKELINE_ICEBERG_WAREHOUSE".to_string(), std::path::absolute(&iceberg).unwrap_or(iceberg).to_string_lossy().into_owned()),
            // XGBoost's OpenMP spin-wait costs seconds on small machines.
            ("OMP_WAIT_POLICY".to_string(), "PASSIVE".to_string()),
        ]);
        let context = JobContext { base_url: base_url.clone(), api_key: api_key.clone(), owner: owner.clone(), extra_env };
        let runner = Runner::new(store.clone(), context, vec![runtime]);
        let serving = serving::Serving::new(store.clone(), runner.clone(), data_dir.join("serving"))
            .map_err(|source| StartError::DataDir { path: data_dir.join("serving"), source })?;
        let artifacts_dir = std::path::absolute(data_dir.join("artifacts")).unwrap_or_else(|_| data_dir.join("artifacts"));
        let workspace = Arc::new(Workspace {
            store,
            runner,
            api_key: api_key.clone(),
            owner,
            default_project_id: project.id.clone(),
            artifacts_dir,
            data_dir: std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.clone()),
            url: base_url,
            serving: serving.clone(),
        });
        serving.resume().await;
        let schedules = tokio::spawn(schedules::fire(Arc::downgrade(&workspace))).abort_handle();
        let router = api::router(workspace.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            // A streamed answer (a file's chunks after the headers) must not wait for the client's
            // delayed ACK: without TCP_NODELAY most file downloads on a kept-alive connection took
            // 44 ms (a job's log read by the tracker), with it 0.3–0.7 ms.
            let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                let _ = tcp.set_nodelay(true);
            });
            if let Err(e) = axum::serve(listener, router).with_graceful_shutdown(shutdown).await {
                tracing::error!(error = %e, "the local workspace's server failed");
            }
        });
        tracing::info!(%addr, project = %project.id, dir = %project_dir.display(), "local workspace is listening");
        Ok(LocalWorkspace { addr, api_key, project_id: project.id, workspace, stop: Some(stop), task: Some(task), schedules })
    }

    /// `http://127.0.0.1:<port>`: the base URL an API v2 client is given.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API key the workspace issued (a secret: never log it).
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    pub fn project_id(&self) -> &str {
        &self.project_id
    }

    /// Stops serving, kills running job processes and closes the database.
    pub async fn shutdown(mut self) {
        self.stop_now().await
    }

    async fn stop_now(&mut self) {
        self.schedules.abort();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Runs cannot outlive the workspace: record why they ended, then end them.
        let project = self.workspace.store.project(&self.project_id).await;
        if let Ok(Some(project)) = project {
            let reason = "the local workspace shut down while this run was active";
            if let Err(e) = fail_active_runs(&self.workspace.store, &project, reason).await {
                tracing::error!(error = %e, "could not record job runs ended by shutdown");
            }
        }
        self.workspace.runner.kill_all();
        self.workspace.serving.shutdown().await;
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.workspace.store.close().await;
    }
}

/// Marks every active run failed, saying why in its log. Runs never stay "running" forever.
async fn fail_active_runs(store: &Store, project: &ProjectRow, reason: &str) -> Result<(), sqlx::Error> {
    for run in store.fail_orphaned_runs(reason).await? {
        runner::note_in_log(project, &run, &format!("[local workspace] ENGINE_FAILED — {reason}\n")).await;
        tracing::warn!(run = %run.id, job = %run.job_id, reason, "job run marked failed");
    }
    Ok(())
}

fn load_or_create_key(dir: &Path) -> Result<String, StartError> {
    let path = dir.join("api-key");
    let fail = |source| StartError::DataDir { path: path.clone(), source };
    match std::fs::read_to_string(&path) {
        Ok(key) if !key.trim().is_empty() => return Ok(key.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(fail(e)),
    }
    let key = ids::new_api_key();
    write_private(&path, &key).map_err(fail)?;
    Ok(key)
}

/// Makes the database file at `path` (created empty when missing) and its WAL companions
/// readable by this user only: they hold keys, logs and everyone's runs.
pub fn make_private_database(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    // Never open (and so close) a database file that exists: closing any descriptor of it drops
    // every POSIX lock this process holds on it, including those of SQLite connections already
    // open here, and another process could then reset the write-ahead log under them.
    if !path.exists() {
        std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path)?;
    }
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        if file.exists() {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path)?.write_all(contents.as_bytes())
}
