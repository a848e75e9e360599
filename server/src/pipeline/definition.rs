//! The three jobs of the pipeline, with the lab's settings, and how to make a workspace match.

use std::collections::BTreeMap;

use cml_api::{CreateJobRequest, Job, Runtime, UpdateJob};
use domain::{JobCheck, JobCheckState, PipelineSettings, Stage};

use crate::cml::{CmlClient, CmlResult};

/// The snapshot range a retrain is to read, when Lakeline gives one (a retry reads the range its
/// first attempt read): the range's end, and its start (exclusive; empty for a table's first
/// snapshot, which is read whole). The pipeline's scripts honour both.
pub const SNAPSHOT_ID_ENV: &str = "ICEBERG_SNAPSHOT_ID";
pub const PARENT_ID_ENV: &str = "ICEBERG_PARENT_ID";
/// The retrain job run whose model a redeployment deploys, when Lakeline names it (a retried
/// redeployment deploys its own run's retrain, not a later chain's). The script honours it.
pub const RETRAIN_JOB_RUN_ENV: &str = "RETRAIN_JOB_RUN_ID";
/// The quality gate's margins (the redeployment's environment, from Settings), and the switch by
/// which an operator's "deploy anyway" runs the redeployment past the gate.
pub const GATE_ACCURACY_MARGIN_ENV: &str = "GATE_ACCURACY_MARGIN";
pub const GATE_RECALL_MARGIN_ENV: &str = "GATE_RECALL_MARGIN";
pub const QUALITY_GATE_ENV: &str = "QUALITY_GATE";

pub const CPU: f64 = 2.0;
pub const MEMORY_GB: f64 = 4.0;

/// The pipeline as configured: job names carry the owner suffix, as in the lab.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    pub settings: PipelineSettings,
}

impl Definition {
    pub fn job_name(&self, stage: Stage) -> String {
        let suffix = self.settings.owner_suffix.trim();
        if suffix.is_empty() { stage.title().to_string() } else { format!("{} {suffix}", stage.title()) }
    }

    pub fn experiment_name(&self) -> String {
        format!("xgb-telco-{}", self.script_user())
    }

    /// What the scripts use to name the table, experiment and model.
    fn script_user(&self) -> String {
        self.settings.owner_suffix.trim().replace(['-', ' '], "_")
    }

    /// What every job of the pipeline is given: whose tables and models, and the runtime the jobs
    /// run on (so that the redeployment builds its model on the same runtime, chosen once, here).
    /// A dependent job is also told the job it follows (`PIPELINE_PARENT_JOB_ID`): the
    /// redeployment finds the retrain that caused it by that job's runs, never by recency.
    /// The redeployment is also given the quality gate's margins (when set).
    fn environment(&self, stage: Stage, runtime: Option<&Runtime>, parent: Option<&Job>) -> BTreeMap<String, String> {
        let mut env = BTreeMap::from([("PIPELINE_USER".to_string(), self.script_user())]);
        if stage == Stage::ApiRedeployment {
            let s = &self.settings;
            for (key, value) in [(GATE_ACCURACY_MARGIN_ENV, &s.gate_accuracy_margin), (GATE_RECALL_MARGIN_ENV, &s.gate_recall_margin)] {
                if !value.trim().is_empty() {
                    env.insert(key.to_string(), value.trim().to_string());
                }
            }
        }
        if let Some(runtime) = runtime {
            env.insert("RUNTIME_IDENTIFIER".to_string(), runtime.image_identifier.clone());
        }
        if let Some(parent) = parent {
            env.insert("PIPELINE_PARENT_JOB_ID".to_string(), parent.id.clone());
        }
        env
    }

    /// The runtime the jobs use: `list_runtimes` filtered on editor and edition (and kernel when
    /// set; otherwise the newest Python), newest version first.
    pub async fn runtime(&self, client: &CmlClient) -> CmlResult<Option<Runtime>> {
        let s = &self.settings;
        let mut filter = vec![("editor", s.runtime_editor.as_str()), ("edition", s.runtime_edition.as_str())];
        if !s.runtime_kernel.trim().is_empty() {
            filter.push(("kernel", s.runtime_kernel.trim()));
        }
        filter.retain(|(_, v)| !v.is_empty());
        let mut runtimes: Vec<Runtime> = client.list_runtimes(&filter).await?.into_iter().filter(|r| r.kernel.starts_with("Python")).collect();
        runtimes.sort_by_key(|r| version_key(&r.full_version));
        Ok(runtimes.pop())
    }

