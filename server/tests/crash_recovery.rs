//! A real crash: the Lakeline binary is killed with SIGKILL while a job runs. The job's process
//! dies with it (nothing it would have done afterwards happens), what is left of its process
//! group dies when the workspace starts again, and the run is marked failed with the reason,
//! never left "running".

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use cml_api::{CreateJobRequest, EngineStatus};
use domain::{PipelineSettings, Stage};
use lakeline::pipeline::definition::Definition;
use common::workspace::{process_alive, shared_runtimes_dir};
use common::TestApp;
use lakeline::cml::{ApiKey, CmlClient};

/// Starts a helper in its process group, says both pids, and "commits" after three seconds —
/// as New Batch commits a snapshot at its end.
const COMMIT_LATER: &str = "import os, subprocess, sys, time
out = sys.argv[1]
helper = subprocess.Popen(['sleep', '120'])
open(out + '.pids', 'w').write(f'{os.getpid()} {helper.pid}')
time.sleep(3)
open(out + '.committed', 'w').write('committed')
";

async fn wait_for(what: &str, seconds: u64, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !done() {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn pids(path: &Path) -> (u32, u32) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut pids = text.split_whitespace().map(|p| p.parse().unwrap());
    (pids.next().unwrap(), pids.next().unwrap())
}

#[tokio::test]
async fn a_crash_takes_the_job_s_processes_with_it_and_the_run_is_failed_on_the_next_start() {
    let project = tempfile::tempdir().unwrap();
    std::fs::write(project.path().join("commit_later.py"), COMMIT_LATER).unwrap();
    let mut lakeline = TestApp::builder().project_dir(project).spawn_binary();
    let client = CmlClient::new(&lakeline.workspace_url, ApiKey::new(lakeline.workspace_key.clone())).unwrap();
    let project_id = client.list_projects().await.unwrap().remove(0).id;
    let out = lakeline.project_dir.path().join("crash");
    let job = client
        .create_job(&project_id, &CreateJobRequest { name: "commits".into(), script: "commit_later.py".into(), arguments: out.display().to_string(), ..Default::default() })
        .await
        .unwrap();
    let run = client.create_job_run(&project_id, &job.id, &Default::default()).await.unwrap();
    let pid_file = out.with_extension("pids");
    wait_for("the job never started", 30, || pid_file.exists() && std::fs::read_to_string(&pid_file).is_ok_and(|t| t.contains(' '))).await;
    assert_eq!(client.get_job_run(&project_id, &job.id, &run.id).await.unwrap().status, EngineStatus::Running);
    let (job_pid, helper_pid) = pids(&pid_file);

    lakeline.kill(); // SIGKILL: no shutdown code runs
    wait_for("the job's process outlived the crash", 5, || !process_alive(job_pid)).await;

    let ws = restart_workspace(&lakeline).await;
    assert!(!process_alive(helper_pid), "the rest of the job's process group is killed at start-up");
    let client = CmlClient::new(&ws.url(), ApiKey::new(ws.api_key())).unwrap();
    let after = client.get_job_run(&project_id, &job.id, &run.id).await.unwrap();
    assert_eq!(after.status, EngineStatus::Failed);
    assert!(after.finished_at.is_some());
    let log = client.download_project_file(&project_id, &format!("logs/jobs/{}/{}.log", job.id, run.id)).await.unwrap();
    assert!(String::from_utf8_lossy(&log).contains("stopped while this run was active; its process was lost"));

    // Past the moment the job would have committed: a run recorded as failed commits nothing.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(!out.with_extension("committed").exists(), "a run recorded as failed committed afterwards");
    ws.shutdown().await;
}

/// The real pipeline, crashed once in each stage: each stage's script first waits a few seconds
/// (so the crash lands before its work is done), Lakeline is killed with SIGKILL, and then:
/// the stage's process is gone at once, the workspace's next start fails its run, and the work
/// the process would have finished afterwards (its summary, written after New Batch's snapshot
/// commit, the retrain's MLflow run, the redeployment) never appears.
#[tokio::test]
async fn a_crash_in_each_stage_of_the_pipeline_leaves_nothing_running_and_nothing_committed() {
    const WAIT: u64 = 6;
    let project = common::workspace::pipeline_project();
    for stage in Stage::ALL {
        let real = project.path().join(stage.script().replace(".py", "_real.py"));
        std::fs::rename(project.path().join(stage.script()), &real).unwrap();
    }
    let mut dirs = (tempfile::tempdir().unwrap(), project);
    for &stage in Stage::ALL {
        // Only this round's stage waits before its work.
        for &s in Stage::ALL {
            let wait = if s == stage { WAIT } else { 0 };
            let real = s.script().replace(".py", "_real.py");
            let wrapper = format!("import runpy, time\ntime.sleep({wait})\nrunpy.run_path({real:?}, run_name='__main__')\n");
            std::fs::write(dirs.1.path().join(s.script()), wrapper).unwrap();
        }
        let mut lakeline = TestApp::builder().data_dir(dirs.0).project_dir(dirs.1).with_config(|c| c.owner_suffix = Some("crash".into())).spawn_binary();
        let client = CmlClient::new(&lakeline.workspace_url, ApiKey::new(lakeline.workspace_key.clone())).unwrap();
        let project_id = client.list_projects().await.unwrap().remove(0).id;
        let definition = Definition { settings: PipelineSettings { owner_suffix: "crash".into(), runtime_editor: "Workbench".into(), runtime_edition: "Standard".into(), ..Default::default() } };
        definition.apply(&client, &project_id).await.unwrap();
        let jobs = definition.find_jobs(&client, &project_id).await.unwrap().complete().unwrap();
        client.create_job_run(&project_id, &jobs[0].id, &Default::default()).await.unwrap();

        // Wait until this round's stage runs (its script is in its first seconds).
        let job = &jobs[stage.index()];
        let deadline = Instant::now() + Duration::from_secs(300);
        let run = loop {
            if let Some(run) = client.latest_job_run(&project_id, &job.id).await.unwrap().filter(|r| r.status == EngineStatus::Running) {
                break run;
            }
            assert!(Instant::now() < deadline, "{stage} never ran");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let pgid = job_process(&lakeline.data_dir.path().join("workspace/workspace.db"), &run.id).await;

        lakeline.kill();
        wait_for(&format!("{stage}'s process outlived the crash"), 5, || !process_alive(pgid)).await;

        let ws = restart_workspace(&lakeline).await;
        let client = CmlClient::new(&ws.url(), ApiKey::new(ws.api_key())).unwrap();
        assert_eq!(client.get_job_run(&project_id, &job.id, &run.id).await.unwrap().status, EngineStatus::Failed, "{stage}");
        // Past the moment the stage would have finished its work.
        tokio::time::sleep(Duration::from_secs(WAIT + 4)).await;
        let summary = format!("logs/{}/{}.json", stage.log_folder(), run.id);
        assert!(
            matches!(client.download_project_file(&project_id, &summary).await, Err(lakeline::cml::CmlError::NotFound { .. })),
            "{stage}: a run recorded as failed finished its work ({summary} exists)"
        );
        ws.shutdown().await;
        dirs = (std::mem::replace(&mut lakeline.data_dir, tempfile::tempdir().unwrap()), std::mem::replace(&mut lakeline.project_dir, tempfile::tempdir().unwrap()));
    }
}

/// The process group the workspace recorded for a job run.
async fn job_process(database: &Path, run_id: &str) -> u32 {
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(database).read_only(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    let pgid: i64 = sqlx::query_scalar("SELECT pgid FROM processes WHERE owner_id = ?").bind(run_id).fetch_one(&pool).await.unwrap();
    pool.close().await;
    pgid as u32
}

/// The crashed Lakeline's local workspace, started again on its directories (as the next start of
/// Lakeline would).
async fn restart_workspace(lakeline: &common::TestProcess) -> local_workspace::LocalWorkspace {
    local_workspace::LocalWorkspace::start(local_workspace::LocalWorkspaceConfig {
        data_dir: lakeline.data_dir.path().join("workspace"),
        project_dir: lakeline.project_dir.path().to_path_buf(),
        python: "python3".into(),
        listen: "127.0.0.1:0".parse().unwrap(),
        runtimes_dir: shared_runtimes_dir(),
    })
    .await
    .unwrap()
}
