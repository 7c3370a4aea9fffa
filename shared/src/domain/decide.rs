//! The decisions of the sync, free of I/O: what to claim when recording an event, what a
//! refused write means, and whether Graph must be called once the user's record is ours.
//!
//! The protocol these decisions drive (see `docs/design.md`): an event is recorded with one
//! conditional write that also takes a per-user lease when the event may change Teams; only
//! the lease holder calls Graph; the holder then records what Graph accepted and releases.

use super::mapping::{KeepReason, PresenceMapping, Rule, Target};
use super::outcome::{SkipReason, Why};
use super::presence::Observed;
use super::state::{
    Freshness, Intent, Observation, UserState, accepts, compare, newer_part, shares_recorded,
};
use super::teams::TeamsState;

/// What to ask for when recording an observation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimPlan {
    /// The observation cannot change Teams: record it without taking the lease.
    RecordOnly,
    /// Record it and take the lease, announcing this intent.
    Take(Intent),
}

/// What to claim for an observation, predicted from the event alone when the record is not
/// known. The prediction only saves a write: [`after_claim`] re-checks against the record.
pub fn predict(
    mapping: &PresenceMapping,
    observation: &Observation,
    current: Option<&UserState>,
) -> ClaimPlan {
    let target = match current {
        Some(state) => Some(state.merged(observation, "").target(mapping).0),
        None => predict_from_event(mapping, observation),
    };
    if let (Some(state), Some(Target::Teams(teams))) = (current, target)
        && state.dirty()
        && teams == state.applied()
    {
        // Announcing what is applied would make the uncertain record look settled.
        return ClaimPlan::Take(Intent::Pending);
    }
    match target {
        Some(Target::Teams(state)) => ClaimPlan::Take(Intent::Teams(state)),
        Some(Target::Keep(_)) => ClaimPlan::RecordOnly,
        None => ClaimPlan::Take(Intent::Pending),
    }
}

/// The target when the event alone decides it; `None` when it depends on the record.
fn predict_from_event(mapping: &PresenceMapping, observation: &Observation) -> Option<Target> {
    let presence = observation.presence.as_ref().map(|p| &p.value);
    let routing = observation.routing.as_ref().map(|r| &r.value);
    match (presence, routing) {
        (Some(_), Some(_)) => Some(mapping.resolve(presence, routing).0),
        (Some(_), None) if !mapping.has_routing_rules() => Some(mapping.resolve(presence, None).0),
        (None, Some(status)) => match mapping.routing_rule(status) {
            // Without routing rules, routing status never changes Teams.
            None if !mapping.has_routing_rules() => Some(Target::Keep(KeepReason::NoPresenceYet)),
            Some(Rule::Ignore) => Some(Target::Keep(KeepReason::Ignored)),
            Some(_) => Some(mapping.resolve(None, routing).0),
            None => None,
        },
        _ => None,
    }
}

/// What a refused recording means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The event is newer, but another instance holds the user's lease: wait and try again.
    Busy,
    /// Record this (the newer part of the event, or all of it with a claim planned from the
    /// record as it now is).
    Retry(Observation),
    /// Nothing in the event is newer.
    Done(SkipReason),
}

