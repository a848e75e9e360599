//! New Batch's schedule: shown with its next times, changed by an admin through API v2 on the
//! job, fired for real by the local workspace; the chain it starts is tracked like any other and
//! marked as scheduled.

mod common;

use std::time::{Duration, Instant};

use app::api::*;
use chrono::{DateTime, Timelike, Utc};
use common::workspace::scripted_project;
use common::TestApp;
use reqwest::StatusCode;

#[tokio::test]
async fn a_schedule_a_minute_ahead_starts_a_chain_that_completes() {
    let app = TestApp::builder().project_dir(scripted_project(["print('batch')", "print('retrain')", "print('redeploy')"])).start().await;
    assert_eq!(app.call(GetSchedule {}).await.unwrap(), None, "no schedule before the jobs exist, and no error either");
    app.call(ApplyPipelineSetup {}).await.unwrap();

    let manual = app.call(GetSchedule {}).await.unwrap().expect("the jobs are set up");
    assert_eq!((manual.cron.as_str(), manual.next.len()), ("", 0), "{manual:?}");

    // Bad expressions are refused, naming the field; nothing changes.
    for cron in ["61 * * * *", "* * * *", "every day"] {
        let refused = app.call(SetSchedule { cron: cron.into() }).await.unwrap_err();
        assert!(refused.status == StatusCode::BAD_REQUEST && refused.error.to_string().starts_with("schedule:"), "{cron}: {refused:?}");
    }
    assert_eq!(app.call(GetSchedule {}).await.unwrap().expect("set up").cron, "");

    // The next minute, every hour (time zones differ from UTC by whole hours here).
    // At least ten seconds ahead, so that it cannot pass while the schedule is being set.
    let fire_minute = (Utc::now() + chrono::Duration::seconds(70)).minute();
    let cron = format!("{fire_minute} * * * *");
    let set = app.call(SetSchedule { cron: format!("  {fire_minute}  *  * * * ") }).await.unwrap();
    assert_eq!((set.cron.as_str(), set.timezone.as_str()), (cron.as_str(), "America/Los_Angeles"), "{set:?}");
    assert_eq!(set.next.len(), 5);
    let next: Vec<DateTime<Utc>> = set.next.iter().map(|t| t.parse().unwrap()).collect();
    assert_eq!(next[0].minute(), fire_minute);
    assert!(next[0] > Utc::now() && next[0] - Utc::now() <= chrono::Duration::seconds(71), "{next:?}");
    assert_eq!(next[1] - next[0], chrono::Duration::hours(1));
    let setup = app.call(PipelineSetup {}).await.unwrap();
    assert!(setup.jobs.iter().all(|j| j.state == JobCheckState::Matches), "a schedule is not drift: {setup:?}");

    // The workspace fires it; the tracker finds the chain and follows it to the end.
    let deadline = Instant::now() + Duration::from_secs(200);
    let run = loop {
        let page = app.call(ListPipelineRuns { filter: HistoryFilter::default(), cursor: String::new() }).await.unwrap();
        if let Some(run) = page.rows.iter().find(|r| r.source == RunSource::Scheduled && !r.status.is_active()) {
            break run.clone();
        }
        assert!(Instant::now() < deadline, "no scheduled chain ended in time: {:?}", page.rows);
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    assert_eq!(run.status, PipelineStatus::Succeeded, "{run:?}");
    assert_eq!(run.stages, [Some(JobRunState::Succeeded); 3], "every stage succeeded");
    let started: DateTime<Utc> = run.created_at.parse().unwrap();
    assert!(started >= next[0] && started - next[0] < chrono::Duration::seconds(5), "started {started} for {}", next[0]);

    // Back to by hand only.
    let manual = app.call(SetSchedule { cron: String::new() }).await.unwrap();
    assert_eq!((manual.cron.as_str(), manual.next.len()), ("", 0));
    let events = app.store().await.recent_events(50).await.unwrap();
    let changes: Vec<&str> = events.iter().filter(|e| e.action == "pipeline.schedule").map(|e| e.outcome.as_str()).collect();
    assert_eq!(changes.iter().filter(|o| **o == "ok").count(), 2, "{changes:?}");
    assert_eq!(changes.iter().filter(|o| o.starts_with("refused")).count(), 3, "{changes:?}");
    app.stop().await;
}
