//! A workspace that answers 50 MB: the client refuses it past its size limit without holding it,
//! so memory grows by a small multiple of the limit, not by the answer. (Its own test binary: the peak memory
//! of the process is measured, and no other test may allocate meanwhile.)

use std::time::Duration;

use axum::routing::get;
use lakeline::cml::{ApiKey, ClientOptions, CmlClient, CmlError};

/// Peak resident memory of this process, in KiB.
fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap()
}

#[tokio::test]
async fn a_50_mb_answer_is_refused_with_memory_bounded_by_the_limit() {
    const LIMIT: usize = 4 * 1024 * 1024;
    // 50 MiB of JSON-ish bytes, made one 1 MiB chunk at a time (the server holds no more).
    let app = axum::Router::new().route(
        "/api/v2/projects/p/jobs",
        get(|| async {
            let chunks = (0..50).map(|_| Ok::<_, std::io::Error>(axum::body::Bytes::from(vec![b' '; 1024 * 1024])));
            axum::body::Body::from_stream(futures_util::stream::iter(chunks))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let options = ClientOptions { timeout: Duration::from_secs(30), max_body_bytes: LIMIT, ..Default::default() };
    let client = CmlClient::with_options(&url, ApiKey::new("k"), options).unwrap();

    let before = peak_kib();
    let err = client.list_jobs("p").await.unwrap_err();
    let grown = peak_kib().saturating_sub(before);
    eprintln!("a 50 MiB answer raised the peak memory by {grown} KiB (limit {} KiB)", LIMIT / 1024);
    assert!(matches!(&err, CmlError::BadResponse { detail, .. } if detail.contains("larger than 4 MiB")), "{err}");
    // The stated bound: four times the limit (the body read so far, the chunk in flight, the
    // server's chunk and the HTTP buffers), a tenth of the answer.
    assert!(grown < (4 * LIMIT / 1024) as u64, "refusing a 50 MiB answer raised the peak memory by {grown} KiB");
}
