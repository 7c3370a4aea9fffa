//! The claim rule is stated twice: [`UserState::may_claim`] in the domain, and the condition
//! expressions of the DynamoDB adapter (`Expression::may_claim` for a recording write that
//! claims, `Expression::lease_free_or_clean` for `reclaim`). These properties show that the two
//! agree: a generated record is written to moto's state table as an item, in the attribute
//! format the adapter reads, and a generated claim is made through the real
//! [`DynamoStateStore`]; DynamoDB must accept it exactly when `may_claim` says so.
//!
//! The recording write also carries the ordering rule; the observation here is always newer
//! than the record, so only the claim part can refuse it.

use presence_core::adapters::dynamodb::DynamoStateStore;
use presence_core::domain::event::{PresenceValue, Stamped};
use presence_core::domain::ids::GenesysUserId;
use presence_core::domain::left::LeftReason;
use presence_core::domain::presence::{Observed, RoutingStatus, SystemPresence};
use presence_core::domain::state::{Intent, Lease, Observation, UserState};
use presence_core::domain::teams::{TeamsPresence, TeamsState};
use presence_core::domain::version::Version;
use presence_core::ports::{Recorded, StateStore};
use presence_sync_tests::aws::{create_state_table, dynamodb_client, unique_name};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::cell::Cell;
use std::collections::HashMap;

type Item = HashMap<String, aws_sdk_dynamodb::types::AttributeValue>;

/// An instant to claim at (ms since the epoch); leases are generated relative to it.
const NOW: i64 = 1_800_000_000_000;

/// How a state is spelled in the table, written out here rather than taken from the code
/// under test (`TeamsState::encode`): the item must be what the adapter really reads.
fn spelled(state: TeamsState) -> &'static str {
    match state {
        TeamsState::Preferred(TeamsPresence::Available) => "Available/Available",
        TeamsState::Preferred(TeamsPresence::Busy) => "Busy/Busy",
        TeamsState::Preferred(TeamsPresence::DoNotDisturb) => "DoNotDisturb/DoNotDisturb",
        TeamsState::Preferred(TeamsPresence::BeRightBack) => "BeRightBack/BeRightBack",
        TeamsState::Preferred(TeamsPresence::Away) => "Away/Away",
        TeamsState::Preferred(TeamsPresence::OffWork) => "Offline/OffWork",
        TeamsState::Cleared => "clear",
    }
}

fn spelled_intent(intent: Intent) -> &'static str {
    match intent {
        Intent::Teams(state) => spelled(state),
        Intent::Pending => "pending",
    }
}

/// A user's record as the state table can hold it.
#[derive(Clone, Debug)]
struct Record {
    presence: Option<(SystemPresence, i64)>,
    routing: Option<(RoutingStatus, i64)>,
    applied: Option<TeamsState>,
    intent: Option<Intent>,
    /// `lease_until - NOW`.
    lease: Option<i64>,
    rev: u64,
}

impl Record {
    /// The record as the domain sees it.
    fn state(&self) -> UserState {
        UserState {
            presence: self.presence.map(|(system, version)| Stamped {
                value: PresenceValue {
                    system: Observed::Known(system),
                    definition_id: None,
                },
                version: Version::from_millis(version),
            }),
            routing: self.routing.map(|(status, version)| Stamped {
                value: Observed::Known(status),
                version: Version::from_millis(version),
            }),
            last_event: Some("recorded-event".to_owned()),
            applied: self.applied,
            intent: self.intent,
            lease: self.lease.map(|offset| Lease {
                owner: "other-instance/holder".to_owned(),
                until_ms: NOW + offset,
            }),
            rev: self.rev,
            applied_at_ms: None,
            applied_to: None,
            left: None,
            exception: None,
            watch: None,
        }
    }

    /// The record as a state table item.
    fn item(&self, user: &GenesysUserId) -> Item {
        use aws_sdk_dynamodb::types::AttributeValue::{N, S};
        let mut item = Item::new();
        item.insert("pk".into(), S(format!("user#{user}")));
        if let Some((system, version)) = self.presence {
            item.insert("presence".into(), S(system.as_str().to_owned()));
            item.insert("presence_version".into(), N(version.to_string()));
        }
        if let Some((status, version)) = self.routing {
            item.insert("routing".into(), S(status.as_str().to_owned()));
            item.insert("routing_version".into(), N(version.to_string()));
        }
        item.insert("last_event".into(), S("recorded-event".to_owned()));
        if let Some(applied) = self.applied {
            item.insert("applied".into(), S(spelled(applied).to_owned()));
        }
        if let Some(intent) = self.intent {
            item.insert("intent".into(), S(spelled_intent(intent).to_owned()));
        }
        if let Some(offset) = self.lease {
            item.insert("lease_owner".into(), S("other-instance/holder".to_owned()));
            item.insert("lease_until".into(), N((NOW + offset).to_string()));
        }
        item.insert("rev".into(), N(self.rev.to_string()));
        item.insert("updated_at".into(), N((NOW - 60_000).to_string()));
        item
    }

