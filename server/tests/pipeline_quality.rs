//! The data New Batch makes carries a signal the retrain learns: over ten seeds a retrain on one
//! batch reaches recall >= 0.5 at accuracy >= 0.9, failures run about 1 in 10, and drift
//! arguments change the batch as asked (`pipeline_quality/learns.py`, run as a job with the
//! pipeline's own runtime and code).

mod common;

use cml_api::CreateJobRunRequest;
use common::workspace::{pipeline_project, TestWorkspace};
use domain::JobRunState;

#[tokio::test]
async fn a_retrain_on_one_batch_learns_to_find_failing_towers() {
    let project = pipeline_project();
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pipeline_quality/learns.py"), project.path().join("learns.py")).unwrap();
    let ws = TestWorkspace::start_in(tempfile::tempdir().unwrap(), project).await;
    let job = ws.job("Model quality check", "learns.py", None).await;
    ws.client.create_job_run(&ws.project_id, &job.id, &CreateJobRunRequest::default()).await.unwrap();
    let run = ws.wait_for_end(&job).await;
    let log = std::fs::read_to_string(ws.file(&format!("logs/jobs/{}/{}.log", job.id, run.id))).unwrap_or_default();
    println!("{log}");
    assert_eq!(run.status, JobRunState::Succeeded, "a target was missed:\n{log}");
    assert!(log.contains("the retrain learns the batches' signal"), "{log}");
    ws.workspace.shutdown().await;
}