pub fn classify_refusal(
    event_id: &str,
    observation: &Observation,
    current: &UserState,
    now_ms: i64,
) -> Refusal {
    if accepts(current, observation) {
        // The versions were fine, so the claim condition failed: someone holds the user, or
        // the record is uncertain and needs a different claim (planned from `current`).
        return if current.busy(now_ms) {
            Refusal::Busy
        } else {
            Refusal::Retry(observation.clone())
        };
    }
    let newer = newer_part(current, observation);
    if !newer.is_empty() {
        return Refusal::Retry(newer);
    }
    if current.busy(now_ms) && shares_recorded(current, observation) {
        // The holder is applying a state this event carries, and may yet fail: answering now
        // would report success for a state Teams may never show, while the copy that failed
        // goes to the dead-letter queue. Wait for the holder like a newer event does.
        return Refusal::Busy;
    }
    let (p, r) = compare(current, observation);
    let all_same = [p, r].into_iter().flatten().all(|f| f == Freshness::Same);
    if !all_same {
        return Refusal::Done(SkipReason::Stale);
    }
    let duplicate = current.last_event.as_deref() == Some(event_id);
    let same_values = observation.presence.as_ref().is_none_or(|o| {
        current
            .presence
            .as_ref()
            .is_some_and(|c| c.value == o.value)
    }) && observation
        .routing
        .as_ref()
        .is_none_or(|o| current.routing.as_ref().is_some_and(|c| c.value == o.value));
    Refusal::Done(if duplicate {
        SkipReason::Duplicate
    } else if same_values {
        SkipReason::Unchanged
    } else {
        SkipReason::Stale
    })
}

/// How a holder that makes no Graph call leaves the lease it took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Release {
    /// Nothing to do: no lease was taken, or it blocks nobody (its intent equals what is
    /// applied).
    Not,
    /// Release it, and the record is settled: Teams shows what is applied.
    Settled,
    /// Release it, but the record stays uncertain: an earlier holder may have changed Teams,
    /// and nothing was sent to make sure.
    Unsettled,
}

/// What to do once an observation is recorded (or a reconciliation claimed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterClaim {
    /// Teams needs no call; the lease, if any, is left as `release` says.
    NoCall {
        reason: SkipReason,
        release: Release,
    },
    /// Make Teams show `state`. `mark_pending` when the record does not yet warn others that a
    /// call is in flight (its intent equals what is applied), which must be fixed first.
    Call {
        state: TeamsState,
        mark_pending: bool,
        why: Why,
    },
}

/// Decides whether Graph must be called: `before` is the record as it was, `after` as it is
/// now that our write landed; `claimed` says whether that write took the lease, and
/// `reconciling` whether it was taken for an earlier, unconfirmed attempt rather than for
/// this event's own observation.
pub fn after_claim(
    mapping: &PresenceMapping,
    observation: &Observation,
    before: &UserState,
    after: &UserState,
    claimed: bool,
    reconciling: bool,
) -> AfterClaim {
    let release = match (claimed && after.dirty(), before.dirty()) {
        (false, _) => Release::Not,
        (true, false) => Release::Settled,
        (true, true) => Release::Unsettled,
    };
    // A user the sync let go gets no call, whatever the event says: their own reason.
    let no_call = |reason| AfterClaim::NoCall {
        reason: after
            .left
            .map_or(reason, |left| SkipReason::Left(left.reason)),
        release,
    };
    let state = match after.target(mapping).0 {
        Target::Keep(KeepReason::Ignored) => return no_call(SkipReason::Ignored),
        Target::Keep(KeepReason::Unmapped) => return no_call(SkipReason::Unmapped),
        Target::Keep(KeepReason::NoPresenceYet) => {
            return no_call(own_reason(observation, after));
        }
        Target::Teams(state) => state,
    };
    let uncertain = before.dirty();
    if !claimed || (!uncertain && state == before.applied()) {
        return no_call(own_reason(observation, after));
    }
    AfterClaim::Call {
        state,
        mark_pending: !after.dirty(),
        // Re-sending what is already applied only makes sense to settle an uncertain state.
        why: if reconciling || state == before.applied() {
            Why::Reconciled
        } else {
            Why::Changed
        },
    }
}

