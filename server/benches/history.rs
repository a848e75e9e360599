//! History with 10,000 stored pipeline runs: the store's query and the whole server-rendered
//! `/history` page, timed over the real server. Prints numbers; run with `make bench`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use chrono::{Duration as Span, Utc};
use common::TestApp;
use lakeline::store::history::{Cursor, FilterText, HistoryQuery};
use lakeline::store::Store;

const RUNS: i64 = 10_000;

async fn seed(store: &Store) {
    lakeline::on_pool!(store, pool => {
        let mut tx = pool.begin().await.unwrap();
        let start = Utc::now() - Span::days(400);
        let statuses = ["succeeded", "succeeded", "succeeded", "failed", "stopped"];
        for i in 0..RUNS {
            let created = start + Span::minutes(i * 55);
            let status = statuses[(i % 5) as usize];
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO pipeline_runs (status, triggered_by, source, created_at, finished_at, updated_at, snapshot_id, parent_snapshot_id,
                    rows_added, accuracy, recall, model_version_number, deployment_status, lineage_resolved)
                 VALUES ($1, $2, 'lakeline', $3, $4, $5, $6, $7, 1440, $8, $9, $10, 'deployed', TRUE) RETURNING id",
            )
            .bind(status)
            .bind(if i % 3 == 0 { "paul" } else { "ana" })
            .bind(created)
            .bind(created + Span::seconds(40))
            .bind(created)
            .bind((1_000_000 + i).to_string())
            .bind((1_000_000 + i - 1).to_string())
            .bind(0.85 + (i % 10) as f64 / 100.0)
            .bind(0.1)
            .bind(i + 1)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
            for stage in 0..3 {
                sqlx::query("INSERT INTO stage_runs (pipeline_run_id, stage, job_id, job_run_id, status, created_at, running_at, finished_at) VALUES ($1, $2, $3, $4, 'ENGINE_SUCCEEDED', $5, $6, $7)")
                    .bind(id)
                    .bind(stage)
                    .bind(format!("job-{stage}"))
                    .bind(format!("run-{id}-{stage}"))
                    .bind(created + Span::seconds(stage * 12))
                    .bind(created + Span::seconds(stage * 12 + 1))
                    .bind(created + Span::seconds(stage * 12 + 11))
                    .execute(&mut *tx)
                    .await
                    .unwrap();
            }
        }
        tx.commit().await.unwrap();
    })
}

fn report(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("{name:<48} median {:>7.2} ms   p90 {:>7.2} ms   max {:>7.2} ms   (n={})", ms(times[times.len() / 2]), ms(times[times.len() * 9 / 10]), ms(times[times.len() - 1]), times.len());
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("lakeline.db")).await.unwrap();
    let t = Instant::now();
    seed(&store).await;
    println!("seeded {RUNS} pipeline runs ({} stage runs) in {:.1} s", RUNS * 3, t.elapsed().as_secs_f64());

    let filters = [
        ("store: first page, no filter", Default::default(), Cursor::Newest),
        // Run 26 is the 26th oldest: the page before it is the oldest 25 (page 400 of 400).
        ("store: page 400 of 400 (the oldest)", Default::default(), Cursor::Before(26)),
        ("store: page 200 of 400, going back", Default::default(), Cursor::After(5000)),
        ("store: status = failed", app::api::HistoryFilter { status: "failed".into(), ..Default::default() }, Cursor::Newest),
        ("store: who = paul, one month", app::api::HistoryFilter { who: "paul".into(), from: (Utc::now() - Span::days(60)).format("%Y-%m-%d").to_string(), to: (Utc::now() - Span::days(30)).format("%Y-%m-%d").to_string(), ..Default::default() }, Cursor::Newest),
        ("store: snapshot id", app::api::HistoryFilter { snapshot: "1005000".into(), ..Default::default() }, Cursor::Newest),
    ];
    for (name, filter, page) in filters {
        let mut times = vec![];
        for _ in 0..50 {
            let t = Instant::now();
            let text = FilterText { status: &filter.status, from: &filter.from, to: &filter.to, who: &filter.who, snapshot: &filter.snapshot, note: &filter.note, with_notes: filter.with_notes };
            let query = HistoryQuery::parse(text).unwrap();
            let rows = store.history(&query, page, 25).await.unwrap();
            times.push(t.elapsed());
            assert!(rows.total > 0 && !rows.runs.is_empty(), "{name}");
        }
        report(name, times);
    }
    store.close().await;

    // The whole page, server-rendered by the real server.
    let server = TestApp::builder().data_dir(dir).with_config(|c| c.log_level = "warn".into()).start().await;
    for (name, path) in [("GET /history (SSR, first page)", "/history"), ("GET /history?status=failed&before=5000", "/history?status=failed&before=5000")] {
        let mut times = vec![];
        for _ in 0..20 {
            let t = Instant::now();
            let body = server.get(path).await.text().await.unwrap();
            times.push(t.elapsed());
            assert!(body.contains("history-row"), "{name}: rows rendered");
        }
        report(name, times);
    }
    server.stop().await;
}
