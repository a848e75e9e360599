//! Starts the real server on an ephemeral port, in a fresh data directory.
#![allow(dead_code)]

pub mod swagger;
pub mod workspace;

use std::net::SocketAddr;

use lakeline::config::Config;
use lakeline::Lakeline;
use tokio::sync::oneshot;

pub struct TestServer {
    pub addr: SocketAddr,
    pub data_dir: tempfile::TempDir,
    pub project_dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<lakeline::error::Result<()>>>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        let data_dir = tempfile::tempdir().expect("temp dir");
        Self::start_in(data_dir).await
    }

    pub async fn start_in(data_dir: tempfile::TempDir) -> TestServer {
        Self::start_with(data_dir, workspace::pipeline_project()).await
    }

    pub async fn start_with_project(project: tempfile::TempDir) -> TestServer {
        Self::start_with(tempfile::tempdir().expect("temp dir"), project).await
    }

    async fn start_with(data_dir: tempfile::TempDir, project: tempfile::TempDir) -> TestServer {
        let mut config = Config::for_data_dir(data_dir.path());
        config.runtimes_dir = Some(workspace::shared_runtimes_dir());
        config.project_dir = project.path().to_path_buf();
        let server = Lakeline::prepare(config).await.expect("server prepares");
        let addr = server.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.serve(async {
            let _ = stopped.await;
        }));
        TestServer { addr, data_dir, project_dir: project, stop: Some(stop), task: Some(task) }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Stops the server gracefully and hands back its data directory.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server stops cleanly");
        }
        let dir = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self.data_dir, dir)
    }
}
