//! Realistic Genesys Cloud EventBridge events for tests, built from the fixtures in
//! `tests/fixtures/` with the user, state, times and event id replaced.

use serde_json::{Value, json};
use std::collections::HashMap;

pub const ORG: &str = "7c1f3a3e-1111-4a4a-9c9c-0123456789ab";
pub const SOURCE: &str =
    "aws.partner/genesys.com/cloud/7c1f3a3e-1111-4a4a-9c9c-0123456789ab/presence-sync";

/// A fixture from `tests/fixtures/` by file name (read once per process: the shift model
/// builds hundreds of thousands of events).
pub fn fixture(name: &str) -> Value {
    static READ: std::sync::OnceLock<std::sync::Mutex<HashMap<String, Value>>> =
        std::sync::OnceLock::new();
    let read = READ.get_or_init(Default::default);
    let mut read = read.lock().unwrap_or_else(|p| p.into_inner());
    read.entry(name.to_owned())
        .or_insert_with(|| read_fixture(name))
        .clone()
}

fn read_fixture(name: &str) -> Value {
    let path = crate::moto::repo_root().join("tests/fixtures").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading fixture {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// A fresh, unique EventBridge event id.
pub fn event_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The instant [`at`]`(0)` names, once a program chose it ([`start_clock_at`]).
static CLOCK_START: std::sync::OnceLock<chrono::DateTime<chrono::Utc>> = std::sync::OnceLock::new();

/// Makes [`at`]`(0)` name `start` for the rest of the process (the demo: a shift that started
/// an hour ago, so that "changed 50 min ago" reads true). Only the first call counts; the
/// tests never call it and keep 2026-11-02T08:00:00Z.
pub fn start_clock_at(start: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    *CLOCK_START.get_or_init(|| start)
}

/// An RFC 3339 time `ms` milliseconds after 2026-11-02T08:00:00Z (or after the start
/// [`start_clock_at`] chose).
pub fn at(ms: i64) -> String {
    let base = CLOCK_START.get().copied().unwrap_or_else(|| {
        chrono::DateTime::parse_from_rfc3339("2026-11-02T08:00:00Z")
            .unwrap()
            .to_utc()
    });
    (base + chrono::Duration::milliseconds(ms)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn envelope(mut event: Value, topic_suffix: &str, user: &str, time_ms: i64) -> Value {
    event["id"] = json!(event_id());
    event["source"] = json!(SOURCE);
    event["time"] = json!(at(time_ms - time_ms.rem_euclid(1000)).replace(".000", ""));
    event["detail"]["topicName"] = json!(format!("v2.users.{user}.{topic_suffix}"));
    event["detail"]["timestamp"] = json!(at(time_ms + 15));
    event
}

/// `v2.users.{id}.activity` with presence (changed at `presence_ms`) and routing status
/// (since `routing_ms`).
pub fn activity(
    user: &str,
    presence: &str,
    presence_ms: i64,
    routing: &str,
    routing_ms: i64,
) -> Value {
    let mut event = envelope(
        fixture("activity-on-queue.json"),
        "activity",
        user,
        presence_ms.max(routing_ms),
    );
    let body = &mut event["detail"]["eventBody"];
    body["id"] = json!(user);
    body["presence"]["presenceDefinition"]["systemPresence"] = json!(presence);
    body["presence"]["presenceDefinition"]["id"] = json!(definition_id(presence));
    body["presence"]["modifiedDate"] = json!(at(presence_ms));
    body["routingStatus"]["status"] = json!(routing);
    body["routingStatus"]["startTime"] = json!(at(routing_ms));
    event
}

/// `v2.users.{id}.presence` changed to `presence` at `ms`.
pub fn presence(user: &str, presence: &str, ms: i64) -> Value {
    let mut event = envelope(fixture("presence-break.json"), "presence", user, ms);
    let body = &mut event["detail"]["eventBody"];
    body["presenceDefinition"]["systemPresence"] = json!(presence);
    body["presenceDefinition"]["id"] = json!(definition_id(presence));
    body["modifiedDate"] = json!(at(ms));
    event
}

/// `v2.users.{id}.routingStatus` changed to `status` at `ms`.
pub fn routing(user: &str, status: &str, ms: i64) -> Value {
    let mut event = envelope(
        fixture("routing-status-interacting.json"),
        "routingStatus",
        user,
        ms,
    );
    let body = &mut event["detail"]["eventBody"];
    body["id"] = json!(user);
    body["routingStatus"]["status"] = json!(status);
    body["routingStatus"]["startTime"] = json!(at(ms));
    event
}

/// The system presence definition ids seen in public Genesys material (see
/// `shared/reference`); a made-up one for anything else.
pub fn definition_id(presence: &str) -> &'static str {
    match presence.to_ascii_uppercase().replace(' ', "_").as_str() {
        "AVAILABLE" => "6a3af858-942f-489d-9700-5f9bcdcdae9b",
        "AWAY" => "5e5c5c66-ea97-4e7f-ac41-6424784829f2",
        "BUSY" => "31fe3bac-dea6-44b7-bed7-47f91660a1a0",
        "OFFLINE" => "ccf3c10a-aa2c-4845-8e8d-f59fa48c58e5",
        "IDLE" => "7ffa01cd-7866-4ad7-8faa-31e11b42f51f",
        "MEETING" => "bbdff279-7ae1-48ea-bade-7831d7234c64",
        "MEAL" => "3fd96123-badb-4f69-bc03-1b1ccc6d8014",
        "TRAINING" => "d2390a99-8546-bad9-8f0a-219548e8aeb0",
        "ON_QUEUE" => "e08eaf1b-ee47-4fa9-a231-1200e284798f",
        "BREAK" => "227b37e2-f1d0-4dd0-8f50-badd7cf6d158",
        _ => "0badc0de-0000-4000-8000-000000000000",
    }
}

/// A new random user id (Genesys or Teams: both are UUIDs).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The event EventBridge Scheduler's `rate(…)` rule delivers to a scheduled function (the
/// reconciler, the watcher), as `aws_lambda_events::eventbridge::EventBridgeEvent` reads it.
pub fn scheduled() -> Value {
    json!({
        "version": "0",
        "id": new_id(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "region": crate::aws::TEST_REGION,
        "resources": [],
        "detail": {}
    })
}