    /// Whether each job exists and matches, given the workspace's jobs.
    pub fn check(&self, found: &FoundJobs, runtime: Option<&Runtime>) -> Vec<JobCheck> {
        let jobs = &found.jobs;
        Stage::ALL
            .iter()
            .map(|&stage| {
                let name = self.job_name(stage);
                let script = stage.script().to_string();
                let duplicates = found.duplicates[stage.index()].iter().map(|j| j.id.clone()).collect();
                let Some(job) = &jobs[stage.index()] else {
                    return JobCheck { stage, name, script, job_id: None, state: JobCheckState::Missing, differences: vec![], duplicates };
                };
                let parent = stage.previous().and_then(|p| jobs[p.index()].as_ref());
                let differences = self.differences(stage, job, parent, runtime);
                let state = if differences.is_empty() { JobCheckState::Matches } else { JobCheckState::Drifted };
                JobCheck { stage, name, script, job_id: Some(job.id.clone()), state, differences, duplicates }
            })
            .collect()
    }

    fn differences(&self, stage: Stage, job: &Job, parent: Option<&Job>, runtime: Option<&Runtime>) -> Vec<String> {
        let mut d = vec![];
        if job.script != stage.script() {
            d.push(format!("script is {:?}, should be {:?}", job.script, stage.script()));
        }
        if (job.cpu - CPU).abs() > f64::EPSILON || (job.memory - MEMORY_GB).abs() > f64::EPSILON || job.nvidia_gpu != 0 {
            d.push(format!("resources are {} vCPU / {} GiB / {} GPU, should be 2 vCPU / 4 GiB / 0 GPU", job.cpu, job.memory, job.nvidia_gpu));
        }
        if let Some(runtime) = runtime {
            if job.runtime_identifier != runtime.image_identifier {
                d.push(format!("runtime is {:?}, should be {:?}", job.runtime_identifier, runtime.image_identifier));
            }
        }
        match (stage.previous(), parent) {
            // New Batch starts the chain: by hand or on its schedule, never after another job.
            (None, _) if !job.parent_id.is_empty() => d.push("should depend on no other job (it starts the chain, by hand or on a schedule)".into()),
            (Some(_), Some(p)) if job.parent_id != p.id => d.push(format!("should depend on {:?}", p.name)),
            _ => {}
        }
        let env = job.environment_map();
        for (k, v) in self.environment(stage, runtime, parent) {
            if env.get(&k) != Some(&v) {
                d.push(format!("environment {k} should be {v:?}"));
            }
        }
        d
    }

    /// Creates missing jobs and repairs drifted ones, in chain order. Idempotent.
    pub async fn apply(&self, client: &CmlClient, project_id: &str) -> CmlResult<Vec<JobCheck>> {
        let runtime = self.runtime(client).await?;
        let runtime_id = runtime.as_ref().map(|r| r.image_identifier.clone()).unwrap_or_default();
        let mut found = FoundJobs::default();
        for &stage in Stage::ALL {
            let parent = stage.previous().and_then(|p| found.jobs[p.index()].clone());
            let (existing, duplicates) = choose(client.find_jobs_by_name(project_id, &self.job_name(stage)).await?, parent.as_ref());
            found.duplicates[stage.index()] = duplicates;
            let parent_id = parent.as_ref().map(|j| j.id.clone()).unwrap_or_default();
            let job = match existing {
                None => {
                    let request = CreateJobRequest {
                        name: self.job_name(stage),
                        script: stage.script().into(),
                        cpu: Some(CPU),
                        memory: Some(MEMORY_GB),
                        nvidia_gpu: Some(0),
                        parent_id,
                        environment: self.environment(stage, runtime.as_ref(), parent.as_ref()),
                        runtime_identifier: runtime_id.clone(),
                        ..Default::default()
                    };
                    client.create_job(project_id, &request).await?
                }
                Some(job) => {
                    if self.differences(stage, &job, parent.as_ref(), runtime.as_ref()).is_empty() {
                        job
                    } else {
                        let mut env = job.environment_map();
                        env.extend(self.environment(stage, runtime.as_ref(), parent.as_ref()));
                        let patch = UpdateJob {
                            script: Some(stage.script().into()),
                            cpu: Some(CPU),
                            memory: Some(MEMORY_GB),
                            nvidia_gpu: Some(0),
                            parent_id: Some(parent_id),
                            // New Batch's schedule is the admin's (Settings → Schedule): kept.
                            environment: Some(cml_api::environment_to_string(&env)),
                            runtime_identifier: (!runtime_id.is_empty()).then(|| runtime_id.clone()),
                            ..Default::default()
                        };
                        client.update_job(project_id, &job.id, &patch).await?
                    }
                }
            };
            found.jobs[stage.index()] = Some(job);
        }
        Ok(self.check(&found, runtime.as_ref()))
    }

