//! The decisions of the sync, free of I/O: what to claim when recording an event, what a
//! refused write means, and whether Graph must be called once the user's record is ours.
//!
//! The protocol these decisions drive (see `docs/design.md`): an event is recorded with one
//! conditional write that also takes a per-user lease when the event may change Teams; only
//! the lease holder calls Graph; the holder then records what Graph accepted and releases.

use super::mapping::{KeepReason, PresenceMapping, Rule, Target};
use super::outcome::{SkipReason, Why};
use super::presence::Observed;
use super::state::{Freshness, Intent, Observation, UserState, accepts, compare, newer_part};
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
    /// Part of the event is newer: record that part.
    Retry(Observation),
    /// Nothing in the event is newer.
    Done(SkipReason),
}

pub fn classify_refusal(event_id: &str, observation: &Observation, current: &UserState) -> Refusal {
    if accepts(current, observation) {
        // The versions were fine, so the lease condition failed.
        return Refusal::Busy;
    }
    let newer = newer_part(current, observation);
    if !newer.is_empty() {
        return Refusal::Retry(newer);
    }
    let (p, r) = compare(current, observation);
    let all_same = [p, r].into_iter().flatten().all(|f| f == Freshness::Same);
    if !all_same {
        return Refusal::Done(SkipReason::Stale);
    }
    if current.last_event.as_deref() == Some(event_id) {
        return Refusal::Done(SkipReason::Duplicate);
    }
    let same_values = observation.presence.as_ref().is_none_or(|o| {
        current
            .presence
            .as_ref()
            .is_some_and(|c| c.value == o.value)
    }) && observation
        .routing
        .as_ref()
        .is_none_or(|o| current.routing.as_ref().is_some_and(|c| c.value == o.value));
    Refusal::Done(if same_values {
        SkipReason::Unchanged
    } else {
        SkipReason::Stale
    })
}

/// What to do once an observation is recorded (or a reconciliation claimed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterClaim {
    /// Teams needs no call. `release` when we hold a lease that still looks dirty to others.
    NoCall { reason: SkipReason, release: bool },
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
    let release = claimed && after.dirty();
    let no_call = |reason| AfterClaim::NoCall { reason, release };
    let state = match after.target(mapping).0 {
        Target::Keep(KeepReason::Ignored) => return no_call(SkipReason::Ignored),
        Target::Keep(KeepReason::Unmapped) => return no_call(SkipReason::Unmapped),
        Target::Keep(KeepReason::NoPresenceYet) => return no_call(own_reason(observation)),
        Target::Teams(state) => state,
    };
    let uncertain = before.dirty();
    if !claimed || (!uncertain && state == before.applied()) {
        return no_call(own_reason(observation));
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

/// The reason an event that needs no Teams change is skipped: `unmapped` for a routing status
/// outside the five, otherwise `unchanged`.
fn own_reason(observation: &Observation) -> SkipReason {
    match (&observation.presence, &observation.routing) {
        (None, Some(r)) if matches!(r.value, Observed::Unknown(_)) => SkipReason::Unmapped,
        _ => SkipReason::Unchanged,
    }
}
