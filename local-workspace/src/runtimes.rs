//! The runtime jobs run on. Locally: the machine's Python, listed like a CML ML Runtime — or,
//! when the project has a `requirements.txt`, a venv built from it the first time a job needs
//! it, reused afterwards and rebuilt when the requirements change.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use cml_api::Runtime;
use tokio::io::AsyncWriteExt;

use crate::work_error::{Doing, WorkError, WorkResult};

#[derive(Debug)]
pub struct LocalRuntime {
    /// The listing's fixed fields; `status` and `description` follow the venv's state.
    api: Runtime,
    base_python: PathBuf,
    venv: Option<Venv>,
}

#[derive(Debug)]
struct Venv {
    dir: PathBuf,
    requirements: PathBuf,
    state: Mutex<VenvState>,
    /// Serialises builds within this process (a file lock covers other processes).
    build: tokio::sync::Mutex<()>,
}

#[derive(Debug, Clone, PartialEq)]
enum VenvState {
    NotBuilt,
    Building,
    Ready,
    Failed(String),
}

/// Describes the Python at `interpreter` (a path or a name on PATH) as a Workbench runtime.
pub fn detect_python(interpreter: &Path, venv: Option<(PathBuf, PathBuf)>) -> WorkResult<LocalRuntime> {
    let output = Command::new(interpreter)
        .args(["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3]); print(sys.executable)"])
        .output()
        .map_err(|e| WorkError::NoPython { interpreter: interpreter.display().to_string(), reason: e.to_string() })?;
    if !output.status.success() {
        let reason = String::from_utf8_lossy(&output.stderr).trim().to_string();
        return Err(WorkError::NoPython { interpreter: interpreter.display().to_string(), reason });
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let mut lines = text.lines();
    let version = lines.next().unwrap_or("").trim().to_string();
    let executable = lines.next().map(PathBuf::from).unwrap_or_else(|| interpreter.to_path_buf());
    let minor = version.rsplitn(2, '.').nth(1).unwrap_or(&version).to_string();
    let flavour = if venv.is_some() { "pipeline" } else { "base" };
    let venv = venv.map(|(dir, requirements)| {
        let ready = dir.join("bin/python").exists() && stamp_matches(&dir, &requirements);
        Venv {
            dir,
            requirements,
            state: Mutex::new(if ready { VenvState::Ready } else { VenvState::NotBuilt }),
            build: Default::default(),
        }
    });
    Ok(LocalRuntime {
        api: Runtime {
            image_identifier: format!("local/ml-runtime-workbench-python{minor}-standard:{version}-{flavour}"),
            editor: "Workbench".into(),
            kernel: format!("Python {minor}"),
            edition: "Standard".into(),
            description: String::new(),
            full_version: version,
            status: String::new(),
            register_user_id: 0,
        },
        base_python: executable,
        venv,
    })
}

fn stamp_path(dir: &Path) -> PathBuf {
    dir.join(".lakeline-requirements")
}

fn stamp_matches(dir: &Path, requirements: &Path) -> bool {
    match (std::fs::read(stamp_path(dir)), std::fs::read(requirements)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

impl LocalRuntime {
    pub fn identifier(&self) -> &str {
        &self.api.image_identifier
    }

    /// The runtime as `list_runtimes` shows it now.
    pub fn api(&self) -> Runtime {
        let mut api = self.api.clone();
        let (status, description) = match &self.venv {
            None => ("ENABLED".to_string(), format!("The machine's Python ({})", self.base_python.display())),
            Some(venv) => {
                let state = venv.state.lock().expect("venv state").clone();
                let what = format!("Python venv from {}", venv.requirements.display());
                match state {
                    VenvState::Ready => ("ENABLED".into(), what),
                    VenvState::NotBuilt => ("DISABLED".into(), format!("{what}; not built yet: built when a job first needs it")),
                    VenvState::Building => ("DISABLED".into(), format!("{what}; being built now (log: {})", venv.dir.with_extension("log").display())),
                    VenvState::Failed(e) => ("DISABLED".into(), format!("{what}; the last build failed: {e}")),
                }
            }
        };
        api.status = status;
        api.description = description;
        api
    }

    /// The interpreter jobs and models run with.
    pub fn interpreter(&self) -> PathBuf {
        match &self.venv {
            Some(venv) => venv.dir.join("bin/python"),
            None => self.base_python.clone(),
        }
    }

    /// Makes sure the venv exists and matches the requirements, building it when not; progress
    /// goes to `progress` (a job run's log) and to `<venv>.log`.
    pub async fn ensure_ready(&self, progress: &Path) -> WorkResult<()> {
        let Some(venv) = &self.venv else { return Ok(()) };
        let _guard = venv.build.lock().await;
        let lock = FileLock::acquire(&venv.dir.with_extension("lock")).await?;
        if venv.dir.join("bin/python").exists() && stamp_matches(&venv.dir, &venv.requirements) {
            *venv.state.lock().expect("venv state") = VenvState::Ready;
            return Ok(());
        }
        *venv.state.lock().expect("venv state") = VenvState::Building;
        let result = self.build(venv, progress).await;
        *venv.state.lock().expect("venv state") = match &result {
            Ok(()) => VenvState::Ready,
            Err(e) => VenvState::Failed(e.to_string()),
        };
        drop(lock);
        result
    }

    async fn build(&self, venv: &Venv, progress: &Path) -> WorkResult<()> {
        let build_log = venv.dir.with_extension("log");
        let logs = [progress, build_log.as_path()];
        append(&logs, &format!("[local workspace] building the Python runtime at {} from {}\n", venv.dir.display(), venv.requirements.display())).await;
        let started = std::time::Instant::now();
        // Built beside its final place and moved in when complete, so that a half-built venv (an
        // interrupted build) is never taken for a ready one.
        let building = venv.dir.with_extension("building");
        for dir in [&building, &venv.dir] {
            if dir.exists() {
                tokio::fs::remove_dir_all(dir).await.doing(|| format!("cannot remove {}", dir.display()))?;
            }
        }
        if let Some(parent) = venv.dir.parent() {
            tokio::fs::create_dir_all(parent).await.doing(|| format!("cannot create {}", parent.display()))?;
        }
        let steps: [(&Path, Vec<String>); 2] = [
            (&self.base_python, vec!["-m".into(), "venv".into(), building.to_string_lossy().into_owned()]),
            (
                &building.join("bin/python"),
                vec!["-m".into(), "pip".into(), "install".into(), "--disable-pip-version-check".into(), "-r".into(), venv.requirements.to_string_lossy().into_owned()],
            ),
        ];
        for (program, args) in steps {
            let log = std::fs::OpenOptions::new().create(true).append(true).open(progress).doing(|| format!("cannot open {}", progress.display()))?;
            let status = tokio::process::Command::new(program)
                .args(&args)
                .stdout(log.try_clone().doing(|| "cannot share the log file".into())?)
                .stderr(log)
                // An abandoned build (the workspace shut down) must not go on writing.
                .kill_on_drop(true)
                .status()
                .await
                .doing(|| format!("cannot run {}", program.display()))?;
            if !status.success() {
                let failed = WorkError::CommandFailed { command: format!("{} {}", program.display(), args.join(" ")), status };
                append(&logs, &format!("[local workspace] {failed}\n")).await;
                return Err(failed);
            }
        }
        let requirements = tokio::fs::read(&venv.requirements).await.doing(|| format!("cannot read {}", venv.requirements.display()))?;
        tokio::fs::write(stamp_path(&building), requirements).await.doing(|| "cannot stamp the venv".into())?;
        // (Console scripts in bin/ keep the build path in their first line; Lakeline only ever
        // runs bin/python, which finds its venv from its own location.)
        tokio::fs::rename(&building, &venv.dir).await.doing(|| "cannot move the venv into place".into())?;
        append(&logs, &format!("[local workspace] the Python runtime is ready ({:.0} s)\n", started.elapsed().as_secs_f64())).await;
        Ok(())
    }
}

async fn append(paths: &[&Path], line: &str) {
    for path in paths {
        if let Ok(mut f) = tokio::fs::OpenOptions::new().create(true).append(true).open(path).await {
            let _ = f.write_all(line.as_bytes()).await;
        }
    }
}

/// An exclusive advisory lock on a file, so that two workspaces sharing a runtimes directory
/// never build the same venv at once.
struct FileLock(std::fs::File);

impl FileLock {
    async fn acquire(path: &Path) -> WorkResult<Self> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).doing(|| format!("cannot create {}", parent.display()))?;
        }
        let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(path).doing(|| format!("cannot open {}", path.display()))?;
        let display = path.display().to_string();
        tokio::task::spawn_blocking(move || {
            use std::os::fd::AsRawFd;
            // SAFETY: flock on a file descriptor we own; blocks until the lock is ours.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if rc == 0 { Ok(FileLock(file)) } else { Err(std::io::Error::last_os_error()).doing(|| format!("cannot lock {display}")) }
        })
        .await
        .map_err(|e| WorkError::Io { doing: "the lock's thread failed".into(), source: std::io::Error::other(e) })?
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: unlocking our own descriptor.
        unsafe {
            libc::flock(self.0.as_raw_fd(), libc::LOCK_UN);
        }
    }
}
