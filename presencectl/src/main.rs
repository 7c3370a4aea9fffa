//! `presencectl`: the operator's tool for a presence-sync deployment. It finds the deployment
//! from a stack (or the functions' environment variables) and answers with the same library the
//! functions run: no second copy of the rules.
//!
//! Exit status: 0 when all is well, 1 when it found a problem (or could not look), 2 on bad
//! usage.
#![forbid(unsafe_code)]

mod agent;
mod aws_error;
mod deploy;
mod deployment;
mod describe;
mod doctor;
mod explain;
mod history;
mod mapping;
mod output;
mod redrive;
mod scope;
mod status;
mod sync;
mod teams_id;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "presencectl",
    version,
    about = "Check, inspect and repair a presence-sync deployment (Genesys Cloud presence → Microsoft Teams)",
    after_help = "Exit status: 0 all is well, 1 a problem was found, 2 bad usage."
)]
struct Cli {
    /// The deployment's CloudFormation stack: its outputs name the resources, and the event
    /// function's environment gives the configuration. Without it, the variables the functions
    /// read (STATE_TABLE, AZURE_SECRET_ID, GENESYS_SECRET_ID, GENESYS_ENVIRONMENT, …).
    #[arg(long, global = true, env = "PRESENCECTL_STACK")]
    stack: Option<String>,
    /// One JSON document on stdout instead of aligned text.
    #[arg(long, global = true)]
    json: bool,
    /// The AWS profile to use (as the AWS CLI's --profile); default: the standard chain
    /// (AWS_PROFILE, the environment's credentials, a role).
    #[arg(long, global = true)]
    profile: Option<String>,
    /// The AWS region of the deployment; default: AWS_REGION or the profile's.
    #[arg(long, global = true)]
    region: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check the deployment end to end: a checklist, each failed line with its fix.
    Doctor,
    /// One agent: the record, the cached Teams id, Teams now, and whether they agree.
    Status {
        /// Genesys user id, or the agent's e-mail (their Genesys SCIM userName).
        agent: String,
        /// Also the agent's last outcomes from the event function's logs (Logs Insights).
        #[arg(long)]
        history: bool,
    },
    /// Dry run of an event (EventBridge JSON, `-` for stdin) against the current record: what
    /// the function would do and why. No write, no Graph call.
    Explain {
        event: PathBuf,
        /// Offline: against this PRESENCE_MAPPING ('{}' for the default) and no record, without
        /// AWS or a deployment.
        #[arg(long, value_name = "JSON")]
        mapping: Option<String>,
    },
    /// Reconcile one agent now (read Genesys and Teams, repair what differs, drift included
    /// whatever DRIFT_POLICY says), or run a reconcile pass over everyone with --all (with the
    /// deployment's DRIFT_POLICY).
    Sync {
        /// Genesys user id or e-mail.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        agent: Option<String>,
        /// A whole reconcile pass (every record, then the directory sweep when due).
        #[arg(long)]
        all: bool,
    },
    /// Which agents the sync drives: the scope, its exceptions, and setting one.
    Scope {
        #[command(subcommand)]
        action: scope::Action,
    },
    /// Inspect, override or drop an agent's cached Teams id.
    TeamsId {
        #[command(subcommand)]
        action: teams_id::Action,
    },
    /// Send the events waiting in the failure queue to the event function again
    /// (asynchronously). A dry run unless --send.
    Redrive {
        /// Invoke the function with each event, deleting a message once Lambda accepted it.
        #[arg(long, conflicts_with = "dry_run")]
        send: bool,
        /// Show what would be sent (the default).
        #[arg(long)]
        dry_run: bool,
        /// At most this many messages.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        max: u32,
    },
    /// Validate a PRESENCE_MAPPING (the deployment's when omitted) and print the effective table.
    Mapping {
        #[command(subcommand)]
        action: mapping::Action,
    },
    /// Deploy everything, or upgrade it in place: the Entra ID app, the Genesys Cloud side and
    /// the AWS stack, then doctor (make deploy; infra/README.md). --stack defaults to
    /// presence-sync.
    Deploy(deploy::DeployArgs),
    /// Remove what deploy made, in order, and say what is left (make destroy).
    Destroy(deploy::DestroyArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!(
                "presencectl: cannot start its runtime: {error} — fix: retry (the system may be short of threads or memory)"
            );
            return ExitCode::FAILURE;
        }
    };
    let json = cli.json;
    match runtime.block_on(run(cli)) {
        Ok(false) => ExitCode::SUCCESS,
        Ok(true) => ExitCode::FAILURE,
        Err(error) => {
            report(&error, json);
            ExitCode::FAILURE
        }
    }
}

