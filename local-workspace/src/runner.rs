//! Job runs as real child processes: the job's script run by its runtime's interpreter in the
//! project directory, with the environment CML gives jobs, output captured to a log file in the
//! project. Status moves SCHEDULING → STARTING → RUNNING → a terminal status; a success starts
//! the job's dependents.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use cml_api::{CreateJobRunRequest, EngineStatus};
use tokio::io::AsyncWriteExt;
use tokio::sync::oneshot;

use crate::error::{ApiError, ApiResult};
use crate::ids::new_id;
use crate::processes;
use crate::runtimes::LocalRuntime;
use crate::work_error::{Doing, WorkError, WorkResult};
use crate::store::{JobRow, ProjectRow, RunRow, Store};

/// What every job process is told about the workspace it runs in.
#[derive(Clone)]
pub struct JobContext {
    /// `http://127.0.0.1:<port>` of the local workspace.
    pub base_url: String,
    pub api_key: String,
    pub owner: String,
    /// Extra variables for every job (for example the MLflow tracking URI).
    pub extra_env: BTreeMap<String, String>,
}

pub struct Runner {
    store: Store,
    context: JobContext,
    runtimes: Vec<LocalRuntime>,
    /// Serialises run creation so that "one active run per job" holds under concurrency.
    create_lock: tokio::sync::Mutex<()>,
    active: Mutex<HashMap<String, ActiveProcess>>,
    /// Succeeded runs whose dependents are to be started (by [`start_dependents_loop`]).
    succeeded: tokio::sync::mpsc::UnboundedSender<(ProjectRow, JobRow, RunRow)>,
}

#[derive(Default)]
struct ActiveProcess {
    stop: Option<oneshot::Sender<()>>,
    pgid: Option<i32>,
}

/// How long a stopped process gets between SIGTERM and SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);

impl Runner {
    pub fn new(store: Store, context: JobContext, runtimes: Vec<LocalRuntime>) -> Arc<Self> {
        let (succeeded, queue) = tokio::sync::mpsc::unbounded_channel();
        let runner = Arc::new(Runner {
            store,
            context,
            runtimes,
            create_lock: Default::default(),
            active: Default::default(),
            succeeded,
        });
        tokio::spawn(start_dependents_loop(Arc::downgrade(&runner), queue));
        runner
    }

    pub fn runtimes(&self) -> &[LocalRuntime] {
        &self.runtimes
    }

    pub fn runtime(&self, identifier: &str) -> Option<&LocalRuntime> {
        self.runtimes.iter().find(|r| r.identifier() == identifier)
    }

    pub fn default_runtime(&self) -> &LocalRuntime {
        &self.runtimes[0]
    }

    /// Creates a run of `job` and starts it. Refused while the job has an active run.
    pub async fn start_run(
        self: &Arc<Self>,
        project: &ProjectRow,
        job: &JobRow,
        request: CreateJobRunRequest,
        creator: &str,
    ) -> ApiResult<RunRow> {
        let _guard = self.create_lock.lock().await;
        if let Some(active) = self.store.active_run(&job.id).await? {
            return Err(ApiError::precondition(format!(
                "job {:?} already has an active run ({}, {}); a job runs at most once at a time",
                job.name,
                active.id,
                active.status
            )));
        }
        let now = Utc::now();
        let id = new_id();
        let run = RunRow {
            id: id.clone(),
            project_id: project.id.clone(),
            job_id: job.id.clone(),
            status: EngineStatus::Scheduling.as_str().into(),
            created_at: now,
            scheduling_at: Some(now),
            starting_at: None,
            running_at: None,
            finished_at: None,
            kernel: job.kernel.clone(),
            cpu: job.cpu,
            memory: job.memory,
            nvidia_gpu: job.nvidia_gpu,
            arguments: if request.arguments.is_empty() { job.arguments.clone() } else { request.arguments.clone() },
            environment: cml_api::environment_to_string(&request.environment),
            runtime_identifier: job.runtime_identifier.clone(),
            creator: creator.into(),
            log_path: format!("logs/jobs/{}/{}.log", job.id, id),
            message: String::new(),
        };
        self.store.insert_run(&run).await?;
        let (stop_tx, stop_rx) = oneshot::channel();
        self.active.lock().expect("active map").insert(id.clone(), ActiveProcess { stop: Some(stop_tx), pgid: None });
        let runner = self.clone();
        let (project, job, started) = (project.clone(), job.clone(), run.clone());
        tokio::spawn(async move { runner.supervise(project, job, started, stop_rx).await });
        Ok(run)
    }

