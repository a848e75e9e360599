//! A stage whose log is 300 MiB: its tail is shown, and Lakeline's memory grows by a small,
//! fixed amount (the tail is asked for as a byte range, and a whole file streams through in
//! chunks where a workspace cannot answer a range).

mod common;

use std::time::{Duration, Instant};

use app::api::{ApplyPipelineSetup, GetPipelineRun, TriggerPipeline};
use common::workspace::TestWorkspace;
use common::TestApp;
use futures_util::StreamExt;
use domain::Stage;

const LOG_MIB: usize = 300;

/// New Batch writes 300 MiB of log, then a last line, and succeeds.
fn chatty_new_batch() -> String {
    format!(
        "import sys\nline = 'x' * 1023 + '\\n'\nfor _ in range({}):\n    sys.stdout.write(line)\nprint('THE END OF A LONG LOG', flush=True)\n",
        LOG_MIB * 1024
    )
}

/// Peak resident memory of process `pid`, in KiB.
fn peak_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap()
}

#[tokio::test]
async fn a_300_mib_log_s_tail_is_shown_with_little_memory() {
    let ws = TestWorkspace::start().await;
    std::fs::write(ws.project_dir.path().join("new_batch.py"), chatty_new_batch()).unwrap();
    let server = TestApp::builder().remote_workspace(&ws).with_config(|c| c.owner_suffix = Some("big".into())).start().await;
    server.call(ApplyPipelineSetup {}).await.unwrap();
    let me = std::process::id();
    let before = peak_kib(me);

    // The tracker reads the stage's tail (as a byte range) and the run page shows it.
    let id = server.call(TriggerPipeline { arguments: String::new(), environment: String::new() }).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let tail = loop {
        let detail = server.call(GetPipelineRun { id }).await.unwrap();
        if let Some(log) = detail.logs.iter().find(|l| l.stage == Stage::NewBatch && l.text.contains("THE END OF A LONG LOG")) {
            break log.text.clone();
        }
        assert!(Instant::now() < deadline, "the end of the log was never shown: {:?}", detail.run.stages);
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(tail.len() <= lakeline::pipeline::tracker::LOG_TAIL, "only the tail is kept: {} bytes", tail.len());
    let shown = peak_kib(me).saturating_sub(before);
    eprintln!("showing a {LOG_MIB} MiB log's tail raised the peak memory by {shown} KiB");
    assert!(shown < 20 * 1024, "showing the tail raised the peak memory by {shown} KiB");

    // A reader that does not ask for a range gets the whole file, streamed in chunks.
    let stage = server.store().await.stages(id).await.unwrap().into_iter().find(|s| s.stage == Stage::NewBatch).unwrap();
    let url = format!("{}/api/v2/projects/{}/files/{}:download", ws.workspace.url(), ws.project_id, stage.log_path.as_deref().unwrap());
    let before = peak_kib(me);
    let response = reqwest::Client::new().post(url).bearer_auth(ws.workspace.api_key()).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let mut stream = response.bytes_stream();
    let mut whole = 0;
    while let Some(chunk) = stream.next().await {
        whole += chunk.unwrap().len();
    }
    assert!(whole > LOG_MIB * 1024 * 1024, "{whole} bytes");
    let streamed = peak_kib(me).saturating_sub(before);
    eprintln!("streaming the whole {LOG_MIB} MiB log raised the peak memory by {streamed} KiB");
    assert!(streamed < 20 * 1024, "streaming the whole log raised the peak memory by {streamed} KiB");
    server.stop().await;
    ws.workspace.shutdown().await;
}
