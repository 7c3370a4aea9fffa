//! The watcher's provenance mark on a user's record: what it set in Genesys, why, what it
//! will restore, and how far it got. Written before each Genesys write, so that the Genesys
//! event our own write causes is recognised as ours (by this record, not by its value).

use super::activity::TeamsActivity;
use crate::domain::event::{PresenceValue, Stamped};
use crate::domain::version::Version;

/// How far the watcher's work on a user got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The take-off is about to be written to Genesys (or was, and not yet confirmed).
    Taking { at_ms: i64 },
    /// Genesys accepted the take-off: its presence is `version` (Genesys's `modifiedDate`).
    Held { at_ms: i64, version: Version },
    /// The restore is about to be written (or was): the Teams activity ended.
    Restoring { at_ms: i64, version: Version },
    /// The agent or a supervisor changed Genesys while we held it: they win, and nothing is
    /// restored or taken off again until the Teams activity ends.
    Overridden { at_ms: i64, version: Version },
}

impl Phase {
    /// When the phase began (ms since the epoch).
    pub fn at_ms(self) -> i64 {
        match self {
            Phase::Taking { at_ms }
            | Phase::Held { at_ms, .. }
            | Phase::Restoring { at_ms, .. }
            | Phase::Overridden { at_ms, .. } => at_ms,
        }
    }

    /// Genesys's version of the presence we set, once known.
    pub fn version(self) -> Option<Version> {
        match self {
            Phase::Taking { .. } => None,
            Phase::Held { version, .. }
            | Phase::Restoring { version, .. }
            | Phase::Overridden { version, .. } => Some(version),
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Phase::Taking { .. } => "taking",
            Phase::Held { .. } => "held",
            Phase::Restoring { .. } => "restoring",
            Phase::Overridden { .. } => "overridden",
        }
    }
}

/// The longest presence message kept on a mark (it is logged and shown by `presencectl`).
pub const MAX_MARK_MESSAGE: usize = 200;

/// What the watcher set in Genesys for a user and what it restores.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchMark {
    /// The Teams activity that took the agent off.
    pub activity: TeamsActivity,
    /// The presence definition the watcher set (lower-case id).
    pub set_definition: String,
    pub message: String,
    /// The agent's Genesys presence before: what the restore puts back.
    pub restore_to: PresenceValue,
    pub phase: Phase,
}

impl WatchMark {
    /// Whether `presence` is the one the watcher set: its definition, and, once Genesys told
    /// us the change's `modifiedDate`, that very change (the agent choosing the same
    /// presence again later is their own change, not ours).
    pub fn set_this(&self, presence: &Stamped<PresenceValue>) -> bool {
        let same_definition = presence
            .value
            .definition_id
            .as_deref()
            .is_some_and(|id| id.eq_ignore_ascii_case(&self.set_definition));
        same_definition && self.phase.version().is_none_or(|v| v == presence.version)
    }

    /// The mark moved to `phase`.
    pub fn with_phase(&self, phase: Phase) -> WatchMark {
        WatchMark {
            phase,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::presence::SystemPresence;

    const BUSY: &str = "31fe3bac-dea6-44b7-bed7-47f91660a1a0";

    fn stamped(definition: &str, ms: i64) -> Stamped<PresenceValue> {
        Stamped {
            value: PresenceValue {
                system: SystemPresence::observe("BUSY"),
                definition_id: Some(definition.to_owned()),
            },
            version: Version::from_millis(ms),
        }
    }

    fn mark(phase: Phase) -> WatchMark {
        WatchMark {
            activity: TeamsActivity::InACall,
            set_definition: BUSY.to_owned(),
            message: "On a Teams call".to_owned(),
            restore_to: PresenceValue {
                system: SystemPresence::observe("ON_QUEUE"),
                definition_id: Some("e08eaf1b-ee47-4fa9-a231-1200e284798f".to_owned()),
            },
            phase,
        }
    }

    #[test]
    fn before_genesys_confirms_the_definition_alone_identifies_our_write() {
        let taking = mark(Phase::Taking { at_ms: 1_000 });
        assert!(taking.set_this(&stamped(BUSY, 900)));
        assert!(taking.set_this(&stamped(&BUSY.to_uppercase(), 5_000)));
        assert!(!taking.set_this(&stamped("bbdff279-7ae1-48ea-bade-7831d7234c64", 5_000)));
    }

    #[test]
    fn once_confirmed_only_that_very_change_is_ours() {
        let version = Version::from_millis(1_234);
        for phase in [
            Phase::Held {
                at_ms: 1_000,
                version,
            },
            Phase::Restoring {
                at_ms: 9_000,
                version,
            },
            Phase::Overridden {
                at_ms: 9_000,
                version,
            },
        ] {
            let m = mark(phase);
            assert!(m.set_this(&stamped(BUSY, 1_234)), "{phase:?}");
            // The agent choosing Busy again later: the same definition, their own change.
            assert!(!m.set_this(&stamped(BUSY, 60_000)), "{phase:?}");
        }
    }
}
