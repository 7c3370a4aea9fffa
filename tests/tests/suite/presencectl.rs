//! `presencectl`, the built binary, against a whole deployment in moto (a CloudFormation stack
//! whose outputs name the table, secrets, queues, functions, bus and topic: tests/src/deployment.rs)
//! and the contract fakes of Genesys Cloud and Microsoft. Each command's JSON is parsed; no
//! secret or token may appear in any output (checked here, and by the log scan).

use presence_core::config::Config;
use presence_sync_tests::aws_proxy::AwsProxy;
use presence_sync_tests::deployment::{self, Secrets, TestDeployment};
use presence_sync_tests::events::{SOURCE, activity, presence};
use presence_sync_tests::fake_microsoft::MsEndpoint;
use presence_sync_tests::fault::Fault;
use presence_sync_tests::world::{Agent, Instance, World};
use serde_json::Value;
use std::collections::HashMap;
use std::process::Command;

/// A deployment in moto (reached through a proxy, for canned answers), the fakes, and the tool.
struct Ctl {
    world: World,
    deployment: TestDeployment,
    proxy: AwsProxy,
}

/// What one run of the tool printed.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Asserts the tool stopped with status 1 and said `text` on stderr.
    fn fails_saying(&self, text: &str) {
        assert_eq!(self.code, 1, "{}", self.stdout);
        assert!(
            self.stderr.contains(text),
            "should say {text:?}: {}",
            self.stderr
        );
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }
}

impl Ctl {
    async fn start() -> Ctl {
        Self::start_with(&[]).await
    }

