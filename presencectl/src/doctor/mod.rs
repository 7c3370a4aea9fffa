//! `presencectl doctor`: the deployment checked end to end, one line per check, each failed one
//! with its fix in a sentence. Everything `make deploy` makes has a check: the secrets, admin
//! consent, the SCIM role, the stack's table, functions and queues, the partner event source,
//! the rule, and the alarm e-mail (the one action left to the operator). Facts are gathered by
//! I/O; each is judged by a small pure function below, tested on its own.

use crate::aws_error;
use crate::deployment::{Deployment, Stack};
use crate::output::Answer;
use functions::{function_check, queue_arn};
use serde::Serialize;
use stack::{alarm_check, queue_check, rule_check, source_check, table_check};

/// The Graph application permission the functions need (setPresence, clearPresence and
/// getPresencesByUserId), as the token's `roles` claim names it.
pub const GRAPH_ROLE: &str = "Presence.ReadWrite.All";
/// The value template.yaml puts in the secrets it creates.
const PLACEHOLDER: &str = "REPLACE_ME";
/// The state table's TTL attribute (the adapter's `expires_at`).
const TTL_ATTRIBUTE: &str = "expires_at";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    /// Not checked (what it needs is missing: `--stack`, or a check before it failed).
    Skip,
}

#[derive(Debug, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    /// What was found (never a secret's value).
    pub detail: String,
    /// The fix, in one sentence, for a failed check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

fn pass(name: &'static str, detail: impl Into<String>) -> Check {
    Check {
        name,
        status: Status::Pass,
        detail: detail.into(),
        fix: None,
    }
}

fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        name,
        status: Status::Fail,
        detail: detail.into(),
        fix: Some(fix.into()),
    }
}

fn skip(name: &'static str, detail: impl Into<String>) -> Check {
    Check {
        name,
        status: Status::Skip,
        detail: detail.into(),
        fix: None,
    }
}

#[derive(Serialize)]
pub struct Checklist {
    pub ok: bool,
    pub checks: Vec<Check>,
}

impl Answer for Checklist {
    fn text(&self) -> String {
        let width = self.checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
        let mut out = String::new();
        for check in &self.checks {
            let mark = match check.status {
                Status::Pass => "✓",
                Status::Fail => "✗",
                Status::Skip => "-",
            };
            out.push_str(&format!("{mark} {:width$}  {}\n", check.name, check.detail));
            if let Some(fix) = &check.fix {
                out.push_str(&format!("  {:width$}  fix: {fix}\n", ""));
            }
        }
        let failed = self
            .checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .count();
        out.push_str(&match failed {
            0 => "all checks passed\n".to_owned(),
            n => format!("{n} check(s) failed\n"),
        });
        out
    }

    fn problem(&self) -> bool {
        !self.ok
    }
}

pub async fn run(deployment: &Deployment) -> Checklist {
    let config = deployment.config.as_ref().ok();
    let mut checks = vec![config_check(deployment)];
    checks.extend(credentials::checks(deployment, config).await);
    let table = (deployment.stack.as_ref())
        .map(|s| s.state_table.clone())
        .or_else(|| config.map(|c| c.state_table.clone()));
    checks.push(match table {
        Some(table) => table_check(deployment, &table).await,
        None => skip("state table", "no table name (configuration)"),
    });
    match &deployment.stack {
        Some(stack) => checks.extend(stack_checks(deployment, stack).await),
        None => {
            let names = [
                "partner event source",
                "rule",
                "functions",
                "queues",
                "alarm e-mail",
            ];
            for name in names {
                checks.push(skip(name, "give --stack to check the stack's resources"));
            }
        }
    }
    Checklist {
        ok: checks.iter().all(|c| c.status != Status::Fail),
        checks,
    }
}

/// Only the credentials' checks (both secrets, the Entra ID token, the Genesys token and SCIM
/// read): `deploy` runs them before the stack exists, and enables the rule only when they pass.
pub async fn credential_checks(deployment: &Deployment) -> Vec<Check> {
    credentials::checks(deployment, deployment.config.as_ref().ok()).await
}

/// The watcher's secret and its Genesys client's read of the presence definitions, with
/// `config` as the watcher will run (its own client's secret: not `shared`).
pub async fn watcher_client_checks(
    aws: &aws_config::SdkConfig,
    config: &presence_core::config::Config,
) -> Vec<Check> {
    watcher::client_checks(aws, config, false).await
}

/// The functions' variables, as the event function reads them.
fn config_check(deployment: &Deployment) -> Check {
    match &deployment.config {
        Ok(_) => pass("configuration", "the functions' variables are valid"),
        Err(error) => fail(
            "configuration",
            error.to_string(),
            match &deployment.stack {
                Some(stack) => {
                    let parameter = crate::deploy::function_env::parameter_of(error.variable)
                        .unwrap_or("<the stack parameter that sets it>");
                    let named = match stack.name.as_str() {
                        crate::deploy::DEFAULT_STACK => String::new(),
                        other => format!("--stack {other} "),
                    };
                    format!(
                        "correct the stack parameter that sets {}: make deploy DEPLOY_ARGS=\"{named}--parameter {parameter}=<value>\"",
                        error.variable
                    )
                }
                None => format!(
                    "give --stack (the deployment's stack: presence-sync unless you named it), or set {} and the functions' other variables",
                    error.variable
                ),
            },
        ),
    }
}

/// What the stack's outputs name: the partner source, the rule, the functions, the queues and
/// the alarm topic.
async fn stack_checks(deployment: &Deployment, stack: &Stack) -> Vec<Check> {
    let queue_arn = queue_arn(deployment, &stack.failure_queue_url).await;
    let (event, reconcile) = (&stack.function_arn, &stack.reconcile_function_arn);
    vec![
        source_check(deployment, stack).await,
        rule_check(deployment, stack).await,
        function_check(deployment, "event function", event, queue_arn.as_deref()).await,
        function_check(deployment, "reconcile function", reconcile, None).await,
        queue_check(deployment, "failure queue", &stack.failure_queue_url).await,
        queue_check(
            deployment,
            "dead-letter queue",
            &stack.dead_letter_queue_url,
        )
        .await,
        alarm_check(deployment, &stack.alarm_topic_arn).await,
    ]
    .into_iter()
    .chain(watcher::checks(deployment, stack).await)
    .collect()
}

/// A check failed because an AWS call did: the service and its error, bounded; the fix for
/// a request that could not be sent (credentials, region, network) before the check's own.
fn aws_failed<E, R>(
    name: &'static str,
    service: &str,
    error: aws_sdk_sqs::error::SdkError<E, R>,
    fix: impl Into<String>,
) -> Check
where
    E: aws_sdk_sqs::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let text = aws_error::describe(&error);
    let fix = aws_error::fix_for(&text).map_or_else(|| fix.into(), str::to_owned);
    fail(name, format!("{service}: {text}"), fix)
}

mod credentials;
mod functions;
mod scope;
mod stack;
#[cfg(test)]
mod tests;
mod watcher;
