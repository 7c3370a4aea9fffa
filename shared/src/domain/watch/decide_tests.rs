//! The watcher's rules, one row each.

use super::*;
use crate::domain::event::Stamped;
use crate::domain::watch::resolve::{DefinitionKind, OrgDefinition};
use crate::domain::watch::rules::TeamsToGenesys;
use TeamsActivity::*;

const BUSY: &str = "31fe3bac-dea6-44b7-bed7-47f91660a1a0";
const MEETING: &str = "bbdff279-7ae1-48ea-bade-7831d7234c64";
const ON_QUEUE: &str = "e08eaf1b-ee47-4fa9-a231-1200e284798f";
const AVAILABLE: &str = "6a3af858-942f-489d-9700-5f9bcdcdae9b";
const AWAY: &str = "5e5c5c66-ea97-4e7f-ac41-6424784829f2";
const OFFLINE: &str = "ccf3c10a-aa2c-4845-8e8d-f59fa48c58e5";
const NOW: i64 = 1_000_000;
/// Genesys's version of our take-off.
const OURS: i64 = 900_000;

fn resolved() -> Resolved {
    let org: Vec<OrgDefinition> = [
        (BUSY, "BUSY"),
        (MEETING, "MEETING"),
        (ON_QUEUE, "ON_QUEUE"),
        (AVAILABLE, "AVAILABLE"),
    ]
    .iter()
    .map(|(id, system)| OrgDefinition {
        id: (*id).to_owned(),
        system: SystemPresence::observe(system),
        kind: DefinitionKind::System,
    })
    .collect();
    TeamsToGenesys::default().resolve(&org).unwrap()
}

fn value(definition: &str) -> PresenceValue {
    let system = match definition {
        BUSY => "BUSY",
        MEETING => "MEETING",
        ON_QUEUE => "ON_QUEUE",
        AVAILABLE => "AVAILABLE",
        AWAY => "AWAY",
        OFFLINE => "OFFLINE",
        _ => unreachable!(),
    };
    PresenceValue {
        system: SystemPresence::observe(system),
        definition_id: Some(definition.to_owned()),
    }
}

/// Genesys now: a presence at a version, and a routing status.
fn genesys(definition: &str, version: i64, routing: RoutingStatus) -> Observation {
    Observation {
        presence: Some(Stamped {
            value: value(definition),
            version: Version::from_millis(version),
        }),
        routing: Some(Stamped {
            value: Observed::Known(routing),
            version: Version::from_millis(1),
        }),
    }
}

fn mark(phase: Phase) -> WatchMark {
    WatchMark {
        activity: InAMeeting,
        set_definition: MEETING.to_owned(),
        message: "In a Teams meeting".to_owned(),
        restore_to: value(ON_QUEUE),
        phase,
    }
}

const HELD: Phase = Phase::Held {
    at_ms: NOW - 60_000,
    version: Version::from_millis(OURS),
};

struct Row {
    teams: Observed<TeamsActivity>,
    held: TeamsHeld,
    genesys: Observation,
    mark: Option<WatchMark>,
    steady: Steady,
    policy: OnQueuePolicy,
}

fn row(teams: TeamsActivity, genesys: Observation) -> Row {
    Row {
        teams: Observed::Known(teams),
        held: TeamsHeld::Nothing,
        genesys,
        mark: None,
        steady: Steady::Yes,
        policy: OnQueuePolicy::TakeOff,
    }
}

fn run(r: &Row) -> Action {
    let rules = resolved();
    let situation = Situation {
        teams: &r.teams,
        held: r.held,
        genesys: &r.genesys,
        mark: r.mark.as_ref(),
        steady: r.steady,
        now_ms: NOW,
    };
    let policy = Policy {
        on_queue: r.policy,
        rules: &rules,
        in_flight_ms: 30_000,
    };
    decide(&situation, &policy)
}

fn take_off(activity: TeamsActivity, to: &str, restore: &str) -> Action {
    let take_to = resolved().take_to(activity).unwrap().clone();
    assert_eq!(take_to.definition_id, to);
    Action::TakeOff {
        activity,
        to: take_to,
        restore_to: value(restore),
    }
}

use RoutingStatus::{Communicating, Idle, Interacting, OffQueue};

#[test]
fn an_agent_the_watcher_holds_nothing_for() {
    let on_queue = || genesys(ON_QUEUE, 1, Idle);
    let cases: Vec<(&str, Row, Action)> = vec![
        (
            "on queue, idle, joins a meeting, take-off",
            row(InAMeeting, on_queue()),
            take_off(InAMeeting, MEETING, ON_QUEUE),
        ),
        (
            "on queue with leave: left alone",
            Row {
                policy: OnQueuePolicy::Leave,
                ..row(InAMeeting, on_queue())
            },
            Action::Skip(Skip::OnQueueLeft),
        ),
        (
            "available takes a call, leave: taken off all the same",
            Row {
                policy: OnQueuePolicy::Leave,
                ..row(InACall, genesys(AVAILABLE, 1, OffQueue))
            },
            take_off(InACall, BUSY, AVAILABLE),
        ),
        (
            "interacting: never changed",
            row(InACall, genesys(ON_QUEUE, 1, Interacting)),
            Action::Skip(Skip::Interacting),
        ),
        (
            "communicating: never changed",
            row(InACall, genesys(ON_QUEUE, 1, Communicating)),
            Action::Skip(Skip::Interacting),
        ),
        (
            "offline: never changed",
            row(InAMeeting, genesys(OFFLINE, 1, OffQueue)),
            Action::Skip(Skip::Offline),
        ),
        (
            "away already: nothing routes to them",
            row(InAMeeting, genesys(AWAY, 1, OffQueue)),
            Action::Skip(Skip::NotReachable),
        ),
        (
            "teams shows our preferred presence: not theirs",
            Row {
                held: TeamsHeld::Ours,
                ..row(InACall, on_queue())
            },
            Action::Skip(Skip::Masked),
        ),
        (
            "teams available",
            row(TeamsActivity::Available, on_queue()),
            Action::Skip(Skip::NoActivity),
        ),
        (
            "teams do-not-disturb is not mapped by default",
            row(DoNotDisturb, on_queue()),
            Action::Skip(Skip::NoActivity),
        ),
        (
            "an activity graph added later",
            Row {
                teams: Observed::Unknown("Knitting".into()),
                ..row(InACall, on_queue())
            },
            Action::Skip(Skip::NoActivity),
        ),
        (
            "shorter than the debounce so far",
            Row {
                steady: Steady::NotYet,
                ..row(Presenting, on_queue())
            },
            Action::Skip(Skip::Debouncing),
        ),
        (
            "genesys gave no presence",
            row(InACall, Observation::default()),
            Action::Skip(Skip::NoGenesysPresence),
        ),
    ];
    for (case, r, expected) in cases {
        assert_eq!(run(&r), expected, "{case}");
    }
}

