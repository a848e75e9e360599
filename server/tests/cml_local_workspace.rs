//! The CML API v2 client against the real local workspace: real HTTP, real processes.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use cml_api::{CreateJobRequest, CreateJobRunRequest, EngineStatus, UpdateJob};
use common::workspace::{assert_phase_times_in_order, process_alive, read_pid, TestWorkspace};
use lakeline::cml::{ApiKey, CmlClient, CmlError, RunQuery};

#[tokio::test]
async fn a_three_job_chain_runs_in_order_after_the_first_is_triggered() {
    let ws = TestWorkspace::start().await;
    let first = ws.job("New Batch test", "ok.py", None).await;
    let second = ws.job("Retrain test", "ok.py", Some(&first)).await;
    let third = ws.job("Redeploy test", "ok.py", Some(&second)).await;
    assert_eq!(first.job_type, "manual");
    assert_eq!(second.job_type, "dependent");
    assert_eq!(third.parent_id, second.id);

    let mut env = BTreeMap::new();
    env.insert("STAGE".to_string(), "test".to_string());
    let started = ws
        .client
        .create_job_run(&ws.project_id, &first.id, &CreateJobRunRequest { environment: env, arguments: "--rows 10".into() })
        .await
        .unwrap();
    assert_eq!(started.status, EngineStatus::Scheduling);

    let third_run = ws.wait_for_end(&third).await;
    let first_run = ws.client.get_job_run(&ws.project_id, &first.id, &started.id).await.unwrap();
    let second_run = ws.client.latest_job_run(&ws.project_id, &second.id).await.unwrap().unwrap();
    for run in [&first_run, &second_run, &third_run] {
        assert_phase_times_in_order(run);
    }
    assert!(second_run.created_at.unwrap() >= first_run.finished_at.unwrap(), "the retrain started after New Batch ended");
    assert!(third_run.created_at.unwrap() >= second_run.finished_at.unwrap(), "the redeploy started after the retrain ended");

    // Output is captured to a log file in the project, readable through the files endpoints.
    let log_dir = format!("logs/jobs/{}", first.id);
    let listing = ws.client.list_project_files(&ws.project_id, &log_dir).await.unwrap();
    assert_eq!(listing.files.len(), 1, "{listing:?}");
    assert_eq!(listing.files[0].path, format!("{}.log", first_run.id));
    let log = ws.client.download_project_file(&ws.project_id, &format!("{log_dir}/{}.log", first_run.id)).await.unwrap();
    let log = String::from_utf8_lossy(&log);
    assert!(log.contains(&format!("hello from {}", ws.project_id)), "{log}");
    assert!(log.contains("args ['--rows', '10'] JOB_ARGUMENTS --rows 10 STAGE test"), "{log}");
    assert!(log.contains("ENGINE_SUCCEEDED"), "{log}");
    ws.workspace.shutdown().await;
}

#[tokio::test]
async fn a_failing_middle_job_stops_the_chain() {
    let ws = TestWorkspace::start().await;
    let first = ws.job("first", "ok.py", None).await;
    let middle = ws.job("middle", "fail.py", Some(&first)).await;
    let last = ws.job("last", "ok.py", Some(&middle)).await;
    ws.client.create_job_run(&ws.project_id, &first.id, &Default::default()).await.unwrap();
    let failed = ws.wait_for_end(&middle).await;
    assert_eq!(failed.status, EngineStatus::Failed);
    assert!(failed.finished_at.is_some());
    tokio::time::sleep(Duration::from_millis(800)).await;
    let runs = ws.client.list_job_runs(&ws.project_id, &last.id, &RunQuery::default()).await.unwrap();
    assert!(runs.is_empty(), "nothing runs after a failed parent: {runs:?}");
    let log = ws.client.download_project_file(&ws.project_id, &format!("logs/jobs/{}/{}.log", middle.id, failed.id)).await.unwrap();
    let log = String::from_utf8_lossy(&log);
    assert!(log.contains("about to fail") && log.contains("exited with code 3"), "{log}");
    ws.workspace.shutdown().await;
}

