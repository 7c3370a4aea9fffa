//! A moto (AWS emulator) server for the tests, run from the project virtualenv.
//!
//! [`Moto::start`] spawns `<repo>/.venv/bin/python <repo>/tests/moto_server.py --port 0`,
//! a single-threaded moto server on loopback (so DynamoDB conditional writes are atomic
//! against concurrent writers), and waits for its `MOTO_READY <endpoint>` line.
//! Create the virtualenv first with `scripts/setup-venv.sh`.
//!
//! moto keeps all state in memory: [`Moto::restart`] brings the server back on the same
//! endpoint but with an empty account (no tables, no secrets).
//!
//! Most tests should use [`shared`]: one server per test process (or the one named by
//! `MOTO_ENDPOINT`), isolated per test through unique table and secret names
//! ([`crate::aws::unique_name`]). Start a private [`Moto`] only to stop or restart it.
//!
//! The server process never outlives the test process: it is killed when the [`Moto`] is
//! dropped, and it also exits by itself when its stdin (a pipe from this process) closes,
//! which covers the shared instance (statics are never dropped) and a test binary killed
//! by a signal.
//!
//! Environment:
//! * `MOTO_ENDPOINT`: use this already running server in [`shared`] instead of starting one.
//! * `MOTO_PYTHON`: interpreter to run `tests/moto_server.py` with (default `<repo>/.venv/bin/python`).
//! * `MOTO_VERBOSE=1`: log every request of servers started here to stderr.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::{OnceCell, oneshot};

/// How long [`Moto::start`] waits for the server's `MOTO_READY` line.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// How many stderr lines of the server are kept for error messages.
const STDERR_TAIL: usize = 200;

/// The repository root (the workspace directory holding `template.yaml` and `.venv`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests crate lives inside the repository")
        .to_path_buf()
}

/// The interpreter used to run `tests/moto_server.py`.
pub fn python_path() -> PathBuf {
    match std::env::var_os("MOTO_PYTHON") {
        Some(python) if !python.is_empty() => PathBuf::from(python),
        _ => repo_root().join(".venv").join("bin").join("python"),
    }
}

/// A moto server owned by this test; killed on drop.
pub struct Moto {
    endpoint: String,
    port: u16,
    process: Option<MotoProcess>,
}

impl Moto {
    /// Start a server on a free loopback port and wait until it accepts requests.
    ///
    /// Panics (with the server's stderr) if it does not come up within [`READY_TIMEOUT`],
    /// and with a hint to run `scripts/setup-venv.sh` if the virtualenv is missing.
    pub async fn start() -> Moto {
        match MotoProcess::spawn(0).await {
            Ok((process, endpoint, port)) => Moto {
                endpoint,
                port,
                process: Some(process),
            },
            Err(message) => panic!("{message}"),
        }
    }

    /// The server's base URL, `http://127.0.0.1:<port>`; stable across [`Moto::restart`].
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The server's TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the server process is alive (false after [`Moto::stop`] or a crash).
    pub fn is_running(&mut self) -> bool {
        self.process
            .as_mut()
            .is_some_and(|process| matches!(process.child.try_wait(), Ok(None)))
    }

    /// The last lines the server wrote to stderr (tracebacks, `--verbose` request logs).
    pub fn stderr_tail(&self) -> Vec<String> {
        self.process
            .as_ref()
            .map(|process| process.stderr.lock().unwrap().clone())
            .unwrap_or_default()
    }

    /// Stop the server (gracefully: its stdin is closed, then SIGKILL after 5 s).
    /// Requests to [`Moto::endpoint`] fail until [`Moto::restart`]. No-op when stopped.
    pub async fn stop(&mut self) {
        if let Some(process) = self.process.take() {
            process.shutdown().await;
        }
    }

    /// Stop the server if it runs and start a fresh one on the same port, so clients
    /// built for [`Moto::endpoint`] keep working. All state is lost: moto is in-memory,
    /// so tables and secrets must be created again.
    pub async fn restart(&mut self) {
        self.stop().await;
        // The port was just released; retry briefly in case the bind races with the
        // kernel or another process.
        let started = Instant::now();
        loop {
            match MotoProcess::spawn(self.port).await {
                Ok((process, endpoint, _)) => {
                    assert_eq!(
                        endpoint, self.endpoint,
                        "moto restarted on a different endpoint"
                    );
                    self.process = Some(process);
                    return;
                }
                Err(message) if started.elapsed() < Duration::from_secs(10) => {
                    if !message.contains("cannot bind") {
                        panic!("{message}");
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(message) => panic!("{message}"),
            }
        }
    }
}

enum SharedMoto {
    External(String),
    Owned(Moto),
}

static SHARED: OnceCell<SharedMoto> = OnceCell::const_new();

/// The endpoint of the moto server shared by all tests of this process.
///
/// If `MOTO_ENDPOINT` is set (a server started once by the test script), that endpoint is
/// used. Otherwise a [`Moto`] is started on first use and kept for the process lifetime;
/// it exits together with the test process. Tests must isolate themselves with unique
/// table and secret names, and must never stop it (they cannot: only the endpoint is
/// handed out).
pub async fn shared() -> &'static str {
    let shared = SHARED
        .get_or_init(|| async {
            match std::env::var("MOTO_ENDPOINT") {
                Ok(endpoint) if !endpoint.trim().is_empty() => {
                    SharedMoto::External(endpoint.trim().trim_end_matches('/').to_string())
                }
                _ => SharedMoto::Owned(Moto::start().await),
            }
        })
        .await;
    match shared {
        SharedMoto::External(endpoint) => endpoint,
        SharedMoto::Owned(moto) => moto.endpoint(),
    }
}

/// A running `tests/moto_server.py`. Only std primitives (no tokio process or I/O
/// handles), so it is not tied to the runtime of the test that started it.
struct MotoProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    stderr: Arc<Mutex<Vec<String>>>,
    readers: Vec<JoinHandle<()>>,
}

