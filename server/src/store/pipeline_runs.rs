//! Pipeline runs and their stage runs.

use app::api::{PipelineRunSummary, QualityPoint, StageView};
use chrono::{DateTime, Utc};
use cml_api::{EngineStatus, JobRun};
use sqlx::FromRow;

use super::Store;
use crate::error::Result;

#[derive(Debug, Clone, FromRow)]
pub struct PipelineRunRow {
    pub id: i64,
    pub status: String,
    pub triggered_by: String,
    pub source: String,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    #[sqlx(flatten)]
    pub lineage: LineageIds,
    pub lineage_resolved: bool,
}

#[derive(Debug, Clone, FromRow)]
pub struct StageRow {
    pub pipeline_run_id: i64,
    pub stage: i64,
    pub job_id: String,
    pub job_run_id: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub running_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl StageRow {
    pub fn engine_status(&self) -> EngineStatus {
        EngineStatus::parse(&self.status)
    }

    pub fn view(&self) -> StageView {
        let start = self.running_at.unwrap_or(self.created_at);
        let end = self.finished_at.or_else(|| self.engine_status().is_active().then(Utc::now));
        StageView {
            stage: self.stage as usize,
            job_id: self.job_id.clone(),
            run_id: self.job_run_id.clone(),
            status: self.engine_status().word().to_string(),
            created_at: Some(rfc3339(&self.created_at)),
            running_at: self.running_at.as_ref().map(rfc3339),
            finished_at: self.finished_at.as_ref().map(rfc3339),
            duration_seconds: end.map(|e| (e - start).num_milliseconds() as f64 / 1000.0),
        }
    }
}

pub fn rfc3339(t: &DateTime<Utc>) -> String {
    cml_api::timestamp::format(t)
}

/// What a pipeline run links to, as the tracker resolved it (stored with the run).
#[derive(Debug, Clone, Default, FromRow)]
pub struct LineageIds {
    pub snapshot_id: Option<String>,
    pub parent_snapshot_id: Option<String>,
    pub snapshot_committed_at: Option<String>,
    pub rows_added: Option<i64>,
    pub source_table: Option<String>,
    pub experiment_id: Option<String>,
    pub experiment_run_id: Option<String>,
    pub accuracy: Option<f64>,
    pub recall: Option<f64>,
    pub row_count: Option<String>,
    pub registered_model_id: Option<String>,
    pub model_version_id: Option<String>,
    pub model_version_number: Option<i64>,
    pub model_id: Option<String>,
    pub build_id: Option<String>,
    pub deployment_id: Option<String>,
    pub deployment_status: Option<String>,
}

impl PipelineRunRow {
    pub fn summary(&self, stages: &[StageRow]) -> PipelineRunSummary {
        let end = self.finished_at.unwrap_or_else(Utc::now);
        PipelineRunSummary {
            id: self.id,
            status: self.status.clone(),
            triggered_by: self.triggered_by.clone(),
            source: self.source.clone(),
            created_at: rfc3339(&self.created_at),
            finished_at: self.finished_at.as_ref().map(rfc3339),
            duration_seconds: Some((end - self.created_at).num_milliseconds() as f64 / 1000.0),
            stages: stages.iter().map(StageRow::view).collect(),
            snapshot_id: self.lineage.snapshot_id.clone(),
            parent_snapshot_id: self.lineage.parent_snapshot_id.clone(),
            rows_added: self.lineage.rows_added,
            accuracy: self.lineage.accuracy,
            recall: self.lineage.recall,
            model_version: self.lineage.model_version_number,
            deployment_status: self.lineage.deployment_status.clone(),
        }
    }
}

pub const ACTIVE: &str = "running";

impl Store {
    pub async fn insert_pipeline_run(&self, triggered_by: &str, source: &str, created_at: DateTime<Utc>) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO pipeline_runs (status, triggered_by, source, created_at, updated_at) VALUES ('running', ?, ?, ?, ?) RETURNING id",
        )
        .bind(triggered_by)
        .bind(source)
        .bind(created_at)
        .bind(Utc::now())
        .fetch_one(self.pool())
        .await?)
    }

    pub async fn pipeline_run(&self, id: i64) -> Result<Option<(PipelineRunRow, Vec<StageRow>)>> {
        let Some(row) = sqlx::query_as::<_, PipelineRunRow>("SELECT * FROM pipeline_runs WHERE id = ?").bind(id).fetch_optional(self.pool()).await? else {
            return Ok(None);
        };
        let stages = self.stages(id).await?;
        Ok(Some((row, stages)))
    }

    pub async fn stages(&self, id: i64) -> Result<Vec<StageRow>> {
        Ok(sqlx::query_as("SELECT * FROM stage_runs WHERE pipeline_run_id = ? ORDER BY stage").bind(id).fetch_all(self.pool()).await?)
    }

    pub async fn latest_pipeline_run(&self) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT id FROM pipeline_runs ORDER BY created_at DESC, id DESC LIMIT 1").fetch_optional(self.pool()).await?)
    }

    pub async fn active_pipeline_runs(&self) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar("SELECT id FROM pipeline_runs WHERE status = 'running' ORDER BY id").fetch_all(self.pool()).await?)
    }

    pub async fn unresolved_pipeline_runs(&self) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar("SELECT id FROM pipeline_runs WHERE status != 'running' AND lineage_resolved = 0 ORDER BY id").fetch_all(self.pool()).await?)
    }

    /// The pipeline run a job run belongs to, if it is known.
    pub async fn stage_of_job_run(&self, job_run_id: &str) -> Result<Option<StageRow>> {
        Ok(sqlx::query_as("SELECT * FROM stage_runs WHERE job_run_id = ?").bind(job_run_id).fetch_optional(self.pool()).await?)
    }

    /// The pipeline run a run of `stage` (created at `created_at`) continues: the newest one whose
    /// previous stage succeeded no later than that (give or take a workspace's clock rounding) and
    /// which has no run of `stage` yet.
    pub async fn pipeline_run_awaiting(&self, stage: i64, created_at: DateTime<Utc>) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT p.pipeline_run_id FROM stage_runs p
             WHERE p.stage = ? AND p.status = 'ENGINE_SUCCEEDED' AND p.finished_at <= ?
               AND NOT EXISTS (SELECT 1 FROM stage_runs n WHERE n.pipeline_run_id = p.pipeline_run_id AND n.stage = ?)
             ORDER BY p.finished_at DESC LIMIT 1",
        )
        .bind(stage - 1)
        .bind(created_at + chrono::Duration::seconds(5))
        .bind(stage)
        .fetch_optional(self.pool())
        .await?)
    }

    pub async fn upsert_stage(&self, pipeline_run_id: i64, stage: i64, run: &JobRun) -> Result<()> {
        sqlx::query(
            "INSERT INTO stage_runs (pipeline_run_id, stage, job_id, job_run_id, status, created_at, running_at, finished_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (pipeline_run_id, stage) DO UPDATE SET
                job_run_id = excluded.job_run_id, status = excluded.status, running_at = excluded.running_at, finished_at = excluded.finished_at",
        )
        .bind(pipeline_run_id)
        .bind(stage)
        .bind(&run.job_id)
        .bind(&run.id)
        .bind(run.status.as_str())
        .bind(run.created_at.unwrap_or_else(Utc::now))
        .bind(run.running_at)
        .bind(run.finished_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn set_pipeline_status(&self, id: i64, status: &str, finished_at: Option<DateTime<Utc>>) -> Result<bool> {
        let changed = sqlx::query(
            "UPDATE pipeline_runs SET status = ?, finished_at = ?, updated_at = ? WHERE id = ? AND (status != ? OR finished_at IS NOT ?)",
        )
        .bind(status)
        .bind(finished_at)
        .bind(Utc::now())
        .bind(id)
        .bind(status)
        .bind(finished_at)
        .execute(self.pool())
        .await?;
        Ok(changed.rows_affected() > 0)
    }

    pub async fn set_lineage(&self, id: i64, l: &LineageIds, resolved: bool) -> Result<()> {
        sqlx::query(
            "UPDATE pipeline_runs SET snapshot_id = COALESCE(?, snapshot_id), parent_snapshot_id = COALESCE(?, parent_snapshot_id),
                snapshot_committed_at = COALESCE(?, snapshot_committed_at), rows_added = COALESCE(?, rows_added),
                source_table = COALESCE(?, source_table), experiment_id = COALESCE(?, experiment_id),
                experiment_run_id = COALESCE(?, experiment_run_id), accuracy = COALESCE(?, accuracy), recall = COALESCE(?, recall),
                row_count = COALESCE(?, row_count), registered_model_id = COALESCE(?, registered_model_id),
                model_version_id = COALESCE(?, model_version_id), model_version_number = COALESCE(?, model_version_number),
                model_id = COALESCE(?, model_id), build_id = COALESCE(?, build_id), deployment_id = COALESCE(?, deployment_id),
                deployment_status = COALESCE(?, deployment_status), lineage_resolved = ?, updated_at = ?
             WHERE id = ?",
        )
        .bind(&l.snapshot_id)
        .bind(&l.parent_snapshot_id)
        .bind(&l.snapshot_committed_at)
        .bind(l.rows_added)
        .bind(&l.source_table)
        .bind(&l.experiment_id)
        .bind(&l.experiment_run_id)
        .bind(l.accuracy)
        .bind(l.recall)
        .bind(&l.row_count)
        .bind(&l.registered_model_id)
        .bind(&l.model_version_id)
        .bind(l.model_version_number)
        .bind(&l.model_id)
        .bind(&l.build_id)
        .bind(&l.deployment_id)
        .bind(&l.deployment_status)
        .bind(resolved)
        .bind(Utc::now())
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn quality_series(&self, limit: i64) -> Result<Vec<QualityPoint>> {
        let rows: Vec<(i64, DateTime<Utc>, Option<f64>, Option<f64>)> = sqlx::query_as(
            "SELECT id, created_at, accuracy, recall FROM (
                SELECT id, created_at, accuracy, recall FROM pipeline_runs
                WHERE accuracy IS NOT NULL OR recall IS NOT NULL ORDER BY created_at DESC LIMIT ?)
             ORDER BY created_at",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(run_id, t, accuracy, recall)| QualityPoint { run_id, created_at: rfc3339(&t), accuracy, recall }).collect())
    }

    pub async fn latest_deployed_run(&self) -> Result<Option<PipelineRunRow>> {
        Ok(sqlx::query_as(
            "SELECT * FROM pipeline_runs WHERE deployment_id IS NOT NULL AND model_id IS NOT NULL ORDER BY created_at DESC LIMIT 1",
        )
        .fetch_optional(self.pool())
        .await?)
    }
}
