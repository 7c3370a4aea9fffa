//! The deployable artifact: the built `presence-sync` binary driven through the Lambda
//! Runtime API, configured only through its environment, against moto and the fakes.
//! Needs `cargo build -p presence-sync` first (the test command does it).

use presence_sync_tests::aws::env_for;
use presence_sync_tests::events::{activity, presence, routing};
use presence_sync_tests::runtime_api::{InvokeFailure, LambdaProcess, RuntimeApi, binary_path};
use presence_sync_tests::world::World;
use serde_json::{Value, json};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

async fn start(world: &World, extra: &[(&str, &str)]) -> (RuntimeApi, LambdaProcess) {
    let runtime = RuntimeApi::start_for("presence-sync").await;
    let mut env = world.function_env();
    env.extend(env_for(&world.moto));
    env.extend(runtime.lambda_env("presence-sync"));
    env.push(("AWS_LAMBDA_LOG_FORMAT".into(), "JSON".into()));
    for (k, v) in extra {
        env.push(((*k).into(), (*v).into()));
    }
    let process = LambdaProcess::spawn(&binary_path("presence-sync"), env);
    (runtime, process)
}

fn json_logs(process: &LambdaProcess) -> Vec<Value> {
    process
        .logs()
        .iter()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

#[tokio::test]
async fn the_binary_syncs_a_shift_through_the_runtime_api() {
    let world = World::start().await;
    let agent = world.agent();
    let (runtime, process) = start(&world, &[]).await;

    let report = runtime
        .invoke(
            activity(&agent.genesys, "ON_QUEUE", 1_000, "IDLE", 1_000),
            TIMEOUT,
        )
        .await
        .unwrap_ok();
    assert_eq!(
        report,
        json!({"outcome":"applied","reason":"changed","genesysUserId":agent.genesys,
            "teams":{"availability":"Busy","activity":"Busy"}})
    );
    let steps = [
        (
            routing(&agent.genesys, "INTERACTING", 2_000),
            "skipped",
            "unchanged",
        ),
        (
            presence(&agent.genesys, "Break", 3_000),
            "applied",
            "changed",
        ),
        (
            presence(&agent.genesys, "AVAILABLE", 2_500),
            "skipped",
            "stale",
        ),
        (
            presence(&agent.genesys, "Offline", 4_000),
            "cleared",
            "changed",
        ),
    ];
    for (event, outcome, reason) in steps {
        let report = runtime.invoke(event, TIMEOUT).await.unwrap_ok();
        assert_eq!(
            (report["outcome"].as_str(), report["reason"].as_str()),
            (Some(outcome), Some(reason))
        );
    }
    assert_eq!(world.teams(&agent), None);
    assert_eq!(world.ms.set_calls_for(&agent.teams).len(), 2);
    assert_eq!(world.ms.clear_calls_for(&agent.teams).len(), 1);
    assert_eq!(world.ms.token_requests(), 1);
    assert_eq!(world.genesys.scim_calls(), 1);

    // One structured JSON line per event, with what an operator needs.
    let logs = json_logs(&process);
    let handled: Vec<&Value> = logs
        .iter()
        .filter(|l| l["fields"]["message"] == "event handled")
        .collect();
    assert_eq!(handled.len(), 5, "{logs:#?}");
    let first = &handled[0]["fields"];
    assert_eq!(first["outcome"], "applied");
    assert_eq!(first["reason"], "changed");
    assert_eq!(first["genesysUserId"], agent.genesys.as_str());
    assert_eq!(first["topic"], "v2.users.{id}.activity");
    assert_eq!(first["presenceVersion"], "2026-11-02T08:00:01.000Z");
    assert!(first["elapsedMs"].is_u64());
}

#[tokio::test]
async fn the_binary_fails_bad_input_with_a_specific_error_and_keeps_serving() {
    let world = World::start().await;
    let agent = world.agent();
    let (runtime, mut process) = start(&world, &[]).await;

    let mut bad = presence(&agent.genesys, "BUSY", 1_000);
    bad["detail"]["topicName"] = json!("v2.users.not-a-uuid.presence");
    let failure = runtime.invoke(bad, TIMEOUT).await.result.unwrap_err();
    let InvokeFailure::Error(error) = failure else {
        panic!("{failure:?}")
    };
    assert_eq!(error.error_type, "MalformedEvent");
    assert!(
        error.error_message.contains("not-a-uuid"),
        "{}",
        error.error_message
    );

    let failure = runtime
        .invoke(json!("just a string"), TIMEOUT)
        .await
        .result
        .unwrap_err();
    assert!(matches!(failure, InvokeFailure::Error(_)), "{failure:?}");

    let mut foreign = presence(&agent.genesys, "BUSY", 1_000);
    foreign["source"] = json!("aws.partner/someone-else.example/x");
    let failure = runtime.invoke(foreign, TIMEOUT).await.result.unwrap_err();
    let InvokeFailure::Error(error) = failure else {
        panic!("{failure:?}")
    };
    assert_eq!(error.error_type, "SourceNotAllowed");

    assert!(world.ms.calls().is_empty() && world.genesys.calls().is_empty());
    let report = runtime
        .invoke(presence(&agent.genesys, "BUSY", 1_000), TIMEOUT)
        .await
        .unwrap_ok();
    assert_eq!(report["outcome"], "applied");
    assert!(process.is_running());
}

#[tokio::test]
async fn the_binary_refuses_to_start_with_invalid_configuration_naming_the_variable() {
    let world = World::start().await;
    let (_runtime, mut process) = start(
        &world,
        &[(
            "PRESENCE_MAPPING",
            r#"{"BREAK":{"availability":"Away","activity":"Busy"}}"#,
        )],
    )
    .await;
    let status = process
        .wait(Duration::from_secs(10))
        .await
        .expect("the process exits");
    assert!(!status.success());
    // Background tasks read the output: give them time to drain it.
    process
        .wait_for_log("PRESENCE_MAPPING", Duration::from_secs(5))
        .await;
    let logs = process.logs().join("\n");
    assert!(
        logs.contains("PRESENCE_MAPPING") && logs.contains("BREAK"),
        "{logs}"
    );
}

/// Lines the process wrote, once it has exited and `needle` has been read: the readers of
/// stdout and stderr get a moment to drain what was left in the pipes.
async fn logs_after_exit(process: &LambdaProcess, needle: &str) -> Vec<String> {
    process.wait_for_log(needle, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    process.logs()
}

#[tokio::test]
async fn the_binary_run_by_hand_says_how_to_run_it_locally_without_a_panic() {
    // A valid configuration, but no Lambda Runtime API (nor Lambda's other variables): a
    // person running `target/debug/presence-sync` by hand.
    let world = World::start().await;
    let mut process = LambdaProcess::spawn(&binary_path("presence-sync"), world.function_env());
    let status = process
        .wait(Duration::from_secs(10))
        .await
        .expect("the process exits");
    let logs = logs_after_exit(&process, "make demo").await;
    // 2, not a panic's 101; and one line, before any AWS client was built (no instance
    // metadata warnings).
    assert_eq!(status.code(), Some(2), "{logs:#?}");
    assert_eq!(logs.len(), 1, "{logs:#?}");
    assert!(
        logs[0].contains("AWS_LAMBDA_RUNTIME_API") && logs[0].contains("make demo"),
        "{logs:#?}"
    );
}

#[tokio::test]
async fn the_binary_reports_invalid_configuration_once_and_exits_without_a_panic() {
    let world = World::start().await;
    let (_runtime, mut process) = start(
        &world,
        &[(
            "PRESENCE_MAPPING",
            r#"{"BREAK":{"availability":"Away","activity":"Busy"}}"#,
        )],
    )
    .await;
    let status = process
        .wait(Duration::from_secs(10))
        .await
        .expect("the process exits");
    let logs = logs_after_exit(&process, "BREAK").await;
    assert_eq!(status.code(), Some(1), "{logs:#?}");
    // Logged once (not again as `Error: ConfigError { … }` from main), and no panic.
    let mentions = logs.iter().filter(|line| line.contains("BREAK")).count();
    assert_eq!(mentions, 1, "{logs:#?}");
    assert!(
        !logs
            .iter()
            .any(|line| line.starts_with("Error:") || line.contains("panicked")),
        "{logs:#?}"
    );
}

#[tokio::test]
async fn the_function_logs_who_set_the_teams_id_it_uses() {
    use presence_core::adapters::dynamodb::DynamoStateStore;
    use presence_core::domain::ids::{GenesysUserId, TeamsUserId};
    const OPERATOR: &str = "arn:aws:sts::123456789012:assumed-role/Operators/jane";
    let world = World::start().await;
    let agent = world.agent();
    // An operator's `presencectl teams-id set`, recorded in the table with who set it.
    let store = DynamoStateStore::new(world.dynamodb(), world.table.clone());
    let user = GenesysUserId::parse(&agent.genesys).unwrap();
    let teams = TeamsUserId::parse(&agent.teams).unwrap();
    let now = chrono::Utc::now().timestamp();
    presence_core::service::teams_ids::set_override(&store, &user, &teams, OPERATOR, now)
        .await
        .unwrap();
    let (runtime, process) = start(&world, &[]).await;
    runtime
        .invoke(presence(&agent.genesys, "AVAILABLE", 1_000), TIMEOUT)
        .await
        .unwrap_ok();
    let logs = json_logs(&process);
    let used: Vec<&Value> = logs
        .iter()
        .filter(|l| l["fields"]["message"] == "using the Teams id an operator set (override)")
        .collect();
    assert_eq!(used.len(), 1, "{logs:#?}");
    let fields = &used[0]["fields"];
    assert_eq!(fields["overriddenBy"], format!("{OPERATOR:?}"));
    assert_eq!(fields["teamsUserId"], agent.teams.as_str());
    assert_eq!(fields["overriddenAt"], now);
}