    /// An observation newer than the record in everything it carries, so that the ordering
    /// part of the recording write always holds.
    fn newer_observation(&self, routing_too: bool) -> Observation {
        let newest = |version: Option<i64>| Version::from_millis(version.unwrap_or(0) + 1);
        Observation {
            presence: Some(Stamped {
                value: PresenceValue {
                    system: Observed::Known(SystemPresence::Break),
                    definition_id: None,
                },
                version: newest(self.presence.map(|(_, v)| v)),
            }),
            routing: routing_too.then(|| Stamped {
                value: Observed::Known(RoutingStatus::Interacting),
                version: newest(self.routing.map(|(_, v)| v)),
            }),
        }
    }
}

fn teams_state() -> impl Strategy<Value = TeamsState> {
    prop_oneof![
        6 => proptest::sample::select(TeamsPresence::ALL).prop_map(TeamsState::Preferred),
        1 => Just(TeamsState::Cleared),
    ]
}

fn intent() -> impl Strategy<Value = Intent> {
    prop_oneof![
        4 => teams_state().prop_map(Intent::Teams),
        1 => Just(Intent::Pending),
    ]
}

/// Lease ends around `NOW`, its edges included.
fn lease_offset() -> impl Strategy<Value = i64> {
    prop_oneof![Just(-1i64), Just(0i64), Just(1i64), -10_000i64..10_000]
}

fn record() -> impl Strategy<Value = Record> {
    let version = 1_700_000_000_000i64..1_700_000_100_000;
    (
        proptest::option::of((
            proptest::sample::select(SystemPresence::ALL),
            version.clone(),
        )),
        proptest::option::of((proptest::sample::select(RoutingStatus::ALL), version)),
        proptest::option::of(teams_state()),
        proptest::option::weighted(0.8, intent()),
        proptest::option::weighted(0.7, lease_offset()),
        0u64..1_000,
    )
        .prop_map(|(presence, routing, applied, intent, lease, rev)| {
            // What the adapter's writes can leave: a claim sets the intent and the lease and
            // makes `applied` exist (`if_not_exists(applied, clear)`); a finish removes the
            // lease and keeps the intent. So no intent without `applied`, no lease without an
            // intent.
            let applied = match intent {
                Some(_) => Some(applied.unwrap_or(TeamsState::Cleared)),
                None => applied,
            };
            let lease = lease.filter(|_| intent.is_some());
            Record {
                presence,
                routing,
                applied,
                intent,
                lease,
                rev,
            }
        })
}

/// The claim, chosen so that the interesting equalities (the intent equal to what is applied,
/// or to what the record announces) come up often.
#[derive(Clone, Copy, Debug)]
enum ClaimChoice {
    Applied,
    RecordedIntent,
    Pending,
    Any(TeamsState),
}

fn claim_choice() -> impl Strategy<Value = ClaimChoice> {
    prop_oneof![
        2 => Just(ClaimChoice::Applied),
        1 => Just(ClaimChoice::RecordedIntent),
        2 => Just(ClaimChoice::Pending),
        3 => teams_state().prop_map(ClaimChoice::Any),
    ]
}

impl ClaimChoice {
    fn intent(self, record: &UserState) -> Intent {
        match self {
            ClaimChoice::Applied => Intent::Teams(record.applied()),
            ClaimChoice::RecordedIntent => record.intent.unwrap_or(Intent::Pending),
            ClaimChoice::Pending => Intent::Pending,
            ClaimChoice::Any(state) => Intent::Teams(state),
        }
    }
}

/// One generated case.
#[derive(Clone, Debug)]
struct Case {
    record: Record,
    claim: ClaimChoice,
    routing_too: bool,
}

fn case() -> impl Strategy<Value = Case> {
    (record(), claim_choice(), any::<bool>()).prop_map(|(record, claim, routing_too)| Case {
        record,
        claim,
        routing_too,
    })
}

