//! The real pipeline on the local workspace: real Python, pyiceberg, XGBoost and `mlflow`.

mod common;

use std::time::Instant;

use cml_api::{CreateJobRequest, CreateJobRunRequest, EngineStatus, Job};
use common::swagger::Swagger;
use common::workspace::{pipeline_project, TestWorkspace};
use lakeline::cml::CmlError;
use serde_json::{json, Value};

async fn pipeline_jobs(ws: &TestWorkspace) -> [Job; 3] {
    let mut parent: Option<Job> = None;
    let mut jobs = vec![];
    for (name, script) in [("New Batch", "new_batch.py"), ("Retrain XGBoost", "train_xgboost.py"), ("API Redeployment", "api_redeployment.py")] {
        let request = CreateJobRequest {
            name: format!("{name} test"),
            script: script.into(),
            cpu: Some(2.0),
            memory: Some(4.0),
            parent_id: parent.as_ref().map(|p| p.id.clone()).unwrap_or_default(),
            // As Lakeline's set-up does it: each dependent job is told the job it follows.
            environment: [("PIPELINE_USER".to_string(), "test".to_string()), ("BATCH_ROWS".to_string(), "600".to_string())]
                .into_iter()
                .chain(parent.as_ref().map(|p| ("PIPELINE_PARENT_JOB_ID".to_string(), p.id.clone())))
                .collect(),
            ..Default::default()
        };
        let job = ws.client.create_job(&ws.project_id, &request).await.unwrap();
        parent = Some(job.clone());
        jobs.push(job);
    }
    jobs.try_into().unwrap()
}

async fn log_of(ws: &TestWorkspace, job: &Job, run_id: &str) -> String {
    let bytes = ws.client.download_project_file(&ws.project_id, &format!("logs/jobs/{}/{run_id}.log", job.id)).await.unwrap();
    String::from_utf8_lossy(&bytes).into_owned()
}

