//! Stand-ins for the tools the deployment driver (`presencectl deploy`) runs and this machine
//! cannot use for real: `terraform` (its providers reach Entra ID and Genesys Cloud), `az`,
//! `sam` (CloudFormation), `rustup` and `cargo-lambda`. One binary (`src/bin/standin.rs`),
//! named by the link it is called through ([`install`]). Each call is recorded
//! (`STANDIN_LOG`, one JSON line: the tool, its arguments, the `TF_VAR_*` it was given, and
//! whether it changed anything), so that a test can see what the driver asked.
//!
//! Where the real tool changes AWS, the stand-in changes moto the same way (the endpoint
//! from `AWS_ENDPOINT_URL`): Terraform's AWS provider writes the client secrets to Secrets
//! Manager, Genesys's integration creates the partner event source, `sam deploy` creates the
//! stack's resources ([`crate::deployment::create_from`]) and `sam delete` removes them.
//! Where it changes Entra ID or Genesys, it only pretends, with the credentials a test says
//! those clouds would issue (`STANDIN_AZURE_SECRET`, `STANDIN_GENESYS_SECRET`: the fakes
//! accept them) — except one rule of Genesys's it enforces against the fake: the deployment
//! client must hold the role it gives the function's client (terraform.rs).
//!
//! What this does not prove: that the real providers accept the modules (only `terraform fmt`
//! and tests/infra/check_terraform.py look at them), that CloudFormation accepts
//! template.yaml (cfn-lint and the SAM translation do), or that Genesys allows the grant.

/// `println!` that survives a closed pipe: when the driver is killed mid-step (a test
/// interrupting it), the tool it started runs on, as the real one would, and must still
/// finish its work and its record instead of panicking on the first line it prints.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod module;
mod sam;
mod sam_flags;
pub use sam::parse_overrides;
mod terraform;
mod tf_modules;

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The tools the stand-in plays.
pub const TOOLS: [&str; 5] = ["terraform", "az", "sam", "rustup", "cargo-lambda"];

/// One call, as recorded.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Record {
    pub tool: String,
    pub args: Vec<String>,
    /// The `TF_VAR_*` variables it was given (name, value).
    pub tf_vars: Vec<(String, String)>,
    /// Whether it changed anything (an apply that added, a deploy with changes, …).
    pub changed: bool,
    /// Which of the operator's secret variables ([`OPERATOR_SECRETS`]) its environment held
    /// (names only).
    #[serde(default)]
    pub operator_secrets: Vec<String>,
}

/// The operator's secrets the driver's environment may hold: the Genesys deployment client's
/// and an Azure service principal's. Only Terraform's providers read them.
pub const OPERATOR_SECRETS: [&str; 2] = ["GENESYSCLOUD_OAUTHCLIENT_SECRET", "ARM_CLIENT_SECRET"];

/// A directory of links named after [`TOOLS`], each to the stand-in binary: put it first on
/// the driver's `PATH`.
pub fn install(dir: &Path) -> PathBuf {
    let binary = crate::runtime_api::binary_path("standin");
    std::fs::create_dir_all(dir).expect("stand-in directory");
    for tool in TOOLS {
        let link = dir.join(tool);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&binary, &link).expect("stand-in link");
    }
    dir.to_owned()
}

/// Every call recorded in `log`, in order.
pub fn records(log: &Path) -> Vec<Record> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).expect("a stand-in record"))
        .collect()
}

/// What a call ended with: its exit status and whether it changed anything.
pub(crate) struct Ended {
    pub status: u8,
    pub changed: bool,
}

pub(crate) fn ok(changed: bool) -> Ended {
    Ended { status: 0, changed }
}

pub(crate) fn failed(message: &str) -> Ended {
    {
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "{message}");
    }
    Ended {
        status: 1,
        changed: false,
    }
}

