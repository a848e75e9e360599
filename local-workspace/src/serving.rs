//! Model builds and deployments. A build copies a registered version's files and proves the
//! runtime can load them; a deployment runs a replica (`serve_model.py`) on a loopback port, and
//! the workspace's `POST /model` routes calls to the model's live replica by access key. A new
//! deployment replaces the model's old one only once it answers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;

use crate::processes;
use crate::registry::{BuildRow, DeploymentRow, Registry};
use crate::runner::Runner;
use crate::store::Store;
use crate::work_error::{Doing, WorkError, WorkResult};

const SERVE_SCRIPT: &str = include_str!("../python/serve_model.py");
const START_TIMEOUT: Duration = Duration::from_secs(180);

pub struct Serving {
    store: Store,
    runner: Arc<Runner>,
    dir: PathBuf,
    script: PathBuf,
    http: reqwest::Client,
    /// Live replicas by deployment id.
    replicas: Mutex<HashMap<String, Replica>>,
    /// The deployment that answers for each model.
    live: Mutex<HashMap<String, String>>,
}

struct Replica {
    port: u16,
    /// What the replica asks of every request (`Authorization: Bearer <token>`).
    token: String,
    child: Child,
}

/// The variable that gives a replica its token.
const REPLICA_TOKEN_ENV: &str = "LAKELINE_REPLICA_TOKEN";

#[derive(Debug, thiserror::Error)]
pub enum PredictError {
    #[error("no model has this access key")]
    UnknownKey,
    #[error("this model requires authentication: send 'Authorization: Bearer <API key>'")]
    Unauthenticated,
    #[error("the model has no running deployment")]
    NotDeployed,
    #[error("the model could not answer: {0}")]
    Model(String),
}

impl Serving {
    pub fn new(store: Store, runner: Arc<Runner>, dir: PathBuf) -> std::io::Result<Arc<Self>> {
        std::fs::create_dir_all(&dir)?;
        let script = dir.join("serve_model.py");
        std::fs::write(&script, SERVE_SCRIPT)?;
        Ok(Arc::new(Serving {
            store,
            runner,
            dir,
            script,
            http: reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("a plain HTTP client"),
            replicas: Default::default(),
            live: Default::default(),
        }))
    }

