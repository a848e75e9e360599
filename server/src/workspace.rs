//! Which workspace Lakeline drives: a CML workspace when a URL is configured, otherwise the
//! embedded local workspace on loopback. Either way Lakeline only holds an API v2 client.

use local_workspace::{LocalWorkspace, LocalWorkspaceConfig};

use crate::cml::{ApiKey, CmlClient};
use crate::config::Config;
use crate::error::{Error, Result};

pub struct Workspace {
    pub client: CmlClient,
    pub project_id: String,
    /// Shown to users: "embedded local workspace at …" or the CML host.
    pub description: String,
    local: Option<LocalWorkspace>,
}

impl Workspace {
    pub async fn connect(config: &Config) -> Result<Self> {
        match &config.cml_url {
            Some(url) => {
                let key = config.cml_api_key.clone().ok_or(Error::Settings(
                    "a CML URL is set but no API key: set --cml-api-key or LAKELINE_CML_API_KEY (CDSW_APIV2_KEY inside CML)",
                ))?;
                let project_id = config.cml_project_id.clone().ok_or(Error::Settings(
                    "a CML URL is set but no project: set --cml-project-id or LAKELINE_CML_PROJECT_ID (CDSW_PROJECT_ID inside CML)",
                ))?;
                let client = CmlClient::with_options(url, ApiKey::new(key.expose()), config.cml_client_options()).map_err(Error::Cml)?;
                let description = format!("CML workspace {}", client.base_url());
                tracing::info!(workspace = %client.base_url(), project = %project_id, "driving a CML workspace");
                Ok(Workspace { client, project_id, description, local: None })
            }
            None => {
                let local = LocalWorkspace::start(LocalWorkspaceConfig {
                    data_dir: config.data_dir.join("workspace"),
                    project_dir: config.project_dir.clone(),
                    python: config.python.clone(),
                    listen: config.workspace_listen,
                    runtimes_dir: config.runtimes_dir.clone().unwrap_or_else(|| config.data_dir.join("workspace").join("runtimes")),
                })
                .await
                .map_err(Error::LocalWorkspace)?;
                let client = CmlClient::with_options(&local.url(), ApiKey::new(local.api_key()), config.cml_client_options()).map_err(Error::Cml)?;
                Ok(Workspace {
                    description: format!("embedded local workspace at {}", local.url()),
                    project_id: local.project_id().to_string(),
                    client,
                    local: Some(local),
                })
            }
        }
    }

    /// Stops the embedded workspace, if there is one.
    pub async fn shutdown(&mut self) {
        if let Some(local) = self.local.take() {
            local.shutdown().await;
        }
    }
}
