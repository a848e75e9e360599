//! Resolves a pipeline run's lineage by ids: snapshot range → experiment run → registered model
//! version → build → deployment. Never by recency (the lab's scripts pick "the latest run" from a
//! list in the wrong order; Lakeline follows the ids instead).

use app::api::{KeyValue, Lineage, PipelineSettings};
use cml_api::ExperimentRun;
use serde_json::Value;

use crate::cml::{CmlClient, CmlError};
use crate::store::pipeline_runs::{LineageIds, PipelineRunRow, StageRow};

/// The New Batch job's own summary of the snapshot it committed, if it wrote one.
pub async fn batch_summary(client: &CmlClient, project_id: &str, batch_run_id: &str) -> Option<Value> {
    let bytes = client.download_project_file(project_id, &format!("logs/new_batch/{batch_run_id}.json")).await.ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn json_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// A quality figure: the metric of that name, else the param (the lab logs them as params).
pub fn quality(run: &ExperimentRun, key: &str) -> Option<f64> {
    run.metric(key).or_else(|| run.param(key).and_then(|p| p.trim().parse().ok()))
}

/// Finds the retrain's experiment run: the one tagged with the batch's snapshot id, or — for
/// scripts that write no summary — the one that ran inside the retrain job run's time window.
pub fn pick_experiment_run<'a>(runs: &'a [ExperimentRun], snapshot_id: Option<&str>, retrain: Option<&StageRow>) -> Option<&'a ExperimentRun> {
    if let Some(snapshot) = snapshot_id {
        if let Some(run) = runs.iter().find(|r| r.tag("iceberg_snapshot_id") == Some(snapshot)) {
            return Some(run);
        }
    }
    let stage = retrain?;
    let from = stage.running_at.unwrap_or(stage.created_at);
    let to = stage.finished_at?;
    runs.iter().find(|r| r.start_time.is_some_and(|t| t >= from && t <= to))
}

/// Resolves what can be resolved now; returns the update and the problems met, in words.
pub async fn resolve(
    client: &CmlClient,
    project_id: &str,
    settings: &PipelineSettings,
    experiment_name: &str,
    run: &PipelineRunRow,
    stages: &[StageRow],
) -> (LineageIds, Vec<String>) {
    let mut update = LineageIds::default();
    let mut problems = vec![];
    let stage = |i: i64| stages.iter().find(|s| s.stage == i);
    let succeeded = |i: i64| stage(i).is_some_and(|s| s.status == "ENGINE_SUCCEEDED");

    // Snapshot range, from New Batch's summary.
    if run.lineage.snapshot_id.is_none() && succeeded(0) {
        if let Some(summary) = batch_summary(client, project_id, &stage(0).expect("succeeded").job_run_id).await {
            update.snapshot_id = json_text(&summary["snapshot_id"]);
            update.parent_snapshot_id = json_text(&summary["parent_id"]);
            update.snapshot_committed_at = json_text(&summary["committed_at"]);
            update.rows_added = summary["rows_added"].as_i64();
            update.source_table = json_text(&summary["table"]);
        }
    }
    let snapshot = update.snapshot_id.clone().or_else(|| run.lineage.snapshot_id.clone());

    // The experiment run the retrain logged.
    let mut experiment_run: Option<ExperimentRun> = None;
    if succeeded(1) && run.lineage.experiment_run_id.is_none() {
        match client.find_experiment(project_id, experiment_name).await {
            Ok(Some(experiment)) => match client.list_experiment_runs(project_id, &experiment.id).await {
                Ok(runs) => match pick_experiment_run(&runs, snapshot.as_deref(), stage(1)) {
                    Some(found) => {
                        update.experiment_id = Some(experiment.id.clone());
                        update.experiment_run_id = Some(found.id.clone());
                        experiment_run = Some(found.clone());
                    }
                    None => problems.push(format!("no run of experiment {experiment_name:?} is tagged with snapshot {}", snapshot.as_deref().unwrap_or("?"))),
                },
                Err(e) => problems.push(format!("could not list the experiment's runs: {e}")),
            },
            Ok(None) => problems.push(format!("experiment {experiment_name:?} does not exist")),
            Err(e) => problems.push(format!("could not look up the experiment: {e}")),
        }
    } else if let (Some(experiment_id), Some(run_id)) = (&run.lineage.experiment_id, &run.lineage.experiment_run_id) {
        experiment_run = client.get_experiment_run(project_id, experiment_id, run_id).await.ok();
    }
    if let Some(er) = &experiment_run {
        update.accuracy = quality(er, &settings.accuracy_key);
        update.recall = quality(er, &settings.recall_key);
        update.row_count = er.tag("row_count").map(String::from);
        if snapshot.is_none() {
            update.snapshot_id = er.tag("iceberg_snapshot_id").filter(|s| !s.is_empty()).map(String::from);
            update.parent_snapshot_id = er.tag("iceberg_parent_id").filter(|s| !s.is_empty()).map(String::from);
            update.snapshot_committed_at = er.tag("iceberg_snapshot_committed_at").map(String::from);
        }
    }

    // Registered version → build → deployment, by ids.
    if succeeded(2) && run.lineage.model_version_id.is_none() {
        if let Some(er) = &experiment_run {
            match er.data.registered_model_metadata.iter().max_by_key(|m| m.version_number) {
                Some(meta) => {
                    update.registered_model_id = Some(meta.model_id.clone());
                    update.model_version_id = Some(meta.model_version_id.clone());
                    update.model_version_number = Some(meta.version_number as i64);
                    match find_build(client, project_id, &meta.model_version_id).await {
                        Ok(Some((model_id, build_id, deployment))) => {
                            update.model_id = Some(model_id);
                            update.build_id = Some(build_id);
                            if let Some((id, status)) = deployment {
                                update.deployment_id = Some(id);
                                update.deployment_status = Some(status);
                            } else {
                                problems.push("the build has no deployment".into());
                            }
                        }
                        Ok(None) => problems.push(format!("no model build was made from version {}", meta.model_version_id)),
                        Err(e) => problems.push(format!("could not list model builds: {e}")),
                    }
                }
                None => problems.push("the experiment run was not registered as a model version".into()),
            }
        }
    }
    (update, problems)
}