/// The reason an event that needs no Teams change is skipped: `echo` for the watcher's own
/// Genesys write coming back, `unmapped` for a routing status outside the five, otherwise
/// `unchanged`.
fn own_reason(observation: &Observation, after: &UserState) -> SkipReason {
    let ours = |p: &crate::domain::event::Stamped<crate::domain::event::PresenceValue>| {
        after.watch.as_ref().is_some_and(|mark| mark.set_this(p))
    };
    if observation.presence.as_ref().is_some_and(ours) {
        return SkipReason::Echo;
    }
    match (&observation.presence, &observation.routing) {
        (None, Some(r)) if matches!(r.value, Observed::Unknown(_)) => SkipReason::Unmapped,
        _ => SkipReason::Unchanged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::{PresenceValue, Stamped};
    use crate::domain::presence::{RoutingStatus, SystemPresence};
    use crate::domain::state::Lease;
    use crate::domain::teams::TeamsPresence;
    use crate::domain::version::Version;

    const BUSY: TeamsState = TeamsState::Preferred(TeamsPresence::Busy);
    const AWAY: TeamsState = TeamsState::Preferred(TeamsPresence::Away);
    const DND: TeamsState = TeamsState::Preferred(TeamsPresence::DoNotDisturb);

    fn p(system: &str, ms: i64) -> Option<Stamped<PresenceValue>> {
        Some(Stamped {
            value: PresenceValue {
                system: SystemPresence::observe(system),
                definition_id: None,
            },
            version: Version::from_millis(ms),
        })
    }

    fn r(
        status: &str,
        ms: i64,
    ) -> Option<Stamped<Observed<crate::domain::presence::RoutingStatus>>> {
        Some(Stamped {
            value: RoutingStatus::observe(status),
            version: Version::from_millis(ms),
        })
    }

    fn obs(
        presence: Option<Stamped<PresenceValue>>,
        routing: Option<Stamped<Observed<RoutingStatus>>>,
    ) -> Observation {
        Observation { presence, routing }
    }

    fn routing_dnd() -> PresenceMapping {
        PresenceMapping::from_json(
            r#"{"routing:INTERACTING":{"availability":"DoNotDisturb","activity":"DoNotDisturb"},"routing:OFF_QUEUE":"ignore"}"#,
        )
        .unwrap()
    }

    fn lease() -> Lease {
        Lease {
            owner: "me".into(),
            until_ms: 10_000,
        }
    }

    fn applied(state: TeamsState, presence: &str) -> UserState {
        UserState {
            presence: p(presence, 100),
            routing: r("IDLE", 100),
            last_event: Some("e0".into()),
            applied: Some(state),
            intent: Some(Intent::Teams(state)),
            rev: 3,
            ..UserState::default()
        }
    }

    // --- predict ---------------------------------------------------------------------------

    #[test]
    fn an_event_carrying_presence_predicts_its_own_target_by_default() {
        let m = PresenceMapping::default();
        assert_eq!(
            predict(&m, &obs(p("ON_QUEUE", 1), r("IDLE", 1)), None),
            ClaimPlan::Take(Intent::Teams(BUSY))
        );
        assert_eq!(
            predict(&m, &obs(p("Break", 1), None), None),
            ClaimPlan::Take(Intent::Teams(AWAY))
        );
        assert_eq!(
            predict(&m, &obs(p("OFFLINE", 1), None), None),
            ClaimPlan::Take(Intent::Teams(TeamsState::Cleared))
        );
    }

    #[test]
    fn routing_alone_only_records_without_routing_rules() {
        let m = PresenceMapping::default();
        assert_eq!(
            predict(&m, &obs(None, r("INTERACTING", 1)), None),
            ClaimPlan::RecordOnly
        );
    }

    #[test]
    fn presence_that_maps_to_keep_only_records() {
        let m = PresenceMapping::from_json(r#"{"MEAL":"ignore"}"#).unwrap();
        assert_eq!(
            predict(&m, &obs(p("MEAL", 1), None), None),
            ClaimPlan::RecordOnly
        );
        assert_eq!(
            predict(&m, &obs(p("FOCUS", 1), None), None),
            ClaimPlan::RecordOnly
        );
    }

    #[test]
    fn with_routing_rules_a_presence_alone_cannot_be_predicted() {
        let m = routing_dnd();
        assert_eq!(
            predict(&m, &obs(p("ON_QUEUE", 1), None), None),
            ClaimPlan::Take(Intent::Pending)
        );
    }

    #[test]
    fn with_routing_rules_a_mapped_routing_status_predicts_its_rule() {
        let m = routing_dnd();
        assert_eq!(
            predict(&m, &obs(None, r("INTERACTING", 1)), None),
            ClaimPlan::Take(Intent::Teams(DND))
        );
        assert_eq!(
            predict(&m, &obs(None, r("OFF_QUEUE", 1)), None),
            ClaimPlan::RecordOnly
        );
        assert_eq!(
            predict(&m, &obs(None, r("IDLE", 1)), None),
            ClaimPlan::Take(Intent::Pending),
            "leaving a mapped status returns to the presence, which only the record knows"
        );
    }

    #[test]
    fn with_the_record_known_the_prediction_is_exact() {
        let m = routing_dnd();
        let known = applied(DND, "ON_QUEUE");
        assert_eq!(
            predict(&m, &obs(None, r("IDLE", 200)), Some(&known)),
            ClaimPlan::Take(Intent::Teams(BUSY))
        );
    }

    // --- classify_refusal ------------------------------------------------------------------

    #[test]
    fn a_refusal_of_an_acceptable_observation_while_a_holder_works_means_busy() {
        let mut current = applied(BUSY, "ON_QUEUE");
        current = current.claimed(Intent::Teams(AWAY), lease());
        assert_eq!(
            classify_refusal("e1", &obs(p("AWAY", 200), None), &current, 0),
            Refusal::Busy
        );
    }

    #[test]
    fn a_refusal_by_an_uncertain_record_is_retried_with_a_pending_claim() {
        let mut current = applied(AWAY, "AWAY");
        // A holder announced Busy and died; its lease expired at 10_000.
        current = current.claimed(Intent::Teams(BUSY), lease());
        let event = obs(p("BREAK", 200), None);
        assert_eq!(
            classify_refusal("e1", &event, &current, 20_000),
            Refusal::Retry(event.clone())
        );
        assert_eq!(
            predict(&PresenceMapping::default(), &event, Some(&current)),
            ClaimPlan::Take(Intent::Pending)
        );
        assert!(current.may_claim(Intent::Pending, 20_000));
    }

    #[test]
    fn a_refusal_of_a_partly_newer_observation_retries_the_newer_part() {
        let current = applied(BUSY, "ON_QUEUE");
        assert_eq!(
            classify_refusal(
                "e1",
                &obs(p("AWAY", 50), r("INTERACTING", 200)),
                &current,
                0
            ),
            Refusal::Retry(obs(None, r("INTERACTING", 200)))
        );
    }

    #[test]
    fn an_older_observation_is_stale() {
        let current = applied(BUSY, "ON_QUEUE");
        assert_eq!(
            classify_refusal("e1", &obs(p("AWAY", 50), None), &current, 0),
            Refusal::Done(SkipReason::Stale)
        );
    }

    #[test]
    fn the_recorded_event_again_is_a_duplicate() {
        let current = applied(BUSY, "ON_QUEUE");
        assert_eq!(
            classify_refusal("e0", &obs(p("ON_QUEUE", 100), r("IDLE", 100)), &current, 0),
            Refusal::Done(SkipReason::Duplicate)
        );
    }

    #[test]
    fn a_duplicate_of_the_event_a_holder_is_applying_waits_for_it() {
        let mut current = applied(BUSY, "ON_QUEUE").claimed(Intent::Teams(AWAY), lease());
        current.presence = p("AWAY", 200);
        current.last_event = Some("e1".into());
        let event = obs(p("AWAY", 200), None);
        assert_eq!(
            classify_refusal("e1", &event, &current, 5_000),
            Refusal::Busy
        );
        // The same state from another event (the presence and activity topics of one change).
        assert_eq!(
            classify_refusal("e2", &event, &current, 5_000),
            Refusal::Busy
        );
        // Once the holder's lease is gone, the duplicate is done (and the caller reconciles).
        assert_eq!(
            classify_refusal("e1", &event, &current, 20_000),
            Refusal::Done(SkipReason::Duplicate)
        );
    }

    #[test]
    fn an_older_observation_is_stale_even_while_a_holder_works() {
        let mut current = applied(BUSY, "ON_QUEUE").claimed(Intent::Teams(AWAY), lease());
        current.presence = p("AWAY", 200);
        assert_eq!(
            classify_refusal("e1", &obs(p("BREAK", 150), None), &current, 5_000),
            Refusal::Done(SkipReason::Stale)
        );
    }

    #[test]
    fn a_partly_older_observation_carrying_the_state_a_holder_applies_waits_for_it() {
        // The activity event of the presence change being applied, with a routing status
        // older than the record's: stale as a whole, but its presence is what Teams is getting.
        let mut current = applied(BUSY, "ON_QUEUE").claimed(Intent::Teams(AWAY), lease());
        current.presence = p("AWAY", 200);
        current.routing = r("IDLE", 300);
        let event = obs(p("AWAY", 200), r("INTERACTING", 250));
        assert_eq!(
            classify_refusal("e2", &event, &current, 5_000),
            Refusal::Busy
        );
        assert_eq!(
            classify_refusal("e2", &event, &current, 20_000),
            Refusal::Done(SkipReason::Stale)
        );
    }

    #[test]
    fn an_equal_version_from_another_event_is_unchanged_or_stale_by_value() {
        let current = applied(BUSY, "ON_QUEUE");
        assert_eq!(
            classify_refusal("e9", &obs(p("On Queue", 100), None), &current, 0),
            Refusal::Done(SkipReason::Unchanged)
        );
        assert_eq!(
            classify_refusal("e9", &obs(p("AVAILABLE", 100), None), &current, 0),
            Refusal::Done(SkipReason::Stale)
        );
    }

    // --- after_claim -----------------------------------------------------------------------

    fn claim(before: &UserState, o: &Observation, intent: Intent) -> UserState {
        before.merged(o, "e1").claimed(intent, lease())
    }

    #[test]
    fn a_changed_target_calls_graph_without_another_write() {
        let m = PresenceMapping::default();
        let before = applied(BUSY, "ON_QUEUE");
        let o = obs(p("AWAY", 200), None);
        let after = claim(&before, &o, Intent::Teams(AWAY));
        assert_eq!(
            after_claim(&m, &o, &before, &after, true, false),
            AfterClaim::Call {
                state: AWAY,
                mark_pending: false,
                why: Why::Changed
            }
        );
    }

    #[test]
    fn an_unchanged_target_needs_neither_a_call_nor_a_release() {
        let m = PresenceMapping::default();
        let before = applied(BUSY, "ON_QUEUE");
        let o = obs(p("MEETING", 200), None);
        let after = claim(&before, &o, Intent::Teams(BUSY));
        assert_eq!(
            after_claim(&m, &o, &before, &after, true, false),
            AfterClaim::NoCall {
                reason: SkipReason::Unchanged,
                release: Release::Not
            }
        );
    }

    #[test]
    fn a_pending_claim_that_needs_no_call_is_released() {
        let m = routing_dnd();
        let before = applied(BUSY, "ON_QUEUE");
        let o = obs(p("BUSY", 200), None);
        let after = claim(&before, &o, Intent::Pending);
        assert_eq!(
            after_claim(&m, &o, &before, &after, true, false),
            AfterClaim::NoCall {
                reason: SkipReason::Unchanged,
                release: Release::Settled
            }
        );
    }

    #[test]
    fn an_uncertain_record_is_re_applied_even_when_the_target_equals_what_was_applied() {
        let m = PresenceMapping::default();
        let mut before = applied(AWAY, "AWAY");
        // A holder announced Busy and died: Teams may show Busy.
        before.intent = Some(Intent::Teams(BUSY));
        let o = obs(p("Break", 200), None);
        let after = claim(&before, &o, Intent::Teams(AWAY));
        assert!(
            !after.dirty(),
            "our intent equals what is applied, so others see it clean"
        );
        assert_eq!(
            after_claim(&m, &o, &before, &after, true, false),
            AfterClaim::Call {
                state: AWAY,
                mark_pending: true,
                why: Why::Reconciled
            }
        );
    }

    #[test]
    fn a_holder_that_sends_nothing_leaves_an_uncertain_record_uncertain() {
        let m = PresenceMapping::from_json(r#"{"MEAL":"ignore"}"#).unwrap();
        let mut before = applied(AWAY, "AWAY");
        before.intent = Some(Intent::Teams(BUSY));
        let o = obs(p("MEAL", 200), None);
        let after = claim(&before, &o, Intent::Pending);
        assert_eq!(
            after_claim(&m, &o, &before, &after, true, false),
            AfterClaim::NoCall {
                reason: SkipReason::Ignored,
                release: Release::Unsettled
            }
        );
    }

    #[test]
    fn offline_for_a_user_never_set_is_unchanged() {
        let m = PresenceMapping::default();
        let before = UserState::default();
        let o = obs(p("OFFLINE", 1), None);
        let after = claim(&before, &o, Intent::Teams(TeamsState::Cleared));
        assert_eq!(
            after_claim(&m, &o, &before, &after, true, false),
            AfterClaim::NoCall {
                reason: SkipReason::Unchanged,
                release: Release::Not
            }
        );
    }

    #[test]
    fn offline_after_a_set_clears() {
        let m = PresenceMapping::default();
        let before = applied(BUSY, "ON_QUEUE");
        let o = obs(p("OFFLINE", 200), None);
        let after = claim(&before, &o, Intent::Teams(TeamsState::Cleared));
        assert!(matches!(
            after_claim(&m, &o, &before, &after, true, false),
            AfterClaim::Call {
                state: TeamsState::Cleared,
                ..
            }
        ));
    }

    #[test]
    fn keep_targets_skip_with_their_reason() {
        let m = PresenceMapping::from_json(r#"{"MEAL":"ignore"}"#).unwrap();
        let before = applied(BUSY, "ON_QUEUE");
        for (system, reason) in [
            ("MEAL", SkipReason::Ignored),
            ("FOCUS", SkipReason::Unmapped),
        ] {
            let o = obs(p(system, 200), None);
            let after = before.merged(&o, "e1");
            assert_eq!(
                after_claim(&m, &o, &before, &after, false, false),
                AfterClaim::NoCall {
                    reason,
                    release: Release::Not
                },
                "{system}"
            );
        }
    }

    #[test]
    fn an_unknown_routing_status_alone_is_unmapped() {
        let m = PresenceMapping::default();
        let before = applied(BUSY, "ON_QUEUE");
        let o = obs(None, r("PAUSED", 200));
        let after = before.merged(&o, "e1");
        assert_eq!(
            after_claim(&m, &o, &before, &after, false, false),
            AfterClaim::NoCall {
                reason: SkipReason::Unmapped,
                release: Release::Not
            }
        );
    }

    #[test]
    fn a_record_only_write_never_calls_graph() {
        let m = PresenceMapping::default();
        let mut before = applied(AWAY, "ON_QUEUE");
        before.intent = Some(Intent::Pending);
        let o = obs(None, r("INTERACTING", 200));
        let after = before.merged(&o, "e1");
        assert!(matches!(
            after_claim(&m, &o, &before, &after, false, false),
            AfterClaim::NoCall {
                release: Release::Not,
                ..
            }
        ));
    }

    #[test]
    fn a_reconciliation_reports_reconciled() {
        let m = PresenceMapping::default();
        let mut current = applied(AWAY, "ON_QUEUE");
        current.intent = Some(Intent::Teams(BUSY));
        let after = current.clone().claimed(Intent::Teams(BUSY), lease());
        assert_eq!(
            after_claim(&m, &Observation::default(), &current, &after, true, true),
            AfterClaim::Call {
                state: BUSY,
                mark_pending: false,
                why: Why::Reconciled
            }
        );
    }
}
