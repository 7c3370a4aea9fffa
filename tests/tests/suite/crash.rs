//! Crash between steps: the built binary is killed (SIGKILL, not a polite error) at each
//! point between recording the event, calling Graph and recording the result; the event is
//! then redelivered to a fresh process, with or without a newer event in between. Teams must
//! end right, and no newer state may be overwritten by the redelivered older one.
//!
//! The kill points are reached from outside the process: the AWS proxy holds back the answer
//! to a chosen DynamoDB write (which has already taken effect in moto), and the fake Graph
//! holds a presence request for a moment.

use presence_sync_tests::aws::env_for;
use presence_sync_tests::aws_proxy::Hold;
use presence_sync_tests::events::presence;
use presence_sync_tests::fake_microsoft::{MsEndpoint, PresenceChange};
use presence_sync_tests::fault::Fault;
use presence_sync_tests::runtime_api::{InvokeFailure, LambdaProcess, RuntimeApi, binary_path};
use presence_sync_tests::world::{Isolation, World};
use std::time::Duration;

#[derive(Clone, Copy, Debug)]
enum Point {
    /// The record-and-claim write took effect; the process dies before it learns so.
    AfterRecording,
    /// The Graph request reached Graph; the process dies while Graph handles it.
    DuringGraphCall,
    /// Graph accepted; the write recording that dies with the process before it lands.
    AfterGraphBeforeRecordingResult,
    /// The result was recorded; the process dies before answering the invocation.
    AfterRecordingResult,
}

fn spawn(world: &World, isolation: &Isolation, api: &RuntimeApi) -> LambdaProcess {
    let mut env = world.function_env();
    env.extend(env_for(&isolation.proxy.endpoint()));
    env.extend(api.lambda_env("presence-sync"));
    LambdaProcess::spawn(&binary_path("presence-sync"), env)
}

/// Runs `event` on `process` (the only one polling) and kills it at `point`.
async fn crash(
    world: &World,
    isolation: &Isolation,
    api: &RuntimeApi,
    mut process: LambdaProcess,
    event: serde_json::Value,
    point: Point,
) {
    let hold = |needle: &str| isolation.proxy.hold("UpdateItem", needle);
    let mut held: Option<Hold> = match point {
        Point::AfterRecording => Some(hold("last_event = :last_event")),
        Point::AfterGraphBeforeRecordingResult => {
            Some(isolation.proxy.swallow("UpdateItem", "applied = :applied"))
        }
        Point::AfterRecordingResult => Some(hold("applied = :applied")),
        Point::DuringGraphCall => {
            world.ms.faults().push(
                MsEndpoint::Presence,
                Fault::delay(Duration::from_millis(400)),
            );
            None
        }
    };
    let updates_before = isolation.proxy.count("UpdateItem");
    // A short invocation timeout: the lease of the dead process expires soon after.
    let invocation = api.invoke(event, Duration::from_secs(2));
    let killer = async {
        match (&mut held, point) {
            (Some(hold), _) => assert!(
                hold.reached(Duration::from_secs(10)).await,
                "{point:?} not reached"
            ),
            (None, _) => {
                // The claim is answered, then the Graph request is in flight for 400 ms.
                isolation
                    .proxy
                    .wait_for_count("UpdateItem", updates_before + 1)
                    .await;
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
        }
        process.kill().await;
        drop(held.take());
    };
    let (invocation, ()) = tokio::join!(invocation, killer);
    assert!(
        matches!(invocation.result, Err(InvokeFailure::TimedOut { .. })),
        "the invocation died with the process: {:?}",
        invocation.result
    );
}

async fn scenario(point: Point, newer_in_between: bool) {
    let (world, isolation) = World::isolated().await;
    let agent = world.agent();
    let api = RuntimeApi::start_for("presence-sync").await;

    // Teams shows Available, set by an earlier event. The same process then crashes: a
    // process killed while it long-polls for work could swallow the next invocation.
    let process = spawn(&world, &isolation, &api);
    let report = api
        .invoke(
            presence(&agent.genesys, "AVAILABLE", 1_000),
            Duration::from_secs(10),
        )
        .await
        .unwrap_ok();
    assert_eq!(report["outcome"], "applied");

    let crashed = presence(&agent.genesys, "BUSY", 2_000);
    crash(&world, &isolation, &api, process, crashed.clone(), point).await;

    let _fresh = spawn(&world, &isolation, &api);
    let expected = if newer_in_between {
        let report = api
            .invoke(
                presence(&agent.genesys, "Break", 3_000),
                Duration::from_secs(15),
            )
            .await
            .unwrap_ok();
        assert_eq!(report["outcome"], "applied", "{report}");
        "Away/Away"
    } else {
        "Busy/Busy"
    };
    // Lambda redelivers the crashed event.
    let report = api
        .invoke(crashed, Duration::from_secs(15))
        .await
        .unwrap_ok();
    let outcome = format!(
        "{}/{}",
        report["outcome"].as_str().unwrap(),
        report["reason"].as_str().unwrap()
    );
    if newer_in_between {
        assert!(
            ["skipped/stale"].contains(&outcome.as_str()),
            "{point:?}: {outcome}"
        );
    } else {
        assert!(
            ["applied/changed", "applied/reconciled", "skipped/duplicate"]
                .contains(&outcome.as_str()),
            "{point:?}: {outcome}"
        );
    }
    assert_eq!(world.teams(&agent).as_deref(), Some(expected), "{point:?}");
    // Nothing older ever landed after the newer state.
    let history = world.ms.presence_history(&agent.teams);
    if newer_in_between {
        let away = history
            .iter()
            .position(
                |c| matches!(c, PresenceChange::Set { availability, .. } if availability == "Away"),
            )
            .expect("the newer state was applied");
        assert_eq!(away, history.len() - 1, "{point:?}: {history:?}");
    }
}

#[tokio::test]
async fn killed_after_recording_then_redelivered() {
    scenario(Point::AfterRecording, false).await;
}

#[tokio::test]
async fn killed_after_recording_then_a_newer_event_then_redelivered() {
    scenario(Point::AfterRecording, true).await;
}

#[tokio::test]
async fn killed_during_the_graph_call_then_redelivered() {
    scenario(Point::DuringGraphCall, false).await;
}

#[tokio::test]
async fn killed_during_the_graph_call_then_a_newer_event_then_redelivered() {
    scenario(Point::DuringGraphCall, true).await;
}

#[tokio::test]
async fn killed_after_graph_before_recording_the_result_then_redelivered() {
    scenario(Point::AfterGraphBeforeRecordingResult, false).await;
}

#[tokio::test]
async fn killed_after_graph_before_recording_the_result_then_a_newer_event_then_redelivered() {
    scenario(Point::AfterGraphBeforeRecordingResult, true).await;
}

#[tokio::test]
async fn killed_after_recording_the_result_then_redelivered() {
    scenario(Point::AfterRecordingResult, false).await;
}

#[tokio::test]
async fn killed_after_recording_the_result_then_a_newer_event_then_redelivered() {
    scenario(Point::AfterRecordingResult, true).await;
}
