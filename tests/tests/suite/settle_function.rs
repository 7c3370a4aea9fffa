//! A second Lambda function is a small file of public library items (issue 9):
//! `functions/settle-one/main.rs` (42 lines) is compiled here and its handler driven against
//! moto and the fakes: it settles an agent whose event failed, and refuses a bad id before any
//! remote call.

#[path = "../../../functions/settle-one/main.rs"]
#[allow(dead_code)] // its `main` is the Lambda entry point; the tests call the handler
mod settle_one;

use lambda_runtime::{Context, LambdaEvent};
use presence_sync_tests::events::presence;
use presence_sync_tests::fake_microsoft::MsEndpoint;
use presence_sync_tests::fault::Fault;
use presence_sync_tests::world::World;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn request(user: &str) -> LambdaEvent<settle_one::Request> {
    let mut context = Context::default();
    let deadline = SystemTime::now() + Duration::from_secs(10);
    context.deadline = deadline.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    LambdaEvent::new(
        settle_one::Request {
            genesys_user_id: user.to_owned(),
        },
        context,
    )
}

#[tokio::test]
async fn the_settle_function_re_applies_the_state_of_a_failed_event() {
    let world = World::start().await;
    let agent = world.agent();
    let instance = world.instance(&[]);
    world
        .ms
        .faults()
        .push_n(MsEndpoint::Presence, Fault::status(503), 1_000);
    instance
        .invoke_within(
            presence(&agent.genesys, "BUSY", 1_000),
            Duration::from_secs(3),
        )
        .await
        .expect_err("Graph keeps failing");
    world.ms.faults().clear();
    let answer = settle_one::handler(&instance.sync, request(&agent.genesys))
        .await
        .unwrap();
    assert_eq!(answer, "settled: applied/reconciled");
    assert_eq!(world.teams(&agent).as_deref(), Some("Busy/Busy"));
    let again = settle_one::handler(&instance.sync, request(&agent.genesys))
        .await
        .unwrap();
    assert!(again.starts_with("clean"), "{again}");
}

#[tokio::test]
async fn the_settle_function_refuses_a_bad_id_before_any_remote_call() {
    let world = World::start().await;
    let instance = world.instance(&[]);
    let failed = settle_one::handler(&instance.sync, request("../../etc/passwd\n"))
        .await
        .unwrap_err();
    assert_eq!(failed.error_type, "MalformedRequest");
    assert!(
        failed.error_message.contains("\\n"),
        "quoted: {}",
        failed.error_message
    );
    assert!(world.ms.calls().is_empty() && world.genesys.calls().is_empty());
}
