//! `presencectl explain --teams <availability/activity> --genesys <presence[/routing]>`: what
//! the watcher (`presence-watch`, two-way) would do for an agent whom Teams and Genesys show so,
//! worked out offline by the library's own rule (`domain::watch::decide`), against the
//! `ON_QUEUE_POLICY` and `TEAMS_TO_GENESYS` given (defaults otherwise) and the system presence
//! definitions every org has: no AWS, no deployment, no remote call.

use crate::output::{Answer, fields, with_fix};
use presence_core::adapters::memory::SYSTEM_DEFINITIONS;
use presence_core::domain::event::{PresenceValue, Stamped};
use presence_core::domain::mapping::Target;
use presence_core::domain::presence::{Observed, RoutingStatus, SystemPresence};
use presence_core::domain::state::{Observation, UserState};
use presence_core::domain::teams::TeamsState;
use presence_core::domain::version::Version;
use presence_core::domain::watch::Skip;
use presence_core::domain::watch::{
    Action, DefinitionKind, OnQueuePolicy, OrgDefinition, Policy, PresenceMode, Situation, Steady,
    TeamsActivity, TeamsHeld, TeamsToGenesys, decide,
};
use serde::Serialize;

/// What the watcher would do.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Explained {
    /// `take-off` or `nothing`.
    pub result: &'static str,
    pub teams_activity: String,
    pub genesys: String,
    /// Whether Teams shows the agent's own activity (`visible`) or a preferred presence of
    /// ours that hides it (`masked`), by the two-way mapping.
    pub teams_seen: &'static str,
    pub why: String,
}

/// The inputs, as given on the command line.
pub struct Asked<'a> {
    pub teams: &'a str,
    pub genesys: &'a str,
    pub on_queue: Option<&'a str>,
    pub rules: Option<&'a str>,
}

pub fn offline(asked: &Asked<'_>) -> Result<Explained, String> {
    let activity = teams_activity(asked.teams)?;
    let genesys = genesys_state(asked.genesys)?;
    let on_queue = match asked.on_queue {
        None => OnQueuePolicy::default(),
        Some(raw) => OnQueuePolicy::parse(raw).ok_or_else(|| {
            with_fix(
                format!("--on-queue-policy {raw:?} is not a policy"),
                "give leave or take-off",
            )
        })?,
    };
    let rules = TeamsToGenesys::from_json(asked.rules.unwrap_or_default())
        .map_err(|e| with_fix(e, "correct the entry --teams-to-genesys names"))?;
    let resolved = rules
        .resolve(&system_definitions())
        .map_err(|e| with_fix(e, "name a system presence, or a definition of the org"))?;
    let held = held_by_two_way(&genesys)?;
    let situation = Situation {
        teams: &activity,
        held,
        genesys: &genesys,
        mark: None,
        steady: Steady::Yes,
        now_ms: 0,
    };
    let policy = Policy {
        on_queue,
        rules: &resolved,
        in_flight_ms: 0,
    };
    let (result, why) = match decide(&situation, &policy) {
        Action::TakeOff { to, restore_to, .. } => (
            "take-off",
            format!(
                "sets Genesys {} (definition {}, message {:?}); puts back {} when the Teams activity ends, unless the agent changed it meanwhile",
                to.system, to.definition_id, to.message, restore_to.system
            ),
        ),
        Action::Skip(skip) => ("nothing", format!("{}: {}", skip.as_str(), skip_text(skip))),
        other => ("nothing", format!("{other:?}")),
    };
    Ok(Explained {
        result,
        teams_activity: activity.to_string(),
        genesys: asked.genesys.to_owned(),
        teams_seen: if held == TeamsHeld::Ours {
            "masked"
        } else {
            "visible"
        },
        why,
    })
}