    /// The workspace's jobs for the three stages, by exact name, and any duplicates.
    pub async fn find_jobs(&self, client: &CmlClient, project_id: &str) -> CmlResult<FoundJobs> {
        let mut found = FoundJobs::default();
        for &stage in Stage::ALL {
            let parent = stage.previous().and_then(|p| found.jobs[p.index()].clone());
            let (job, duplicates) = choose(client.find_jobs_by_name(project_id, &self.job_name(stage)).await?, parent.as_ref());
            found.jobs[stage.index()] = job;
            found.duplicates[stage.index()] = duplicates;
        }
        Ok(found)
    }
}

/// The pipeline's jobs as found in a workspace: the one each stage uses, and any others of the
/// same name.
#[derive(Debug, Clone, Default)]
pub struct FoundJobs {
    pub jobs: [Option<Job>; 3],
    pub duplicates: [Vec<Job>; 3],
}

impl FoundJobs {
    /// All three, when all three exist.
    pub fn complete(&self) -> Option<[Job; 3]> {
        match &self.jobs {
            [Some(a), Some(b), Some(c)] => Some([a.clone(), b.clone(), c.clone()]),
            _ => None,
        }
    }
}

/// Of the jobs that carry a stage's name, the one the chain uses — the one depending on the
/// chosen parent, else the oldest — and the rest, oldest first. Always the same choice for the
/// same jobs, so that Settings, the tracker and a cleanup agree.
pub fn choose(mut candidates: Vec<Job>, parent: Option<&Job>) -> (Option<Job>, Vec<Job>) {
    let follows_parent = |job: &Job| parent.is_some_and(|p| job.parent_id == p.id);
    candidates.sort_by(|a, b| (!follows_parent(a), a.created_at, &a.id).cmp(&(!follows_parent(b), b.created_at, &b.id)));
    let mut candidates = candidates.into_iter();
    let chosen = candidates.next();
    (chosen, candidates.collect())
}

/// Orders version strings numerically ("3.11.7" after "3.9.1").
fn version_key(v: &str) -> Vec<u64> {
    v.split(|c: char| !c.is_ascii_digit()).filter_map(|p| p.parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn definition() -> Definition {
        Definition {
            settings: PipelineSettings {
                owner_suffix: "paul".into(),
                runtime_kernel: String::new(),
                runtime_editor: "Workbench".into(),
                runtime_edition: "Standard".into(),
                accuracy_key: "accuracy".into(),
                recall_key: "recall".into(),
            ..Default::default()
            },
        }
    }

    #[test]
    fn job_names_carry_the_owner_suffix() {
        let d = definition();
        assert_eq!(d.job_name(Stage::NewBatch), "New Batch paul");
        assert_eq!(d.job_name(Stage::ApiRedeployment), "API Redeployment paul");
        assert_eq!(d.experiment_name(), "xgb-telco-paul");
    }

    #[test]
    fn drift_is_described_in_words() {
        let d = definition();
        let parent = Job { id: "p".into(), name: "New Batch paul".into(), ..Default::default() };
        let job = Job { id: "c".into(), script: "other.py".into(), cpu: 1.0, memory: 4.0, ..Default::default() };
        let diffs = d.differences(Stage::RetrainXgboost, &job, Some(&parent), None);
        assert!(diffs.iter().any(|x| x.contains("script")), "{diffs:?}");
        assert!(diffs.iter().any(|x| x.contains("resources")), "{diffs:?}");
        assert!(diffs.iter().any(|x| x.contains("depend on")), "{diffs:?}");
        assert!(diffs.iter().any(|x| x.contains("PIPELINE_USER")), "{diffs:?}");
    }

    #[test]
    fn of_several_jobs_of_a_name_the_one_following_the_parent_then_the_oldest_is_used() {
        let at = |s: i64| Some(chrono::DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap());
        let job = |id: &str, parent: &str, created: i64| Job { id: id.into(), parent_id: parent.into(), created_at: at(created), ..Default::default() };
        let parent = job("nb", "", 0);
        let (chosen, rest) = choose(vec![job("young", "nb", 30), job("stray", "other", 10), job("old", "nb", 20)], Some(&parent));
        assert_eq!(chosen.unwrap().id, "old");
        assert_eq!(rest.iter().map(|j| j.id.as_str()).collect::<Vec<_>>(), ["young", "stray"]);
        let (chosen, rest) = choose(vec![job("b", "", 5), job("a", "", 5), job("c", "", 1)], None);
        assert_eq!(chosen.unwrap().id, "c", "no parent: the oldest");
        assert_eq!(rest.iter().map(|j| j.id.as_str()).collect::<Vec<_>>(), ["a", "b"], "ties by id");
        assert_eq!(choose(vec![], None), (None, vec![]));
    }

    #[test]
    fn versions_compare_as_numbers() {
        assert!(version_key("3.11.7") > version_key("3.9.18"));
        assert!(version_key("2024.10.1-b12") > version_key("2024.02.1-b1"));
    }
}
