//! `presencectl doctor`: the deployment checked end to end, one line per check, each failed one
//! with its fix in a sentence. Every manual step of infra/README.md has a check: the secrets
//! (step 5), admin consent (step 1), the SCIM role (step 2), the stack (step 4), the alarm
//! e-mail (step 4), the rule (step 6). Facts are gathered by I/O; each is judged by a small
//! pure function below, tested on its own.

use crate::deployment::{Deployment, aws_detail};
use crate::output::Answer;
use credentials::{entra_check, genesys_check, secret_check, secret_id};
use functions::{function_check, queue_arn};
use presence_core::adapters::secrets_manager::SecretsManager;
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
    let mut checks = Vec::new();
    let config = match &deployment.config {
        Ok(config) => {
            checks.push(pass("configuration", "the functions' variables are valid"));
            Some(config)
        }
        Err(error) => {
            checks.push(fail(
                "configuration",
                error.to_string(),
                format!(
                    "set {} correctly (a stack parameter: sam deploy --guided)",
                    error.variable
                ),
            ));
            None
        }
    };
    let secrets = SecretsManager::new(aws_sdk_secretsmanager::Client::new(&deployment.aws));
    let azure_id = secret_id(
        deployment,
        config,
        |s| &s.azure_secret_arn,
        |c| &c.azure_secret_id,
    );
    let genesys_id = secret_id(
        deployment,
        config,
        |s| &s.genesys_secret_arn,
        |c| &c.genesys_secret_id,
    );
    let azure_ok = match &azure_id {
        Some(id) => {
            let check = secret_check(
                "Azure secret",
                &secrets,
                id,
                &["tenant_id", "client_id", "client_secret"],
            )
            .await;
            let ok = check.status == Status::Pass;
            checks.push(check);
            ok
        }
        None => {
            checks.push(skip("Azure secret", "no secret id (configuration)"));
            false
        }
    };
    let genesys_ok = match &genesys_id {
        Some(id) => {
            let check = secret_check(
                "Genesys secret",
                &secrets,
                id,
                &["client_id", "client_secret"],
            )
            .await;
            let ok = check.status == Status::Pass;
            checks.push(check);
            ok
        }
        None => {
            checks.push(skip("Genesys secret", "no secret id (configuration)"));
            false
        }
    };
    match (config, azure_ok) {
        (Some(config), true) => checks.push(entra_check(config, &secrets).await),
        _ => checks.push(skip(
            "Entra ID token",
            "needs a valid configuration and Azure secret",
        )),
    }
    match (config, genesys_ok) {
        (Some(config), true) => checks.push(genesys_check(config, &secrets).await),
        _ => checks.push(skip(
            "Genesys SCIM",
            "needs a valid configuration and Genesys secret",
        )),
    }
    let table = deployment
        .stack
        .as_ref()
        .map(|s| s.state_table.clone())
        .or_else(|| config.map(|c| c.state_table.clone()));
    match table {
        Some(table) => checks.push(table_check(deployment, &table).await),
        None => checks.push(skip("state table", "no table name (configuration)")),
    }
    match &deployment.stack {
        Some(stack) => {
            checks.push(source_check(deployment, stack).await);
            checks.push(rule_check(deployment, stack).await);
            let queue_arn = queue_arn(deployment, &stack.failure_queue_url).await;
            checks.push(
                function_check(
                    deployment,
                    "event function",
                    &stack.function_arn,
                    queue_arn.as_deref(),
                )
                .await,
            );
            checks.push(
                function_check(
                    deployment,
                    "reconcile function",
                    &stack.reconcile_function_arn,
                    None,
                )
                .await,
            );
            checks.push(queue_check(deployment, "failure queue", &stack.failure_queue_url).await);
            checks.push(
                queue_check(
                    deployment,
                    "dead-letter queue",
                    &stack.dead_letter_queue_url,
                )
                .await,
            );
            checks.push(alarm_check(deployment, &stack.alarm_topic_arn).await);
        }
        None => {
            for name in [
                "partner event source",
                "rule",
                "functions",
                "queues",
                "alarm e-mail",
            ] {
                checks.push(skip(name, "give --stack to check the stack's resources"));
            }
        }
    }
    Checklist {
        ok: checks.iter().all(|c| c.status != Status::Fail),
        checks,
    }
}

/// A check failed because an AWS call did: the service and its error, bounded.
fn aws_failed(
    name: &'static str,
    service: &str,
    error: impl std::error::Error + 'static,
    fix: impl Into<String>,
) -> Check {
    let text = aws_detail(&aws_sdk_sqs::error::DisplayErrorContext(error));
    fail(name, format!("{service}: {text}"), fix)
}

mod credentials;
mod functions;
mod stack;
#[cfg(test)]
mod tests;
