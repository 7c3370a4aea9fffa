//! The lease protocol and the waiting rules on the in-memory adapters: the real service, two
//! instances sharing one store and one Teams, in milliseconds. The same behaviours are proven
//! against moto and the HTTP fakes in `tests/tests/suite/sync_concurrency.rs`.

use super::*;
use crate::adapters::memory::{Failure, MemoryDirectory, MemoryStore, MemoryTeams};
use crate::domain::decide::{AfterClaim, Release};
use crate::domain::event::Topic;
use crate::domain::ids::GenesysUserId;
use crate::domain::ids::TeamsUserId;
use crate::domain::outcome::SkipReason;
use crate::domain::outcome::Why;
use crate::domain::presence::SystemPresence;
use crate::domain::state::UserState;
use crate::domain::state::{Intent, Observation};
use crate::domain::step::Step;
use crate::domain::teams::{TeamsPresence, TeamsState};
use crate::domain::version::Version;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

type MemorySync =
    PresenceSync<Arc<MemoryStore>, Arc<MemoryStore>, Arc<MemoryDirectory>, Arc<MemoryTeams>>;

const USER: &str = "3f9e6a2b-5d4c-4b1a-8e7f-112233445566";
const TEAMS: &str = "a1b2c3d4-0000-4000-8000-000000000001";
const BUSY: TeamsState = TeamsState::Preferred(TeamsPresence::Busy);
const AWAY: TeamsState = TeamsState::Preferred(TeamsPresence::Away);
const AVAILABLE: TeamsState = TeamsState::Preferred(TeamsPresence::Available);

/// One store, one directory and one Teams, shared by the instances a test starts.
struct Floor {
    store: Arc<MemoryStore>,
    directory: Arc<MemoryDirectory>,
    teams: Arc<MemoryTeams>,
}

impl Floor {
    fn new() -> Floor {
        let directory = MemoryDirectory::new();
        directory.add_user(&user(), Some(TEAMS));
        Floor {
            store: Arc::new(MemoryStore::new()),
            directory: Arc::new(directory),
            teams: Arc::new(MemoryTeams::new()),
        }
    }

    /// A new instance (its own memory cache of Teams ids).
    fn instance(&self) -> MemorySync {
        PresenceSync::new(
            self.store.clone(),
            self.store.clone(),
            self.directory.clone(),
            self.teams.clone(),
            PresenceMapping::default(),
            Settings::default(),
        )
    }

    fn shown(&self) -> TeamsState {
        self.teams.shown(&TeamsUserId::parse(TEAMS).unwrap())
    }

    fn record(&self) -> UserState {
        self.store.record_of(&user())
    }
}

fn user() -> GenesysUserId {
    GenesysUserId::parse(USER).unwrap()
}

/// A presence event of the user at version `ms`, with a fresh event id.
fn event(system: &str, ms: i64) -> GenesysEvent {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    GenesysEvent {
        event_id: format!("event-{}", NEXT.fetch_add(1, Ordering::Relaxed)),
        source: "aws.partner/genesys.com/cloud/org/presence-sync".to_owned(),
        account: None,
        topic: Topic::Presence,
        user: user(),
        presence: Some(crate::domain::event::Stamped {
            value: crate::domain::event::PresenceValue {
                system: SystemPresence::observe(system),
                definition_id: None,
            },
            version: Version::from_millis(ms),
        }),
        routing: None,
        queues: None,
    }
}

fn invocation() -> Invocation {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    Invocation {
        request_id: format!("request-{}", NEXT.fetch_add(1, Ordering::Relaxed)),
        deadline: SystemTime::now() + Duration::from_secs(3),
    }
}

#[tokio::test]
async fn a_newer_event_waits_for_an_older_one_in_flight_and_wins() {
    let floor = Floor::new();
    let (a, b) = (floor.instance(), floor.instance());
    floor.teams.set_latency(Duration::from_millis(60));
    let (older, newer) = (event("AVAILABLE", 1_000), event("ON_QUEUE", 2_000));
    let (first, second) = tokio::join!(async { a.sync(&older, &invocation()).await }, async {
        tokio::time::sleep(Duration::from_millis(15)).await;
        b.sync(&newer, &invocation()).await
    });
    assert_eq!(
        first.unwrap(),
        Outcome::Applied(TeamsPresence::Available, Why::Changed)
    );
    assert_eq!(
        second.unwrap(),
        Outcome::Applied(TeamsPresence::Busy, Why::Changed)
    );
    assert_eq!(floor.shown(), BUSY);
    assert!(!floor.record().dirty());
}

