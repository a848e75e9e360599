//! The UI's view types (`app::api`), built in one place from Lakeline's store rows and domain.
//! Nothing else constructs them; the store and the tracker never see them.

use app::api::{ComparisonRow, PipelineRunDetail, RunComparison, ScheduleView, AuditEntry, DeliveryView, DeploymentView, WebhookView, KeyValue, Lineage, PipelineRunSummary, NoteView, QualityPoint, QualityTrend, SnapshotView, StageLog, StageView, TokenView, UserView};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

use domain::{check_margin, trained_by, BatchFigures, DeploymentState, PipelineSettings, TrainedRange};

use crate::store::audit::AuditEvent;
use crate::store::pipeline_runs::{PipelineRunRow, QualityRow, StageRow};
use crate::store::alerts::{DeliveryRow, WebhookRow};
use crate::store::notes::NoteRow;
use crate::store::tokens::TokenRow;
use crate::store::users::UserRow;

pub fn rfc3339(t: &DateTime<Utc>) -> String {
    cml_api::timestamp::format(t)
}

fn seconds(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_milliseconds() as f64 / 1000.0
}

/// A stage's job run; an active one's duration runs up to `now`.
pub fn stage(row: &StageRow, now: DateTime<Utc>) -> StageView {
    let start = row.running_at.unwrap_or(row.created_at);
    let end = row.finished_at.or_else(|| row.state.is_active().then_some(now));
    StageView {
        stage: row.stage,
        attempt: row.attempt,
        job_id: row.job_id.clone(),
        run_id: row.job_run_id.clone(),
        state: row.state,
        created_at: Some(rfc3339(&row.created_at)),
        running_at: row.running_at.as_ref().map(rfc3339),
        finished_at: row.finished_at.as_ref().map(rfc3339),
        duration_seconds: end.map(|e| seconds(start, e)),
    }
}

/// How many of a schedule's next times are shown.
const NEXT_RUNS: usize = 5;

/// New Batch's schedule, with its next times after `now`.
pub fn schedule(job: &cml_api::Job, now: DateTime<Utc>) -> ScheduleView {
    let parsed = (!job.schedule.is_empty()).then(|| cml_api::schedule::Schedule::parse(&job.schedule, &job.timezone).ok()).flatten();
    let timezone = if job.timezone.is_empty() && !job.schedule.is_empty() { cml_api::schedule::DEFAULT_TIMEZONE.to_string() } else { job.timezone.clone() };
    ScheduleView {
        job_name: job.name.clone(),
        cron: job.schedule.clone(),
        timezone,
        english: job.english_schedule.clone(),
        paused: job.paused,
        next: parsed.filter(|_| !job.paused).map(|s| s.upcoming(now, NEXT_RUNS).iter().map(rfc3339).collect()).unwrap_or_default(),
    }
}

/// A pipeline run as lists show it.
pub fn summary(run: &PipelineRunRow, stages: &[StageRow], now: DateTime<Utc>) -> PipelineRunSummary {
    PipelineRunSummary {
        id: run.id,
        status: run.status,
        triggered_by: run.triggered_by.clone(),
        source: run.source,
        created_at: rfc3339(&run.created_at),
        finished_at: run.finished_at.as_ref().map(rfc3339),
        duration_seconds: Some(seconds(run.created_at, run.finished_at.unwrap_or(now))),
        stages: stages.iter().map(|s| stage(s, now)).collect(),
        snapshot_id: run.lineage.snapshot_id.clone(),
        parent_snapshot_id: run.lineage.parent_snapshot_id.clone(),
        rows_added: run.lineage.rows_added,
        accuracy: run.lineage.accuracy,
        recall: run.lineage.recall,
        model_version: run.lineage.model_version_number,
        deployment: run.lineage.deployment(),
        note_count: run.note_count,
        retry_from: run.status.retry_from(&stages.iter().map(StageRow::outcome).collect::<Vec<_>>()),
        gate: run.lineage.gate(),
    }
}

pub fn webhook(row: WebhookRow) -> WebhookView {
    let target = reqwest::Url::parse(&row.url).map(|u| format!("{}://{}/…", u.scheme(), u.host_str().unwrap_or_default())).unwrap_or_else(|_| "—".into());
    WebhookView {
        events: row.events(),
        id: row.id,
        name: row.name,
        target,
        kind: row.kind,
        created_by: row.created_by,
        created_at: rfc3339(&row.created_at),
    }
}

pub fn delivery(row: DeliveryRow) -> DeliveryView {
    DeliveryView {
        next_attempt_at: (row.state == "pending").then(|| rfc3339(&row.next_attempt_at)),
        id: row.id,
        webhook: row.webhook_name,
        pipeline_run_id: row.pipeline_run_id,
        event: row.event,
        state: row.state,
        attempts: row.attempts,
        last_error: row.last_error,
        created_at: rfc3339(&row.created_at),
        delivered_at: row.delivered_at.as_ref().map(rfc3339),
    }
}

