//! Running the deployment's tools (terraform, sam, az): each run's output goes into the step's
//! log file and, indented, onto the terminal, with a line every minute while a tool says
//! nothing. No secret is ever put on a tool's command line: the tools read the operator's
//! credentials from the environment they already export, and Terraform writes the client
//! secrets to Secrets Manager itself.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The operator's secrets the driver's environment may hold: the Genesys deployment client's
/// (the Genesys provider reads it) and an Azure service principal's (the azuread and azurerm
/// providers). Only Terraform gets them: sam, cargo and its build scripts, az and rustup run
/// without them.
const OPERATOR_SECRETS: [&str; 2] = ["GENESYSCLOUD_OAUTHCLIENT_SECRET", "ARM_CLIENT_SECRET"];
/// The one tool that reads them.
const READS_OPERATOR_SECRETS: &str = "terraform";

/// How long a tool may stay silent before the driver says it is still running.
const HEARTBEAT: Duration = Duration::from_secs(60);
/// The lines of a failed run's log shown with its failure.
const TAIL_LINES: usize = 15;

/// Where the tools are found, where their logs go, and the environment they get on top of the
/// driver's own.
#[derive(Clone, Debug)]
pub struct Runner {
    /// The repository root: the tools run there.
    pub repo: PathBuf,
    /// `<state dir>/<stack>/logs`.
    pub logs: PathBuf,
    /// `PATH` with the project's virtualenvs first (`.venv/bin`: cargo-lambda and zig;
    /// `.venv/tools/sam/bin`: the SAM CLI).
    pub path: OsString,
    /// Given to every tool (the AWS region and profile; `TF_IN_AUTOMATION`).
    pub env: Vec<(String, String)>,
}

/// A tool run that failed: what was run, how it ended, and its log.
#[derive(Debug)]
pub struct ToolFailure {
    /// The command as shown to the operator (`terraform -chdir=infra/azure apply …`).
    pub command: String,
    /// `exit status 1`, or why it could not start.
    pub ended: String,
    /// Its whole output (a run for its standard output is not logged).
    pub log: Option<PathBuf>,
    /// The last lines of its output.
    pub tail: Vec<String>,
}

impl std::fmt::Display for ToolFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.log, self.tail.last()) {
            (Some(log), _) => write!(
                f,
                "`{}` failed ({}); its output: {}",
                self.command,
                self.ended,
                log.display()
            ),
            (None, Some(last)) => write!(f, "`{}` failed ({}): {last}", self.command, self.ended),
            (None, None) => write!(f, "`{}` failed ({})", self.command, self.ended),
        }
    }
}

impl Runner {
    /// A runner for the repository at `repo`, logging under `logs`.
    pub fn new(repo: &Path, logs: PathBuf, env: Vec<(String, String)>) -> Runner {
        let mut dirs = vec![repo.join(".venv/bin"), repo.join(".venv/tools/sam/bin")];
        dirs.retain(|dir| dir.is_dir());
        dirs.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        Runner {
            repo: repo.to_owned(),
            logs,
            path: std::env::join_paths(dirs).unwrap_or_default(),
            env,
        }
    }

    /// The full path of `program` on the runner's `PATH`, if it is there.
    pub fn find(&self, program: &str) -> Option<PathBuf> {
        std::env::split_paths(&self.path)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    }

    fn command(&self, program: &str, args: &[String], env: &[(String, String)]) -> Command {
        let mut command = Command::new(self.find(program).unwrap_or_else(|| program.into()));
        command
            .args(args)
            .current_dir(&self.repo)
            .env("PATH", &self.path)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        if program != READS_OPERATOR_SECRETS {
            for secret in OPERATOR_SECRETS {
                command.env_remove(secret);
            }
        }
        command
    }

