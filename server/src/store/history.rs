//! The history of pipeline runs: filters checked once ([`HistoryQuery::parse`]) and pages of
//! matching runs by keyset.

use chrono::{DateTime, NaiveDate, Utc};
use domain::PipelineStatus;
use sqlx::{Database, Encode, QueryBuilder, Type};

use super::pipeline_runs::{PipelineRunRow, StageRow};
use super::Store;
use super::Result;

/// A history filter whose fields were checked: empty fields filter nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryQuery {
    pub status: Option<PipelineStatus>,
    /// Runs created at or after this instant (the start of the `from` day, UTC).
    pub from: Option<DateTime<Utc>>,
    /// Runs created before this instant (the end of the `to` day, UTC).
    pub until: Option<DateTime<Utc>>,
    /// A part of the name of who started the run, matched literally.
    pub who: Option<String>,
    /// A snapshot id: runs that made it or started from it.
    pub snapshot: Option<String>,
    /// A part of a note's text, matched literally.
    pub note: Option<String>,
    /// Only runs with notes.
    pub with_notes: bool,
}

/// A filter field that cannot be used, with a message a person can act on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FilterError {
    pub field: &'static str,
    pub message: String,
}

/// The filter as typed: empty fields filter nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct FilterText<'a> {
    pub status: &'a str,
    /// YYYY-MM-DD, inclusive.
    pub from: &'a str,
    pub to: &'a str,
    pub who: &'a str,
    pub snapshot: &'a str,
    pub note: &'a str,
    pub with_notes: bool,
}

impl HistoryQuery {
    pub fn parse(filter: FilterText<'_>) -> Result<Self, FilterError> {
        let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let status = match text(filter.status) {
            None => None,
            Some(s) => Some(s.parse::<PipelineStatus>().map_err(|e| FilterError { field: "status", message: e.to_string() })?),
        };
        let date = |field: &'static str, value: &str| -> Result<Option<NaiveDate>, FilterError> {
            match text(value) {
                None => Ok(None),
                Some(v) => NaiveDate::parse_from_str(&v, "%Y-%m-%d")
                    .map(Some)
                    .map_err(|_| FilterError { field, message: format!("{v:?} is not a date; write it as YYYY-MM-DD") }),
            }
        };
        let from = date("from", filter.from)?;
        let to = date("to", filter.to)?;
        if let (Some(f), Some(t)) = (from, to) {
            if t < f {
                return Err(FilterError { field: "to", message: format!("{t} is before the from date {f}") });
            }
        }
        let snapshot = text(filter.snapshot);
        if let Some(s) = &snapshot {
            if !s.chars().all(|c| c.is_ascii_digit() || c == '-') {
                return Err(FilterError { field: "snapshot", message: format!("{s:?} is not a snapshot id (a number)") });
            }
        }
        Ok(HistoryQuery {
            status,
            from: from.map(|d| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc()),
            until: to.and_then(|d| d.succ_opt()).map(|d| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc()),
            who: text(filter.who),
            snapshot,
            note: text(filter.note),
            with_notes: filter.with_notes,
        })
    }

    /// Adds the filter's conditions; the returned [`Conjunction`] joins any further ones.
    fn push_where<'a, DB: Database>(&'a self, q: &mut QueryBuilder<'a, DB>) -> Conjunction
    where
        &'a str: Encode<'a, DB> + Type<DB>,
        String: Encode<'a, DB> + Type<DB>,
        DateTime<Utc>: Encode<'a, DB> + Type<DB>,
    {
        let mut and = Conjunction::default();
        if let Some(status) = self.status {
            q.push(and.next()).push("status = ").push_bind(status.as_str());
        }
        if let Some(from) = self.from {
            q.push(and.next()).push("created_at >= ").push_bind(from);
        }
        if let Some(until) = self.until {
            q.push(and.next()).push("created_at < ").push_bind(until);
        }
        if let Some(who) = &self.who {
            // Matched against the names of those who start runs (`run_starters`, a few), whose
            // runs are then read from the index on (triggered_by, created_at, id).
            q.push(and.next())
                .push("triggered_by IN (SELECT name FROM run_starters WHERE LOWER(name) LIKE LOWER(")
                .push_bind(format!("%{}%", escape_like(who)))
                .push(") ESCAPE '\\')");
        }
        if let Some(snapshot) = &self.snapshot {
            q.push(and.next()).push("(snapshot_id = ").push_bind(snapshot).push(" OR parent_snapshot_id = ").push_bind(snapshot).push(")");
        }
        if self.with_notes {
            // As the partial index `pipeline_runs_noted` states it, so that SQLite uses it.
            q.push(and.next()).push("note_count > 0");
        }
        if let Some(note) = &self.note {
            q.push(and.next())
                .push("EXISTS (SELECT 1 FROM run_notes WHERE run_notes.pipeline_run_id = pipeline_runs.id AND LOWER(body) LIKE LOWER(")
                .push_bind(format!("%{}%", escape_like(note)))
                .push(") ESCAPE '\\')");
        }
        and
    }
}

