//! The model registry, models, builds and deployments in the workspace's database.

use chrono::{DateTime, Utc};
use cml_api::{Model, ModelBuild, ModelDeployment, RegisteredModel, RegisteredModelVersion, ShortProject};
use sqlx::{FromRow, SqlitePool};

use crate::store::user;

#[derive(Debug, Clone, FromRow)]
pub struct RegisteredModelRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub creator: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, FromRow)]
pub struct VersionRow {
    pub id: String,
    pub model_id: String,
    pub number: i64,
    pub project_id: String,
    pub experiment_id: String,
    pub run_id: String,
    pub model_path: String,
    pub artifact_dir: String,
    pub status: String,
    pub notes: String,
    pub creator: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, FromRow)]
pub struct ModelRow {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub description: String,
    pub access_key: String,
    pub auth_enabled: bool,
    pub registered_model_id: String,
    pub creator: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, FromRow)]
pub struct BuildRow {
    pub id: String,
    pub model_id: String,
    pub project_id: String,
    pub registered_model_version_id: String,
    pub runtime_identifier: String,
    pub comment: String,
    pub status: String,
    pub message: String,
    pub creator: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub built_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, FromRow)]
pub struct DeploymentRow {
    pub id: String,
    pub model_id: String,
    pub build_id: String,
    pub project_id: String,
    pub cpu: f64,
    pub memory: f64,
    pub replicas: i64,
    pub environment: String,
    pub status: String,
    pub message: String,
    pub deployer: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub stopped_at: Option<DateTime<Utc>>,
}

impl VersionRow {
    pub fn to_api(&self, mlflow: cml_api::MlflowMetadata, owner: &str, workspace_url: &str) -> RegisteredModelVersion {
        RegisteredModelVersion {
            model_id: self.model_id.clone(),
            model_version_id: self.id.clone(),
            version_name: format!("v{}", self.number),
            number: self.number as i32,
            notes: self.notes.clone(),
            user: user(&self.creator),
            created_at: Some(self.created_at),
            updated_at: Some(self.updated_at),
            status: self.status.clone(),
            model_version_metadata: cml_api::ModelVersionMetadata {
                mlops_type: "MLFLOW".into(),
                tags: vec![],
                workspace_url: workspace_url.into(),
                project_id: self.project_id.clone(),
                owner: user(owner),
                mlflow_metadata: mlflow,
            },
            tags: vec![],
            error_message: String::new(),
        }
    }
}

impl RegisteredModelRow {
    pub fn to_api(&self, versions: Vec<RegisteredModelVersion>, count: usize) -> RegisteredModel {
        RegisteredModel {
            model_id: self.id.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            owner: user(&self.creator),
            permission: "owner".into(),
            visibility: "PRIVATE".into(),
            created_at: Some(self.created_at),
            updated_at: Some(self.updated_at),
            count: count as i32,
            model_versions: versions,
            next_page_token: String::new(),
        }
    }
}

impl ModelRow {
    pub fn to_api(&self, project: ShortProject) -> Model {
        Model {
            id: self.id.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            creator: user(&self.creator),
            access_key: self.access_key.clone(),
            deletion_status: String::new(),
            created_at: Some(self.created_at),
            updated_at: Some(self.updated_at),
            crn: format!("crn:lakeline:local:model/{}", self.id),
            auth_enabled: self.auth_enabled,
            project,
            registered_model_id: self.registered_model_id.clone(),
            visibility: "private".into(),
        }
    }
}

impl BuildRow {
    pub fn to_api(&self) -> ModelBuild {
        ModelBuild {
            id: self.id.clone(),
            model_id: self.model_id.clone(),
            creator: user(&self.creator),
            comment: self.comment.clone(),
            file_path: String::new(),
            function_name: String::new(),
            kernel: String::new(),
            created_at: Some(self.created_at),
            updated_at: Some(self.updated_at),
            status: self.status.clone(),
            deletion_status: String::new(),
            crn: format!("crn:lakeline:local:build/{}", self.id),
            built_at: self.built_at,
            runtime_identifier: self.runtime_identifier.clone(),
            registered_model_version_id: self.registered_model_version_id.clone(),
        }
    }
}

impl DeploymentRow {
    pub fn to_api(&self) -> ModelDeployment {
        ModelDeployment {
            project_id: self.project_id.clone(),
            model_id: self.model_id.clone(),
            build_id: self.build_id.clone(),
            id: self.id.clone(),
            cpu: self.cpu,
            memory: self.memory,
            nvidia_gpu: 0,
            environment: self.environment.clone(),
            created_at: Some(self.created_at),
            updated_at: Some(self.updated_at),
            stopped_at: self.stopped_at,
            crn: format!("crn:lakeline:local:deployment/{}", self.id),
            deployer: user(&self.deployer),
            status: self.status.clone(),
            replicas: self.replicas as i32,
        }
    }
}