/// The build made from a registered version (by its id), its model, and its newest deployment.
async fn find_build(client: &CmlClient, project_id: &str, version_id: &str) -> Result<Option<(String, String, Option<(String, String)>)>, CmlError> {
    for model in client.list_models(project_id).await? {
        for build in client.list_model_builds(project_id, &model.id).await? {
            if build.registered_model_version_id == version_id {
                let deployments = client.list_model_deployments(project_id, &model.id, &build.id).await?;
                let newest = deployments.into_iter().max_by_key(|d| d.created_at).map(|d| (d.id, d.status));
                return Ok(Some((model.id, build.id, newest)));
            }
        }
    }
    Ok(None)
}

/// The lineage as Lakeline stored it (no workspace call).
pub fn stored(run: &PipelineRunRow) -> Lineage {
    Lineage {
        snapshot_id: run.lineage.snapshot_id.clone(),
        parent_snapshot_id: run.lineage.parent_snapshot_id.clone(),
        snapshot_committed_at: run.lineage.snapshot_committed_at.clone(),
        rows_added: run.lineage.rows_added,
        table: run.lineage.source_table.clone(),
        experiment_id: run.lineage.experiment_id.clone(),
        experiment_run_id: run.lineage.experiment_run_id.clone(),
        row_count: run.lineage.row_count.clone(),
        registered_model_id: run.lineage.registered_model_id.clone(),
        model_version_id: run.lineage.model_version_id.clone(),
        model_version_number: run.lineage.model_version_number,
        model_id: run.lineage.model_id.clone(),
        build_id: run.lineage.build_id.clone(),
        deployment_id: run.lineage.deployment_id.clone(),
        deployment_status: run.lineage.deployment_status.clone(),
        ..Default::default()
    }
}