#[tokio::test]
async fn stopping_a_run_kills_its_process_group_and_starts_nothing_after_it() {
    let ws = TestWorkspace::start().await;
    let sleeper = ws.job("sleeper", "sleep.py", None).await;
    let after = ws.job("after", "ok.py", Some(&sleeper)).await;
    let pid_file = ws.file("sleeper.pid");
    let run = ws
        .client
        .create_job_run(&ws.project_id, &sleeper.id, &CreateJobRunRequest { arguments: pid_file.display().to_string(), ..Default::default() })
        .await
        .unwrap();
    ws.wait_for(&sleeper, |r| r.status == EngineStatus::Running).await;
    while !pid_file.exists() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let grandchild = read_pid(&pid_file);
    assert!(process_alive(grandchild));

    // A second run while one is active is refused with a clear error.
    let refused = ws.client.create_job_run(&ws.project_id, &sleeper.id, &Default::default()).await.unwrap_err();
    assert!(matches!(refused, CmlError::Conflict { ref message } if message.contains("already has an active run")), "{refused}");

    let stopping = ws.client.stop_job_run(&ws.project_id, &sleeper.id, &run.id).await.unwrap();
    assert!(matches!(stopping.status, EngineStatus::Stopping | EngineStatus::Stopped), "{:?}", stopping.status);
    let stopped = ws.wait_for_end(&sleeper).await;
    assert_eq!(stopped.status, EngineStatus::Stopped);
    assert!(stopped.finished_at.is_some());
    for _ in 0..50 {
        if !process_alive(grandchild) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!process_alive(grandchild), "the whole process group was killed");

    // Stopping it again is refused; nothing ran after a stopped parent.
    let again = ws.client.stop_job_run(&ws.project_id, &sleeper.id, &run.id).await.unwrap_err();
    assert!(matches!(again, CmlError::Conflict { .. }), "{again}");
    assert!(ws.client.list_job_runs(&ws.project_id, &after.id, &RunQuery::default()).await.unwrap().is_empty());
    ws.workspace.shutdown().await;
}

#[tokio::test]
async fn a_run_past_its_timeout_is_killed_and_timed_out() {
    let ws = TestWorkspace::start().await;
    let request = CreateJobRequest {
        name: "slow".into(),
        script: "sleep.py".into(),
        timeout: Some(1),
        kill_on_timeout: Some(true),
        ..Default::default()
    };
    let job = ws.client.create_job(&ws.project_id, &request).await.unwrap();
    assert_eq!(job.timeout, 1);
    ws.client.create_job_run(&ws.project_id, &job.id, &Default::default()).await.unwrap();
    let run = ws.wait_for_end(&job).await;
    assert_eq!(run.status, EngineStatus::TimedOut);
    let took = run.finished_at.unwrap() - run.running_at.unwrap();
    assert!(took >= chrono::Duration::milliseconds(900), "{took}");
    ws.workspace.shutdown().await;
}

#[tokio::test]
async fn lists_follow_every_page_and_name_lookups_are_exact() {
    let ws = TestWorkspace::start().await;
    for i in 0..17 {
        ws.job(&format!("job {i}"), "ok.py", None).await;
    }
    let jobs = ws.client.list_jobs(&ws.project_id).await.unwrap();
    assert_eq!(jobs.len(), 17, "three pages of 7 were followed");
    let mut ids: Vec<_> = jobs.iter().map(|j| j.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 17, "no job listed twice");

    // "job 1" is a substring of "job 10".."job 16": the lookup keeps only the exact one.
    let found = ws.client.find_jobs_by_name(&ws.project_id, "job 1").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name, "job 1");

    let runtimes = ws.client.list_runtimes(&[("editor", "Workbench"), ("edition", "Standard")]).await.unwrap();
    assert_eq!(runtimes.len(), 1);
    assert!(runtimes[0].kernel.starts_with("Python 3."));
    assert!(ws.client.list_runtimes(&[("kernel", "Python 3")]).await.unwrap().is_empty(), "kernel match is exact");
    ws.workspace.shutdown().await;
}

