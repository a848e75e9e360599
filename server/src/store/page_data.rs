//! What the rendered-page cache asks before it serves a page again: whether the data pages show
//! has changed since (`page_data_version`, moved by triggers on every write to it), and whether a
//! chain is running (its pages show times that move on their own).

use domain::PipelineStatus;

use super::{Result, Store};

/// The state of the data pages show, as one comparable value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageData {
    /// Changes whenever a run, stage, note, user or setting is written, by any writer.
    pub version: i64,
    /// A pipeline run is running: its durations grow without any write.
    pub running: bool,
}

impl Store {
    pub async fn page_data(&self) -> Result<PageData> {
        on_pool!(self, pool => {
            let (version, running): (i64, bool) = sqlx::query_as(
                "SELECT version, EXISTS (SELECT 1 FROM pipeline_runs WHERE status = $1) FROM page_data_version WHERE id = 1",
            )
            .bind(PipelineStatus::Running.as_str())
            .fetch_one(pool)
            .await?;
            Ok(PageData { version, running })
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use domain::{PipelineStatus, RunSource};

    use crate::store::test_store;

    #[tokio::test]
    async fn every_write_pages_show_moves_the_version_and_reads_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = test_store(&dir).await;
        let start = store.page_data().await.unwrap();
        assert!(!start.running);

        let run = store.insert_pipeline_run("ana", RunSource::Lakeline, Utc::now()).await.unwrap();
        let inserted = store.page_data().await.unwrap();
        assert!(inserted.version > start.version, "a new run");
        assert!(inserted.running, "a new run is running");

        store.history(&Default::default(), crate::store::history::Cursor::Newest, 25).await.unwrap();
        assert_eq!(store.page_data().await.unwrap(), inserted, "reading changes nothing");

        store.add_note(run, "ana", "looks fine").await.unwrap();
        let noted = store.page_data().await.unwrap();
        assert!(noted.version > inserted.version, "a note");

        store.set_pipeline_status(run, PipelineStatus::Succeeded, Some(Utc::now())).await.unwrap();
        let ended = store.page_data().await.unwrap();
        assert!(ended.version > noted.version, "a status");
        assert!(!ended.running);
    }
}
