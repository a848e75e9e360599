//! Fires scheduled jobs, as CML does: a job with a cron schedule (and not paused) gets a run each
//! time its schedule comes round in its time zone, created by the job's creator. A time that comes
//! while the job still has an active run is skipped (a job runs at most once at a time), and
//! said so in the workspace's log.

use std::sync::Weak;
use std::time::Duration;

use chrono::{DateTime, Utc};
use cml_api::schedule::Schedule;
use cml_api::CreateJobRunRequest;

use crate::Workspace;

/// How often the schedules are looked at; a run starts at most this late.
const TICK: Duration = Duration::from_secs(1);

/// Runs until the workspace is gone (or the task is aborted at shutdown).
pub(crate) async fn fire(workspace: Weak<Workspace>) {
    let mut checked = Utc::now();
    loop {
        tokio::time::sleep(TICK).await;
        let Some(ws) = workspace.upgrade() else { return };
        let now = Utc::now();
        if let Err(e) = fire_due(&ws, checked, now).await {
            tracing::warn!(error = %e, "could not read the scheduled jobs");
            continue;
        }
        checked = now;
    }
}

/// Starts a run of each scheduled job whose schedule came round in `(from, to]`.
async fn fire_due(ws: &Workspace, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<(), sqlx::Error> {
    for job in ws.store.scheduled_jobs().await? {
        let schedule = match Schedule::parse(&job.schedule, &job.timezone) {
            Ok(schedule) => schedule,
            Err(e) => {
                tracing::warn!(job = %job.id, error = %e, "a job's schedule cannot be read; it does not run");
                continue;
            }
        };
        if !schedule.fires_between(from, to) {
            continue;
        }
        let Some(project) = ws.store.project(&job.project_id).await? else { continue };
        match ws.runner.start_run(&project, &job, CreateJobRunRequest::default(), &job.creator).await {
            Ok(run) => tracing::info!(job = %job.name, run = %run.id, schedule = %job.schedule, timezone = %job.timezone, "scheduled run started"),
            Err(e) => tracing::warn!(job = %job.name, error = %e.message, "a scheduled run was skipped"),
        }
    }
    Ok(())
}
