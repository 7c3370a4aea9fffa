//! The AWS side: the functions built for arm64 (`sam build`, Cargo Lambda), the stack
//! deployed without a question (`sam deploy`, every parameter from the Terraform outputs and
//! the settings: no `--guided`, no edit of samconfig.toml), the partner event source waited
//! for until Active, and the stack deleted (`sam delete`).

use super::Problem;
use super::command::{Runner, ToolFailure};
use super::settings::Settings;
use crate::aws_error;
use presence_core::policy::{PARTNER_SOURCE_POLL, PARTNER_SOURCE_WAIT};
use std::time::Instant;

/// Where the arm64 build keeps its artifacts between runs (a re-run builds only what changed).
const ARM64_TARGET_DIR: &str = "target/deploy-arm64";
/// What `sam build` writes and `sam deploy` reads.
const BUILT_TEMPLATE: &str = ".aws-sam/build/template.yaml";

/// What the Terraform steps made, for the stack's parameters.
pub struct Made {
    pub event_source_name: String,
    pub azure_secret_arn: String,
    pub genesys_secret_arn: String,
    /// With the watcher (`TeamsToGenesys=on`): the secret of its own Genesys client.
    pub watcher_genesys_secret_arn: Option<String>,
}

fn sam_env() -> Vec<(String, String)> {
    vec![("SAM_CLI_TELEMETRY".into(), "0".into())]
}

fn failed(failure: &ToolFailure, fix: &str) -> Problem {
    let detail = failure
        .tail
        .iter()
        .rev()
        .find(|l| l.contains("Error") || l.contains("error"))
        .map(|l| format!(": {}", l.trim()))
        .unwrap_or_default();
    Problem {
        what: format!("{failure}{detail}"),
        fix: fix.into(),
    }
}

/// `sam build`: every function's `bootstrap`, release, arm64, cross-linked with zig.
pub async fn build(runner: &Runner) -> Result<(), Problem> {
    let mut env = sam_env();
    let target = runner.repo.join(ARM64_TARGET_DIR);
    env.push(("CARGO_TARGET_DIR".into(), target.display().to_string()));
    let args = vec!["build".into(), "--no-use-container".into()];
    runner.run("build", "sam", &args, &env).await.map_err(|failure| {
        failed(
            &failure,
            "read the build's log; a missing Rust target or zig is the usual cause (make setup, rustup target add aarch64-unknown-linux-gnu)",
        )
    })
}

