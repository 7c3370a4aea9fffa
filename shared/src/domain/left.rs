//! Letting a user go: a user Genesys no longer lists as active (deactivated, deleted) is
//! cleared once in Teams (only what we set) and then left alone; a user who comes back is
//! synced again from Genesys's current state. The record carries the mark, so that every
//! instance, the reconciler and the operator's tool read the same answer.

use super::state::{Intent, Observation, UserState, newer_part};
use super::teams::TeamsState;

/// Why the sync let a user go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LeftReason {
    /// Genesys no longer lists the user as active: deactivated, deleted, or unknown.
    Departed,
    /// A member of none of `SYNC_SCOPE`'s divisions, groups and queues.
    OutOfScope,
    /// An operator's exclusion (`presencectl scope exclude`).
    Excluded,
}

impl LeftReason {
    /// Every reason, for tests and tables.
    pub const ALL: [LeftReason; 3] = [
        LeftReason::Departed,
        LeftReason::OutOfScope,
        LeftReason::Excluded,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            LeftReason::Departed => "departed",
            LeftReason::OutOfScope => "out-of-scope",
            LeftReason::Excluded => "excluded",
        }
    }

    /// Reads what [`LeftReason::as_str`] wrote; `None` for anything else.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "departed" => Some(LeftReason::Departed),
            "out-of-scope" => Some(LeftReason::OutOfScope),
            "excluded" => Some(LeftReason::Excluded),
            _ => None,
        }
    }
}

impl std::fmt::Display for LeftReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The mark on a record of a user the sync let go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Left {
    pub reason: LeftReason,
    /// When the user was let go (ms since the epoch).
    pub at_ms: i64,
}

impl Left {
    /// Whether the scope let them go (and so taking them back is the scope's business), as
    /// opposed to Genesys no longer listing them.
    pub fn by_scope(&self) -> bool {
        matches!(self.reason, LeftReason::OutOfScope | LeftReason::Excluded)
    }
}

impl UserState {
    /// Letting the user go, on the record as it was at `expected_rev` with nobody changing
    /// Teams: the mark is set, and when Teams shows a preferred presence of ours the record is
    /// left dirty with no lease, so that settling it clears that presence once (a let-go
    /// record's target is `Cleared`, see [`UserState::target`]).
    pub fn after_let_go(
        &self,
        expected_rev: u64,
        reason: LeftReason,
        now_ms: i64,
    ) -> Option<UserState> {
        (self.rev == expected_rev && self.may_claim(Intent::Pending, now_ms)).then(|| {
            let mut next = self.clone();
            next.left = Some(Left {
                reason,
                at_ms: now_ms,
            });
            if next.applied() != TeamsState::Cleared {
                next.intent = Some(Intent::Pending);
            }
            next.applied = Some(self.applied());
            next.lease = None;
            next.rev += 1;
            next
        })
    }

