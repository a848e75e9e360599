//! The REST API under `/api/v1` as scripts use it: API tokens, every route × every role, JSON
//! errors with a stable code, the OpenAPI document, and `lakeline run --wait`.

mod common;

use app::api::{ApplyPipelineSetup, CreateToken, ListTokens, RevokeToken};
use common::workspace::scripted_project;
use common::TestApp;
use domain::Role;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Every route of the REST API, with the role it needs (`None`: anyone).
const ROUTES: &[(&str, &str, Option<Role>)] = &[
    ("GET", "/api/v1/runs", Some(Role::Viewer)),
    ("POST", "/api/v1/runs", Some(Role::Operator)),
    ("GET", "/api/v1/runs/{id}", Some(Role::Viewer)),
    ("POST", "/api/v1/runs/{id}/stop", Some(Role::Operator)),
    ("POST", "/api/v1/runs/{id}/retry", Some(Role::Operator)),
    ("POST", "/api/v1/runs/{id}/deploy-anyway", Some(Role::Operator)),
    ("GET", "/api/v1/runs/{id}/lineage", Some(Role::Viewer)),
    ("GET", "/api/v1/runs/{id}/logs", Some(Role::Viewer)),
    ("GET", "/api/v1/runs/{id}/logs/{stage}", Some(Role::Viewer)),
    ("GET", "/api/v1/jobs", Some(Role::Viewer)),
    ("GET", "/api/v1/me", Some(Role::Viewer)),
    ("GET", "/api/v1/openapi.json", None),
];

/// An API token of `role` for the app's signed-in user (made as the UI makes it).
async fn token(app: &TestApp, role: Role) -> String {
    let secret = app.call(CreateToken { owner: String::new(), name: format!("{role} script"), role }).await.expect("a token is made").secret;
    common::logs::secret(&secret);
    secret
}