struct Table {
    runtime: tokio::runtime::Runtime,
    client: aws_sdk_dynamodb::Client,
    name: String,
    store: DynamoStateStore,
}

impl Table {
    fn start() -> Table {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let (client, name) = runtime.block_on(async {
            let moto = presence_sync_tests::moto::shared().await;
            let client = dynamodb_client(moto).await;
            let name = unique_name("claim-rule");
            create_state_table(&client, &name).await;
            (client, name)
        });
        let store = DynamoStateStore::new(client.clone(), name.clone());
        Table {
            runtime,
            client,
            name,
            store,
        }
    }

    /// A fresh user whose record is `record`, written as an item.
    fn put(&self, record: &Record) -> GenesysUserId {
        let user = GenesysUserId::parse(&presence_sync_tests::events::new_id()).unwrap();
        self.runtime
            .block_on(
                self.client
                    .put_item()
                    .table_name(&self.name)
                    .set_item(Some(record.item(&user)))
                    .send(),
            )
            .expect("the record is written");
        user
    }
}

fn lease() -> Lease {
    Lease {
        owner: "claiming-instance/claim".to_owned(),
        until_ms: NOW + 7_000,
    }
}

/// Whether the store accepted, having checked that it read the item as the record it is.
fn accepted(recorded: Recorded, expected: &UserState) -> Result<bool, TestCaseError> {
    let (accepted, seen) = match recorded {
        Recorded::Accepted { before } => (true, before),
        Recorded::Refused { current } => (false, current),
    };
    prop_assert_eq!(
        &seen,
        expected,
        "the adapter read the item as another record"
    );
    Ok(accepted)
}

/// A recording write with a claim (`StateStore::record` with `Some((intent, lease))`), for an
/// observation newer than the record, is accepted exactly when `may_claim` allows the claim.
#[test]
fn a_claiming_record_write_is_accepted_exactly_when_may_claim_says_so() {
    let table = Table::start();
    let mut runner = TestRunner::new(Config {
        cases: 200,
        failure_persistence: None,
        ..Config::default()
    });
    let (yes, no) = (Cell::new(0), Cell::new(0));
    runner
        .run(&case(), |case| {
            let state = case.record.state();
            let intent = case.claim.intent(&state);
            let expected = state.may_claim(intent, NOW);
            let user = table.put(&case.record);
            let observation = case.record.newer_observation(case.routing_too);
            let lease = lease();
            let recorded = table
                .runtime
                .block_on(table.store.record(
                    &user,
                    "newer-event",
                    &observation,
                    Some((intent, &lease)),
                    NOW,
                ))
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let accepted = accepted(recorded, &state)?;
            prop_assert_eq!(
                accepted,
                expected,
                "DynamoDB {} a claim announcing {:?} at {} that may_claim {} (dirty: {}, busy: {}): {:?}",
                if accepted { "accepted" } else { "refused" },
                intent,
                NOW,
                if expected { "allows" } else { "refuses" },
                state.dirty(),
                state.busy(NOW),
                state
            );
            let count = if expected { &yes } else { &no };
            count.set(count.get() + 1);
            Ok(())
        })
        .unwrap();
    // Both answers must have come up often enough for the agreement to mean something.
    let (yes, no) = (yes.get(), no.get());
    assert!(yes >= 40 && no >= 20, "allowed {yes}, refused {no}");
}

/// Taking the lease of an unchanged record (`StateStore::reclaim` with the record's `rev`) is
/// accepted exactly when `may_claim` allows the claim.
#[test]
fn a_reclaim_of_an_unchanged_record_is_accepted_exactly_when_may_claim_says_so() {
    let table = Table::start();
    let mut runner = TestRunner::new(Config {
        cases: 200,
        failure_persistence: None,
        ..Config::default()
    });
    let (yes, no) = (Cell::new(0), Cell::new(0));
    runner
        .run(&case(), |case| {
            let state = case.record.state();
            let intent = case.claim.intent(&state);
            let expected = state.may_claim(intent, NOW);
            let user = table.put(&case.record);
            let lease = lease();
            // A record changed since (another rev) is never taken.
            let changed = table
                .runtime
                .block_on(
                    table
                        .store
                        .reclaim(&user, case.record.rev + 1, intent, &lease, NOW),
                )
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(!accepted(changed, &state)?, "a reclaim ignored the rev");
            let recorded = table
                .runtime
                .block_on(
                    table
                        .store
                        .reclaim(&user, case.record.rev, intent, &lease, NOW),
                )
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let accepted = accepted(recorded, &state)?;
            prop_assert_eq!(
                accepted,
                expected,
                "DynamoDB {} a reclaim announcing {:?} at {} that may_claim {} (dirty: {}, busy: {}): {:?}",
                if accepted { "accepted" } else { "refused" },
                intent,
                NOW,
                if expected { "allows" } else { "refuses" },
                state.dirty(),
                state.busy(NOW),
                state
            );
            let count = if expected { &yes } else { &no };
            count.set(count.get() + 1);
            Ok(())
        })
        .unwrap();
    let (yes, no) = (yes.get(), no.get());
    eprintln!("allowed {yes}, refused {no}");
    assert!(yes >= 40 && no >= 20, "allowed {yes}, refused {no}");
}

