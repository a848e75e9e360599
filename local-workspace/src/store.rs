//! The local workspace's database: projects, jobs and job runs.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use cml_api::{EngineStatus, Job, JobRun, ShortProject, ShortUser};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::FromRow;

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
}

#[derive(Debug, Clone, FromRow)]
pub struct ProjectRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub dir: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, FromRow)]
pub struct JobRow {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub script: String,
    pub cpu: f64,
    pub memory: f64,
    pub nvidia_gpu: i64,
    pub arguments: String,
    pub environment: String,
    pub timeout: i64,
    pub kill_on_timeout: bool,
    pub schedule: String,
    pub timezone: String,
    pub paused: bool,
    pub parent_id: String,
    pub runtime_identifier: String,
    pub kernel: String,
    pub creator: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, FromRow)]
pub struct RunRow {
    pub id: String,
    pub project_id: String,
    pub job_id: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub scheduling_at: Option<DateTime<Utc>>,
    pub starting_at: Option<DateTime<Utc>>,
    pub running_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub kernel: String,
    pub cpu: f64,
    pub memory: f64,
    pub nvidia_gpu: i64,
    pub arguments: String,
    pub environment: String,
    pub runtime_identifier: String,
    pub creator: String,
    pub log_path: String,
    pub message: String,
}

pub fn user(username: &str) -> ShortUser {
    ShortUser { username: username.into(), name: username.into(), email: String::new() }
}

impl ProjectRow {
    pub fn short(&self) -> ShortProject {
        ShortProject {
            public_identifier: self.id.clone(),
            name: self.name.clone(),
            default_project_engine: "ml_runtime".into(),
            slug: slug(&self.name),
        }
    }
}

pub fn slug(name: &str) -> String {
    name.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect()
}

impl JobRow {
    pub fn job_type(&self) -> &'static str {
        if !self.parent_id.is_empty() {
            "dependent"
        } else if !self.schedule.is_empty() {
            "cron"
        } else {
            "manual"
        }
    }

    pub fn to_api(&self, project: &ProjectRow, owner: &str) -> Job {
        Job {
            id: self.id.clone(),
            name: self.name.clone(),
            script: self.script.clone(),
            cpu: self.cpu,
            memory: self.memory,
            nvidia_gpu: self.nvidia_gpu as i32,
            arguments: self.arguments.clone(),
            job_type: self.job_type().into(),
            kernel: self.kernel.clone(),
            parent_id: self.parent_id.clone(),
            paused: self.paused,
            schedule: self.schedule.clone(),
            english_schedule: if self.schedule.is_empty() { String::new() } else { format!("cron: {}", self.schedule) },
            timeout: self.timeout,
            kill_on_timeout: self.kill_on_timeout,
            timezone: self.timezone.clone(),
            environment: self.environment.clone(),
            runtime_identifier: self.runtime_identifier.clone(),
            runtime_addon_identifiers: vec![],
            engine_image_id: 0,
            creator: user(&self.creator),
            owner: user(owner),
            project: project.short(),
            created_at: Some(self.created_at),
            updated_at: Some(self.updated_at),
        }
    }
}

impl RunRow {
    pub fn status(&self) -> EngineStatus {
        EngineStatus::parse(&self.status)
    }

    pub fn to_api(&self) -> JobRun {
        JobRun {
            id: self.id.clone(),
            project_id: self.project_id.clone(),
            job_id: self.job_id.clone(),
            status: self.status(),
            created_at: Some(self.created_at),
            scheduling_at: self.scheduling_at,
            starting_at: self.starting_at,
            running_at: self.running_at,
            finished_at: self.finished_at,
            kernel: self.kernel.clone(),
            cpu: self.cpu,
            memory: self.memory,
            nvidia_gpu: self.nvidia_gpu as i32,
            arguments: self.arguments.clone(),
            environment: self.environment.clone(),
            creator: user(&self.creator),
            runtime_identifier: self.runtime_identifier.clone(),
        }
    }
}

const ACTIVE: &str = "('ENGINE_SCHEDULING','ENGINE_STARTING','ENGINE_RUNNING','ENGINE_STOPPING','ENGINE_UNKNOWN')";