    fn registry(&self) -> Registry<'_> {
        Registry(self.store.pool())
    }

    fn model_dir(&self, build_id: &str) -> PathBuf {
        self.dir.join("builds").join(build_id).join("model")
    }

    fn log_path(&self, id: &str) -> PathBuf {
        self.dir.join("logs").join(format!("{id}.log"))
    }

    /// Builds in the background: `pending` → `building` → `built` | `build failed`.
    pub fn start_build(self: &Arc<Self>, build: BuildRow, version_dir: PathBuf) {
        let serving = self.clone();
        tokio::spawn(async move {
            let (status, message) = match serving.build(&build, &version_dir).await {
                Ok(()) => ("built", String::new()),
                Err(e) => ("build failed", e.to_string()),
            };
            tracing::info!(build = %build.id, status, message, "model build finished");
            if let Err(e) = serving.registry().set_build_status(&build.id, status, &message).await {
                tracing::error!(error = %e, "could not record a build's end");
            }
        });
    }

    async fn build(&self, build: &BuildRow, version_dir: &Path) -> WorkResult<()> {
        self.registry().set_build_status(&build.id, "building", "").await?;
        let runtime = self.runner.runtime(&build.runtime_identifier).ok_or_else(|| WorkError::NoRuntime(build.runtime_identifier.clone()))?;
        let log = self.log_path(&build.id);
        tokio::fs::create_dir_all(log.parent().expect("logs dir")).await.doing(|| "cannot create the builds' log folder".into())?;
        runtime.ensure_ready(&log).await.map_err(|e| WorkError::Runtime(Box::new(e)))?;
        let target = self.model_dir(&build.id);
        copy_dir(version_dir, &target).doing(|| "cannot copy the model's files".into())?;
        let log_file = std::fs::OpenOptions::new().create(true).append(true).open(&log).doing(|| "cannot open the build's log".into())?;
        let mut command = tokio::process::Command::new(runtime.interpreter());
        command
            .arg(&self.script)
            .arg("--check")
            .arg(&target)
            .env("OMP_WAIT_POLICY", "PASSIVE")
            .stdout(log_file.try_clone().doing(|| "cannot share the build's log".into())?)
            .stderr(log_file)
            .kill_on_drop(true);
        processes::own(&mut command);
        let mut child = command.spawn().doing(|| "cannot run the runtime's Python".into())?;
        let pid = child.id().map(|pid| pid as i32);
        if let Some(pid) = pid {
            self.processes().record(pid, processes::Kind::ModelBuild, &build.id).await?;
        }
        let status = child.wait().await.doing(|| "lost the build's process".into())?;
        if let Some(pid) = pid {
            let _ = self.processes().forget(pid).await;
        }
        if !status.success() {
            return Err(WorkError::Model(format!("the model does not load in runtime {} ({status}): {}", build.runtime_identifier, tail(&log))));
        }
        Ok(())
    }

    /// Deploys in the background: `pending` → `deploying` → `deployed` | `failed`.
    pub fn start_deployment(self: &Arc<Self>, deployment: DeploymentRow, build: BuildRow) {
        let serving = self.clone();
        tokio::spawn(async move { serving.deploy(deployment, build).await });
    }

    async fn deploy(self: Arc<Self>, deployment: DeploymentRow, build: BuildRow) {
        let registry = self.registry();
        let _ = registry.set_deployment_status(&deployment.id, "deploying", "").await;
        match self.launch(&deployment, &build).await {
            Ok(()) => {
                let previous = self.live.lock().expect("live map").insert(deployment.model_id.clone(), deployment.id.clone());
                let _ = registry.set_deployment_status(&deployment.id, "deployed", "").await;
                tracing::info!(deployment = %deployment.id, model = %deployment.model_id, "model deployed");
                if let Some(old) = previous.filter(|old| *old != deployment.id) {
                    self.kill(&old).await;
                    let _ = registry.set_deployment_status(&old, "stopped", "replaced by a newer deployment").await;
                }
            }
            Err(e) => {
                let message = e.to_string();
                tracing::warn!(deployment = %deployment.id, message, "model deployment failed");
                self.kill(&deployment.id).await;
                let _ = registry.set_deployment_status(&deployment.id, "failed", &message).await;
            }
        }
    }

    async fn launch(&self, deployment: &DeploymentRow, build: &BuildRow) -> WorkResult<()> {
        if build.status != "built" {
            return Err(WorkError::Model(format!("build {} is {}, not built", build.id, build.status)));
        }
        let runtime = self.runner.runtime(&build.runtime_identifier).ok_or_else(|| WorkError::NoRuntime(build.runtime_identifier.clone()))?;
        let log = self.log_path(&deployment.id);
        tokio::fs::create_dir_all(log.parent().expect("logs dir")).await.doing(|| "cannot create the replicas' log folder".into())?;
        let log_file = std::fs::OpenOptions::new().create(true).append(true).open(&log).doing(|| "cannot open the replica's log".into())?;
        // Only the workspace knows the token: the replica's loopback port answers nobody else.
        let token = crate::ids::new_api_key();
        let mut command = tokio::process::Command::new(runtime.interpreter());
        command
            .arg(&self.script)
            .arg("--serve")
            .arg(self.model_dir(&build.id))
            .envs(cml_api::environment_from_string(&deployment.environment))
            .env("OMP_WAIT_POLICY", "PASSIVE")
            .env(REPLICA_TOKEN_ENV, &token)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .kill_on_drop(true);
        processes::own(&mut command);
        let mut child = command.spawn().doing(|| "cannot start a replica".into())?;
        if let Some(pid) = child.id() {
            self.processes().record(pid as i32, processes::Kind::Replica, &deployment.id).await?;
        }
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let port = tokio::time::timeout(START_TIMEOUT, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(port) = line.strip_prefix("LISTENING ").and_then(|p| p.trim().parse::<u16>().ok()) {
                    return Some(port);
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .ok_or_else(|| WorkError::Model(format!("the replica did not start: {}", tail(&log))))?;
        // Keep draining stdout so that the replica never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let ready = self.http.get(format!("http://127.0.0.1:{port}/")).bearer_auth(&token).send().await.map(|r| r.status().is_success()).unwrap_or(false);
        self.replicas.lock().expect("replicas").insert(deployment.id.clone(), Replica { port, token, child });
        if !ready {
            return Err(WorkError::Model("the replica started but does not answer".into()));
        }
        Ok(())
    }

    async fn kill(&self, deployment_id: &str) {
        let replica = self.replicas.lock().expect("replicas").remove(deployment_id);
        if let Some(replica) = replica {
            self.end(replica).await;
        }
        let mut live = self.live.lock().expect("live map");
        live.retain(|_, d| d != deployment_id);
    }

    /// `:stop`: the replica goes away and the deployment is `stopped`.
    pub async fn stop(&self, deployment: &DeploymentRow) -> WorkResult<()> {
        self.registry().set_deployment_status(&deployment.id, "stopping", "").await?;
        self.kill(&deployment.id).await;
        Ok(self.registry().set_deployment_status(&deployment.id, "stopped", "stopped through the API").await?)
    }

    /// Starts replicas for deployments that were `deployed` when the workspace last stopped.
    pub async fn resume(self: &Arc<Self>) {
        let Ok(deployed) = self.registry().deployments_with_status("deployed").await else { return };
        for deployment in deployed {
            match self.registry().build(&deployment.model_id, &deployment.build_id).await {
                Ok(Some(build)) => self.start_deployment(deployment, build),
                _ => {
                    let _ = self.registry().set_deployment_status(&deployment.id, "failed", "its build is gone").await;
                }
            }
        }
    }

    pub async fn shutdown(&self) {
        let replicas: Vec<Replica> = self.replicas.lock().expect("replicas").drain().map(|(_, r)| r).collect();
        for replica in replicas {
            self.end(replica).await;
        }
    }

    async fn end(&self, mut replica: Replica) {
        let pid = replica.child.id();
        let _ = replica.child.kill().await;
        if let Some(pid) = pid {
            let _ = self.processes().forget(pid as i32).await;
        }
    }

    fn processes(&self) -> processes::Registry<'_> {
        processes::Registry(self.store.pool())
    }

    /// CML's model protocol: `{"accessKey": …, "request": …}` → `{"success": true, "response": …}`.
    pub async fn predict(&self, access_key: &str, bearer_ok: bool, request: Value) -> Result<Value, PredictError> {
        let model = self.registry().model_by_access_key(access_key).await.map_err(|e| PredictError::Model(e.to_string()))?.ok_or(PredictError::UnknownKey)?;
        if model.auth_enabled && !bearer_ok {
            return Err(PredictError::Unauthenticated);
        }
        let (port, token) = {
            let live = self.live.lock().expect("live map");
            let replicas = self.replicas.lock().expect("replicas");
            live.get(&model.id).and_then(|d| replicas.get(d)).map(|r| (r.port, r.token.clone()))
        }
        .ok_or(PredictError::NotDeployed)?;
        let response = self
            .http
            .post(format!("http://127.0.0.1:{port}/"))
            .bearer_auth(token)
            .json(&request)
            .send()
            .await
            .map_err(|e| PredictError::Model(e.to_string()))?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|e| PredictError::Model(e.to_string()))?;
        if !status.is_success() {
            return Err(PredictError::Model(body["error"].as_str().unwrap_or("the model failed").to_string()));
        }
        Ok(json!({"success": true, "response": body}))
    }
}

fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().rev().take(5).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
}

/// Copies a directory tree (a model's files).
pub(crate) fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}
