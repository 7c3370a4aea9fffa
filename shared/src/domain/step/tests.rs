//! One test per rule of docs/design.md, "One event", each a table of (record, answer) →
//! next step; no I/O.
use super::*;
use crate::domain::decide::Release;
use crate::domain::event::{GenesysEvent, PresenceValue, Stamped};
use crate::domain::ids::GenesysUserId;
use crate::domain::outcome::{SkipReason, Why};
use crate::domain::presence::SystemPresence;
use crate::domain::teams::{TeamsPresence, TeamsState};
use crate::domain::version::Version;

const NOW: i64 = 1_000_000;
const BUSY: TeamsState = TeamsState::Preferred(TeamsPresence::Busy);
const AWAY: TeamsState = TeamsState::Preferred(TeamsPresence::Away);
const AVAILABLE: TeamsState = TeamsState::Preferred(TeamsPresence::Available);

fn presence(system: &str, ms: i64) -> Stamped<PresenceValue> {
    Stamped {
        value: PresenceValue {
            system: SystemPresence::observe(system),
            definition_id: None,
        },
        version: Version::from_millis(ms),
    }
}

fn event(id: &str, system: &str, ms: i64) -> GenesysEvent {
    GenesysEvent {
        event_id: id.to_owned(),
        source: "aws.partner/genesys.com/cloud/org/presence-sync".to_owned(),
        account: None,
        topic: crate::domain::event::Topic::Presence,
        user: GenesysUserId::parse("3f9e6a2b-5d4c-4b1a-8e7f-112233445566").unwrap(),
        presence: Some(presence(system, ms)),
        routing: None,
        queues: None,
    }
}

fn ours() -> Lease {
    Lease {
        owner: "ours".to_owned(),
        until_ms: NOW + 10_000,
    }
}

fn theirs(until_ms: i64) -> Lease {
    Lease {
        owner: "theirs".to_owned(),
        until_ms,
    }
}

/// A record of `system` at version `ms`, with `applied`, `intent` and `lease` as given.
fn record(
    system: &str,
    ms: i64,
    applied: TeamsState,
    intent: Intent,
    lease: Option<Lease>,
) -> UserState {
    UserState {
        presence: Some(presence(system, ms)),
        routing: None,
        last_event: Some("earlier".to_owned()),
        applied: Some(applied),
        intent: Some(intent),
        lease,
        rev: 7,
        applied_at_ms: None,
        applied_to: None,
        left: None,
        exception: None,
        watch: None,
    }
}

fn clean(system: &str, ms: i64, applied: TeamsState) -> UserState {
    record(system, ms, applied, Intent::Teams(applied), None)
}

/// A dirty record whose holder's lease ended (`until_ms` in the past) or is live.
fn dirty(system: &str, ms: i64, applied: TeamsState, until_ms: i64) -> UserState {
    record(system, ms, applied, Intent::Pending, Some(theirs(until_ms)))
}

fn accepted(before: UserState) -> Recorded {
    Recorded::Accepted { before }
}

fn refused(current: UserState) -> Recorded {
    Recorded::Refused { current }
}

fn call(state: TeamsState, mark_pending: bool, why: Why) -> Step {
    Step::CarryOut(AfterClaim::Call {
        state,
        mark_pending,
        why,
    })
}

#[test]
fn an_event_is_recorded_with_the_claim_it_predicts() {
    let m = PresenceMapping::default();
    let lease = ours();
    for (system, claim) in [
        ("ON_QUEUE", Some(Intent::Teams(BUSY))),
        ("BREAK", Some(Intent::Teams(AWAY))),
        ("OFFLINE", Some(Intent::Teams(TeamsState::Cleared))),
        ("SOMETHING_NEW", None),
    ] {
        let e = event("e1", system, 2_000);
        let (_, step) = UserSync::for_event(&m, &e, &lease);
        assert_eq!(
            step,
            Step::Record {
                observation: Observation::from(&e),
                claim
            },
            "{system}"
        );
    }
}