async fn summary(ws: &TestWorkspace, job: &str, run_id: &str) -> Value {
    let bytes = ws.client.download_project_file(&ws.project_id, &format!("logs/{job}/{run_id}.json")).await.unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Runs the chain once from New Batch with a batch made from `seed`; returns the three job runs' ids.
/// Runs New Batch with `arguments` and waits for the chain; each stage must succeed.
async fn run_chain(ws: &TestWorkspace, jobs: &[Job; 3], arguments: &str) -> [String; 3] {
    let started = Instant::now();
    let request = CreateJobRunRequest { arguments: arguments.into(), ..Default::default() };
    let first = ws.client.create_job_run(&ws.project_id, &jobs[0].id, &request).await.unwrap();
    let mut ids = vec![];
    for job in jobs {
        let run = ws.wait_for(job, |r| r.status.is_terminal() && r.created_at >= first.created_at).await;
        eprintln!("{}: {} after {:.1} s", job.name, run.status, started.elapsed().as_secs_f64());
        assert_eq!(run.status, EngineStatus::Succeeded, "{}", log_of(ws, job, &run.id).await);
        ids.push(run.id);
    }
    ids.try_into().unwrap()
}

/// Checks a raw API v2 body against the spec (absent only with `LAKELINE_SKIP_SWAGGER=1`).
async fn conforms(ws: &TestWorkspace, spec: &Option<Swagger>, template: &str, path: &str) {
    let Some(spec) = spec else { return };
    let body = get_json(ws, path).await;
    let errors = spec.check(spec.response_schema("get", template), &body);
    assert!(errors.is_empty(), "GET {template}: {}\n{body:#}", errors.join("\n"));
}

async fn get_json(ws: &TestWorkspace, path: &str) -> Value {
    let response = reqwest::Client::new().get(format!("{}{path}", ws.workspace.url())).bearer_auth(ws.workspace.api_key()).send().await.unwrap();
    assert!(response.status().is_success(), "GET {path}: {}", response.status());
    response.json().await.unwrap()
}

/// Calls a list with each `search_filter` and `sort` key its documentation names; each answer
/// validates against the spec, except the keys documented wrongly for it, which are refused with
/// the supported keys named.
async fn lists_take_documented_keys(ws: &TestWorkspace, spec: &Swagger, template: &str, path: &str) {
    let mut queries = vec![];
    for key in spec.documented_keys(template, "search_filter") {
        queries.push((key.clone(), format!("search_filter={}", serde_json::to_string(&json!({ key.as_str(): "o" })).unwrap())));
    }
    for key in spec.documented_keys(template, "sort") {
        queries.push((key.clone(), format!("sort={key}")));
        queries.push((key.clone(), format!("sort=-{key}")));
    }
    for (key, query) in queries {
        let response = reqwest::Client::new().get(format!("{}{path}", ws.workspace.url())).query(&[query.split_once('=').unwrap()]).bearer_auth(ws.workspace.api_key()).send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        if common::swagger::WRONGLY_DOCUMENTED.contains(&(template, key.as_str())) {
            assert!(status.is_client_error() && body["message"].as_str().unwrap().contains("supported keys"), "{template} {query}: {status} {body}");
        } else {
            assert!(status.is_success(), "{template} {query}: {status} {body}");
            let errors = spec.check(spec.response_schema("get", template), &body);
            assert!(errors.is_empty(), "GET {template}?{query}: {}\n{body:#}", errors.join("\n"));
        }
    }
}

#[tokio::test]
async fn the_pipeline_runs_end_to_end_and_each_retrain_reads_every_batch_since_the_last_trained_one() {
    let ws = TestWorkspace::start_in(tempfile::tempdir().unwrap(), pipeline_project()).await;
    let spec = Swagger::load();
    let jobs = pipeline_jobs(&ws).await;
    let pid = ws.project_id.clone();

    let mut previous_snapshot = Value::Null;
    let mut previous_deployment: Option<(String, String, String)> = None;
    for round in 1..=2 {
        let seed = 20261122 + round;
        if round == 2 {
            // Another retrain of the same experiment finishes "after" this chain's (a notebook's
            // run, started later than any of the chain's): the redeployment must still deploy the
            // chain's own run, found by ids.
            let experiment = ws.client.find_experiment(&pid, "xgb-telco-test").await.unwrap().unwrap();
            let mlflow = |route: &str| format!("{}/api/2.0/mlflow/{route}", ws.workspace.url());
            let http = reqwest::Client::new();
            let later = chrono::Utc::now().timestamp_millis() + 3_600_000;
            let created: Value = http
                .post(mlflow("runs/create"))
                .bearer_auth(ws.workspace.api_key())
                .json(&json!({"experiment_id": experiment.id, "run_name": "notebook", "start_time": later}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let rival = created["run"]["info"]["run_id"].as_str().unwrap().to_string();
            let finish = json!({"run_id": rival, "status": "FINISHED", "end_time": later + 1000});
            assert!(http.post(mlflow("runs/update")).bearer_auth(ws.workspace.api_key()).json(&finish).send().await.unwrap().status().is_success());
        }
        // Before round 2 a chain's retrain fails: its batch (of 5 rows, too few to train on) is
        // read by no successful retrain, so the next retrain must read it too, with its own
        // chain's batch: no batch is skipped.
        let mut parent_snapshot = previous_snapshot.clone();
        let extra_rows = if round == 2 {
            let request = CreateJobRunRequest { arguments: "--seed 99".into(), environment: [("BATCH_ROWS".to_string(), "5".to_string())].into(), ..Default::default() };
            let small = ws.client.create_job_run(&ws.project_id, &jobs[0].id, &request).await.unwrap();
            let batch = ws.wait_for(&jobs[0], |r| r.id == small.id && r.status.is_terminal()).await;
            assert_eq!(batch.status, EngineStatus::Succeeded, "{}", log_of(&ws, &jobs[0], &batch.id).await);
            let retrain = ws.wait_for(&jobs[1], |r| r.status.is_terminal() && r.created_at >= batch.created_at).await;
            let log = log_of(&ws, &jobs[1], &retrain.id).await;
            assert_eq!(retrain.status, EngineStatus::Failed, "{log}");
            assert!(log.contains("too few to train on"), "{log}");
            parent_snapshot = summary(&ws, "new_batch", &batch.id).await["snapshot_id"].clone();
            5
        } else {
            0
        };
        let [batch_run, train_run, redeploy_run] = run_chain(&ws, &jobs, &format!("--seed {seed}")).await;
        let batch = summary(&ws, "new_batch", &batch_run).await;
        let train = summary(&ws, "train_xgboost", &train_run).await;
        let redeploy = summary(&ws, "api_redeployment", &redeploy_run).await;
        assert_eq!(batch["seed"], seed, "the batch was made from the seed asked for");
        assert_eq!(batch["rows_added"], 600);
        assert_eq!(batch["total_rows"], 600 * round + extra_rows);
        assert_eq!(batch["parent_id"], parent_snapshot, "each append's parent is the previous snapshot");
        // The batch's figures for the Data page: drift against the rows trained on before, which
        // are round 1's batch in round 2 (the failed retrain's batch was trained on by no one).
        let figures = &batch["figures"];
        assert_eq!(figures["rows"], 600, "{figures}");
        assert!((0.0..=1.0).contains(&figures["failure_rate"].as_f64().unwrap()), "{figures}");
        assert!(figures["means"]["iot_signal_3"].as_f64().is_some_and(|m| (50.0..=55.0).contains(&m)), "{figures}");
        if round == 1 {
            assert!(figures["psi"].is_null(), "nothing was trained on before the first batch: {figures}");
        } else {
            assert_eq!(figures["reference_snapshot_id"], previous_snapshot, "{figures}");
            assert_eq!(figures["reference_rows"], 600, "{figures}");
            for signal in ["iot_signal_1", "iot_signal_2", "iot_signal_3", "iot_signal_4"] {
                assert!(figures["psi"][signal].as_f64().is_some_and(|v| (0.0..0.2).contains(&v)), "an undrifted batch: {figures}");
            }
        }

        // The retrain's experiment run carries the snapshot it trained on, read through API v2.
        let experiment = ws.client.find_experiment(&pid, "xgb-telco-test").await.unwrap().expect("the retrain created its experiment");
        let runs = ws.client.list_experiment_runs(&pid, &experiment.id).await.unwrap();
        assert_eq!(runs.len(), round as usize + usize::from(round == 2), "the chains' runs (and the notebook's in round 2)");
        let run_id = redeploy["run_id"].as_str().unwrap();
        assert_eq!(run_id, train["run_id"].as_str().unwrap(), "the redeployment deploys its own chain's retrain");
        let run = ws.client.get_experiment_run(&pid, &experiment.id, run_id).await.unwrap();
        assert_eq!(run.status, "EXPERIMENT_RUN_FINISHED");
        assert_eq!(run.tag("iceberg_snapshot_id"), Some(batch["snapshot_id"].to_string().as_str()));
        // It read from the last snapshot a retrain trained on: its chain's batch, and the batch
        // no retrain had read.
        let parent = if previous_snapshot.is_null() { String::new() } else { previous_snapshot.to_string() };
        assert_eq!(run.tag("iceberg_parent_id"), Some(parent.as_str()));
        let read = (600 + extra_rows).to_string();
        assert_eq!(run.tag("row_count"), Some(read.as_str()), "the rows added since the last trained snapshot");
        assert_eq!(run.tag("snapshot_count"), Some(if round == 2 { "2" } else { "1" }));
        let committed = run.tag("iceberg_snapshot_committed_at").unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(committed).is_ok(), "a full ISO 8601 timestamp: {committed}");
        assert_eq!(train["rows"], 600 + extra_rows);
        for key in ["accuracy", "recall"] {
            // The figure the job computed (its summary, written by Python's json) reaches MLflow
            // and API v2 to the last bit, as a metric and as a param.
            let computed = train[key].as_f64().unwrap_or_else(|| panic!("the retrain's summary has {key}"));
            let metric = run.metric(key).unwrap_or_else(|| panic!("metric {key}"));
            assert_eq!(metric.to_bits(), computed.to_bits(), "{key}: the job logged {computed:?}, API v2 read {metric:?}");
            let param = run.param(key).map(|p| p.parse::<f64>().unwrap());
            assert_eq!(param.map(f64::to_bits), Some(computed.to_bits()), "{key} is a param too: {param:?} vs {computed:?}");
        }

        // The newest registered version points at that run; a build and a deployment exist for it.
        let registered = ws.client.get_registered_model(redeploy["registered_model_id"].as_str().unwrap()).await.unwrap();
        assert_eq!(registered.name, "CellTwrFail-CLF-test");
        assert_eq!(registered.model_versions.len(), round as usize);
        let newest = registered.model_versions.iter().max_by_key(|v| v.number).unwrap();
        assert_eq!(newest.number, round as i32);
        assert_eq!(newest.run_id(), run_id);
        assert_eq!(newest.model_version_id, redeploy["model_version_id"].as_str().unwrap());
        assert_eq!(run.data.registered_model_metadata.len(), 1);

        let (model_id, build_id, deployment_id) =
            [&redeploy["model_id"], &redeploy["build_id"], &redeploy["deployment_id"]].map(|v| v.as_str().unwrap().to_string()).into();
        let build = ws.client.get_model_build(&pid, &model_id, &build_id).await.unwrap();
        assert_eq!(build.status, "built");
        assert_eq!(build.registered_model_version_id, newest.model_version_id);
        let deployment = ws.client.get_model_deployment(&pid, &model_id, &build_id, &deployment_id).await.unwrap();
        assert_eq!(deployment.status, "deployed");

        // The endpoint answers with a prediction for a row of features.
        let model = ws.client.get_model(&pid, &model_id).await.unwrap();
        let row = json!({"iot_signal_1": 5, "iot_signal_2": 6, "iot_signal_3": 52, "iot_signal_4": 103});
        let answer = ws.client.call_model(&model.access_key, &row).await.unwrap();
        let predictions = answer["predictions"].as_array().unwrap_or_else(|| panic!("{answer}"));
        assert_eq!(predictions.len(), 1);
        assert!(predictions[0] == json!(0) || predictions[0] == json!(1), "{answer}");
        let refused = ws.client.call_model("not-a-key", &row).await.unwrap_err();
        assert!(matches!(refused, CmlError::NotFound { .. }), "{refused}");

        // A redeploy replaces the old deployment only once the new one answers.
        if let Some((m, b, d)) = previous_deployment.take() {
            let old = ws.client.get_model_deployment(&pid, &m, &b, &d).await.unwrap();
            assert_eq!(old.status, "stopped");
        }

        for (template, path) in [
            ("/api/v2/projects/{project_id}/experiments", format!("/api/v2/projects/{pid}/experiments")),
            ("/api/v2/projects/{project_id}/experiments/{experiment_id}/runs", format!("/api/v2/projects/{pid}/experiments/{}/runs", experiment.id)),
            ("/api/v2/projects/{project_id}/experiments/{experiment_id}/runs/{run_id}", format!("/api/v2/projects/{pid}/experiments/{}/runs/{run_id}", experiment.id)),
            ("/api/v2/registry/models", "/api/v2/registry/models".to_string()),
            ("/api/v2/registry/models/{model_id}", format!("/api/v2/registry/models/{}", registered.model_id)),
            ("/api/v2/projects/{project_id}/models", format!("/api/v2/projects/{pid}/models")),
            ("/api/v2/projects/{project_id}/models/{model_id}/builds", format!("/api/v2/projects/{pid}/models/{model_id}/builds")),
            (
                "/api/v2/projects/{project_id}/models/{model_id}/builds/{build_id}/deployments/{deployment_id}",
                format!("/api/v2/projects/{pid}/models/{model_id}/builds/{build_id}/deployments/{deployment_id}"),
            ),
        ] {
            conforms(&ws, &spec, template, &path).await;
        }
        if round == 2 {
            // The lists that need a built model take the keys their documentation names.
            if let Some(spec) = &spec {
                let lists = [
                    ("/api/v2/registry/models/{model_id}", format!("/api/v2/registry/models/{}", registered.model_id)),
                    ("/api/v2/projects/{project_id}/models/{model_id}/builds", format!("/api/v2/projects/{pid}/models/{model_id}/builds")),
                    ("/api/v2/projects/{project_id}/models/{model_id}/builds/{build_id}/deployments", format!("/api/v2/projects/{pid}/models/{model_id}/builds/{build_id}/deployments")),
                ];
                for (template, path) in lists {
                    lists_take_documented_keys(&ws, spec, template, &path).await;
                }
                // A registered model's versions come in pages.
                let first = ws.client.get_registered_model(&registered.model_id).await.unwrap();
                let paged: Value = get_json(&ws, &format!("/api/v2/registry/models/{}?page_size=1&sort=-versions", registered.model_id)).await;
                assert_eq!(paged["model_versions"].as_array().unwrap().len(), 1, "{paged}");
                assert_eq!(paged["model_versions"][0]["number"], 2, "{paged}");
                assert!(!paged["next_page_token"].as_str().unwrap().is_empty(), "{paged}");
                assert_eq!(first.model_versions.len(), 2);
            }
        }
        previous_snapshot = batch["snapshot_id"].clone();
        previous_deployment = Some((model_id, build_id, deployment_id));
    }

    // Restart and stop the live deployment through the client.
    let (m, b, d) = previous_deployment.unwrap();
    let access_key = ws.client.get_model(&pid, &m).await.unwrap().access_key;
    ws.client.restart_model_deployment(&pid, &m, &b, &d).await.unwrap();
    let deadline = Instant::now() + std::time::Duration::from_secs(120);
    while ws.client.get_model_deployment(&pid, &m, &b, &d).await.unwrap().status != "deployed" {
        assert!(Instant::now() < deadline, "the restarted deployment never came back");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    let row = json!({"iot_signal_1": 1, "iot_signal_2": 2, "iot_signal_3": 50, "iot_signal_4": 100});
    assert!(ws.client.call_model(&access_key, &row).await.is_ok(), "a restarted deployment answers");
    assert_eq!(ws.client.stop_model_deployment(&pid, &m, &b, &d).await.unwrap().status, "stopped");
    let err = ws.client.call_model(&access_key, &row).await.unwrap_err();
    assert!(err.to_string().contains("no running deployment"), "{err}");
    ws.workspace.shutdown().await;
}

/// Two retrains follow the same batch (a second Retrain → Redeployment pair depends on New Batch,
/// deploying to its own model) and so finish together, within about a second of each other: each
/// redeployment deploys the MLflow run of its own retrain, found by ids, not the newest one.
#[tokio::test]
async fn two_retrains_that_finish_together_each_deploy_their_own_run() {
    let ws = TestWorkspace::start_in(tempfile::tempdir().unwrap(), pipeline_project()).await;
    let [batch_job, train_a, redeploy_a] = pipeline_jobs(&ws).await;
    let dependent = |name: &str, script: &str, parent: &Job| CreateJobRequest {
        name: name.into(),
        script: script.into(),
        parent_id: parent.id.clone(),
        environment: [
            ("PIPELINE_USER".to_string(), "test".to_string()),
            ("PIPELINE_PARENT_JOB_ID".to_string(), parent.id.clone()),
            ("MODEL_NAME".to_string(), "CellTwrFail-CLF-rival".to_string()),
        ]
        .into(),
        ..Default::default()
    };
    let train_b = ws.client.create_job(&ws.project_id, &dependent("Retrain B", "train_xgboost.py", &batch_job)).await.unwrap();
    let redeploy_b = ws.client.create_job(&ws.project_id, &dependent("Redeploy B", "api_redeployment.py", &train_b)).await.unwrap();

    let request = CreateJobRunRequest { arguments: "--seed 20261123".into(), ..Default::default() };
    ws.client.create_job_run(&ws.project_id, &batch_job.id, &request).await.unwrap();
    let mut ended = vec![];
    for job in [&batch_job, &train_a, &train_b, &redeploy_a, &redeploy_b] {
        let run = ws.wait_for_end(job).await;
        assert_eq!(run.status, EngineStatus::Succeeded, "{}: {}", job.name, log_of(&ws, job, &run.id).await);
        ended.push(run);
    }
    let gap = (ended[1].finished_at.unwrap() - ended[2].finished_at.unwrap()).num_milliseconds().abs();
    eprintln!("the two retrains finished {gap} ms apart");

    let (trained_a, trained_b) = (summary(&ws, "train_xgboost", &ended[1].id).await, summary(&ws, "train_xgboost", &ended[2].id).await);
    let (deployed_a, deployed_b) = (summary(&ws, "api_redeployment", &ended[3].id).await, summary(&ws, "api_redeployment", &ended[4].id).await);
    assert_ne!(trained_a["run_id"], trained_b["run_id"]);
    assert_eq!(deployed_a["run_id"], trained_a["run_id"], "Redeploy A deploys Retrain A's run");
    assert_eq!(deployed_b["run_id"], trained_b["run_id"], "Redeploy B deploys Retrain B's run");
    for (deployed, name) in [(&deployed_a, "CellTwrFail-CLF-test"), (&deployed_b, "CellTwrFail-CLF-rival")] {
        let registered = ws.client.get_registered_model(deployed["registered_model_id"].as_str().unwrap()).await.unwrap();
        assert_eq!(registered.name, name);
        assert_eq!(registered.model_versions.len(), 1);
        assert_eq!(registered.model_versions[0].run_id(), deployed["run_id"].as_str().unwrap());
    }
}

/// The quality gate: the first model deploys; a batch from a quiet week (failure rate 0.04: few
/// failures to learn from) trains a model whose recall on its own held-out rows is far below the
/// live model's on the same rows, so it is gated and the live deployment keeps serving; running the
/// redeployment again with `QUALITY_GATE=off` (Lakeline's "deploy anyway") deploys it.
#[tokio::test]
async fn a_worse_model_is_gated_and_deploying_it_anyway_replaces_the_live_one() {
    let ws = TestWorkspace::start_in(tempfile::tempdir().unwrap(), pipeline_project()).await;
    let jobs = pipeline_jobs(&ws).await;
    let pid = ws.project_id.clone();
    let experiment_run = |run_id: String| {
        let ws = &ws;
        async move {
            let experiment = ws.client.find_experiment(&ws.project_id, "xgb-telco-test").await.unwrap().unwrap();
            ws.client.get_experiment_run(&ws.project_id, &experiment.id, &run_id).await.unwrap()
        }
    };

    let [_, _, first_redeploy] = run_chain(&ws, &jobs, "--seed 106").await;
    let first = summary(&ws, "api_redeployment", &first_redeploy).await;
    assert_eq!(first["gate"]["gate_decision"], "first", "{first}");
    let live = (first["model_id"].as_str().unwrap().to_string(), first["build_id"].as_str().unwrap().to_string(), first["deployment_id"].as_str().unwrap().to_string());

    let [_, retrain, gated_redeploy] = run_chain(&ws, &jobs, "--seed 206 --failure-rate 0.04").await;
    let gated = summary(&ws, "api_redeployment", &gated_redeploy).await;
    let gate = &gated["gate"];
    eprintln!("{}", gate["gate_reason"]);
    assert_eq!(gate["gate_decision"], "gated", "{gated}");
    assert!(gated.get("deployment_id").is_none(), "a gated model is not deployed: {gated}");
    let figure = |key: &str| gate[key].as_f64().unwrap_or_else(|| panic!("{key} in {gate}"));
    assert!(figure("gate_recall") < figure("gate_live_recall") - figure("gate_recall_margin"), "{gate}");
    let tagged = experiment_run(gated["run_id"].as_str().unwrap().to_string()).await;
    assert_eq!(tagged.tag("gate_decision"), Some("gated"));
    assert_eq!(tagged.tag("gate_live_run_id"), first["run_id"].as_str());
    assert!(tagged.tag("gate_reason").unwrap().starts_with("gated: recall "), "{:?}", tagged.tag("gate_reason"));
    assert_eq!(tagged.tag("gate_recall").map(|v| v.parse::<f64>().unwrap()), Some(figure("gate_recall")));
    let still = ws.client.get_model_deployment(&pid, &live.0, &live.1, &live.2).await.unwrap();
    assert_eq!(still.status, "deployed", "the live model keeps serving");
    let registered = ws.client.get_registered_model(first["registered_model_id"].as_str().unwrap()).await.unwrap();
    assert_eq!(registered.model_versions.len(), 1, "a gated model is not registered");

    // Deploy anyway: the redeployment again, told the retrain to deploy and to skip the gate.
    let request = CreateJobRunRequest {
        environment: [("QUALITY_GATE".to_string(), "off".to_string()), ("RETRAIN_JOB_RUN_ID".to_string(), retrain.clone())].into(),
        ..Default::default()
    };
    let forced = ws.client.create_job_run(&pid, &jobs[2].id, &request).await.unwrap();
    let ended = ws.wait_for(&jobs[2], |r| r.id == forced.id && r.status.is_terminal()).await;
    assert_eq!(ended.status, EngineStatus::Succeeded, "{}", log_of(&ws, &jobs[2], &ended.id).await);
    let anyway = summary(&ws, "api_redeployment", &forced.id).await;
    assert_eq!(anyway["gate"]["gate_decision"], "overridden", "{anyway}");
    assert_eq!(anyway["run_id"], gated["run_id"]);
    let deployment = ws.client.get_model_deployment(&pid, anyway["model_id"].as_str().unwrap(), anyway["build_id"].as_str().unwrap(), anyway["deployment_id"].as_str().unwrap()).await.unwrap();
    assert_eq!(deployment.status, "deployed");
    let replaced = ws.client.get_model_deployment(&pid, &live.0, &live.1, &live.2).await.unwrap();
    assert_eq!(replaced.status, "stopped", "the deployment it replaced");
    assert_eq!(experiment_run(gated["run_id"].as_str().unwrap().to_string()).await.tag("gate_decision"), Some("overridden"));
}
