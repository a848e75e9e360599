//! Commands of the `lakeline` binary besides serving. `user` and `token` work on the data
//! directory (an admin's shell on the host); `run` and `runs` are clients of a running Lakeline's
//! REST API (`/api/v1`), signed in with an API token.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::Duration;

use app::api::{HistoryPage, PipelineRunDetail, StageView};
use domain::{JobRunState, PipelineStatus};

use crate::auth::Auth;
use crate::config::{Command, Config, Remote, RunsCommand, TokenCommand, UserCommand};
use crate::http::api_v1::RunCreated;
use crate::store::audit::Actor;
use crate::store::Store;

/// `run --wait`: the run did not succeed.
const RUN_DID_NOT_SUCCEED: u8 = 1;
/// Lakeline could not be asked, or refused.
const COULD_NOT_ASK: u8 = 2;

/// Runs a command; answers the process's exit code (errors are printed here).
pub async fn run(config: &Config, command: &Command) -> ExitCode {
    let result = match command {
        Command::User(user) => on_data_dir(config, |store| async move { users(&store, user).await }).await,
        Command::Token(token) => on_data_dir(config, |store| async move { tokens(&store, token).await }).await,
        Command::Run { arguments, environment, wait, remote } => return trigger(remote, arguments, environment, *wait).await,
        Command::Runs(runs) => list_or_show(runs).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lakeline: {e}");
            ExitCode::from(COULD_NOT_ASK)
        }
    }
}

async fn on_data_dir<F, Fut>(config: &Config, work: F) -> anyhow::Result<()>
where
    F: FnOnce(Store) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    std::fs::create_dir_all(&config.data_dir)?;
    let store = Store::connect(&config.database()).await?;
    let result = work(store.clone()).await;
    store.close().await;
    result
}

async fn users(store: &Store, command: &UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add { name, role, password_stdin } => {
            let password = if *password_stdin { read_line()? } else { ask_password()? };
            Auth::new(store.clone()).add_user(name, *role, &password).await?;
            store.record_event(Actor::lakeline("lakeline user add"), "user.add", &format!("user {name:?} ({role})"), "ok").await?;
            println!("added {name} ({role})");
        }
        UserCommand::List => {
            for user in store.users().await? {
                let disabled = if user.disabled { " (disabled)" } else { "" };
                println!("{}\t{}{disabled}", user.name, user.role);
            }
        }
    }
    Ok(())
}

async fn tokens(store: &Store, command: &TokenCommand) -> anyhow::Result<()> {
    let auth = Auth::new(store.clone());
    // The host's shell acts as an admin: whoever can open the data directory owns Lakeline.
    let shell = ("lakeline token", domain::Role::Admin);
    match command {
        TokenCommand::Create { name, user, role } => {
            let (token, secret) = auth.create_token(shell, user, name, *role).await?;
            let detail = format!("token {:?} for {user:?} ({role}), #{} {}…", token.name, token.id, token.prefix);
            store.record_event(Actor::lakeline("lakeline token create"), "token.create", &detail, "ok").await?;
            eprintln!("token #{} for {user} ({role}); it is shown only now:", token.id);
            println!("{secret}");
        }
        TokenCommand::List => {
            for t in store.tokens(None).await? {
                let state = match (&t.revoked_at, &t.last_used_at) {
                    (Some(at), _) => format!("revoked {at}"),
                    (None, Some(at)) => format!("last used {at}"),
                    (None, None) => "never used".to_string(),
                };
                println!("#{}\t{}…\t{}\t{}\t{}\t{state}", t.id, t.prefix, t.owner, t.role, t.name);
            }
        }
        TokenCommand::Revoke { id } => {
            let token = auth.revoke_token(shell, *id).await?;
            store.record_event(Actor::lakeline("lakeline token revoke"), "token.revoke", &format!("token #{id} {:?} of {:?}", token.name, token.owner), "ok").await?;
            println!("revoked #{id} ({} of {})", token.name, token.owner);
        }
    }
    Ok(())
}

/// A client of a running Lakeline's REST API.
struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    fn new(remote: &Remote) -> anyhow::Result<Client> {
        let Some(token) = &remote.token else {
            anyhow::bail!("give an API token with --token or LAKELINE_TOKEN (make one on the Tokens page, or with `lakeline token create`)");
        };
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?;
        Ok(Client { http, base: remote.server.trim_end_matches('/').to_string(), token: token.expose().to_string() })
    }

    async fn send<T: serde::de::DeserializeOwned>(&self, request: reqwest::RequestBuilder) -> anyhow::Result<T> {
        let response = request.bearer_auth(&self.token).send().await.map_err(|e| anyhow::anyhow!("could not reach Lakeline at {}: {e}", self.base))?;
        let status = response.status();
        let text = response.text().await?;
        if status.is_success() {
            return serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("Lakeline's answer was not understood ({e})"));
        }
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(error) if error["message"].is_string() => anyhow::bail!("{} ({status})", error["message"].as_str().unwrap_or_default()),
            _ => anyhow::bail!("Lakeline answered {status}"),
        }
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str, query: &[(&str, &str)]) -> anyhow::Result<T> {
        let query: Vec<_> = query.iter().filter(|(_, value)| !value.is_empty()).collect();
        self.send(self.http.get(format!("{}{path}", self.base)).query(&query)).await
    }
}

