//! The real server on port 0, driven over HTTP.

mod common;

use app::api::{ApplyPipelineSetup, GetServerStatus, StopPipeline, TriggerPipeline};
use app::error::AppError;
use common::TestApp;

#[tokio::test]
async fn healthz_answers_ok_with_a_migrated_database() {
    let server = TestApp::start().await;
    let response = server.get("/healthz").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    if let lakeline::store::Location::Sqlite(file) = common::database::location(server.data_dir.path()) {
        assert!(file.is_file(), "the database file exists");
    }
}

#[tokio::test]
async fn home_page_is_server_rendered_with_navigation_and_hydration_scripts() {
    let server = TestApp::start().await;
    let response = server.get("/").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    // Scripts: this site's files and the inline scripts of this response (by their nonce) only.
    let csp = response.headers()["content-security-policy"].to_str().unwrap().to_string();
    let script_src = csp.split(';').map(str::trim).find(|d| d.starts_with("script-src")).expect("a script-src directive").to_string();
    assert!(!script_src.contains("unsafe-inline"), "{csp}");
    let nonce = script_src.split_whitespace().find_map(|s| s.strip_prefix("'nonce-")).map(|n| n.trim_end_matches('\'')).expect("a nonce").to_string();
    let html = response.text().await.unwrap();
    let inline_scripts = html.matches("<script").count();
    assert!(inline_scripts > 0);
    assert_eq!(html.matches(&format!("nonce=\"{nonce}\"")).count(), inline_scripts, "every script carries the nonce: {html}");
    assert_ne!(server.get("/").await.headers()["content-security-policy"].to_str().unwrap(), csp, "a new nonce for each response");
    assert!(html.contains("Lakeline"), "{html}");
    for (href, label) in [("/", "Pipeline"), ("/history", "History"), ("/settings", "Settings")] {
        assert!(html.contains(&format!("href=\"{href}\"")), "link to {href}");
        assert!(html.contains(label), "label {label}");
    }
    let script = html.split("rel=\"modulepreload\" href=\"").nth(1).and_then(|rest| rest.split('"').next()).unwrap_or_default();
    let version = script.strip_prefix("/pkg/").and_then(|rest| rest.strip_suffix("/lakeline.js")).unwrap_or_default();
    assert!(version.len() == 16 && version.bytes().all(|b| b.is_ascii_hexdigit()), "the hydration script is linked under the build's version: {html}");
    assert!(html.contains("data-test=\"server-check\""));
}

#[tokio::test]
async fn other_pages_render_and_unknown_pages_say_so() {
    let server = TestApp::start().await;
    for path in ["/history", "/settings"] {
        let response = server.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
    }
    let response = server.get("/no-such-page").await;
    assert_eq!(response.status(), 404);
    assert!(response.text().await.unwrap().contains("There is no page at this address."));
}

#[tokio::test]
async fn server_status_server_function_answers() {
    let server = TestApp::start().await;
    let status = server.call(GetServerStatus {}).await.unwrap();
    assert_eq!(status.version, env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn start_records_an_audit_event_and_survives_a_restart() {
    let server = TestApp::start().await;
    let dir = server.stop().await;
    let server = TestApp::builder().data_dir(dir).start().await;
    let store = server.store().await;
    let events = store.recent_events(10).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.action == "server.start").count(), 2);
}

#[tokio::test]
async fn an_unwritable_data_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-directory");
    std::fs::write(&file, b"x").unwrap();
    let err = TestApp::builder().with_config(move |c| c.data_dir = file.join("data")).prepare().await.err().expect("prepare fails");
    let message = err.to_string();
    assert!(message.contains("data directory"), "{message}");
    assert!(message.contains("--data-dir"), "{message}");
}

#[tokio::test]
async fn browsers_hear_about_changes_over_server_sent_events() {
    // A project with the pipeline's scripts but no requirements.txt: the jobs start at once on
    // the machine's Python (they fail there, which does not matter here).
    let project = common::workspace::pipeline_project();
    std::fs::remove_file(project.path().join("requirements.txt")).unwrap();
    let server = TestApp::builder().project_dir(project).start().await;
    server.call(ApplyPipelineSetup {}).await.unwrap();
    let mut events = server.get("/api/events").await;
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    let mut next_event = async || {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(5), events.chunk()).await.expect("an event within 5 s").unwrap().unwrap();
        String::from_utf8_lossy(&chunk).into_owned()
    };
    // First, "refetch what you show": the page may have been rendered before anything it missed.
    let first = next_event().await;
    assert!(first.contains("event: changed") && first.contains("\"kind\":\"resync\""), "{first}");

    let id = server.call(TriggerPipeline { arguments: String::new(), environment: String::new() }).await.unwrap();
    let text = next_event().await;
    assert!(text.contains("event: changed"), "{text}");
    assert!(text.contains(&format!("\"pipeline_run_id\":{id}")), "{text}");

    // While it runs, a second trigger is refused with a message that says why.
    let refused = server.call(TriggerPipeline { arguments: String::new(), environment: String::new() }).await.unwrap_err();
    assert!(refused.status.is_client_error(), "{refused:?}");
    assert!(matches!(&refused.error, AppError::Invalid(m) if m.contains("still running")), "{refused:?}");
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

