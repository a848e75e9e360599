//! Small formatting helpers shared by the pages.

use crate::api::{DeploymentState, RunSource};

/// `2026-11-22T06:31:32.123456Z` → `2026-11-22 06:31:32 UTC`.
pub fn when(t: &str) -> String {
    let t = t.trim_end_matches('Z');
    let (date, time) = t.split_once('T').unwrap_or((t, ""));
    let time = time.split('.').next().unwrap_or("");
    if time.is_empty() { date.to_string() } else { format!("{date} {time} UTC") }
}

pub fn when_opt(t: &Option<String>) -> String {
    t.as_deref().map(when).unwrap_or_else(|| "—".into())
}

/// Seconds as `42 s`, `3 min 05 s`, `1 h 02 min`.
pub fn duration(seconds: Option<f64>) -> String {
    let Some(s) = seconds else { return "—".into() };
    let s = s.max(0.0).round() as u64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}

/// Who started a pipeline run, and where: "paul, in Lakeline", "paul, outside Lakeline" or
/// "paul, on New Batch's schedule".
pub fn who(triggered_by: &str, source: RunSource) -> String {
    let place = match source {
        RunSource::Lakeline => "in Lakeline",
        RunSource::External => "outside Lakeline",
        RunSource::Scheduled => "on New Batch's schedule",
    };
    format!("{triggered_by}, {place}")
}

/// A deployment's state in CML's word, or a dash when there is none (or CML's word is unknown).
pub fn deployment(state: Option<DeploymentState>) -> &'static str {
    state.map(DeploymentState::as_str).unwrap_or("—")
}

pub fn ratio(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.3}")).unwrap_or_else(|| "—".into())
}

pub fn snapshot_range(parent: &Option<String>, snapshot: &Option<String>) -> String {
    match (parent, snapshot) {
        (_, None) => "—".into(),
        (None, Some(s)) => format!("(start] → {s}"),
        (Some(p), Some(s)) => format!("({p} → {s}]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_read_well() {
        assert_eq!(when("2026-11-22T06:31:32.123456Z"), "2026-11-22 06:31:32 UTC");
        assert_eq!(duration(Some(42.4)), "42 s");
        assert_eq!(duration(Some(185.0)), "3 min 05 s");
        assert_eq!(duration(Some(3720.0)), "1 h 02 min");
        assert_eq!(snapshot_range(&Some("1".into()), &Some("2".into())), "(1 → 2]");
        assert_eq!(snapshot_range(&None, &Some("2".into())), "(start] → 2");
    }
}