/// The full lineage for the run detail page: the stored ids, followed live in the workspace.
pub async fn detail(client: &CmlClient, project_id: &str, run: &PipelineRunRow) -> Lineage {
    let mut lineage = stored(run);
    let kv = |pairs: Vec<(String, String)>| pairs.into_iter().map(|(key, value)| KeyValue { key, value }).collect::<Vec<_>>();
    if let (Some(e), Some(r)) = (&run.lineage.experiment_id, &run.lineage.experiment_run_id) {
        match client.get_experiment_run(project_id, e, r).await {
            Ok(er) => {
                lineage.experiment_run_name = Some(er.name.clone());
                lineage.params = kv(er.data.params.iter().map(|t| (t.key.clone(), t.value.clone())).collect());
                lineage.metrics = kv(er.data.metrics.iter().map(|m| (m.key.clone(), format!("{}", m.value))).collect());
                lineage.tags = kv(er.data.tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect());
            }
            Err(e) => lineage.problems.push(format!("experiment run: {e}")),
        }
    }
    if let (Some(m), Some(v)) = (&run.lineage.registered_model_id, &run.lineage.model_version_id) {
        match client.get_registered_model_version(m, v).await {
            Ok(version) => lineage.model_version_run_id = Some(version.run_id().to_string()),
            Err(e) => lineage.problems.push(format!("registered model version: {e}")),
        }
        if let Ok(model) = client.get_registered_model(m).await {
            lineage.registered_model_name = Some(model.name);
        }
    }
    if let (Some(model_id), Some(build_id)) = (&run.lineage.model_id, &run.lineage.build_id) {
        if let Ok(model) = client.get_model(project_id, model_id).await {
            lineage.model_name = Some(model.name);
        }
        match client.get_model_build(project_id, model_id, build_id).await {
            Ok(build) => {
                lineage.build_status = Some(build.status);
                lineage.build_version_id = Some(build.registered_model_version_id);
            }
            Err(e) => lineage.problems.push(format!("model build: {e}")),
        }
        if let Some(deployment_id) = &run.lineage.deployment_id {
            match client.get_model_deployment(project_id, model_id, build_id, deployment_id).await {
                Ok(d) => lineage.deployment_status = Some(d.status),
                Err(e) => lineage.problems.push(format!("deployment: {e}")),
            }
        }
    }
    lineage
}

