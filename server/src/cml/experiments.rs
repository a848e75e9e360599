//! Experiments and experiment runs (MLflow-backed).

use cml_api::*;
use reqwest::Method;

use super::{CmlClient, CmlResult};
use super::name_filter;

impl CmlClient {
    pub async fn list_experiments(&self, project_id: &str) -> CmlResult<Vec<Experiment>> {
        self.list_all(&["projects", project_id, "experiments"], &[], "experiments", "list_experiments").await
    }

    /// The experiment whose name is exactly `name`, if any.
    pub async fn find_experiment(&self, project_id: &str, name: &str) -> CmlResult<Option<Experiment>> {
        let segments = ["projects", project_id, "experiments"];
        let found: Vec<Experiment> = self.list_all(&segments, &[name_filter(name)], "experiments", "list_experiments").await?;
        Ok(found.into_iter().find(|e| e.name == name))
    }

    pub async fn get_experiment(&self, project_id: &str, experiment_id: &str) -> CmlResult<Experiment> {
        self.call(Method::GET, &["projects", project_id, "experiments", experiment_id], &[], None::<&()>, "get_experiment").await
    }

    pub async fn list_experiment_runs(&self, project_id: &str, experiment_id: &str) -> CmlResult<Vec<ExperimentRun>> {
        self.list_all(&["projects", project_id, "experiments", experiment_id, "runs"], &[], "experiment_runs", "list_experiment_runs").await
    }

    pub async fn get_experiment_run(&self, project_id: &str, experiment_id: &str, run_id: &str) -> CmlResult<ExperimentRun> {
        self.call(Method::GET, &["projects", project_id, "experiments", experiment_id, "runs", run_id], &[], None::<&()>, "get_experiment_run").await
    }

    /// Logs metrics, params and tags to an experiment run (`LogExperimentRunBatch`).
    pub async fn log_experiment_run_batch(&self, project_id: &str, experiment_id: &str, run_id: &str, request: &LogExperimentRunBatchRequest) -> CmlResult<()> {
        let method = format!("{run_id}:logbatch");
        let _: Empty = self.call(Method::POST, &["projects", project_id, "experiments", experiment_id, "runs", &method], &[], Some(request), "log_experiment_run_batch").await?;
        Ok(())
    }
}
