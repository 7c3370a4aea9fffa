//! The deployment proven with `doctor`'s own checks: the credentials in the two secrets before
//! the stack is deployed (the rule is enabled only when they pass), the whole deployment after
//! it, and the operator's summary (the dashboard, the one optional action left).

use super::Problem;
use super::function_env;
use super::settings::Settings;
use crate::deployment::{Account, Deployment};
use crate::doctor::{self, Check, Checklist, Status};
use crate::output::Answer;
use presence_core::config::Config;
use presence_core::policy::CREDENTIALS_RETRY;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The variables of the functions' base URLs: unset in production (the Genesys region and
/// Microsoft's public cloud give them); the driver honours them as the functions do, so that
/// a national cloud, or a test's fakes, are reached the same way.
const URL_VARIABLES: [&str; 4] = [
    "GENESYS_LOGIN_URL",
    "GENESYS_API_URL",
    "AZURE_LOGIN_URL",
    "GRAPH_API_URL",
];

/// The doctor check that is the operator's to finish (confirming an e-mail), not a failure.
const OPTIONAL_CHECK: &str = "alarm e-mail";

/// The functions' configuration as the stack will set it, for the checks before it exists:
/// the stack's parameters as template.yaml maps them to the functions' variables.
pub fn function_config(
    settings: &Settings,
    azure_secret: &str,
    genesys_secret: &str,
) -> Result<Config, Problem> {
    let host = settings.genesys().host;
    Config::from_lookup(|name| match name {
        // Not used before the stack exists; required by the configuration.
        "STATE_TABLE" => Some("(not deployed yet)".into()),
        "AZURE_SECRET_ID" => Some(azure_secret.into()),
        "GENESYS_SECRET_ID" => Some(genesys_secret.into()),
        "GENESYS_ENVIRONMENT" => Some(host.into()),
        other if URL_VARIABLES.contains(&other) => std::env::var(other).ok(),
        other => function_env::variable(&settings.parameters, other),
    })
    .map_err(|error| Problem {
        what: error.to_string(),
        fix: match function_env::parameter_of(error.variable) {
            Some(parameter) => format!(
                "give {parameter} a valid value: make deploy DEPLOY_ARGS=\"--parameter {parameter}=<value>\" (template.yaml describes it)"
            ),
            None => format!("unset {} or give it a valid URL", error.variable),
        },
    })
}

/// Doctor's checks of the two secrets (present, no placeholder), the Entra ID token (admin
/// consent) and the Genesys token and SCIM read, and, with the `watcher`'s configuration, its
/// own client's secret and read of the presence definitions; tried again for `wait` while new
/// credentials reach every server. `Ok` only when all pass.
pub async fn credentials(
    aws: &aws_config::SdkConfig,
    config: Config,
    watcher: Option<Config>,
    wait: Duration,
) -> Result<String, Problem> {
    let deployment = Deployment {
        aws: aws.clone(),
        stack: None,
        reconcile_config: Ok(config.clone()),
        config: Ok(config),
        variables: HashMap::new(),
    };
    let started = Instant::now();
    loop {
        let mut checks = doctor::credential_checks(&deployment).await;
        if let Some(watcher) = &watcher {
            checks.extend(doctor::watcher_client_checks(aws, watcher).await);
        }
        let failed: Vec<&Check> = checks.iter().filter(|c| c.status != Status::Pass).collect();
        if failed.is_empty() || started.elapsed() + CREDENTIALS_RETRY > wait {
            let problem = (!failed.is_empty()).then(|| failure(&checklist_of_failed(&failed)));
            print!("{}", indent(&checklist(checks).text()));
            return match problem {
                None => Ok("the secrets hold working credentials: the rule may be enabled".into()),
                Some(problem) => Err(problem),
            };
        }
        for check in &failed {
            println!(
                "   {}: {} — trying again in {} s (new credentials take a minute or two to work everywhere)",
                check.name,
                check.detail,
                CREDENTIALS_RETRY.as_secs()
            );
        }
        tokio::time::sleep(CREDENTIALS_RETRY).await;
    }
}

fn checklist(checks: Vec<Check>) -> Checklist {
    Checklist {
        ok: checks.iter().all(|c| c.status != Status::Fail),
        checks,
    }
}

fn checklist_of_failed(failed: &[&Check]) -> Vec<(String, String)> {
    failed
        .iter()
        .map(|c| {
            (
                format!("{}: {}", c.name, c.detail),
                c.fix
                    .clone()
                    .unwrap_or_else(|| "see the check before it".into()),
            )
        })
        .collect()
}

fn failure(failed: &[(String, String)]) -> Problem {
    Problem {
        what: failed
            .iter()
            .map(|(what, _)| what.as_str())
            .collect::<Vec<_>>()
            .join("; "),
        fix: failed
            .iter()
            .map(|(_, fix)| fix.as_str())
            .collect::<Vec<_>>()
            .join("; "),
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|line| format!("   {line}\n")).collect()
}

/// What `doctor --stack` says of the deployed stack; the optional actions it leaves (a
/// pending alarm e-mail) are returned, every other failed check fails the step.
pub async fn doctor(stack: &str, account: &Account) -> Result<Verdict, Problem> {
    let deployment = Deployment::find(Some(stack), account)
        .await
        .map_err(|e| Problem {
            what: e.to_string(),
            fix: "make deploy again (the stack step deploys it)".into(),
        })?;
    let checklist = doctor::run(&deployment).await;
    print!("{}", indent(&checklist.text()));
    let failed: Vec<&Check> = checklist
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail && c.name != OPTIONAL_CHECK)
        .collect();
    if !failed.is_empty() {
        return Err(failure(&checklist_of_failed(&failed)));
    }
    let email_pending = checklist
        .checks
        .iter()
        .any(|c| c.status == Status::Fail && c.name == OPTIONAL_CHECK);
    let dashboard = deployment
        .stack
        .as_ref()
        .and_then(|s| s.dashboard_name.clone());
    Ok(Verdict {
        email_pending,
        dashboard,
    })
}

/// What the operator is told at the end.
pub struct Verdict {
    /// The alarm e-mail's subscription waits for its confirmation.
    pub email_pending: bool,
    pub dashboard: Option<String>,
}

impl Verdict {
    pub fn summary(&self, settings: &Settings) -> String {
        let region = &settings.aws_region;
        let dashboard = match &self.dashboard {
            Some(name) => format!(
                "https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#dashboards/dashboard/{name}"
            ),
            None => "(the stack names no dashboard)".into(),
        };
        let left = match (&settings.alarm_email, self.email_pending) {
            (Some(email), true) => format!("confirm the alarm subscription from the e-mail AWS Notifications sent to {email} (optional; until then the alarms reach nobody)"),
            (Some(_), false) => "nothing: the alarm e-mail is confirmed".into(),
            (None, _) => "nothing (no alarm e-mail: give --alarm-email, or subscribe to the stack's AlarmTopicArn)".into(),
        };
        format!(
            "presence-sync is deployed and doctor says it is syncing.\n  dashboard    {dashboard}\n  presencectl  target/debug/presencectl --stack {stack} doctor (status <agent>, explain, sync, redrive: README.md, \"Operating it\")\n  left to do   {left}\n",
            stack = settings.stack
        )
    }
}
