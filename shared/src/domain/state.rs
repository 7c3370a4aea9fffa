//! What the state table remembers about one Genesys user, and the pure rules that read it:
//! which observation is newer, whether a Graph call may be in flight, and what Teams should show.

use super::event::{GenesysEvent, PresenceValue, Stamped};
use super::ids::TeamsUserId;
use super::left::Left;
use super::mapping::{MatchedKey, PresenceMapping, Target};
use super::presence::{Observed, RoutingStatus};
use super::scope::ExceptionMark;
use super::teams::TeamsState;
use super::version::Version;
use super::watch::WatchMark;

/// What an event tells us: the newest presence and/or routing status it carries.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Observation {
    pub presence: Option<Stamped<PresenceValue>>,
    pub routing: Option<Stamped<Observed<RoutingStatus>>>,
}

impl From<&GenesysEvent> for Observation {
    fn from(event: &GenesysEvent) -> Self {
        Observation {
            presence: event.presence.clone(),
            routing: event.routing.clone(),
        }
    }
}

impl Observation {
    pub fn is_empty(&self) -> bool {
        self.presence.is_none() && self.routing.is_none()
    }
}

/// The Teams state a lease holder may be sending to Graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intent {
    /// The holder will make Teams show this.
    Teams(TeamsState),
    /// The holder has not said; treat any Graph call as possibly in flight.
    Pending,
}

impl Intent {
    pub fn encode(self) -> String {
        match self {
            Intent::Teams(state) => state.encode(),
            Intent::Pending => "pending".to_owned(),
        }
    }

    pub fn decode(encoded: &str) -> Self {
        TeamsState::decode(encoded).map_or(Intent::Pending, Intent::Teams)
    }
}

/// A short, exclusive right to call Graph for one user, taken with a conditional write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub owner: String,
    /// Milliseconds since the Unix epoch after which the lease no longer holds.
    pub until_ms: i64,
}

/// The state table's record of one user.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct UserState {
    pub presence: Option<Stamped<PresenceValue>>,
    pub routing: Option<Stamped<Observed<RoutingStatus>>>,
    /// The event that last changed the record; a redelivery carries the same id.
    pub last_event: Option<String>,
    /// What Graph last accepted from this function (nothing yet reads as `Cleared`).
    pub applied: Option<TeamsState>,
    pub intent: Option<Intent>,
    pub lease: Option<Lease>,
    /// Bumped by every write, so a writer can insist that nothing changed since it read.
    pub rev: u64,
    /// When Graph last accepted a write for this user (ms since the epoch): a preferred
    /// presence expires, and the reconciler re-sends it before it does.
    pub applied_at_ms: Option<i64>,
    /// The Teams user that write went to: the reconciler reads their presence back.
    pub applied_to: Option<TeamsUserId>,
    /// Set when the sync let the user go ([`super::left`]): Teams is cleared of what we set,
    /// once, and nothing more is written for them.
    pub left: Option<Left>,
    /// An operator's scope exception for the user ([`super::scope`]): it wins over the scope.
    pub exception: Option<ExceptionMark>,
    /// What the watcher set in Genesys for the user, and will restore ([`super::watch`]).
    pub watch: Option<WatchMark>,
}

impl UserState {
    /// What Graph last accepted; a user we never touched shows their own Teams presence.
    pub fn applied(&self) -> TeamsState {
        self.applied.unwrap_or(TeamsState::Cleared)
    }

    /// Whether Teams may differ from `applied`: a holder announced a change and has not
    /// confirmed it (it may still be calling Graph, or it died after calling it).
    pub fn dirty(&self) -> bool {
        match self.intent {
            None => false,
            Some(Intent::Teams(state)) => state != self.applied(),
            Some(Intent::Pending) => true,
        }
    }

    /// Whether someone may be calling Graph for this user right now.
    pub fn busy(&self, now_ms: i64) -> bool {
        self.dirty() && self.lease.as_ref().is_some_and(|l| l.until_ms >= now_ms)
    }

