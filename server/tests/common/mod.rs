//! One way to start Lakeline in a test: [`TestApp::builder`] picks the data and project
//! directories (fresh temporary ones by default), a configuration hook and, optionally, a
//! workspace given by URL and key instead of the embedded one. The app listens on port 0 and
//! offers typed calls of the UI's server functions, signed in as an admin unless the test asks
//! for another role or for nobody.
#![allow(dead_code)]

pub mod database;
pub mod logs;
pub mod swagger;
pub mod workspace;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use app::error::AppError;
use domain::Role;
use lakeline::config::{Config, Secret};
use lakeline::Lakeline;
use leptos::server_fn::ServerFn;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::oneshot;

type ConfigHook = Box<dyn FnOnce(&mut Config) + Send>;

pub struct TestAppBuilder {
    data_dir: Option<tempfile::TempDir>,
    project_dir: Option<tempfile::TempDir>,
    hooks: Vec<ConfigHook>,
    role: Option<Role>,
}

/// The password of the users tests create.
pub const PASSWORD: &str = "a password for tests";

impl TestAppBuilder {
    /// Calls as a user of this role (an admin by default).
    pub fn signed_in_as(mut self, role: Role) -> Self {
        self.role = Some(role);
        self
    }

    /// Calls as nobody.
    pub fn anonymous(mut self) -> Self {
        self.role = None;
        self
    }

    /// Starts in this data directory (for example one a stopped app handed back).
    pub fn data_dir(mut self, dir: tempfile::TempDir) -> Self {
        self.data_dir = Some(dir);
        self
    }

    /// The embedded workspace's project folder (default: a copy of the repository's `pipeline/`).
    pub fn project_dir(mut self, dir: tempfile::TempDir) -> Self {
        self.project_dir = Some(dir);
        self
    }

    /// Changes the configuration before the app starts.
    pub fn with_config(mut self, hook: impl FnOnce(&mut Config) + Send + 'static) -> Self {
        self.hooks.push(Box::new(hook));
        self
    }

    /// Drives `ws` by URL and key, as Lakeline drives a real CML workspace.
    pub fn remote_workspace(self, ws: &workspace::TestWorkspace) -> Self {
        let (url, key, project) = (format!("{}/api/v1", ws.workspace.url()), ws.workspace.api_key().to_string(), ws.project_id.clone());
        self.with_config(move |c| {
            c.cml_url = Some(url);
            c.cml_api_key = Some(Secret(key));
            c.cml_project_id = Some(project);
        })
    }

    fn config(&mut self) -> (Config, tempfile::TempDir, tempfile::TempDir) {
        let data_dir = self.data_dir.take().unwrap_or_else(|| tempfile::tempdir().expect("temp dir"));
        let project_dir = self.project_dir.take().unwrap_or_else(workspace::pipeline_project);
        let mut config = Config::for_data_dir(data_dir.path());
        config.runtimes_dir = Some(workspace::shared_runtimes_dir());
        config.project_dir = project_dir.path().to_path_buf();
        config.database_url = database::url(data_dir.path()).map(Secret);
        for hook in self.hooks.drain(..) {
            hook(&mut config);
        }
        (config, data_dir, project_dir)
    }

    /// Prepares the configuration without starting anything (for start-up errors).
    pub async fn prepare(mut self) -> lakeline::error::Result<Lakeline> {
        let (config, _data, _project) = self.config();
        Lakeline::prepare(config).await
    }

