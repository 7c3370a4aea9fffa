//! What the watcher does for one agent, from what Teams shows now, what Genesys shows now,
//! what we hold in Teams and the provenance mark: one pure decision whose cases are the rules
//! of `docs/design.md` ("The reverse direction"), in the order they apply.

use super::activity::TeamsActivity;
use super::mark::{Phase, WatchMark};
use super::mode::OnQueuePolicy;
use super::resolve::{Resolved, TakeTo};
use crate::domain::event::PresenceValue;
use crate::domain::presence::{Observed, RoutingStatus, SystemPresence};
use crate::domain::state::Observation;
use crate::domain::version::Version;

/// Whether what Teams shows is the agent's own, or a preferred presence we set (which hides
/// every session of theirs: "If the preferred presence of a user is set, the user's presence
/// shows as the preferred status").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TeamsHeld {
    /// We hold nothing: Teams shows the agent's own activity.
    Nothing,
    /// We hold a preferred presence, or a write of ours may be in flight.
    Ours,
}

/// Whether a Teams activity has lasted the debounce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Steady {
    Yes,
    NotYet,
}

/// One agent as the watcher sees them on one poll.
#[derive(Clone, Copy, Debug)]
pub struct Situation<'a> {
    /// The activity Teams shows now.
    pub teams: &'a Observed<TeamsActivity>,
    pub held: TeamsHeld,
    /// What Genesys shows now (read this poll).
    pub genesys: &'a Observation,
    pub mark: Option<&'a WatchMark>,
    pub steady: Steady,
    pub now_ms: i64,
}

/// The watcher's rules, from configuration.
#[derive(Clone, Copy, Debug)]
pub struct Policy<'a> {
    pub on_queue: OnQueuePolicy,
    pub rules: &'a Resolved,
    /// How long a Genesys write may still be in flight after its mark was written.
    pub in_flight_ms: i64,
}

/// Why nothing is done for an agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// Teams shows no mapped activity.
    NoActivity,
    /// Teams shows a preferred presence we set: not the agent's activity.
    Masked,
    /// The agent is interacting in Genesys: the Teams call may be the customer's.
    Interacting,
    /// The agent is Offline in Genesys.
    Offline,
    /// On Queue, and `ON_QUEUE_POLICY=leave`.
    OnQueueLeft,
    /// In a Genesys state nothing routes to (Busy, Away, Meal…): nothing to protect.
    NotReachable,
    /// Genesys gave no presence for the agent.
    NoGenesysPresence,
    /// The activity has not lasted the debounce yet.
    Debouncing,
    /// A Genesys write of ours may still be in flight.
    InFlight,
    /// The agent changed Genesys while we held it; nothing until the activity ends.
    Overridden,
}

impl Skip {
    pub const fn as_str(self) -> &'static str {
        match self {
            Skip::NoActivity => "no-activity",
            Skip::Masked => "masked",
            Skip::Interacting => "interacting",
            Skip::Offline => "offline",
            Skip::OnQueueLeft => "on-queue-left",
            Skip::NotReachable => "not-reachable",
            Skip::NoGenesysPresence => "no-genesys-presence",
            Skip::Debouncing => "debouncing",
            Skip::InFlight => "in-flight",
            Skip::Overridden => "overridden",
        }
    }
}

/// What the watcher does for one agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Set `to` in Genesys for `activity`, and remember `restore_to`.
    TakeOff {
        activity: TeamsActivity,
        to: TakeTo,
        restore_to: PresenceValue,
    },
    /// Genesys shows our take-off, whose confirmation was lost: record its version.
    Confirm(Version),
    /// The activity goes on and Genesys still shows ours: nothing to do.
    Hold,
    /// The activity ended and Genesys still shows ours: put back what it was.
    Restore(PresenceValue),
    /// Genesys no longer shows ours: the agent or a supervisor changed it, and wins.
    Overridden,
    /// The activity of an overridden take-off ended: drop the mark.
    Forget,
    Skip(Skip),
}

