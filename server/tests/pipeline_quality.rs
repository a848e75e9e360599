//! The data New Batch makes carries a signal the retrain learns: over ten seeds a retrain on one
//! batch reaches recall >= 0.5 at accuracy >= 0.9, failures run about 1 in 10, and drift
//! arguments change the batch as asked (`pipeline_quality/learns.py`, run as a job with the
//! pipeline's own runtime and code).

mod common;

use common::workspace::run_check_script;
use domain::JobRunState;

#[tokio::test]
async fn a_retrain_on_one_batch_learns_to_find_failing_towers() {
    let (run, log) = run_check_script("pipeline_quality/learns.py", "Model quality check").await;
    assert_eq!(run.status, JobRunState::Succeeded, "a target was missed:\n{log}");
    assert!(log.contains("the retrain learns the batches' signal"), "{log}");
}
