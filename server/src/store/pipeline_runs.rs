//! Pipeline runs and their stage runs. Rows hold the domain's enums; the text forms live only
//! in the database (`views` builds what the pages show).

use chrono::{DateTime, Utc};
use cml_api::JobRun;
use domain::{BatchFigures, DeploymentState, JobRunState, PipelineStatus, QualityGate, RunSource, Stage, StageOutcome};
use sqlx::FromRow;

use super::Store;
use super::Result;

#[derive(Debug, Clone, FromRow)]
pub struct PipelineRunRow {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub status: PipelineStatus,
    pub triggered_by: String,
    #[sqlx(try_from = "String")]
    pub source: RunSource,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    #[sqlx(flatten)]
    pub lineage: LineageIds,
    pub lineage_resolved: bool,
    /// [`LineageDetail`] as JSON, once read.
    pub lineage_detail: Option<String>,
    /// When someone asked to stop this run (it then stops whichever stage is or becomes active).
    pub stop_requested_at: Option<DateTime<Utc>>,
    pub stop_requested_by: Option<String>,
    /// How many notes people left on the run.
    pub note_count: i64,
}

impl PipelineRunRow {
    pub fn detail(&self) -> Option<LineageDetail> {
        self.lineage_detail.as_deref().and_then(|json| serde_json::from_str(json).ok())
    }
}

/// What a finished run's lineage shows beyond its ids, read from the workspace once.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct LineageDetail {
    pub experiment_run_name: Option<String>,
    pub params: Vec<(String, String)>,
    pub metrics: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
    pub registered_model_name: Option<String>,
    pub model_version_run_id: Option<String>,
    pub model_name: Option<String>,
    pub build_status: Option<String>,
    pub build_version_id: Option<String>,
    /// Why part of the lineage could not be read, in words.
    pub problems: Vec<String>,
}

