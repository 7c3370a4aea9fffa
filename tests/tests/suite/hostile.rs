//! Hostile and malformed input, end to end: the handler never panics, never calls Genesys or
//! Graph for input it rejects, and always answers with a specific error; responses from
//! Genesys and Microsoft that are huge, truncated, not JSON or the wrong shape are refused
//! without harm. One test per named case.

use presence_sync_tests::aws::env_for;
use presence_sync_tests::events::{activity, new_id, presence, routing};
use presence_sync_tests::fake_genesys::GenesysEndpoint;
use presence_sync_tests::fake_microsoft::MsEndpoint;
use presence_sync_tests::fault::Fault;
use presence_sync_tests::runtime_api::{InvokeFailure, LambdaProcess, RuntimeApi, binary_path};
use presence_sync_tests::strategies::{arbitrary_json, mutated_sample};
use presence_sync_tests::world::World;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};
use std::time::Duration;

// --- Properties ---------------------------------------------------------------------------

/// Mutated sample events and arbitrary JSON through the real handler and adapters.
#[test]
fn rejected_input_never_reaches_genesys_or_graph() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let world = runtime.block_on(World::start());
    let instance = world.instance(&[]);
    let mut runner = TestRunner::new(Config {
        cases: 400,
        ..Config::default()
    });
    let strategy = proptest::prop_oneof![mutated_sample(), arbitrary_json()];
    let rejected = std::cell::Cell::new(0);
    runner
        .run(&strategy, |event| {
            let before = (world.ms.calls().len(), world.genesys.calls().len());
            let result = runtime.block_on(instance.invoke(event));
            if let Err(error) = &result
                && error.is_rejection()
            {
                rejected.set(rejected.get() + 1);
                proptest::prop_assert_eq!(
                    (world.ms.calls().len(), world.genesys.calls().len()),
                    before,
                    "{}",
                    error
                );
                let message = error.to_string();
                proptest::prop_assert!(!message.is_empty() && message.len() < 2_000);
            }
            Ok(())
        })
        .unwrap();
    let rejected = rejected.get();
    assert!(
        rejected > 100,
        "the strategy must produce rejections ({rejected})"
    );
}

/// Arbitrary bytes as the Lambda event body, to the built binary: it answers every one with
/// an error and keeps serving.
#[test]
fn arbitrary_bytes_to_the_binary_are_answered_with_errors() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let world = World::start().await;
        let api = RuntimeApi::start_for("presence-sync").await;
        let mut env = world.function_env();
        env.extend(env_for(&world.moto));
        env.extend(api.lambda_env("presence-sync"));
        let mut process = LambdaProcess::spawn(&binary_path("presence-sync"), env);
        let mut runner = TestRunner::new(Config {
            cases: 150,
            ..Config::default()
        });
        let bytes = proptest::collection::vec(proptest::num::u8::ANY, 0..2_048);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        runner
            .run(&bytes, |body| {
                tx.send(body).unwrap();
                Ok(())
            })
            .unwrap();
        drop(tx);
        let mut answered = 0;
        while let Some(body) = rx.recv().await {
            let result = api
                .invoke_bytes(body.into(), Duration::from_secs(10))
                .await
                .result;
            match result {
                Err(InvokeFailure::Error(error)) => {
                    assert!(!error.error_message.is_empty());
                    answered += 1;
                }
                other => panic!("expected an error answer, got {other:?}"),
            }
        }
        assert_eq!(answered, 150);
        assert!(process.is_running(), "the process keeps serving");
        assert!(world.ms.calls().is_empty() && world.genesys.calls().is_empty());
        let agent = world.agent();
        let report = api
            .invoke(
                presence(&agent.genesys, "BUSY", 1_000),
                Duration::from_secs(10),
            )
            .await
            .unwrap_ok();
        assert_eq!(report["outcome"], "applied");
    });
}

// --- Named cases: user ids --------------------------------------------------------------------

async fn assert_user_id_rejected(bad: &str) {
    let world = World::start().await;
    let instance = world.instance(&[]);
    let user = new_id();
    // In topicName...
    let mut event = activity(&user, "ON_QUEUE", 1_000, "IDLE", 1_000);
    event["detail"]["topicName"] = json!(format!("v2.users.{bad}.activity"));
    let error = instance.invoke(event).await.unwrap_err();
    assert_eq!(error.kind(), "MalformedEvent", "{error}");
    assert!(error.to_string().contains("topicName"), "{error}");
    // ...and in eventBody.id.
    for mut event in [
        activity(&user, "ON_QUEUE", 1_000, "IDLE", 1_000),
        routing(&user, "IDLE", 1_000),
    ] {
        event["detail"]["eventBody"]["id"] = json!(bad);
        let error = instance.invoke(event).await.unwrap_err();
        assert_eq!(error.kind(), "MalformedEvent", "{error}");
        assert!(error.to_string().contains("eventBody.id"), "{error}");
    }
    assert!(world.genesys.calls().is_empty() && world.ms.calls().is_empty());
}