/// The pipeline status a set of stage runs adds up to.
pub fn pipeline_status(stages: &[StageRow], now: chrono::DateTime<chrono::Utc>) -> (&'static str, Option<chrono::DateTime<chrono::Utc>>) {
    use cml_api::EngineStatus::*;
    let mut last_finished = None;
    for s in stages {
        match s.engine_status() {
            Failed => return ("failed", s.finished_at),
            Stopped => return ("stopped", s.finished_at),
            TimedOut => return ("timedout", s.finished_at),
            Skipped => return ("incomplete", s.finished_at),
            Succeeded => last_finished = s.finished_at,
            _ => return ("running", None),
        }
    }
    match stages.last() {
        Some(s) if s.stage == 2 && s.engine_status() == Succeeded => ("succeeded", s.finished_at),
        // The next job should start within moments of its parent's success.
        Some(_) if last_finished.is_some_and(|t| now - t > chrono::Duration::seconds(120)) => ("incomplete", last_finished),
        _ => ("running", None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Duration, TimeZone, Utc};
    use cml_api::Tag;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap() + Duration::seconds(seconds)
    }

    /// A stage run that started at `start` and, when terminal, ended ten seconds later.
    fn stage(stage: i64, status: &str, start: i64) -> StageRow {
        let terminal = cml_api::EngineStatus::parse(status).is_terminal();
        StageRow {
            pipeline_run_id: 1,
            stage,
            job_id: format!("job-{stage}"),
            job_run_id: format!("run-{stage}"),
            status: status.into(),
            created_at: at(start),
            running_at: Some(at(start + 1)),
            finished_at: terminal.then(|| at(start + 10)),
        }
    }

    #[test]
    fn a_pipeline_run_succeeds_only_when_all_three_stages_did() {
        let now = at(100);
        let ok = "ENGINE_SUCCEEDED";
        assert_eq!(pipeline_status(&[], now), ("running", None), "just triggered");
        assert_eq!(pipeline_status(&[stage(0, "ENGINE_RUNNING", 0)], now), ("running", None));
        assert_eq!(pipeline_status(&[stage(0, ok, 0), stage(1, "ENGINE_STARTING", 10)], now), ("running", None));
        let all = [stage(0, ok, 0), stage(1, ok, 10), stage(2, ok, 20)];
        assert_eq!(pipeline_status(&all, now), ("succeeded", Some(at(30))));
    }

    #[test]
    fn the_first_stage_that_did_not_succeed_decides() {
        let now = at(100);
        let ok = "ENGINE_SUCCEEDED";
        for (status, expected) in [("ENGINE_FAILED", "failed"), ("ENGINE_STOPPED", "stopped"), ("ENGINE_TIMEDOUT", "timedout"), ("ENGINE_SKIPPED", "incomplete")] {
            let stages = [stage(0, ok, 0), stage(1, status, 10)];
            assert_eq!(pipeline_status(&stages, now), (expected, Some(at(20))), "{status}");
        }
        // A stopped New Batch ends the run even though nothing follows it.
        assert_eq!(pipeline_status(&[stage(0, "ENGINE_STOPPED", 0)], now), ("stopped", Some(at(10))));
    }

    #[test]
    fn a_chain_whose_next_job_never_starts_becomes_incomplete_after_two_minutes() {
        let stages = [stage(0, "ENGINE_SUCCEEDED", 0)];
        assert_eq!(pipeline_status(&stages, at(10 + 120)), ("running", None), "still within the grace");
        assert_eq!(pipeline_status(&stages, at(10 + 121)), ("incomplete", Some(at(10))));
    }

    fn experiment_run(id: &str, snapshot: Option<&str>, start: i64) -> ExperimentRun {
        let mut run = ExperimentRun { id: id.into(), start_time: Some(at(start)), ..Default::default() };
        if let Some(s) = snapshot {
            run.data.tags.push(Tag { key: "iceberg_snapshot_id".into(), value: s.into() });
        }
        run
    }

    #[test]
    fn the_experiment_run_is_found_by_its_snapshot_tag_not_by_recency() {
        let runs = [experiment_run("newest", Some("222"), 50), experiment_run("ours", Some("111"), 5), experiment_run("untagged", None, 12)];
        let retrain = stage(1, "ENGINE_SUCCEEDED", 10);
        assert_eq!(pick_experiment_run(&runs, Some("111"), Some(&retrain)).map(|r| r.id.as_str()), Some("ours"));
    }

    #[test]
    fn without_a_snapshot_the_run_inside_the_retrain_s_time_window_is_taken() {
        // The retrain ran from 11 s to 20 s.
        let retrain = stage(1, "ENGINE_SUCCEEDED", 10);
        let runs = [experiment_run("before", None, 5), experiment_run("inside", None, 12), experiment_run("after", None, 25)];
        assert_eq!(pick_experiment_run(&runs, None, Some(&retrain)).map(|r| r.id.as_str()), Some("inside"));
        assert_eq!(pick_experiment_run(&runs, Some("999"), Some(&retrain)).map(|r| r.id.as_str()), Some("inside"), "an unknown snapshot falls back to the window");
        assert!(pick_experiment_run(&runs[..1], None, Some(&retrain)).is_none(), "nothing ran in the window");
        assert!(pick_experiment_run(&runs, None, None).is_none(), "no retrain, no guess");
        let unfinished = stage(1, "ENGINE_RUNNING", 10);
        assert!(pick_experiment_run(&runs, None, Some(&unfinished)).is_none(), "an open window is not a window");
    }

    #[test]
    fn quality_reads_the_metric_else_the_param() {
        let mut run = ExperimentRun::default();
        run.data.params.push(Tag { key: "accuracy".into(), value: " 0.9222222222222223 ".into() });
        assert_eq!(quality(&run, "accuracy"), Some(0.9222222222222223));
        run.data.metrics.push(cml_api::Metric { key: "accuracy".into(), value: 0.5, ..Default::default() });
        assert_eq!(quality(&run, "accuracy"), Some(0.5), "the metric wins");
        assert_eq!(quality(&run, "recall"), None);
    }
}
