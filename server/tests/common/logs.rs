//! The logs of the apps a test starts. By default they go to the test's captured output (shown
//! when it fails). With `LAKELINE_TEST_LOG_DIR` set (as `make test` sets it), each test binary
//! also writes them, at debug level, to a file there, and notes the secrets it handled (passwords,
//! session cookies, API tokens) beside them: `scripts/check-test-logs.sh` then checks that no
//! secret appears in any log of the whole test run.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Mutex, Once, OnceLock};

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

fn dir() -> Option<PathBuf> {
    std::env::var_os("LAKELINE_TEST_LOG_DIR").map(PathBuf::from)
}

fn file_name(kind: &str) -> String {
    let binary = std::env::current_exe().ok().and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned())).unwrap_or_default();
    format!("{binary}-{}.{kind}", std::process::id())
}

/// The log file of this test binary.
struct LogFile(Mutex<std::fs::File>);

impl<'a> MakeWriter<'a> for &'static LogFile {
    type Writer = LogFileWriter;
    fn make_writer(&'a self) -> LogFileWriter {
        LogFileWriter(self)
    }
}

struct LogFileWriter(&'static LogFile);

impl Write for LogFileWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 .0.lock().unwrap_or_else(|e| e.into_inner()).write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0 .0.lock().unwrap_or_else(|e| e.into_inner()).flush()
    }
}

pub fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let console = tracing_subscriber::fmt::layer().with_test_writer().with_target(false);
        let registry = tracing_subscriber::registry().with(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,lakeline=debug,local_workspace=debug,tower_http=debug")));
        match dir() {
            Some(dir) => {
                std::fs::create_dir_all(&dir).expect("the test log directory");
                let file = std::fs::File::create(dir.join(file_name("log"))).expect("a test log file");
                let file: &'static LogFile = Box::leak(Box::new(LogFile(Mutex::new(file))));
                let _ = registry.with(console).with(tracing_subscriber::fmt::layer().with_ansi(false).with_writer(file)).try_init();
            }
            None => {
                let _ = registry.with(console).try_init();
            }
        }
    });
}

/// Notes a secret the test handled, for the check of the whole run's logs.
pub fn secret(value: &str) {
    static FILE: OnceLock<Option<Mutex<std::fs::File>>> = OnceLock::new();
    let file = FILE.get_or_init(|| {
        let dir = dir()?;
        std::fs::create_dir_all(&dir).ok()?;
        std::fs::OpenOptions::new().create(true).append(true).open(dir.join(file_name("secrets"))).ok().map(Mutex::new)
    });
    if let Some(file) = file {
        let _ = writeln!(file.lock().unwrap_or_else(|e| e.into_inner()), "{value}");
    }
}

/// Keeps the log of a process a test started (not through `init`'s subscriber) with the run's
/// other logs, so that the check of secrets covers it too.
pub fn save(name: &str, text: &str) {
    if let Some(dir) = dir() {
        std::fs::create_dir_all(&dir).expect("the test log directory");
        std::fs::write(dir.join(file_name(&format!("{name}.log"))), text).expect("a test log file");
    }
}
