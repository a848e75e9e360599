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
