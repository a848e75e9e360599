//! Resolves a pipeline run's lineage by ids: snapshot range → experiment run → registered model
//! version → build → deployment. Never by recency (the lab's scripts pick "the latest run" from a
//! list in the wrong order; Lakeline follows the ids instead).

use cml_api::ExperimentRun;
use domain::{BatchFigures, DeploymentState, JobRunState, PipelineSettings, QualityGate, Stage};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;

use crate::cml::{CmlClient, CmlError};
use crate::store::pipeline_runs::{LineageDetail, LineageIds, PipelineRunRow, StageRow};

/// The New Batch job's own summary of the snapshot it committed, if it wrote one (`None` also
/// for a file that is not JSON: the lab's own script writes none).
pub async fn batch_summary(client: &CmlClient, project_id: &str, batch_run_id: &str) -> Result<Option<Value>, CmlError> {
    match client.download_project_file(project_id, &format!("logs/new_batch/{batch_run_id}.json")).await {
        Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
        Err(CmlError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A summary's field as text: `None` for null or empty.
pub fn json_text(v: &Value) -> Option<String> {
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
/// Among runs tagged with the snapshot (a failed attempt may have logged one too before a retry),
/// the one inside the retrain's (latest attempt's) window wins.
pub fn pick_experiment_run<'a>(runs: &'a [ExperimentRun], snapshot_id: Option<&str>, retrain: Option<&StageRow>) -> Option<&'a ExperimentRun> {
    let window = retrain.and_then(|stage| Some((stage.running_at.unwrap_or(stage.created_at), stage.finished_at?)));
    let in_window = |r: &ExperimentRun| window.is_some_and(|(from, to)| r.start_time.is_some_and(|t| t >= from && t <= to));
    if let Some(snapshot) = snapshot_id {
        let tagged: Vec<&ExperimentRun> = runs.iter().filter(|r| r.tag("iceberg_snapshot_id") == Some(snapshot)).collect();
        if let Some(run) = tagged.iter().copied().find(|r| in_window(r)).or(tagged.first().copied()) {
            return Some(run);
        }
    }
    runs.iter().find(|r| in_window(r))
}

/// What one resolution found: the ids to record, what it read on the way (so that the run's
/// detail needs no second read of the same objects), and the problems met, in words.
#[derive(Debug, Default)]
pub struct Resolved {
    pub ids: LineageIds,
    pub seen: LineageDetail,
    pub problems: Vec<String>,
    /// A read failed in a way that may pass (a timeout, a 5xx): resolve again rather than record
    /// a finished run's lineage without what could not be read.
    pub retry: bool,
}

/// Ids that stay the same from one pipeline run to the next, kept so that each run's resolution
/// does not look them up again: experiments' ids by name, and the model the redeployment builds
/// into. One that went stale (deleted in the workspace) is forgotten when a read with it fails.
#[derive(Debug, Default)]
pub struct Known {
    experiments: Mutex<HashMap<String, String>>,
    model: Mutex<Option<cml_api::Model>>,
}

impl Known {
    fn experiment(&self, name: &str) -> Option<String> {
        self.experiments.lock().expect("known ids").get(name).cloned()
    }

    fn set_experiment(&self, name: &str, id: Option<&str>) {
        let mut experiments = self.experiments.lock().expect("known ids");
        match id {
            Some(id) => experiments.insert(name.to_string(), id.to_string()),
            None => experiments.remove(name),
        };
    }

    fn model(&self) -> Option<cml_api::Model> {
        self.model.lock().expect("known ids").clone()
    }

    fn set_model(&self, model: Option<&cml_api::Model>) {
        *self.model.lock().expect("known ids") = model.cloned();
    }
}

/// Resolves what can be resolved now.
#[allow(clippy::too_many_arguments)]
pub async fn resolve(
    known: &Known,
    client: &CmlClient,
    project_id: &str,
    settings: &PipelineSettings,
    experiment_name: &str,
    run: &PipelineRunRow,
    stages: &[StageRow],
) -> Resolved {
    let Resolved { ids: mut update, mut seen, mut problems, mut retry } = Resolved::default();
    // A read that failed: said in words, and tried again next pass when it may pass then.
    let failed = |what: &str, e: &CmlError, problems: &mut Vec<String>, retry: &mut bool| {
        *retry |= e.is_transient();
        problems.push(format!("{what}: {e}"));
    };
    let stage = |stage: Stage| stages.iter().find(|s| s.stage == stage);
    let succeeded = |s: Stage| stage(s).is_some_and(|s| s.state == JobRunState::Succeeded);

    // Snapshot range, from New Batch's summary.
    if run.lineage.snapshot_id.is_none() && succeeded(Stage::NewBatch) {
        let summary = batch_summary(client, project_id, &stage(Stage::NewBatch).expect("succeeded").job_run_id).await;
        if let Err(e) = &summary {
            failed("could not read New Batch's summary", e, &mut problems, &mut retry);
        }
        if let Ok(Some(summary)) = summary {
            update.snapshot_id = json_text(&summary["snapshot_id"]);
            update.parent_snapshot_id = json_text(&summary["parent_id"]);
            update.snapshot_committed_at = json_text(&summary["committed_at"]);
            update.rows_added = summary["rows_added"].as_i64();
            update.source_table = json_text(&summary["table"]);
            if let Some(figures) = BatchFigures::from_summary(&summary) {
                update.set_figures(&figures);
            }
        }
    }
    let snapshot = update.snapshot_id.clone().or_else(|| run.lineage.snapshot_id.clone());

    // The experiment run the retrain logged.
    let mut experiment_run: Option<ExperimentRun> = None;
    if succeeded(Stage::RetrainXgboost) && run.lineage.experiment_run_id.is_none() {
        let cached = known.experiment(experiment_name);
        let experiment_id = match &cached {
            Some(id) => Ok(Some(id.clone())),
            None => client.find_experiment(project_id, experiment_name).await.map(|e| e.map(|e| e.id)),
        };
        match experiment_id {
            Ok(Some(experiment_id)) => match client.list_experiment_runs(project_id, &experiment_id).await {
                Ok(runs) => {
                    known.set_experiment(experiment_name, Some(&experiment_id));
                    match pick_experiment_run(&runs, snapshot.as_deref(), stage(Stage::RetrainXgboost)) {
                        Some(found) => {
                            update.experiment_id = Some(experiment_id.clone());
                            update.experiment_run_id = Some(found.id.clone());
                            experiment_run = Some(found.clone());
                        }
                        None => problems.push(format!("no run of experiment {experiment_name:?} is tagged with snapshot {}", snapshot.as_deref().unwrap_or("?"))),
                    }
                }
                Err(e) => {
                    // An id kept from before may be stale: look it up again next time.
                    known.set_experiment(experiment_name, None);
                    retry |= cached.is_some();
                    failed("could not list the experiment's runs", &e, &mut problems, &mut retry);
                }
            },
            Ok(None) => problems.push(format!("experiment {experiment_name:?} does not exist")),
            Err(e) => failed("could not look up the experiment", &e, &mut problems, &mut retry),
        }
    } else if let (Some(experiment_id), Some(run_id)) = (&run.lineage.experiment_id, &run.lineage.experiment_run_id) {
        match client.get_experiment_run(project_id, experiment_id, run_id).await {
            Ok(found) => experiment_run = Some(found),
            Err(e) => failed("could not read the experiment run", &e, &mut problems, &mut retry),
        }
    }
    if let Some(er) = &experiment_run {
        seen.fill_experiment_run(er);
        update.accuracy = quality(er, &settings.accuracy_key);
        update.recall = quality(er, &settings.recall_key);
        update.row_count = er.tag("row_count").map(String::from);
        if let Some(to) = er.tag("iceberg_snapshot_id").map(str::trim).filter(|s| !s.is_empty()) {
            update.trained_to = Some(to.to_string());
            update.trained_from = er.tag("iceberg_parent_id").map(str::trim).filter(|s| !s.is_empty()).map(String::from);
        }
        if let Some(gate) = QualityGate::from_tags(|key| er.tag(key)) {
            update.set_gate(&gate);
        }
        if snapshot.is_none() {
            update.snapshot_id = er.tag("iceberg_snapshot_id").filter(|s| !s.is_empty()).map(String::from);
            update.parent_snapshot_id = er.tag("iceberg_parent_id").filter(|s| !s.is_empty()).map(String::from);
            update.snapshot_committed_at = er.tag("iceberg_snapshot_committed_at").map(String::from);
        }
    }

    // Registered version → build → deployment, by ids.
    if succeeded(Stage::ApiRedeployment) && run.lineage.model_version_id.is_none() {
        if let Some(er) = &experiment_run {
            match er.data.registered_model_metadata.iter().max_by_key(|m| m.version_number) {
                Some(meta) => {
                    seen.registered_model_name = Some(meta.model_name.clone()).filter(|n| !n.is_empty());
                    update.registered_model_id = Some(meta.model_id.clone());
                    update.model_version_id = Some(meta.model_version_id.clone());
                    update.model_version_number = Some(meta.version_number as i64);
                    match find_build(known, client, project_id, &meta.model_version_id).await {
                        Ok(Some((model, build, deployment))) => {
                            seen.model_name = Some(model.name);
                            seen.build_status = Some(build.status);
                            seen.build_version_id = Some(build.registered_model_version_id);
                            update.model_id = Some(model.id);
                            update.build_id = Some(build.id);
                            if let Some((id, status)) = deployment {
                                update.deployment_id = Some(id);
                                update.deployment_status = DeploymentState::from_cml(&status).map(|s| s.as_str().to_string());
                            } else {
                                problems.push("the build has no deployment".into());
                            }
                        }
                        Ok(None) => problems.push(format!("no model build was made from version {}", meta.model_version_id)),
                        Err(e) => failed("could not list model builds", &e, &mut problems, &mut retry),
                    }
                }
                // A gated model is not registered: the live model serves on (the gate says why).
                None if update.gate().is_some_and(|g| g.is_gated()) => {}
                None => problems.push("the experiment run was not registered as a model version".into()),
            }
        }
    }
    Resolved { ids: update, seen, problems, retry }
}

/// The build made from a registered version (by its id), its model, and its newest deployment.
type FoundBuild = (cml_api::Model, cml_api::ModelBuild, Option<(String, String)>);

/// Looks in the model the last build was found in first (the redeployment builds into the same
/// model each time), then in every model.
async fn find_build(known: &Known, client: &CmlClient, project_id: &str, version_id: &str) -> Result<Option<FoundBuild>, CmlError> {
    let cached = known.model();
    if let Some(model) = &cached {
        match build_in(client, project_id, model, version_id).await {
            Ok(Some(found)) => return Ok(Some(found)),
            Ok(None) => {}
            Err(CmlError::NotFound { .. }) => known.set_model(None),
            Err(e) => return Err(e),
        }
    }
    for model in client.list_models(project_id).await? {
        if cached.as_ref().is_some_and(|c| c.id == model.id) {
            continue;
        }
        if let Some(found) = build_in(client, project_id, &model, version_id).await? {
            known.set_model(Some(&model));
            return Ok(Some(found));
        }
    }
    Ok(None)
}

async fn build_in(client: &CmlClient, project_id: &str, model: &cml_api::Model, version_id: &str) -> Result<Option<FoundBuild>, CmlError> {
    for build in client.list_model_builds(project_id, &model.id).await? {
        if build.registered_model_version_id == version_id {
            let deployments = client.list_model_deployments(project_id, &model.id, &build.id).await?;
            let newest = deployments.into_iter().max_by_key(|d| d.created_at).map(|d| (d.id, d.status));
            return Ok(Some((model.clone(), build, newest)));
        }
    }
    Ok(None)
}

/// What the run detail page shows beyond the ids, completed from the workspace once the run
/// ended: the experiment run's data, the names of the registered model and the model, the build.
/// What `seen` already holds (read by the last resolution) is not read again.
pub async fn fetch_detail(client: &CmlClient, project_id: &str, run: &PipelineRunRow, seen: LineageDetail) -> LineageDetail {
    let mut detail = seen;
    let l = &run.lineage;
    if let (Some(e), Some(r), None) = (&l.experiment_id, &l.experiment_run_id, &detail.experiment_run_name) {
        match client.get_experiment_run(project_id, e, r).await {
            Ok(er) => detail.fill_experiment_run(&er),
            Err(e) => detail.problems.push(format!("experiment run: {e}")),
        }
    }
    if let (Some(m), Some(v)) = (&l.registered_model_id, &l.model_version_id) {
        // The version's own record says which run it came from: read, never assumed.
        match client.get_registered_model_version(m, v).await {
            Ok(version) => detail.model_version_run_id = Some(version.run_id().to_string()),
            Err(e) => detail.problems.push(format!("registered model version: {e}")),
        }
        if detail.registered_model_name.is_none() {
            match client.get_registered_model(m).await {
                Ok(model) => detail.registered_model_name = Some(model.name),
                Err(e) => detail.problems.push(format!("registered model: {e}")),
            }
        }
    }
    if let (Some(model_id), Some(build_id)) = (&l.model_id, &l.build_id) {
        if detail.model_name.is_none() {
            match client.get_model(project_id, model_id).await {
                Ok(model) => detail.model_name = Some(model.name),
                Err(e) => detail.problems.push(format!("model: {e}")),
            }
        }
        if detail.build_status.is_none() {
            match client.get_model_build(project_id, model_id, build_id).await {
                Ok(build) => {
                    detail.build_status = Some(build.status);
                    detail.build_version_id = Some(build.registered_model_version_id);
                }
                Err(e) => detail.problems.push(format!("model build: {e}")),
            }
        }
    }
    detail
}

/// A deployment's state now, read from the workspace.
pub async fn deployment_state(client: &CmlClient, project_id: &str, ids: &LineageIds) -> Result<Option<DeploymentState>, CmlError> {
    let (Some(model_id), Some(build_id), Some(deployment_id)) = (&ids.model_id, &ids.build_id, &ids.deployment_id) else { return Ok(None) };
    let deployment = client.get_model_deployment(project_id, model_id, build_id, deployment_id).await?;
    Ok(DeploymentState::from_cml(&deployment.status))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Duration, TimeZone, Utc};
    use cml_api::Tag;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap() + Duration::seconds(seconds)
    }

    /// The retrain's job run: created at `start`, running a second later, ended ten seconds after
    /// `start` when terminal.
    fn retrain(state: JobRunState, start: i64) -> StageRow {
        StageRow {
            pipeline_run_id: 1,
            stage: Stage::RetrainXgboost,
            attempt: 1,
            job_id: "job".into(),
            job_run_id: "run".into(),
            state,
            created_at: at(start),
            running_at: Some(at(start + 1)),
            finished_at: state.is_terminal().then(|| at(start + 10)),
            log_path: None,
            log_tail: None,
            log_final: false,
        }
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
        let window = retrain(JobRunState::Succeeded, 10);
        assert_eq!(pick_experiment_run(&runs, Some("111"), Some(&window)).map(|r| r.id.as_str()), Some("ours"));
    }

    #[test]
    fn after_a_retry_the_tagged_run_of_the_latest_attempt_wins() {
        // A first attempt logged a run for the snapshot and then failed; the retry ran 100-110 s.
        let runs = [experiment_run("failed attempt", Some("111"), 5), experiment_run("retry", Some("111"), 102)];
        let latest = retrain(JobRunState::Succeeded, 100);
        assert_eq!(pick_experiment_run(&runs, Some("111"), Some(&latest)).map(|r| r.id.as_str()), Some("retry"));
    }

    #[test]
    fn without_a_snapshot_the_run_inside_the_retrain_s_time_window_is_taken() {
        // The retrain ran from 11 s to 20 s.
        let window = retrain(JobRunState::Succeeded, 10);
        let runs = [experiment_run("before", None, 5), experiment_run("inside", None, 12), experiment_run("after", None, 25)];
        assert_eq!(pick_experiment_run(&runs, None, Some(&window)).map(|r| r.id.as_str()), Some("inside"));
        assert_eq!(pick_experiment_run(&runs, Some("999"), Some(&window)).map(|r| r.id.as_str()), Some("inside"), "an unknown snapshot falls back to the window");
        assert!(pick_experiment_run(&runs[..1], None, Some(&window)).is_none(), "nothing ran in the window");
        assert!(pick_experiment_run(&runs, None, None).is_none(), "no retrain, no guess");
        let unfinished = retrain(JobRunState::Running, 10);
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