    /// Whether a claim announcing `intent` may take this record's lease (the condition the
    /// store's claiming write enforces). A clean record may always be claimed: a lease on it
    /// blocks nobody. A dirty one only once its lease is gone, and never announcing what is
    /// applied, which would make an uncertain record look settled to everyone else.
    pub fn may_claim(&self, intent: Intent, now_ms: i64) -> bool {
        if !self.dirty() {
            return true;
        }
        let lease_gone = self.lease.as_ref().is_none_or(|l| l.until_ms < now_ms);
        match intent {
            Intent::Pending => lease_gone,
            Intent::Teams(state) => lease_gone && state != self.applied(),
        }
    }

    /// The Teams state this record maps to: for a user the sync let go, `Cleared` (what we
    /// set is cleared, and a user we never touched stays untouched, as with Offline). A
    /// presence the watcher set maps as the presence it replaced: our own Genesys write is
    /// never mirrored into Teams (which would hide the Teams activity that caused it).
    pub fn target(&self, mapping: &PresenceMapping) -> (Target, MatchedKey) {
        if let Some(left) = self.left {
            return (
                Target::Teams(TeamsState::Cleared),
                MatchedKey::Left(left.reason),
            );
        }
        let routing = self.routing.as_ref().map(|r| &r.value);
        if let Some(restore_to) = self.watched() {
            let (target, key) = mapping.resolve(Some(restore_to), routing);
            return (target, MatchedKey::Watched(Box::new(key)));
        }
        mapping.resolve(self.presence.as_ref().map(|p| &p.value), routing)
    }

    /// When the recorded presence is the one the watcher set: the presence it replaced.
    pub fn watched(&self) -> Option<&PresenceValue> {
        let (mark, presence) = (self.watch.as_ref()?, self.presence.as_ref()?);
        mark.set_this(presence).then_some(&mark.restore_to)
    }

    /// This record after a successful conditional write of `observation`.
    pub fn merged(&self, observation: &Observation, event_id: &str) -> UserState {
        let mut next = self.clone();
        if let Some(p) = &observation.presence {
            next.presence = Some(p.clone());
        }
        if let Some(r) = &observation.routing {
            next.routing = Some(r.clone());
        }
        next.last_event = Some(event_id.to_owned());
        next.applied = Some(self.applied());
        next.rev += 1;
        next
    }

    /// This record after taking the lease with this intent.
    pub fn claimed(mut self, intent: Intent, lease: Lease) -> UserState {
        self.intent = Some(intent);
        self.lease = Some(lease);
        self
    }
}

/// What the state store did with a conditional write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// Written; the record as it was just before.
    Accepted { before: UserState },
    /// Not written because its condition failed; the record as it is.
    Refused { current: UserState },
}

/// How a lease holder leaves the record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finish {
    /// Graph accepted this state for this Teams user: it is now what is applied.
    Applied(TeamsState, TeamsUserId),
    /// Teams was not touched: what is applied stays, and the record is clean again.
    Untouched,
    /// A Graph call failed and may or may not have landed: release the lease but leave the
    /// record dirty, so that the next event or redelivery re-applies the newest state.
    Abandoned,
}

/// The state store's conditional writes as pure functions: the record a write leaves, or
/// `None` when its condition refuses it. The DynamoDB adapter states the same rules as
/// condition expressions (`tests/tests/suite/claim_rule.rs` checks that they agree); the
/// in-memory store and the read-only explanation use these.
impl UserState {
    /// Recording an observation (with a claim): nothing carried may be older and something
    /// must be newer ([`accepts`]), and a claim must be allowed ([`UserState::may_claim`]).
    pub fn after_record(
        &self,
        event_id: &str,
        observation: &Observation,
        claim: Option<(Intent, &Lease)>,
        now_ms: i64,
    ) -> Option<UserState> {
        let allowed = accepts(self, observation)
            && claim.is_none_or(|(intent, _)| self.may_claim(intent, now_ms));
        allowed.then(|| {
            let mut next = self.clone();
            if let Some(p) = &observation.presence {
                next.presence = Some(p.clone());
            }
            if let Some(r) = &observation.routing {
                next.routing = Some(r.clone());
            }
            next.last_event = Some(event_id.to_owned());
            if let Some((intent, lease)) = claim {
                next.take(intent, lease);
            }
            next.rev += 1;
            next
        })
    }

