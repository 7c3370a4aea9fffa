//! `presencectl doctor`: the deployment checked end to end, one line per check, each failed one
//! with its fix in a sentence. Every manual step of infra/README.md has a check: the secrets
//! (step 5), admin consent (step 1), the SCIM role (step 2), the stack (step 4), the alarm
//! e-mail (step 4), the rule (step 6). Facts are gathered by I/O; each is judged by a small
//! pure function below, tested on its own.

use crate::agent::budget;
use crate::deployment::{Deployment, Stack, aws_detail};
use crate::output::Answer;
use presence_core::adapters::genesys_users::GenesysUsers;
use presence_core::adapters::http::Http;
use presence_core::adapters::oauth::{AzureAd, GenesysLogin, TokenCache, secret_fields};
use presence_core::adapters::secrets_manager::SecretsManager;
use presence_core::config::Config;
use presence_core::ports::{GenesysBulk, RemoteError, SecretSource};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

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

/// The secret id: the stack's output, or the configuration's.
fn secret_id(
    deployment: &Deployment,
    config: Option<&Config>,
    from_stack: impl Fn(&Stack) -> &String,
    from_config: impl Fn(&Config) -> &String,
) -> Option<String> {
    deployment
        .stack
        .as_ref()
        .map(|s| from_stack(s).clone())
        .or_else(|| config.map(|c| from_config(c).clone()))
}

async fn secret_check(
    name: &'static str,
    secrets: &SecretsManager,
    id: &str,
    fields: &[&str],
) -> Check {
    let fix = "store the credentials in the secret (infra/README.md, step 5)";
    let secret = match secrets.fetch(id).await {
        Ok(secret) => secret,
        Err(error) => {
            return fail(
                name,
                error.to_string(),
                "create the secret or give the stack the right ARN, and let the functions' role read it",
            );
        }
    };
    judge_secret(name, id, &secret, fields).unwrap_or_else(|detail| fail(name, detail, fix))
}

/// A secret that parses into its fields and holds no placeholder; the error never quotes a
/// value.
pub fn judge_secret(
    name: &'static str,
    id: &str,
    secret: &SecretString,
    fields: &[&str],
) -> Result<Check, String> {
    let parsed = match fields {
        [a, b, c] => secret_fields(id, secret, [*a, *b, *c]).map(|f| f.to_vec()),
        [a, b] => secret_fields(id, secret, [*a, *b]).map(|f| f.to_vec()),
        _ => unreachable!("the secrets have two or three fields"),
    };
    let values = parsed.map_err(|e| e.to_string())?;
    let placeholders: Vec<&str> = fields
        .iter()
        .zip(&values)
        .filter(|(_, value)| value.expose_secret().contains(PLACEHOLDER))
        .map(|(field, _)| *field)
        .collect();
    if !placeholders.is_empty() {
        return Err(format!(
            "secret {id}: {} still hold the placeholder {PLACEHOLDER}",
            placeholders.join(", ")
        ));
    }
    Ok(pass(name, format!("{id}: {} set", fields.join(", "))))
}

async fn entra_check(config: &Config, secrets: &SecretsManager) -> Check {
    let name = "Entra ID token";
    let tokens = TokenCache::new(
        config.azure_secret_id.clone(),
        secrets.clone(),
        AzureAd {
            login_url: config.azure_login_url.clone(),
            scope: config.graph_scope.clone(),
        },
        Http::new(config.http),
    );
    match tokens.token(budget()).await {
        Ok(token) => judge_roles(name, roles(&token)),
        Err(error @ RemoteError::Denied { .. }) => fail(
            name,
            error.to_string(),
            "Entra ID refuses the client credentials: store the app's current client secret in the Azure secret (step 5)",
        ),
        Err(error) => fail(
            name,
            error.to_string(),
            "check AZURE_LOGIN_URL and the tenant in the secret; retry if Entra ID was unavailable",
        ),
    }
}

/// The `roles` claim of a JWT access token (`None`: not a JWT, or no such claim).
pub fn roles(token: &SecretString) -> Option<Vec<String>> {
    use base64::Engine;
    let payload = token.expose_secret().split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let roles = claims.get("roles")?.as_array()?;
    Some(
        roles
            .iter()
            .filter_map(|r| r.as_str())
            .map(presence_core::domain::excerpt::cut)
            .collect(),
    )
}