#[tokio::test]
async fn an_older_event_arriving_while_a_newer_one_is_in_flight_is_stale() {
    let floor = Floor::new();
    let (a, b) = (floor.instance(), floor.instance());
    floor.teams.set_latency(Duration::from_millis(60));
    let (newer, older) = (event("ON_QUEUE", 2_000), event("AVAILABLE", 1_000));
    let (first, second) = tokio::join!(async { a.sync(&newer, &invocation()).await }, async {
        tokio::time::sleep(Duration::from_millis(15)).await;
        b.sync(&older, &invocation()).await
    });
    assert_eq!(
        first.unwrap(),
        Outcome::Applied(TeamsPresence::Busy, Why::Changed)
    );
    assert_eq!(second.unwrap(), Outcome::Skipped(SkipReason::Stale));
    assert_eq!(
        floor.teams.writes().len(),
        1,
        "the stale event called nobody"
    );
    assert_eq!(floor.shown(), BUSY);
}

#[tokio::test]
async fn concurrent_instances_converge_to_the_newest_event_in_any_interleaving() {
    for round in 0..12u64 {
        let floor = Floor::new();
        floor
            .teams
            .set_latency(Duration::from_millis(3 + round % 4));
        let instances: Vec<_> = (0..3).map(|_| floor.instance()).collect();
        let states = [
            "AVAILABLE",
            "ON_QUEUE",
            "BREAK",
            "MEETING",
            "AWAY",
            "OFFLINE",
        ];
        // Six events, sent in an order that depends on the round, over three instances.
        let events: Vec<_> = (0..6).map(|i| event(states[i], 1_000 + i as i64)).collect();
        let order: Vec<usize> = (0..6).map(|i| (i * 5 + round as usize) % 6).collect();
        let runs = order.iter().enumerate().map(|(slot, &i)| {
            let instance = &instances[slot % 3];
            let event = &events[i];
            async move {
                tokio::time::sleep(Duration::from_millis(slot as u64 * (round % 3))).await;
                instance.sync(event, &invocation()).await
            }
        });
        for result in futures_util::future::join_all(runs).await {
            result.unwrap();
        }
        // The newest event is OFFLINE: the preferred presence is cleared.
        assert_eq!(floor.shown(), TeamsState::Cleared, "round {round}");
        assert!(!floor.record().dirty(), "round {round}");
    }
}

#[tokio::test]
async fn a_failed_graph_call_leaves_the_record_dirty_and_the_redelivery_re_applies_it() {
    let floor = Floor::new();
    let instance = floor.instance();
    floor.teams.fail_next([Failure::Refused]);
    let busy = event("ON_QUEUE", 1_000);
    let error = instance.sync(&busy, &invocation()).await.unwrap_err();
    assert_eq!(error.kind(), "GraphUnavailable");
    assert!(floor.record().dirty());
    assert!(floor.record().lease.is_none(), "the lease was released");
    // The redelivery is no longer new, but the record is uncertain: it re-applies.
    assert_eq!(
        instance.sync(&busy, &invocation()).await.unwrap(),
        Outcome::Applied(TeamsPresence::Busy, Why::Reconciled)
    );
    assert_eq!(floor.shown(), BUSY);
    assert!(!floor.record().dirty());
}

#[tokio::test]
async fn a_write_that_landed_unanswered_is_settled_by_the_next_event_of_the_same_state() {
    let floor = Floor::new();
    let instance = floor.instance();
    instance
        .sync(&event("BREAK", 1_000), &invocation())
        .await
        .unwrap();
    floor.teams.fail_next([Failure::LandedUnanswered]);
    instance
        .sync(&event("ON_QUEUE", 2_000), &invocation())
        .await
        .unwrap_err();
    assert_eq!(floor.shown(), BUSY, "Graph applied it");
    assert!(floor.record().dirty(), "but nobody knows");
    // Meal maps to Away, what is recorded as applied: without the uncertainty it would be
    // `unchanged` with no call, and Teams would keep showing Busy.
    assert_eq!(
        instance
            .sync(&event("MEAL", 3_000), &invocation())
            .await
            .unwrap(),
        Outcome::Applied(TeamsPresence::Away, Why::Reconciled)
    );
    assert_eq!(floor.shown(), AWAY);
    assert!(!floor.record().dirty());
}