#[tokio::test]
async fn a_user_id_with_path_traversal_is_rejected() {
    assert_user_id_rejected("../../api/v2/users").await;
    assert_user_id_rejected("3f9e6a2b-5d4c-4b1a-8e7f-112233445566/../x").await;
}

#[tokio::test]
async fn a_user_id_with_an_encoded_slash_is_rejected() {
    assert_user_id_rejected("3f9e6a2b-5d4c-4b1a-8e7f-1122334455%2F").await;
}

#[tokio::test]
async fn a_user_id_with_a_query_is_rejected() {
    assert_user_id_rejected("3f9e6a2b-5d4c-4b1a-8e7f-112233445566?attributes=x").await;
}

#[tokio::test]
async fn a_user_id_with_a_fragment_is_rejected() {
    assert_user_id_rejected("3f9e6a2b-5d4c-4b1a-8e7f-11223344556#").await;
}

#[tokio::test]
async fn a_user_id_with_spaces_is_rejected() {
    assert_user_id_rejected("3f9e6a2b 5d4c 4b1a 8e7f 112233445566").await;
}

#[tokio::test]
async fn a_user_id_that_is_not_a_uuid_is_rejected() {
    assert_user_id_rejected("agent.smith@example.com").await;
}

// --- Named cases: oversized input -------------------------------------------------------------

#[tokio::test]
async fn an_oversized_event_is_rejected_without_remote_calls() {
    let world = World::start().await;
    let mut event = presence(&new_id(), "BUSY", 1_000);
    event["detail"]["eventBody"]["message"] = json!("x".repeat(300 * 1024));
    let error = world.instance(&[]).invoke(event).await.unwrap_err();
    assert_eq!(error.kind(), "MalformedEvent");
    assert!(error.to_string().contains("bytes"), "{error}");
    assert!(error.to_string().len() < 300, "{error}");
    assert!(world.genesys.calls().is_empty() && world.ms.calls().is_empty());
}

// --- Named cases: what Genesys answers ---------------------------------------------------------

async fn scim_answer(fault: Fault) -> (World, Result<String, (String, String)>) {
    let world = World::start().await;
    let agent = world.agent();
    world.genesys.faults().push(GenesysEndpoint::Scim, fault);
    let result = world
        .instance(&[])
        .invoke(presence(&agent.genesys, "AVAILABLE", 1_000))
        .await
        .map(|r| format!("{}/{}", r.outcome, r.reason))
        .map_err(|e| (e.kind().to_owned(), e.to_string()));
    (world, result)
}

#[tokio::test]
async fn a_huge_scim_answer_is_refused_and_graph_is_not_called() {
    let (world, result) = scim_answer(Fault::raw(
        200,
        "application/scim+json",
        vec![b' '; 2 * 1024 * 1024],
    ))
    .await;
    let (kind, message) = result.unwrap_err();
    assert_eq!(kind, "GenesysScimBadResponse");
    assert!(message.contains("larger than"), "{message}");
    assert!(world.ms.presence_calls().is_empty());
}

#[tokio::test]
async fn a_scim_answer_that_is_html_is_refused() {
    let (world, result) =
        scim_answer(Fault::raw(200, "text/html", "<html>maintenance</html>")).await;
    assert_eq!(result.unwrap_err().0, "GenesysScimBadResponse");
    assert!(world.ms.presence_calls().is_empty());
}

#[tokio::test]
async fn a_scim_answer_of_the_wrong_shape_is_refused_or_means_no_teams_id() {
    let (_, result) = scim_answer(Fault::raw(200, "application/json", "[1,2,3]")).await;
    assert_eq!(result.unwrap_err().0, "GenesysScimBadResponse");
    let body = r#"{"id":"x","urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User":{"externalIds":"microsoftteams"}}"#;
    let (world, result) = scim_answer(Fault::raw(200, "application/json", body)).await;
    assert_eq!(result.unwrap(), "skipped/no-teams-user");
    assert!(world.ms.presence_calls().is_empty());
}