/// Whether the token's roles include the Graph permission (admin consent granted).
pub fn judge_roles(name: &'static str, roles: Option<Vec<String>>) -> Check {
    let consent = "grant admin consent for Presence.ReadWrite.All (Application) to the app registration (infra/azure, step 1)";
    match roles {
        Some(roles) if roles.iter().any(|r| r == GRAPH_ROLE) => pass(
            name,
            format!("issued, with the application role {GRAPH_ROLE}"),
        ),
        Some(roles) if roles.is_empty() => {
            fail(name, "issued without any application role", consent)
        }
        Some(roles) => fail(
            name,
            format!(
                "issued with roles {} but not {GRAPH_ROLE}",
                roles.join(", ")
            ),
            consent,
        ),
        None => fail(
            name,
            "issued without a roles claim: no application permission is consented",
            consent,
        ),
    }
}

async fn genesys_check(config: &Config, secrets: &SecretsManager) -> Check {
    let name = "Genesys SCIM";
    let http = Http::new(config.http);
    let login = || {
        TokenCache::new(
            config.genesys_secret_id.clone(),
            secrets.clone(),
            GenesysLogin {
                login_url: config.genesys_login_url.clone(),
            },
            http.clone(),
        )
    };
    if let Err(error) = login().token(budget()).await {
        let fix = match error {
            RemoteError::Denied { .. } => {
                "the Genesys login refuses the OAuth client: store the client's current id and secret in the Genesys secret (step 5)"
            }
            _ => {
                "check GENESYS_ENVIRONMENT (or GENESYS_LOGIN_URL); retry if Genesys was unavailable"
            }
        };
        return fail(name, error.to_string(), fix);
    }
    let users = GenesysUsers::new(http.clone(), &config.genesys_api_url, login());
    match users.directory_page(None, budget()).await {
        Ok(page) => pass(
            name,
            format!(
                "token issued; SCIM answered ({} users on the first page)",
                page.users.len()
            ),
        ),
        Err(error @ RemoteError::Denied { .. }) => fail(
            name,
            error.to_string(),
            "give the OAuth client the role presence-sync SCIM reader (infra/README.md, step 2)",
        ),
        Err(error) => fail(
            name,
            error.to_string(),
            "check GENESYS_ENVIRONMENT (or GENESYS_API_URL); retry if Genesys was unavailable",
        ),
    }
}

async fn table_check(deployment: &Deployment, table: &str) -> Check {
    let name = "state table";
    let client = aws_sdk_dynamodb::Client::new(&deployment.aws);
    let described = client.describe_table().table_name(table).send().await;
    let status = match described {
        Ok(out) => out
            .table()
            .and_then(|t| t.table_status())
            .map(|s| s.as_str().to_owned()),
        Err(e) => {
            return fail(
                name,
                format!(
                    "DynamoDB: {}",
                    aws_detail(&aws_sdk_dynamodb::error::DisplayErrorContext(e))
                ),
                "deploy the stack (sam deploy), or set STATE_TABLE to its table",
            );
        }
    };
    let ttl = match client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
    {
        Ok(out) => out.time_to_live_description().map(|d| {
            (
                d.time_to_live_status().map(|s| s.as_str().to_owned()),
                d.attribute_name().map(str::to_owned),
            )
        }),
        Err(e) => {
            return fail(
                name,
                format!(
                    "DynamoDB: {}",
                    aws_detail(&aws_sdk_dynamodb::error::DisplayErrorContext(e))
                ),
                "let this principal call dynamodb:DescribeTimeToLive",
            );
        }
    };
    let (ttl_status, ttl_attribute) = ttl.unwrap_or((None, None));
    judge_table(
        table,
        status.as_deref(),
        ttl_status.as_deref(),
        ttl_attribute.as_deref(),
    )
}