pub fn note(row: NoteRow) -> NoteView {
    NoteView { author: row.author, at: rfc3339(&row.created_at), text: row.body }
}

/// The lineage as Lakeline stored it: the ids, and what was read of them once the run ended.
pub fn lineage(run: &PipelineRunRow) -> Lineage {
    let l = &run.lineage;
    let d = run.detail().unwrap_or_default();
    let kv = |pairs: Vec<(String, String)>| pairs.into_iter().map(|(key, value)| KeyValue { key, value }).collect();
    Lineage {
        experiment_run_name: d.experiment_run_name,
        params: kv(d.params),
        metrics: kv(d.metrics),
        tags: kv(d.tags),
        registered_model_name: d.registered_model_name,
        model_version_run_id: d.model_version_run_id,
        model_name: d.model_name,
        build_status: d.build_status,
        build_version_id: d.build_version_id,
        problems: d.problems,
        snapshot_id: l.snapshot_id.clone(),
        parent_snapshot_id: l.parent_snapshot_id.clone(),
        snapshot_committed_at: l.snapshot_committed_at.clone(),
        rows_added: l.rows_added,
        table: l.source_table.clone(),
        experiment_id: l.experiment_id.clone(),
        experiment_run_id: l.experiment_run_id.clone(),
        row_count: l.row_count.clone(),
        registered_model_id: l.registered_model_id.clone(),
        model_version_id: l.model_version_id.clone(),
        model_version_number: l.model_version_number,
        model_id: l.model_id.clone(),
        build_id: l.build_id.clone(),
        deployment_id: l.deployment_id.clone(),
        deployment: l.deployment(),
    }
}

/// A stage's log as last read; what to say when none was found yet.
pub fn log(row: &StageRow) -> StageLog {
    StageLog {
        stage: row.stage,
        attempt: row.attempt,
        job_run_id: row.job_run_id.clone(),
        path: row.log_path.clone().unwrap_or_default(),
        text: row.log_tail.clone().unwrap_or_else(|| "No log file in the project for this job run (yet).".into()),
    }
}

/// Runs side by side: the figures a lead compares, then every param, metric and tag any of the
/// runs has; a row differs when not every run has the same value.
pub fn comparison(details: &[PipelineRunDetail]) -> RunComparison {
    let mut rows = vec![];
    let mut row = |section: &str, key: &str, values: Vec<Option<String>>| {
        let differs = values.windows(2).any(|w| w[0] != w[1]);
        rows.push(ComparisonRow { section: section.into(), key: key.into(), values, differs });
    };
    let each = |f: &dyn Fn(&PipelineRunDetail) -> Option<String>| details.iter().map(f).collect::<Vec<_>>();
    row("Run", "status", each(&|d| Some(d.run.status.to_string())));
    row("Run", "started", each(&|d| Some(d.run.created_at.clone())));
    row("Run", "triggered by", each(&|d| Some(d.run.triggered_by.clone())));
    row("Data", "snapshot range", each(&|d| {
        d.lineage.snapshot_id.as_ref().map(|s| format!("{} → {s}", d.lineage.parent_snapshot_id.as_deref().unwrap_or("(table start)")))
    }));
    row("Data", "rows added", each(&|d| d.lineage.rows_added.map(|n| n.to_string())));
    row("Data", "rows trained on", each(&|d| d.lineage.row_count.clone()));
    row("Quality", "accuracy", each(&|d| d.run.accuracy.map(|v| format!("{v:.4}"))));
    row("Quality", "recall", each(&|d| d.run.recall.map(|v| format!("{v:.4}"))));
    row("Quality", "gate", each(&|d| d.run.gate.as_ref().map(|g| g.summary())));
    row("Model", "model version", each(&|d| d.lineage.model_version_number.map(|v| format!("v{v}"))));
    row("Model", "deployment", each(&|d| d.lineage.deployment.map(|s| s.to_string())));
    for (section, pick) in [
        ("Params", (|l: &Lineage| &l.params) as fn(&Lineage) -> &Vec<KeyValue>),
        ("Metrics", |l: &Lineage| &l.metrics),
        ("Tags", |l: &Lineage| &l.tags),
    ] {
        let keys: std::collections::BTreeSet<&str> = details.iter().flat_map(|d| pick(&d.lineage).iter().map(|kv| kv.key.as_str())).collect();
        for key in keys {
            row(section, key, each(&|d| pick(&d.lineage).iter().find(|kv| kv.key == key).map(|kv| kv.value.clone())));
        }
    }
    RunComparison { runs: details.iter().map(|d| d.run.id).collect(), rows }
}