#[test]
fn a_recorded_event_calls_teams_only_when_its_target_differs_from_what_is_applied() {
    let m = PresenceMapping::default();
    let lease = ours();
    // (what the record was, the event, the step after the write landed)
    let cases = [
        (
            UserState::default(),
            "ON_QUEUE",
            call(BUSY, false, Why::Changed),
        ),
        (
            clean("AVAILABLE", 1_000, AVAILABLE),
            "ON_QUEUE",
            call(BUSY, false, Why::Changed),
        ),
        (
            clean("BUSY", 1_000, BUSY),
            "ON_QUEUE",
            // Busy is applied already; the claim announced it, so nothing to release.
            Step::CarryOut(AfterClaim::NoCall {
                reason: SkipReason::Unchanged,
                release: Release::Not,
            }),
        ),
    ];
    for (before, system, expected) in cases {
        let e = event("e1", system, 2_000);
        let (mut sync, _) = UserSync::for_event(&m, &e, &lease);
        assert_eq!(
            sync.recorded(accepted(before.clone()), NOW),
            expected,
            "{before:?}"
        );
    }
}

#[test]
fn a_refused_write_is_a_duplicate_unchanged_or_stale_event() {
    let m = PresenceMapping::default();
    let lease = ours();
    let mut same_id = clean("ON_QUEUE", 2_000, BUSY);
    same_id.last_event = Some("e1".to_owned());
    let cases = [
        (same_id, SkipReason::Duplicate),
        (clean("ON_QUEUE", 2_000, BUSY), SkipReason::Unchanged),
        (clean("AVAILABLE", 3_000, AVAILABLE), SkipReason::Stale),
    ];
    for (current, reason) in cases {
        let e = event("e1", "ON_QUEUE", 2_000);
        let (mut sync, _) = UserSync::for_event(&m, &e, &lease);
        assert_eq!(
            sync.recorded(refused(current), NOW),
            Step::Answer(Outcome::Skipped(reason)),
            "{reason:?}"
        );
    }
}

#[test]
fn a_newer_event_waits_for_a_live_holder_then_claims_from_the_record() {
    let m = PresenceMapping::default();
    let lease = ours();
    let e = event("e2", "BREAK", 2_000);
    let (mut sync, first) = UserSync::for_event(&m, &e, &lease);
    let holder = record(
        "ON_QUEUE",
        1_000,
        AVAILABLE,
        Intent::Teams(BUSY),
        Some(theirs(NOW + 500)),
    );
    assert_eq!(
        sync.recorded(refused(holder), NOW),
        Step::Wait {
            holder_until_ms: NOW + 500
        }
    );
    // After the wait the claim is planned from the record the refusal showed.
    assert_eq!(sync.waited(), first);
    assert_eq!(sync.out_of_time(), OutOfTime::Fail { attempts: 2 });
}

#[test]
fn a_write_refused_by_our_own_lease_releases_it_and_records_again() {
    let m = PresenceMapping::default();
    let lease = ours();
    let e = event("e1", "ON_QUEUE", 2_000);
    let (mut sync, first) = UserSync::for_event(&m, &e, &lease);
    let mut written = clean("ON_QUEUE", 2_000, AVAILABLE);
    written.intent = Some(Intent::Teams(BUSY));
    written.lease = Some(lease.clone());
    assert_eq!(sync.recorded(refused(written), NOW), Step::ReleaseOwn);
    assert_eq!(sync.released(), first);
}

