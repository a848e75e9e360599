//! The real server on port 0, driven over HTTP.

mod common;

use common::TestServer;

#[tokio::test]
async fn healthz_answers_ok_with_a_migrated_database() {
    let server = TestServer::start().await;
    let response = reqwest::get(server.url("/healthz")).await.unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert!(server.data_dir.path().join("lakeline.db").is_file(), "the database file exists");
}

#[tokio::test]
async fn home_page_is_server_rendered_with_navigation_and_hydration_scripts() {
    let server = TestServer::start().await;
    let response = reqwest::get(server.url("/")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert!(response.headers().contains_key("content-security-policy"));
    let html = response.text().await.unwrap();
    assert!(html.contains("Lakeline"), "{html}");
    for (href, label) in [("/", "Pipeline"), ("/history", "History"), ("/settings", "Settings")] {
        assert!(html.contains(&format!("href=\"{href}\"")), "link to {href}");
        assert!(html.contains(label), "label {label}");
    }
    assert!(html.contains("/pkg/lakeline.js"), "hydration script is linked: {html}");
    assert!(html.contains("data-test=\"server-check\""));
}

#[tokio::test]
async fn other_pages_render_and_unknown_pages_say_so() {
    let server = TestServer::start().await;
    for path in ["/history", "/settings"] {
        let response = reqwest::get(server.url(path)).await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    let response = reqwest::get(server.url("/no-such-page")).await.unwrap();
    assert_eq!(response.status(), 404);
    assert!(response.text().await.unwrap().contains("There is no page at this address."));
}

#[tokio::test]
async fn server_status_server_function_answers() {
    let server = TestServer::start().await;
    let response = reqwest::Client::new()
        .post(server.url("/api/server_status"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn start_records_an_audit_event_and_survives_a_restart() {
    let server = TestServer::start().await;
    let dir = server.stop().await;
    let server = TestServer::start_in(dir).await;
    let store = lakeline::store::Store::open(&server.data_dir.path().join("lakeline.db")).await.unwrap();
    let events = store.recent_events(10).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.action == "server.start").count(), 2);
}

#[tokio::test]
async fn an_unwritable_data_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-directory");
    std::fs::write(&file, b"x").unwrap();
    let config = lakeline::config::Config::for_data_dir(file.join("data"));
    let err = lakeline::Lakeline::prepare(config).await.err().expect("prepare fails");
    let message = err.to_string();
    assert!(message.contains("data directory"), "{message}");
    assert!(message.contains("--data-dir"), "{message}");
}

async fn server_fn(server: &TestServer, name: &str, body: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(server.url(&format!("/api/{name}")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn browsers_hear_about_changes_over_server_sent_events() {
    // A project with the pipeline's scripts but no requirements.txt: the jobs start at once on
    // the machine's Python (they fail there, which does not matter here).
    let project = common::workspace::pipeline_project();
    std::fs::remove_file(project.path().join("requirements.txt")).unwrap();
    let server = TestServer::start_with_project(project).await;
    assert!(server_fn(&server, "apply_pipeline_setup", "").await.status().is_success());
    let mut events = reqwest::get(server.url("/api/events")).await.unwrap();
    assert_eq!(events.headers()["content-type"], "text/event-stream");

    let started = server_fn(&server, "trigger_pipeline", "arguments=&environment=").await;
    assert!(started.status().is_success());
    let id: i64 = started.json().await.unwrap();
    let chunk = tokio::time::timeout(std::time::Duration::from_secs(5), events.chunk()).await.expect("an event within 5 s").unwrap().unwrap();
    let text = String::from_utf8_lossy(&chunk);
    assert!(text.contains("event: changed"), "{text}");
    assert!(text.contains(&format!("\"pipeline_run_id\":{id}")), "{text}");

    // While it runs, a second trigger is refused with a message that says why.
    let refused = server_fn(&server, "trigger_pipeline", "arguments=&environment=").await;
    assert!(!refused.status().is_success());
    assert!(refused.text().await.unwrap().contains("still running"));
    server.stop().await;
}

#[test]
fn help_lists_the_settings() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_lakeline")).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in ["--data-dir", "--listen", "--log-level", "--cml-url", "--cml-api-key", "--project-dir"] {
        assert!(help.contains(flag), "{flag} in:\n{help}");
    }
    assert!(!help.contains("LAKELINE_CML_API_KEY="), "secret values are hidden in --help");
}
