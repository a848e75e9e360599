//! Jobs: the pipeline's three, looked up by exact name.

use cml_api::*;
use reqwest::Method;

use super::{CmlClient, CmlResult};
use super::name_filter;

impl CmlClient {
    pub async fn list_jobs(&self, project_id: &str) -> CmlResult<Vec<Job>> {
        self.list_all(&["projects", project_id, "jobs"], &[], "jobs", "list_jobs").await
    }

    /// Jobs whose name is exactly `name` (CML's filter matches substrings).
    pub async fn find_jobs_by_name(&self, project_id: &str, name: &str) -> CmlResult<Vec<Job>> {
        let jobs: Vec<Job> = self.list_all(&["projects", project_id, "jobs"], &[name_filter(name)], "jobs", "list_jobs").await?;
        Ok(jobs.into_iter().filter(|j| j.name == name).collect())
    }

    pub async fn create_job(&self, project_id: &str, request: &CreateJobRequest) -> CmlResult<Job> {
        self.call(Method::POST, &["projects", project_id, "jobs"], &[], Some(request), "create_job").await
    }

    pub async fn get_job(&self, project_id: &str, job_id: &str) -> CmlResult<Job> {
        self.call(Method::GET, &["projects", project_id, "jobs", job_id], &[], None::<&()>, "get_job").await
    }

    pub async fn update_job(&self, project_id: &str, job_id: &str, patch: &UpdateJob) -> CmlResult<Job> {
        self.call(Method::PATCH, &["projects", project_id, "jobs", job_id], &[], Some(patch), "update_job").await
    }

    pub async fn delete_job(&self, project_id: &str, job_id: &str) -> CmlResult<()> {
        let _: Empty = self.call(Method::DELETE, &["projects", project_id, "jobs", job_id], &[], None::<&()>, "delete_job").await?;
        Ok(())
    }
}