/// The stack's parameters: from the Terraform outputs and the settings. The rule is enabled:
/// the stack step runs only once the credentials step passed doctor's checks of the secrets.
pub fn parameters(settings: &Settings, made: &Made) -> Vec<(String, String)> {
    let mut parameters: Vec<(String, String)> = [
        ("GenesysEventSourceName", made.event_source_name.clone()),
        ("GenesysEnvironment", settings.genesys().host.to_owned()),
        ("ExistingAzureSecretArn", made.azure_secret_arn.clone()),
        ("ExistingGenesysSecretArn", made.genesys_secret_arn.clone()),
        (
            "ExistingWatcherGenesysSecretArn",
            made.watcher_genesys_secret_arn.clone().unwrap_or_default(),
        ),
        ("EventRuleState", "ENABLED".to_owned()),
        (
            "AlarmEmail",
            settings.alarm_email.clone().unwrap_or_default(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    parameters.extend(
        settings
            .parameters
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    parameters
}

/// `Key=Value` pairs as `sam deploy --parameter-overrides` reads them: one argument, pairs
/// separated by spaces, a value with a space or a quote in double quotes.
fn overrides(parameters: &[(String, String)]) -> String {
    parameters
        .iter()
        .map(|(key, value)| {
            if value.is_empty() || value.contains([' ', '"', '\'']) {
                format!(
                    "{key}=\"{}\"",
                    value.replace('\\', "\\\\").replace('"', "\\\"")
                )
            } else {
                format!("{key}={value}")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `sam deploy` of the built template: creates the stack, or updates it in place (an
/// unchanged stack is left as it is).
pub async fn deploy(
    runner: &Runner,
    settings: &Settings,
    parameters: &[(String, String)],
) -> Result<(), Problem> {
    if !runner.repo.join(BUILT_TEMPLATE).is_file() {
        return Err(Problem {
            what: format!("{BUILT_TEMPLATE} does not exist: the functions were not built"),
            fix: "run the deployment from the build step (--from build)".into(),
        });
    }
    let args: Vec<String> = [
        "deploy",
        "--stack-name",
        &settings.stack,
        "--region",
        &settings.aws_region,
        "--capabilities",
        "CAPABILITY_IAM",
        "--resolve-s3",
        "--no-confirm-changeset",
        "--no-fail-on-empty-changeset",
        "--parameter-overrides",
        &overrides(parameters),
    ]
    .map(str::to_owned)
    .to_vec();
    runner.run("stack", "sam", &args, &sam_env()).await.map_err(|failure| {
        failed(
            &failure,
            "read the CloudFormation events in the log; once fixed, make deploy again: a failed update rolls back to the stack before it, and a failed first creation leaves the stack ROLLBACK_COMPLETE, which the next make deploy deletes before creating it again",
        )
    })
}

/// `sam delete` of the stack and its uploaded artifacts, without a question.
pub async fn delete(runner: &Runner, settings: &Settings) -> Result<(), Problem> {
    let args: Vec<String> = [
        "delete",
        "--stack-name",
        &settings.stack,
        "--region",
        &settings.aws_region,
        "--no-prompts",
    ]
    .map(str::to_owned)
    .to_vec();
    runner.run("delete-stack", "sam", &args, &sam_env()).await.map_err(|failure| {
        failed(&failure, "read the log; delete what CloudFormation could not (it names it), then make destroy again")
    })
}

/// What [`wait_for_source`] waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Until {
    /// The source exists (any state): Genesys makes it in its own time after the integration
    /// is created, and a stack deployed before it fails to create (its event bus names it).
    Exists,
    /// Active: the stack's bus of the source's name associates it.
    Active,
}

/// Waits until the partner event source exists or is Active, saying so at once and every
/// half minute.
pub async fn wait_for_source(
    aws: &aws_config::SdkConfig,
    name: &str,
    integration: &str,
    until: Until,
) -> Result<String, Problem> {
    let events = aws_sdk_eventbridge::Client::new(aws);
    let started = Instant::now();
    let mut said: Option<Instant> = None;
    loop {
        let state = match events.describe_event_source().name(name).send().await {
            Ok(out) => out
                .state()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                NOT_FOUND.to_owned()
            }
            Err(e) => {
                return Err(Problem {
                    what: format!("EventBridge: {}", aws_error::describe(&e)),
                    fix:
                        "let this principal call events:DescribeEventSource, then make deploy again"
                            .into(),
                });
            }
        };
        let done = match until {
            Until::Exists => state != NOT_FOUND,
            Until::Active => state == "ACTIVE",
        };
        let waited = started.elapsed().as_secs();
        if done {
            return Ok(match until {
                Until::Exists => format!("{name} exists ({state})"),
                Until::Active => format!("{name} is Active after {waited} s"),
            });
        }
        if started.elapsed() >= PARTNER_SOURCE_WAIT {
            return Err(Problem {
                what: format!(
                    "{name} is still {state} after {} min",
                    PARTNER_SOURCE_WAIT.as_secs() / 60
                ),
                fix: format!(
                    "check that the Genesys integration {integration:?} (Admin → Integrations) is Active and names this AWS account and region, then make deploy again"
                ),
            });
        }
        if said.is_none_or(|at| at.elapsed() >= std::time::Duration::from_secs(30)) {
            match until {
                Until::Exists => println!(
                    "   {name} does not exist yet: waiting for Genesys to create it ({waited} s so far)"
                ),
                Until::Active => {
                    println!("   {name} is {state}; waiting for Active ({waited} s so far)")
                }
            }
            said = Some(Instant::now());
        }
        tokio::time::sleep(PARTNER_SOURCE_POLL).await;
    }
}

/// How [`wait_for_source`] names a source EventBridge does not know.
const NOT_FOUND: &str = "not found";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_quote_only_what_needs_it() {
        let text = overrides(&[
            ("A".into(), "arn:aws:x".into()),
            ("AlarmEmail".into(), String::new()),
            ("PresenceMapping".into(), r#"{"MEAL": "ignore"}"#.into()),
        ]);
        assert_eq!(
            text,
            r#"A=arn:aws:x AlarmEmail="" PresenceMapping="{\"MEAL\": \"ignore\"}""#
        );
    }
}
