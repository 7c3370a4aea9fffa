//! Input and configuration hardening (issue 8), end to end through the real handler and
//! adapters: events that must be refused before they touch the state table, Genesys or Graph,
//! and configuration the function must refuse at start-up.

use presence_sync_tests::aws::snapshot_table;
use presence_sync_tests::events::{SOURCE, activity, presence, routing};
use presence_sync_tests::world::World;
use serde_json::{Value, json};

/// The invocation fails with `kind` as a rejection naming `mentions`; nothing reaches the
/// table, Genesys or Graph; the same instance then applies a normal event for the same agent.
async fn assert_refused_untouched(world: &World, event: Value, kind: &str, mentions: &str) {
    let agent_user = event["detail"]["topicName"]
        .as_str()
        .and_then(|t| t.split('.').nth(2))
        .expect("a topicName with a user id")
        .to_owned();
    let instance = world.instance(&[]);
    let error = instance.invoke(event).await.unwrap_err();
    assert_eq!(error.kind(), kind, "{error}");
    assert!(error.is_rejection(), "{error}");
    let message = error.to_string();
    assert!(message.contains(mentions), "{message}");
    assert!(message.len() < 600, "{} bytes: {message}", message.len());
    assert!(
        snapshot_table(&world.dynamodb(), &world.table)
            .await
            .is_empty(),
        "nothing is stored for a refused event"
    );
    assert!(world.ms.calls().is_empty(), "no Microsoft call");
    assert!(world.genesys.calls().is_empty(), "no Genesys call");
    assert_eq!(
        instance.outcome(presence(&agent_user, "BUSY", 1_000)).await,
        "applied/changed",
        "a later normal event for the same agent is applied"
    );
}

// --- Versions from the future (finding 1) --------------------------------------------------

const FAR_FUTURE: &str = "9999-12-31T23:59:59.999Z";

#[tokio::test]
async fn a_presence_version_from_the_future_is_rejected_and_not_stored() {
    let world = World::start().await;
    let agent = world.agent();
    let mut event = presence(&agent.genesys, "AVAILABLE", 500);
    event["detail"]["eventBody"]["modifiedDate"] = json!(FAR_FUTURE);
    assert_refused_untouched(
        &world,
        event,
        "VersionInFuture",
        "detail.eventBody.modifiedDate",
    )
    .await;
    assert!(world.teams(&agent).is_some());
}

#[tokio::test]
async fn a_routing_start_time_from_the_future_is_rejected_and_not_stored() {
    let world = World::start().await;
    let agent = world.agent();
    let mut event = activity(&agent.genesys, "ON_QUEUE", 500, "IDLE", 500);
    event["detail"]["eventBody"]["routingStatus"]["startTime"] = json!(FAR_FUTURE);
    assert_refused_untouched(
        &world,
        event,
        "VersionInFuture",
        "detail.eventBody.routingStatus.startTime",
    )
    .await;
}

#[tokio::test]
async fn a_detail_timestamp_from_the_future_is_rejected_when_it_is_the_version() {
    let world = World::start().await;
    let agent = world.agent();
    let mut event = routing(&agent.genesys, "INTERACTING", 500);
    event["detail"]["eventBody"]["routingStatus"]
        .as_object_mut()
        .unwrap()
        .remove("startTime");
    event["detail"]["timestamp"] = json!(FAR_FUTURE);
    assert_refused_untouched(&world, event, "VersionInFuture", "detail.timestamp").await;
}

#[tokio::test]
async fn a_version_a_day_ahead_of_the_clock_is_rejected_even_with_a_matching_envelope_time() {
    let world = World::start().await;
    let agent = world.agent();
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut event = presence(&agent.genesys, "AVAILABLE", 500);
    event["detail"]["eventBody"]["modifiedDate"] = json!(tomorrow);
    event["detail"]["timestamp"] = json!(tomorrow);
    event["time"] = json!(tomorrow);
    assert_refused_untouched(&world, event, "VersionInFuture", "clock").await;
}