    /// Starts the app in this process.
    pub async fn start(mut self) -> TestApp {
        logs::init();
        let (config, data_dir, project_dir) = self.config();
        let server = Lakeline::prepare(config).await.expect("Lakeline prepares");
        let addr = server.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.serve(async {
            let _ = stopped.await;
        }));
        let mut app = TestApp { addr, data_dir, project_dir, http: http_client(reqwest::header::HeaderMap::new()), cookie: None, set_cookie: None, stop: Some(stop), task: Some(task) };
        if let Some(role) = self.role {
            app.sign_in_as_new_user(&format!("test-{role}"), role).await;
        }
        app
    }

    /// Starts the real `lakeline` binary with the same settings as flags, for tests that kill it.
    pub fn spawn_binary(mut self) -> TestProcess {
        let (config, data_dir, project_dir) = self.config();
        let mut command = Command::new(env!("CARGO_BIN_EXE_lakeline"));
        command
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&config.data_dir)
            .arg("--project-dir")
            .arg(&config.project_dir)
            .env_remove("LAKELINE_DATABASE_URL")
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped());
        if let Some(url) = &config.database_url {
            command.arg("--database-url").arg(url.expose());
        }
        if let Some(runtimes) = &config.runtimes_dir {
            command.arg("--runtimes-dir").arg(runtimes);
        }
        let mut child = command.spawn().expect("lakeline starts");
        // The local workspace says where it listens.
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let workspace_addr = loop {
            let line = lines.next().expect("Lakeline logs its start").expect("a log line");
            if let Some(rest) = line.split("local workspace is listening addr=").nth(1) {
                break rest.split_whitespace().next().expect("an address").to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        let key = std::fs::read_to_string(data_dir.path().join("workspace/api-key")).expect("the workspace wrote its key");
        TestProcess { child, workspace_url: format!("http://{workspace_addr}"), workspace_key: key, data_dir, project_dir }
    }
}

/// The client a test's calls go through, with `headers` on every request. An answer that stops
/// arriving midway (no byte for five minutes, longer than any test waits for anything) fails the
/// test instead of holding the whole run until CI's time limit.
fn http_client(headers: reqwest::header::HeaderMap) -> reqwest::Client {
    reqwest::Client::builder().default_headers(headers).read_timeout(std::time::Duration::from_secs(300)).build().expect("a client")
}

/// A Lakeline server running in the test's process.
pub struct TestApp {
    pub addr: SocketAddr,
    pub data_dir: tempfile::TempDir,
    pub project_dir: tempfile::TempDir,
    http: reqwest::Client,
    cookie: Option<String>,
    set_cookie: Option<String>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<lakeline::error::Result<()>>>,
}