    /// Taking the lease of the record as it was at `expected_rev`, under the claim rule.
    pub fn after_reclaim(
        &self,
        expected_rev: u64,
        intent: Intent,
        lease: &Lease,
        now_ms: i64,
    ) -> Option<UserState> {
        (self.rev == expected_rev && self.may_claim(intent, now_ms)).then(|| {
            let mut next = self.clone();
            next.take(intent, lease);
            next.rev += 1;
            next
        })
    }

    /// Replacing what is recorded with `observation`, whatever the versions (the repair of a
    /// record poisoned by a version from the future): only on the record as it was at
    /// `expected_rev`, with nobody in the middle of changing Teams. A dimension the
    /// observation lacks is dropped (it cannot be trusted); the record is left dirty with no
    /// lease, so that settling it re-applies the state.
    pub fn after_replace(
        &self,
        expected_rev: u64,
        observation: &Observation,
        event_id: &str,
        now_ms: i64,
    ) -> Option<UserState> {
        (self.rev == expected_rev && self.may_claim(Intent::Pending, now_ms)).then(|| {
            let mut next = self.clone();
            next.presence = observation.presence.clone();
            next.routing = observation.routing.clone();
            next.last_event = Some(event_id.to_owned());
            next.applied = Some(self.applied());
            next.intent = Some(Intent::Pending);
            next.lease = None;
            next.rev += 1;
            next
        })
    }

    /// Marking the record pending, by the lease's holder.
    pub fn after_mark_pending(&self, owner: &str) -> Option<UserState> {
        self.held_by(owner).then(|| {
            let mut next = self.clone();
            next.intent = Some(Intent::Pending);
            next.rev += 1;
            next
        })
    }

    /// The holder's last write: what Graph accepted (if anything, and when), and the lease
    /// released.
    pub fn after_finish(&self, owner: &str, finish: Finish, now_ms: i64) -> Option<UserState> {
        self.held_by(owner).then(|| {
            let mut next = self.clone();
            match finish {
                Finish::Applied(state, teams) => {
                    next.applied = Some(state);
                    next.intent = Some(Intent::Teams(state));
                    next.applied_at_ms = Some(now_ms);
                    next.applied_to = Some(teams);
                }
                Finish::Untouched => next.intent = next.applied.map(Intent::Teams),
                Finish::Abandoned => {}
            }
            next.lease = None;
            next.rev += 1;
            next
        })
    }

    /// Setting (or removing) the watcher's mark, on the record as it was at `expected_rev`
    /// with nobody in the middle of changing Teams.
    pub fn after_set_watch(
        &self,
        expected_rev: u64,
        mark: Option<&WatchMark>,
        now_ms: i64,
    ) -> Option<UserState> {
        (self.rev == expected_rev && self.may_claim(Intent::Pending, now_ms)).then(|| {
            let mut next = self.clone();
            next.watch = mark.cloned();
            next.rev += 1;
            next
        })
    }

    fn held_by(&self, owner: &str) -> bool {
        self.lease.as_ref().is_some_and(|l| l.owner == owner)
    }

    /// The claim as the store writes it: the intent, the lease, and `applied` made explicit.
    fn take(&mut self, intent: Intent, lease: &Lease) {
        self.intent = Some(intent);
        self.lease = Some(lease.clone());
        self.applied = Some(self.applied());
    }
}

