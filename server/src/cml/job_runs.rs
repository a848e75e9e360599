//! Job runs: listing (newest first, by status), starting and stopping them.

use cml_api::*;
use reqwest::Method;

use super::{CmlClient, CmlResult};
use super::{run_query, RunQuery};

impl CmlClient {
    /// Every run of a job matching `query`, all pages.
    pub async fn list_job_runs(&self, project_id: &str, job_id: &str, query: &RunQuery) -> CmlResult<Vec<JobRun>> {
        self.list_all(&["projects", project_id, "jobs", job_id, "runs"], &run_query(query), "job_runs", "list_job_runs").await
    }

    /// One page of a job's runs (newest first when asked), and the token of the next page.
    pub async fn list_job_runs_page(
        &self,
        project_id: &str,
        job_id: &str,
        query: &RunQuery,
        page_token: Option<&str>,
    ) -> CmlResult<(Vec<JobRun>, String)> {
        let mut params = run_query(query);
        if let Some(token) = page_token.filter(|t| !t.is_empty()) {
            params.push(("page_token", token.to_string()));
        }
        let page: ListJobRunsResponse =
            self.call(Method::GET, &["projects", project_id, "jobs", job_id, "runs"], &params, None::<&()>, "list_job_runs").await?;
        Ok((page.job_runs, page.next_page_token))
    }

    /// The newest run of a job (`sort=-created_at&page_size=1`).
    pub async fn latest_job_run(&self, project_id: &str, job_id: &str) -> CmlResult<Option<JobRun>> {
        let query = RunQuery { newest_first: true, page_size: Some(1), ..Default::default() };
        let (runs, _) = self.list_job_runs_page(project_id, job_id, &query, None).await?;
        Ok(runs.into_iter().next())
    }

    pub async fn create_job_run(&self, project_id: &str, job_id: &str, request: &CreateJobRunRequest) -> CmlResult<JobRun> {
        self.call(Method::POST, &["projects", project_id, "jobs", job_id, "runs"], &[], Some(request), "create_job_run").await
    }

    pub async fn get_job_run(&self, project_id: &str, job_id: &str, run_id: &str) -> CmlResult<JobRun> {
        self.call(Method::GET, &["projects", project_id, "jobs", job_id, "runs", run_id], &[], None::<&()>, "get_job_run").await
    }

    pub async fn stop_job_run(&self, project_id: &str, job_id: &str, run_id: &str) -> CmlResult<JobRun> {
        let method = format!("{run_id}:stop");
        self.call(Method::POST, &["projects", project_id, "jobs", job_id, "runs", &method], &[], None::<&()>, "stop_job_run").await
    }
}