impl LineageDetail {
    pub fn fill_experiment_run(&mut self, run: &cml_api::ExperimentRun) {
        let pairs = |tags: &[cml_api::Tag]| tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect::<Vec<_>>();
        self.experiment_run_name = Some(run.name.clone());
        self.params = pairs(&run.data.params);
        self.metrics = run.data.metrics.iter().map(|m| (m.key.clone(), format!("{}", m.value))).collect();
        self.tags = pairs(&run.data.tags);
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct StageRow {
    pub pipeline_run_id: i64,
    #[sqlx(try_from = "i64")]
    pub stage: Stage,
    /// 1 for the chain's own run of the stage, 2 and up for retries.
    pub attempt: i64,
    pub job_id: String,
    pub job_run_id: String,
    #[sqlx(rename = "status", try_from = "String")]
    pub state: JobRunState,
    pub created_at: DateTime<Utc>,
    pub running_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Where the log was found in the project, once it was.
    pub log_path: Option<String>,
    /// The log's last bytes, as last read.
    pub log_tail: Option<String>,
    /// Whether `log_tail` was read after the job run ended (it will not change again).
    pub log_final: bool,
}

impl StageRow {
    pub fn outcome(&self) -> StageOutcome {
        StageOutcome { stage: self.stage, state: self.state, finished_at: self.finished_at }
    }
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
    /// The deployment's state as stored (one of [`DeploymentState`]'s names).
    pub deployment_status: Option<String>,
    /// The redeployment's quality gate ([`QualityGate`] as JSON).
    pub quality_gate: Option<String>,
    /// The committed batch's figures ([`BatchFigures`] as JSON).
    pub batch_figures: Option<String>,
    /// The snapshot range the retrain read: after `trained_from` (none: the table's start) up to
    /// `trained_to`.
    pub trained_from: Option<String>,
    pub trained_to: Option<String>,
}

impl LineageIds {
    pub fn gate(&self) -> Option<QualityGate> {
        self.quality_gate.as_deref().and_then(|json| serde_json::from_str(json).ok())
    }

    pub fn set_gate(&mut self, gate: &QualityGate) {
        self.quality_gate = serde_json::to_string(gate).ok();
    }

    pub fn figures(&self) -> Option<BatchFigures> {
        self.batch_figures.as_deref().and_then(|json| serde_json::from_str(json).ok())
    }

    pub fn set_figures(&mut self, figures: &BatchFigures) {
        self.batch_figures = serde_json::to_string(figures).ok();
    }

    pub fn deployment(&self) -> Option<DeploymentState> {
        self.deployment_status.as_deref().and_then(DeploymentState::from_cml)
    }
}

/// One point of the quality chart.
#[derive(Debug, Clone, FromRow)]
pub struct QualityRow {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    pub accuracy: Option<f64>,
    pub recall: Option<f64>,
    #[sqlx(try_from = "String")]
    pub status: PipelineStatus,
    /// [`QualityGate`] as JSON.
    pub quality_gate: Option<String>,
}

/// Keeps, of a run's stage rows, the latest attempt at each stage (SQL on `stage_runs`).
pub(super) const LATEST_ATTEMPT: &str =
    "attempt = (SELECT MAX(a.attempt) FROM stage_runs a WHERE a.pipeline_run_id = stage_runs.pipeline_run_id AND a.stage = stage_runs.stage)";

/// Records job run `$run` of stage `$stage` in pipeline run `$id` on `$db` (a pool or a
/// transaction, of either database): a job run seen before is updated; a new one becomes the
/// stage's next attempt.
macro_rules! upsert_stage {
    ($db:expr, $id:expr, $stage:expr, $run:expr) => {
        sqlx::query(
            "INSERT INTO stage_runs (pipeline_run_id, stage, attempt, job_id, job_run_id, status, created_at, running_at, finished_at)
             VALUES ($1, $2, (SELECT COALESCE(MAX(attempt), 0) + 1 FROM stage_runs WHERE pipeline_run_id = $1 AND stage = $2), $3, $4, $5, $6, $7, $8)
             ON CONFLICT (job_run_id) DO UPDATE SET status = excluded.status, running_at = excluded.running_at, finished_at = excluded.finished_at",
        )
        .bind($id)
        .bind($stage.index() as i64)
        .bind(&$run.job_id)
        .bind(&$run.id)
        .bind($run.status.as_str())
        .bind($run.created_at.unwrap_or_else(Utc::now))
        .bind($run.running_at)
        .bind($run.finished_at)
        .execute($db)
    };
}

impl Store {
    pub async fn insert_pipeline_run(&self, triggered_by: &str, source: RunSource, created_at: DateTime<Utc>) -> Result<i64> {
        on_pool!(self, pool => {
            Ok(sqlx::query_scalar(
                "INSERT INTO pipeline_runs (status, triggered_by, source, created_at, updated_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(PipelineStatus::Running.as_str())
            .bind(triggered_by)
            .bind(source.as_str())
            .bind(created_at)
            .bind(Utc::now())
            .fetch_one(pool)
            .await?)
        })
    }

    pub async fn pipeline_run(&self, id: i64) -> Result<Option<(PipelineRunRow, Vec<StageRow>)>> {
        on_pool!(self, pool => {
            let Some(row) = sqlx::query_as::<_, PipelineRunRow>("SELECT * FROM pipeline_runs WHERE id = $1").bind(id).fetch_optional(pool).await? else {
                return Ok(None);
            };
            let stages = self.stages(id).await?;
            Ok(Some((row, stages)))
        })
    }

    /// A run's stages as they stand: the latest attempt at each, in chain order.
    pub async fn stages(&self, id: i64) -> Result<Vec<StageRow>> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as(&format!("SELECT * FROM stage_runs WHERE pipeline_run_id = $1 AND {LATEST_ATTEMPT} ORDER BY stage")).bind(id).fetch_all(pool).await?)
        })
    }

    /// Every attempt at each of a run's stages, in chain order and then attempt order.
    pub async fn attempts(&self, id: i64) -> Result<Vec<StageRow>> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as("SELECT * FROM stage_runs WHERE pipeline_run_id = $1 ORDER BY stage, attempt").bind(id).fetch_all(pool).await?)
        })
    }

    pub async fn latest_pipeline_run(&self) -> Result<Option<i64>> {
        on_pool!(self, pool => {
            Ok(sqlx::query_scalar("SELECT id FROM pipeline_runs ORDER BY created_at DESC, id DESC LIMIT 1").fetch_optional(pool).await?)
        })
    }

    pub async fn active_pipeline_runs(&self) -> Result<Vec<i64>> {
        on_pool!(self, pool => {
            Ok(sqlx::query_scalar("SELECT id FROM pipeline_runs WHERE status = $1 ORDER BY id").bind(PipelineStatus::Running.as_str()).fetch_all(pool).await?)
        })
    }

    pub async fn unresolved_pipeline_runs(&self) -> Result<Vec<i64>> {
        on_pool!(self, pool => {
            Ok(sqlx::query_scalar("SELECT id FROM pipeline_runs WHERE status != $1 AND NOT lineage_resolved ORDER BY id")
                .bind(PipelineStatus::Running.as_str())
                .fetch_all(pool)
                .await?)
        })
    }

    /// The pipeline run a job run belongs to, if it is known.
    pub async fn stage_of_job_run(&self, job_run_id: &str) -> Result<Option<StageRow>> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as("SELECT * FROM stage_runs WHERE job_run_id = $1").bind(job_run_id).fetch_optional(pool).await?)
        })
    }

    /// The pipeline run a run of `stage` (created at `created_at`) continues: the newest one whose
    /// previous stage succeeded no later than that (give or take a workspace's clock rounding) and
    /// which has no run of `stage` yet.
    pub async fn pipeline_run_awaiting(&self, stage: Stage, created_at: DateTime<Utc>) -> Result<Option<i64>> {
        on_pool!(self, pool => {
            let Some(previous) = stage.previous() else { return Ok(None) };
            Ok(sqlx::query_scalar(
                "SELECT p.pipeline_run_id FROM stage_runs p
                 WHERE p.stage = $1 AND p.status = $2 AND p.finished_at <= $3
                   AND NOT EXISTS (SELECT 1 FROM stage_runs n WHERE n.pipeline_run_id = p.pipeline_run_id AND n.stage = $4)
                 ORDER BY p.finished_at DESC LIMIT 1",
            )
            .bind(previous.index() as i64)
            .bind(JobRunState::Succeeded.as_str())
            .bind(created_at + chrono::Duration::seconds(5))
            .bind(stage.index() as i64)
            .fetch_optional(pool)
            .await?)
        })
    }

    /// Records a job run of `stage` in pipeline run `pipeline_run_id`: a job run seen before is
    /// updated; a new one becomes the stage's next attempt.
    pub async fn upsert_stage(&self, pipeline_run_id: i64, stage: Stage, run: &JobRun) -> Result<()> {
        on_pool!(self, pool => {
            upsert_stage!(pool, pipeline_run_id, stage, run).await?;
                Ok(())
        })
    }

    /// Starts pipeline run `id` again from `stage`, whose new attempt is job run `run`: the run is
    /// running again, a stop asked for earlier no longer applies, its lineage is resolved again and
    /// its ending announced again when it ends.
    pub async fn start_retry(&self, id: i64, stage: Stage, run: &JobRun) -> Result<()> {
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "UPDATE pipeline_runs SET status = $1, finished_at = NULL, stop_requested_at = NULL, stop_requested_by = NULL,
                    lineage_resolved = FALSE, lineage_detail = NULL, alerted = FALSE, updated_at = $2 WHERE id = $3",
            )
            .bind(PipelineStatus::Running.as_str())
            .bind(Utc::now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
            upsert_stage!(&mut *tx, id, stage, run).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn set_pipeline_status(&self, id: i64, status: PipelineStatus, finished_at: Option<DateTime<Utc>>) -> Result<bool> {
        on_pool!(self, pool => {
            let changed = sqlx::query(
                "UPDATE pipeline_runs SET status = $1, finished_at = $2, updated_at = $3 WHERE id = $4 AND (status != $5 OR finished_at IS DISTINCT FROM $6)",
            )
            .bind(status.as_str())
            .bind(finished_at)
            .bind(Utc::now())
            .bind(id)
            .bind(status.as_str())
            .bind(finished_at)
            .execute(pool)
            .await?;
            Ok(changed.rows_affected() > 0)
        })
    }

    /// Records that `who` asked to stop pipeline run `id` (the first request counts).
    pub async fn request_stop(&self, id: i64, who: &str) -> Result<()> {
        on_pool!(self, pool => {
            sqlx::query("UPDATE pipeline_runs SET stop_requested_at = COALESCE(stop_requested_at, $1), stop_requested_by = COALESCE(stop_requested_by, $2), updated_at = $3 WHERE id = $4")
                .bind(Utc::now())
                .bind(who)
                .bind(Utc::now())
                .bind(id)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// Keeps what was read of a stage's log.
    pub async fn set_stage_log(&self, job_run_id: &str, path: Option<&str>, tail: &str, final_read: bool) -> Result<()> {
        on_pool!(self, pool => {
            sqlx::query("UPDATE stage_runs SET log_path = COALESCE($1, log_path), log_tail = $2, log_final = $3 WHERE job_run_id = $4")
                .bind(path)
                .bind(tail)
                .bind(final_read)
                .bind(job_run_id)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    pub async fn set_lineage_detail(&self, id: i64, detail: &LineageDetail) -> Result<()> {
        on_pool!(self, pool => {
            let json = serde_json::to_string(detail).expect("a lineage detail serialises");
            sqlx::query("UPDATE pipeline_runs SET lineage_detail = $1, updated_at = $2 WHERE id = $3").bind(json).bind(Utc::now()).bind(id).execute(pool).await?;
            Ok(())
        })
    }

    /// Runs other than `except` whose deployment was last seen live (deployed, deploying, pending).
    pub async fn runs_with_live_deployment(&self, except: Option<i64>) -> Result<Vec<PipelineRunRow>> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as("SELECT * FROM pipeline_runs WHERE deployment_id IS NOT NULL AND deployment_status IN ($1, $2, $3) AND id IS DISTINCT FROM $4 ORDER BY id")
                .bind(DeploymentState::Deployed.as_str())
                .bind(DeploymentState::Deploying.as_str())
                .bind(DeploymentState::Pending.as_str())
                .bind(except)
                .fetch_all(pool)
                .await?)
        })
    }

    /// Records that run `id`'s build was deployed again (a rollback) as `deployment_id`.
    pub async fn redeployed(&self, id: i64, deployment_id: &str, state: Option<DeploymentState>) -> Result<()> {
        on_pool!(self, pool => {
            let now = Utc::now();
            sqlx::query("UPDATE pipeline_runs SET deployment_id = $1, deployment_status = $2, deployed_at = $3, updated_at = $4 WHERE id = $5")
                .bind(deployment_id)
                .bind(state.map(DeploymentState::as_str))
                .bind(now)
                .bind(now)
                .bind(id)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// Records a deployment's current state; answers whether it changed.
    pub async fn set_deployment_state(&self, id: i64, state: Option<DeploymentState>) -> Result<bool> {
        on_pool!(self, pool => {
            let state = state.map(DeploymentState::as_str);
            let changed = sqlx::query("UPDATE pipeline_runs SET deployment_status = $1, updated_at = $2 WHERE id = $3 AND deployment_status IS DISTINCT FROM $4")
                .bind(state)
                .bind(Utc::now())
                .bind(id)
                .bind(state)
                .execute(pool)
                .await?;
            Ok(changed.rows_affected() > 0)
        })
    }

    /// How long this stage's job runs took when they succeeded, newest first (for predicting the
    /// end of a running one).
    pub async fn recent_durations(&self, stage: Stage, limit: i64) -> Result<Vec<chrono::Duration>> {
        on_pool!(self, pool => {
            let rows: Vec<(DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
                "SELECT running_at, finished_at FROM stage_runs WHERE stage = $1 AND status = $2 AND running_at IS NOT NULL AND finished_at IS NOT NULL
                 ORDER BY finished_at DESC LIMIT $3",
            )
            .bind(stage.index() as i64)
            .bind(JobRunState::Succeeded.as_str())
            .bind(limit)
            .fetch_all(pool)
            .await?;
            Ok(rows.into_iter().map(|(start, end)| end - start).collect())
        })
    }

    pub async fn set_lineage(&self, id: i64, l: &LineageIds, resolved: bool) -> Result<()> {
        on_pool!(self, pool => {
            sqlx::query(
                "UPDATE pipeline_runs SET snapshot_id = COALESCE($1, snapshot_id), parent_snapshot_id = COALESCE($2, parent_snapshot_id),
                    snapshot_committed_at = COALESCE($3, snapshot_committed_at), rows_added = COALESCE($4, rows_added),
                    source_table = COALESCE($5, source_table), experiment_id = COALESCE($6, experiment_id),
                    experiment_run_id = COALESCE($7, experiment_run_id), accuracy = COALESCE($8, accuracy), recall = COALESCE($9, recall),
                    row_count = COALESCE($10, row_count), registered_model_id = COALESCE($11, registered_model_id),
                    model_version_id = COALESCE($12, model_version_id), model_version_number = COALESCE($13, model_version_number),
                    model_id = COALESCE($14, model_id), build_id = COALESCE($15, build_id), deployment_id = COALESCE($16, deployment_id),
                    deployment_status = COALESCE($17, deployment_status), quality_gate = COALESCE($18, quality_gate),
                    batch_figures = COALESCE($19, batch_figures), trained_from = COALESCE($20, trained_from), trained_to = COALESCE($21, trained_to),
                    lineage_resolved = $22, updated_at = $23
                 WHERE id = $24",
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
            .bind(&l.quality_gate)
            .bind(&l.batch_figures)
            .bind(&l.trained_from)
            .bind(&l.trained_to)
            .bind(resolved)
            .bind(Utc::now())
            .bind(id)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    /// How many pipeline runs there are in each status (for `/metrics`).
    pub async fn count_by_status(&self) -> Result<Vec<(String, i64)>> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as("SELECT status, COUNT(*) FROM pipeline_runs GROUP BY status").fetch_all(pool).await?)
        })
    }

    /// The runs whose New Batch committed a snapshot, newest snapshot first (the Data page).
    pub async fn snapshot_runs(&self) -> Result<Vec<PipelineRunRow>> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as("SELECT * FROM pipeline_runs WHERE snapshot_id IS NOT NULL ORDER BY snapshot_committed_at DESC NULLS LAST, id DESC").fetch_all(pool).await?)
        })
    }

    /// The newest `limit` runs that ended, oldest first: their quality figures (none for a run
    /// whose retrain did not log them), status and gate.
    pub async fn quality_series(&self, limit: i64) -> Result<Vec<QualityRow>> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as(
                "SELECT id, created_at, accuracy, recall, status, quality_gate FROM (
                    SELECT id, created_at, accuracy, recall, status, quality_gate FROM pipeline_runs
                    WHERE status != $1 ORDER BY created_at DESC LIMIT $2) AS recent
                 ORDER BY created_at",
            )
            .bind(PipelineStatus::Running.as_str())
            .bind(limit)
            .fetch_all(pool)
            .await?)
        })
    }

    /// The run whose model was deployed last (its chain's deployment, or a later redeployment).
    pub async fn latest_deployed_run(&self) -> Result<Option<PipelineRunRow>> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as(
                "SELECT * FROM pipeline_runs WHERE deployment_id IS NOT NULL AND model_id IS NOT NULL
                 ORDER BY COALESCE(deployed_at, created_at) DESC, id DESC LIMIT 1",
            )
            .fetch_optional(pool)
            .await?)
        })
    }
}