    /// A deployment whose functions also read `extra`.
    async fn start_with(extra: &[(&str, &str)]) -> Ctl {
        let moto = presence_sync_tests::moto::shared().await.to_owned();
        let world = World::start_on(&moto).await;
        let proxy = AwsProxy::start(&moto).await;
        // The fakes' URLs, and the fixtures' source and account (the events come from them).
        let env: Vec<(String, String)> = [
            ("GENESYS_LOGIN_URL", world.genesys.login_url()),
            ("GENESYS_API_URL", world.genesys.api_url()),
            ("GRAPH_API_URL", world.ms.graph_url()),
            ("AZURE_LOGIN_URL", world.ms.login_url()),
            ("ALLOWED_SOURCE", SOURCE.to_owned()),
            ("ALLOWED_ACCOUNT", "123456789012".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .chain(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        )
        .collect();
        let deployment = deployment::create(&moto, &env, Secrets::for_world()).await;
        Ctl {
            world,
            deployment,
            proxy,
        }
    }

    /// Runs `presencectl --stack <stack> <args>` through the proxy (the tests run on a
    /// multi-threaded runtime: the proxy serves while this thread waits for the tool).
    fn run(&self, args: &[&str]) -> Run {
        let binary = presence_sync_tests::runtime_api::binary_path("presencectl");
        let output = Command::new(binary)
            .env_clear()
            .envs(self.deployment.cli_env(&self.proxy.endpoint()))
            .arg("--stack")
            .arg(&self.deployment.stack_name)
            .args(args)
            .output()
            .expect("presencectl runs");
        let run = Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        self.assert_no_secret(&run);
        presence_sync_tests::logs::save_process_output(
            None,
            run.stdout
                .lines()
                .chain(run.stderr.lines())
                .map(str::to_owned),
        );
        run
    }

    /// No client secret and no token the fakes issued appears in what the tool printed.
    fn assert_no_secret(&self, run: &Run) {
        let mut secrets = vec![
            presence_sync_tests::world::AZURE_CLIENT_SECRET.to_owned(),
            presence_sync_tests::world::GENESYS_CLIENT_SECRET.to_owned(),
        ];
        secrets.extend(
            self.world
                .ms
                .issued_tokens()
                .into_iter()
                .map(|t| t.access_token),
        );
        secrets.extend(
            self.world
                .genesys
                .issued_tokens()
                .into_iter()
                .map(|t| t.access_token),
        );
        for secret in secrets {
            assert!(
                !run.stdout.contains(&secret) && !run.stderr.contains(&secret),
                "a secret or token in the output:\n{}\n{}",
                run.stdout,
                run.stderr
            );
        }
    }

    /// A function instance of this deployment (its configuration, moto directly).
    fn instance(&self) -> Instance {
        self.world.instance_with(self.config(&[]))
    }

    /// The deployment's function configuration, with `extra` on top.
    fn config(&self, extra: &[(&str, &str)]) -> Config {
        let mut vars: HashMap<String, String> =
            self.deployment.function_env.iter().cloned().collect();
        vars.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        Config::from_lookup(|name| vars.get(name).cloned()).expect("valid")
    }

    fn doctor(&self) -> HashMap<String, Value> {
        let run = self.run(&["--json", "doctor"]);
        let checks = run.json()["checks"].as_array().expect("checks").clone();
        let by_name: HashMap<String, Value> = checks
            .into_iter()
            .map(|c| (c["name"].as_str().unwrap().to_owned(), c))
            .collect();
        let failed = by_name.values().any(|c| c["status"] == "fail");
        assert_eq!(run.code, i32::from(failed), "exit status: {}", run.stdout);
        by_name
    }

    fn sdk(&self) -> &aws_config::SdkConfig {
        &self.world.sdk
    }

    /// Deploys the event function with `PRESENCE_MAPPING` set to `mapping` (a stack parameter).
    async fn set_mapping(&self, mapping: &str) {
        self.set_variable("PRESENCE_MAPPING", mapping).await;
    }

    /// Deploys the event function with one more (or another) variable.
    async fn set_variable(&self, name: &str, value: &str) {
        let mut env: HashMap<String, String> =
            self.deployment.function_env.iter().cloned().collect();
        env.insert(name.into(), value.into());
        let variables = aws_sdk_lambda::types::Environment::builder()
            .set_variables(Some(env))
            .build();
        aws_sdk_lambda::Client::new(self.sdk())
            .update_function_configuration()
            .function_name(&self.deployment.function_name)
            .environment(variables)
            .send()
            .await
            .unwrap();
    }
}

/// The checks that failed, by name.
fn failed(checks: &HashMap<String, Value>) -> Vec<String> {
    let mut names: Vec<String> = (checks.iter())
        .filter(|(_, c)| c["status"] == "fail")
        .map(|(n, _)| n.clone())
        .collect();
    names.sort();
    names
}

/// Asserts that exactly `name` failed, with a fix saying `fix`.
fn only_failed(checks: &HashMap<String, Value>, name: &str, fix: &str) {
    assert_eq!(failed(checks), vec![name.to_owned()], "{checks:#?}");
    let said = checks[name]["fix"].as_str().unwrap_or("");
    assert!(
        said.contains(fix),
        "{name}: fix {said:?} should say {fix:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_passes_a_healthy_deployment_and_prints_a_checklist() {
    let ctl = Ctl::start().await;
    let checks = ctl.doctor();
    assert!(failed(&checks).is_empty(), "{checks:#?}");
    let skipped: Vec<&String> = (checks.iter())
        .filter(|(_, c)| c["status"] == "skip")
        .map(|(n, _)| n)
        .collect();
    assert!(
        skipped.is_empty(),
        "with --stack every check runs: {skipped:?}"
    );
    assert_eq!(checks.len(), 15, "{:?}", checks.keys());
    let text = ctl.run(&["doctor"]);
    assert_eq!(text.code, 0, "{}", text.stdout);
    assert!(
        text.stdout.contains("✓ Entra ID token") && text.stdout.contains("all checks passed"),
        "{}",
        text.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_names_each_broken_setting_with_its_fix() {
    let ctl = Ctl::start().await;
    let d = &ctl.deployment;
    let secrets = aws_sdk_secretsmanager::Client::new(ctl.sdk());
    let put = |arn: String, value: Value| {
        let secrets = secrets.clone();
        async move {
            secrets
                .put_secret_value()
                .secret_id(arn)
                .secret_string(value.to_string())
                .send()
                .await
                .unwrap();
        }
    };

    // The Azure secret still holds the template's placeholder (never written).
    put(d.azure_secret_arn.clone(), Secrets::placeholders().azure).await;
    let checks = ctl.doctor();
    only_failed(&checks, "Azure secret", "make deploy writes it");
    assert!(
        checks["Azure secret"]["detail"]
            .as_str()
            .unwrap()
            .contains("REPLACE_ME")
    );
    assert_eq!(checks["Entra ID token"]["status"], "skip");
    put(d.azure_secret_arn.clone(), Secrets::for_world().azure).await;

    // The Genesys secret lacks a field.
    put(
        d.genesys_secret_arn.clone(),
        serde_json::json!({"client_id": "x"}),
    )
    .await;
    only_failed(&ctl.doctor(), "Genesys secret", "make deploy writes it");
    put(d.genesys_secret_arn.clone(), Secrets::for_world().genesys).await;

    // Admin consent missing: the token carries no roles.
    ctl.world.ms.deny_permission(true);
    only_failed(&ctl.doctor(), "Entra ID token", "admin consent");
    ctl.world.ms.deny_permission(false);

    // The SCIM reader role missing: Genesys answers 403 to SCIM.
    ctl.world.genesys.faults().push(
        presence_sync_tests::fake_genesys::GenesysEndpoint::Scim,
        Fault::status(403),
    );
    only_failed(&ctl.doctor(), "Genesys SCIM", "SCIM reader");

    // SCIM answers, the Users API's bulk read (the reconciler's walk) is refused.
    ctl.world.genesys.faults().push(
        presence_sync_tests::fake_genesys::GenesysEndpoint::Users,
        Fault::status(403),
    );
    only_failed(
        &ctl.doctor(),
        "Genesys Users API",
        "permission to view users",
    );

    // The partner event source still Pending (moto cannot make one Pending: a canned answer).
    let pending = ctl.proxy.answer_once(
        "DescribeEventSource",
        200,
        "application/x-amz-json-1.1",
        &d.describe_event_source_answer("PENDING"),
    );
    only_failed(
        &ctl.doctor(),
        "partner event source",
        "GenesysEventSourceName",
    );
    assert!(pending.answered());

    // The rule left disabled.
    let events = aws_sdk_eventbridge::Client::new(ctl.sdk());
    events
        .disable_rule()
        .name(&d.rule_name)
        .event_bus_name(&d.event_bus_name)
        .send()
        .await
        .unwrap();
    only_failed(&ctl.doctor(), "rule", "EventRuleState=ENABLED");
    events
        .enable_rule()
        .name(&d.rule_name)
        .event_bus_name(&d.event_bus_name)
        .send()
        .await
        .unwrap();

    // The table without TTL.
    let dynamodb = aws_sdk_dynamodb::Client::new(ctl.sdk());
    let ttl = |enabled: bool| {
        aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
            .attribute_name("expires_at")
            .enabled(enabled)
            .build()
            .unwrap()
    };
    dynamodb
        .update_time_to_live()
        .table_name(&d.state_table)
        .time_to_live_specification(ttl(false))
        .send()
        .await
        .unwrap();
    only_failed(&ctl.doctor(), "state table", "expires_at");
    dynamodb
        .update_time_to_live()
        .table_name(&d.state_table)
        .time_to_live_specification(ttl(true))
        .send()
        .await
        .unwrap();

    // The event function without its failure destination and retries (moto keeps every
    // configuration put and answers the first: delete, then put).
    let lambda = aws_sdk_lambda::Client::new(ctl.sdk());
    let forget = || {
        lambda
            .delete_function_event_invoke_config()
            .function_name(&d.function_name)
            .send()
    };
    forget().await.unwrap();
    lambda
        .put_function_event_invoke_config()
        .function_name(&d.function_name)
        .maximum_retry_attempts(0)
        .send()
        .await
        .unwrap();
    let checks = ctl.doctor();
    only_failed(&checks, "event function", "make deploy");
    assert!(
        checks["event function"]["detail"]
            .as_str()
            .unwrap()
            .contains("retries 0")
    );
    let destination = aws_sdk_lambda::types::DestinationConfig::builder()
        .on_failure(
            aws_sdk_lambda::types::OnFailure::builder()
                .destination(&d.failure_queue_arn)
                .build(),
        )
        .build();
    forget().await.unwrap();
    lambda
        .put_function_event_invoke_config()
        .function_name(&d.function_name)
        .maximum_retry_attempts(2)
        .destination_config(destination)
        .send()
        .await
        .unwrap();

    // Reserved concurrency changed by hand: the function paces for another number.
    let reserve = |n: i32| {
        lambda
            .put_function_concurrency()
            .function_name(&d.function_name)
            .reserved_concurrent_executions(n)
            .send()
    };
    reserve(7).await.unwrap();
    let checks = ctl.doctor();
    only_failed(&checks, "event function", "make deploy");
    let detail = checks["event function"]["detail"].as_str().unwrap();
    assert!(
        detail.contains("reserved concurrency 7, but RESERVED_CONCURRENCY"),
        "{detail}"
    );
    reserve(d.reserved_concurrency).await.unwrap();

    // An event waiting in the failure queue.
    let record = deployment::failure_record(
        activity(
            &presence_sync_tests::events::new_id(),
            "ON_QUEUE",
            1_000,
            "IDLE",
            1_000,
        ),
        &d.function_arn,
    )
    .await;
    d.send_to_failure_queue(&ctl.proxy.endpoint(), &record)
        .await;
    let checks = ctl.doctor();
    only_failed(&checks, "failure queue", "presencectl redrive");
    assert!(
        checks["failure queue"]["detail"]
            .as_str()
            .unwrap()
            .starts_with("1 event")
    );
    aws_sdk_sqs::Client::new(ctl.sdk())
        .purge_queue()
        .queue_url(&d.failure_queue_url)
        .send()
        .await
        .unwrap();

    // An invalid stack parameter: the function's PRESENCE_MAPPING.
    ctl.set_mapping(r#"{"OnQ":"clear"}"#).await;
    let checks = ctl.doctor();
    assert!(
        failed(&checks).contains(&"configuration".to_owned()),
        "{checks:#?}"
    );
    assert!(
        checks["configuration"]["fix"]
            .as_str()
            .unwrap()
            .contains("PRESENCE_MAPPING")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_without_a_stack_checks_what_the_variables_reach_and_a_missing_stack_is_an_error() {
    let ctl = Ctl::start().await;
    let binary = presence_sync_tests::runtime_api::binary_path("presencectl");
    let output = Command::new(&binary)
        .env_clear()
        .envs(ctl.deployment.cli_env(&ctl.proxy.endpoint()))
        .envs(ctl.deployment.function_env.iter().cloned())
        .args(["--json", "doctor"])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "{json:#}");
    let status = |name: &str| {
        json["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status("Genesys SCIM"), "pass");
    assert_eq!(status("Genesys Users API"), "pass");
    assert_eq!(status("rule"), "skip");
    let missing = Command::new(&binary)
        .env_clear()
        .envs(ctl.deployment.cli_env(&ctl.proxy.endpoint()))
        .args(["--stack", "no-such-stack", "doctor"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    let said = String::from_utf8_lossy(&missing.stderr);
    assert!(
        said.contains("CloudFormation") && said.contains("no-such-stack"),
        "{said}"
    );
    // --region takes the place of AWS_REGION: the stack is not in that region.
    let elsewhere = ctl.run(&["--region", "eu-west-1", "doctor"]);
    elsewhere.fails_saying("CloudFormation");
    assert_eq!(ctl.run(&["--region", "us-east-1", "doctor"]).code, 0);
    let usage = Command::new(&binary)
        .arg("doctor")
        .arg("--bogus")
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
}

/// The agent goes On Queue: Genesys reports it from then on, and its event is applied
/// through a function instance (Teams shows Busy/Busy).
async fn on_queue(ctl: &Ctl, agent: &Agent) {
    let since = Some(presence_sync_tests::events::at(1_000));
    let since = since.as_deref();
    (ctl.world.genesys).set_state(&agent.genesys, "On Queue", since, "IDLE", since);
    let outcome = ctl
        .instance()
        .outcome(activity(&agent.genesys, "ON_QUEUE", 1_000, "IDLE", 1_000))
        .await;
    assert_eq!(outcome, "applied/changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_agreement_drift_a_dirty_record_and_a_negative_cache() {
    let ctl = Ctl::start().await;
    // In agreement.
    let calm = ctl.world.agent();
    on_queue(&ctl, &calm).await;
    let run = ctl.run(&["--json", "status", &calm.genesys]);
    let json = run.json();
    assert_eq!(
        (run.code, &json["agree"]),
        (0, &Value::Bool(true)),
        "{json:#}"
    );
    assert_eq!(json["teamsNow"]["value"], "Busy/Busy");
    assert_eq!(json["record"]["applied"], "Busy/Busy");
    assert_eq!(json["teamsId"]["teamsUserId"], calm.teams.as_str());
    // Its age: cached by the event a moment ago (for a day).
    let cached_at = json["teamsId"]["cachedAt"].as_str().unwrap();
    let cached_at = chrono::DateTime::parse_from_rfc3339(cached_at).unwrap();
    let age = chrono::Utc::now()
        .signed_duration_since(cached_at)
        .num_seconds();
    assert!((0..120).contains(&age), "cached {age} s ago: {json:#}");

    // Drift: the user set Available in Teams by hand.
    let drifted = ctl.world.agent();
    on_queue(&ctl, &drifted).await;
    ctl.world
        .ms
        .set_teams_presence_by_hand(&drifted.teams, "Available", "Available");
    let run = ctl.run(&["--json", "status", &drifted.genesys]);
    let json = run.json();
    assert_eq!(run.code, 1, "{json:#}");
    assert_eq!(json["agree"], false);
    assert_eq!(json["teamsNow"]["value"], "Available/Available");
    assert!(
        json["verdict"].as_str().unwrap().starts_with("drift"),
        "{json:#}"
    );

    // Dirty: Graph failed the event's call and its retries.
    let dirty = ctl.world.agent();
    ctl.world
        .ms
        .faults()
        .push_n(MsEndpoint::Presence, Fault::status(503), 1_000);
    let failed = ctl
        .instance()
        .invoke_within(
            activity(&dirty.genesys, "ON_QUEUE", 1_000, "IDLE", 1_000),
            std::time::Duration::from_secs(3),
        )
        .await;
    assert!(failed.is_err());
    ctl.world.ms.faults().clear();
    let run = ctl.run(&["--json", "status", &dirty.genesys]);
    let json = run.json();
    assert_eq!(run.code, 1);
    assert_eq!(json["record"]["dirty"], true, "{json:#}");
    assert!(
        json["verdict"].as_str().unwrap().starts_with("settle"),
        "{json:#}"
    );
    let text = ctl.run(&["status", &dirty.genesys]);
    assert!(
        text.stdout.contains("yes: a Graph call was not confirmed"),
        "{}",
        text.stdout
    );

    // A negative cache: Genesys has no Teams id for the user.
    let nobody = presence_sync_tests::events::new_id();
    ctl.world.genesys.add_user(&nobody, None);
    let outcome = ctl
        .instance()
        .outcome(activity(&nobody, "ON_QUEUE", 1_000, "IDLE", 1_000))
        .await;
    assert_eq!(outcome, "skipped/no-teams-user");
    let run = ctl.run(&["--json", "status", &nobody]);
    let json = run.json();
    assert_eq!(run.code, 1);
    assert_eq!(json["teamsId"]["kind"], "none", "{json:#}");

    // By e-mail (the SCIM userName), and with the history from the logs.
    ctl.world
        .genesys
        .set_user_name(&calm.genesys, "ana.calm@example.com");
    let logs = aws_sdk_cloudwatchlogs::Client::new(ctl.sdk());
    let stream = "2026/12/01/[$LATEST]abc";
    logs.create_log_stream()
        .log_group_name(&ctl.deployment.function_log_group)
        .log_stream_name(stream)
        .send()
        .await
        .unwrap();
    let line = |user: &str, outcome: &str, reason: &str| {
        aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
            .timestamp(chrono::Utc::now().timestamp_millis())
            .message(serde_json::json!({"level": "INFO", "fields": {"message": "event handled", "outcome": outcome, "reason": reason, "genesysUserId": user, "teams": "Busy/Busy"}}).to_string())
            .build()
            .unwrap()
    };
    logs.put_log_events()
        .log_group_name(&ctl.deployment.function_log_group)
        .log_stream_name(stream)
        .log_events(line(&calm.genesys, "applied", "changed"))
        .log_events(line(&drifted.genesys, "skipped", "stale"))
        .send()
        .await
        .unwrap();
    let run = ctl.run(&["--json", "status", "ana.calm@example.com", "--history"]);
    let json = run.json();
    assert_eq!(json["genesysUserId"], calm.genesys.as_str(), "{json:#}");
    let history = json["history"].as_array().unwrap();
    assert_eq!(history.len(), 1, "only this agent's lines: {history:?}");
    assert_eq!(
        (
            history[0]["outcome"].as_str(),
            history[0]["reason"].as_str()
        ),
        (Some("applied"), Some("changed"))
    );
    // Known to Genesys, never seen in an event: the reconciler (or `sync`) would apply it.
    let unseen = ctl.world.agent();
    let since = Some(presence_sync_tests::events::at(1_000));
    (ctl.world.genesys).set_state(
        &unseen.genesys,
        "Break",
        since.as_deref(),
        "OFF_QUEUE",
        since.as_deref(),
    );
    let run = ctl.run(&["--json", "status", &unseen.genesys]);
    let json = run.json();
    assert_eq!(
        (run.code, &json["record"]["exists"]),
        (1, &Value::Bool(false))
    );
    assert!(
        json["verdict"]
            .as_str()
            .unwrap()
            .starts_with("recover: no event recorded"),
        "{json:#}"
    );
    let unknown = ctl.run(&["status", "nobody@example.com"]);
    unknown.fails_saying("Genesys knows no user");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_says_what_the_function_would_do_without_writing_or_calling() {
    let ctl = Ctl::start().await;
    let agent = ctl.world.agent();
    let dir = std::env::temp_dir().join(presence_sync_tests::aws::unique_name("explain"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = |name: &str, event: &Value| {
        let path = dir.join(name);
        std::fs::write(&path, event.to_string()).unwrap();
        path.to_string_lossy().into_owned()
    };
    let explain = |path: &str| ctl.run(&["--json", "explain", path]);

    // A new presence: the function would call Teams, by the ON_QUEUE entry.
    let first = activity(&agent.genesys, "ON_QUEUE", 1_000, "IDLE", 1_000);
    let run = explain(&file("first.json", &first));
    let json = run.json();
    assert_eq!(
        (run.code, json["result"].as_str()),
        (0, Some("calls-teams")),
        "{json:#}"
    );
    assert_eq!(json["target"], "Busy/Busy");
    assert_eq!(json["mappingEntry"], "ON_QUEUE");
    let last = json["steps"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .as_str()
        .unwrap();
    assert!(
        last.contains("make Teams show Busy/Busy (the event changed"),
        "{json:#}"
    );
    assert!(
        json["steps"][0]
            .as_str()
            .unwrap()
            .starts_with("record presence ON_QUEUE"),
        "{json:#}"
    );
    // No write, no Graph call.
    assert_eq!(ctl.world.graph_calls(&agent), 0);
    let status = ctl.run(&["--json", "status", &agent.genesys]).json();
    assert_eq!(status["record"]["exists"], false);

    // Once applied: the same event again is a duplicate; an older one is stale.
    ctl.instance().outcome(first.clone()).await;
    let calls = ctl.world.graph_calls(&agent);
    let json = explain(&file("again.json", &first)).json();
    assert_eq!(json["result"], "answered");
    assert!(
        json["steps"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .as_str()
            .unwrap()
            .contains("skipped/duplicate"),
        "{json:#}"
    );
    let older = presence(&agent.genesys, "BREAK", 500);
    let json = explain(&file("older.json", &older)).json();
    assert!(
        json["steps"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .as_str()
            .unwrap()
            .contains("skipped/stale"),
        "{json:#}"
    );
    assert_eq!(ctl.world.graph_calls(&agent), calls);
    // A newer presence that maps to what Teams shows already: recorded, no call.
    let busy = presence(&agent.genesys, "BUSY", 3_000);
    let json = explain(&file("busy.json", &busy)).json();
    assert_eq!(json["result"], "answered", "{json:#}");
    let steps = json["steps"].as_array().unwrap();
    assert!(
        steps
            .iter()
            .any(|s| s.as_str().unwrap().contains("no Teams call: unchanged")),
        "{json:#}"
    );

    // A presence the mapping ignores.
    ctl.set_mapping(r#"{"BREAK":"ignore"}"#).await;
    let json = explain(&file(
        "break.json",
        &presence(&agent.genesys, "BREAK", 2_000),
    ))
    .json();
    assert_eq!(
        (json["target"].as_str(), json["mappingEntry"].as_str()),
        (Some("keep: the mapping says ignore"), Some("BREAK")),
        "{json:#}"
    );

    // Another instance holds the user's lease: the function would wait for it.
    let store = presence_core::adapters::dynamodb::DynamoStateStore::new(
        aws_sdk_dynamodb::Client::new(ctl.sdk()),
        ctl.deployment.state_table.clone(),
    );
    let user = presence_core::domain::ids::GenesysUserId::parse(&agent.genesys).unwrap();
    let held =
        presence_core::domain::event::GenesysEvent::parse(presence(&agent.genesys, "AWAY", 4_000))
            .unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    let lease = presence_core::domain::state::Lease {
        owner: "another-instance".into(),
        until_ms: now + 60_000,
    };
    let claim = Some((presence_core::domain::state::Intent::Pending, &lease));
    use presence_core::ports::StateStore;
    store
        .record(&user, &held.event_id, &(&held).into(), claim, now)
        .await
        .unwrap();
    let json = explain(&file(
        "waits.json",
        &presence(&agent.genesys, "AVAILABLE", 5_000),
    ))
    .json();
    assert_eq!(json["result"], "waits", "{json:#}");
    assert!(
        json["steps"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .as_str()
            .unwrap()
            .starts_with("wait: another instance"),
        "{json:#}"
    );

    // From another source: rejected, exit 1.
    let mut foreign = first.clone();
    foreign["source"] =
        Value::from("aws.partner/genesys.com/cloud/00000000-0000-0000-0000-000000000000/other");
    let run = explain(&file("foreign.json", &foreign));
    assert_eq!(
        (run.code, run.json()["result"].as_str()),
        (1, Some("rejected"))
    );
    assert!(
        run.json()["rejected"]
            .as_str()
            .unwrap()
            .contains("SourceNotAllowed"),
        "{}",
        run.stdout
    );
    // A file that does not exist.
    let run = ctl.run(&[
        "explain",
        &file("bad.json", &Value::Null).replace("bad.json", "missing.json"),
    ]);
    run.fails_saying("cannot read the event");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_repairs_one_agent_and_runs_a_whole_pass() {
    let ctl = Ctl::start().await;
    let drifted = ctl.world.agent();
    on_queue(&ctl, &drifted).await;
    ctl.world
        .ms
        .set_teams_presence_by_hand(&drifted.teams, "Available", "Available");
    // DRIFT_POLICY is the template's default (repair).
    let run = ctl.run(&["--json", "sync", &drifted.genesys]);
    let json = run.json();
    assert_eq!(run.code, 0, "{json:#}\n{}", run.stderr);
    assert_eq!(json["report"]["driftRepaired"], 1, "{json:#}");
    assert_eq!(ctl.world.teams(&drifted).as_deref(), Some("Busy/Busy"));

    // A lost event: Genesys says Break, no event came.
    let lost = ctl.world.agent();
    on_queue(&ctl, &lost).await;
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    ctl.world
        .genesys
        .set_state(&lost.genesys, "Break", Some(&now), "OFF_QUEUE", Some(&now));
    let json = ctl.run(&["--json", "sync", "--all"]).json();
    assert_eq!(json["scope"], "all");
    assert_eq!(json["report"]["walkCompleted"], true, "{json:#}");
    assert!(
        json["report"]["recovered"].as_u64().unwrap() >= 1,
        "{json:#}"
    );
    assert_eq!(ctl.world.teams(&lost).as_deref(), Some("Away/Away"));
    let usage = ctl.run(&["sync"]);
    assert_eq!(usage.code, 2, "an agent or --all is required");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teams_id_override_is_recorded_shown_refused_when_held_and_forgotten() {
    let ctl = Ctl::start().await;
    let agent = ctl.world.agent();
    on_queue(&ctl, &agent).await;
    let json = ctl
        .run(&["--json", "teams-id", "show", &agent.genesys])
        .json();
    assert_eq!(
        (
            json["teamsId"]["origin"].as_str(),
            json["teamsId"]["teamsUserId"].as_str()
        ),
        (Some("directory"), Some(agent.teams.as_str()))
    );

    let other_teams = presence_sync_tests::events::new_id();
    let run = ctl.run(&["--json", "teams-id", "set", &agent.genesys, &other_teams]);
    let json = run.json();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(json["teamsId"]["origin"], "override");
    assert_eq!(json["previous"]["teamsUserId"], agent.teams.as_str());
    assert!(
        run.stderr.contains("Teams id set by an operator"),
        "logged: {}",
        run.stderr
    );
    // Recorded as such on the item.
    let item = aws_sdk_dynamodb::Client::new(ctl.sdk())
        .get_item()
        .table_name(&ctl.deployment.state_table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("teams-id#{}", agent.genesys)),
        )
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert!(item.contains_key("overridden_at"), "{item:?}");
    // Who set it: the caller's AWS identity (STS GetCallerIdentity), on the item and in the
    // answer.
    let by = item["overridden_by"].as_s().unwrap();
    assert!(by.starts_with("arn:aws:"), "{item:?}");
    assert_eq!(json["teamsId"]["overriddenBy"], by.as_str());

    // Another agent cannot take it.
    let second = ctl.world.agent();
    let run = ctl.run(&["teams-id", "set", &second.genesys, &other_teams]);
    run.fails_saying(&agent.genesys);

    let json = ctl
        .run(&["--json", "teams-id", "forget", &agent.genesys])
        .json();
    assert_eq!(json["previous"]["origin"], "override");
    assert!(json["teamsId"].is_null());
    let run = ctl.run(&["teams-id", "set", &second.genesys, &other_teams]);
    assert_eq!(
        run.code, 0,
        "forgotten, the Teams id is free: {}",
        run.stderr
    );
    let bad = ctl.run(&["teams-id", "set", &agent.genesys, "not-a-guid"]);
    bad.fails_saying("not a Teams user id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redrive_sends_queued_failures_again_and_keeps_the_one_lambda_refuses() {
    let ctl = Ctl::start().await;
    let d = &ctl.deployment;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let event = activity(
            &presence_sync_tests::events::new_id(),
            "ON_QUEUE",
            1_000,
            "IDLE",
            1_000,
        );
        ids.push(event["id"].as_str().unwrap().to_owned());
        let record = deployment::failure_record(event, &d.function_arn).await;
        d.send_to_failure_queue(&ctl.proxy.endpoint(), &record)
            .await;
    }
    // A dry run lists them and leaves them all queued.
    let run = ctl.run(&["--json", "redrive"]);
    let json = run.json();
    assert_eq!(run.code, 1, "events waiting is a problem to act on");
    assert_eq!(
        (
            json["dryRun"].as_bool(),
            json["read"].as_u64(),
            json["sent"].as_u64()
        ),
        (Some(true), Some(3), Some(0)),
        "{json:#}"
    );
    assert!(
        json["messages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["result"] == "would send" && m["errorType"] == "GraphUnavailable")
    );
    // Lambda refuses the second invocation (throttled): that message stays.
    // (each of the SDK's three attempts: it retries a throttled call).
    let refused: Vec<_> = (0..3)
        .map(|_| {
            let body = deployment::LAMBDA_TOO_MANY_REQUESTS;
            ctl.proxy
                .answer_once(&ids[1], 429, "application/json", body)
        })
        .collect();
    let run = ctl.run(&["--json", "redrive", "--send"]);
    let json = run.json();
    assert!(refused.iter().all(|r| r.answered()));
    assert_eq!(run.code, 1, "{json:#}");
    assert_eq!(
        (
            json["read"].as_u64(),
            json["sent"].as_u64(),
            json["failed"].as_u64()
        ),
        (Some(3), Some(2), Some(1)),
        "{json:#}"
    );
    let left = ctl.run(&["--json", "redrive"]).json();
    let waiting: Vec<&str> = left["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["eventId"].as_str())
        .collect();
    assert_eq!(waiting, vec![ids[1].as_str()]);
    // Sent this time.
    let run = ctl.run(&["--json", "redrive", "--send"]);
    assert_eq!((run.code, run.json()["sent"].as_u64()), (0, Some(1)));
    let empty = ctl.run(&["redrive"]);
    assert_eq!(empty.code, 0);
    assert!(empty.stdout.contains("the failure queue is empty"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mapping_check_validates_as_start_up_does_and_prints_the_table() {
    let ctl = Ctl::start().await;
    let run = ctl.run(&[
        "--json",
        "mapping",
        "check",
        r#"{"ON_QUEUE":{"availability":"DoNotDisturb","activity":"DoNotDisturb"}}"#,
    ]);
    let json = run.json();
    assert_eq!((run.code, &json["valid"]), (0, &Value::Bool(true)));
    let table = json["table"].as_array().unwrap();
    let on_queue = table.iter().find(|e| e["key"] == "ON_QUEUE").unwrap();
    assert_eq!(on_queue["teams"], "DoNotDisturb/DoNotDisturb");
    let run = ctl.run(&[
        "--json",
        "mapping",
        "check",
        r#"{"ON_QUEUE":{"availability":"Busy","activity":"Presenting"}}"#,
    ]);
    assert_eq!(run.code, 1);
    let error = run.json()["error"].as_str().unwrap().to_owned();
    assert!(
        error.contains("PRESENCE_MAPPING") && error.contains("ON_QUEUE"),
        "{error}"
    );
    // The deployment's own (the template's default: none set).
    let run = ctl.run(&["mapping", "check"]);
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.contains("OFFLINE") && run.stdout.contains("clear"),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_exceptions_are_recorded_acted_on_at_once_and_shown() {
    let ctl = Ctl::start().await;
    let agent = ctl.world.agent();
    on_queue(&ctl, &agent).await;
    assert_eq!(ctl.world.teams(&agent).as_deref(), Some("Busy/Busy"));
    // An opt-out: what we set is cleared now, and who asked is recorded.
    let run = ctl.run(&["--json", "scope", "exclude", &agent.genesys]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["change"]["letGo"], true);
    assert_eq!(ctl.world.teams(&agent), None, "cleared");
    let shown = ctl.run(&["--json", "scope", "show"]).json();
    assert_eq!(shown["scope"], "all");
    assert_eq!(shown["counts"]["excluded"], 1);
    let listed = &shown["exceptions"][0];
    assert_eq!(listed["genesysUserId"], agent.genesys.as_str());
    assert_eq!(listed["exception"], "exclude");
    assert!(
        listed["setBy"].as_str().unwrap().starts_with("arn:aws:"),
        "{listed}"
    );
    let status = ctl.run(&["status", &agent.genesys]);
    assert!(
        status.stdout.contains("out: let go (excluded)"),
        "{}",
        status.stdout
    );
    // An event changes nothing while the exclusion holds (its state is recorded).
    let since = Some(presence_sync_tests::events::at(2_000));
    let since = since.as_deref();
    (ctl.world.genesys).set_state(&agent.genesys, "Break", since, "OFF_QUEUE", since);
    let outcome = ctl
        .instance()
        .outcome(activity(&agent.genesys, "BREAK", 2_000, "OFF_QUEUE", 2_000))
        .await;
    assert_eq!(outcome, "skipped/excluded");
    // Reset: the scope (all) takes the agent back, from Genesys's state now.
    let run = ctl.run(&["--json", "scope", "reset", &agent.genesys]);
    assert_eq!(run.json()["change"]["takenBack"], true, "{}", run.stdout);
    assert_eq!(ctl.world.teams(&agent).as_deref(), Some("Away/Away"));
    let shown = ctl.run(&["--json", "scope", "show"]).json();
    assert_eq!(shown["counts"]["inScope"], 1);
    assert!(shown["exceptions"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_checks_that_the_scopes_divisions_groups_and_queues_exist() {
    let ctl = Ctl::start().await;
    let (known, typo) = (
        "0a0a0a0a-0000-4000-8000-00000000000a",
        "0b0b0b0b-0000-4000-8000-00000000000b",
    );
    ctl.world
        .genesys
        .add_scope_entity("group", known, "Rollout wave 1");
    ctl.set_variable("SYNC_SCOPE", &format!("group:{known}"))
        .await;
    let checks = ctl.doctor();
    assert_eq!(checks["SYNC_SCOPE"]["status"], "pass", "{checks:#?}");
    ctl.set_variable("SYNC_SCOPE", &format!("group:{known},queue:{typo}"))
        .await;
    only_failed(&ctl.doctor(), "SYNC_SCOPE", "correct SyncScope");
    let said = ctl.doctor()["SYNC_SCOPE"]["detail"].to_string();
    assert!(said.contains(&format!("queue:{typo}")), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_what_the_watcher_set_and_what_it_restores() {
    let two_way = [
        ("PRESENCE_MODE", "two-way"),
        ("ON_QUEUE_POLICY", "take-off"),
    ];
    let ctl = Ctl::start_with(&two_way).await;
    let agent = ctl.world.agent();
    ctl.world.ms.sign_in(&agent.teams);
    let since = Some(presence_sync_tests::events::at(1_000));
    let since = since.as_deref();
    (ctl.world.genesys).set_state(&agent.genesys, "On Queue", since, "IDLE", since);
    let event = activity(&agent.genesys, "ON_QUEUE", 1_000, "IDLE", 1_000);
    assert_eq!(ctl.instance().outcome(event).await, "skipped/unchanged");
    ctl.world.ms.join_meeting(&agent.teams);
    // A client limit with room for this short run (the watcher's pace: watch.rs).
    let config = ctl.config(&[("GENESYS_LIMIT_PER_MINUTE", "3000")]);
    let watcher = presence_core::app::Watcher::build_with(&config, ctl.sdk()).expect("valid");
    let invocation = presence_core::service::Invocation {
        request_id: presence_sync_tests::events::event_id(),
        deadline: std::time::SystemTime::now() + std::time::Duration::from_secs(5),
    };
    let report = watcher.run(&invocation).await.expect("the run works");
    assert_eq!(report.taken_off, 1, "{report:?}");
    let run = ctl.run(&["status", &agent.genesys]);
    let line = run
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("watcher"))
        .unwrap_or_else(|| panic!("no watcher line: {}", run.stdout));
    assert!(
        line.contains("took the agent off for Teams InAMeeting")
            && line.contains("In a Teams meeting")
            && line.contains("to restore ON_QUEUE"),
        "{line}"
    );
    let json = ctl.run(&["--json", "status", &agent.genesys]).json();
    assert!(
        json["record"]["watcher"]
            .as_str()
            .unwrap()
            .starts_with("took"),
        "{json:#}"
    );
}

/// `presencectl <args>` with no deployment and no AWS variables at all.
fn offline(args: &[&str]) -> Run {
    let binary = presence_sync_tests::runtime_api::binary_path("presencectl");
    let output = Command::new(binary)
        .env_clear()
        .args(args)
        .output()
        .expect("presencectl runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[test]
fn explain_takes_a_teams_presence_and_says_what_the_watcher_would_do_offline() {
    // (Teams, Genesys, extra flags, result, the start of why)
    let cases: [(&str, &str, &[&str], &str, &str); 6] = [
        (
            "Busy/InAMeeting",
            "ON_QUEUE/IDLE",
            &[],
            "nothing",
            "on-queue-left",
        ),
        (
            "Busy/InAMeeting",
            "ON_QUEUE/IDLE",
            &["--on-queue-policy", "take-off"],
            "take-off",
            "sets Genesys MEETING",
        ),
        (
            "Busy/InACall",
            "AVAILABLE",
            &[],
            "take-off",
            "sets Genesys BUSY",
        ),
        ("Busy/InACall", "BREAK", &[], "nothing", "masked"),
        (
            "Busy/InACall",
            "ON_QUEUE/INTERACTING",
            &["--on-queue-policy", "take-off"],
            "nothing",
            "interacting",
        ),
        (
            "Away/Away",
            "AVAILABLE",
            &["--teams-to-genesys", r#"{"Away": {"presence": "AWAY"}}"#],
            "take-off",
            "sets Genesys AWAY",
        ),
    ];
    for (teams, genesys, extra, result, why) in cases {
        let mut args = vec!["--json", "explain", "--teams", teams, "--genesys", genesys];
        args.extend_from_slice(extra);
        let run = offline(&args);
        let json = run.json();
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        assert_eq!(json["result"], result, "{args:?}: {json:#}");
        assert!(
            json["why"].as_str().unwrap().starts_with(why),
            "{args:?}: {json:#}"
        );
    }
    offline(&[
        "explain",
        "--teams",
        "Busy/Dancing",
        "--genesys",
        "ON_QUEUE",
    ])
    .fails_saying("\"Dancing\" is not a Graph presence activity");
    offline(&["explain", "--teams", "Busy/InACall", "--genesys", "ONQ"])
        .fails_saying("\"ONQ\" is not a Genesys system presence");
    let missing = "0f0f0f0f-1111-4222-8333-444455556666";
    let rules = format!(r#"{{"InACall": {{"presence": "{missing}"}}}}"#);
    offline(&[
        "explain",
        "--teams",
        "Busy/InACall",
        "--genesys",
        "AVAILABLE",
        "--teams-to-genesys",
        &rules,
    ])
    .fails_saying(missing);
}
