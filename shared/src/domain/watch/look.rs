//! Which agents a poll looks at more closely (their record and Genesys read, costing the
//! Genesys share): only those whose Teams activity or record changed since the last look, or
//! whose mark waits for Genesys to confirm a write. Everyone else costs one Graph read in bulk.

use super::activity::TeamsActivity;
use super::decide::Steady;
use super::mark::{Phase, WatchMark};
use crate::domain::presence::Observed;

/// What the watcher saw of an agent when it last looked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Looked {
    pub activity: Observed<TeamsActivity>,
    pub steady: Steady,
    /// The record's revision then.
    pub rev: u64,
}

/// An agent on one poll, as far as known without reading Genesys.
#[derive(Clone, Copy, Debug)]
pub struct Glance<'a> {
    pub activity: &'a Observed<TeamsActivity>,
    /// Whether `TEAMS_TO_GENESYS` maps the activity.
    pub mapped: bool,
    pub steady: Steady,
    /// The record's revision as last read.
    pub rev: u64,
    pub mark: Option<&'a WatchMark>,
}

/// Whether to read the agent's record and Genesys state and decide.
pub fn needs_look(glance: &Glance<'_>, last: Option<&Looked>) -> bool {
    let in_flight = glance
        .mark
        .is_some_and(|m| matches!(m.phase, Phase::Taking { .. } | Phase::Restoring { .. }));
    if in_flight {
        return true;
    }
    if !glance.mapped && glance.mark.is_none() {
        return false;
    }
    last.is_none_or(|last| {
        last.activity != *glance.activity || last.steady != glance.steady || last.rev != glance.rev
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::PresenceValue;
    use crate::domain::presence::SystemPresence;
    use crate::domain::version::Version;
    use TeamsActivity::*;

    fn mark(phase: Phase) -> WatchMark {
        WatchMark {
            activity: InACall,
            set_definition: "31fe3bac-dea6-44b7-bed7-47f91660a1a0".to_owned(),
            message: String::new(),
            restore_to: PresenceValue {
                system: SystemPresence::observe("ON_QUEUE"),
                definition_id: None,
            },
            phase,
        }
    }

    #[test]
    fn an_agent_is_looked_at_when_something_it_depends_on_changed() {
        let call = Observed::Known(InACall);
        let available = Observed::Known(Available);
        let held = mark(Phase::Held {
            at_ms: 1,
            version: Version::from_millis(1),
        });
        let taking = mark(Phase::Taking { at_ms: 1 });
        let overridden = mark(Phase::Overridden {
            at_ms: 1,
            version: Version::from_millis(1),
        });
        let looked = |activity: &Observed<TeamsActivity>, steady, rev| Looked {
            activity: activity.clone(),
            steady,
            rev,
        };
        let glance = |activity, mapped, steady, rev, mark| Glance {
            activity,
            mapped,
            steady,
            rev,
            mark,
        };
        let same_call = looked(&call, Steady::Yes, 3);
        let cases = [
            (
                "a call first seen",
                glance(&call, true, Steady::Yes, 3, None),
                None,
                true,
            ),
            (
                "the same call again",
                glance(&call, true, Steady::Yes, 3, None),
                Some(&same_call),
                false,
            ),
            (
                "the call now lasted the debounce",
                glance(&call, true, Steady::Yes, 3, None),
                Some(&looked(&call, Steady::NotYet, 3)),
                true,
            ),
            (
                "the record changed (Genesys moved)",
                glance(&call, true, Steady::Yes, 4, None),
                Some(&same_call),
                true,
            ),
            (
                "nothing mapped and no mark",
                glance(&available, false, Steady::Yes, 9, None),
                None,
                false,
            ),
            (
                "a held agent's call ended",
                glance(&available, false, Steady::Yes, 3, Some(&held)),
                Some(&same_call),
                true,
            ),
            (
                "an overridden agent, masked, nothing changed",
                glance(&available, false, Steady::Yes, 3, Some(&overridden)),
                Some(&looked(&available, Steady::Yes, 3)),
                false,
            ),
            (
                "a held agent, nothing changed",
                glance(&call, true, Steady::Yes, 3, Some(&held)),
                Some(&same_call),
                false,
            ),
            (
                "a take-off to confirm",
                glance(&call, true, Steady::Yes, 3, Some(&taking)),
                Some(&same_call),
                true,
            ),
        ];
        for (case, g, last, expected) in cases {
            assert_eq!(needs_look(&g, last), expected, "{case}");
        }
    }
}