/// Malformed input is the caller's mistake: 400 (413 for a body over the limit) with a message
/// that names the field, for every server function.
#[tokio::test]
async fn malformed_server_function_requests_get_a_4xx_naming_the_field() {
    let server = TestApp::start().await;
    let cases: &[(&str, &[u8], &str)] = &[
        ("stop_pipeline", b"id=abc", "id"),
        ("stop_pipeline", b"", "id"),
        ("stop_pipeline", b"id=99999999999999999999", "id"),
        ("stop_pipeline", b"id=\xff\xfe", "id"),
        ("get_pipeline_run", b"id=", "id"),
        ("get_pipeline_run", b"ident=4", "id"),
        ("trigger_pipeline", b"arguments=x", "environment"),
        ("list_pipeline_runs", b"cursor=after-1", "filter"),
        ("list_pipeline_runs", b"filter[status]=x&filter[from]=&filter[to]=&filter[who]=&filter[snapshot]=&cursor=", "status"),
        ("list_pipeline_runs", b"filter[status]=&filter[from]=yesterday&filter[to]=&filter[who]=&filter[snapshot]=&cursor=", "from"),
        ("list_pipeline_runs", b"filter[status]=&filter[from]=&filter[to]=&filter[who]=&filter[snapshot]=&cursor=page-9223372036854775807", "cursor"),
        ("save_settings", b"settings[owner_suffix]=x", "settings"),
        ("test_prediction", b"", "request"),
        ("test_prediction", b"request=not+json", "JSON"),
        // Values a job could never start with are refused at the form.
        ("trigger_pipeline", b"arguments=a%00b&environment=", "arguments"),
        ("trigger_pipeline", b"arguments=&environment=A%3Dx%00y", "environment"),
        ("trigger_pipeline", b"arguments=&environment=1ST%3Dx", "environment"),
    ];
    let long_kernel = format!(
        "settings[owner_suffix]=x&settings[runtime_kernel]={}&settings[runtime_editor]=w&settings[runtime_edition]=s&settings[accuracy_key]=a&settings[recall_key]=r&settings[gate_accuracy_margin]=0.03&settings[gate_recall_margin]=0.15",
        "k".repeat(100 * 1024)
    );
    let long_arguments = format!("arguments={}&environment=", "a".repeat(5000));
    let owned = [("save_settings", long_kernel.into_bytes(), "runtime_kernel"), ("trigger_pipeline", long_arguments.into_bytes(), "arguments")];
    let cases = cases.iter().map(|(n, b, f)| (*n, b.to_vec(), *f)).chain(owned);
    let http = server.client().clone();
    for (name, body, field) in cases {
        let shown = String::from_utf8_lossy(&body[..body.len().min(120)]).into_owned();
        let response = http
            .post(server.url(&format!("/api/{name}")))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_vec())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name} {shown:?}: the connection failed: {e}"));
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(status, 400, "{name} {shown:?}: {text}");
        let error: AppError = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}: {text}"));
        assert!(matches!(&error, AppError::Invalid(m) if m.contains(field)), "{name} {:?}: {error:?} should name {field}", shown);
    }
    let huge = vec![b'a'; 300 * 1024];
    let response = http.post(server.url("/api/trigger_pipeline")).header("content-type", "application/x-www-form-urlencoded").body(huge).send().await.unwrap();
    assert_eq!(response.status(), 413);
    assert!(response.text().await.unwrap().contains("larger than"));
    server.stop().await;
}

#[tokio::test]
async fn the_data_directory_and_its_files_are_private_to_its_user() {
    use std::os::unix::fs::PermissionsExt;
    let server = TestApp::start().await;
    let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777;
    let dir = server.data_dir.path();
    assert_eq!(mode(dir), 0o700, "{}", dir.display());
    assert_eq!(mode(&dir.join("workspace")), 0o700, "the local workspace's directory");
    // The databases (with their write-ahead logs; Lakeline's own unless it is on PostgreSQL) and
    // the workspace's API key.
    let own: &[&str] = match common::database::location(dir) {
        lakeline::store::Location::Sqlite(_) => &["lakeline.db", "lakeline.db-wal"],
        lakeline::store::Location::Postgres(_) => &[],
    };
    for file in own.iter().chain(&["workspace/workspace.db", "workspace/workspace.db-wal", "workspace/api-key"]) {
        assert_eq!(mode(&dir.join(file)), 0o600, "{file}");
    }
    server.stop().await;
}