#[test]
fn an_old_event_settles_a_record_a_dead_holder_left_dirty() {
    let m = PresenceMapping::default();
    let lease = ours();
    let e = event("e1", "ON_QUEUE", 2_000);
    let (mut sync, _) = UserSync::for_event(&m, &e, &lease);
    let mut dead = dirty("ON_QUEUE", 2_000, AVAILABLE, NOW - 1);
    dead.last_event = Some("e1".to_owned());
    assert_eq!(
        sync.recorded(refused(dead.clone()), NOW),
        Step::Reclaim {
            rev: 7,
            intent: Intent::Teams(BUSY)
        }
    );
    assert!(sync.is_settling());
    assert_eq!(
        sync.out_of_time(),
        OutOfTime::Answer(Outcome::Skipped(SkipReason::Duplicate))
    );
    assert_eq!(
        sync.reclaimed(accepted(dead), NOW),
        call(BUSY, false, Why::Reconciled)
    );
    // A skip while settling keeps the event's own answer; a call is the answer.
    assert_eq!(
        sync.clone()
            .carried_out(Outcome::Skipped(SkipReason::NoTeamsUser)),
        Outcome::Skipped(SkipReason::Duplicate)
    );
    assert_eq!(
        sync.carried_out(Outcome::Applied(TeamsPresence::Busy, Why::Reconciled)),
        Outcome::Applied(TeamsPresence::Busy, Why::Reconciled)
    );
}

#[test]
fn settling_announces_pending_when_the_target_is_what_is_applied() {
    let m = PresenceMapping::default();
    let lease = ours();
    let (_, step) = UserSync::for_record(
        &m,
        dirty("ON_QUEUE", 2_000, BUSY, NOW - 1),
        &lease,
        Outcome::Skipped(SkipReason::Unchanged),
        NOW,
    );
    assert_eq!(
        step,
        Step::Reclaim {
            rev: 7,
            intent: Intent::Pending
        }
    );
}

#[test]
fn a_refused_settling_claim_answers_waits_or_tries_again() {
    let m = PresenceMapping::default();
    let lease = ours();
    let own = Outcome::Skipped(SkipReason::Duplicate);
    let e = event("e1", "ON_QUEUE", 2_000);
    let start = || {
        let (mut sync, _) = UserSync::for_event(&m, &e, &lease);
        let mut dead = dirty("ON_QUEUE", 2_000, AVAILABLE, NOW - 1);
        dead.last_event = Some("e1".to_owned());
        sync.recorded(refused(dead), NOW);
        sync
    };
    let mut settled = clean("ON_QUEUE", 2_000, BUSY);
    settled.rev = 8;
    // (the record the refusal shows, the next step)
    let cases = [
        // Settled meanwhile by someone else: the event's own answer.
        (settled, Step::Answer(own)),
        // Someone else is settling a state this event carries: its fate is ours, wait.
        (
            dirty("ON_QUEUE", 2_000, AVAILABLE, NOW + 800),
            Step::Wait {
                holder_until_ms: NOW + 800,
            },
        ),
        // Someone else is settling a newer state this event does not carry: answer.
        (
            dirty("AWAY", 3_000, AVAILABLE, NOW + 800),
            Step::Answer(own),
        ),
        // Still dirty, nobody on it, changed since: claim the record as it is now.
        (
            UserState {
                rev: 9,
                ..dirty("BREAK", 2_500, AVAILABLE, NOW - 5)
            },
            Step::Reclaim {
                rev: 9,
                intent: Intent::Teams(AWAY),
            },
        ),
    ];
    for (current, expected) in cases {
        let mut sync = start();
        assert_eq!(
            sync.reclaimed(refused(current.clone()), NOW),
            expected,
            "{current:?}"
        );
    }
}

#[test]
fn a_record_is_settled_only_when_dirty_and_nobody_holds_it() {
    let m = PresenceMapping::default();
    let lease = ours();
    let own = Outcome::Skipped(SkipReason::Unchanged);
    let cases = [
        (clean("ON_QUEUE", 1, BUSY), false),
        (dirty("ON_QUEUE", 1, AVAILABLE, NOW + 1), false),
        (dirty("ON_QUEUE", 1, AVAILABLE, NOW - 1), true),
        (
            record("ON_QUEUE", 1, AVAILABLE, Intent::Teams(BUSY), None),
            true,
        ),
    ];
    for (current, settles) in cases {
        let (_, step) = UserSync::for_record(&m, current.clone(), &lease, own, NOW);
        assert_eq!(
            matches!(step, Step::Reclaim { .. }),
            settles,
            "{current:?}: {step:?}"
        );
    }
}