impl MotoProcess {
    /// Spawn the server on `port` (0 = any) and wait for `MOTO_READY`.
    /// Returns the process, its endpoint and its port, or a message for a panic.
    async fn spawn(port: u16) -> Result<(MotoProcess, String, u16), String> {
        let root = repo_root();
        let python = python_path();
        let script = root.join("tests").join("moto_server.py");
        if !python.exists() {
            return Err(format!(
                "moto: no Python interpreter at {}; run `scripts/setup-venv.sh` in {} to create \
                 the project virtualenv with moto (or set MOTO_PYTHON, or MOTO_ENDPOINT to a \
                 running server)",
                python.display(),
                root.display()
            ));
        }

        let mut command = Command::new(&python);
        command
            .arg(&script)
            .arg("--port")
            .arg(port.to_string())
            .arg("--watch-stdin")
            .current_dir(&root)
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if std::env::var("MOTO_VERBOSE").is_ok_and(|v| !v.is_empty() && v != "0") {
            command.arg("--verbose");
        }
        let mut child = command.spawn().map_err(|err| {
            format!(
                "moto: cannot run {} {}: {err}; run `scripts/setup-venv.sh`",
                python.display(),
                script.display()
            )
        })?;

        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr_pipe = child.stderr.take().expect("stderr is piped");
        let stderr = Arc::new(Mutex::new(Vec::new()));

        let (ready_tx, ready_rx) = oneshot::channel::<String>();
        let stdout_reader = std::thread::Builder::new()
            .name("moto-stdout".into())
            .spawn({
                let stderr = stderr.clone();
                move || {
                    let mut ready_tx = Some(ready_tx);
                    for line in BufReader::new(stdout).lines() {
                        let Ok(line) = line else { break };
                        match line.strip_prefix("MOTO_READY ") {
                            Some(endpoint) if ready_tx.is_some() => {
                                let _ = ready_tx.take().unwrap().send(endpoint.trim().to_string());
                            }
                            _ => push_tail(&stderr, format!("[stdout] {line}")),
                        }
                    }
                }
            })
            .expect("spawn moto stdout reader");
        let stderr_reader = std::thread::Builder::new()
            .name("moto-stderr".into())
            .spawn({
                let stderr = stderr.clone();
                let echo = std::env::var("MOTO_VERBOSE").is_ok_and(|v| !v.is_empty() && v != "0");
                move || drain_lines(stderr_pipe, &stderr, echo)
            })
            .expect("spawn moto stderr reader");

        let mut process = MotoProcess {
            child,
            stdin,
            stderr,
            readers: vec![stdout_reader, stderr_reader],
        };

        let failure = match tokio::time::timeout(READY_TIMEOUT, ready_rx).await {
            Ok(Ok(endpoint)) => {
                let port = endpoint
                    .rsplit(':')
                    .next()
                    .and_then(|p| p.parse::<u16>().ok())
                    .ok_or_else(|| {
                        format!("moto: unexpected ready line `MOTO_READY {endpoint}`")
                    })?;
                return Ok((process, endpoint, port));
            }
            Ok(Err(_)) => "exited before it was ready".to_string(),
            Err(_) => format!("was not ready within {READY_TIMEOUT:?}"),
        };
        let status = process.kill_and_reap();
        let stderr = process.stderr.lock().unwrap().join("\n");
        Err(format!(
            "moto: {} {} --port {port} {failure} ({}); stderr:\n{stderr}\n\
             If moto is missing or broken, run `scripts/setup-venv.sh`.",
            python.display(),
            script.display(),
            status.map_or_else(|| "still running".to_string(), |s| s.to_string()),
        ))
    }

    /// Close stdin (the server exits by itself), wait up to 5 s, then SIGKILL.
    async fn shutdown(mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.kill_and_reap();
    }

    /// SIGKILL (if still running), reap, and let the reader threads finish.
    fn kill_and_reap(&mut self) -> Option<ExitStatus> {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let status = self.child.wait().ok();
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        status
    }
}

impl Drop for MotoProcess {
    fn drop(&mut self) {
        self.kill_and_reap();
    }
}

fn push_tail(tail: &Mutex<Vec<String>>, line: String) {
    let mut tail = tail.lock().unwrap();
    if tail.len() >= STDERR_TAIL {
        tail.remove(0);
    }
    tail.push(line);
}

fn drain_lines(pipe: impl Read, tail: &Mutex<Vec<String>>, echo: bool) {
    for line in BufReader::new(pipe).lines() {
        let Ok(line) = line else { break };
        if echo {
            eprintln!("[moto] {line}");
        }
        push_tail(tail, line);
    }
}
