//! Notes on pipeline runs: added by operators, shown on the run with author and time, counted
//! and filtered in History, audited.

mod common;

use app::api::{AddNote, ApplyPipelineSetup, GetPipelineRun, HistoryFilter, ListPipelineRuns, TriggerPipeline};
use common::workspace::scripted_project;
use common::TestApp;
use domain::{PipelineStatus, Role};
use reqwest::StatusCode;

async fn finished_run(app: &TestApp) -> i64 {
    let id = app.call(TriggerPipeline { arguments: String::new(), environment: String::new() }).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let detail = app.call(GetPipelineRun { id }).await.unwrap();
        if detail.run.status != PipelineStatus::Running {
            return id;
        }
        assert!(std::time::Instant::now() < deadline, "pipeline run {id} never finished");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
}

fn filter(note: &str, with_notes: bool) -> HistoryFilter {
    HistoryFilter { note: note.into(), with_notes, ..Default::default() }
}

#[tokio::test]
async fn operators_leave_notes_that_history_shows_and_filters() {
    let app = TestApp::builder().signed_in_as(Role::Admin).project_dir(scripted_project(["print(1)", "print(2)", "print(3)"])).start().await;
    app.call(ApplyPipelineSetup {}).await.unwrap();
    let first = finished_run(&app).await;
    let second = finished_run(&app).await;

    app.call(AddNote { id: first, text: "Examined: recall dropped because of 100% new towers".into() }).await.unwrap();
    let note = app.call(AddNote { id: first, text: "  Fine after all.\nClosing.  ".into() }).await.unwrap();
    assert_eq!((note.author.as_str(), note.text.as_str()), ("test-admin", "Fine after all.\nClosing."));

    let detail = app.call(GetPipelineRun { id: first }).await.unwrap();
    let texts: Vec<&str> = detail.notes.iter().map(|n| n.text.as_str()).collect();
    assert_eq!(texts, ["Examined: recall dropped because of 100% new towers", "Fine after all.\nClosing."], "oldest first");
    assert_eq!(detail.run.note_count, 2);
    assert!(app.call(GetPipelineRun { id: second }).await.unwrap().notes.is_empty());

    let ids = |page: app::api::HistoryTable| page.rows.iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(app.call(ListPipelineRuns { filter: filter("", true), cursor: String::new() }).await.unwrap()), [first]);
    assert_eq!(ids(app.call(ListPipelineRuns { filter: filter("recall", false), cursor: String::new() }).await.unwrap()), [first]);
    assert_eq!(ids(app.call(ListPipelineRuns { filter: filter("100%", false), cursor: String::new() }).await.unwrap()), [first], "literal text");
    assert!(ids(app.call(ListPipelineRuns { filter: filter("10_%", false), cursor: String::new() }).await.unwrap()).is_empty(), "no wildcards");
    assert_eq!(ids(app.call(ListPipelineRuns { filter: filter("", false), cursor: String::new() }).await.unwrap()), [second, first]);

    // Refusals name the field; nothing is added.
    for (id, text, status) in [(first, "   ", StatusCode::BAD_REQUEST), (first, "bell\u{7}", StatusCode::BAD_REQUEST), (999, "x", StatusCode::NOT_FOUND)] {
        let refused = app.call(AddNote { id, text: text.into() }).await.unwrap_err();
        assert_eq!(refused.status, status, "{text:?}: {refused:?}");
    }
    let too_long = app.call(AddNote { id: first, text: "x".repeat(4001) }).await.unwrap_err();
    assert!(too_long.error.to_string().starts_with("text:"), "{too_long:?}");
    assert_eq!(app.call(GetPipelineRun { id: first }).await.unwrap().run.note_count, 2);

    let events = app.store().await.recent_events(50).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.action == "run.note" && e.outcome == "ok").count(), 2, "{events:?}");
    assert!(events.iter().any(|e| e.action == "run.note" && e.outcome.starts_with("refused")));
    app.stop().await;
}