#[tokio::test]
async fn a_scim_404_means_no_teams_user() {
    let (world, result) = scim_answer(Fault::status(404)).await;
    assert_eq!(result.unwrap(), "skipped/no-teams-user");
    assert!(world.ms.presence_calls().is_empty());
}

// --- Named cases: what Microsoft answers --------------------------------------------------------

#[tokio::test]
async fn a_huge_graph_error_body_still_gives_a_specific_error() {
    let world = World::start().await;
    let agent = world.agent();
    world.ms.faults().push(
        MsEndpoint::Presence,
        Fault::raw(400, "application/json", vec![b'{'; 3 * 1024 * 1024]),
    );
    let error = world
        .instance(&[])
        .invoke(presence(&agent.genesys, "AVAILABLE", 1_000))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), "GraphRefused");
    assert!(error.to_string().contains("400"), "{error}");
    assert!(error.to_string().len() < 600, "{error}");
}

#[tokio::test]
async fn a_graph_error_that_is_not_json_still_gives_the_status() {
    let world = World::start().await;
    let agent = world.agent();
    world.ms.faults().push(
        MsEndpoint::Presence,
        Fault::raw(403, "text/plain", "denied"),
    );
    let error = world
        .instance(&[])
        .invoke(presence(&agent.genesys, "AVAILABLE", 1_000))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), "GraphDenied");
    assert!(error.to_string().contains("403"), "{error}");
}

#[tokio::test]
async fn a_huge_token_answer_is_refused() {
    let world = World::start().await;
    let agent = world.agent();
    world.ms.faults().push(
        MsEndpoint::Token,
        Fault::raw(200, "application/json", vec![b'x'; 1024 * 1024]),
    );
    let error = world
        .instance(&[])
        .invoke(presence(&agent.genesys, "AVAILABLE", 1_000))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), "EntraIdBadResponse");
    assert!(world.ms.presence_calls().is_empty());
}

#[tokio::test]
async fn a_token_answer_that_is_not_json_is_refused() {
    let world = World::start().await;
    let agent = world.agent();
    world.ms.faults().push(
        MsEndpoint::Token,
        Fault::raw(200, "text/html", "<html>sign in</html>"),
    );
    let error = world
        .instance(&[])
        .invoke(presence(&agent.genesys, "AVAILABLE", 1_000))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), "EntraIdBadResponse");
    assert!(!error.to_string().contains("<html>"), "{error}");
}

#[tokio::test]
async fn a_token_answer_without_expires_in_is_accepted() {
    let world = World::start().await;
    let agent = world.agent();
    world.ms.faults().push(
        MsEndpoint::Token,
        Fault::raw(
            200,
            "application/json",
            r#"{"token_type":"Bearer","access_token":"opaque-but-not-issued"}"#,
        ),
    );
    // The fake does not know that token, so Graph answers 401, and the client gets a real one.
    let instance = world.instance(&[]);
    assert_eq!(
        instance
            .outcome(presence(&agent.genesys, "AVAILABLE", 1_000))
            .await,
        "applied/changed"
    );
    assert_eq!(world.ms.token_requests(), 2);
}

#[tokio::test]
async fn a_truncated_token_answer_is_refused() {
    let world = World::start().await;
    let agent = world.agent();
    world.ms.faults().push(
        MsEndpoint::Token,
        Fault::raw(200, "application/json", r#"{"access_tok"#),
    );
    let error = world
        .instance(&[])
        .invoke(presence(&agent.genesys, "AVAILABLE", 1_000))
        .await
        .unwrap_err();
    // A complete body that is not a token is a contract breach, not a transient fault.
    assert_eq!(error.kind(), "EntraIdBadResponse");
}

#[tokio::test]
async fn a_hostile_retry_after_is_clamped_and_fails_the_invocation_at_once() {
    let world = World::start().await;
    let agent = world.agent();
    world
        .ms
        .faults()
        .push(MsEndpoint::Presence, Fault::throttled(999_999_999));
    let started = std::time::Instant::now();
    let error = world
        .instance(&[])
        .invoke(presence(&agent.genesys, "AVAILABLE", 1_000))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(error.kind(), "GraphThrottled");
    assert!(error.to_string().contains("Retry-After 300 s"), "{error}");
}

#[tokio::test]
async fn json_that_is_not_an_object_is_rejected() {
    let world = World::start().await;
    let instance = world.instance(&[]);
    for value in [
        json!(null),
        json!(42),
        json!("event"),
        json!([1, 2]),
        Value::Bool(true),
    ] {
        let error = instance.invoke(value).await.unwrap_err();
        assert_eq!(error.kind(), "MalformedEvent", "{error}");
    }
}
