//! Two Lakeline replicas on one PostgreSQL database, driving one workspace (as behind a load
//! balancer): a trigger on either is refused while a chain runs on any; one replica polls the
//! workspace at a time and the other takes over within seconds when it dies; the pages of both
//! hear every change; settings saved on one hold on the other. Runs under `make test-postgres`;
//! on SQLite (one Lakeline per database) it says that it skipped.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::api::{ApplyPipelineSetup, GetSettings, SaveSettings, TriggerPipeline};
use common::workspace::TestWorkspace;
use common::{TestApp, PASSWORD};
use domain::{PipelineStatus, Role, Stage};
use lakeline::store::{test_database, Store};

/// A `lakeline` process: its client (signed in), and its log.
struct Replica {
    name: &'static str,
    child: Child,
    app: TestApp,
    log: Arc<Mutex<String>>,
}

impl Replica {
    async fn start(name: &'static str, ws: &TestWorkspace, database_url: &str) -> Replica {
        let data_dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_lakeline"))
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir.path())
            .args(["--database-url", database_url, "--cml-url", &format!("{}/api/v1", ws.workspace.url()), "--cml-project-id", &ws.project_id])
            .env("LAKELINE_CML_API_KEY", ws.workspace.api_key())
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stderr(Stdio::piped())
            .spawn()
            .expect("lakeline starts");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let log = Arc::new(Mutex::new(String::new()));
        let addr: SocketAddr = loop {
            let line = lines.next().expect("Lakeline logs its start").expect("a log line");
            log.lock().unwrap().push_str(&format!("{line}\n"));
            if line.contains("Lakeline is listening") {
                let rest = line.split("addr=").nth(1).expect("the address in the line");
                break rest.split_whitespace().next().expect("an address").trim_matches(|c: char| !c.is_ascii_digit() && c != '.' && c != ':').parse().expect("an address");
            }
        };
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                kept.lock().unwrap().push_str(&format!("{line}\n"));
            }
        });
        let mut app = TestApp::attach(addr, data_dir, tempfile::tempdir().unwrap());
        app.sign_in("ada", PASSWORD).await.expect("ada signs in on every replica: sessions live in the shared database");
        Replica { name, child, app, log }
    }

    /// Whether this replica says (in `/metrics`) that it polls the workspace.
    async fn leading(&self) -> bool {
        let text = self.app.get("/metrics").await.text().await.unwrap();
        let line = text.lines().find(|l| l.starts_with("lakeline_tracker_leading ")).expect("the leading gauge");
        line.ends_with(" 1")
    }

    /// The live stream's events as they arrive (the pages' view), kept until the test reads them.
    async fn listen(&self) -> Arc<Mutex<String>> {
        let mut stream = self.app.get("/api/events").await;
        let heard = Arc::new(Mutex::new(String::new()));
        let keep = heard.clone();
        tokio::spawn(async move {
            while let Ok(Some(chunk)) = stream.chunk().await {
                keep.lock().unwrap().push_str(&String::from_utf8_lossy(&chunk));
            }
        });
        heard
    }

    fn kill(&mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        common::logs::save(&format!("replica-{}", self.name), &self.log.lock().unwrap());
    }
}

/// Whether the live events heard include a stage change of run `id` to `stage`.
fn heard_stage(heard: &Mutex<String>, id: i64, stage: Stage) -> bool {
    let text = heard.lock().unwrap();
    let stage = serde_json::to_string(&stage).unwrap();
    text.lines().any(|l| l.contains("\"kind\":\"stage\"") && l.contains(&format!("\"pipeline_run_id\":{id}")) && l.contains(&format!("\"stage\":{stage}")))
}

async fn until(what: &str, limit: Duration, mut done: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < limit, "waited {limit:?} in vain for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    started.elapsed()
}

#[tokio::test]
async fn two_replicas_start_one_chain_hand_polling_over_and_both_pages_follow_it() {
    if test_database::server().is_none() {
        eprintln!("skipped: replicas share a PostgreSQL database; `make test-postgres` runs this test");
        return;
    }
    common::logs::init();
    let ws = TestWorkspace::start_in(tempfile::tempdir().unwrap(), common::workspace::pipeline_project()).await;
    let database_dir = tempfile::tempdir().unwrap();
    let url = common::database::url(database_dir.path()).expect("a PostgreSQL database");
    let store = Store::open_postgres(&url).await.unwrap();
    lakeline::auth::Auth::new(store.clone()).add_user("ada", Role::Admin, PASSWORD).await.unwrap();

    let mut replicas = vec![Replica::start("a", &ws, &url).await, Replica::start("b", &ws, &url).await];
    replicas[0].app.call(ApplyPipelineSetup {}).await.unwrap();
    // Settings saved on one replica hold on the other at once.
    let mut settings = replicas[1].app.call(GetSettings {}).await.unwrap();
    settings.gate_recall_margin = "0.2".into();
    replicas[1].app.call(SaveSettings { settings }).await.unwrap();
    until("replica a to read the settings saved on b", Duration::from_secs(5), async || {
        replicas[0].app.call(GetSettings {}).await.unwrap().gate_recall_margin == "0.2"
    })
    .await;
    let heard: Vec<_> = futures_util::future::join_all(replicas.iter().map(Replica::listen)).await;

    // Twenty people click Run pipeline at once, half on each replica: one chain starts.
    let trigger = || TriggerPipeline { arguments: "--seed 20261123".into(), environment: String::new() };
    let answers = futures_util::future::join_all((0..20).map(|i| replicas[i % 2].app.call(trigger()))).await;
    let started: Vec<i64> = answers.iter().filter_map(|a| a.as_ref().ok().copied()).collect();
    assert_eq!(started.len(), 1, "exactly one trigger starts a chain: {answers:?}");
    for refused in answers.iter().filter_map(|a| a.as_ref().err()) {
        assert!(refused.status.is_client_error(), "the others are refused with a reason: {refused:?}");
    }
    let id = started[0];
    let history = store.history(&Default::default(), Default::default(), 10).await.unwrap();
    assert_eq!(history.total, 1, "one pipeline run in the shared database");

    // One replica polls; both pages hear the chain start.
    let leading: Vec<bool> = futures_util::future::join_all(replicas.iter().map(Replica::leading)).await;
    assert_eq!(leading.iter().filter(|l| **l).count(), 1, "one replica polls the workspace: {leading:?}");
    let leader = leading.iter().position(|l| *l).unwrap();
    let survivor = 1 - leader;
    for (replica, heard) in replicas.iter().zip(&heard) {
        until(&format!("replica {}'s page to hear New Batch start", replica.name), Duration::from_secs(30), async || heard_stage(heard, id, Stage::NewBatch)).await;
    }

    // The polling replica dies mid-chain: the other takes polling over and tracks the chain.
    replicas[leader].kill();
    let took = until("the other replica to take polling over", Duration::from_secs(10), async || replicas[survivor].leading().await).await;
    eprintln!("polling handed over {} ms after the polling replica died", took.as_millis());
    let done = replicas[survivor].app.wait_for_run(id, "the chain's end", |d| !d.run.status.is_active()).await;
    assert_eq!(done.run.status, PipelineStatus::Succeeded, "{:?}", done.run);
    assert_eq!(done.run.stages.len(), 3);
    for stage in [Stage::RetrainXgboost, Stage::ApiRedeployment] {
        assert!(heard_stage(&heard[survivor], id, stage), "the surviving replica's page heard {stage:?}: {}", heard[survivor].lock().unwrap());
    }
    ws.workspace.shutdown().await;
}
