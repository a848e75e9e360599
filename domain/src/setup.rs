//! Whether one of the pipeline's jobs exists in the workspace as its definition says.

use serde::{Deserialize, Serialize};

use crate::{named_enum, Stage};

/// The pipeline's settings a user can change (Settings): the owner suffix of names, the runtime
/// lookup, which metric (or param) counts as accuracy and recall, and the quality gate's margins
/// (how much worse than the live model a new one may be and still deploy; empty: the
/// redeployment's defaults).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PipelineSettings {
    pub owner_suffix: String,
    pub runtime_kernel: String,
    pub runtime_editor: String,
    pub runtime_edition: String,
    pub accuracy_key: String,
    pub recall_key: String,
    pub gate_accuracy_margin: String,
    pub gate_recall_margin: String,
}

/// The longest value of a setting.
pub const MAX_SETTING: usize = 200;

impl PipelineSettings {
    /// The settings as stored: each value trimmed.
    pub fn trimmed(&self) -> PipelineSettings {
        let t = |s: &String| s.trim().to_string();
        PipelineSettings {
            owner_suffix: t(&self.owner_suffix),
            runtime_kernel: t(&self.runtime_kernel),
            runtime_editor: t(&self.runtime_editor),
            runtime_edition: t(&self.runtime_edition),
            accuracy_key: t(&self.accuracy_key),
            recall_key: t(&self.recall_key),
            gate_accuracy_margin: t(&self.gate_accuracy_margin),
            gate_recall_margin: t(&self.gate_recall_margin),
        }
    }

    /// Each field with its name, for messages and storage.
    pub fn fields(&self) -> [(&'static str, &str); 8] {
        [
            ("owner_suffix", &self.owner_suffix),
            ("runtime_kernel", &self.runtime_kernel),
            ("runtime_editor", &self.runtime_editor),
            ("runtime_edition", &self.runtime_edition),
            ("accuracy_key", &self.accuracy_key),
            ("recall_key", &self.recall_key),
            ("gate_accuracy_margin", &self.gate_accuracy_margin),
            ("gate_recall_margin", &self.gate_recall_margin),
        ]
    }

    /// Refuses settings that could not name jobs or runtimes, naming the field.
    pub fn check(&self) -> Result<(), String> {
        for (field, value) in self.fields() {
            if value.len() > MAX_SETTING {
                return Err(format!("{field}: {} characters is too long; at most {MAX_SETTING}", value.chars().count()));
            }
            if value.chars().any(char::is_control) {
                return Err(format!("{field}: contains a control character; type plain text"));
            }
        }
        if self.owner_suffix.is_empty() || self.owner_suffix.chars().any(|c| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')) {
            return Err("owner_suffix: use letters, digits, '_' or '-'".into());
        }
        if self.accuracy_key.is_empty() || self.recall_key.is_empty() {
            return Err("accuracy_key, recall_key: name the metric (or param) for each".into());
        }
        for (field, value) in [("gate_accuracy_margin", &self.gate_accuracy_margin), ("gate_recall_margin", &self.gate_recall_margin)] {
            if !value.is_empty() {
                crate::check_margin(field, value)?;
            }
        }
        Ok(())
    }
}

/// Whether one of the pipeline's jobs exists in the workspace and matches its definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobCheck {
    pub stage: Stage,
    pub name: String,
    pub script: String,
    pub job_id: Option<String>,
    pub state: JobCheckState,
    pub differences: Vec<String>,
    /// Other jobs of the same name (left by a race or by hand): the chain uses `job_id` only.
    pub duplicates: Vec<String>,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> PipelineSettings {
        PipelineSettings {
            owner_suffix: " team-a ".into(),
            runtime_kernel: "Python 3.10".into(),
            runtime_editor: "Workbench".into(),
            runtime_edition: "Standard".into(),
            accuracy_key: "accuracy".into(),
            recall_key: "recall".into(),
            gate_accuracy_margin: "0.03".into(),
            gate_recall_margin: "0.15".into(),
        }
    }

    #[test]
    fn settings_are_trimmed_and_checked_naming_the_field() {
        let ok = settings().trimmed();
        assert_eq!(ok.owner_suffix, "team-a");
        assert_eq!(ok.check(), Ok(()));
        let cases: [(fn(&mut PipelineSettings), &str); 6] = [
            (|s| s.gate_recall_margin = "a lot".into(), "gate_recall_margin: \"a lot\" is not a margin"),
            (|s| s.runtime_kernel = "x".repeat(MAX_SETTING + 1), "runtime_kernel: 201 characters"),
            (|s| s.runtime_edition = "a\0b".into(), "runtime_edition: contains a control character"),
            (|s| s.owner_suffix = "a b".into(), "owner_suffix: use letters"),
            (|s| s.owner_suffix = String::new(), "owner_suffix: use letters"),
            (|s| s.recall_key = String::new(), "recall_key"),
        ];
        for (change, message) in cases {
            let mut s = ok.clone();
            change(&mut s);
            let err = s.check().unwrap_err();
            assert!(err.contains(message), "{err}");
        }
    }
}
