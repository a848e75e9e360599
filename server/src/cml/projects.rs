//! Authentication and projects.

use cml_api::*;
use reqwest::Method;

use super::{CmlClient, CmlResult};

impl CmlClient {
    pub async fn validate_key(&self) -> CmlResult<ValidateApiKeyResponse> {
        let body = ValidateApiKeyRequest { audience: "API".into() };
        self.call(Method::POST, &["auth", "validate_key"], &[], Some(&body), "validate_key").await
    }

    pub async fn list_projects(&self) -> CmlResult<Vec<Project>> {
        self.list_all(&["projects"], &[], "projects", "list_projects").await
    }

    pub async fn get_project(&self, project_id: &str) -> CmlResult<Project> {
        self.call(Method::GET, &["projects", project_id], &[], None::<&()>, "get_project").await
    }
}
