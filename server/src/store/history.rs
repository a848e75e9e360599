//! The history of pipeline runs: filters checked once ([`HistoryQuery::parse`]) and one page
//! of matching runs.

use app::api::{HistoryFilter, PipelineRunSummary};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{QueryBuilder, Sqlite};

use super::pipeline_runs::{PipelineRunRow, StageRow};
use super::Store;
use crate::error::Result;

/// The statuses a pipeline run can have, as stored.
pub const STATUSES: [&str; 6] = ["running", "succeeded", "failed", "stopped", "timedout", "incomplete"];

/// A history filter whose fields were checked: empty fields filter nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryQuery {
    pub status: Option<String>,
    /// Runs created at or after this instant (the start of the `from` day, UTC).
    pub from: Option<DateTime<Utc>>,
    /// Runs created before this instant (the end of the `to` day, UTC).
    pub until: Option<DateTime<Utc>>,
    /// A part of the name of who started the run, matched literally.
    pub who: Option<String>,
    /// A snapshot id: runs that made it or started from it.
    pub snapshot: Option<String>,
}

/// A filter field that cannot be used, with a message a person can act on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FilterError {
    pub field: &'static str,
    pub message: String,
}

impl HistoryQuery {
    pub fn parse(filter: &HistoryFilter) -> Result<Self, FilterError> {
        let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let status = text(&filter.status);
        if let Some(status) = &status {
            if !STATUSES.contains(&status.as_str()) {
                return Err(FilterError { field: "status", message: format!("{status:?} is not a status; use one of {}", STATUSES.join(", ")) });
            }
        }
        let date = |field: &'static str, value: &str| -> Result<Option<NaiveDate>, FilterError> {
            match text(value) {
                None => Ok(None),
                Some(v) => NaiveDate::parse_from_str(&v, "%Y-%m-%d")
                    .map(Some)
                    .map_err(|_| FilterError { field, message: format!("{v:?} is not a date; write it as YYYY-MM-DD") }),
            }
        };
        let from = date("from", &filter.from)?;
        let to = date("to", &filter.to)?;
        if let (Some(f), Some(t)) = (from, to) {
            if t < f {
                return Err(FilterError { field: "to", message: format!("{t} is before the from date {f}") });
            }
        }
        let snapshot = text(&filter.snapshot);
        if let Some(s) = &snapshot {
            if !s.chars().all(|c| c.is_ascii_digit() || c == '-') {
                return Err(FilterError { field: "snapshot", message: format!("{s:?} is not a snapshot id (a number)") });
            }
        }
        Ok(HistoryQuery {
            status,
            from: from.map(|d| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc()),
            until: to.and_then(|d| d.succ_opt()).map(|d| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc()),
            who: text(&filter.who),
            snapshot,
        })
    }

    fn push_where<'a>(&'a self, q: &mut QueryBuilder<'a, Sqlite>) {
        q.push(" WHERE 1 = 1");
        if let Some(status) = &self.status {
            q.push(" AND status = ").push_bind(status);
        }
        if let Some(from) = self.from {
            q.push(" AND created_at >= ").push_bind(from);
        }
        if let Some(until) = self.until {
            q.push(" AND created_at < ").push_bind(until);
        }
        if let Some(who) = &self.who {
            q.push(" AND triggered_by LIKE ").push_bind(format!("%{}%", escape_like(who))).push(" ESCAPE '\\'");
        }
        if let Some(snapshot) = &self.snapshot {
            q.push(" AND (snapshot_id = ").push_bind(snapshot).push(" OR parent_snapshot_id = ").push_bind(snapshot).push(")");
        }
    }
}

/// Makes `%`, `_` and the escape character itself match literally in `LIKE … ESCAPE '\'`.
pub fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

