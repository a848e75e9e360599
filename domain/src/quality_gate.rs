//! The redeployment's quality gate, as the redeployment job decided it and tagged the retrain's
//! MLflow run: whether the new model was deployed, and the figures the decision rests on.

use serde::{Deserialize, Serialize};

use crate::named_enum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GateDecision {
    /// Nothing served before: the first model deploys.
    First,
    /// Not worse than the live model by more than the margins: deployed.
    Passed,
    /// Worse than the live model by more than a margin: not deployed; the live model serves on.
    Gated,
    /// Gated, then deployed anyway by an operator.
    Overridden,
    /// Deployed without a comparison (the run kept no held-out rows, or the live model could not
    /// be loaded); the reason says which.
    Unmeasured,
}

named_enum!(GateDecision, "quality-gate decision", {
    First => "first",
    Passed => "passed",
    Gated => "gated",
    Overridden => "overridden",
    Unmeasured => "unmeasured",
});

/// The gate of one redeployment: its decision, the reason in words, the new model's and the live
/// model's accuracy and recall on the same held-out rows, and the margins it allowed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QualityGate {
    pub decision: GateDecision,
    pub reason: String,
    pub accuracy: Option<f64>,
    pub recall: Option<f64>,
    pub live_accuracy: Option<f64>,
    pub live_recall: Option<f64>,
    pub live_run_id: Option<String>,
    pub live_version: Option<i64>,
    pub accuracy_margin: Option<f64>,
    pub recall_margin: Option<f64>,
}

impl QualityGate {
    /// Reads the gate from the tags the redeployment put on the run (`gate_decision`,
    /// `gate_reason`, `gate_accuracy`, …); `None` when the run was never gated (no decision, or
    /// one this version does not know).
    pub fn from_tags<'a>(tag: impl Fn(&str) -> Option<&'a str>) -> Option<QualityGate> {
        let decision: GateDecision = tag("gate_decision")?.trim().parse().ok()?;
        let number = |key: &str| tag(key).and_then(|v| v.trim().parse::<f64>().ok()).filter(|v| v.is_finite());
        Some(QualityGate {
            decision,
            reason: tag("gate_reason").unwrap_or_default().trim().to_string(),
            accuracy: number("gate_accuracy"),
            recall: number("gate_recall"),
            live_accuracy: number("gate_live_accuracy"),
            live_recall: number("gate_live_recall"),
            live_run_id: tag("gate_live_run_id").map(str::trim).filter(|v| !v.is_empty()).map(String::from),
            live_version: tag("gate_live_version").and_then(|v| v.trim().parse().ok()),
            accuracy_margin: number("gate_accuracy_margin"),
            recall_margin: number("gate_recall_margin"),
        })
    }

    /// Whether the model stayed undeployed because of the gate.
    pub fn is_gated(&self) -> bool {
        self.decision == GateDecision::Gated
    }

    /// One line for History and the run page: the job's own reason, else the decision.
    pub fn summary(&self) -> String {
        if self.reason.is_empty() { self.decision.to_string() } else { self.reason.clone() }
    }

    /// The gate's word for lists: the job's reason for a gated model ("gated: recall 0.143 < live
    /// 0.857 - 0.15"), else the decision.
    pub fn list_text(&self) -> String {
        if self.is_gated() { self.summary() } else { self.decision.to_string() }
    }
}

/// Checks a margin setting: a number from 0 to 1 (how much worse than the live model a new model
/// may be on that metric).
pub fn check_margin(field: &str, value: &str) -> Result<f64, String> {
    match value.trim().parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("{field}: {value:?} is not a margin; give a number from 0 to 1, e.g. 0.05")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> {
        move |key| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    #[test]
    fn a_gated_run_reads_its_figures_and_reason() {
        let pairs = [
            ("gate_decision", "gated"),
            ("gate_reason", "gated: recall 0.143 < live 0.857 - 0.15"),
            ("gate_recall", "0.14285714285714285"),
            ("gate_live_recall", "0.857"),
            ("gate_accuracy", "0.96"),
            ("gate_live_accuracy", " 0.98 "),
            ("gate_live_run_id", "abc"),
            ("gate_live_version", "3"),
            ("gate_recall_margin", "0.15"),
            ("gate_accuracy_margin", "nan"),
        ];
        let gate = QualityGate::from_tags(tags(&pairs)).unwrap();
        assert!(gate.is_gated());
        assert_eq!(gate.recall, Some(0.14285714285714285));
        assert_eq!(gate.live_accuracy, Some(0.98));
        assert_eq!((gate.live_run_id.as_deref(), gate.live_version), (Some("abc"), Some(3)));
        assert_eq!(gate.accuracy_margin, None, "not a number is no figure");
        assert_eq!(gate.summary(), "gated: recall 0.143 < live 0.857 - 0.15");
    }

    #[test]
    fn no_decision_or_an_unknown_one_is_no_gate() {
        assert_eq!(QualityGate::from_tags(tags(&[("gate_reason", "x")])), None);
        assert_eq!(QualityGate::from_tags(tags(&[("gate_decision", "maybe")])), None);
        let first = QualityGate::from_tags(tags(&[("gate_decision", "first")])).unwrap();
        assert!(!first.is_gated());
        assert_eq!(first.summary(), "first", "without a reason, the decision");
    }

    #[test]
    fn margins_are_numbers_from_zero_to_one() {
        assert_eq!(check_margin("gate_recall_margin", " 0.15 "), Ok(0.15));
        assert_eq!(check_margin("gate_recall_margin", "0"), Ok(0.0));
        for bad in ["", "-0.1", "1.5", "ten", "NaN"] {
            let e = check_margin("gate_recall_margin", bad).unwrap_err();
            assert!(e.starts_with("gate_recall_margin: "), "{e}");
        }
    }
}