/// The decision for one agent on one poll.
pub fn decide(s: &Situation<'_>, p: &Policy<'_>) -> Action {
    let mapped = match s.teams {
        Observed::Known(activity) => p.rules.take_to(*activity).map(|to| (*activity, to)),
        Observed::Unknown(_) => None,
    };
    if let Some(action) = s.mark.and_then(|mark| follow(mark, s, p, mapped.is_some())) {
        return action;
    }
    take_off(s, p, mapped)
}

/// The rules of an agent with a mark: `None` when the mark no longer holds anything (a
/// take-off that never landed, a finished restore) and the agent is decided afresh.
fn follow(mark: &WatchMark, s: &Situation<'_>, p: &Policy<'_>, mapped: bool) -> Option<Action> {
    let presence = s.genesys.presence.as_ref();
    let shows_ours = presence.is_some_and(|now| mark.set_this(now));
    let settled = s.now_ms.saturating_sub(mark.phase.at_ms()) >= p.in_flight_ms;
    match mark.phase {
        Phase::Taking { .. } if shows_ours => presence.map(|now| Action::Confirm(now.version)),
        Phase::Taking { .. } if !settled => Some(Action::Skip(Skip::InFlight)),
        Phase::Taking { .. } => None,
        Phase::Held { .. } if !shows_ours => Some(Action::Overridden),
        Phase::Held { .. } if s.held == TeamsHeld::Ours => Some(Action::Skip(Skip::Masked)),
        Phase::Held { .. } if mapped => Some(Action::Hold),
        Phase::Held { .. } if interacting(s.genesys) => Some(Action::Skip(Skip::Interacting)),
        Phase::Held { .. } => Some(Action::Restore(mark.restore_to.clone())),
        Phase::Restoring { .. } if shows_ours && !settled => Some(Action::Skip(Skip::InFlight)),
        // The restore never landed (Genesys still shows ours): send it again.
        Phase::Restoring { .. } if shows_ours => Some(Action::Restore(mark.restore_to.clone())),
        // Restored (or changed since): a new activity is decided afresh; none, the mark goes.
        Phase::Restoring { .. } if mapped => None,
        Phase::Restoring { .. } => Some(Action::Forget),
        // Teams shows a preferred presence of ours: whether the activity ended is unseen.
        Phase::Overridden { .. } if s.held == TeamsHeld::Ours => Some(Action::Skip(Skip::Masked)),
        Phase::Overridden { .. } if mapped => Some(Action::Skip(Skip::Overridden)),
        Phase::Overridden { .. } => Some(Action::Forget),
    }
}

/// The rules of an agent the watcher holds nothing for.
fn take_off(s: &Situation<'_>, p: &Policy<'_>, mapped: Option<(TeamsActivity, &TakeTo)>) -> Action {
    if s.held == TeamsHeld::Ours {
        return Action::Skip(Skip::Masked);
    }
    let Some((activity, to)) = mapped else {
        return Action::Skip(Skip::NoActivity);
    };
    let Some(presence) = &s.genesys.presence else {
        return Action::Skip(Skip::NoGenesysPresence);
    };
    if interacting(s.genesys) {
        return Action::Skip(Skip::Interacting);
    }
    match presence.value.system {
        Observed::Known(SystemPresence::Offline) => return Action::Skip(Skip::Offline),
        Observed::Known(SystemPresence::OnQueue) if p.on_queue == OnQueuePolicy::Leave => {
            return Action::Skip(Skip::OnQueueLeft);
        }
        Observed::Known(SystemPresence::OnQueue | SystemPresence::Available) => {}
        _ => return Action::Skip(Skip::NotReachable),
    }
    if s.steady == Steady::NotYet {
        return Action::Skip(Skip::Debouncing);
    }
    Action::TakeOff {
        activity,
        to: to.clone(),
        restore_to: presence.value.clone(),
    }
}

/// Whether Genesys shows the agent in an interaction (`INTERACTING`, `COMMUNICATING`).
fn interacting(genesys: &Observation) -> bool {
    genesys.routing.as_ref().is_some_and(|r| {
        matches!(
            r.value,
            Observed::Known(RoutingStatus::Interacting | RoutingStatus::Communicating)
        )
    })
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
