//! The runtimes jobs can run on. Locally: the machine's Python, listed like a CML ML Runtime.

use std::path::{Path, PathBuf};
use std::process::Command;

use cml_api::Runtime;

#[derive(Debug, Clone)]
pub struct LocalRuntime {
    pub api: Runtime,
    pub interpreter: PathBuf,
}

/// Describes the Python at `interpreter` (a path or a name on PATH) as a Workbench runtime.
pub fn detect_python(interpreter: &Path) -> Result<LocalRuntime, String> {
    let output = Command::new(interpreter)
        .args(["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3]); print(sys.executable)"])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", interpreter.display()))?;
    if !output.status.success() {
        return Err(format!("{} --version failed: {}", interpreter.display(), String::from_utf8_lossy(&output.stderr)));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let mut lines = text.lines();
    let version = lines.next().unwrap_or("").trim().to_string();
    let executable = lines.next().map(PathBuf::from).unwrap_or_else(|| interpreter.to_path_buf());
    let minor = version.rsplitn(2, '.').nth(1).unwrap_or(&version).to_string();
    Ok(LocalRuntime {
        api: Runtime {
            image_identifier: format!("local/ml-runtime-workbench-python{minor}-standard:{version}"),
            editor: "Workbench".into(),
            kernel: format!("Python {minor}"),
            edition: "Standard".into(),
            description: format!("The machine's Python ({})", executable.display()),
            full_version: version,
            status: "ENABLED".into(),
            register_user_id: 0,
        },
        interpreter: executable,
    })
}
