//! Models, builds and deployments, and calling a deployed model.

use cml_api::*;
use reqwest::Method;
use serde_json::Value;

use super::{CmlClient, CmlError, CmlResult};
use super::preview;

impl CmlClient {
    pub async fn list_models(&self, project_id: &str) -> CmlResult<Vec<Model>> {
        self.list_all(&["projects", project_id, "models"], &[], "models", "list_models").await
    }

    pub async fn create_model(&self, project_id: &str, request: &CreateModelRequest) -> CmlResult<Model> {
        self.call(Method::POST, &["projects", project_id, "models"], &[], Some(request), "create_model").await
    }

    pub async fn get_model(&self, project_id: &str, model_id: &str) -> CmlResult<Model> {
        self.call(Method::GET, &["projects", project_id, "models", model_id], &[], None::<&()>, "get_model").await
    }

    pub async fn list_model_builds(&self, project_id: &str, model_id: &str) -> CmlResult<Vec<ModelBuild>> {
        self.list_all(&["projects", project_id, "models", model_id, "builds"], &[], "model_builds", "list_model_builds").await
    }

    pub async fn create_model_build(&self, project_id: &str, model_id: &str, request: &CreateModelBuildRequest) -> CmlResult<ModelBuild> {
        self.call(Method::POST, &["projects", project_id, "models", model_id, "builds"], &[], Some(request), "create_model_build").await
    }

    pub async fn get_model_build(&self, project_id: &str, model_id: &str, build_id: &str) -> CmlResult<ModelBuild> {
        self.call(Method::GET, &["projects", project_id, "models", model_id, "builds", build_id], &[], None::<&()>, "get_model_build").await
    }

    pub async fn list_model_deployments(&self, project_id: &str, model_id: &str, build_id: &str) -> CmlResult<Vec<ModelDeployment>> {
        let segments = ["projects", project_id, "models", model_id, "builds", build_id, "deployments"];
        self.list_all(&segments, &[], "model_deployments", "list_model_deployments").await
    }

    pub async fn create_model_deployment(
        &self,
        project_id: &str,
        model_id: &str,
        build_id: &str,
        request: &CreateModelDeploymentRequest,
    ) -> CmlResult<ModelDeployment> {
        let segments = ["projects", project_id, "models", model_id, "builds", build_id, "deployments"];
        self.call(Method::POST, &segments, &[], Some(request), "create_model_deployment").await
    }

    pub async fn get_model_deployment(&self, project_id: &str, model_id: &str, build_id: &str, deployment_id: &str) -> CmlResult<ModelDeployment> {
        let segments = ["projects", project_id, "models", model_id, "builds", build_id, "deployments", deployment_id];
        self.call(Method::GET, &segments, &[], None::<&()>, "get_model_deployment").await
    }

    pub async fn stop_model_deployment(&self, project_id: &str, model_id: &str, build_id: &str, deployment_id: &str) -> CmlResult<ModelDeployment> {
        let method = format!("{deployment_id}:stop");
        let segments = ["projects", project_id, "models", model_id, "builds", build_id, "deployments", method.as_str()];
        self.call(Method::POST, &segments, &[], None::<&()>, "stop_model_deployment").await
    }

    pub async fn restart_model_deployment(&self, project_id: &str, model_id: &str, build_id: &str, deployment_id: &str) -> CmlResult<ModelDeployment> {
        let method = format!("{deployment_id}:restart");
        let segments = ["projects", project_id, "models", model_id, "builds", build_id, "deployments", method.as_str()];
        self.call(Method::POST, &segments, &[], None::<&()>, "restart_model_deployment").await
    }

    /// Calls a deployed model with CML's model protocol. The endpoint is the workspace's
    /// `modelservice.` host, or the workspace itself for Lakeline's local workspace.
    pub async fn call_model(&self, access_key: &str, request: &Value) -> CmlResult<Value> {
        self.calls.sent();
        let result = self.call_model_once(access_key, request).await;
        self.calls.ended("call_model", &result);
        result
    }

    async fn call_model_once(&self, access_key: &str, request: &Value) -> CmlResult<Value> {
        let mut url = self.root.clone();
        if let Some(host) = url.host_str().filter(|h| h.parse::<std::net::IpAddr>().is_err() && *h != "localhost") {
            let service = format!("modelservice.{host}");
            url.set_host(Some(&service)).map_err(|_| CmlError::BadBaseUrl(service))?;
        }
        url.set_path("/model");
        let body = serde_json::json!({ "accessKey": access_key, "request": request });
        let response = self
            .http
            .post(url)
            .header(reqwest::header::AUTHORIZATION, self.key.bearer())
            .json(&body)
            .send()
            .await
            .map_err(|e| self.transport_error(e, "call_model"))?;
        let status = response.status();
        let bytes = self.read_body(response, "call_model").await?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| CmlError::BadResponse { operation: "call_model".into(), detail: format!("{e}; the body began with {:?}", preview(&bytes)) })?;
        if !status.is_success() || value["success"] == Value::Bool(false) {
            let message = value["errors"].as_array().and_then(|e| e.first()).and_then(Value::as_str).unwrap_or("the model failed").to_string();
            return Err(CmlError::from_status(status, None, message, "call_model"));
        }
        Ok(value["response"].clone())
    }
}
