//! The CloudWatch metrics (embedded metric format) the function writes, read back the way
//! CloudWatch reads them: every EMF line is turned into datapoints (one per metric and
//! dimension set, with the values at the document's top level), and the tests ask for
//! metrics by name and exact dimensions, as an alarm or a dashboard would.
//!
//! In-process instances record into `presence_core::metrics::capture`, whose batch is
//! written as EMF lines exactly as `metrics::flush` writes them to stdout; the binary test
//! reads the lines from the process's stdout.
//!
//! What the service records (`metrics::event_outcome`, `metrics::lag`,
//! `metrics::teams_id_lookup`), what the adapters record (every remote call, throttles,
//! retries, waits) and what the binary flushes, once per invocation.

use presence_core::domain::outcome::Report;
use presence_core::metrics::{self, Context};
use presence_core::service::SyncError;
use presence_sync_tests::aws::env_for;
use presence_sync_tests::events::{at, new_id, presence};
use presence_sync_tests::fake_genesys::GenesysEndpoint;
use presence_sync_tests::fake_microsoft::MsEndpoint;
use presence_sync_tests::fault::Fault;
use presence_sync_tests::runtime_api::{LambdaProcess, RuntimeApi, binary_path};
use presence_sync_tests::world::{AZURE_CLIENT_SECRET, GENESYS_CLIENT_SECRET, Instance, World};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const FUNCTION: &str = "presence-sync-test";

fn context() -> Context {
    Context {
        namespace: metrics::DEFAULT_NAMESPACE.to_owned(),
        function: FUNCTION.to_owned(),
    }
}

// ---------------------------------------------------------------------------------------
// Reading EMF as CloudWatch does
// ---------------------------------------------------------------------------------------

/// One datapoint CloudWatch extracts: a metric under one dimension set.
#[derive(Clone, Debug)]
struct Point {
    namespace: String,
    name: String,
    unit: String,
    dims: BTreeMap<String, String>,
    values: Vec<f64>,
}

/// The datapoints of EMF lines, checking each line against the EMF specification's rules
/// and limits (CloudWatch drops a document that breaks them).
fn read_emf(lines: &[String]) -> Vec<Point> {
    let mut points = Vec::new();
    for line in lines {
        let doc: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("an EMF line is one JSON object ({e}): {line}"));
        let aws = &doc["_aws"];
        assert!(aws["Timestamp"].is_u64(), "no Timestamp: {line}");
        let directives = aws["CloudWatchMetrics"]
            .as_array()
            .unwrap_or_else(|| panic!("no CloudWatchMetrics: {line}"));
        let mut seen = BTreeSet::new();
        for directive in directives {
            let namespace = directive["Namespace"].as_str().expect("a Namespace");
            let metrics_list = directive["Metrics"].as_array().expect("Metrics");
            assert!(metrics_list.len() <= 100, "more than 100 metrics: {line}");
            for metric in metrics_list {
                let name = metric["Name"].as_str().expect("a metric Name");
                assert!(seen.insert(name.to_owned()), "{name} twice in: {line}");
                let unit = metric["Unit"].as_str().unwrap_or("None");
                let values = match &doc[name] {
                    Value::Number(n) => vec![n.as_f64().unwrap()],
                    Value::Array(items) => {
                        assert!(items.len() <= 100, "over 100 values of {name}: {line}");
                        items
                            .iter()
                            .map(|v| v.as_f64().expect("a number"))
                            .collect()
                    }
                    other => panic!("{name} has no numeric value ({other}): {line}"),
                };
                for set in directive["Dimensions"].as_array().expect("Dimensions") {
                    let set = set.as_array().expect("a dimension set");
                    assert!(set.len() <= 30, "over 30 dimensions: {line}");
                    let dims = set
                        .iter()
                        .map(|key| {
                            let key = key.as_str().expect("a dimension name");
                            let value = doc[key].as_str().unwrap_or_else(|| {
                                panic!("dimension {key} has no string value: {line}")
                            });
                            assert!(!value.is_empty() && value.len() <= 1024, "{line}");
                            (key.to_owned(), value.to_owned())
                        })
                        .collect();
                    points.push(Point {
                        namespace: namespace.to_owned(),
                        name: name.to_owned(),
                        unit: unit.to_owned(),
                        dims,
                        values: values.clone(),
                    });
                }
            }
        }
    }
    points
}