#[test]
fn an_agent_the_watcher_took_off() {
    let ours = || genesys(MEETING, OURS, OffQueue);
    let with = |phase: Phase, teams: TeamsActivity, genesys: Observation| Row {
        mark: Some(mark(phase)),
        ..row(teams, genesys)
    };
    let restoring = |at: i64| Phase::Restoring {
        at_ms: at,
        version: Version::from_millis(OURS),
    };
    let cases: Vec<(&str, Row, Action)> = vec![
        (
            "the meeting goes on",
            with(HELD, InAMeeting, ours()),
            Action::Hold,
        ),
        (
            "a meeting becomes a call: still held",
            with(HELD, InACall, ours()),
            Action::Hold,
        ),
        (
            "the meeting ended: restore",
            with(HELD, TeamsActivity::Available, ours()),
            Action::Restore(value(ON_QUEUE)),
        ),
        (
            "ended while interacting: wait",
            with(
                HELD,
                TeamsActivity::Available,
                genesys(MEETING, OURS, Interacting),
            ),
            Action::Skip(Skip::Interacting),
        ),
        (
            "the agent chose Away meanwhile: they win",
            with(
                HELD,
                TeamsActivity::Available,
                genesys(AWAY, OURS + 5, OffQueue),
            ),
            Action::Overridden,
        ),
        (
            "the agent chose our presence again themselves: theirs",
            with(
                HELD,
                TeamsActivity::Available,
                genesys(MEETING, OURS + 5, OffQueue),
            ),
            Action::Overridden,
        ),
        (
            "teams shows a preferred presence of ours: cannot see the end",
            Row {
                held: TeamsHeld::Ours,
                ..with(HELD, TeamsActivity::Available, ours())
            },
            Action::Skip(Skip::Masked),
        ),
        (
            "overridden, the meeting goes on: not again",
            with(
                Phase::Overridden {
                    at_ms: NOW,
                    version: Version::from_millis(OURS),
                },
                InAMeeting,
                genesys(ON_QUEUE, OURS + 5, Idle),
            ),
            Action::Skip(Skip::Overridden),
        ),
        (
            "overridden, the meeting ended: forget",
            with(
                Phase::Overridden {
                    at_ms: NOW,
                    version: Version::from_millis(OURS),
                },
                TeamsActivity::Available,
                genesys(ON_QUEUE, OURS + 5, Idle),
            ),
            Action::Forget,
        ),
        (
            "taking, genesys shows it: confirm its version",
            with(
                Phase::Taking { at_ms: NOW - 1_000 },
                InAMeeting,
                genesys(MEETING, OURS, OffQueue),
            ),
            Action::Confirm(Version::from_millis(OURS)),
        ),
        (
            "taking, not landed yet",
            with(
                Phase::Taking { at_ms: NOW - 1_000 },
                InAMeeting,
                genesys(ON_QUEUE, 1, Idle),
            ),
            Action::Skip(Skip::InFlight),
        ),
        (
            "taking, never landed: decided afresh",
            with(
                Phase::Taking {
                    at_ms: NOW - 60_000,
                },
                InAMeeting,
                genesys(ON_QUEUE, 1, Idle),
            ),
            take_off(InAMeeting, MEETING, ON_QUEUE),
        ),
        (
            "restoring, not landed yet",
            with(restoring(NOW - 1_000), TeamsActivity::Available, ours()),
            Action::Skip(Skip::InFlight),
        ),
        (
            "restoring, never landed: send it again",
            with(restoring(NOW - 60_000), TeamsActivity::Available, ours()),
            Action::Restore(value(ON_QUEUE)),
        ),
        (
            "restored, the agent is back on queue: the mark goes",
            with(
                restoring(NOW - 60_000),
                TeamsActivity::Available,
                genesys(ON_QUEUE, OURS + 9, Idle),
            ),
            Action::Forget,
        ),
        (
            "restored, a new meeting: a new take-off",
            with(
                restoring(NOW - 60_000),
                InAMeeting,
                genesys(ON_QUEUE, OURS + 9, Idle),
            ),
            take_off(InAMeeting, MEETING, ON_QUEUE),
        ),
    ];
    for (case, r, expected) in cases {
        assert_eq!(run(&r), expected, "{case}");
    }
}
