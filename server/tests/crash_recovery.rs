//! A real crash: the Lakeline binary is killed with SIGKILL while a job runs. On the next start
//! the run is marked failed with the reason, never left "running".

mod common;

use std::time::{Duration, Instant};

use cml_api::{CreateJobRequest, EngineStatus};
use common::workspace::{process_alive, read_pid, shared_runtimes_dir};
use common::TestApp;
use lakeline::cml::{ApiKey, CmlClient};

#[tokio::test]
async fn runs_left_active_by_a_crash_are_failed_with_a_reason_on_the_next_start() {
    let project = tempfile::tempdir().unwrap();
    for (name, body) in common::workspace::SCRIPTS {
        std::fs::write(project.path().join(name), body).unwrap();
    }
    let mut lakeline = TestApp::builder().project_dir(project).spawn_binary();
    let client = CmlClient::new(&lakeline.workspace_url, ApiKey::new(lakeline.workspace_key.clone())).unwrap();
    let project_id = client.list_projects().await.unwrap().remove(0).id;
    let pid_file = lakeline.project_dir.path().join("crash.pid");
    let job = client
        .create_job(&project_id, &CreateJobRequest { name: "long".into(), script: "sleep.py".into(), arguments: pid_file.display().to_string(), ..Default::default() })
        .await
        .unwrap();
    let run = client.create_job_run(&project_id, &job.id, &Default::default()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !pid_file.exists() {
        assert!(Instant::now() < deadline, "the job never started");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(client.get_job_run(&project_id, &job.id, &run.id).await.unwrap().status, EngineStatus::Running);

    lakeline.kill(); // SIGKILL: no shutdown code runs
    // The orphaned job process is not Lakeline's any more; clean it up like an operator would.
    let orphan = read_pid(&pid_file);
    assert!(process_alive(orphan), "the job's processes outlive a crash (they run in their own group)");
    // SAFETY: signals to the orphaned job's process group.
    unsafe { libc::killpg(libc::getpgid(orphan as i32), libc::SIGKILL) };

    let ws = local_workspace::LocalWorkspace::start(local_workspace::LocalWorkspaceConfig {
        data_dir: lakeline.data_dir.path().join("workspace"),
        project_dir: lakeline.project_dir.path().to_path_buf(),
        python: "python3".into(),
        listen: "127.0.0.1:0".parse().unwrap(),
        runtimes_dir: shared_runtimes_dir(),
    })
    .await
    .unwrap();
    let client = CmlClient::new(&ws.url(), ApiKey::new(ws.api_key())).unwrap();
    let after = client.get_job_run(&project_id, &job.id, &run.id).await.unwrap();
    assert_eq!(after.status, EngineStatus::Failed);
    assert!(after.finished_at.is_some());
    let log = client.download_project_file(&project_id, &format!("logs/jobs/{}/{}.log", job.id, run.id)).await.unwrap();
    assert!(String::from_utf8_lossy(&log).contains("stopped while this run was active; its process was lost"));
    ws.shutdown().await;
}