/// How an observation compares with what is recorded, dimension by dimension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    Newer,
    Same,
    Older,
}

fn freshness(recorded: Option<Version>, observed: Version) -> Freshness {
    match recorded {
        None => Freshness::Newer,
        Some(r) if observed > r => Freshness::Newer,
        Some(r) if observed == r => Freshness::Same,
        Some(_) => Freshness::Older,
    }
}

/// Per dimension: how the observation compares with the record (`None` when not carried).
pub fn compare(
    recorded: &UserState,
    observation: &Observation,
) -> (Option<Freshness>, Option<Freshness>) {
    (
        observation
            .presence
            .as_ref()
            .map(|p| freshness(recorded.presence.as_ref().map(|r| r.version), p.version)),
        observation
            .routing
            .as_ref()
            .map(|r| freshness(recorded.routing.as_ref().map(|x| x.version), r.version)),
    )
}

/// Whether the observation carries part of what is recorded (a dimension at the recorded
/// version): while a holder applies the record, it applies that part too, and an event
/// carrying it has its fate tied to that holder's.
pub fn shares_recorded(recorded: &UserState, observation: &Observation) -> bool {
    let (p, r) = compare(recorded, observation);
    [p, r].contains(&Some(Freshness::Same))
}

/// Whether the store accepts this observation: nothing older, and something newer.
///
/// This is the rule the store's conditional write enforces; it is kept here so that the
/// rule has one statement and unit tests.
pub fn accepts(recorded: &UserState, observation: &Observation) -> bool {
    let (p, r) = compare(recorded, observation);
    let dims = [p, r];
    let carried = dims.iter().flatten();
    carried.clone().all(|f| *f != Freshness::Older)
        && carried.clone().any(|f| *f == Freshness::Newer)
}