/// The half of the claim rule that `reclaim` once did not enforce: "never announcing what is
/// applied" on an uncertain record. `may_claim` refuses such a claim (it would make the record
/// look settled to everyone else while Teams may show a dead holder's state); `reclaim`'s
/// condition used to be only `rev` unchanged and lease free or record clean, and accepted it.
/// Nothing sent such a reclaim (`reconcile` announces `pending` then), so it was latent; the
/// store's contract now says the same as `may_claim`.
#[test]
fn a_reclaim_never_announces_what_is_applied_on_an_uncertain_record() {
    let table = Table::start();
    // A holder announced Available over Cleared and died; its lease has run out.
    let record = Record {
        presence: Some((SystemPresence::Available, 1_700_000_000_000)),
        routing: None,
        applied: Some(TeamsState::Cleared),
        intent: Some(Intent::Teams(TeamsState::Preferred(
            TeamsPresence::Available,
        ))),
        lease: Some(-1),
        rev: 7,
    };
    let state = record.state();
    let intent = Intent::Teams(TeamsState::Cleared);
    assert!(state.dirty() && !state.busy(NOW) && intent == Intent::Teams(state.applied()));
    assert!(!state.may_claim(intent, NOW));
    let user = table.put(&record);
    let recorded = table
        .runtime
        .block_on(
            table
                .store
                .reclaim(&user, record.rev, intent, &lease(), NOW),
        )
        .unwrap();
    assert!(
        matches!(recorded, Recorded::Refused { .. }),
        "BUG: reclaim took an uncertain record (intent Available/Available over applied clear, lease expired) \
         announcing `clear`, what the record says is applied; UserState::may_claim refuses that claim. \
         The record now looks settled while Teams may show Available."
    );
}

/// Letting a user go and taking them back (`StateStore::let_go`, `StateStore::rejoin`) are
/// accepted by DynamoDB exactly when `UserState::after_let_go` / `after_rejoin` accept them, on
/// the revision read, and leave the item the pure functions say (read back through the
/// adapter).
#[test]
fn letting_go_and_rejoining_agree_with_the_pure_rules() {
    let table = Table::start();
    let mut runner = TestRunner::new(Config {
        cases: 120,
        failure_persistence: None,
        ..Config::default()
    });
    let (yes, no) = (Cell::new(0), Cell::new(0));
    runner
        .run(&(record(), any::<bool>()), |(record, stale_read)| {
            let state = record.state();
            let user = table.put(&record);
            // A stale read (another revision) must always be refused.
            let mut read = state.clone();
            if stale_read {
                read.rev += 1;
            }
            let expected = state.after_let_go(read.rev, LeftReason::Departed, NOW);
            let answer = table
                .runtime
                .block_on(table.store.let_go(&user, &read, LeftReason::Departed, NOW))
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(accepted(answer, &state)?, expected.is_some());
            let count = if expected.is_some() { &yes } else { &no };
            count.set(count.get() + 1);
            let Some(gone) = expected else {
                return Ok(());
            };
            let stored = table.runtime.block_on(table.store.read(&user)).unwrap();
            prop_assert_eq!(&stored, &gone, "the item let go");
            let current = record.newer_observation(true);
            let back = gone.after_rejoin(gone.rev, &current, "reconcile", NOW);
            let answer = table
                .runtime
                .block_on(table.store.rejoin(&user, &gone, &current, "reconcile", NOW))
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(accepted(answer, &gone)?, back.is_some());
            let stored = table.runtime.block_on(table.store.read(&user)).unwrap();
            prop_assert_eq!(&stored, back.as_ref().unwrap(), "the item taken back");
            Ok(())
        })
        .unwrap();
    let (yes, no) = (yes.get(), no.get());
    assert!(yes >= 30 && no >= 30, "accepted {yes}, refused {no}");
}
