//! The model registry: registered models and their versions.

use cml_api::*;
use reqwest::Method;

use super::{CmlClient, CmlResult};

impl CmlClient {
    /// Registers an experiment run's model; an existing `model_name` gets a new version.
    pub async fn create_registered_model(&self, request: &CreateRegisteredModelRequest) -> CmlResult<RegisteredModel> {
        self.call(Method::POST, &["registry", "models"], &[], Some(request), "create_registered_model").await
    }

    pub async fn get_registered_model(&self, model_id: &str) -> CmlResult<RegisteredModel> {
        self.call(Method::GET, &["registry", "models", model_id], &[], None::<&()>, "get_registered_model").await
    }

    pub async fn get_registered_model_version(&self, model_id: &str, version_id: &str) -> CmlResult<RegisteredModelVersion> {
        self.call(Method::GET, &["registry", "models", model_id, "versions", version_id], &[], None::<&()>, "get_registered_model_version").await
    }
}
