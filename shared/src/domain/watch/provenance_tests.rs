//! Provenance on the forward direction: a Genesys presence the watcher set maps as the
//! presence it replaced, so that it never becomes a preferred presence in Teams.

use crate::domain::event::{PresenceValue, Stamped};
use crate::domain::mapping::{MatchedKey, Target};
use crate::domain::presence::SystemPresence;
use crate::domain::state::UserState;
use crate::domain::teams::{TeamsPresence, TeamsState};
use crate::domain::version::Version;
use crate::domain::watch::{Phase, PresenceMode, TeamsActivity, WatchMark};

const MEETING: &str = "bbdff279-7ae1-48ea-bade-7831d7234c64";

fn presence(system: &str, definition: &str, ms: i64) -> Stamped<PresenceValue> {
    Stamped {
        value: PresenceValue {
            system: SystemPresence::observe(system),
            definition_id: Some(definition.to_owned()),
        },
        version: Version::from_millis(ms),
    }
}

fn record(recorded: Stamped<PresenceValue>, phase: Option<Phase>) -> UserState {
    let watch = phase.map(|phase| WatchMark {
        activity: TeamsActivity::InAMeeting,
        set_definition: MEETING.to_owned(),
        message: "In a Teams meeting".to_owned(),
        restore_to: PresenceValue {
            system: SystemPresence::observe("ON_QUEUE"),
            definition_id: None,
        },
        phase,
    });
    UserState {
        presence: Some(recorded),
        watch,
        ..UserState::default()
    }
}

#[test]
fn our_own_genesys_write_maps_as_what_it_replaced_and_the_agents_maps_as_itself() {
    let mapping = PresenceMode::TwoWay.mapping("").unwrap();
    let busy = Target::Teams(TeamsState::Preferred(TeamsPresence::Busy));
    let cleared = Target::Teams(TeamsState::Cleared);
    let held = Phase::Held {
        at_ms: 5,
        version: Version::from_millis(1_000),
    };
    let ours = presence("MEETING", MEETING, 1_000);
    let theirs_later = presence("MEETING", MEETING, 9_000);
    let cases = [
        (
            "ours, held",
            record(ours.clone(), Some(held)),
            cleared,
            true,
        ),
        (
            "ours, before genesys confirmed",
            record(theirs_later.clone(), Some(Phase::Taking { at_ms: 5 })),
            cleared,
            true,
        ),
        (
            "ours, restoring",
            record(
                ours.clone(),
                Some(Phase::Restoring {
                    at_ms: 9,
                    version: Version::from_millis(1_000),
                }),
            ),
            cleared,
            true,
        ),
        (
            "the agent's own meeting presence later",
            record(theirs_later, Some(held)),
            busy,
            false,
        ),
        (
            "no mark: a meeting presence is a meeting presence",
            record(ours, None),
            busy,
            false,
        ),
    ];
    for (case, r, expected, watched) in cases {
        let (target, key) = r.target(&mapping);
        assert_eq!(target, expected, "{case}");
        assert_eq!(
            matches!(key, MatchedKey::Watched(_)),
            watched,
            "{case}: {key}"
        );
    }
    let (_, key) = record(presence("MEETING", MEETING, 1_000), Some(held)).target(&mapping);
    assert_eq!(key.to_string(), "watch (as ON_QUEUE)");
}