/// The datapoints of `name` under exactly these dimensions (plus `function`).
fn matching<'a>(points: &'a [Point], name: &str, dims: &[(&str, &str)]) -> Vec<&'a Point> {
    let mut wanted: BTreeMap<String, String> = dims
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    wanted.insert("function".into(), FUNCTION.into());
    points
        .iter()
        .filter(|p| p.name == name && p.dims == wanted)
        .collect()
}

/// The Sum statistic of `name` under exactly these dimensions.
fn sum(points: &[Point], name: &str, dims: &[(&str, &str)]) -> f64 {
    matching(points, name, dims)
        .iter()
        .flat_map(|p| p.values.iter())
        .sum()
}

/// Every value of `name` under exactly these dimensions.
fn values(points: &[Point], name: &str, dims: &[(&str, &str)]) -> Vec<f64> {
    matching(points, name, dims)
        .iter()
        .flat_map(|p| p.values.clone())
        .collect()
}

/// Invokes an in-process instance, returning its answer and the EMF lines of what it recorded.
async fn measured(instance: &Instance, event: Value) -> (Result<Report, SyncError>, Vec<String>) {
    // Boxed: the sync's future is deep, and a test that awaits several of them on the
    // test thread's stack overflows it in a debug build.
    let (result, batch) = Box::pin(metrics::capture(instance.invoke(event))).await;
    let lines = batch.emf_lines(&context(), now_ms() as u64);
    (result, lines)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// An event time `ago_ms` before now, as the `events` helpers count it (ms after their base).
fn ago(ago_ms: i64) -> i64 {
    now_ms() - ms_of(&at(0)) - ago_ms
}

fn ms_of(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_millis()
}

fn outcome(result: &Result<Report, SyncError>) -> String {
    match result {
        Ok(report) => format!("{}/{}", report.outcome, report.reason),
        Err(error) => format!("failed/{}", error.kind()),
    }
}

// ---------------------------------------------------------------------------------------
// Remote calls (recorded by the adapters)
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_cold_event_counts_every_remote_call_once_and_a_warm_one_only_graph() {
    let world = World::start().await;
    let agent = world.agent();
    world.ms.set_latency(Duration::from_millis(40));
    let instance = world.instance(&[]);

    let (result, lines) = measured(&instance, presence(&agent.genesys, "AVAILABLE", 1_000)).await;
    assert_eq!(outcome(&result), "applied/changed");
    let points = read_emf(&lines);
    let calls = |service, operation| {
        sum(
            &points,
            "RemoteCalls",
            &[
                ("service", service),
                ("operation", operation),
                ("status", "2xx"),
            ],
        )
    };
    assert_eq!(calls("SecretsManager", "GetSecretValue"), 2.0, "{lines:#?}");
    assert_eq!(calls("EntraId", "token"), 1.0);
    assert_eq!(calls("GenesysLogin", "token"), 1.0);
    assert_eq!(calls("GenesysScim", "lookup"), 1.0);
    assert_eq!(calls("Graph", "set"), 1.0);
    // The state table: the Teams-id cache read, the claim (an UpdateItem: it bumps the
    // claim's revision) and the cache write (a PutItem), the recording write and the finish.
    assert_eq!(calls("DynamoDB", "GetItem"), 1.0, "{lines:#?}");
    assert_eq!(calls("DynamoDB", "PutItem"), 1.0);
    assert_eq!(calls("DynamoDB", "UpdateItem"), 3.0);
    // The metrics agree with what the fakes counted.
    assert_eq!(world.ms.token_requests(), 1);
    assert_eq!(world.genesys.token_requests(), 1);
    assert_eq!(world.genesys.scim_calls(), 1);
    assert_eq!(world.ms.presence_calls().len(), 1);
    // The rollups: per service whatever the operation, per service and status.
    assert_eq!(sum(&points, "RemoteCalls", &[("service", "Graph")]), 1.0);
    assert_eq!(
        sum(
            &points,
            "RemoteCalls",
            &[("service", "Graph"), ("status", "2xx")]
        ),
        1.0
    );
    // Latency: one value per attempt, at least the fake's injected 40 ms for Microsoft.
    let graph = values(
        &points,
        "RemoteLatency",
        &[("service", "Graph"), ("operation", "set")],
    );
    assert_eq!(graph.len(), 1);
    assert!(graph[0] >= 40.0, "{graph:?}");
    assert!(matching(&points, "RemoteLatency", &[("service", "Graph")])[0].unit == "Milliseconds");
    assert_eq!(
        matching(&points, "RemoteCalls", &[("service", "Graph")])[0].unit,
        "Count"
    );
    for quiet in ["Throttles", "Retries", "ThrottleWait"] {
        assert!(
            points.iter().all(|p| p.name != quiet),
            "{quiet}: {lines:#?}"
        );
    }

    // Warm: only the Graph call and the two state writes (no secret, token or SCIM call, so
    // no such metric).
    let (result, lines) = measured(&instance, presence(&agent.genesys, "BUSY", 2_000)).await;
    assert_eq!(outcome(&result), "applied/changed");
    let points = read_emf(&lines);
    let services: BTreeSet<&str> = points
        .iter()
        .filter(|p| p.name == "RemoteCalls")
        .map(|p| p.dims["service"].as_str())
        .filter(|s| *s != "DynamoDB")
        .collect();
    assert_eq!(services, BTreeSet::from(["Graph"]), "{lines:#?}");
    assert_eq!(
        sum(
            &points,
            "RemoteCalls",
            &[
                ("service", "DynamoDB"),
                ("operation", "UpdateItem"),
                ("status", "2xx")
            ]
        ),
        2.0
    );
    assert_eq!(
        sum(
            &points,
            "RemoteCalls",
            &[
                ("service", "Graph"),
                ("operation", "set"),
                ("status", "2xx")
            ]
        ),
        1.0
    );
}

#[tokio::test]
async fn a_graph_throttle_is_counted_with_its_wait_and_the_retry() {
    let world = World::start().await;
    let agent = world.agent();
    let instance = world.instance(&[]);
    world
        .ms
        .faults()
        .push(MsEndpoint::Presence, Fault::throttled(1));
    let (result, lines) = measured(&instance, presence(&agent.genesys, "AVAILABLE", 1_000)).await;
    assert_eq!(outcome(&result), "applied/changed");
    let points = read_emf(&lines);
    let graph = |status| {
        sum(
            &points,
            "RemoteCalls",
            &[
                ("service", "Graph"),
                ("operation", "set"),
                ("status", status),
            ],
        )
    };
    assert_eq!((graph("429"), graph("2xx")), (1.0, 1.0), "{lines:#?}");
    assert_eq!(sum(&points, "Throttles", &[("service", "Graph")]), 1.0);
    assert_eq!(sum(&points, "Retries", &[("service", "Graph")]), 1.0);
    let waited = values(&points, "ThrottleWait", &[("service", "Graph")]);
    assert_eq!(waited.len(), 1, "{lines:#?}");
    // Retry-After: 1, never sooner than the backoff (100 to 200 ms): 1 s.
    assert!((1.0..1.5).contains(&waited[0]), "{waited:?}");
    assert_eq!(
        matching(&points, "ThrottleWait", &[("service", "Graph")])[0].unit,
        "Seconds"
    );
    assert_eq!(sum(&points, "Throttles", &[("service", "EntraId")]), 0.0);
}

#[tokio::test]
async fn a_throttle_beyond_the_budget_is_one_429_and_no_retry() {
    let world = World::start().await;
    let agent = world.agent();
    let instance = world.instance(&[]);
    world
        .ms
        .faults()
        .push(MsEndpoint::Presence, Fault::throttled(60));
    let (result, lines) = measured(&instance, presence(&agent.genesys, "AVAILABLE", 1_000)).await;
    assert_eq!(outcome(&result), "failed/GraphThrottled");
    let points = read_emf(&lines);
    assert_eq!(
        sum(
            &points,
            "RemoteCalls",
            &[("service", "Graph"), ("status", "429")]
        ),
        1.0,
        "{lines:#?}"
    );
    assert_eq!(sum(&points, "Throttles", &[("service", "Graph")]), 1.0);
    assert_eq!(sum(&points, "Retries", &[("service", "Graph")]), 0.0);
    assert!(values(&points, "ThrottleWait", &[("service", "Graph")]).is_empty());
}

#[tokio::test]
async fn server_errors_and_dropped_connections_have_their_own_status_class() {
    let world = World::start().await;
    let agent = world.agent();
    let instance = world.instance(&[]);
    world
        .genesys
        .faults()
        .push(GenesysEndpoint::Scim, Fault::status(503));
    world.ms.faults().push(MsEndpoint::Presence, Fault::Drop);
    world
        .ms
        .faults()
        .push(MsEndpoint::Presence, Fault::status(502));
    let (result, lines) = measured(&instance, presence(&agent.genesys, "AVAILABLE", 1_000)).await;
    assert_eq!(outcome(&result), "applied/changed");
    let points = read_emf(&lines);
    let calls = |service, status| {
        sum(
            &points,
            "RemoteCalls",
            &[("service", service), ("status", status)],
        )
    };
    assert_eq!(calls("GenesysScim", "5xx"), 1.0, "{lines:#?}");
    assert_eq!(calls("GenesysScim", "2xx"), 1.0);
    assert_eq!(calls("Graph", "transport"), 1.0);
    assert_eq!(calls("Graph", "5xx"), 1.0);
    assert_eq!(calls("Graph", "2xx"), 1.0);
    assert_eq!(sum(&points, "Retries", &[("service", "GenesysScim")]), 1.0);
    assert_eq!(sum(&points, "Retries", &[("service", "Graph")]), 2.0);
    // None of these was a throttle.
    assert!(
        points
            .iter()
            .all(|p| p.name != "Throttles" && p.name != "ThrottleWait")
    );
    assert_eq!(
        values(
            &points,
            "RemoteLatency",
            &[("service", "Graph"), ("operation", "set")]
        )
        .len(),
        3
    );
}

#[tokio::test]
async fn every_dimension_value_is_from_the_codes_vocabulary_never_an_id_or_a_secret() {
    let world = World::start().await;
    let agents = [world.agent(), world.agent()];
    let unknown = new_id();
    world.genesys.add_user(&unknown, None);
    let instance = world.instance(&[]);
    world
        .ms
        .faults()
        .push(MsEndpoint::Presence, Fault::throttled(1));
    let mut lines = Vec::new();
    let mut events = vec![
        presence(&agents[0].genesys, "AVAILABLE", 1_000),
        presence(&agents[1].genesys, "BREAK", 1_000),
        presence(&agents[0].genesys, "AVAILABLE", 1_000),
        presence(&agents[0].genesys, "ON_QUEUE", 500),
        presence(&unknown, "BUSY", 1_000),
        presence(&agents[1].genesys, "OFFLINE", 2_000),
    ];
    let mut malformed = presence(&agents[0].genesys, "BUSY", 3_000);
    malformed["detail"]["eventBody"]["modifiedDate"] = json!("not a time");
    events.push(malformed);
    for event in events {
        lines.extend(measured(&instance, event).await.1);
    }
    world
        .ms
        .faults()
        .push(MsEndpoint::Presence, Fault::status(403));
    lines.extend(
        measured(&instance, presence(&agents[1].genesys, "BUSY", 3_000))
            .await
            .1,
    );
    let points = read_emf(&lines);
    assert!(
        points.iter().any(|p| p.name == "RemoteCalls"),
        "the scenario records something: {lines:#?}"
    );

    // Every dimension value is one the code names.
    let mut vocabulary: BTreeSet<&str> = BTreeSet::from([FUNCTION]);
    vocabulary.extend(metrics::OUTCOMES);
    vocabulary.extend(["2xx", "3xx", "4xx", "429", "5xx", "timeout", "transport"]);
    vocabulary.extend(["memory", "table", "scim", "negative"]);
    vocabulary.extend(["set", "clear", "read", "lookup", "token", "GetSecretValue"]);
    vocabulary.extend([
        "UpdateItem",
        "GetItem",
        "PutItem",
        "DeleteItem",
        "Query",
        "Scan",
    ]);
    vocabulary.extend([
        "SecretsManager",
        "EntraId",
        "Graph",
        "GenesysLogin",
        "GenesysScim",
        "DynamoDB",
    ]);
    vocabulary.extend([
        "changed",
        "reconciled",
        "stale",
        "duplicate",
        "unchanged",
        "unmapped",
        "ignored",
        "no-teams-user",
        "teams-user-not-found",
        "teams-id-claimed",
    ]);
    for point in &points {
        for (key, value) in &point.dims {
            let is_error_type = key == "reason"
                && point.dims.get("outcome").map(String::as_str) == Some("failed")
                && value.chars().all(|c| c.is_ascii_alphanumeric());
            assert!(
                vocabulary.contains(value.as_str()) || is_error_type,
                "{}: dimension {key}={value} is not from the code's vocabulary",
                point.name
            );
        }
    }
    // And no line quotes a user id, a Teams id, a secret or a token anywhere.
    let mut needles = vec![
        unknown.clone(),
        AZURE_CLIENT_SECRET.to_owned(),
        GENESYS_CLIENT_SECRET.to_owned(),
        world.azure_secret.clone(),
        world.genesys_secret.clone(),
    ];
    for agent in &agents {
        needles.push(agent.genesys.clone());
        needles.push(agent.teams.clone());
    }
    needles.extend(world.ms.issued_tokens().into_iter().map(|t| t.access_token));
    needles.extend(
        world
            .genesys
            .issued_tokens()
            .into_iter()
            .map(|t| t.access_token),
    );
    for line in &lines {
        for needle in &needles {
            assert!(!line.contains(needle.as_str()), "{needle} in {line}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// What the service records (needs the wiring)
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn events_are_counted_by_outcome_and_reason() {
    let world = World::start().await;
    let agent = world.agent();
    let instance = world.instance(&[]);
    let first = presence(&agent.genesys, "AVAILABLE", 1_000);
    let mut malformed = presence(&agent.genesys, "BUSY", 9_000);
    malformed["detail"]["eventBody"]["modifiedDate"] = json!("not a time");
    let cases = [
        (first.clone(), "applied/changed"),
        (first, "skipped/duplicate"),
        (
            presence(&agent.genesys, "AVAILABLE", 2_000),
            "skipped/unchanged",
        ),
        (presence(&agent.genesys, "BUSY", 500), "skipped/stale"),
        (
            presence(&agent.genesys, "OFFLINE", 3_000),
            "cleared/changed",
        ),
        (malformed, "failed/MalformedEvent"),
    ];
    let mut all = Vec::new();
    for (event, expected) in cases {
        let (result, lines) = measured(&instance, event).await;
        assert_eq!(outcome(&result), expected);
        let (kind, reason) = expected.split_once('/').unwrap();
        let points = read_emf(&lines);
        // Exactly one event, under its outcome and reason, and in both rollups.
        assert_eq!(
            sum(&points, "Events", &[("outcome", kind), ("reason", reason)]),
            1.0,
            "{expected}: {lines:#?}"
        );
        assert_eq!(
            sum(&points, "Events", &[("outcome", kind)]),
            1.0,
            "{expected}"
        );
        assert_eq!(sum(&points, "Events", &[]), 1.0, "{expected}");
        assert_eq!(matching(&points, "Events", &[])[0].unit, "Count");
        assert_eq!(
            matching(&points, "Events", &[])[0].namespace,
            "PresenceSync"
        );
        all.extend(lines);
    }
    // A Graph throttle beyond the budget: failed, by its errorType.
    world
        .ms
        .faults()
        .push(MsEndpoint::Presence, Fault::throttled(60));
    let (result, lines) = measured(&instance, presence(&agent.genesys, "BUSY", 4_000)).await;
    assert_eq!(outcome(&result), "failed/GraphThrottled");
    let points = read_emf(&lines);
    assert_eq!(
        sum(
            &points,
            "Events",
            &[("outcome", "failed"), ("reason", "GraphThrottled")]
        ),
        1.0,
        "{lines:#?}"
    );
    all.extend(lines);
    let points = read_emf(&all);
    assert_eq!(sum(&points, "Events", &[]), 7.0);
    assert_eq!(sum(&points, "Events", &[("outcome", "failed")]), 2.0);
    assert_eq!(sum(&points, "Events", &[("outcome", "skipped")]), 3.0);
}

#[tokio::test]
async fn lags_are_measured_per_applied_event() {
    let world = World::start().await;
    let agent = world.agent();
    let instance = world.instance(&[]);
    // A change a second ago, delivered now (a live event).
    let changed = ago(1_000);
    let event = presence(&agent.genesys, "AVAILABLE", changed);
    let version = ms_of(&at(changed));
    let time = ms_of(event["time"].as_str().unwrap());
    let before = now_ms();
    let (result, lines) = measured(&instance, event).await;
    let after = now_ms();
    assert_eq!(outcome(&result), "applied/changed");
    let points = read_emf(&lines);
    let end_to_end = values(&points, "EndToEndLag", &[]);
    assert_eq!(end_to_end.len(), 1, "{lines:#?}");
    assert!(
        ((before - version) as f64..=(after - version) as f64).contains(&end_to_end[0]),
        "end-to-end lag {} outside [{}, {}]",
        end_to_end[0],
        before - version,
        after - version
    );
    let delivery = values(&points, "DeliveryLag", &[]);
    assert_eq!(delivery.len(), 1, "{lines:#?}");
    assert!(
        ((before - time) as f64..=(after - time) as f64).contains(&delivery[0]),
        "delivery lag {} outside [{}, {}]",
        delivery[0],
        before - time,
        after - time
    );
    assert_eq!(
        matching(&points, "EndToEndLag", &[])[0].unit,
        "Milliseconds"
    );

    // Nothing applied, no end-to-end lag (but a delivery lag: every event is delivered).
    let (result, lines) =
        measured(&instance, presence(&agent.genesys, "AVAILABLE", ago(500))).await;
    assert_eq!(outcome(&result), "skipped/unchanged");
    let points = read_emf(&lines);
    assert!(values(&points, "EndToEndLag", &[]).is_empty(), "{lines:#?}");
    assert_eq!(values(&points, "DeliveryLag", &[]).len(), 1);
}

#[tokio::test]
async fn a_redriven_event_hours_old_is_counted_late_not_in_the_end_to_end_lag() {
    let world = World::start().await;
    let agent = world.agent();
    let instance = world.instance(&[]);
    // Two hours old: EventBridge and Lambda give up on an event after 15 minutes
    // (MaximumEventAgeInSeconds), so only an operator's redrive delivers it now.
    let event = presence(&agent.genesys, "AVAILABLE", ago(2 * 3_600_000));
    let (result, lines) = measured(&instance, event).await;
    assert_eq!(outcome(&result), "applied/changed");
    let points = read_emf(&lines);
    assert!(values(&points, "EndToEndLag", &[]).is_empty(), "{lines:#?}");
    assert_eq!(sum(&points, "LateEvents", &[]), 1.0, "{lines:#?}");
    assert_eq!(
        values(&points, "DeliveryLag", &[]).len(),
        1,
        "its delivery still shows"
    );
}

#[tokio::test]
async fn teams_id_lookups_are_counted_by_source() {
    let world = World::start().await;
    let agent = world.agent();
    let nobody = new_id();
    world.genesys.add_user(&nobody, None);
    let first = world.instance(&[]);
    let source =
        |lines: &[String], source| sum(&read_emf(lines), "TeamsIdLookups", &[("source", source)]);

    // A miss: SCIM.
    let (result, lines) = measured(&first, presence(&agent.genesys, "AVAILABLE", 1_000)).await;
    assert_eq!(outcome(&result), "applied/changed");
    assert_eq!(source(&lines, "scim"), 1.0, "{lines:#?}");
    assert_eq!(
        sum(&read_emf(&lines), "TeamsIdLookups", &[("source", "memory")]),
        0.0
    );
    // A hit in this instance's memory.
    let (_, lines) = measured(&first, presence(&agent.genesys, "BUSY", 2_000)).await;
    assert_eq!(source(&lines, "memory"), 1.0, "{lines:#?}");
    assert_eq!(source(&lines, "scim"), 0.0);
    // Another instance: a hit in the table.
    let second = world.instance(&[]);
    let (_, lines) = measured(&second, presence(&agent.genesys, "AWAY", 3_000)).await;
    assert_eq!(source(&lines, "table"), 1.0, "{lines:#?}");
    assert_eq!(world.genesys.scim_calls(), 1);
    // No Teams id: SCIM once, then a cached negative answer.
    let (result, lines) = measured(&first, presence(&nobody, "AVAILABLE", 1_000)).await;
    assert_eq!(outcome(&result), "skipped/no-teams-user");
    assert_eq!(source(&lines, "scim"), 1.0, "{lines:#?}");
    let (result, lines) = measured(&first, presence(&nobody, "BUSY", 2_000)).await;
    assert_eq!(outcome(&result), "skipped/no-teams-user");
    assert_eq!(source(&lines, "negative"), 1.0, "{lines:#?}");
    assert_eq!(source(&lines, "scim"), 0.0);
}

#[tokio::test]
async fn the_sweep_reads_a_directory_pages_records_in_one_batch() {
    let world = World::start().await;
    let agents: Vec<_> = (0..12).map(|_| world.agent()).collect();
    let instance = world.instance(&[]);
    for agent in &agents {
        let (result, _) = measured(&instance, presence(&agent.genesys, "AVAILABLE", 1_000)).await;
        assert_eq!(outcome(&result), "applied/changed");
    }
    // The first run walks the records and sweeps the directory (one page of 12 users, every
    // one in the table already).
    let invocation = presence_core::service::Invocation {
        request_id: new_id(),
        deadline: SystemTime::now() + Duration::from_secs(60),
    };
    let reconciler = world.reconciler(&[]);
    let (outcome, batch) = Box::pin(metrics::capture(reconciler.run(&invocation))).await;
    let outcome = outcome.expect("the run works");
    assert!(
        format!("{outcome:?}").contains("sweep_completed: true"),
        "{outcome:?}"
    );
    let points = read_emf(&batch.emf_lines(&context(), now_ms() as u64));
    let calls = |operation| {
        sum(
            &points,
            "RemoteCalls",
            &[
                ("service", "DynamoDB"),
                ("operation", operation),
                ("status", "2xx"),
            ],
        )
    };
    assert!(calls("Scan") >= 1.0, "the walk: {points:#?}");
    // One BatchGetItem for the page's records and one for their cached Teams ids (which fall
    // due for renewal: none, looked up a moment ago), where each user was a GetItem of its own;
    // none for memberships with `SYNC_SCOPE=all`.
    assert_eq!(calls("BatchGetItem"), 2.0, "{points:#?}");
    assert_eq!(calls("GetItem"), 0.0, "{points:#?}");
    assert_eq!(calls("PutItem"), 0.0, "nothing renewed: {points:#?}");
}

#[tokio::test]
async fn the_binary_writes_its_metrics_to_stdout_as_emf_once_per_invocation() {
    let world = World::start().await;
    let agent = world.agent();
    let runtime = RuntimeApi::start_for(FUNCTION).await;
    let mut env = world.function_env();
    env.extend(env_for(&world.moto));
    env.extend(runtime.lambda_env(FUNCTION));
    env.push(("AWS_LAMBDA_LOG_FORMAT".into(), "JSON".into()));
    env.push(("METRICS_NAMESPACE".into(), "Contoso/PresenceSync".into()));
    let process = LambdaProcess::spawn(&binary_path("presence-sync"), env);
    let emf_lines = |process: &LambdaProcess| -> Vec<String> {
        process
            .logs()
            .into_iter()
            .filter(|line| line.starts_with("{\"_aws\""))
            .collect()
    };

    let steps = [
        (
            presence(&agent.genesys, "AVAILABLE", 1_000),
            "applied",
            "changed",
        ),
        (
            presence(&agent.genesys, "BUSY", 2_000),
            "applied",
            "changed",
        ),
        (
            presence(&agent.genesys, "BUSY", 2_500),
            "skipped",
            "unchanged",
        ),
    ];
    let mut seen = 0;
    for (n, (event, kind, reason)) in steps.into_iter().enumerate() {
        runtime
            .invoke(event, Duration::from_secs(10))
            .await
            .unwrap_ok();
        // The lines are written before the answer: they are there when it arrives.
        let lines = emf_lines(&process);
        let new = lines[seen..].to_vec();
        seen = lines.len();
        let points = read_emf(&new);
        assert_eq!(
            sum(&points, "Events", &[("outcome", kind), ("reason", reason)]),
            1.0,
            "event {n}: {new:#?}"
        );
        assert!(points.iter().all(|p| p.namespace == "Contoso/PresenceSync"));
        // A warm event costs one or two lines (two when DynamoDB's calls are counted
        // beside Graph's); the cold first event a few more.
        if n > 0 {
            assert!(
                new.len() <= 2,
                "event {n}: {} EMF lines: {new:#?}",
                new.len()
            );
        }
    }
    let points = read_emf(&emf_lines(&process));
    assert_eq!(sum(&points, "Events", &[]), 3.0);
    assert_eq!(
        sum(
            &points,
            "RemoteCalls",
            &[
                ("service", "Graph"),
                ("operation", "set"),
                ("status", "2xx")
            ]
        ),
        2.0
    );
}

// ---------------------------------------------------------------------------------------
// The documentation
// ---------------------------------------------------------------------------------------

/// README.md's "Watching it" names every metric the code declares and every alarm of the
/// template.
#[test]
fn the_readme_lists_every_metric_and_every_alarm() {
    let root = presence_sync_tests::moto::repo_root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let start = readme
        .find("\n## Watching it")
        .expect("README.md has a section \"Watching it\"");
    let section = &readme[start + 1..];
    let section = &section[..section[1..]
        .find("\n## ")
        .map_or(section.len(), |end| end + 1)];
    for metric in metrics::ALL {
        assert!(
            section.contains(&format!("`{}`", metric.name)),
            "README.md, Watching it: metric {} is not listed",
            metric.name
        );
    }
    let template = std::fs::read_to_string(root.join("template.yaml")).unwrap();
    let alarms: Vec<&str> = template
        .lines()
        .zip(template.lines().skip(1))
        .filter(|(_, next)| next.trim() == "Type: AWS::CloudWatch::Alarm")
        .map(|(line, _)| line.trim().trim_end_matches(':'))
        .collect();
    assert!(alarms.len() >= 8, "{alarms:?}");
    for alarm in alarms {
        assert!(
            section.contains(&format!("`{alarm}`")),
            "README.md, Watching it: alarm {alarm} is not listed"
        );
    }
    assert!(section.contains("(docs/shift.png)"), "the screenshot");
    assert!(root.join("docs/shift.png").is_file());
}