/// The built front end's files: pages name them under the build's version (a hash of their
/// contents), answered with long-lived `immutable` caching; the stored `.br` and `.gz` the build
/// made (scripts/precompress.sh) go, byte for byte, to a browser that takes brotli (preferred) or
/// gzip; one that takes neither gets the file itself; the plain names are revalidated (`no-cache`, then a bodiless 304).
#[tokio::test]
async fn built_files_are_versioned_precompressed_and_cached_for_good() {
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir(site.path().join("pkg")).unwrap();
    // A file that compresses well, as wasm does.
    let wasm: Vec<u8> = (0..200_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
    std::fs::write(site.path().join("pkg/lakeline.wasm"), &wasm).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/precompress.sh");
    for _ in 0..2 {
        // Twice: the script is idempotent.
        let status = std::process::Command::new(script).arg(site.path()).status().unwrap();
        assert!(status.success());
    }
    let stored = std::fs::read(site.path().join("pkg/lakeline.wasm.gz")).unwrap();
    assert!(stored.len() < wasm.len() / 4, "{} of {} bytes", stored.len(), wasm.len());
    let stored_br = std::fs::read(site.path().join("pkg/lakeline.wasm.br")).unwrap();
    assert!(stored_br.len() < wasm.len() / 4, "{} of {} bytes", stored_br.len(), wasm.len());

    let dir = site.path().to_path_buf();
    let server = TestApp::builder().with_config(move |c| c.site_dir = dir).start().await;
    let http = reqwest::Client::builder().no_gzip().build().unwrap();

    // Pages name the files under the build's version, and those answers are kept for good.
    let page = http.get(server.url("/sign-in")).send().await.unwrap().text().await.unwrap();
    let version = page.split("/pkg/").nth(1).and_then(|rest| rest.split('/').next()).expect("a versioned /pkg/ link").to_string();
    assert_eq!(version.len(), 16, "{version}");
    assert!(page.contains(&format!("href=\"/pkg/{version}/lakeline.css\"")), "the stylesheet is versioned too");
    let versioned = format!("/pkg/{version}/lakeline.wasm");
    let brotli = http.get(server.url(&versioned)).header("accept-encoding", "gzip, deflate, br").send().await.unwrap();
    assert_eq!(brotli.status(), 200);
    assert_eq!(brotli.headers()["content-encoding"], "br");
    assert_eq!(brotli.headers()["content-type"], "application/wasm");
    assert_eq!(brotli.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(brotli.bytes().await.unwrap().as_ref(), stored_br.as_slice(), "the stored file, not a new compression");
    let gzipped = http.get(server.url(&versioned)).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(gzipped.status(), 200);
    assert_eq!(gzipped.headers()["content-encoding"], "gzip");
    assert_eq!(gzipped.headers()["content-type"], "application/wasm");
    assert_eq!(gzipped.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(gzipped.bytes().await.unwrap().as_ref(), stored.as_slice(), "the stored file, not a new compression");
    let plain = http.get(server.url(&versioned)).header("accept-encoding", "identity").send().await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    assert_eq!(plain.bytes().await.unwrap().len(), wasm.len());
    // Another build's version: gone, not this build's file under that name.
    let other = format!("/pkg/{}/lakeline.wasm", "0".repeat(16));
    assert_eq!(http.get(server.url(&other)).send().await.unwrap().status(), 404);

    // The plain names still answer, revalidated each time.
    let unversioned = http.get(server.url("/pkg/lakeline.wasm")).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(unversioned.headers()["cache-control"], "no-cache");
    let modified = unversioned.headers()["last-modified"].clone();
    let again = http.get(server.url("/pkg/lakeline.wasm")).header("accept-encoding", "gzip").header("if-modified-since", modified).send().await.unwrap();
    assert_eq!(again.status(), 304);
    assert!(again.bytes().await.unwrap().is_empty());
    assert_eq!(http.get(server.url("/pkg/missing.js")).send().await.unwrap().status(), 404);
}

/// `/metrics` in Prometheus' text format: requests by route template and status, their latency,
/// the workspace calls by operation and outcome, open live streams, the tracker's lag, pipeline
/// runs by status. Anyone who reaches the address may read it (like `/healthz`); with
/// `--metrics-listen` it moves to an address of its own.
#[tokio::test]
async fn metrics_count_requests_workspace_calls_live_streams_and_runs() {
    let server = TestApp::start().await;
    server.call(ApplyPipelineSetup {}).await.unwrap();
    assert_eq!(server.get("/history").await.status(), 200);
    let id = server.call(TriggerPipeline { arguments: "--seed 1".into(), environment: String::new() }).await.unwrap();
    let stream = server.client().get(server.url("/api/events")).send().await.unwrap();
    assert_eq!(stream.status(), 200);

    let response = reqwest::get(server.url("/metrics")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    let text = response.text().await.unwrap();
    for expected in [
        "lakeline_http_requests_total{method=\"GET\",route=\"/history\",status=\"200\"} 1",
        "lakeline_http_requests_total{method=\"POST\",route=\"/api/trigger_pipeline\",status=\"200\"} 1",
        "lakeline_http_request_duration_seconds_bucket{le=\"0.001\",method=\"GET\",route=\"/history\"}",
        "lakeline_workspace_calls_total{operation=\"create_job_run\",outcome=\"ok\"} 1",
        "lakeline_live_connections 1",
        "lakeline_pipeline_runs{state=\"running\"} 1",
        "# TYPE lakeline_tracker_lag_seconds gauge",
    ] {
        assert!(text.contains(expected), "{expected} in:\n{text}");
    }
    drop(stream);
    server.call(StopPipeline { id }).await.unwrap();
    server.stop().await;

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let server = TestApp::builder().with_config(move |c| c.metrics_listen = Some(([127, 0, 0, 1], port).into())).start().await;
    let own = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await.unwrap();
    assert_eq!(own.status(), 200);
    assert!(own.text().await.unwrap().contains("# TYPE lakeline_http_requests counter"));
    let main = server.client().get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(main.status(), 404, "not on the main address then");
}

/// History and a run's page are rendered once and served again, compressed once, while the data
/// they show stays the same; any write to it (a note here) renders them anew. Their inline scripts
/// are allowed by hash (a kept page cannot carry a fresh nonce); while a chain runs they are
/// rendered each time.
#[tokio::test]
async fn pages_of_unchanged_data_are_served_again_and_changed_data_renders_anew() {
    use base64::Engine;
    use sha2::Digest;
    let server = TestApp::start().await;
    let store = server.store().await;
    let run = store.insert_pipeline_run("ana", domain::RunSource::Lakeline, chrono::Utc::now()).await.unwrap();
    let client = &server;
    let page = |path: &'static str| async move {
        let response = client.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        let csp = response.headers()["content-security-policy"].to_str().unwrap().to_string();
        (csp, response.text().await.unwrap())
    };

    let (running, _) = page("/history").await;
    assert!(running.contains("'nonce-"), "rendered afresh while a chain runs: {running}");
    store.set_pipeline_status(run, domain::PipelineStatus::Succeeded, Some(chrono::Utc::now())).await.unwrap();

    for path in ["/history", "/runs/1"] {
        let (csp, html) = page(path).await;
        assert!(!csp.contains("nonce"), "{csp}");
        let mut scripts = 0;
        for script in html.split("<script").skip(1) {
            let (tag, rest) = script.split_once('>').unwrap();
            if tag.contains(" src=") {
                continue;
            }
            let text = rest.split("</script>").next().unwrap();
            let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(text.as_bytes()));
            assert!(csp.contains(&format!("'sha256-{hash}'")), "{path}: an inline script is allowed by its hash: {csp}");
            scripts += 1;
        }
        assert!(scripts > 0, "{path} has inline scripts");
        assert_eq!(page(path).await, (csp.clone(), html.clone()), "{path} served again as it was");

        let gzip = server.client().get(server.url(path)).header("accept-encoding", "gzip").send().await.unwrap();
        assert_eq!(gzip.headers()["content-encoding"], "gzip");
        assert_eq!(gzip.headers()["vary"], "accept-encoding");
        let mut unpacked = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gzip.bytes().await.unwrap()[..]), &mut unpacked).unwrap();
        assert_eq!(unpacked, html, "{path}: the same page, compressed");
    }

    assert!(!page("/history").await.1.contains("data-test=\"note-marker\""));
    store.add_note(run, "ana", "the batch looked short").await.unwrap();
    let (_, noted) = page("/history").await;
    assert!(noted.contains("data-test=\"note-marker\""), "the note shows at once: {noted}");
    assert!(page("/runs/1").await.1.contains("the batch looked short"));

    let metrics = reqwest::get(server.url("/metrics")).await.unwrap().text().await.unwrap();
    for outcome in ["hit", "miss", "skipped"] {
        assert!(metrics.contains(&format!("lakeline_page_cache_requests_total{{outcome=\"{outcome}\"}}")), "{outcome}: {metrics}");
    }
}
