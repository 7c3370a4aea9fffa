//! Every log line the test suite makes the function write, kept for the log scan
//! (`tests/tests/suite/log_scan.rs`): in-process instances log JSON through a subscriber installed
//! here, spawned binaries have their output saved when they end, and each test world records
//! the secrets and tokens it handed out, so the scan knows what must never appear.
//!
//! Everything goes under `target/test-logs/` (or `$CARGO_TARGET_DIR/test-logs/`);
//! `scripts/test.sh` empties it before the suite and scans it after.

use base64::Engine as _;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Mutex, Once};

pub fn dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::moto::repo_root().join("target"));
    target.join("test-logs")
}

fn append(file: &str, lines: impl IntoIterator<Item = String>) {
    let dir = dir();
    let _ = std::fs::create_dir_all(&dir);
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(file))
    {
        for line in lines {
            let _ = writeln!(f, "{line}");
        }
    }
}

/// A file writer for the subscriber: one file per test process.
struct ProcessFile(Mutex<std::fs::File>);

impl Write for &ProcessFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).flush()
    }
}

/// Installs (once per process) a JSON subscriber writing everything the function logs —
/// this crate at TRACE, dependencies at INFO as in production — to this process's file.
pub fn capture_in_process_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let dir = dir();
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join(format!("in-process-{}.log", std::process::id()));
        let Ok(file) = std::fs::File::create(path) else {
            return;
        };
        let file: &'static ProcessFile = Box::leak(Box::new(ProcessFile(Mutex::new(file))));
        let _ = tracing_subscriber::fmt()
            .json()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "info,presence_core=trace",
            ))
            .with_writer(move || file)
            .try_init();
    });
}

/// Saves a spawned function process's output.
pub fn save_process_output(child_pid: Option<u32>, lines: impl IntoIterator<Item = String>) {
    let name = format!(
        "process-{}-{}.log",
        std::process::id(),
        child_pid.unwrap_or(0)
    );
    append(&name, lines);
}

/// Records values that must never appear in a log line: secrets, tokens, and the Basic
/// credentials built from a client id and secret.
pub fn record_secrets(secrets: impl IntoIterator<Item = String>, clients: &[(String, String)]) {
    let mut needles: Vec<String> = secrets.into_iter().collect();
    for (id, secret) in clients {
        needles.push(secret.clone());
        needles.push(base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}")));
    }
    append(&format!("secrets-{}.txt", std::process::id()), needles);
}