/// Joins a query's conditions: ` WHERE ` before the first, ` AND ` before the others. Without
/// conditions there is no `WHERE` at all (SQLite counts a table without one far faster than with
/// `WHERE 1 = 1`).
#[derive(Debug, Default)]
struct Conjunction {
    started: bool,
}

impl Conjunction {
    fn next(&mut self) -> &'static str {
        if std::mem::replace(&mut self.started, true) {
            " AND "
        } else {
            " WHERE "
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

/// Where a page starts (keyset pagination over `created_at DESC, id DESC`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cursor {
    #[default]
    Newest,
    /// The runs older than this run.
    Before(i64),
    /// The runs newer than this run.
    After(i64),
}

/// One page of history, newest first, with what the pager needs.
#[derive(Debug, Clone, Default)]
pub struct HistoryRows {
    pub runs: Vec<(PipelineRunRow, Vec<StageRow>)>,
    /// Runs matching the filter, in all.
    pub total: i64,
    /// Matching runs newer than this page's first.
    pub newer_count: i64,
    /// The id to go on from for older runs, when there are any.
    pub older_than: Option<i64>,
    /// The id to go back from for newer runs, when there are any.
    pub newer_than: Option<i64>,
}

impl Store {
    /// One page of history (each run with its stages). The cost does not grow with how far back
    /// the page is: no `OFFSET`, a seek on `(created_at, id)`.
    pub async fn history(&self, query: &HistoryQuery, cursor: Cursor, page_size: i64) -> Result<HistoryRows> {
        on_pool!(self, pool => {
            let mut count = QueryBuilder::new("SELECT COUNT(*) FROM pipeline_runs");
            query.push_where(&mut count);
            let total: i64 = count.build_query_scalar().fetch_one(pool).await?;

            let mut select = QueryBuilder::new("SELECT * FROM pipeline_runs");
            let mut and = query.push_where(&mut select);
            let anchor = "(SELECT created_at, id FROM pipeline_runs WHERE id = ";
            match cursor {
                Cursor::Newest => select.push(" ORDER BY created_at DESC, id DESC"),
                Cursor::Before(id) => select.push(and.next()).push("(created_at, id) < ").push(anchor).push_bind(id).push(") ORDER BY created_at DESC, id DESC"),
                Cursor::After(id) => select.push(and.next()).push("(created_at, id) > ").push(anchor).push_bind(id).push(") ORDER BY created_at ASC, id ASC"),
            };
            select.push(" LIMIT ").push_bind(page_size + 1);
            let mut rows: Vec<PipelineRunRow> = select.build_query_as().fetch_all(pool).await?;
            let more = rows.len() as i64 > page_size;
            rows.truncate(page_size.max(0) as usize);
            if matches!(cursor, Cursor::After(_)) {
                rows.reverse();
            }

            let newer_count = match (cursor, rows.first()) {
                (Cursor::Newest, _) | (_, None) => 0,
                (_, Some(first)) => {
                    let mut q = QueryBuilder::new("SELECT COUNT(*) FROM pipeline_runs");
                    let mut and = query.push_where(&mut q);
                    q.push(and.next()).push("(created_at, id) > (").push_bind(first.created_at).push(", ").push_bind(first.id).push(")");
                    q.build_query_scalar().fetch_one(pool).await?
                }
            };
            let (older, newer) = match cursor {
                Cursor::Newest | Cursor::Before(_) => (more, newer_count > 0),
                Cursor::After(_) => (total > newer_count + rows.len() as i64, more),
            };
            let older_than = rows.last().filter(|_| older).map(|r| r.id);
            let newer_than = rows.first().filter(|_| newer).map(|r| r.id);

            // The page's stages in one query, without their logs (History shows none).
            let mut stages: Vec<StageRow> = vec![];
            if !rows.is_empty() {
                let mut q = QueryBuilder::new(format!(
                    "SELECT pipeline_run_id, stage, attempt, job_id, job_run_id, status, created_at, running_at, finished_at,
                            log_path, CAST(NULL AS TEXT) AS log_tail, log_final
                     FROM stage_runs WHERE {} AND pipeline_run_id IN (",
                    super::pipeline_runs::LATEST_ATTEMPT
                ));
                let mut ids = q.separated(", ");
                for r in &rows {
                    ids.push_bind(r.id);
                }
                q.push(") ORDER BY pipeline_run_id, stage");
                stages = q.build_query_as().fetch_all(pool).await?;
            }
            let runs = rows
                .into_iter()
                .map(|r| {
                    let own: Vec<StageRow> = stages.iter().filter(|s| s.pipeline_run_id == r.id).cloned().collect();
                    (r, own)
                })
                .collect();
            Ok(HistoryRows { runs, total, newer_count, older_than, newer_than })
        })
    }

    pub async fn pipeline_run_exists(&self, id: i64) -> Result<bool> {
        on_pool!(self, pool => {
            Ok(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM pipeline_runs WHERE id = $1").bind(id).fetch_one(pool).await? > 0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn filter(f: impl FnOnce(&mut FilterText<'static>)) -> FilterText<'static> {
        let mut filter = FilterText::default();
        f(&mut filter);
        filter
    }

    #[test]
    fn an_empty_filter_filters_nothing() {
        assert_eq!(HistoryQuery::parse(FilterText::default()).unwrap(), HistoryQuery::default());
        assert_eq!(HistoryQuery::parse(filter(|f| f.who = "  ")).unwrap(), HistoryQuery::default());
    }

    #[test]
    fn dates_cover_whole_utc_days_and_bad_ones_name_their_field() {
        let q = HistoryQuery::parse(filter(|f| {
            f.from = "2026-02-28";
            f.to = "2026-02-28";
        }))
        .unwrap();
        assert_eq!(q.from, Some(Utc.with_ymd_and_hms(2026, 2, 28, 0, 0, 0).unwrap()));
        assert_eq!(q.until, Some(Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap()), "the to day is inclusive");
        let err = HistoryQuery::parse(filter(|f| f.from = "28/02/2026")).unwrap_err();
        assert_eq!(err.field, "from");
        assert!(err.to_string().contains("YYYY-MM-DD"), "{err}");
        assert_eq!(HistoryQuery::parse(filter(|f| f.to = "2026-02-30")).unwrap_err().field, "to");
        let err = HistoryQuery::parse(filter(|f| {
            f.from = "2026-03-02";
            f.to = "2026-03-01";
        }))
        .unwrap_err();
        assert_eq!(err.field, "to");
    }

    #[test]
    fn statuses_and_snapshots_are_checked() {
        assert_eq!(HistoryQuery::parse(filter(|f| f.status = "failed")).unwrap().status, Some(PipelineStatus::Failed));
        assert_eq!(HistoryQuery::parse(filter(|f| f.status = "FAILED' OR 1=1")).unwrap_err().field, "status");
        assert_eq!(HistoryQuery::parse(filter(|f| f.snapshot = "-12345")).unwrap().snapshot.as_deref(), Some("-12345"));
        assert_eq!(HistoryQuery::parse(filter(|f| f.snapshot = "12%")).unwrap_err().field, "snapshot");
    }

    #[test]
    fn like_wildcards_in_user_input_match_literally() {
        assert_eq!(escape_like("ana"), "ana");
        assert_eq!(escape_like("50%_a\\b"), "50\\%\\_a\\\\b");
    }

    async fn store_with(who: &[&str], dir: &tempfile::TempDir) -> Store {
        let store = crate::store::test_store(dir).await;
        let start = Utc.with_ymd_and_hms(2026, 3, 1, 23, 30, 0).unwrap();
        for (i, name) in who.iter().enumerate() {
            store.insert_pipeline_run(name, domain::RunSource::Lakeline, start + chrono::Duration::minutes(20 * i as i64)).await.unwrap();
        }
        store
    }

    async fn who_matches(store: &Store, query: HistoryQuery) -> Vec<String> {
        let page = store.history(&query, Cursor::Newest, 25).await.unwrap();
        assert_eq!(page.total as usize, page.runs.len());
        let mut names: Vec<String> = page.runs.into_iter().map(|(r, _)| r.triggered_by).collect();
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

        let day = |d: &'static str| HistoryQuery::parse(filter(|f| {
            f.from = d;
            f.to = d;
        }))
        .unwrap();
        assert_eq!(who_matches(&store, day("2026-03-01")).await, ["ana_b", "anaxb"]);
        assert_eq!(who_matches(&store, day("2026-03-02")).await, ["50% paul", "\\ana"]);
        assert!(who_matches(&store, day("2026-03-03")).await.is_empty());
        store.close().await;
    }

    #[tokio::test]
    async fn pages_follow_each_other_by_keyset_both_ways() {
        let dir = tempfile::tempdir().unwrap();
        let names: Vec<String> = (0..7).map(|i| format!("u{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let store = store_with(&refs, &dir).await;
        let ids = |p: &HistoryRows| p.runs.iter().map(|(r, _)| r.id).collect::<Vec<_>>();
        let all = HistoryQuery::default();
        let first = store.history(&all, Cursor::Newest, 3).await.unwrap();
        assert_eq!((ids(&first), first.total, first.newer_count, first.newer_than), (vec![7, 6, 5], 7, 0, None));
        let second = store.history(&all, Cursor::Before(first.older_than.unwrap()), 3).await.unwrap();
        assert_eq!((ids(&second), second.newer_count), (vec![4, 3, 2], 3));
        let third = store.history(&all, Cursor::Before(second.older_than.unwrap()), 3).await.unwrap();
        assert_eq!((ids(&third), third.older_than, third.newer_count), (vec![1], None, 6));
        let back = store.history(&all, Cursor::After(third.newer_than.unwrap()), 3).await.unwrap();
        assert_eq!((ids(&back), back.older_than, back.newer_than), (vec![4, 3, 2], Some(2), Some(4)));
        let top = store.history(&all, Cursor::After(back.newer_than.unwrap()), 3).await.unwrap();
        assert_eq!((ids(&top), top.newer_than, top.older_than), (vec![7, 6, 5], None, Some(5)));
        store.close().await;
    }
}