/// The stand-in's `main`: plays `tool` with `args`; the exit status.
pub async fn run(tool: &str, args: Vec<String>) -> u8 {
    // Not a call of the driver's: the stand-in's own later work (not recorded).
    if args.first().map(String::as_str) == Some(tf_modules::LATER) {
        return tf_modules::create_later(&args).await.status;
    }
    let ended = match (tool, first(&args)) {
        _ if forced_failure(tool, &args) => failed(&format!("Error: {tool} failed (STANDIN_FAIL)")),
        ("terraform", _) => terraform::run(&args).await,
        ("sam", _) => sam::run(&args).await,
        ("az", "account") => az_account(),
        // The installed targets (`STANDIN_RUST_TARGETS`, comma-separated, for a toolchain
        // without the arm64 one).
        ("rustup", "target") => {
            let targets = std::env::var("STANDIN_RUST_TARGETS")
                .unwrap_or_else(|_| "x86_64-unknown-linux-gnu,aarch64-unknown-linux-gnu".into());
            say!("{}", targets.replace(',', "\n"));
            ok(false)
        }
        ("cargo-lambda", _) => {
            say!("cargo-lambda 1.8.5 (stand-in)");
            ok(false)
        }
        _ => failed(&format!("stand-in {tool}: {args:?} is not played")),
    };
    record(tool, &args, ended.changed);
    ended.status
}

fn first(args: &[String]) -> &str {
    args.iter()
        .find(|a| !a.starts_with('-'))
        .map_or("", String::as_str)
}

/// `STANDIN_FAIL="terraform apply infra/genesys"`: a call whose arguments contain every word
/// fails, as the real tool would on an error.
fn forced_failure(tool: &str, args: &[String]) -> bool {
    let Ok(rule) = std::env::var("STANDIN_FAIL") else {
        return false;
    };
    let mut words = rule.split_whitespace();
    words.next() == Some(tool) && words.all(|w| args.iter().any(|a| a.contains(w)))
}

fn az_account() -> Ended {
    if std::env::var_os("STANDIN_AZ_SIGNED_OUT").is_some() {
        return failed("ERROR: Please run 'az login' to setup account.");
    }
    let tenant = secret_input("STANDIN_AZURE_SECRET")["tenant_id"].clone();
    say!(
        "{}",
        serde_json::json!({"tenantId": tenant, "user": {"name": "admin@example.com", "type": "user"}})
    );
    ok(false)
}

/// A JSON input the test gives (what a cloud would issue).
pub(crate) fn secret_input(name: &str) -> serde_json::Value {
    std::env::var(name)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

/// `STANDIN_STATE/<name>`.
pub(crate) fn state_path(name: &str) -> PathBuf {
    PathBuf::from(std::env::var("STANDIN_STATE").expect("STANDIN_STATE is set")).join(name)
}

pub(crate) fn read_state(name: &str) -> serde_json::Value {
    std::fs::read_to_string(state_path(name))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_else(|| serde_json::json!({}))
}

pub(crate) fn write_state(name: &str, value: &serde_json::Value) {
    let path = state_path(name);
    std::fs::create_dir_all(path.parent().expect("a directory")).expect("state directory");
    std::fs::write(path, value.to_string()).expect("stand-in state");
}

/// The AWS endpoint the stand-ins change: `STANDIN_MOTO` (moto itself, when the driver goes
/// through a proxy whose canned answers are meant for the driver), else the driver's
/// `AWS_ENDPOINT_URL`.
pub(crate) fn endpoint() -> String {
    std::env::var("STANDIN_MOTO")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
        .expect("STANDIN_MOTO or AWS_ENDPOINT_URL is set")
}

fn record(tool: &str, args: &[String], changed: bool) {
    let Ok(log) = std::env::var("STANDIN_LOG") else {
        return;
    };
    let mut tf_vars: Vec<(String, String)> = std::env::vars()
        .filter(|(name, _)| name.starts_with("TF_VAR_"))
        .collect();
    tf_vars.sort();
    let record = Record {
        tool: tool.to_owned(),
        args: args.to_vec(),
        tf_vars,
        changed,
        operator_secrets: OPERATOR_SECRETS
            .iter()
            .filter(|name| std::env::var_os(name).is_some())
            .map(|name| (*name).to_owned())
            .collect(),
    };
    let line = serde_json::to_string(&record).expect("a record") + "\n";
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("the stand-in log");
    file.write_all(line.as_bytes()).expect("a record written");
}