async fn trigger(remote: &Remote, arguments: &str, environment: &[String], wait: bool) -> ExitCode {
    let started = async {
        let client = Client::new(remote)?;
        let mut variables = serde_json::Map::new();
        for pair in environment {
            let (name, value) = pair.split_once('=').ok_or_else(|| anyhow::anyhow!("--env: {pair:?} is not KEY=VALUE"))?;
            variables.insert(name.to_string(), value.into());
        }
        let body = serde_json::json!({ "arguments": arguments, "environment": variables });
        let created: RunCreated = client.send(client.http.post(format!("{}/api/v1/runs", client.base)).json(&body)).await?;
        anyhow::Ok((client, created.id))
    };
    let (client, id) = match started.await {
        Ok(started) => started,
        Err(e) => {
            eprintln!("lakeline: {e}");
            return ExitCode::from(COULD_NOT_ASK);
        }
    };
    println!("started pipeline run {id}: {}/runs/{id}", client.base);
    if !wait {
        return ExitCode::SUCCESS;
    }
    match follow(&client, id).await {
        Ok(PipelineStatus::Succeeded) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(RUN_DID_NOT_SUCCEED),
        Err(e) => {
            eprintln!("lakeline: {e}");
            ExitCode::from(COULD_NOT_ASK)
        }
    }
}

/// Follows a run to its end, printing each stage's changes; answers how it ended.
async fn follow(client: &Client, id: i64) -> anyhow::Result<PipelineStatus> {
    let mut shown: Vec<(domain::Stage, JobRunState)> = vec![];
    let mut failures = 0;
    loop {
        let detail: PipelineRunDetail = match client.get(&format!("/api/v1/runs/{id}"), &[]).await {
            Ok(detail) => detail,
            // Lakeline restarting or a moment's network trouble: keep following for a while.
            Err(e) if failures < 10 => {
                failures += 1;
                eprintln!("lakeline: {e}; asking again");
                tokio::time::sleep(Duration::from_secs(3)).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        failures = 0;
        for stage in &detail.run.stages {
            if !shown.contains(&(stage.stage, stage.state)) {
                shown.push((stage.stage, stage.state));
                println!("{}", stage_line(stage));
            }
        }
        if !detail.run.status.is_active() {
            println!("pipeline run {id}: {}", detail.run.status);
            return Ok(detail.run.status);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

fn stage_line(stage: &StageView) -> String {
    let took = stage.duration_seconds.filter(|_| stage.state.is_terminal()).map(|s| format!(" in {s:.0} s")).unwrap_or_default();
    format!("  {:<17} {}{took}", stage.stage.title(), stage.state.word())
}

async fn list_or_show(command: &RunsCommand) -> anyhow::Result<()> {
    match command {
        RunsCommand::List { status, who, remote } => {
            let client = Client::new(remote)?;
            let page: HistoryPage = client.get("/api/v1/runs", &[("status", status), ("who", who)]).await?;
            println!("{:>6}  {:<10}  {:<20}  {:<16}  {:>8}  {:>6}", "RUN", "STATUS", "STARTED", "BY", "ACCURACY", "RECALL");
            for run in &page.runs {
                let figure = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
                let started = run.created_at.get(..19).unwrap_or(&run.created_at).replace('T', " ");
                println!("{:>6}  {:<10}  {started:<20}  {:<16}  {:>8}  {:>6}", run.id, run.status.as_str(), run.triggered_by, figure(run.accuracy), figure(run.recall));
            }
            println!("{} of {} runs", page.runs.len(), page.total);
        }
        RunsCommand::Show { id, remote } => {
            let client = Client::new(remote)?;
            let detail: PipelineRunDetail = client.get(&format!("/api/v1/runs/{id}"), &[]).await?;
            let (run, lineage) = (&detail.run, &detail.lineage);
            println!("pipeline run {}: {} (by {}, {})", run.id, run.status, run.triggered_by, run.source);
            for stage in &run.stages {
                println!("{}", stage_line(stage));
            }
            let show = |label: &str, value: Option<String>| {
                if let Some(value) = value {
                    println!("  {label:<17} {value}");
                }
            };
            show("snapshots", lineage.snapshot_id.as_ref().map(|s| format!("{} → {s}", lineage.parent_snapshot_id.as_deref().unwrap_or("(first)"))));
            show("rows added", lineage.rows_added.map(|r| r.to_string()));
            show("MLflow run", lineage.experiment_run_id.clone());
            show("model version", lineage.model_version_number.map(|v| v.to_string()));
            show("build", lineage.build_id.clone());
            show("deployment", lineage.deployment_id.clone());
            for problem in &lineage.problems {
                println!("  ! {problem}");
            }
            for log in &detail.logs {
                println!("  log of {:<10} {}/api/v1/runs/{id}/logs/{}", log.stage.title(), client.base, log.stage);
            }
        }
    }
    Ok(())
}

fn read_line() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Asks for a password twice on the terminal, without echo.
fn ask_password() -> anyhow::Result<String> {
    let first = read_hidden("Password: ")?;
    let second = read_hidden("Password again: ")?;
    anyhow::ensure!(first == second, "the two passwords differ");
    Ok(first)
}

fn read_hidden(prompt: &str) -> anyhow::Result<String> {
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    let echo_off = std::process::Command::new("stty").arg("-echo").stdin(std::process::Stdio::inherit()).status().is_ok_and(|s| s.success());
    let read = read_line();
    if echo_off {
        let _ = std::process::Command::new("stty").arg("echo").stdin(std::process::Stdio::inherit()).status();
        eprintln!();
    }
    read
}
