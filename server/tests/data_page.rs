//! The Data page's figures as Lakeline learns them through the workspace: each snapshot's batch
//! figures from New Batch's summary, drift against the rows trained on before, and the runs whose
//! retrain read it (by the range in its MLflow run's tags).

mod common;

use app::api::*;
use common::TestApp;
use reqwest::StatusCode;

async fn chain(app: &TestApp, arguments: &str) -> i64 {
    let id = app.call(TriggerPipeline { arguments: arguments.into(), environment: String::new() }).await.unwrap();
    let done = app.wait_for_run(id, "the run and its gate decision", |d| !d.run.status.is_active() && d.run.gate.is_some()).await;
    assert_eq!(done.run.status, PipelineStatus::Succeeded, "{:?}", done.attempts);
    id
}

#[tokio::test]
async fn snapshots_carry_their_figures_drift_and_the_runs_that_trained_on_them() {
    let app = TestApp::start().await;
    app.call(ApplyPipelineSetup {}).await.unwrap();
    let first = chain(&app, "--seed 106").await;
    let second = chain(&app, "--seed 307 --signal-shift 3").await;

    let snapshots = app.call(DataSnapshots {}).await.unwrap();
    assert_eq!(snapshots.len(), 2, "{snapshots:?}");
    let (newest, oldest) = (&snapshots[0], &snapshots[1]);
    assert_eq!((newest.committed_by, oldest.committed_by), (second, first), "newest first");
    assert_eq!(newest.parent_id.as_deref(), Some(oldest.snapshot_id.as_str()));
    assert_eq!((newest.trained_by.as_slice(), oldest.trained_by.as_slice()), ([second].as_slice(), [first].as_slice()));

    let figures = oldest.figures.clone().expect("New Batch wrote its figures");
    assert_eq!(figures.rows, oldest.rows_added);
    assert!(figures.psi.is_none() && !oldest.drifted, "nothing was trained on before the first batch: {figures:?}");
    assert!(figures.failure_rate.is_some_and(|r| (0.05..0.2).contains(&r)), "{figures:?}");

    let figures = newest.figures.clone().expect("New Batch wrote its figures");
    assert_eq!(figures.reference_snapshot_id.as_deref(), Some(oldest.snapshot_id.as_str()), "against the rows the first run trained on");
    let (signal, psi) = figures.max_psi().unwrap();
    eprintln!("drift of the shifted batch: {signal} {psi:.3}; failure rate {:?}; all {:?}", figures.failure_rate, figures.psi);
    assert!(signal == "iot_signal_1" || signal == "iot_signal_2", "iot_signal_1 was shifted (and iot_signal_2 follows it): {figures:?}");
    assert!(newest.drifted && psi > PSI_DRIFT, "{figures:?}");
    assert!(figures.psi.as_ref().unwrap()["iot_signal_3"] < PSI_DRIFT, "an unshifted signal: {figures:?}");
    assert!(figures.means["iot_signal_1"] > oldest.figures.as_ref().unwrap().means["iot_signal_1"] + 1.0, "{figures:?}");

    // The two runs side by side: what differs is marked, what is the same is not.
    let compared = app.call(CompareRuns { runs: format!("{second}, #{first}") }).await.unwrap();
    assert_eq!(compared.runs, [second, first], "in the order asked");
    let row = |key: &str| compared.rows.iter().find(|r| format!("{}.{}", r.section.to_lowercase(), r.key) == key).unwrap_or_else(|| panic!("{key}: {compared:?}"));
    assert!(row("data.snapshot range").differs);
    assert!(row("metrics.recall").differs && row("params.recall").differs && row("tags.iceberg_snapshot_id").differs);
    assert!(!row("params.n_estimators").differs, "{:?}", row("params.n_estimators"));
    assert_eq!(row("params.n_estimators").values, [Some("50".to_string()), Some("50".to_string())]);
    assert_eq!(row("model.model version").values[1].as_deref(), Some("v1"), "the first run's model");
    for (runs, field) in [("3", "runs"), ("1,x", "runs"), ("", "runs"), ("1,2,3,4,5,6,7,8,9", "runs")] {
        let refused = app.call(CompareRuns { runs: runs.into() }).await.unwrap_err();
        assert!(refused.status == StatusCode::BAD_REQUEST && refused.error.to_string().contains(field), "{runs:?}: {refused:?}");
    }
    let missing = app.call(CompareRuns { runs: format!("{first},999") }).await.unwrap_err();
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{missing:?}");
    app.stop().await;
}
