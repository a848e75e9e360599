//! MLflow tracking data in the workspace's database: experiments, runs (params, tags, metric
//! history) and MLflow 3 logged models. Both the MLflow REST routes and API v2 read it.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use sqlx::{FromRow, SqlitePool};

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[derive(Debug, Clone, FromRow)]
pub struct ExperimentRow {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub artifact_location: String,
    pub lifecycle_stage: String,
    pub tags: String,
    pub creator: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct RunRow {
    pub id: String,
    pub experiment_id: String,
    pub name: String,
    pub user_id: String,
    pub status: String,
    pub start_time: i64,
    pub end_time: Option<i64>,
    pub artifact_uri: String,
    pub lifecycle_stage: String,
}

/// One logged metric value. `value` may be NaN or infinite, as MLflow allows.
#[derive(Debug, Clone)]
pub struct MetricRow {
    pub key: String,
    pub value: f64,
    pub timestamp: i64,
    pub step: i64,
}

impl<'r> FromRow<'r, sqlx::sqlite::SqliteRow> for MetricRow {
    fn from_row(row: &'r sqlx::sqlite::SqliteRow) -> sqlx::Result<Self> {
        use sqlx::Row;
        let is_nan: bool = row.try_get("is_nan")?;
        Ok(MetricRow {
            key: row.try_get("key")?,
            value: if is_nan { f64::NAN } else { row.try_get("value")? },
            timestamp: row.try_get("timestamp")?,
            step: row.try_get("step")?,
        })
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct LoggedModelRow {
    pub id: String,
    pub experiment_id: String,
    pub name: String,
    pub source_run_id: String,
    pub model_type: String,
    pub status: String,
    pub artifact_location: String,
    pub tags: String,
    pub params: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A run with its data, as both APIs show it.
#[derive(Debug, Clone)]
pub struct FullRun {
    pub run: RunRow,
    pub params: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
    /// The latest value of each metric.
    pub metrics: Vec<MetricRow>,
    pub models: Vec<LoggedModelRow>,
}

pub fn kv_list(pairs: &[(String, String)]) -> Value {
    Value::Array(pairs.iter().map(|(k, v)| json!({"key": k, "value": v})).collect())
}

pub fn map_to_kv(json_map: &str) -> Vec<(String, String)> {
    serde_json::from_str::<BTreeMap<String, String>>(json_map).unwrap_or_default().into_iter().collect()
}

pub struct Tracking<'a>(pub &'a SqlitePool);

impl Tracking<'_> {
    pub async fn experiment_by_name(&self, name: &str) -> sqlx::Result<Option<ExperimentRow>> {
        sqlx::query_as("SELECT * FROM experiments WHERE name = ?").bind(name).fetch_optional(self.0).await
    }

    pub async fn experiment(&self, id: &str) -> sqlx::Result<Option<ExperimentRow>> {
        sqlx::query_as("SELECT * FROM experiments WHERE id = ?").bind(id).fetch_optional(self.0).await
    }

    pub async fn experiments(&self, project_id: &str) -> sqlx::Result<Vec<ExperimentRow>> {
        sqlx::query_as("SELECT * FROM experiments WHERE project_id = ? ORDER BY created_at").bind(project_id).fetch_all(self.0).await
    }

    pub async fn insert_experiment(&self, e: &ExperimentRow) -> sqlx::Result<()> {
        sqlx::query("INSERT INTO experiments (id, project_id, name, artifact_location, lifecycle_stage, tags, creator, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(&e.id).bind(&e.project_id).bind(&e.name).bind(&e.artifact_location).bind(&e.lifecycle_stage)
            .bind(&e.tags).bind(&e.creator).bind(e.created_at).bind(e.updated_at)
            .execute(self.0).await?;
        Ok(())
    }

    pub async fn insert_run(&self, r: &RunRow) -> sqlx::Result<()> {
        sqlx::query("INSERT INTO experiment_runs (id, experiment_id, name, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(&r.id).bind(&r.experiment_id).bind(&r.name).bind(&r.user_id).bind(&r.status)
            .bind(r.start_time).bind(r.end_time).bind(&r.artifact_uri).bind(&r.lifecycle_stage)
            .execute(self.0).await?;
        Ok(())
    }

    pub async fn run(&self, id: &str) -> sqlx::Result<Option<RunRow>> {
        sqlx::query_as("SELECT * FROM experiment_runs WHERE id = ?").bind(id).fetch_optional(self.0).await
    }

    /// Every experiment of every project (MLflow's `experiments/search` sees them all).
    pub async fn all_experiments(&self) -> sqlx::Result<Vec<ExperimentRow>> {
        sqlx::query_as("SELECT * FROM experiments ORDER BY created_at").fetch_all(self.0).await
    }

    /// The runs of these experiments, in any lifecycle stage.
    pub async fn runs_of(&self, experiment_ids: &[String]) -> sqlx::Result<Vec<RunRow>> {
        let mut all = vec![];
        for id in experiment_ids {
            let rows: Vec<RunRow> = sqlx::query_as("SELECT * FROM experiment_runs WHERE experiment_id = ?")
                .bind(id)
                .fetch_all(self.0)
                .await?;
            all.extend(rows);
        }
        Ok(all)
    }

    pub async fn update_run(&self, id: &str, status: Option<&str>, end_time: Option<i64>, name: Option<&str>) -> sqlx::Result<()> {
        sqlx::query("UPDATE experiment_runs SET status = COALESCE(?, status), end_time = COALESCE(?, end_time), name = COALESCE(?, name) WHERE id = ?")
            .bind(status).bind(end_time).bind(name).bind(id)
            .execute(self.0).await?;
        Ok(())
    }

    pub async fn set_param(&self, run_id: &str, key: &str, value: &str) -> sqlx::Result<()> {
        sqlx::query("INSERT INTO run_params (run_id, key, value) VALUES (?, ?, ?) ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value")
            .bind(run_id).bind(key).bind(value).execute(self.0).await?;
        Ok(())
    }

    pub async fn set_tag(&self, run_id: &str, key: &str, value: &str) -> sqlx::Result<()> {
        sqlx::query("INSERT INTO run_tags (run_id, key, value) VALUES (?, ?, ?) ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value")
            .bind(run_id).bind(key).bind(value).execute(self.0).await?;
        if key == "mlflow.runName" {
            sqlx::query("UPDATE experiment_runs SET name = ? WHERE id = ?").bind(value).bind(run_id).execute(self.0).await?;
        }
        Ok(())
    }

    pub async fn delete_tag(&self, run_id: &str, key: &str) -> sqlx::Result<()> {
        sqlx::query("DELETE FROM run_tags WHERE run_id = ? AND key = ?").bind(run_id).bind(key).execute(self.0).await?;
        Ok(())
    }

    /// Logs a metric point (an identical point logged before is kept once); with a model id, the
    /// point is also linked to that logged model.
    pub async fn log_metric(&self, run_id: &str, m: &MetricRow, model_id: Option<&str>) -> sqlx::Result<()> {
        // SQLite would turn a NaN into NULL: keep it as a flag (MLflow's SQL store does the same).
        let (value, is_nan) = if m.value.is_nan() { (0.0, true) } else { (m.value, false) };
        sqlx::query("INSERT OR IGNORE INTO run_metrics (run_id, key, value, is_nan, timestamp, step) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(run_id).bind(&m.key).bind(value).bind(is_nan).bind(m.timestamp).bind(m.step)
            .execute(self.0).await?;
        if let Some(model_id) = model_id.filter(|id| !id.is_empty()) {
            sqlx::query("INSERT OR IGNORE INTO logged_model_metrics (model_id, run_id, key, value, is_nan, timestamp, step) VALUES (?, ?, ?, ?, ?, ?, ?)")
                .bind(model_id).bind(run_id).bind(&m.key).bind(value).bind(is_nan).bind(m.timestamp).bind(m.step)
                .execute(self.0).await?;
        }
        Ok(())
    }

    /// The metric points linked to a logged model, with the run each came from.
    pub async fn logged_model_metrics(&self, model_id: &str) -> sqlx::Result<Vec<(String, MetricRow)>> {
        let rows: Vec<(String, MetricRow)> = sqlx::query("SELECT run_id, key, value, is_nan, timestamp, step FROM logged_model_metrics WHERE model_id = ? ORDER BY key, step, timestamp")
            .bind(model_id)
            .try_map(|row: sqlx::sqlite::SqliteRow| {
                use sqlx::Row;
                Ok((row.try_get("run_id")?, MetricRow::from_row(&row)?))
            })
            .fetch_all(self.0)
            .await?;
        Ok(rows)
    }

    pub async fn metric_history(&self, run_id: &str, key: &str) -> sqlx::Result<Vec<MetricRow>> {
        sqlx::query_as("SELECT key, value, is_nan, timestamp, step FROM run_metrics WHERE run_id = ? AND key = ? ORDER BY timestamp, step")
            .bind(run_id).bind(key).fetch_all(self.0).await
    }

    pub async fn full_run(&self, run: RunRow) -> sqlx::Result<FullRun> {
        let params = sqlx::query_as::<_, (String, String)>("SELECT key, value FROM run_params WHERE run_id = ? ORDER BY key")
            .bind(&run.id).fetch_all(self.0).await?;
        let tags = sqlx::query_as::<_, (String, String)>("SELECT key, value FROM run_tags WHERE run_id = ? ORDER BY key")
            .bind(&run.id).fetch_all(self.0).await?;
        // The latest value per key, as MLflow keeps it: the greatest (step, timestamp, value).
        let metrics = sqlx::query_as::<_, MetricRow>(
            "SELECT key, value, is_nan, timestamp, step FROM run_metrics m WHERE run_id = ?1 AND rowid = (
                SELECT rowid FROM run_metrics WHERE run_id = ?1 AND key = m.key ORDER BY step DESC, timestamp DESC, value DESC LIMIT 1)
             ORDER BY key",
        )
        .bind(&run.id).fetch_all(self.0).await?;
        let models = sqlx::query_as::<_, LoggedModelRow>("SELECT * FROM logged_models WHERE source_run_id = ? ORDER BY created_at")
            .bind(&run.id).fetch_all(self.0).await?;
        Ok(FullRun { run, params, tags, metrics, models })
    }

    pub async fn insert_logged_model(&self, m: &LoggedModelRow) -> sqlx::Result<()> {
        sqlx::query("INSERT INTO logged_models (id, experiment_id, name, source_run_id, model_type, status, artifact_location, tags, params, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(&m.id).bind(&m.experiment_id).bind(&m.name).bind(&m.source_run_id).bind(&m.model_type).bind(&m.status)
            .bind(&m.artifact_location).bind(&m.tags).bind(&m.params).bind(m.created_at).bind(m.updated_at)
            .execute(self.0).await?;
        Ok(())
    }

    pub async fn logged_model(&self, id: &str) -> sqlx::Result<Option<LoggedModelRow>> {
        sqlx::query_as("SELECT * FROM logged_models WHERE id = ?").bind(id).fetch_optional(self.0).await
    }

    pub async fn update_logged_model(&self, m: &LoggedModelRow) -> sqlx::Result<()> {
        sqlx::query("UPDATE logged_models SET status = ?, tags = ?, updated_at = ? WHERE id = ?")
            .bind(&m.status).bind(&m.tags).bind(m.updated_at).bind(&m.id)
            .execute(self.0).await?;
        Ok(())
    }

    pub async fn logged_models_of(&self, experiment_ids: &[String]) -> sqlx::Result<Vec<LoggedModelRow>> {
        let mut all = vec![];
        for id in experiment_ids {
            let rows: Vec<LoggedModelRow> = sqlx::query_as("SELECT * FROM logged_models WHERE experiment_id = ? ORDER BY created_at DESC")
                .bind(id).fetch_all(self.0).await?;
            all.extend(rows);
        }
        Ok(all)
    }
}
