//! A batch of the Iceberg table as the Data page shows it: the figures New Batch wrote into its
//! summary, and which pipeline runs trained on which snapshots.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A population stability index above this marks a signal's distribution as shifted.
pub const PSI_DRIFT: f64 = 0.2;

/// What New Batch measured of its batch (`figures` in its summary).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchFigures {
    pub rows: Option<i64>,
    pub failure_rate: Option<f64>,
    /// Each signal's mean, by signal name.
    pub means: BTreeMap<String, f64>,
    /// Each signal's population stability index against the rows trained on before; `None`
    /// before any retrain succeeded.
    pub psi: Option<BTreeMap<String, f64>>,
    /// The snapshot the rows trained on before end at.
    pub reference_snapshot_id: Option<String>,
    pub reference_rows: Option<i64>,
}

impl BatchFigures {
    /// Reads `figures` from New Batch's summary; `None` when it has none (an older script).
    pub fn from_summary(summary: &Value) -> Option<BatchFigures> {
        let figures = summary.get("figures").filter(|f| f.is_object())?;
        let numbers = |v: &Value| -> BTreeMap<String, f64> {
            v.as_object().map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_f64().filter(|x| x.is_finite())?))).collect()).unwrap_or_default()
        };
        let id = |v: &Value| match v {
            Value::Number(n) => Some(n.to_string()),
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            _ => None,
        };
        Some(BatchFigures {
            rows: figures["rows"].as_i64(),
            failure_rate: figures["failure_rate"].as_f64(),
            means: numbers(&figures["means"]),
            psi: figures["psi"].is_object().then(|| numbers(&figures["psi"])),
            reference_snapshot_id: id(&figures["reference_snapshot_id"]),
            reference_rows: figures["reference_rows"].as_i64(),
        })
    }

    /// The largest shift among the signals, with the signal's name.
    pub fn max_psi(&self) -> Option<(&str, f64)> {
        self.psi.as_ref()?.iter().map(|(k, v)| (k.as_str(), *v)).max_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// Whether some signal shifted by more than [`PSI_DRIFT`].
    pub fn drifted(&self) -> bool {
        self.max_psi().is_some_and(|(_, v)| v > PSI_DRIFT)
    }
}

/// The snapshots a retrain read: after `from` (exclusive; `None` from the table's start) up to
/// and including `to`.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainedRange {
    pub pipeline_run_id: i64,
    pub from: Option<String>,
    pub to: String,
}

/// Which pipeline runs trained on each snapshot, given each snapshot's parent (`None` for the
/// table's first): a range covers `to` and its ancestors down to, not including, `from`.
pub fn trained_by(parents: &HashMap<String, Option<String>>, ranges: &[TrainedRange]) -> HashMap<String, Vec<i64>> {
    let mut by: HashMap<String, Vec<i64>> = HashMap::new();
    for range in ranges {
        let mut walk = Some(range.to.clone());
        // Bounded by the number of snapshots known, whatever the parents say.
        for _ in 0..=parents.len() {
            let Some(snapshot) = walk.filter(|s| Some(s) != range.from.as_ref()) else { break };
            let runs = by.entry(snapshot.clone()).or_default();
            if !runs.contains(&range.pipeline_run_id) {
                runs.push(range.pipeline_run_id);
            }
            walk = parents.get(&snapshot).cloned().flatten();
        }
    }
    by
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn figures_are_read_from_the_summary_and_drift_is_the_largest_shift() {
        let summary = json!({"snapshot_id": 7, "figures": {
            "rows": 600, "failure_rate": 0.1, "means": {"iot_signal_1": 5.5, "iot_signal_3": 52.4},
            "psi": {"iot_signal_1": 0.31, "iot_signal_3": 0.01}, "reference_snapshot_id": 5, "reference_rows": 1200}});
        let f = BatchFigures::from_summary(&summary).unwrap();
        assert_eq!((f.rows, f.failure_rate, f.reference_rows), (Some(600), Some(0.1), Some(1200)));
        assert_eq!(f.reference_snapshot_id.as_deref(), Some("5"), "snapshot ids are numbers in JSON, text here");
        assert_eq!(f.means["iot_signal_3"], 52.4);
        assert_eq!(f.max_psi(), Some(("iot_signal_1", 0.31)));
        assert!(f.drifted());
        let first = BatchFigures::from_summary(&json!({"figures": {"rows": 10, "psi": null, "means": {}}})).unwrap();
        assert_eq!((first.psi.clone(), first.max_psi(), first.drifted()), (None, None, false), "nothing trained on before");
        assert_eq!(BatchFigures::from_summary(&json!({"snapshot_id": 1})), None, "an older script wrote no figures");
    }

    #[test]
    fn a_range_covers_its_end_and_ancestors_down_to_its_start() {
        // 1 ← 2 ← 3 ← 4: run 10 read the table's start to 1; run 11 read 2 and 3 (its first
        // retrain failed); run 12 read 4; run 13 was a retry of run 12's range.
        let parents: HashMap<String, Option<String>> =
            [("1", None), ("2", Some("1")), ("3", Some("2")), ("4", Some("3"))].into_iter().map(|(k, v)| (k.to_string(), v.map(String::from))).collect();
        let range = |run, from: Option<&str>, to: &str| TrainedRange { pipeline_run_id: run, from: from.map(String::from), to: to.into() };
        let by = trained_by(&parents, &[range(10, None, "1"), range(11, Some("1"), "3"), range(12, Some("3"), "4"), range(13, Some("3"), "4")]);
        assert_eq!(by["1"], [10]);
        assert_eq!(by["2"], [11]);
        assert_eq!(by["3"], [11]);
        assert_eq!(by["4"], [12, 13]);
        let cycle: HashMap<String, Option<String>> = [("a", Some("b")), ("b", Some("a"))].into_iter().map(|(k, v)| (k.to_string(), v.map(String::from))).collect();
        assert_eq!(trained_by(&cycle, &[range(1, None, "a")]).len(), 2, "bad parents cannot loop forever");
    }
}