pub fn judge_table(
    table: &str,
    status: Option<&str>,
    ttl: Option<&str>,
    attribute: Option<&str>,
) -> Check {
    let name = "state table";
    if status != Some("ACTIVE") {
        return fail(
            name,
            format!("{table} is {}", status.unwrap_or("of unknown status")),
            "wait for the table to become ACTIVE, or redeploy the stack",
        );
    }
    match (ttl, attribute) {
        (Some("ENABLED" | "ENABLING"), Some(TTL_ATTRIBUTE)) => {
            pass(name, format!("{table} ACTIVE, TTL on {TTL_ATTRIBUTE}"))
        }
        (Some("ENABLED" | "ENABLING"), Some(other)) => fail(
            name,
            format!("{table}: TTL is on {other}, not {TTL_ATTRIBUTE}"),
            format!(
                "turn TTL on for the attribute {TTL_ATTRIBUTE} (as template.yaml does); expired cache items are never removed otherwise"
            ),
        ),
        _ => fail(
            name,
            format!("{table}: TTL is off"),
            format!(
                "turn TTL on for the attribute {TTL_ATTRIBUTE} (as template.yaml does); expired cache items are never removed otherwise"
            ),
        ),
    }
}

async fn source_check(deployment: &Deployment, stack: &Stack) -> Check {
    let events = aws_sdk_eventbridge::Client::new(&deployment.aws);
    let source = &stack.event_bus_name;
    match events.describe_event_source().name(source).send().await {
        Ok(out) => judge_source(source, out.state().map(|s| s.as_str())),
        Err(e) => {
            let text = aws_detail(&aws_sdk_eventbridge::error::DisplayErrorContext(&e));
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception())
            {
                return judge_source(source, None);
            }
            fail(
                "partner event source",
                format!("EventBridge: {text}"),
                "let this principal call events:DescribeEventSource, and retry",
            )
        }
    }
}

/// The partner event source's state: `None` when it does not exist.
pub fn judge_source(source: &str, state: Option<&str>) -> Check {
    let name = "partner event source";
    match state {
        Some("ACTIVE") => pass(name, format!("{source} is Active")),
        Some("PENDING") => fail(
            name,
            format!("{source} is Pending: no event bus of its name"),
            "deploy the stack with GenesysEventSourceName set to exactly this source's name (infra/README.md, step 4)",
        ),
        Some(other) => fail(
            name,
            format!("{source} is {other}"),
            "re-create the Genesys EventBridge integration (terraform apply in infra/genesys, step 2), then redeploy the stack",
        ),
        None => fail(
            name,
            format!("{source} does not exist in this account and region"),
            "apply infra/genesys (step 2) for this account and region, and deploy with its event_source_name output",
        ),
    }
}

async fn rule_check(deployment: &Deployment, stack: &Stack) -> Check {
    let name = "rule";
    let events = aws_sdk_eventbridge::Client::new(&deployment.aws);
    let bus = &stack.event_bus_name;
    let names = match events
        .list_rule_names_by_target()
        .target_arn(&stack.function_arn)
        .event_bus_name(bus)
        .send()
        .await
    {
        Ok(out) => out.rule_names().to_vec(),
        Err(e) => {
            return fail(
                name,
                format!(
                    "EventBridge: {}",
                    aws_detail(&aws_sdk_eventbridge::error::DisplayErrorContext(e))
                ),
                "let this principal call events:ListRuleNamesByTarget, and retry",
            );
        }
    };
    let mut states = Vec::new();
    for rule in &names {
        match events
            .describe_rule()
            .name(rule)
            .event_bus_name(bus)
            .send()
            .await
        {
            Ok(out) => states.push((
                rule.clone(),
                out.state()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
            )),
            Err(e) => {
                return fail(
                    name,
                    format!(
                        "EventBridge: {}",
                        aws_detail(&aws_sdk_eventbridge::error::DisplayErrorContext(e))
                    ),
                    "let this principal call events:DescribeRule, and retry",
                );
            }
        }
    }
    judge_rule(bus, &states)
}