/// Why the watcher leaves the agent alone, as an operator reads it.
fn skip_text(skip: Skip) -> &'static str {
    match skip {
        Skip::NoActivity => "TEAMS_TO_GENESYS maps nothing to this Teams activity",
        Skip::Masked => {
            "in this Genesys state the sync holds a Teams preferred presence (nothing routes to the agent), which hides their own Teams activity from Graph's reads"
        }
        Skip::Interacting => {
            "the agent is interacting in Genesys: the Teams call may be the customer's"
        }
        Skip::Offline => "an agent Offline in Genesys is never changed",
        Skip::OnQueueLeft => "On Queue, and ON_QUEUE_POLICY is leave",
        Skip::NotReachable => "nothing routes to the agent in this Genesys state",
        Skip::NoGenesysPresence => "Genesys shows no presence for the agent",
        Skip::Debouncing => "the activity has not lasted WATCH_DEBOUNCE_SECONDS yet",
        Skip::InFlight => "a Genesys write of the watcher may still be in flight",
        Skip::Overridden => "the agent changed Genesys while taken off: they win",
    }
}

/// `Busy/InAMeeting` (or the activity alone) as Graph reports it.
fn teams_activity(raw: &str) -> Result<Observed<TeamsActivity>, String> {
    let activity = raw.rsplit('/').next().unwrap_or(raw).trim();
    match TeamsActivity::observe(activity) {
        Observed::Known(known) => Ok(Observed::Known(known)),
        Observed::Unknown(_) => Err(with_fix(
            format!("--teams {raw:?}: {activity:?} is not a Graph presence activity"),
            "give availability/activity as getPresencesByUserId reports it, e.g. Busy/InAMeeting",
        )),
    }
}

/// `ON_QUEUE/IDLE` (or the presence alone) as a Genesys observation.
fn genesys_state(raw: &str) -> Result<Observation, String> {
    let (presence, routing) = raw.split_once('/').unwrap_or((raw, ""));
    let system = match SystemPresence::observe(presence.trim()) {
        Observed::Known(system) => system,
        Observed::Unknown(_) => {
            return Err(with_fix(
                format!("--genesys {raw:?}: {presence:?} is not a Genesys system presence"),
                "give e.g. ON_QUEUE/IDLE, AVAILABLE or BREAK",
            ));
        }
    };
    let routing = match routing.trim() {
        "" => None,
        status => Some(match RoutingStatus::observe(status) {
            Observed::Known(known) => Observed::Known(known),
            Observed::Unknown(_) => {
                return Err(with_fix(
                    format!("--genesys {raw:?}: {status:?} is not a routing status"),
                    "give IDLE, INTERACTING, COMMUNICATING, NOT_RESPONDING or OFF_QUEUE",
                ));
            }
        }),
    };
    let stamp = Version::from_millis(1);
    Ok(Observation {
        presence: Some(Stamped {
            value: PresenceValue {
                system: Observed::Known(system),
                definition_id: None,
            },
            version: stamp,
        }),
        routing: routing.map(|value| Stamped {
            value,
            version: stamp,
        }),
    })
}

/// Whether the event path (two-way) holds a preferred presence for this Genesys state.
fn held_by_two_way(genesys: &Observation) -> Result<TeamsHeld, String> {
    let mapping = PresenceMode::TwoWay
        .mapping("")
        .map_err(|e| e.to_string())?;
    let record = UserState {
        presence: genesys.presence.clone(),
        routing: genesys.routing.clone(),
        ..UserState::default()
    };
    Ok(match record.target(&mapping).0 {
        Target::Teams(TeamsState::Preferred(_)) => TeamsHeld::Ours,
        _ => TeamsHeld::Nothing,
    })
}

/// The ten system presences every org has, by their documented ids.
fn system_definitions() -> Vec<OrgDefinition> {
    SYSTEM_DEFINITIONS
        .iter()
        .map(|(system, id)| OrgDefinition {
            id: (*id).to_owned(),
            system: Observed::Known(*system),
            kind: DefinitionKind::System,
        })
        .collect()
}

impl Answer for Explained {
    fn text(&self) -> String {
        fields(&[
            ("result", self.result.to_owned()),
            ("teams activity", self.teams_activity.clone()),
            ("genesys", self.genesys.clone()),
            ("teams seen", self.teams_seen.to_owned()),
            ("why", self.why.clone()),
        ])
    }

    fn problem(&self) -> bool {
        false
    }
}
