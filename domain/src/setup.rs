//! Whether one of the pipeline's jobs exists in the workspace as its definition says.

use serde::{Deserialize, Serialize};

use crate::{named_enum, Stage};

/// The pipeline's settings a user can change (Settings): the owner suffix of names, the runtime
/// lookup, and which metric (or param) counts as accuracy and recall.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PipelineSettings {
    pub owner_suffix: String,
    pub runtime_kernel: String,
    pub runtime_editor: String,
    pub runtime_edition: String,
    pub accuracy_key: String,
    pub recall_key: String,
}

/// Whether one of the pipeline's jobs exists in the workspace and matches its definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobCheck {
    pub stage: Stage,
    pub name: String,
    pub script: String,
    pub job_id: Option<String>,
    pub state: JobCheckState,
    pub differences: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobCheckState {
    /// The job exists and matches its definition.
    Matches,
    /// No job of that name exists.
    Missing,
    /// The job exists but differs (script, resources, runtime, parent, environment).
    Drifted,
}

named_enum!(JobCheckState, "job check state", {
    Matches => "matches",
    Missing => "missing",
    Drifted => "drifted",
});