/// The rules on the bus that target the event function, with their states.
pub fn judge_rule(bus: &str, rules: &[(String, String)]) -> Check {
    let name = "rule";
    if rules.is_empty() {
        return fail(
            name,
            format!("no rule on {bus} targets the event function"),
            "redeploy the stack (sam deploy): it creates the rule",
        );
    }
    match rules.iter().find(|(_, state)| state == "ENABLED") {
        Some((rule, _)) => pass(
            name,
            format!("{rule} is enabled and targets the event function"),
        ),
        None => fail(
            name,
            format!("{} is disabled", rules[0].0),
            "set EventRuleState=ENABLED in samconfig.toml and run sam deploy (infra/README.md, step 6)",
        ),
    }
}

async fn queue_arn(deployment: &Deployment, url: &str) -> Option<String> {
    let sqs = aws_sdk_sqs::Client::new(&deployment.aws);
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .ok()?;
    out.attributes()?
        .get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .cloned()
}

/// What `function_check` reads of a function.
pub struct FunctionFacts {
    pub state: Option<String>,
    pub architecture: Option<String>,
    pub runtime: Option<String>,
    pub missing_variables: Vec<&'static str>,
    pub reserved_concurrency: Option<i32>,
    /// The event function's asynchronous invocation: retries and the on-failure destination.
    pub retries: Option<i32>,
    pub on_failure: Option<String>,
}

async fn function_check(
    deployment: &Deployment,
    name: &'static str,
    arn: &str,
    failure_queue_arn: Option<&str>,
) -> Check {
    let lambda = aws_sdk_lambda::Client::new(&deployment.aws);
    let config = match lambda
        .get_function_configuration()
        .function_name(arn)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) => {
            return fail(
                name,
                format!(
                    "Lambda: {}",
                    aws_detail(&aws_sdk_lambda::error::DisplayErrorContext(e))
                ),
                "redeploy the stack (sam build && sam deploy)",
            );
        }
    };
    let variables = config
        .environment()
        .and_then(|e| e.variables())
        .cloned()
        .unwrap_or_default();
    let concurrency = lambda
        .get_function_concurrency()
        .function_name(arn)
        .send()
        .await
        .ok()
        .and_then(|c| c.reserved_concurrent_executions());
    let (retries, on_failure) = if failure_queue_arn.is_some() {
        match lambda
            .get_function_event_invoke_config()
            .function_name(arn)
            .send()
            .await
        {
            Ok(c) => (
                c.maximum_retry_attempts(),
                c.destination_config()
                    .and_then(|d| d.on_failure())
                    .and_then(|f| f.destination())
                    .map(str::to_owned),
            ),
            Err(_) => (None, None),
        }
    } else {
        (None, None)
    };
    let facts = FunctionFacts {
        state: config.state().map(|s| s.as_str().to_owned()),
        architecture: config
            .architectures()
            .first()
            .map(|a| a.as_str().to_owned()),
        runtime: config.runtime().map(|r| r.as_str().to_owned()),
        missing_variables: presence_core::config::REQUIRED_VARIABLES
            .iter()
            .copied()
            .filter(|v| variables.get(*v).is_none_or(|x| x.trim().is_empty()))
            .collect(),
        reserved_concurrency: concurrency,
        retries,
        on_failure,
    };
    judge_function(name, arn, &facts, failure_queue_arn)
}

/// The function as template.yaml deploys it.
pub fn judge_function(
    name: &'static str,
    arn: &str,
    facts: &FunctionFacts,
    failure_queue_arn: Option<&str>,
) -> Check {
    let redeploy = "redeploy the stack from template.yaml (sam build && sam deploy)";
    let mut wrong = Vec::new();
    if facts.state.as_deref().is_some_and(|s| s != "Active") {
        wrong.push(format!("state {}", facts.state.as_deref().unwrap_or("")));
    }
    if facts.architecture.as_deref() != Some("arm64") {
        wrong.push(format!(
            "architecture {}",
            facts.architecture.as_deref().unwrap_or("unknown")
        ));
    }
    if facts.runtime.as_deref() != Some("provided.al2023") {
        wrong.push(format!(
            "runtime {}",
            facts.runtime.as_deref().unwrap_or("unknown")
        ));
    }
    if !facts.missing_variables.is_empty() {
        wrong.push(format!(
            "variables missing: {}",
            facts.missing_variables.join(", ")
        ));
    }
    if facts.reserved_concurrency.is_none() {
        wrong.push("no reserved concurrency".into());
    }
    if let Some(queue) = failure_queue_arn {
        if facts.retries != Some(2) {
            wrong.push(format!(
                "asynchronous retries {} (2 expected)",
                facts.retries.map_or("unset".into(), |r| r.to_string())
            ));
        }
        if facts.on_failure.as_deref() != Some(queue) {
            wrong.push("failed events do not go to the failure queue".into());
        }
    }
    if wrong.is_empty() {
        pass(
            name,
            format!(
                "{arn}: Active, arm64, provided.al2023, reserved concurrency {}",
                facts.reserved_concurrency.unwrap_or(0)
            ),
        )
    } else {
        fail(name, format!("{arn}: {}", wrong.join("; ")), redeploy)
    }
}

