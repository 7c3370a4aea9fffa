//! The pure path of one event, without I/O: the bytes Lambda hands over → JSON → a validated
//! [`GenesysEvent`] → the claim to ask the state table for → (the table accepts) → whether Graph
//! must be called. One benchmark group per step, one input per Genesys topic.
//!
//! `cargo bench -p presence-core --bench pure_path` (see docs/performance.md). The budget is
//! 10 µs per event for the whole path (`pure_path/*`).

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use presence_core::domain::decide::{AfterClaim, ClaimPlan, after_claim, predict};
use presence_core::domain::event::GenesysEvent;
use presence_core::domain::mapping::PresenceMapping;
use presence_core::domain::state::{Lease, Observation, UserState};
use presence_core::domain::teams::{TeamsPresence, TeamsState};
use std::hint::black_box;

/// One recorded event per topic, as Genesys Cloud puts it on the partner bus.
const EVENTS: [(&str, &[u8]); 3] = [
    (
        "activity",
        include_bytes!("../../tests/fixtures/activity-on-queue.json"),
    ),
    (
        "presence",
        include_bytes!("../../tests/fixtures/presence-break.json"),
    ),
    (
        "routingStatus",
        include_bytes!("../../tests/fixtures/routing-status-interacting.json"),
    ),
];

/// The record as the state table returns it (`ALL_OLD`): an agent seen before, whose
/// Teams presence this function last set to Available.
fn recorded_before() -> UserState {
    UserState {
        applied: Some(TeamsState::Preferred(TeamsPresence::Available)),
        rev: 41,
        ..UserState::default()
    }
}

fn lease() -> Lease {
    Lease {
        owner: "c0ffee00-0000-4000-8000-000000000000/0123456789abcdef0123456789abcdef".to_owned(),
        until_ms: 1_793_606_400_000,
    }
}

/// Map and decide: what to claim, then (the conditional write accepted) whether to call Graph.
fn map_and_decide(
    mapping: &PresenceMapping,
    event: &GenesysEvent,
    before: &UserState,
    lease: &Lease,
) -> AfterClaim {
    let observation = Observation::from(event);
    let claim = match predict(mapping, &observation, None) {
        ClaimPlan::Take(intent) => Some(intent),
        ClaimPlan::RecordOnly => None,
    };
    let mut after = before.merged(&observation, &event.event_id);
    if let Some(intent) = claim {
        after = after.claimed(intent, lease.clone());
    }
    after_claim(
        mapping,
        &observation,
        before,
        &after,
        claim.is_some(),
        false,
    )
}

fn parse(bytes: &[u8]) -> GenesysEvent {
    let value: serde_json::Value = serde_json::from_slice(bytes).expect("fixture is JSON");
    GenesysEvent::parse(value).expect("fixture is a valid event")
}

fn benches(c: &mut Criterion) {
    let mapping = PresenceMapping::default();
    let before = recorded_before();
    let lease = lease();

    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(1));
    for (topic, bytes) in EVENTS {
        group.bench_function(topic, |b| b.iter(|| parse(black_box(bytes))));
    }
    group.finish();

    let mut group = c.benchmark_group("parse_value");
    group.throughput(Throughput::Elements(1));
    for (topic, bytes) in EVENTS {
        let value: serde_json::Value = serde_json::from_slice(bytes).expect("fixture is JSON");
        group.bench_function(topic, |b| {
            b.iter_batched(
                || value.clone(),
                |value| GenesysEvent::parse(black_box(value)),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();

    let mut group = c.benchmark_group("map_decide");
    group.throughput(Throughput::Elements(1));
    for (topic, bytes) in EVENTS {
        let event = parse(bytes);
        group.bench_function(topic, |b| {
            b.iter(|| map_and_decide(&mapping, black_box(&event), &before, &lease))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("pure_path");
    group.throughput(Throughput::Elements(1));
    for (topic, bytes) in EVENTS {
        group.bench_function(topic, |b| {
            b.iter(|| {
                let event = parse(black_box(bytes));
                map_and_decide(&mapping, &event, &before, &lease)
            })
        });
    }
    group.finish();
}

criterion_group!(pure, benches);
criterion_main!(pure);