#[tokio::test]
async fn jobs_can_be_read_updated_and_deleted() {
    let ws = TestWorkspace::start().await;
    let parent = ws.job("parent", "ok.py", None).await;
    let job = ws.job("child", "ok.py", None).await;
    let updated = ws
        .client
        .update_job(
            &ws.project_id,
            &job.id,
            &UpdateJob { parent_id: Some(parent.id.clone()), environment: Some(r#"{"A":"1"}"#.into()), cpu: Some(2.0), ..Default::default() },
        )
        .await
        .unwrap();
    assert_eq!(updated.parent_id, parent.id);
    assert_eq!(updated.job_type, "dependent");
    assert_eq!(updated.environment_map().get("A").map(String::as_str), Some("1"));
    assert_eq!(updated.cpu, 2.0);
    assert_eq!(ws.client.get_job(&ws.project_id, &job.id).await.unwrap(), updated);

    // A job cannot depend on itself, nor on a job that does not exist.
    let cycle = ws.client.update_job(&ws.project_id, &parent.id, &UpdateJob { parent_id: Some(job.id.clone()), ..Default::default() }).await;
    assert!(matches!(cycle, Err(CmlError::InvalidRequest { .. })), "{cycle:?}");
    let request = CreateJobRequest { name: "x".into(), script: "ok.py".into(), parent_id: "nope-nope-nope-nope".into(), ..Default::default() };
    assert!(matches!(ws.client.create_job(&ws.project_id, &request).await, Err(CmlError::InvalidRequest { .. })));

    ws.client.delete_job(&ws.project_id, &job.id).await.unwrap();
    let gone = ws.client.get_job(&ws.project_id, &job.id).await.unwrap_err();
    assert!(matches!(gone, CmlError::NotFound { .. }), "{gone}");
    ws.workspace.shutdown().await;
}

#[tokio::test]
async fn a_wrong_key_is_a_typed_unauthenticated_error_and_the_right_one_validates() {
    let ws = TestWorkspace::start().await;
    let wrong = CmlClient::new(&ws.workspace.url(), ApiKey::new("not-the-key")).unwrap();
    let err = wrong.list_jobs(&ws.project_id).await.unwrap_err();
    assert!(matches!(err, CmlError::Unauthenticated { .. }), "{err}");
    assert!(!err.to_string().contains("not-the-key"));
    let valid = ws.client.validate_key().await.unwrap();
    assert!(valid.valid);
    assert!(!valid.username.is_empty());
    let projects = ws.client.list_projects().await.unwrap();
    assert_eq!(projects.len(), 1);
    assert_eq!(ws.client.get_project(&ws.project_id).await.unwrap().id, ws.project_id);
    ws.workspace.shutdown().await;
}

#[tokio::test]
async fn the_key_and_the_jobs_survive_a_restart() {
    let ws = TestWorkspace::start().await;
    let job = ws.job("kept", "ok.py", None).await;
    let key = ws.workspace.api_key().to_string();
    let ws = ws.restart().await;
    assert_eq!(ws.workspace.api_key(), key, "the key written at first start is reused");
    assert_eq!(ws.client.get_job(&ws.project_id, &job.id).await.unwrap().name, "kept");
    ws.workspace.shutdown().await;
}

#[tokio::test]
async fn a_run_active_at_shutdown_is_failed_with_a_reason_and_the_job_can_run_again() {
    let ws = TestWorkspace::start().await;
    let job = ws.job("interrupted", "sleep.py", None).await;
    let run = ws.client.create_job_run(&ws.project_id, &job.id, &Default::default()).await.unwrap();
    ws.wait_for(&job, |r| r.status == EngineStatus::Running).await;
    let ws = ws.restart().await;
    let after = ws.client.get_job_run(&ws.project_id, &job.id, &run.id).await.unwrap();
    assert_eq!(after.status, EngineStatus::Failed);
    assert!(after.finished_at.is_some());
    let log = ws.client.download_project_file(&ws.project_id, &format!("logs/jobs/{}/{}.log", job.id, run.id)).await.unwrap();
    assert!(String::from_utf8_lossy(&log).contains("shut down while this run was active"));
    let again = ws.client.create_job_run(&ws.project_id, &job.id, &Default::default()).await.unwrap();
    ws.client.stop_job_run(&ws.project_id, &job.id, &again.id).await.unwrap();
    ws.workspace.shutdown().await;
}

#[tokio::test]
async fn simultaneous_registrations_land_in_one_model_per_name_with_distinct_versions() {
    let ws = TestWorkspace::start().await;
    let http = reqwest::Client::new();
    let mlflow = |route: &str| format!("{}/api/2.0/mlflow/{route}", ws.workspace.url());
    let post = |route: &str, body: serde_json::Value| http.post(mlflow(route)).bearer_auth(ws.workspace.api_key()).json(&body).send();
    let experiment: serde_json::Value = post("experiments/create", serde_json::json!({"name": "race"})).await.unwrap().json().await.unwrap();
    let experiment_id = experiment["experiment_id"].as_str().unwrap().to_string();
    let run: serde_json::Value = post("runs/create", serde_json::json!({"experiment_id": experiment_id})).await.unwrap().json().await.unwrap();
    let run_id = run["run"]["info"]["run_id"].as_str().unwrap().to_string();
    let artifacts = run["run"]["info"]["artifact_uri"].as_str().unwrap().strip_prefix("mlflow-artifacts:/").unwrap().to_string();
    let put = http
        .put(format!("{}/api/2.0/mlflow-artifacts/artifacts/{artifacts}/model/MLmodel", ws.workspace.url()))
        .bearer_auth(ws.workspace.api_key())
        .body("flavors: {}\n")
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.status());

    // Redeployments finishing together register versions at once: of one new model and of another.
    const AT_ONCE: usize = 8;
    let request = |name: &str| cml_api::CreateRegisteredModelRequest {
        project_id: ws.project_id.clone(),
        experiment_id: experiment_id.clone(),
        run_id: run_id.clone(),
        model_path: "model".into(),
        model_name: name.into(),
        ..Default::default()
    };
    let requests: Vec<_> = (0..AT_ONCE).map(|i| request(if i % 2 == 0 { "raced" } else { "rival" })).collect();
    let answers = futures_util::future::join_all(requests.iter().map(|r| ws.client.create_registered_model(r))).await;
    let models: std::collections::BTreeSet<String> = answers.into_iter().map(|a| a.expect("every registration succeeds").model_id).collect();
    assert_eq!(models.len(), 2, "one model per name: {models:?}");
    for id in &models {
        let model = ws.client.get_registered_model(id).await.unwrap();
        let mut numbers: Vec<i32> = model.model_versions.iter().map(|v| v.number).collect();
        numbers.sort();
        assert_eq!(numbers, (1..=(AT_ONCE / 2) as i32).collect::<Vec<_>>(), "{}", model.name);
    }
    ws.workspace.shutdown().await;
}