#[tokio::test]
async fn a_copy_of_an_event_in_flight_waits_for_the_first_copy_and_shares_its_failure() {
    let floor = Floor::new();
    let (a, b) = (floor.instance(), floor.instance());
    floor.teams.set_latency(Duration::from_millis(80));
    floor.teams.fail_next([Failure::Refused]);
    let busy = event("ON_QUEUE", 1_000);
    let (first, copy) = tokio::join!(async { a.sync(&busy, &invocation()).await }, async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let started = Instant::now();
        (b.sync(&busy, &invocation()).await, started.elapsed())
    });
    assert!(first.is_err(), "the first copy failed");
    let (copy, waited) = copy;
    // The copy did not answer `duplicate` while the first could still fail: it waited, found
    // the record uncertain, and settled it.
    assert!(waited >= Duration::from_millis(40), "waited {waited:?}");
    assert_eq!(
        copy.unwrap(),
        Outcome::Applied(TeamsPresence::Busy, Why::Reconciled)
    );
    assert_eq!(floor.shown(), BUSY);
}

#[tokio::test]
async fn a_dead_holders_lease_is_waited_out_then_the_newer_event_takes_over() {
    let floor = Floor::new();
    let instance = floor.instance();
    // A holder announced Busy and died; its lease runs for another 300 ms.
    let dead = UserState {
        intent: Some(Intent::Teams(BUSY)),
        applied: Some(AVAILABLE),
        lease: Some(Lease {
            owner: "dead".to_owned(),
            until_ms: now_ms() + 300,
        }),
        ..UserState::default()
    }
    .after_record("e0", &Observation::from(&event("ON_QUEUE", 1_000)), None, 0)
    .unwrap();
    floor.store.put_record(&user(), dead);
    let started = Instant::now();
    assert_eq!(
        instance
            .sync(&event("BREAK", 2_000), &invocation())
            .await
            .unwrap(),
        Outcome::Applied(TeamsPresence::Away, Why::Changed)
    );
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert_eq!(floor.shown(), AWAY);
}

#[tokio::test]
async fn settling_from_the_record_alone_re_applies_only_a_dirty_record_nobody_holds() {
    let floor = Floor::new();
    let instance = floor.instance();
    assert_eq!(
        instance.settle(&user(), &invocation()).await.unwrap(),
        Settlement::Clean
    );
    floor.teams.fail_next([Failure::Refused]);
    instance
        .sync(&event("ON_QUEUE", 1_000), &invocation())
        .await
        .unwrap_err();
    assert_eq!(
        instance.settle(&user(), &invocation()).await.unwrap(),
        Settlement::Settled(Outcome::Applied(TeamsPresence::Busy, Why::Reconciled))
    );
    assert_eq!(floor.shown(), BUSY);
    assert_eq!(
        instance.settle(&user(), &invocation()).await.unwrap(),
        Settlement::Clean
    );
    // A record someone holds is theirs to settle.
    let mut held = floor.record();
    held.intent = Some(Intent::Pending);
    held.lease = Some(Lease {
        owner: "other".to_owned(),
        until_ms: now_ms() + 60_000,
    });
    floor.store.put_record(&user(), held);
    assert!(matches!(
        instance.settle(&user(), &invocation()).await.unwrap(),
        Settlement::HeldByAnother { .. }
    ));
}

#[tokio::test]
async fn explaining_an_event_writes_nothing_and_calls_nobody() {
    let floor = Floor::new();
    let instance = floor.instance();
    let busy = event("ON_QUEUE", 1_000);
    instance.sync(&busy, &invocation()).await.unwrap();
    let (record, calls, writes) = (floor.record(), floor.store.calls(), floor.teams.writes());
    // (event, the last step it would take)
    let cases = [
        (
            busy.clone(),
            Step::Answer(Outcome::Skipped(SkipReason::Duplicate)),
        ),
        (
            event("MEETING", 2_000),
            Step::CarryOut(AfterClaim::NoCall {
                reason: SkipReason::Unchanged,
                release: Release::Not,
            }),
        ),
        (
            event("AVAILABLE", 500),
            Step::Answer(Outcome::Skipped(SkipReason::Stale)),
        ),
        (
            event("BREAK", 3_000),
            Step::CarryOut(AfterClaim::Call {
                state: AWAY,
                mark_pending: false,
                why: Why::Changed,
            }),
        ),
    ];
    for (e, last) in cases {
        let explanation = instance.explain(&e, &record, now_ms());
        assert_eq!(explanation.steps.last(), Some(&last), "{e:?}");
    }
    assert_eq!(floor.record(), record);
    assert_eq!(floor.store.calls(), calls);
    assert_eq!(floor.teams.writes(), writes);
}

mod scope;