    /// Taking a let-go user back, on the record as it was at `expected_rev` with nobody
    /// changing Teams: the mark is removed, the newer part of what Genesys shows now is
    /// recorded under `event_id`, and the record is left dirty with no lease, so that settling
    /// it applies the current state again.
    pub fn after_rejoin(
        &self,
        expected_rev: u64,
        current: &Observation,
        event_id: &str,
        now_ms: i64,
    ) -> Option<UserState> {
        (self.rev == expected_rev && self.may_claim(Intent::Pending, now_ms)).then(|| {
            let mut next = self.clone();
            let newer = newer_part(self, current);
            if !newer.is_empty() {
                next.last_event = Some(event_id.to_owned());
            }
            next.presence = newer.presence.or(next.presence);
            next.routing = newer.routing.or(next.routing);
            next.left = None;
            next.intent = Some(Intent::Pending);
            next.applied = Some(self.applied());
            next.lease = None;
            next.rev += 1;
            next
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::{PresenceValue, Stamped};
    use crate::domain::mapping::{PresenceMapping, Target};
    use crate::domain::presence::SystemPresence;
    use crate::domain::state::Lease;
    use crate::domain::teams::TeamsPresence;
    use crate::domain::version::Version;

    const BUSY: TeamsState = TeamsState::Preferred(TeamsPresence::Busy);

    fn on_queue(ms: i64) -> Observation {
        Observation {
            presence: Some(Stamped {
                value: PresenceValue {
                    system: SystemPresence::observe("ON_QUEUE"),
                    definition_id: None,
                },
                version: Version::from_millis(ms),
            }),
            routing: None,
        }
    }

    fn busy_record() -> UserState {
        let mut record = UserState::default().merged(&on_queue(100), "e1");
        record.applied = Some(BUSY);
        record.intent = Some(Intent::Teams(BUSY));
        record
    }

    #[test]
    fn a_user_let_go_while_teams_shows_ours_is_cleared_once_then_left_alone() {
        let mapping = PresenceMapping::default();
        let record = busy_record();
        let gone = record
            .after_let_go(record.rev, LeftReason::Departed, 5)
            .unwrap();
        assert_eq!(
            gone.left,
            Some(Left {
                reason: LeftReason::Departed,
                at_ms: 5
            })
        );
        assert!(gone.dirty(), "settling it clears what we set");
        assert!(
            !gone.busy(5),
            "nobody holds it: the settle may start at once"
        );
        assert_eq!(gone.target(&mapping).0, Target::Teams(TeamsState::Cleared));
        // Once cleared, every later state maps to Cleared too: nothing more is written.
        let mut cleared = gone.clone();
        cleared.applied = Some(TeamsState::Cleared);
        cleared.intent = Some(Intent::Teams(TeamsState::Cleared));
        let later = cleared.merged(&on_queue(200), "e2");
        assert_eq!(later.target(&mapping).0, Target::Teams(TeamsState::Cleared));
        assert!(!later.dirty());
    }

    #[test]
    fn a_user_let_go_with_nothing_of_ours_in_teams_is_only_marked() {
        let record = UserState::default().merged(&on_queue(100), "e1");
        let gone = record
            .after_let_go(record.rev, LeftReason::Departed, 5)
            .unwrap();
        assert!(gone.left.is_some());
        assert!(!gone.dirty(), "no Graph call: nothing of ours to clear");
    }

    #[test]
    fn letting_go_needs_the_revision_read_and_nobody_changing_teams() {
        let record = busy_record();
        assert!(
            record
                .after_let_go(record.rev + 1, LeftReason::Departed, 5)
                .is_none()
        );
        let held = record.clone().claimed(
            Intent::Pending,
            Lease {
                owner: "event".into(),
                until_ms: 10,
            },
        );
        assert!(
            held.after_let_go(held.rev, LeftReason::Departed, 5)
                .is_none()
        );
        assert!(
            held.after_let_go(held.rev, LeftReason::Departed, 11)
                .is_some()
        );
    }

    #[test]
    fn a_user_who_comes_back_is_applied_again_from_genesys_now() {
        let mapping = PresenceMapping::default();
        let record = busy_record();
        let mut gone = record
            .after_let_go(record.rev, LeftReason::Departed, 5)
            .unwrap();
        gone.applied = Some(TeamsState::Cleared);
        gone.intent = Some(Intent::Teams(TeamsState::Cleared));
        let back = gone
            .after_rejoin(gone.rev, &on_queue(300), "reconcile", 9)
            .unwrap();
        assert_eq!(back.left, None);
        assert_eq!(back.presence, on_queue(300).presence);
        assert_eq!(back.rev, gone.rev + 1);
        assert!(back.dirty(), "settling it applies the current state");
        assert_eq!(back.target(&mapping).0, Target::Teams(BUSY));
        // An older observation does not replace what is recorded.
        let again = gone
            .after_rejoin(gone.rev, &on_queue(50), "reconcile", 9)
            .unwrap();
        assert_eq!(again.presence, gone.presence);
    }

    #[test]
    fn reasons_read_back_what_they_write() {
        for reason in LeftReason::ALL {
            assert_eq!(LeftReason::parse(reason.as_str()), Some(reason));
        }
        assert_eq!(LeftReason::parse("gone"), None);
    }
}