/// A command that could not answer: one line ending with its fix, or (`--json`) one JSON
/// document `{"ok": false, "error", "fix"}` on stdout, as a script reads every other answer.
fn report(error: &str, json: bool) {
    let (what, fix) = error
        .split_once(" — fix: ")
        .unwrap_or((error, output::DOCTOR_FIX));
    if json {
        let document = serde_json::json!({"ok": false, "error": what, "fix": fix});
        println!(
            "{}",
            serde_json::to_string_pretty(&document).unwrap_or_default()
        );
    } else {
        eprintln!("presencectl: {}", output::with_fix(what, fix));
    }
}

/// The library's warnings (a failed action, an override) on stderr, one line each. The AWS
/// SDK's own (an instance-metadata probe, a credentials provider that found nothing) and the
/// errors' full context only with `PRESENCECTL_LOG=debug`: the command's answer already says
/// what failed and its fix.
fn init_logs() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("PRESENCECTL_LOG").unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new("off,presence_core=warn,presencectl=warn")
        });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
}

/// Runs the command; `Ok(true)` when it found a problem.
async fn run(cli: Cli) -> Result<bool, String> {
    let json = cli.json;
    if let Some(answer) = offline(&cli.command, json) {
        return answer;
    }
    deployment::check_endpoint_variables()?;
    let account = deployment::Account {
        profile: cli.profile.clone(),
        region: cli.region.clone(),
    };
    let command = match cli.command {
        Command::Deploy(_) | Command::Destroy(_) if json => {
            return Err("deploy and destroy print their progress as they go; --json is for the other commands (drop --json)".into());
        }
        Command::Deploy(args) => {
            return Ok(deploy::deploy(cli.stack.as_deref(), &account, args).await);
        }
        Command::Destroy(args) => {
            return Ok(deploy::destroy(cli.stack.as_deref(), &account, args).await);
        }
        other => other,
    };
    on_deployment(command, cli.stack.as_deref(), &account, json).await
}

/// The answers that need no deployment: a mapping given on the command line, and an
/// explanation against one (`explain --mapping`).
fn offline(command: &Command, json: bool) -> Option<Result<bool, String>> {
    match command {
        Command::Mapping {
            action:
                mapping::Action::Check {
                    mapping: Some(raw),
                    mode,
                },
        } => Some(mapping::mode(mode.as_deref()).and_then(|mode| {
            mapping::text(raw).map(|text| output::print(&mapping::check(&text, mode), json))
        })),
        Command::Explain {
            event,
            mapping: Some(mapping),
        } => Some(explain::offline(event, mapping).map(|answer| output::print(&answer, json))),
        _ => None,
    }
}

/// The commands that look at a deployment, found first from the stack or the variables.
async fn on_deployment(
    command: Command,
    stack: Option<&str>,
    account: &deployment::Account,
    json: bool,
) -> Result<bool, String> {
    let deployment = deployment::Deployment::find(stack, account)
        .await
        .map_err(|e| e.to_string())?;
    let problem = match command {
        Command::Doctor => output::print(&doctor::run(&deployment).await, json),
        Command::Status { agent, history } => {
            output::print(&status::run(&deployment, &agent, history).await?, json)
        }
        Command::Explain { event, .. } => {
            output::print(&explain::run(&deployment, &event).await?, json)
        }
        Command::Sync { agent, all } => match (agent, all) {
            (Some(agent), _) => output::print(&sync::one(&deployment, &agent).await?, json),
            (None, _) => output::print(&sync::all(&deployment, json).await?, json),
        },
        Command::TeamsId { action } => {
            output::print(&teams_id::run(&deployment, action).await?, json)
        }
        Command::Scope { action } => output::print(&scope::run(&deployment, action).await?, json),
        Command::Redrive { send, max, .. } => {
            output::print(&redrive::run(&deployment, send, max).await?, json)
        }
        Command::Mapping { action } => match action {
            mapping::Action::Check { mode, .. } => {
                let raw = deployment.variables.get("PRESENCE_MAPPING");
                let deployed = deployment
                    .variables
                    .get("PRESENCE_MODE")
                    .map(String::as_str);
                let mode = mapping::mode(mode.as_deref().or(deployed))?;
                output::print(&mapping::check(raw.map_or("", String::as_str), mode), json)
            }
        },
        Command::Deploy(_) | Command::Destroy(_) => {
            unreachable!("handled before the deployment is found")
        }
    };
    Ok(problem)
}
