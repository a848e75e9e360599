//! Lakeline as a CML Application: the bundle `make cml-application` lays out, unpacked in the
//! project, its launcher started with exactly the environment CML gives an Application (its port,
//! the workspace's URL and API key, the project) and pointing at a local workspace started on its
//! own; people are named by CML's proxy in the `Remote-User` header.

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use app::api::{ApplyPipelineSetup, CurrentUser, GetPipelineRun, JobCheckState, TriggerPipeline};
use app::error::AppError;
use common::workspace::TestWorkspace;
use common::{call_server_fn, Refused};
use domain::Role;
use reqwest::StatusCode;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Kills the launcher (and so Lakeline, which it stops on SIGTERM) when the test ends, however.
struct Launched(Child);

impl Drop for Launched {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}

/// The bundle, unpacked in the project's files (`/home/cdsw` in CML).
fn unpack_bundle(project: &Path) {
    let site = Path::new(ROOT).join("target/site");
    assert!(site.join("pkg").is_dir(), "the front end is not built: run `make build` first (make test does)");
    let made = Command::new(Path::new(ROOT).join("scripts/cml-application.sh")).arg(project).arg(env!("CARGO_BIN_EXE_lakeline")).arg(&site).output().unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
}

#[tokio::test]
async fn the_application_launcher_runs_lakeline_on_cmls_own_variables() {
    common::logs::init();
    let ws = TestWorkspace::start().await;
    let key = ws.workspace.api_key().to_string();
    common::logs::secret(&key);
    let project = tempfile::tempdir().unwrap();
    unpack_bundle(project.path());

    // Once, from a session's terminal in the project (README): make yourself admin.
    let mut add = Command::new(project.path().join("lakeline/bin/lakeline"))
        .args(["--data-dir", ".lakeline", "user", "add", "ada", "--role", "admin", "--password-stdin"])
        .current_dir(project.path())
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        writeln!(add.stdin.take().unwrap(), "{}", common::PASSWORD).unwrap();
    }
    assert!(add.wait().unwrap().success());

    // What CML sets in an Application's engine (and nothing of Lakeline's own).
    let port = free_port();
    let log_path = project.path().join("application.log");
    let launcher = Command::new("python3")
        .arg("lakeline/application.py")
        .current_dir(project.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("HOME", project.path())
        .env("CDSW_APP_PORT", port.to_string())
        .env("CDSW_READONLY_PORT", free_port().to_string())
        .env("CDSW_PUBLIC_PORT", free_port().to_string())
        .env("CDSW_API_URL", format!("{}/api/v1", ws.workspace.url()))
        .env("CDSW_APIV2_KEY", &key)
        .env("CDSW_PROJECT_ID", &ws.project_id)
        .env("CDSW_PROJECT", "lakeline")
        .env("CDSW_ENGINE_ID", "e3x1k9q2w7v4c8zd")
        .env("CDSW_DOMAIN", "ml-1234.example.com")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let launched = Launched(launcher);

    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let started = Instant::now();
    while !http.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
        assert!(started.elapsed() < Duration::from_secs(60), "Lakeline did not answer on CDSW_APP_PORT within 60 s:\n{}", std::fs::read_to_string(&log_path).unwrap());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Each request as CML's proxy sends it: the person in Remote-User.
    let post = |path: &str, person: Option<&str>| {
        let request = http.post(format!("{base}{path}"));
        match person {
            Some(name) => request.header("Remote-User", name),
            None => request,
        }
    };

    // The data directory is in the project, so a restarted Application keeps its history.
    assert!(project.path().join(".lakeline/lakeline.db").is_file());

    // No one named: not signed in.
    let anonymous = call_server_fn(|path| post(path, None), CurrentUser {}).await.unwrap();
    assert!(anonymous.is_none(), "{anonymous:?}");
    let refused = call_server_fn(|path| post(path, None), ApplyPipelineSetup {}).await.unwrap_err();
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);

    // The admin made in the terminal, named by the proxy: sets up the jobs in the project CML gave.
    let ada = call_server_fn(|path| post(path, Some("ada")), CurrentUser {}).await.unwrap().unwrap();
    assert_eq!((ada.name.as_str(), ada.role), ("ada", Role::Admin));
    let setup = call_server_fn(|path| post(path, Some("ada")), ApplyPipelineSetup {}).await.unwrap();
    assert!(setup.jobs.iter().all(|j| j.state == JobCheckState::Matches), "{:?}", setup.jobs);
    assert_eq!(ws.client.list_jobs(&ws.project_id).await.unwrap().len(), 3, "the jobs are in the workspace at CDSW_API_URL");

    // Someone else the proxy names is a viewer on first sight: may read, may not run.
    let vic = call_server_fn(|path| post(path, Some("vic")), CurrentUser {}).await.unwrap().unwrap();
    assert_eq!((vic.name.as_str(), vic.role), ("vic", Role::Viewer));
    let Refused { status, error } = call_server_fn(|path| post(path, Some("vic")), TriggerPipeline { arguments: String::new(), environment: String::new() }).await.unwrap_err();
    assert_eq!(status, StatusCode::FORBIDDEN, "{error:?}");
    assert!(matches!(&error, AppError::Forbidden(m) if m.contains("operator")), "{error:?}");

    // The admin runs the pipeline; the run is theirs.
    let id = call_server_fn(|path| post(path, Some("ada")), TriggerPipeline { arguments: String::new(), environment: String::new() }).await.unwrap();
    let run = call_server_fn(|path| post(path, Some("vic")), GetPipelineRun { id }).await.unwrap();
    assert_eq!(run.run.triggered_by, "ada");
    let page = http.get(format!("{base}/history")).header("Remote-User", "vic").send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"data-test="session-user">vic<"#), "the page names who is signed in:\n{html}");

    drop(launched);
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("Lakeline is listening"), "{log}");
    assert!(!log.contains(&key), "the API key never reaches the log");
    common::logs::save("cml-application", &log);
    ws.workspace.shutdown().await;
}

#[test]
fn the_launcher_says_what_is_missing_outside_cml() {
    let project = tempfile::tempdir().unwrap();
    let launcher = Path::new(ROOT).join("cml-application/application.py");
    let run = |envs: &[(&str, &str)]| {
        let out = Command::new("python3").arg(&launcher).env_clear().env("PATH", std::env::var("PATH").unwrap()).env("HOME", project.path()).envs(envs.iter().copied()).output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, err) = run(&[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("CDSW_APP_PORT"), "{err}");
    let (code, err) = run(&[("CDSW_APP_PORT", "8100"), ("CDSW_PROJECT_ID", "p")]);
    assert_eq!(code, Some(2));
    assert!(err.contains("CDSW_API_URL, CDSW_APIV2_KEY"), "{err}");
    let (code, err) = run(&[("CDSW_APP_PORT", "8100"), ("CDSW_API_URL", "http://x/api/v1"), ("CDSW_APIV2_KEY", "k"), ("CDSW_PROJECT_ID", "p")]);
    assert_eq!(code, Some(2));
    assert!(err.contains("no Lakeline binary"), "{err}");
}