/// The Data page's snapshots, from the runs that committed them (newest first); each names the
/// runs whose retrain read it, by the ranges their retrains read.
pub fn snapshots(rows: &[PipelineRunRow]) -> Vec<SnapshotView> {
    let parents: HashMap<String, Option<String>> =
        rows.iter().filter_map(|r| Some((r.lineage.snapshot_id.clone()?, r.lineage.parent_snapshot_id.clone()))).collect();
    let ranges: Vec<TrainedRange> = rows
        .iter()
        .filter_map(|r| Some(TrainedRange { pipeline_run_id: r.id, from: r.lineage.trained_from.clone(), to: r.lineage.trained_to.clone()? }))
        .collect();
    let mut trained = trained_by(&parents, &ranges);
    rows.iter()
        .filter_map(|r| {
            let snapshot_id = r.lineage.snapshot_id.clone()?;
            let figures = r.lineage.figures();
            let mut trained_by = trained.remove(&snapshot_id).unwrap_or_default();
            trained_by.sort_unstable();
            Some(SnapshotView {
                parent_id: r.lineage.parent_snapshot_id.clone(),
                committed_at: r.lineage.snapshot_committed_at.clone(),
                rows_added: r.lineage.rows_added,
                committed_by: r.id,
                drifted: figures.as_ref().is_some_and(BatchFigures::drifted),
                figures,
                trained_by,
                snapshot_id,
            })
        })
        .collect()
}

/// The quality chart's runs, and the gate's thresholds: the live run's figures less the margins.
pub fn quality(rows: Vec<QualityRow>, live: Option<&PipelineRunRow>, settings: &PipelineSettings) -> QualityTrend {
    let points = rows
        .into_iter()
        .map(|r| QualityPoint {
            run_id: r.id,
            created_at: rfc3339(&r.created_at),
            accuracy: r.accuracy,
            recall: r.recall,
            status: r.status,
            gate: r.quality_gate.as_deref().and_then(|json| serde_json::from_str(json).ok()),
        })
        .collect();
    let live = live.filter(|r| r.lineage.deployment() == Some(DeploymentState::Deployed));
    let threshold = |figure: Option<f64>, margin: &str| Some(figure? - check_margin("", margin).ok()?);
    QualityTrend {
        points,
        accuracy_threshold: live.and_then(|r| threshold(r.lineage.accuracy, &settings.gate_accuracy_margin)),
        recall_threshold: live.and_then(|r| threshold(r.lineage.recall, &settings.gate_recall_margin)),
    }
}

/// The deployment a pipeline run made, when its lineage reached one.
pub fn audit_entry(event: AuditEvent) -> AuditEntry {
    AuditEntry { at: rfc3339(&event.at), actor: event.actor, address: event.address, action: event.action, detail: event.detail, outcome: event.outcome }
}

pub fn token(row: TokenRow) -> TokenView {
    TokenView {
        id: row.id,
        owner: row.owner,
        name: row.name,
        role: row.role,
        prefix: row.prefix,
        created_at: rfc3339(&row.created_at),
        created_by: row.created_by,
        last_used_at: row.last_used_at.as_ref().map(rfc3339),
        revoked_at: row.revoked_at.as_ref().map(rfc3339),
    }
}

pub fn user(row: UserRow) -> UserView {
    UserView {
        proxy_only: !row.password_hash.starts_with('$'),
        name: row.name,
        role: row.role,
        created_at: rfc3339(&row.created_at),
        disabled: row.disabled,
    }
}

pub fn deployment(run: &PipelineRunRow) -> Option<DeploymentView> {
    let l = &run.lineage;
    let model_id = l.model_id.clone()?;
    Some(DeploymentView {
        pipeline_run_id: Some(run.id),
        // The name is read once the run ended; until then the id stands for it.
        model_name: run.detail().and_then(|d| d.model_name).unwrap_or_else(|| model_id.clone()),
        model_id,
        build_id: l.build_id.clone()?,
        deployment_id: l.deployment_id.clone()?,
        state: l.deployment(),
        version: l.model_version_number,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use domain::{JobRunState, Stage};

    #[test]
    fn an_active_stage_lasts_until_now_and_a_finished_one_until_it_ended() {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap();
        let mut row = StageRow {
            pipeline_run_id: 1,
            stage: Stage::RetrainXgboost,
            attempt: 1,
            job_id: "j".into(),
            job_run_id: "r".into(),
            state: JobRunState::Running,
            created_at: t0,
            running_at: Some(t0 + chrono::Duration::seconds(2)),
            finished_at: None,
            log_path: None,
            log_tail: None,
            log_final: false,
        };
        let now = t0 + chrono::Duration::seconds(12);
        assert_eq!(stage(&row, now).duration_seconds, Some(10.0), "counted from when it began running");
        row.state = JobRunState::Succeeded;
        row.finished_at = Some(t0 + chrono::Duration::seconds(7));
        assert_eq!(stage(&row, now).duration_seconds, Some(5.0));
        row.state = JobRunState::Scheduling;
        row.running_at = None;
        row.finished_at = None;
        assert_eq!(stage(&row, now).duration_seconds, Some(12.0), "waiting counts from creation");
    }
}