/// The part of an observation that is newer than the record (for a retry after a refusal).
pub fn newer_part(recorded: &UserState, observation: &Observation) -> Observation {
    let (p, r) = compare(recorded, observation);
    Observation {
        presence: observation
            .presence
            .clone()
            .filter(|_| p == Some(Freshness::Newer)),
        routing: observation
            .routing
            .clone()
            .filter(|_| r == Some(Freshness::Newer)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::presence::SystemPresence;
    use crate::domain::teams::TeamsPresence;

    fn presence(system: SystemPresence, ms: i64) -> Option<Stamped<PresenceValue>> {
        Some(Stamped {
            value: PresenceValue {
                system: Observed::Known(system),
                definition_id: None,
            },
            version: Version::from_millis(ms),
        })
    }

    fn routing(status: RoutingStatus, ms: i64) -> Option<Stamped<Observed<RoutingStatus>>> {
        Some(Stamped {
            value: Observed::Known(status),
            version: Version::from_millis(ms),
        })
    }

    fn recorded(p_ms: i64, r_ms: i64) -> UserState {
        UserState {
            presence: presence(SystemPresence::OnQueue, p_ms),
            routing: routing(RoutingStatus::Idle, r_ms),
            ..UserState::default()
        }
    }

    #[test]
    fn anything_is_newer_than_nothing() {
        let obs = Observation {
            presence: presence(SystemPresence::Break, 1),
            routing: None,
        };
        assert!(accepts(&UserState::default(), &obs));
    }

    #[test]
    fn an_older_or_equal_single_dimension_is_refused() {
        let state = recorded(100, 100);
        for ms in [99, 100] {
            let obs = Observation {
                presence: presence(SystemPresence::Break, ms),
                routing: None,
            };
            assert!(!accepts(&state, &obs), "{ms}");
        }
        let obs = Observation {
            presence: None,
            routing: routing(RoutingStatus::Interacting, 101),
        };
        assert!(accepts(&state, &obs));
    }

    #[test]
    fn activity_with_same_presence_and_newer_routing_is_accepted() {
        let state = recorded(100, 100);
        let obs = Observation {
            presence: presence(SystemPresence::OnQueue, 100),
            routing: routing(RoutingStatus::Interacting, 150),
        };
        assert!(accepts(&state, &obs));
    }

    #[test]
    fn activity_with_any_older_dimension_is_refused_but_its_newer_part_survives() {
        let state = recorded(100, 100);
        let obs = Observation {
            presence: presence(SystemPresence::Break, 90),
            routing: routing(RoutingStatus::Interacting, 150),
        };
        assert!(!accepts(&state, &obs));
        let part = newer_part(&state, &obs);
        assert!(part.presence.is_none());
        assert_eq!(part.routing, obs.routing);
        assert!(accepts(&state, &part));
    }

    #[test]
    fn nothing_applied_reads_as_cleared_and_clean() {
        let s = UserState::default();
        assert_eq!(s.applied(), TeamsState::Cleared);
        assert!(!s.dirty());
        assert!(!s.busy(0));
    }

    #[test]
    fn an_announced_change_is_dirty_and_busy_while_its_lease_lasts() {
        let s = UserState::default().claimed(
            Intent::Teams(TeamsState::Preferred(TeamsPresence::Busy)),
            Lease {
                owner: "a".into(),
                until_ms: 1_000,
            },
        );
        assert!(s.dirty());
        assert!(s.busy(1_000));
        assert!(!s.busy(1_001), "an expired lease no longer blocks");
        assert!(s.dirty(), "but the change stays uncertain");
    }

    #[test]
    fn a_lease_whose_intent_equals_what_is_applied_does_not_block() {
        let s = UserState {
            applied: Some(TeamsState::Preferred(TeamsPresence::Away)),
            ..UserState::default()
        }
        .claimed(
            Intent::Teams(TeamsState::Preferred(TeamsPresence::Away)),
            Lease {
                owner: "a".into(),
                until_ms: i64::MAX,
            },
        );
        assert!(!s.dirty());
        assert!(!s.busy(0));
    }

    #[test]
    fn an_uncertain_record_cannot_be_claimed_with_what_is_applied() {
        let dead = UserState {
            applied: Some(TeamsState::Preferred(TeamsPresence::Away)),
            ..UserState::default()
        }
        .claimed(
            Intent::Teams(TeamsState::Preferred(TeamsPresence::Busy)),
            Lease {
                owner: "dead".into(),
                until_ms: 100,
            },
        );
        let away = Intent::Teams(TeamsState::Preferred(TeamsPresence::Away));
        let available = Intent::Teams(TeamsState::Preferred(TeamsPresence::Available));
        assert!(!dead.may_claim(available, 50), "the lease still holds");
        assert!(dead.may_claim(available, 101));
        assert!(
            !dead.may_claim(away, 101),
            "it would look settled while Teams may show Busy"
        );
        assert!(dead.may_claim(Intent::Pending, 101));
        assert!(UserState::default().may_claim(away, 0));
    }

    #[test]
    fn a_pending_intent_is_always_dirty() {
        let s = UserState::default().claimed(
            Intent::Pending,
            Lease {
                owner: "a".into(),
                until_ms: 10,
            },
        );
        assert!(s.dirty());
        assert_eq!(Intent::decode(&Intent::Pending.encode()), Intent::Pending);
        assert_eq!(
            Intent::decode("Busy/Busy"),
            Intent::Teams(TeamsState::Preferred(TeamsPresence::Busy))
        );
    }

    #[test]
    fn merging_keeps_the_other_dimension_and_bumps_rev() {
        let state = recorded(100, 100);
        let obs = Observation {
            presence: None,
            routing: routing(RoutingStatus::Interacting, 150),
        };
        let next = state.merged(&obs, "e2");
        assert_eq!(next.presence, state.presence);
        assert_eq!(next.routing, obs.routing);
        assert_eq!(next.last_event.as_deref(), Some("e2"));
        assert_eq!(next.rev, state.rev + 1);
    }
}