    /// Runs a tool to its end, its output into `<logs>/<log>.log` and onto the terminal.
    pub async fn run(
        &self,
        log: &str,
        program: &str,
        args: &[String],
        env: &[(String, String)],
    ) -> Result<(), ToolFailure> {
        let shown = shown(program, args);
        let path = self.logs.join(format!("{log}.log"));
        let command = self.command(program, args, env);
        let job = {
            let (shown, path) = (shown.clone(), path.clone());
            tokio::task::spawn_blocking(move || stream(command, &shown, &path))
        };
        let ended = match job.await {
            Ok(ended) => ended,
            Err(error) => Err(format!("the driver lost the tool: {error}")),
        };
        ended.map_err(|ended| ToolFailure {
            command: shown,
            ended,
            tail: tail(&path),
            log: Some(path),
        })
    }

    /// Runs a tool for its standard output (a version, an account, a Terraform output):
    /// nothing on the terminal; its error output kept for the failure.
    pub async fn capture(
        &self,
        program: &str,
        args: &[String],
        env: &[(String, String)],
    ) -> Result<String, ToolFailure> {
        let shown = shown(program, args);
        if self.find(program).is_none() {
            return Err(ToolFailure {
                command: shown,
                ended: format!("{program} is not installed (not on PATH)"),
                log: None,
                tail: Vec::new(),
            });
        }
        let mut command = self.command(program, args, env);
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .map_err(std::io::Error::other)
            .and_then(|output| output);
        let failure = |ended: String, tail: Vec<String>| ToolFailure {
            command: shown.clone(),
            ended,
            log: None,
            tail,
        };
        match output {
            Ok(out) if out.status.success() => {
                Ok(String::from_utf8_lossy(&out.stdout).into_owned())
            }
            Ok(out) => Err(failure(
                out.status.to_string(),
                last_lines(&String::from_utf8_lossy(&out.stderr)),
            )),
            Err(error) => Err(failure(format!("could not start: {error}"), Vec::new())),
        }
    }
}

/// The command line as the operator would type it (the program's name, not its path).
fn shown(program: &str, args: &[String]) -> String {
    std::iter::once(program.to_owned())
        .chain(args.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `command`, copying each output line to the log and (indented) to the terminal.
fn stream(mut command: Command, shown: &str, log_path: &Path) -> Result<(), String> {
    if let Some(dir) = log_path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let log = std::fs::File::create(log_path)
        .map_err(|e| format!("cannot write {}: {e}", log_path.display()))?;
    let log = Arc::new(Mutex::new(log));
    let _ = writeln!(lock(&log), "$ {shown}");
    println!("   $ {shown}");
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start: {e}"))?;
    let (lines, heard) = mpsc::channel::<()>();
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|pipe| {
        let (log, lines) = (Arc::clone(&log), lines.clone());
        std::thread::spawn(move || copy_lines(pipe, &log, &lines))
    })
    .collect();
    drop(lines);
    heartbeat(&heard);
    for reader in readers {
        let _ = reader.join();
    }
    let status = child
        .wait()
        .map_err(|e| format!("could not wait for it: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(status.to_string())
    }
}

fn copy_lines(
    pipe: Box<dyn std::io::Read + Send>,
    log: &Mutex<std::fs::File>,
    heard: &mpsc::Sender<()>,
) {
    for line in BufReader::new(pipe).lines().map_while(Result::ok) {
        let _ = writeln!(lock(log), "{line}");
        println!("   │ {line}");
        let _ = heard.send(());
    }
}

/// Until both pipes close: a line each minute the tool says nothing.
fn heartbeat(heard: &mpsc::Receiver<()>) {
    let started = Instant::now();
    loop {
        match heard.recv_timeout(HEARTBEAT) {
            Ok(()) => {}
            Err(mpsc::RecvTimeoutError::Timeout) => println!(
                "   … still running ({} min so far)",
                started.elapsed().as_secs() / 60
            ),
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}

fn lock(log: &Mutex<std::fs::File>) -> std::sync::MutexGuard<'_, std::fs::File> {
    log.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn tail(path: &Path) -> Vec<String> {
    last_lines(&std::fs::read_to_string(path).unwrap_or_default())
}

fn last_lines(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(TAIL_LINES)..]
        .iter()
        .map(|l| presence_core::domain::excerpt::cut(l))
        .collect()
}