async fn queue_check(deployment: &Deployment, name: &'static str, url: &str) -> Check {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let sqs = aws_sdk_sqs::Client::new(&deployment.aws);
    let out = match sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) => {
            return fail(
                name,
                format!(
                    "SQS: {}",
                    aws_detail(&aws_sdk_sqs::error::DisplayErrorContext(e))
                ),
                "redeploy the stack (sam deploy): it creates the queue",
            );
        }
    };
    let count = |a: A| {
        out.attributes()
            .and_then(|m| m.get(&a))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    judge_queue(
        name,
        count(A::ApproximateNumberOfMessages) + count(A::ApproximateNumberOfMessagesNotVisible),
    )
}

pub fn judge_queue(name: &'static str, waiting: u64) -> Check {
    match (name, waiting) {
        (_, 0) => pass(name, "empty"),
        ("failure queue", n) => fail(
            name,
            format!("{n} event(s) waiting: the function gave up on them"),
            "read why with presencectl redrive (a dry run), fix the cause, then presencectl redrive --send",
        ),
        (_, n) => fail(
            name,
            format!("{n} event(s) EventBridge could not deliver to the function"),
            "check the function's resource policy and throttles, then read them with aws sqs receive-message; presencectl sync --all repairs what they would have set",
        ),
    }
}

async fn alarm_check(deployment: &Deployment, topic: &str) -> Check {
    let name = "alarm e-mail";
    let sns = aws_sdk_sns::Client::new(&deployment.aws);
    match sns
        .list_subscriptions_by_topic()
        .topic_arn(topic)
        .send()
        .await
    {
        Ok(out) => {
            let pending = out
                .subscriptions()
                .iter()
                .filter(|s| s.subscription_arn() == Some("PendingConfirmation"))
                .count();
            judge_alarm(out.subscriptions().len(), pending)
        }
        Err(e) => fail(
            name,
            format!(
                "SNS: {}",
                aws_detail(&aws_sdk_sns::error::DisplayErrorContext(e))
            ),
            "let this principal call sns:ListSubscriptionsByTopic, and retry",
        ),
    }
}