impl Store {
    /// One page of history, newest first, and how many runs match in all.
    pub async fn history(&self, query: &HistoryQuery, page: i64, page_size: i64) -> Result<(Vec<PipelineRunSummary>, i64)> {
        let mut count = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM pipeline_runs");
        query.push_where(&mut count);
        let total: i64 = count.build_query_scalar().fetch_one(self.pool()).await?;

        let mut select = QueryBuilder::<Sqlite>::new("SELECT * FROM pipeline_runs");
        query.push_where(&mut select);
        select.push(" ORDER BY created_at DESC, id DESC LIMIT ").push_bind(page_size).push(" OFFSET ").push_bind(page.max(0) * page_size);
        let rows: Vec<PipelineRunRow> = select.build_query_as().fetch_all(self.pool()).await?;

        // The page's stages in one query.
        let mut stages: Vec<StageRow> = vec![];
        if !rows.is_empty() {
            let mut q = QueryBuilder::<Sqlite>::new("SELECT * FROM stage_runs WHERE pipeline_run_id IN (");
            let mut ids = q.separated(", ");
            for r in &rows {
                ids.push_bind(r.id);
            }
            q.push(") ORDER BY pipeline_run_id, stage");
            stages = q.build_query_as().fetch_all(self.pool()).await?;
        }
        let runs = rows
            .iter()
            .map(|r| {
                let own: Vec<StageRow> = stages.iter().filter(|s| s.pipeline_run_id == r.id).cloned().collect();
                r.summary(&own)
            })
            .collect();
        Ok((runs, total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn filter(f: impl FnOnce(&mut HistoryFilter)) -> HistoryFilter {
        let mut filter = HistoryFilter::default();
        f(&mut filter);
        filter
    }

    #[test]
    fn an_empty_filter_filters_nothing() {
        assert_eq!(HistoryQuery::parse(&HistoryFilter::default()).unwrap(), HistoryQuery::default());
        assert_eq!(HistoryQuery::parse(&filter(|f| f.who = "  ".into())).unwrap(), HistoryQuery::default());
    }

    #[test]
    fn dates_cover_whole_utc_days_and_bad_ones_name_their_field() {
        let q = HistoryQuery::parse(&filter(|f| {
            f.from = "2026-02-28".into();
            f.to = "2026-02-28".into();
        }))
        .unwrap();
        assert_eq!(q.from, Some(Utc.with_ymd_and_hms(2026, 2, 28, 0, 0, 0).unwrap()));
        assert_eq!(q.until, Some(Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap()), "the to day is inclusive");
        let err = HistoryQuery::parse(&filter(|f| f.from = "28/02/2026".into())).unwrap_err();
        assert_eq!(err.field, "from");
        assert!(err.to_string().contains("YYYY-MM-DD"), "{err}");
        assert_eq!(HistoryQuery::parse(&filter(|f| f.to = "2026-02-30".into())).unwrap_err().field, "to");
        let err = HistoryQuery::parse(&filter(|f| {
            f.from = "2026-03-02".into();
            f.to = "2026-03-01".into();
        }))
        .unwrap_err();
        assert_eq!(err.field, "to");
    }

    #[test]
    fn statuses_and_snapshots_are_checked() {
        assert_eq!(HistoryQuery::parse(&filter(|f| f.status = "failed".into())).unwrap().status.as_deref(), Some("failed"));
        assert_eq!(HistoryQuery::parse(&filter(|f| f.status = "FAILED' OR 1=1".into())).unwrap_err().field, "status");
        assert_eq!(HistoryQuery::parse(&filter(|f| f.snapshot = "-12345".into())).unwrap().snapshot.as_deref(), Some("-12345"));
        assert_eq!(HistoryQuery::parse(&filter(|f| f.snapshot = "12%".into())).unwrap_err().field, "snapshot");
    }

    #[test]
    fn like_wildcards_in_user_input_match_literally() {
        assert_eq!(escape_like("ana"), "ana");
        assert_eq!(escape_like("50%_a\\b"), "50\\%\\_a\\\\b");
    }

    async fn store_with(who: &[&str], dir: &tempfile::TempDir) -> Store {
        let store = Store::open(&dir.path().join("h.db")).await.unwrap();
        let start = Utc.with_ymd_and_hms(2026, 3, 1, 23, 30, 0).unwrap();
        for (i, name) in who.iter().enumerate() {
            store.insert_pipeline_run(name, "lakeline", start + chrono::Duration::minutes(20 * i as i64)).await.unwrap();
        }
        store
    }

    async fn who_matches(store: &Store, query: HistoryQuery) -> Vec<String> {
        let (runs, total) = store.history(&query, 0, 25).await.unwrap();
        assert_eq!(total as usize, runs.len());
        let mut names: Vec<String> = runs.into_iter().map(|r| r.triggered_by).collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn the_store_applies_the_filters() {
        let dir = tempfile::tempdir().unwrap();
        // Created 23:30, 23:50 on March 1st, then 00:10 and 00:30 on March 2nd (UTC).
        let store = store_with(&["ana_b", "anaxb", "50% paul", "\\ana"], &dir).await;
        let who = |w: &str| HistoryQuery { who: Some(w.into()), ..Default::default() };
        assert_eq!(who_matches(&store, who("a_b")).await, ["ana_b"], "_ is not a wildcard");
        assert_eq!(who_matches(&store, who("%")).await, ["50% paul"], "% is not a wildcard");
        assert_eq!(who_matches(&store, who("\\a")).await, ["\\ana"]);
        assert_eq!(who_matches(&store, who("ANA")).await, ["\\ana", "ana_b", "anaxb"], "case does not matter");

        let day = |d: &str| HistoryQuery::parse(&filter(|f| {
            f.from = d.into();
            f.to = d.into();
        }))
        .unwrap();
        assert_eq!(who_matches(&store, day("2026-03-01")).await, ["ana_b", "anaxb"]);
        assert_eq!(who_matches(&store, day("2026-03-02")).await, ["50% paul", "\\ana"]);
        assert!(who_matches(&store, day("2026-03-03")).await.is_empty());
        store.close().await;
    }
}
