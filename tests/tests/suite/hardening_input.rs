//! Input and configuration hardening (issue 8), end to end through the real handler and
//! adapters: events that must be refused before they touch the state table, Genesys or Graph,
//! and configuration the function must refuse at start-up.

use presence_core::config::{Config, ConfigError};
use presence_sync_tests::aws::{env_for, snapshot_table};
use presence_sync_tests::events::{SOURCE, activity, presence, routing};
use presence_sync_tests::fake_microsoft::parse_edm_duration;
use presence_sync_tests::runtime_api::{LambdaProcess, RuntimeApi, binary_path};
use presence_sync_tests::world::World;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

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

/// docs/design.md: a record poisoned before the check stays poisoned (every presence is
/// `stale`) until an operator removes the poisoned version; `applied` survives the repair.
#[tokio::test]
async fn a_record_poisoned_before_the_check_is_repaired_by_removing_the_poisoned_version() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let world = World::start().await;
    let agent = world.agent();
    let instance = world.instance(&[]);
    assert_eq!(
        instance
            .outcome(presence(&agent.genesys, "BUSY", 1_000))
            .await,
        "applied/changed"
    );
    let key = AttributeValue::S(format!("user#{}", agent.genesys));
    world
        .dynamodb()
        .update_item()
        .table_name(&world.table)
        .key("pk", key.clone())
        .update_expression("SET presence_version = :v")
        .expression_attribute_values(":v", AttributeValue::N("253402300799999".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        instance
            .outcome(presence(&agent.genesys, "AVAILABLE", 2_000))
            .await,
        "skipped/stale"
    );
    world
        .dynamodb()
        .update_item()
        .table_name(&world.table)
        .key("pk", key)
        .update_expression("REMOVE presence_version")
        .send()
        .await
        .unwrap();
    assert_eq!(
        instance
            .outcome(presence(&agent.genesys, "AVAILABLE", 3_000))
            .await,
        "applied/changed"
    );
    assert_eq!(world.teams(&agent).as_deref(), Some("Available/Available"));
    // `applied` survived: the same state again needs no Graph call.
    let calls = world.graph_calls(&agent);
    assert_eq!(
        instance
            .outcome(presence(&agent.genesys, "AVAILABLE", 4_000))
            .await,
        "skipped/unchanged"
    );
    assert_eq!(world.graph_calls(&agent), calls);
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

// --- Configuration Graph refuses, credentials in URLs (finding 8) ----------------------------

fn config_with(world: &World, name: &str, value: &str) -> Result<Config, ConfigError> {
    let mut vars: HashMap<String, String> = world.function_env().into_iter().collect();
    vars.insert(name.to_owned(), value.to_owned());
    Config::from_lookup(|n| vars.get(n).cloned())
}

#[tokio::test]
async fn a_week_month_or_year_expiration_stops_the_start_instead_of_failing_every_graph_write() {
    let world = World::start().await;
    for duration in ["P1W", "P1M", "P1Y"] {
        // What Graph (here its fake, which follows Edm.Duration) answers such a write.
        assert!(parse_edm_duration(duration).is_none(), "{duration}");
        let error = config_with(&world, "PRESENCE_EXPIRATION", duration).unwrap_err();
        assert_eq!(error.variable, "PRESENCE_EXPIRATION", "{duration}");
    }
}

/// Durations from Graph's alphabet, often almost right.
fn duration_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        (0u32..100_000).prop_map(|n| n.to_string()),
        Just("0".to_owned()),
        Just(".".to_owned()),
        Just("5".to_owned()),
        proptest::sample::select(vec![
            "P", "T", "D", "H", "M", "S", "W", "Y", "-", "+", " ", "d", "h"
        ])
        .prop_map(str::to_owned),
    ];
    let structured = (
        proptest::option::of(0u32..1_000),
        proptest::option::of(0u32..100),
        proptest::option::of(0u32..1_000),
        proptest::option::of((0u32..100_000, proptest::option::of(0u32..1_000))),
        any::<bool>(),
    )
        .prop_map(|(d, h, m, s, t)| {
            let mut text = "P".to_owned();
            if let Some(d) = d {
                text += &format!("{d}D");
            }
            if t || h.is_some() || m.is_some() || s.is_some() {
                text += "T";
            }
            if let Some(h) = h {
                text += &format!("{h}H");
            }
            if let Some(m) = m {
                text += &format!("{m}M");
            }
            if let Some((whole, fraction)) = s {
                text += &whole.to_string();
                if let Some(fraction) = fraction {
                    text += &format!(".{fraction}");
                }
                text += "S";
            }
            text
        });
    prop_oneof![
        structured,
        proptest::collection::vec(piece, 0..8).prop_map(|pieces| pieces.concat()),
    ]
}

/// The fake Graph's own `Edm.Duration` reader (written from the Graph and OData documents for
/// the fakes, not from the configuration code) is the oracle: a start-up that accepts exactly
/// what Graph accepts (and is longer than zero) cannot fail every write later.
#[tokio::test]
async fn presence_expiration_is_accepted_exactly_when_graph_accepts_it() {
    let world = World::start().await;
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 3_000,
        ..ProptestConfig::default()
    });
    let accepted = std::cell::Cell::new(0);
    runner
        .run(&duration_text(), |text| {
            // Blank is "not set"; the value is read trimmed.
            let text = text.trim();
            if text.is_empty() {
                return Ok(());
            }
            let graph = parse_edm_duration(text).is_some_and(|d| !d.is_zero());
            let start = config_with(&world, "PRESENCE_EXPIRATION", text);
            prop_assert_eq!(start.is_ok(), graph, "{:?}: {:?}", text, start.err());
            accepted.set(accepted.get() + u32::from(graph));
            Ok(())
        })
        .unwrap();
    assert!(
        accepted.get() > 300,
        "the strategy must produce valid durations"
    );
}

#[tokio::test]
async fn a_password_in_a_url_variable_never_reaches_the_log() {
    let world = World::start().await;
    let api = RuntimeApi::start_for("presence-sync").await;
    for variable in ["GRAPH_API_URL", "AZURE_LOGIN_URL", "GENESYS_API_URL"] {
        let mut env: Vec<(String, String)> = world
            .function_env()
            .into_iter()
            .filter(|(name, _)| name != variable)
            .collect();
        env.push((
            variable.to_owned(),
            "http://user:pa55-w0rd@graph.example.com/v1.0".to_owned(),
        ));
        env.extend(env_for(&world.moto));
        env.extend(api.lambda_env("presence-sync"));
        let mut process = LambdaProcess::spawn(&binary_path("presence-sync"), env);
        let status = process
            .wait(Duration::from_secs(10))
            .await
            .expect("the process exits");
        assert!(!status.success());
        assert!(
            process.wait_for_log(variable, Duration::from_secs(5)).await,
            "{:#?}",
            process.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        let logs = process.logs().join("\n");
        assert!(logs.contains("user info"), "{logs}");
        assert!(!logs.contains("pa55-w0rd"), "{logs}");
    }
}