/// A server function's refusal: the HTTP status and the error the UI would show.
#[derive(Debug)]
pub struct Refused {
    pub status: reqwest::StatusCode,
    pub error: AppError,
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder { data_dir: None, project_dir: None, hooks: vec![], role: Some(Role::Admin) }
    }

    /// Adds a user of `role` (through the store, as `lakeline user add` does) and makes every
    /// later call of this app carry their session.
    pub async fn sign_in_as_new_user(&mut self, name: &str, role: Role) {
        let store = self.store().await;
        match lakeline::auth::Auth::new(store.clone()).add_user(name, role, PASSWORD).await {
            // A restarted app keeps its users.
            Ok(_) | Err(lakeline::auth::AuthError::NameTaken(_)) => {}
            Err(e) => panic!("the test user is not added: {e}"),
        }
        store.close().await;
        self.sign_in(name, PASSWORD).await.expect("the test user signs in");
    }

    /// Signs in; later calls carry the session (or, on failure, no session).
    pub async fn sign_in(&mut self, name: &str, password: &str) -> Result<app::api::Me, Refused> {
        self.forget_session();
        let body = serde_qs::to_string(&app::api::SignIn { name: name.into(), password: password.into() }).expect("arguments encode");
        let response = self
            .http
            .post(self.url("/api/sign_in"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("sign_in answers");
        let set_cookie = response.headers().get("set-cookie").and_then(|v| v.to_str().ok()).map(str::to_string);
        let cookie = set_cookie.as_deref().map(|c| c.split(';').next().unwrap_or_default().to_string());
        let status = response.status();
        let text = response.text().await.expect("a body");
        if !status.is_success() {
            return Err(Refused { status, error: serde_json::from_str(&text).expect("a readable error") });
        }
        self.set_cookie = set_cookie;
        let cookie = cookie.expect("a signed-in answer sets the session cookie");
        logs::secret(password);
        logs::secret(cookie.trim_start_matches("lakeline_session="));
        self.cookie = Some(cookie.clone());
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::COOKIE, cookie.parse().expect("a cookie header"));
        self.http = http_client(headers);
        Ok(serde_json::from_str(&text).expect("the signed-in user"))
    }

    /// Forgets the session: later calls are anonymous.
    pub fn forget_session(&mut self) {
        self.http = http_client(reqwest::header::HeaderMap::new());
        self.cookie = None;
    }

    /// `lakeline_session=…`, while signed in.
    pub fn session_cookie(&self) -> Option<String> {
        self.cookie.clone()
    }

    /// The `Set-Cookie` header of the last sign-in.
    pub fn last_set_cookie(&self) -> Option<String> {
        self.set_cookie.clone()
    }

    /// The HTTP client calls go through (carrying the session, if any).
    pub fn client(&self) -> &reqwest::Client {
        &self.http
    }

    /// A client of a Lakeline that runs elsewhere (another process) at `addr`, not signed in.
    pub fn attach(addr: SocketAddr, data_dir: tempfile::TempDir, project_dir: tempfile::TempDir) -> TestApp {
        TestApp { addr, data_dir, project_dir, http: http_client(reqwest::header::HeaderMap::new()), cookie: None, set_cookie: None, stop: None, task: None }
    }

    /// The default app: embedded workspace, fresh directories.
    pub async fn start() -> TestApp {
        Self::builder().start().await
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Reads pipeline run `id` every half second until `done` holds, failing after five minutes
    /// with what it waited for.
    pub async fn wait_for_run(&self, id: i64, what: &str, done: impl Fn(&app::api::PipelineRunDetail) -> bool) -> app::api::PipelineRunDetail {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
        loop {
            let detail = self.call(app::api::GetPipelineRun { id }).await.expect("the run can be read");
            if done(&detail) {
                return detail;
            }
            assert!(std::time::Instant::now() < deadline, "pipeline run {id}: waited in vain for {what}: {:?} {:?}", detail.run, detail.lineage.problems);
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.expect("GET answers")
    }

    /// Calls a server function as the browser does (URL-encoded arguments), typed both ways:
    /// `app.call(TriggerPipeline { arguments, environment })` answers the run id.
    pub async fn call<F>(&self, args: F) -> Result<F::Output, Refused>
    where
        F: ServerFn + Serialize,
        F::Output: DeserializeOwned,
    {
        call_server_fn(|path| self.http.post(self.url(path)), args).await
    }

    /// The app's own database, opened beside the running server.
    pub async fn store(&self) -> lakeline::store::Store {
        database::store(self.data_dir.path()).await
    }

    /// Stops the server gracefully and hands back its data directory.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server stops cleanly");
        }
        let dir = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self.data_dir, dir)
    }
}

/// The `lakeline` binary as a child process, with its embedded workspace's address and key.
pub struct TestProcess {
    pub child: Child,
    pub workspace_url: String,
    pub workspace_key: String,
    pub data_dir: tempfile::TempDir,
    pub project_dir: tempfile::TempDir,
}

impl TestProcess {
    /// SIGKILL: no shutdown code runs.
    pub fn kill(&mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
    }
}

impl Drop for TestProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Calls a server function as the browser does (URL-encoded arguments, a typed answer or
/// refusal) with the request `post` makes for its path (a POST, with the caller's headers).
pub async fn call_server_fn<F>(post: impl FnOnce(&str) -> reqwest::RequestBuilder, args: F) -> Result<F::Output, Refused>
where
    F: ServerFn + Serialize,
    F::Output: DeserializeOwned,
{
    let body = serde_qs::to_string(&args).expect("arguments encode");
    let response = post(F::PATH)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(body)
        .send()
        .await
        .expect("the server function answers");
    let status = response.status();
    let text = response.text().await.expect("a body");
    if status.is_success() {
        Ok(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e} in {text}", F::PATH)))
    } else {
        let error = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} failed with {status} and an unreadable error ({e}): {text}", F::PATH));
        Err(Refused { status, error })
    }
}