    /// Asks an active run to stop: it moves to ENGINE_STOPPING at once and ENGINE_STOPPED once
    /// its process group is gone.
    pub async fn stop_run(&self, run: &RunRow) -> ApiResult<()> {
        if !run.status().is_active() {
            return Err(ApiError::precondition(format!("job run {} is not active (it is {})", run.id, run.status)));
        }
        self.store.set_run_status(&run.id, EngineStatus::Stopping, Some("stopped through the API")).await?;
        let sender = self.active.lock().expect("active map").get_mut(&run.id).and_then(|p| p.stop.take());
        match sender {
            Some(stop) => {
                let _ = stop.send(());
            }
            // No supervisor holds this run (it ended a moment ago or was lost): finish it here.
            None => {
                self.store.set_run_status(&run.id, EngineStatus::Stopped, None).await?;
            }
        }
        Ok(())
    }

    /// Kills every process this runner started (used when the workspace shuts down).
    pub fn kill_all(&self) {
        for process in self.active.lock().expect("active map").values() {
            if let Some(pgid) = process.pgid {
                kill_group(pgid, libc::SIGKILL);
            }
        }
    }

    async fn supervise(self: Arc<Self>, project: ProjectRow, job: JobRow, run: RunRow, stop: oneshot::Receiver<()>) {
        let outcome = self.execute(&project, &job, &run, stop).await;
        let pgid = self.active.lock().expect("active map").get(&run.id).and_then(|p| p.pgid);
        if let Some(pgid) = pgid {
            if let Err(e) = processes::Registry(self.store.pool()).forget(pgid).await {
                tracing::warn!(run = %run.id, error = %e, "could not forget an ended job process");
            }
        }
        let (status, message) = match outcome {
            Ok(result) => result,
            Err(e) => (EngineStatus::Failed, e.to_string()),
        };
        append_log(&project, &run, &format!("[local workspace] {} — {message}\n", status.as_str())).await;
        if let Err(e) = self.store.set_run_status(&run.id, status, Some(&message)).await {
            tracing::error!(run = %run.id, error = %e, "could not record the end of a job run");
        }
        self.active.lock().expect("active map").remove(&run.id);
        tracing::info!(job = %job.name, run = %run.id, status = %status, "job run finished");
        if status == EngineStatus::Succeeded {
            let _ = self.succeeded.send((project, job, run));
        }
    }