pub fn judge_alarm(subscriptions: usize, pending: usize) -> Check {
    let name = "alarm e-mail";
    match (subscriptions, pending) {
        (0, _) => pass(
            name,
            "no subscription (AlarmEmail was left empty): the alarms reach nobody",
        ),
        (_, 0) => pass(name, format!("{subscriptions} subscription(s) confirmed")),
        (_, n) => fail(
            name,
            format!("{n} subscription(s) pending confirmation"),
            "confirm the subscription from the e-mail AWS Notifications sent (infra/README.md, step 4)",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_placeholder_or_a_missing_field_fails_without_quoting_the_secret() {
        let fields = ["client_id", "client_secret"];
        let good = SecretString::from(r#"{"client_id":"abc","client_secret":"s3cr3t-value"}"#);
        assert_eq!(
            judge_secret("s", "id", &good, &fields).unwrap().status,
            Status::Pass
        );
        let placeholder =
            SecretString::from(r#"{"client_id":"REPLACE_ME","client_secret":"s3cr3t-value"}"#);
        let why = judge_secret("s", "id", &placeholder, &fields).unwrap_err();
        assert!(
            why.contains("client_id") && !why.contains("s3cr3t"),
            "{why}"
        );
        let missing = SecretString::from(r#"{"client_id":"abc"}"#);
        let why = judge_secret("s", "id", &missing, &fields).unwrap_err();
        assert!(why.contains("client_secret"), "{why}");
        let not_json = SecretString::from("s3cr3t-value");
        assert!(
            !judge_secret("s", "id", &not_json, &fields)
                .unwrap_err()
                .contains("s3cr3t")
        );
    }

    #[test]
    fn the_graph_role_must_be_in_the_token() {
        use base64::Engine;
        let jwt = |claims: serde_json::Value| {
            let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            SecretString::from(format!(
                "{}.{}.sig",
                e.encode(r#"{"alg":"RS256"}"#),
                e.encode(claims.to_string())
            ))
        };
        let granted = jwt(serde_json::json!({"roles": ["Presence.ReadWrite.All"]}));
        assert_eq!(judge_roles("t", roles(&granted)).status, Status::Pass);
        let other = jwt(serde_json::json!({"roles": ["User.Read.All"]}));
        assert_eq!(judge_roles("t", roles(&other)).status, Status::Fail);
        let none = jwt(serde_json::json!({"aud": "https://graph.microsoft.com"}));
        let check = judge_roles("t", roles(&none));
        assert!(check.fix.unwrap().contains("admin consent"));
        assert_eq!(roles(&SecretString::from("opaque")), None);
    }

    #[test]
    fn each_broken_setting_fails_with_its_fix() {
        let cases: Vec<(Check, &str)> = vec![
            (judge_source("s", Some("PENDING")), "GenesysEventSourceName"),
            (judge_source("s", Some("DELETED")), "infra/genesys"),
            (judge_source("s", None), "infra/genesys"),
            (
                judge_rule("bus", &[("r".into(), "DISABLED".into())]),
                "EventRuleState=ENABLED",
            ),
            (judge_rule("bus", &[]), "sam deploy"),
            (
                judge_table("t", Some("ACTIVE"), Some("DISABLED"), None),
                "TTL",
            ),
            (
                judge_table("t", Some("ACTIVE"), Some("ENABLED"), Some("ttl")),
                "expires_at",
            ),
            (judge_table("t", Some("CREATING"), None, None), "ACTIVE"),
            (judge_queue("failure queue", 3), "presencectl redrive"),
            (judge_queue("dead-letter queue", 1), "receive-message"),
            (judge_alarm(1, 1), "confirm"),
        ];
        for (check, fix) in cases {
            assert_eq!(check.status, Status::Fail, "{check:?}");
            assert!(
                check.fix.as_deref().unwrap_or("").contains(fix),
                "{check:?} should say {fix}"
            );
        }
        for check in [
            judge_source("s", Some("ACTIVE")),
            judge_rule("bus", &[("r".into(), "ENABLED".into())]),
            judge_table("t", Some("ACTIVE"), Some("ENABLED"), Some("expires_at")),
            judge_queue("failure queue", 0),
            judge_alarm(0, 0),
            judge_alarm(2, 0),
        ] {
            assert_eq!(check.status, Status::Pass, "{check:?}");
        }
    }

    #[test]
    fn a_function_unlike_the_template_fails() {
        let good = FunctionFacts {
            state: Some("Active".into()),
            architecture: Some("arm64".into()),
            runtime: Some("provided.al2023".into()),
            missing_variables: vec![],
            reserved_concurrency: Some(50),
            retries: Some(2),
            on_failure: Some("arn:q".into()),
        };
        assert_eq!(
            judge_function("f", "arn", &good, Some("arn:q")).status,
            Status::Pass
        );
        let wrong = FunctionFacts {
            architecture: Some("x86_64".into()),
            missing_variables: vec!["STATE_TABLE"],
            retries: Some(0),
            on_failure: None,
            ..good
        };
        let check = judge_function("f", "arn", &wrong, Some("arn:q"));
        assert_eq!(check.status, Status::Fail);
        for said in ["x86_64", "STATE_TABLE", "retries 0", "failure queue"] {
            assert!(check.detail.contains(said), "{}", check.detail);
        }
    }
}