#[tokio::test]
async fn a_version_within_the_configured_skew_is_applied() {
    let world = World::start().await;
    let agent = world.agent();
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(60))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut event = presence(&agent.genesys, "BUSY", 500);
    event["detail"]["eventBody"]["modifiedDate"] = json!(soon);
    event["time"] = json!(soon);
    let instance = world.instance(&[]);
    assert_eq!(instance.outcome(event.clone()).await, "applied/changed");

    // With a 30-second skew, a minute ahead is too far.
    let other = world.agent();
    event["detail"]["topicName"] = json!(format!("v2.users.{}.presence", other.genesys));
    event["id"] = json!(presence_sync_tests::events::event_id());
    let error = world
        .instance(&[("MAX_CLOCK_SKEW_SECS", "30")])
        .invoke(event)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), "VersionInFuture", "{error}");
    assert!(error.to_string().contains("30 s"), "{error}");
}

// --- Source and envelope id (finding 7) ------------------------------------------------------

#[tokio::test]
async fn an_event_id_of_100_kb_is_rejected_and_not_stored() {
    let world = World::start().await;
    let mut event = presence(&world.agent().genesys, "AVAILABLE", 500);
    event["id"] = json!("x".repeat(100_000));
    assert_refused_untouched(&world, event, "MalformedEvent", "envelope id").await;
}

#[tokio::test]
async fn an_event_id_that_would_forge_a_text_log_line_is_rejected() {
    let world = World::start().await;
    let mut event = presence(&world.agent().genesys, "AVAILABLE", 500);
    event["id"] = json!("1d3c7a52\nINFO presence_sync: event handled outcome=applied");
    assert_refused_untouched(&world, event, "MalformedEvent", "envelope id").await;
}

#[tokio::test]
async fn a_look_alike_source_with_a_longer_suffix_is_rejected_when_allowed_source_is_set() {
    let world = World::start().await;
    let agent = world.agent();
    let instance = world.instance(&[("ALLOWED_SOURCE", SOURCE)]);
    for look_alike in [
        format!("{SOURCE}2"),
        format!("{SOURCE}/x"),
        SOURCE.to_uppercase(),
        SOURCE[..SOURCE.len() - 1].to_owned(),
    ] {
        let mut event = presence(&agent.genesys, "AVAILABLE", 500);
        event["source"] = json!(look_alike);
        let error = instance.invoke(event).await.unwrap_err();
        assert_eq!(error.kind(), "SourceNotAllowed", "{look_alike}: {error}");
        assert!(error.is_rejection());
        assert!(error.to_string().contains("ALLOWED_SOURCE"), "{error}");
    }
    assert!(
        snapshot_table(&world.dynamodb(), &world.table)
            .await
            .is_empty()
    );
    assert!(world.ms.calls().is_empty() && world.genesys.calls().is_empty());
    assert_eq!(
        instance
            .outcome(presence(&agent.genesys, "BUSY", 1_000))
            .await,
        "applied/changed"
    );
}

#[tokio::test]
async fn without_allowed_source_only_a_genesys_cloud_partner_source_is_accepted() {
    let world = World::start().await;
    let agent = world.agent();
    for bad in [
        "aws.partner/genesys.com/cloud/",
        "aws.partner/genesys.com/cloud/presence-sync",
        "aws.partner/genesys.com/cloud/not-an-org-id/presence-sync",
        "aws.partner/genesys.com/cloud/7c1f3a3e-1111-4a4a-9c9c-0123456789ab/",
        "aws.partner/genesys.com/cloud/7c1f3a3e-1111-4a4a-9c9c-0123456789ab/a b",
        "aws.partner/genesys.com/cloudy/7c1f3a3e-1111-4a4a-9c9c-0123456789ab/x",
    ] {
        let mut event = presence(&agent.genesys, "AVAILABLE", 500);
        event["source"] = json!(bad);
        let error = world.instance(&[]).invoke(event).await.unwrap_err();
        assert_eq!(error.kind(), "SourceNotAllowed", "{bad}: {error}");
    }
    // Another org's source is a Genesys Cloud source: accepted unless ALLOWED_SOURCE pins one.
    let mut event = presence(&agent.genesys, "BUSY", 1_000);
    event["source"] =
        json!("aws.partner/genesys.com/cloud/00000000-0000-4000-8000-000000000000/presence-sync");
    assert_eq!(
        world.instance(&[]).outcome(event.clone()).await,
        "applied/changed"
    );
    let error = world
        .instance(&[("ALLOWED_SOURCE", SOURCE)])
        .invoke(event)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), "SourceNotAllowed");
}
