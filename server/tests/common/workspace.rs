//! A real local workspace on port 0 with a throw-away project of small Python scripts.

use std::path::Path;
use std::time::Duration;

use cml_api::{CreateJobRequest, EngineStatus, Job, JobRun};
use lakeline::cml::{ApiKey, ClientOptions, CmlClient};
use local_workspace::{LocalWorkspace, LocalWorkspaceConfig};

pub struct TestWorkspace {
    pub workspace: LocalWorkspace,
    pub client: CmlClient,
    pub project_id: String,
    pub data_dir: tempfile::TempDir,
    pub project_dir: tempfile::TempDir,
}

/// Scripts every test project has.
pub const SCRIPTS: &[(&str, &str)] = &[
    ("ok.py", "import os, sys\nprint('hello from', os.environ['CDSW_PROJECT_ID'], 'args', sys.argv[1:], 'JOB_ARGUMENTS', os.environ.get('JOB_ARGUMENTS'), 'STAGE', os.environ.get('STAGE'))\n"),
    ("fail.py", "import sys\nprint('about to fail', file=sys.stderr)\nsys.exit(3)\n"),
    ("sleep.py", "import os, subprocess, sys, time\nchild = subprocess.Popen(['sleep', '120'])\nopen(sys.argv[1] if len(sys.argv) > 1 else 'sleep.pid', 'w').write(str(child.pid))\nprint('sleeping', flush=True)\ntime.sleep(120)\n"),
];

impl TestWorkspace {
    pub async fn start() -> Self {
        let data_dir = tempfile::tempdir().unwrap();
        let project_dir = tempfile::tempdir().unwrap();
        for (name, body) in SCRIPTS {
            std::fs::write(project_dir.path().join(name), body).unwrap();
        }
        Self::start_in(data_dir, project_dir).await
    }

    pub async fn start_in(data_dir: tempfile::TempDir, project_dir: tempfile::TempDir) -> Self {
        let workspace = LocalWorkspace::start(LocalWorkspaceConfig {
            data_dir: data_dir.path().to_path_buf(),
            project_dir: project_dir.path().to_path_buf(),
            python: "python3".into(),
            listen: "127.0.0.1:0".parse().unwrap(),
            runtimes_dir: shared_runtimes_dir(),
        })
        .await
        .expect("local workspace starts");
        let client = CmlClient::with_options(
            &workspace.url(),
            ApiKey::new(workspace.api_key()),
            ClientOptions { page_size: 7, ..Default::default() },
        )
        .unwrap();
        let project_id = workspace.project_id().to_string();
        TestWorkspace { workspace, client, project_id, data_dir, project_dir }
    }

    pub async fn restart(self) -> Self {
        let TestWorkspace { workspace, data_dir, project_dir, .. } = self;
        workspace.shutdown().await;
        Self::start_in(data_dir, project_dir).await
    }

    pub async fn job(&self, name: &str, script: &str, parent: Option<&Job>) -> Job {
        let request = CreateJobRequest {
            name: name.into(),
            script: script.into(),
            cpu: Some(2.0),
            memory: Some(4.0),
            nvidia_gpu: Some(0),
            parent_id: parent.map(|p| p.id.clone()).unwrap_or_default(),
            ..Default::default()
        };
        self.client.create_job(&self.project_id, &request).await.expect("job is created")
    }

    /// Polls until the job's newest run is terminal.
    pub async fn wait_for_end(&self, job: &Job) -> JobRun {
        self.wait_for(job, |r| r.status.is_terminal()).await
    }

    pub async fn wait_for(&self, job: &Job, done: impl Fn(&JobRun) -> bool) -> JobRun {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
        loop {
            if let Some(run) = self.client.latest_job_run(&self.project_id, &job.id).await.unwrap() {
                if done(&run) {
                    return run;
                }
            }
            assert!(tokio::time::Instant::now() < deadline, "job {} did not reach the awaited state", job.name);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn file(&self, relative: &str) -> std::path::PathBuf {
        self.project_dir.path().join(relative)
    }
}

/// Venvs are built once per machine for all tests (the pipeline's takes a minute or more).
pub fn shared_runtimes_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("runtimes")
}

/// A temporary project holding the repository's pipeline scripts and requirements.
pub fn pipeline_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let source = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../pipeline"));
    for entry in std::fs::read_dir(source).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    dir
}

/// Runs `script` (a file under `server/tests/`) as a job of a fresh workspace holding the pipeline's
/// scripts and runtime, and answers how the run ended and its console log.
pub async fn run_check_script(script: &str, job_name: &str) -> (cml_api::JobRun, String) {
    let project = pipeline_project();
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join(script);
    let file = source.file_name().unwrap().to_owned();
    std::fs::copy(&source, project.path().join(&file)).unwrap();
    let ws = TestWorkspace::start_in(tempfile::tempdir().unwrap(), project).await;
    let job = ws.job(job_name, file.to_str().unwrap(), None).await;
    ws.client.create_job_run(&ws.project_id, &job.id, &cml_api::CreateJobRunRequest::default()).await.unwrap();
    let run = ws.wait_for_end(&job).await;
    let log = std::fs::read_to_string(ws.file(&format!("logs/jobs/{}/{}.log", job.id, run.id))).unwrap_or_default();
    println!("{log}");
    ws.workspace.shutdown().await;
    (run, log)
}

pub fn assert_phase_times_in_order(run: &JobRun) {
    let t = |o: Option<chrono::DateTime<chrono::Utc>>, name: &str| o.unwrap_or_else(|| panic!("{name} is set on {run:?}"));
    let created = t(run.created_at, "created_at");
    let scheduling = t(run.scheduling_at, "scheduling_at");
    let starting = t(run.starting_at, "starting_at");
    let running = t(run.running_at, "running_at");
    let finished = t(run.finished_at, "finished_at");
    assert!(created <= scheduling && scheduling <= starting && starting <= running && running <= finished, "{run:?}");
    assert_eq!(run.status, EngineStatus::Succeeded);
}

/// Whether a process id is still alive (and not a zombie).
pub fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.split_whitespace().nth(2).is_some_and(|state| state == "Z"),
        Err(_) => false,
    }
}

pub fn read_pid(path: &Path) -> u32 {
    std::fs::read_to_string(path).unwrap().trim().parse().unwrap()
}

/// A project whose three job scripts are tiny ones (each stage's script by its file name), with
/// no requirements: its jobs start at once on the machine's Python. For tests of how Lakeline
/// follows runs, not of what the jobs do.
pub fn scripted_project(scripts: [&str; 3]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (stage, script) in domain::Stage::ALL.iter().zip(scripts) {
        std::fs::write(dir.path().join(stage.script()), script).unwrap();
    }
    dir
}