async fn send(app: &TestApp, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new().request(Method::from_bytes(method.as_bytes()).unwrap(), app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    } else if method == "POST" {
        request = request.json(&serde_json::json!({}));
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[tokio::test]
async fn tokens_act_in_their_role_and_stop_at_once_when_revoked() {
    let app = TestApp::builder().signed_in_as(Role::Operator).start().await;
    let secret = token(&app, Role::Viewer).await;
    assert!(secret.starts_with("llt_"), "{secret}");
    let (status, me) = send(&app, "GET", "/api/v1/me", Some(&secret), None).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!((me["name"].as_str(), me["role"].as_str()), (Some("test-operator"), Some("viewer")), "the token's role, not the owner's");
    // A viewer token reads but may not trigger, whatever its owner may do.
    let (status, error) = send(&app, "POST", "/api/v1/runs", Some(&secret), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    assert_eq!(error["code"], "forbidden");

    // No token above its owner; no token for someone else unless an admin makes it.
    let above = app.call(CreateToken { owner: String::new(), name: "too much".into(), role: Role::Admin }).await.unwrap_err();
    assert_eq!(above.status, StatusCode::BAD_REQUEST);
    assert!(above.error.to_string().starts_with("role:"), "{:?}", above.error);
    let theirs = app.call(CreateToken { owner: "somebody-else".into(), name: "x".into(), role: Role::Viewer }).await.unwrap_err();
    assert_eq!(theirs.status, StatusCode::FORBIDDEN, "{theirs:?}");

    // Listed with its last use, never with its secret.
    let listed = app.call(ListTokens {}).await.unwrap();
    let mine = listed.iter().find(|t| t.name == "viewer script").expect("the token is listed");
    assert!(mine.last_used_at.is_some(), "{mine:?}");
    assert!(secret.starts_with(&mine.prefix) && mine.prefix.len() < 16, "{mine:?}");
    assert!(!serde_json::to_string(&listed).unwrap().contains(&secret[16..]), "the secret is never listed");

    // Revoked: the very next request is refused.
    app.call(RevokeToken { id: mine.id }).await.unwrap();
    let (status, error) = send(&app, "GET", "/api/v1/me", Some(&secret), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{error}");
    assert_eq!(error["code"], "unauthenticated");
    assert!(error["message"].as_str().unwrap().contains("revoked"), "{error}");

    let events = app.store().await.recent_events(50).await.unwrap();
    for action in ["token.create", "token.revoke"] {
        assert!(events.iter().any(|e| e.action == action && e.outcome == "ok" && e.actor == "test-operator"), "{action}: {events:?}");
    }
    assert!(events.iter().any(|e| e.action == "token.create" && e.outcome.starts_with("refused")), "refusals are audited too");
    assert!(!format!("{events:?}").contains(&secret[16..]), "the audit log holds no secret");
    app.stop().await;
}

#[tokio::test]
async fn every_rest_route_answers_by_role() {
    // The table covers exactly the routes the OpenAPI document lists.
    let app = TestApp::builder().anonymous().start().await;
    let (status, doc) = send(&app, "GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let mut documented: Vec<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| item.as_object().unwrap().keys().map(move |m| (m.to_uppercase(), path.clone())))
        .collect();
    documented.sort();
    let mut listed: Vec<(String, String)> = ROUTES.iter().map(|(m, p, _)| (m.to_string(), p.to_string())).collect();
    listed.sort();
    assert_eq!(documented, listed, "every documented route has a row in the table");
    app.stop().await;

    for role in [None, Some(Role::Viewer), Some(Role::Operator), Some(Role::Admin)] {
        let app = TestApp::builder().signed_in_as(Role::Admin).start().await;
        let secret = match role {
            Some(role) => Some(token(&app, role).await),
            None => None,
        };
        for &(method, template, needed) in ROUTES {
            let path = template.replace("{id}", "999").replace("{stage}", "new_batch");
            let (status, body) = send(&app, method, &path, secret.as_deref(), None).await;
            let who = role.map_or("anonymous".to_string(), |r| r.to_string());
            match (needed, role) {
                (None, _) => assert_eq!(status, StatusCode::OK, "{who} {method} {path}"),
                (Some(_), None) => {
                    assert_eq!(status, StatusCode::UNAUTHORIZED, "{who} {method} {path}: {body}");
                    assert_eq!(body["code"], "unauthenticated", "{body}");
                }
                (Some(needed), Some(role)) if !role.may(needed) => {
                    assert_eq!(status, StatusCode::FORBIDDEN, "{who} {method} {path}: {body}");
                    assert_eq!(body["code"], "forbidden", "{body}");
                    assert!(body["message"].as_str().unwrap().contains(needed.as_str()), "{body}");
                }
                // Allowed: run 999 does not exist, the trigger finds no jobs; never 401 or 403.
                (Some(_), Some(_)) => assert!(!matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN), "{who} {method} {path}: {status} {body}"),
            }
        }
        // The live stream takes tokens too.
        let mut events = reqwest::Client::new().get(app.url("/api/events"));
        if let Some(secret) = &secret {
            events = events.bearer_auth(secret);
        }
        let events = events.send().await.unwrap();
        assert_eq!(events.status() == StatusCode::UNAUTHORIZED, role.is_none(), "{role:?} /api/events");
        app.stop().await;
    }
}

#[tokio::test]
async fn rest_errors_are_json_with_a_stable_code_and_name_the_field() {
    let app = TestApp::start().await;
    let secret = token(&app, Role::Admin).await;
    let cases: &[(&str, &str, Option<Value>, StatusCode, &str, &str)] = &[
        ("GET", "/api/v1/runs/ten", None, StatusCode::BAD_REQUEST, "invalid", "path"),
        ("GET", "/api/v1/runs/12345", None, StatusCode::NOT_FOUND, "not_found", "12345"),
        ("GET", "/api/v1/runs?before=ten", None, StatusCode::BAD_REQUEST, "invalid", "before"),
        ("GET", "/api/v1/runs?colour=red", None, StatusCode::BAD_REQUEST, "invalid", "colour"),
        ("GET", "/api/v1/runs?status=sideways", None, StatusCode::BAD_REQUEST, "invalid", "status"),
        ("GET", "/api/v1/runs/1/logs/cooking", None, StatusCode::BAD_REQUEST, "invalid", "stage"),
        ("POST", "/api/v1/runs", Some(serde_json::json!({"arguments": 7})), StatusCode::BAD_REQUEST, "invalid", "arguments"),
        ("POST", "/api/v1/runs", Some(serde_json::json!({"environment": {"1X": "y"}})), StatusCode::BAD_REQUEST, "invalid", "environment"),
        ("POST", "/api/v1/runs", Some(serde_json::json!({"arguments": "x", "extra": 1})), StatusCode::BAD_REQUEST, "invalid", "extra"),
        ("DELETE", "/api/v1/runs", None, StatusCode::METHOD_NOT_ALLOWED, "invalid", "DELETE"),
        ("GET", "/api/v1/pipelines", None, StatusCode::NOT_FOUND, "not_found", "openapi.json"),
    ];
    for (method, path, body, status, code, names) in cases {
        let (got, error) = send(&app, method, path, Some(&secret), body.clone()).await;
        assert_eq!(got, *status, "{method} {path}: {error}");
        assert_eq!(error["code"], *code, "{method} {path}: {error}");
        assert!(error["message"].as_str().is_some_and(|m| m.contains(names)), "{method} {path}: the message names {names:?}: {error}");
    }
    // A body that is not JSON at all.
    let response = reqwest::Client::new().post(app.url("/api/v1/runs")).bearer_auth(&secret).header("content-type", "application/json").body("{").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["code"], "invalid", "{error}");
    app.stop().await;
}

/// The `lakeline` binary with these arguments, signed in to the app with `secret` through the
/// environment (off the test's runtime, which serves the app meanwhile).
async fn lakeline(app: &TestApp, secret: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_lakeline"));
    command.args(args).env("LAKELINE_URL", app.url("")).env("LAKELINE_TOKEN", secret);
    let output = tokio::task::spawn_blocking(move || command.output().expect("lakeline starts")).await.unwrap();
    (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[tokio::test]
async fn lakeline_run_wait_exits_with_the_pipeline_runs_result() {
    let project = scripted_project(["print('new batch')", "print('retrained')", "print('deployed')"]);
    let app = TestApp::builder().project_dir(project).start().await;
    app.call(ApplyPipelineSetup {}).await.unwrap();
    // A token made from the host's shell, for the signed-in admin.
    let data_dir = app.data_dir.path().to_str().unwrap().to_string();
    let mut args = vec!["--data-dir", &data_dir];
    let database = common::database::url(app.data_dir.path());
    if let Some(url) = &database {
        args.extend(["--database-url", url]);
    }
    args.extend(["token", "create", "nightly CI", "--user", "test-admin", "--role", "operator"]);
    let (code, out, err) = lakeline(&app, "", &args).await;
    assert_eq!(code, Some(0), "{err}");
    let secret = out.trim().to_string();
    common::logs::secret(&secret);
    assert!(secret.starts_with("llt_") && !secret.contains('\n'), "only the token on standard output: {secret}");

    // Token and server as flags this time.
    let (code, out, err) = lakeline(&app, "", &["run", "--wait", "--server", &app.url(""), "--token", &secret]).await;
    assert_eq!(code, Some(0), "{out}\n{err}");
    for line in ["started pipeline run 1", "New Batch", "Retrain XGBoost", "API Redeployment", "succeeded", "pipeline run 1: succeeded"] {
        assert!(out.contains(line), "{line:?} in:\n{out}");
    }

    // The retrain fails: the exit code says so.
    std::fs::write(app.project_dir.path().join("train_xgboost.py"), "import sys\nprint('no luck')\nsys.exit(3)\n").unwrap();
    let (code, out, err) = lakeline(&app, &secret, &["run", "--wait", "--env", "BATCH_NOTE=second"]).await;
    assert_eq!(code, Some(1), "{out}\n{err}");
    assert!(out.contains("pipeline run 2: failed"), "{out}");

    // `runs list` and `runs show` read them back.
    let (code, out, err) = lakeline(&app, &secret, &["runs", "list", "--status", "failed"]).await;
    assert!(code == Some(0) && out.contains("failed") && out.contains("1 of 1 runs"), "{out}\n{err}");
    let (code, out, err) = lakeline(&app, &secret, &["runs", "show", "2"]).await;
    assert!(code == Some(0) && out.contains("pipeline run 2: failed") && out.contains("Retrain XGBoost"), "{out}\n{err}");

    // A bad token: exit code 2 and a message.
    let (code, _, err) = lakeline(&app, "llt_nonsense", &["run"]).await;
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("revoked"), "{err}");
    app.stop().await;
}