pub struct Registry<'a>(pub &'a SqlitePool);

impl Registry<'_> {
    pub async fn registered_model(&self, id: &str) -> sqlx::Result<Option<RegisteredModelRow>> {
        sqlx::query_as("SELECT * FROM registered_models WHERE id = ?").bind(id).fetch_optional(self.0).await
    }
    pub async fn registered_models(&self) -> sqlx::Result<Vec<RegisteredModelRow>> {
        sqlx::query_as("SELECT * FROM registered_models ORDER BY created_at").fetch_all(self.0).await
    }
    /// The registered model named `m.name`, created from `m` unless it exists: two registrations
    /// of a new name at once both get the one model.
    pub async fn registered_model_named(&self, m: &RegisteredModelRow) -> sqlx::Result<RegisteredModelRow> {
        sqlx::query("INSERT INTO registered_models (id, name, description, creator, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING")
            .bind(&m.id).bind(&m.name).bind(&m.description).bind(&m.creator).bind(m.created_at).bind(m.updated_at)
            .execute(self.0).await?;
        sqlx::query_as("SELECT * FROM registered_models WHERE name = ?").bind(&m.name).fetch_one(self.0).await
    }
    pub async fn versions(&self, model_id: &str) -> sqlx::Result<Vec<VersionRow>> {
        sqlx::query_as("SELECT * FROM model_versions WHERE model_id = ? ORDER BY number DESC").bind(model_id).fetch_all(self.0).await
    }
    pub async fn version(&self, id: &str) -> sqlx::Result<Option<VersionRow>> {
        sqlx::query_as("SELECT * FROM model_versions WHERE id = ?").bind(id).fetch_optional(self.0).await
    }
    pub async fn versions_of_run(&self, run_id: &str) -> sqlx::Result<Vec<VersionRow>> {
        sqlx::query_as("SELECT * FROM model_versions WHERE run_id = ? ORDER BY created_at").bind(run_id).fetch_all(self.0).await
    }
    /// Inserts a version numbered after the model's newest, inside one transaction that takes the
    /// write lock first (a deferred one reads, then fails to upgrade when another registration
    /// wrote in between).
    pub async fn insert_version(&self, v: &mut VersionRow) -> sqlx::Result<()> {
        let mut tx = self.0.begin_with("BEGIN IMMEDIATE").await?;
        let next: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(number), 0) + 1 FROM model_versions WHERE model_id = ?")
            .bind(&v.model_id).fetch_one(&mut *tx).await?;
        v.number = next;
        sqlx::query("INSERT INTO model_versions (id, model_id, number, project_id, experiment_id, run_id, model_path, artifact_dir, status, notes, creator, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(&v.id).bind(&v.model_id).bind(v.number).bind(&v.project_id).bind(&v.experiment_id).bind(&v.run_id)
            .bind(&v.model_path).bind(&v.artifact_dir).bind(&v.status).bind(&v.notes).bind(&v.creator).bind(v.created_at).bind(v.updated_at)
            .execute(&mut *tx).await?;
        sqlx::query("UPDATE registered_models SET updated_at = ? WHERE id = ?").bind(v.created_at).bind(&v.model_id).execute(&mut *tx).await?;
        tx.commit().await
    }

    pub async fn models(&self, project_id: &str) -> sqlx::Result<Vec<ModelRow>> {
        sqlx::query_as("SELECT * FROM models WHERE project_id = ? ORDER BY created_at").bind(project_id).fetch_all(self.0).await
    }
    pub async fn model(&self, project_id: &str, id: &str) -> sqlx::Result<Option<ModelRow>> {
        sqlx::query_as("SELECT * FROM models WHERE project_id = ? AND id = ?").bind(project_id).bind(id).fetch_optional(self.0).await
    }
    pub async fn model_by_access_key(&self, key: &str) -> sqlx::Result<Option<ModelRow>> {
        sqlx::query_as("SELECT * FROM models WHERE access_key = ?").bind(key).fetch_optional(self.0).await
    }
    pub async fn insert_model(&self, m: &ModelRow) -> sqlx::Result<()> {
        sqlx::query("INSERT INTO models (id, project_id, name, description, access_key, auth_enabled, registered_model_id, creator, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(&m.id).bind(&m.project_id).bind(&m.name).bind(&m.description).bind(&m.access_key).bind(m.auth_enabled)
            .bind(&m.registered_model_id).bind(&m.creator).bind(m.created_at).bind(m.updated_at)
            .execute(self.0).await?;
        Ok(())
    }

    pub async fn builds(&self, model_id: &str) -> sqlx::Result<Vec<BuildRow>> {
        sqlx::query_as("SELECT * FROM model_builds WHERE model_id = ? ORDER BY created_at DESC").bind(model_id).fetch_all(self.0).await
    }
    pub async fn build(&self, model_id: &str, id: &str) -> sqlx::Result<Option<BuildRow>> {
        sqlx::query_as("SELECT * FROM model_builds WHERE model_id = ? AND id = ?").bind(model_id).bind(id).fetch_optional(self.0).await
    }
    pub async fn insert_build(&self, b: &BuildRow) -> sqlx::Result<()> {
        sqlx::query("INSERT INTO model_builds (id, model_id, project_id, registered_model_version_id, runtime_identifier, comment, status, message, creator, created_at, updated_at, built_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(&b.id).bind(&b.model_id).bind(&b.project_id).bind(&b.registered_model_version_id).bind(&b.runtime_identifier)
            .bind(&b.comment).bind(&b.status).bind(&b.message).bind(&b.creator).bind(b.created_at).bind(b.updated_at).bind(b.built_at)
            .execute(self.0).await?;
        Ok(())
    }
    pub async fn set_build_status(&self, id: &str, status: &str, message: &str) -> sqlx::Result<()> {
        let now = Utc::now();
        let built_at = (status == "built").then_some(now);
        sqlx::query("UPDATE model_builds SET status = ?, message = ?, updated_at = ?, built_at = COALESCE(?, built_at) WHERE id = ?")
            .bind(status).bind(message).bind(now).bind(built_at).bind(id)
            .execute(self.0).await?;
        Ok(())
    }

    /// Builds and deployments a previous run of the workspace left half-way end as failed (never
    /// `building` or `deploying` for good).
    pub async fn fail_interrupted_builds(&self) -> sqlx::Result<u64> {
        let result = sqlx::query(
            "UPDATE model_builds SET status = 'build failed', message = 'the local workspace stopped during the build; build again'
             WHERE status IN ('pending', 'building')",
        )
        .execute(self.0)
        .await?;
        sqlx::query(
            "UPDATE model_deployments SET status = CASE status WHEN 'stopping' THEN 'stopped' ELSE 'failed' END,
                message = 'the local workspace stopped while this deployment was changing'
             WHERE status IN ('pending', 'deploying', 'stopping')",
        )
        .execute(self.0)
        .await?;
        Ok(result.rows_affected())
    }

    pub async fn deployments(&self, build_id: &str) -> sqlx::Result<Vec<DeploymentRow>> {
        sqlx::query_as("SELECT * FROM model_deployments WHERE build_id = ? ORDER BY created_at DESC").bind(build_id).fetch_all(self.0).await
    }
    pub async fn deployment(&self, build_id: &str, id: &str) -> sqlx::Result<Option<DeploymentRow>> {
        sqlx::query_as("SELECT * FROM model_deployments WHERE build_id = ? AND id = ?").bind(build_id).bind(id).fetch_optional(self.0).await
    }
    pub async fn deployments_with_status(&self, status: &str) -> sqlx::Result<Vec<DeploymentRow>> {
        sqlx::query_as("SELECT * FROM model_deployments WHERE status = ?").bind(status).fetch_all(self.0).await
    }
    pub async fn insert_deployment(&self, d: &DeploymentRow) -> sqlx::Result<()> {
        sqlx::query("INSERT INTO model_deployments (id, model_id, build_id, project_id, cpu, memory, replicas, environment, status, message, deployer, created_at, updated_at, stopped_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(&d.id).bind(&d.model_id).bind(&d.build_id).bind(&d.project_id).bind(d.cpu).bind(d.memory).bind(d.replicas)
            .bind(&d.environment).bind(&d.status).bind(&d.message).bind(&d.deployer).bind(d.created_at).bind(d.updated_at).bind(d.stopped_at)
            .execute(self.0).await?;
        Ok(())
    }
    pub async fn set_deployment_status(&self, id: &str, status: &str, message: &str) -> sqlx::Result<()> {
        let now = Utc::now();
        let stopped = matches!(status, "stopped" | "failed").then_some(now);
        sqlx::query("UPDATE model_deployments SET status = ?, message = ?, updated_at = ?, stopped_at = ? WHERE id = ?")
            .bind(status).bind(message).bind(now).bind(stopped).bind(id)
            .execute(self.0).await?;
        Ok(())
    }
}
