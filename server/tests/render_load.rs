//! Every page rendered by many clients at once — some reading the whole page, some hanging up
//! after the first bytes, as browsers do when a user clicks on — and no panic anywhere in the
//! server (a reactive value read after its page was disposed used to panic while rendering).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::TestApp;
use futures_util::StreamExt;

const PAGES: &[&str] = &["/", "/history", "/history?status=failed&cursor=before-5", "/runs/1", "/runs/999", "/settings", "/tokens", "/users", "/audit", "/nowhere"];
const CLIENTS: usize = 50;
const ROUNDS: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pages_rendered_concurrently_never_panic() {
    let panics = Arc::new(AtomicUsize::new(0));
    let seen = panics.clone();
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        seen.fetch_add(1, Ordering::SeqCst);
        default_hook(info);
    }));

    let server = TestApp::start().await;
    let store = server.store().await;
    for i in 0..500 {
        let source = if i % 2 == 0 { domain::RunSource::Lakeline } else { domain::RunSource::External };
        store.insert_pipeline_run(&format!("user{}", i % 7), source, chrono::Utc::now() - chrono::Duration::minutes(i)).await.unwrap();
    }
    let server = Arc::new(server);
    let mut clients = vec![];
    for client in 0..CLIENTS {
        let server = server.clone();
        clients.push(tokio::spawn(async move {
            let http = server.client().clone();
            for round in 0..ROUNDS {
                let page = PAGES[(client + round) % PAGES.len()];
                let Ok(response) = http.get(server.url(page)).send().await else { continue };
                let mut body = response.bytes_stream();
                if (client + round) % 5 == 0 {
                    continue; // hang up before reading anything
                }
                if (client + round) % 3 == 0 {
                    // Hang up after the first chunk, while the page still streams.
                    let _ = body.next().await;
                    continue;
                }
                while let Some(chunk) = body.next().await {
                    if chunk.is_err() {
                        break;
                    }
                }
            }
        }));
    }
    for client in clients {
        client.await.unwrap();
    }
    // Work a hung-up page left behind finishes (or is dropped) in this time.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(panics.load(Ordering::SeqCst), 0, "the server panicked while rendering; see the log above");
    Arc::try_unwrap(server).ok().expect("clients are done").stop().await;
}