    async fn start_dependents(self: &Arc<Self>, project: &ProjectRow, job: &JobRow, run: &RunRow) {
        let dependents = match self.store.dependents(&job.id).await {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(job = %job.id, error = %e, "could not look up dependent jobs");
                return;
            }
        };
        for child in dependents {
            match self.start_run(project, &child, CreateJobRunRequest::default(), &run.creator).await {
                Ok(started) => tracing::info!(job = %child.name, run = %started.id, parent_run = %run.id, "dependent job started"),
                Err(e) => tracing::warn!(job = %child.name, error = %e, "dependent job not started"),
            }
        }
    }

    /// Runs the process to its end; returns the terminal status and why.
    async fn execute(
        &self,
        project: &ProjectRow,
        job: &JobRow,
        run: &RunRow,
        mut stop: oneshot::Receiver<()>,
    ) -> WorkResult<(EngineStatus, String)> {
        self.store.set_run_status(&run.id, EngineStatus::Starting, None).await?;
        let project_dir = PathBuf::from(&project.dir);
        let runtime = self
            .runtime(&job.runtime_identifier)
            .ok_or_else(|| WorkError::NoRuntime(job.runtime_identifier.clone()))?;
        let log = open_log(&project_dir, &run.log_path).await.doing(|| "cannot open the run's log file".into())?;
        // Like CML pulling a runtime image: the first run on a runtime may wait for it here.
        runtime.ensure_ready(&project_dir.join(&run.log_path)).await.map_err(|e| WorkError::Runtime(Box::new(e)))?;
        let script = project_dir.join(&job.script);
        if !script.is_file() {
            return Err(WorkError::NoScript(job.script.clone()));
        }

        let interpreter = runtime.interpreter();
        let mut command = tokio::process::Command::new(&interpreter);
        command
            .arg(&job.script)
            .args(run.arguments.split_whitespace())
            .current_dir(&project_dir)
            .envs(self.environment(project, job, run))
            .stdin(Stdio::null())
            .stdout(log.try_clone().doing(|| "cannot share the run's log file".into())?)
            .stderr(log)
            .kill_on_drop(true);
        processes::own(&mut command);
        let mut child = command.spawn().doing(|| format!("cannot start {}", interpreter.display()))?;
        let pgid = child.id().map(|pid| pid as i32);
        if let Some(p) = self.active.lock().expect("active map").get_mut(&run.id) {
            p.pgid = pgid;
        }
        if let Some(pgid) = pgid {
            if let Err(e) = processes::Registry(self.store.pool()).record(pgid, processes::Kind::JobRun, &run.id).await {
                kill_group_and_wait(Some(pgid), &mut child).await;
                return Err(e.into());
            }
        }
        // A stop requested before the process existed still wins.
        if !self.store.set_run_status(&run.id, EngineStatus::Running, None).await? {
            kill_group_and_wait(pgid, &mut child).await;
            return Ok((EngineStatus::Stopped, "stopped before it started running".into()));
        }

        let timeout = (job.timeout > 0).then(|| Duration::from_secs(job.timeout as u64));
        let deadline = async {
            match timeout {
                Some(t) => tokio::time::sleep(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            status = child.wait() => {
                let status = status.doing(|| "lost the process".into())?;
                Ok(match status.code() {
                    Some(0) => (EngineStatus::Succeeded, "the script exited with code 0".into()),
                    Some(code) => (EngineStatus::Failed, format!("the script exited with code {code}")),
                    None => (EngineStatus::Failed, "the script was killed by a signal".into()),
                })
            }
            _ = &mut stop => {
                kill_group_and_wait(pgid, &mut child).await;
                Ok((EngineStatus::Stopped, "stopped through the API".into()))
            }
            _ = deadline => {
                let seconds = job.timeout;
                if job.kill_on_timeout {
                    kill_group_and_wait(pgid, &mut child).await;
                    Ok((EngineStatus::TimedOut, format!("timed out after {seconds} s and was killed")))
                } else {
                    // Recorded as timed out; the process may finish on its own.
                    tokio::spawn(async move { let _ = child.wait().await; });
                    Ok((EngineStatus::TimedOut, format!("timed out after {seconds} s (kill_on_timeout is off, the process was left running)")))
                }
            }
        }
    }

    fn environment(&self, project: &ProjectRow, job: &JobRow, run: &RunRow) -> BTreeMap<String, String> {
        let ctx = &self.context;
        let domain = ctx.base_url.trim_start_matches("http://").trim_start_matches("https://").to_string();
        let mut env = ctx.extra_env.clone();
        env.extend([
            ("CDSW_PROJECT_ID".to_string(), project.id.clone()),
            ("PROJECT_OWNER".into(), ctx.owner.clone()),
            ("CDSW_API_URL".into(), format!("{}/api/v1", ctx.base_url)),
            ("CDSW_APIV2_KEY".into(), ctx.api_key.clone()),
            ("CDSW_DOMAIN".into(), domain),
            ("CDSW_ENGINE_ID".into(), run.id.clone()),
            ("JOB_ARGUMENTS".into(), run.arguments.clone()),
            ("PYTHONUNBUFFERED".into(), "1".into()),
        ]);
        env.extend(cml_api::environment_from_string(&job.environment));
        env.extend(cml_api::environment_from_string(&run.environment));
        env
    }
}

/// Starts the dependents of each succeeded run, in the order the runs succeeded. A separate task,
/// so that a supervisor never waits on the runs it causes.
async fn start_dependents_loop(
    runner: std::sync::Weak<Runner>,
    mut queue: tokio::sync::mpsc::UnboundedReceiver<(ProjectRow, JobRow, RunRow)>,
) {
    while let Some((project, job, run)) = queue.recv().await {
        let Some(runner) = runner.upgrade() else { break };
        runner.start_dependents(&project, &job, &run).await;
    }
}

async fn open_log(project_dir: &Path, relative: &str) -> std::io::Result<std::fs::File> {
    let path = project_dir.join(relative);
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent).await?;
    }
    std::fs::OpenOptions::new().create(true).append(true).open(path)
}

async fn append_log(project: &ProjectRow, run: &RunRow, line: &str) {
    let path = Path::new(&project.dir).join(&run.log_path);
    if let Some(parent) = path.parent() {
        let _ = tokio::fs::create_dir_all(parent).await;
    }
    match tokio::fs::OpenOptions::new().create(true).append(true).open(&path).await {
        Ok(mut f) => {
            let _ = f.write_all(line.as_bytes()).await;
        }
        Err(e) => tracing::warn!(path = %path.display(), error = %e, "cannot append to a run log"),
    }
}

/// Appends a line to the log of a run that no supervisor holds (used by restart recovery).
pub async fn note_in_log(project: &ProjectRow, run: &RunRow, line: &str) {
    append_log(project, run, line).await
}

fn kill_group(pgid: i32, signal: i32) {
    // SAFETY: killpg only sends a signal; a stale group id at worst fails with ESRCH.
    unsafe {
        libc::killpg(pgid, signal);
    }
}

async fn kill_group_and_wait(pgid: Option<i32>, child: &mut tokio::process::Child) {
    if let Some(pgid) = pgid {
        kill_group(pgid, libc::SIGTERM);
        if tokio::time::timeout(STOP_GRACE, child.wait()).await.is_ok() {
            kill_group(pgid, libc::SIGKILL); // stragglers in the group
            return;
        }
        kill_group(pgid, libc::SIGKILL);
    }
    let _ = child.kill().await;
}