#[test]
fn a_recording_without_the_lease_settles_a_dirty_record_it_finds() {
    // Routing status without routing rules changes nothing, and is recorded without the
    // lease; the record it lands on was left dirty by a dead holder.
    let m = PresenceMapping::default();
    let lease = ours();
    let mut e = event("e3", "ON_QUEUE", 2_000);
    e.presence = None;
    e.routing = Some(Stamped {
        value: crate::domain::presence::RoutingStatus::observe("INTERACTING"),
        version: Version::from_millis(3_000),
    });
    let (mut sync, step) = UserSync::for_event(&m, &e, &lease);
    assert!(matches!(step, Step::Record { claim: None, .. }));
    let before = dirty("ON_QUEUE", 2_000, AVAILABLE, NOW - 1);
    assert_eq!(
        sync.recorded(accepted(before), NOW),
        Step::Reclaim {
            rev: 8,
            intent: Intent::Teams(BUSY)
        }
    );
}

#[test]
fn a_refresh_claims_a_clean_record_at_its_revision_then_re_sends_its_target() {
    let m = PresenceMapping::default();
    let lease = ours();
    // (the record, what the refresh re-sends)
    for (record, state) in [
        (clean("ON_QUEUE", 1_000, BUSY), BUSY),
        (clean("BREAK", 1_000, AWAY), AWAY),
        // The mapping changed since it was applied: the target is re-sent, not the past.
        (clean("AVAILABLE", 1_000, BUSY), AVAILABLE),
    ] {
        let (mut sync, step) = UserSync::for_refresh(&m, record.clone(), &lease, NOW);
        let claim = Step::Reclaim {
            rev: record.rev,
            intent: Intent::Pending,
        };
        assert_eq!(step, claim, "{record:?}");
        let next = sync.reclaimed(accepted(record.clone()), NOW);
        assert_eq!(next, call(state, false, Why::Refreshed), "{record:?}");
        let outcome = sync.carried_out(Outcome::Applied(TeamsPresence::Busy, Why::Refreshed));
        assert_eq!(
            outcome,
            Outcome::Applied(TeamsPresence::Busy, Why::Refreshed)
        );
    }
}

#[test]
fn a_refresh_leaves_a_record_changed_meanwhile_to_whoever_changed_it() {
    let m = PresenceMapping::default();
    let lease = ours();
    let record = clean("ON_QUEUE", 1_000, BUSY);
    let (mut sync, _) = UserSync::for_refresh(&m, record, &lease, NOW);
    let changed = dirty("BREAK", 2_000, BUSY, NOW + 5_000);
    assert_eq!(
        sync.reclaimed(refused(changed), NOW),
        Step::Answer(Outcome::Skipped(SkipReason::Superseded))
    );
}

#[test]
fn a_refresh_of_a_dirty_record_settles_it_and_of_a_kept_state_does_nothing() {
    let m = PresenceMapping::default();
    let lease = ours();
    // A dead holder's dirty record: settled as a redelivery would, announcing the target.
    let dead = dirty("BREAK", 1_000, BUSY, NOW - 1);
    let (_, step) = UserSync::for_refresh(&m, dead.clone(), &lease, NOW);
    let settle = Step::Reclaim {
        rev: dead.rev,
        intent: Intent::Teams(AWAY),
    };
    assert_eq!(step, settle);
    // A live holder: it settles the record itself.
    let live = dirty("BREAK", 1_000, BUSY, NOW + 1);
    let (_, step) = UserSync::for_refresh(&m, live, &lease, NOW);
    assert_eq!(step, Step::Answer(Outcome::Skipped(SkipReason::Superseded)));
    // A state the mapping does not know: nothing to re-send.
    let unknown = clean("SOMETHING_NEW", 1_000, BUSY);
    let (_, step) = UserSync::for_refresh(&m, unknown, &lease, NOW);
    assert_eq!(step, Step::Answer(Outcome::Skipped(SkipReason::Unchanged)));
}