impl Store {
    pub async fn open(path: &Path) -> Result<Self, sqlx::Error> {
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Store { pool })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await
    }

    // Projects

    pub async fn upsert_default_project(&self, id_if_new: &str, name: &str, dir: &str) -> Result<ProjectRow, sqlx::Error> {
        if let Some(existing) = sqlx::query_as::<_, ProjectRow>("SELECT * FROM projects ORDER BY created_at LIMIT 1")
            .fetch_optional(&self.pool)
            .await?
        {
            sqlx::query("UPDATE projects SET dir = ?, name = ? WHERE id = ?")
                .bind(dir)
                .bind(name)
                .bind(&existing.id)
                .execute(&self.pool)
                .await?;
            return Ok(ProjectRow { dir: dir.into(), name: name.into(), ..existing });
        }
        let now = Utc::now();
        sqlx::query("INSERT INTO projects (id, name, description, dir, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(id_if_new)
            .bind(name)
            .bind("The Lakeline pipeline's jobs, run by the local workspace.")
            .bind(dir)
            .bind(now)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(ProjectRow {
            id: id_if_new.into(),
            name: name.into(),
            description: String::new(),
            dir: dir.into(),
            created_at: now,
            updated_at: now,
        })
    }

    pub async fn projects(&self) -> Result<Vec<ProjectRow>, sqlx::Error> {
        sqlx::query_as("SELECT * FROM projects ORDER BY created_at").fetch_all(&self.pool).await
    }

    pub async fn project(&self, id: &str) -> Result<Option<ProjectRow>, sqlx::Error> {
        sqlx::query_as("SELECT * FROM projects WHERE id = ?").bind(id).fetch_optional(&self.pool).await
    }

    // Jobs

    pub async fn insert_job(&self, job: &JobRow) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO jobs (id, project_id, name, script, cpu, memory, nvidia_gpu, arguments, environment, timeout,
                kill_on_timeout, schedule, timezone, paused, parent_id, runtime_identifier, kernel, creator, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&job.id)
        .bind(&job.project_id)
        .bind(&job.name)
        .bind(&job.script)
        .bind(job.cpu)
        .bind(job.memory)
        .bind(job.nvidia_gpu)
        .bind(&job.arguments)
        .bind(&job.environment)
        .bind(job.timeout)
        .bind(job.kill_on_timeout)
        .bind(&job.schedule)
        .bind(&job.timezone)
        .bind(job.paused)
        .bind(&job.parent_id)
        .bind(&job.runtime_identifier)
        .bind(&job.kernel)
        .bind(&job.creator)
        .bind(job.created_at)
        .bind(job.updated_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn update_job(&self, job: &JobRow) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE jobs SET name = ?, script = ?, cpu = ?, memory = ?, nvidia_gpu = ?, arguments = ?, environment = ?,
                timeout = ?, kill_on_timeout = ?, schedule = ?, parent_id = ?, runtime_identifier = ?, updated_at = ?
             WHERE id = ?",
        )
        .bind(&job.name)
        .bind(&job.script)
        .bind(job.cpu)
        .bind(job.memory)
        .bind(job.nvidia_gpu)
        .bind(&job.arguments)
        .bind(&job.environment)
        .bind(job.timeout)
        .bind(job.kill_on_timeout)
        .bind(&job.schedule)
        .bind(&job.parent_id)
        .bind(&job.runtime_identifier)
        .bind(job.updated_at)
        .bind(&job.id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn delete_job(&self, id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM jobs WHERE id = ?").bind(id).execute(&self.pool).await?;
        Ok(())
    }

    pub async fn jobs(&self, project_id: &str) -> Result<Vec<JobRow>, sqlx::Error> {
        sqlx::query_as("SELECT * FROM jobs WHERE project_id = ? ORDER BY created_at, id")
            .bind(project_id)
            .fetch_all(&self.pool)
            .await
    }

    /// Jobs with a cron schedule that is not paused, in every project.
    pub async fn scheduled_jobs(&self) -> Result<Vec<JobRow>, sqlx::Error> {
        sqlx::query_as("SELECT * FROM jobs WHERE schedule != '' AND paused = 0 ORDER BY created_at, id").fetch_all(&self.pool).await
    }

    pub async fn job(&self, project_id: &str, id: &str) -> Result<Option<JobRow>, sqlx::Error> {
        sqlx::query_as("SELECT * FROM jobs WHERE project_id = ? AND id = ?")
            .bind(project_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    pub async fn dependents(&self, parent_id: &str) -> Result<Vec<JobRow>, sqlx::Error> {
        sqlx::query_as("SELECT * FROM jobs WHERE parent_id = ? ORDER BY created_at, id")
            .bind(parent_id)
            .fetch_all(&self.pool)
            .await
    }

    // Job runs

    pub async fn insert_run(&self, run: &RunRow) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO job_runs (id, project_id, job_id, status, created_at, scheduling_at, starting_at, running_at,
                finished_at, kernel, cpu, memory, nvidia_gpu, arguments, environment, runtime_identifier, creator, log_path, message)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&run.id)
        .bind(&run.project_id)
        .bind(&run.job_id)
        .bind(&run.status)
        .bind(run.created_at)
        .bind(run.scheduling_at)
        .bind(run.starting_at)
        .bind(run.running_at)
        .bind(run.finished_at)
        .bind(&run.kernel)
        .bind(run.cpu)
        .bind(run.memory)
        .bind(run.nvidia_gpu)
        .bind(&run.arguments)
        .bind(&run.environment)
        .bind(&run.runtime_identifier)
        .bind(&run.creator)
        .bind(&run.log_path)
        .bind(&run.message)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn run(&self, job_id: &str, id: &str) -> Result<Option<RunRow>, sqlx::Error> {
        sqlx::query_as("SELECT * FROM job_runs WHERE job_id = ? AND id = ?")
            .bind(job_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    pub async fn active_run(&self, job_id: &str) -> Result<Option<RunRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT * FROM job_runs WHERE job_id = ? AND status IN {ACTIVE} LIMIT 1"))
            .bind(job_id)
            .fetch_optional(&self.pool)
            .await
    }

    /// One page of a job's runs; `statuses` empty means any.
    pub async fn runs_page(
        &self,
        job_id: &str,
        statuses: &[EngineStatus],
        newest_first: bool,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<RunRow>, usize), sqlx::Error> {
        let status_clause = if statuses.is_empty() {
            String::new()
        } else {
            let list = statuses.iter().map(|s| format!("'{}'", s.as_str())).collect::<Vec<_>>().join(",");
            format!(" AND status IN ({list})")
        };
        let order = if newest_first { "DESC" } else { "ASC" };
        let rows = sqlx::query_as(&format!(
            "SELECT * FROM job_runs WHERE job_id = ?{status_clause} ORDER BY created_at {order}, id {order} LIMIT ? OFFSET ?"
        ))
        .bind(job_id)
        .bind(limit as i64)
        .bind(offset as i64)
        .fetch_all(&self.pool)
        .await?;
        let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM job_runs WHERE job_id = ?{status_clause}"))
            .bind(job_id)
            .fetch_one(&self.pool)
            .await?;
        Ok((rows, total as usize))
    }

    /// Moves a run to `status`, stamping the matching phase time. Returns false when the run had
    /// already moved past it (a terminal status is never overwritten, nor is a stop).
    pub async fn set_run_status(&self, id: &str, status: EngineStatus, message: Option<&str>) -> Result<bool, sqlx::Error> {
        let now = Utc::now();
        let column = match status {
            EngineStatus::Starting => Some("starting_at"),
            EngineStatus::Running => Some("running_at"),
            s if s.is_terminal() => Some("finished_at"),
            _ => None,
        };
        let set_time = column.map(|c| format!(", {c} = COALESCE({c}, ?)")).unwrap_or_default();
        // Starting and running only move a run forward: a stop asked for meanwhile wins.
        let from = match status {
            EngineStatus::Starting | EngineStatus::Running => "('ENGINE_SCHEDULING','ENGINE_STARTING')",
            _ => ACTIVE,
        };
        let sql = format!(
            "UPDATE job_runs SET status = ?, message = COALESCE(?, message){set_time}
             WHERE id = ? AND status IN {from}"
        );
        let mut query = sqlx::query(&sql).bind(status.as_str()).bind(message);
        if column.is_some() {
            query = query.bind(now);
        }
        let result = query.bind(id).execute(&self.pool).await?;
        Ok(result.rows_affected() == 1)
    }

    /// Marks runs a previous process left active as failed; returns them.
    pub async fn fail_orphaned_runs(&self, message: &str) -> Result<Vec<RunRow>, sqlx::Error> {
        let orphans: Vec<RunRow> = sqlx::query_as(&format!("SELECT * FROM job_runs WHERE status IN {ACTIVE}"))
            .fetch_all(&self.pool)
            .await?;
        for run in &orphans {
            self.set_run_status(&run.id, EngineStatus::Failed, Some(message)).await?;
        }
        Ok(orphans)
    }
}
