//! `TEAMS_TO_GENESYS` made concrete against the org's presence definitions (read once at
//! start-up): each mapped activity gets the definition id the watcher writes.

use super::activity::TeamsActivity;
use super::rules::{AWAY_PRESENCES, PresenceChoice, TeamsToGenesys};
use crate::domain::presence::{Observed, SystemPresence};
use std::collections::BTreeMap;

/// Whether a definition is one of the ten every org has, or one the org made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefinitionKind {
    System,
    User,
}

/// One active presence definition of the org (`GET /api/v2/presence/definitions`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgDefinition {
    /// Lower-case.
    pub id: String,
    pub system: Observed<SystemPresence>,
    pub kind: DefinitionKind,
}

/// The Genesys presence the watcher sets for a Teams activity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TakeTo {
    pub definition_id: String,
    pub system: SystemPresence,
    pub message: String,
}

/// `TEAMS_TO_GENESYS` with every entry's definition found.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Resolved {
    entries: BTreeMap<TeamsActivity, TakeTo>,
}

impl Resolved {
    /// What the watcher sets for `activity`, when it is mapped.
    pub fn take_to(&self, activity: TeamsActivity) -> Option<&TakeTo> {
        self.entries.get(&activity)
    }

    pub fn entries(&self) -> impl Iterator<Item = (TeamsActivity, &TakeTo)> {
        self.entries.iter().map(|(a, t)| (*a, t))
    }
}

/// An entry the org's definitions cannot satisfy.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ResolveError {
    #[error(
        "TEAMS_TO_GENESYS entry {activity}: the org has no active presence definition for {presence}"
    )]
    NoDefinition {
        activity: TeamsActivity,
        presence: SystemPresence,
    },
    #[error(
        "TEAMS_TO_GENESYS entry {activity}: presence definition {id} is not an active definition of the org"
    )]
    UnknownDefinition { activity: TeamsActivity, id: String },
    #[error(
        "TEAMS_TO_GENESYS entry {activity}: presence definition {id} is a {system} presence, which would leave the agent reachable or sign them out"
    )]
    Reachable {
        activity: TeamsActivity,
        id: String,
        system: String,
    },
}

impl TeamsToGenesys {
    /// Each entry's definition among the org's active `definitions`: a system presence is the
    /// org's System definition of it; an id must be an active definition whose system presence
    /// keeps the agent away.
    pub fn resolve(&self, definitions: &[OrgDefinition]) -> Result<Resolved, ResolveError> {
        let mut entries = BTreeMap::new();
        for (activity, placement) in self.entries() {
            let (definition_id, system) = match &placement.presence {
                PresenceChoice::System(presence) => (
                    system_definition(definitions, activity, *presence)?,
                    *presence,
                ),
                PresenceChoice::Definition(id) => by_id(definitions, activity, id)?,
            };
            let message = placement.message.clone();
            entries.insert(
                activity,
                TakeTo {
                    definition_id,
                    system,
                    message,
                },
            );
        }
        Ok(Resolved { entries })
    }
}

fn system_definition(
    definitions: &[OrgDefinition],
    activity: TeamsActivity,
    presence: SystemPresence,
) -> Result<String, ResolveError> {
    let of = |kind: DefinitionKind| {
        definitions
            .iter()
            .find(|d| d.kind == kind && d.system == Observed::Known(presence))
    };
    // The System definition; failing that (an org that deactivated it), an org-made one.
    of(DefinitionKind::System)
        .or_else(|| of(DefinitionKind::User))
        .map(|d| d.id.clone())
        .ok_or(ResolveError::NoDefinition { activity, presence })
}

fn by_id(
    definitions: &[OrgDefinition],
    activity: TeamsActivity,
    id: &str,
) -> Result<(String, SystemPresence), ResolveError> {
    let Some(found) = definitions.iter().find(|d| d.id.eq_ignore_ascii_case(id)) else {
        return Err(ResolveError::UnknownDefinition {
            activity,
            id: id.to_owned(),
        });
    };
    match &found.system {
        Observed::Known(system) if AWAY_PRESENCES.contains(system) => {
            Ok((found.id.clone(), *system))
        }
        other => Err(ResolveError::Reachable {
            activity,
            id: found.id.clone(),
            system: other.as_str().to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn definition(id: &str, system: &str, kind: DefinitionKind) -> OrgDefinition {
        OrgDefinition {
            id: id.to_owned(),
            system: SystemPresence::observe(system),
            kind,
        }
    }

    const CUSTOM_MEETING: &str = "0c1b2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d";

    fn org() -> Vec<OrgDefinition> {
        vec![
            definition(
                "31fe3bac-dea6-44b7-bed7-47f91660a1a0",
                "Busy",
                DefinitionKind::System,
            ),
            definition(CUSTOM_MEETING, "Meeting", DefinitionKind::User),
            definition(
                "bbdff279-7ae1-48ea-bade-7831d7234c64",
                "Meeting",
                DefinitionKind::System,
            ),
            definition(
                "e08eaf1b-ee47-4fa9-a231-1200e284798f",
                "On Queue",
                DefinitionKind::System,
            ),
        ]
    }

    #[test]
    fn a_system_presence_is_the_orgs_system_definition_of_it() {
        let resolved = TeamsToGenesys::default().resolve(&org()).unwrap();
        let meeting = resolved.take_to(TeamsActivity::InAMeeting).unwrap();
        assert_eq!(
            meeting.definition_id,
            "bbdff279-7ae1-48ea-bade-7831d7234c64"
        );
        assert_eq!(meeting.system, SystemPresence::Meeting);
        let call = resolved.take_to(TeamsActivity::InACall).unwrap();
        assert_eq!(call.definition_id, "31fe3bac-dea6-44b7-bed7-47f91660a1a0");
        assert_eq!(call.message, "On a Teams call");
    }

    #[test]
    fn an_org_without_the_system_definition_uses_its_own_or_is_refused() {
        let without_system_meeting: Vec<_> = org()
            .into_iter()
            .filter(|d| {
                !(d.kind == DefinitionKind::System
                    && d.system == Observed::Known(SystemPresence::Meeting))
            })
            .collect();
        let resolved = TeamsToGenesys::default()
            .resolve(&without_system_meeting)
            .unwrap();
        assert_eq!(
            resolved
                .take_to(TeamsActivity::InAMeeting)
                .unwrap()
                .definition_id,
            CUSTOM_MEETING
        );
        let only_queue = &org()[3..];
        assert_eq!(
            TeamsToGenesys::default().resolve(only_queue),
            Err(ResolveError::NoDefinition {
                activity: TeamsActivity::InACall,
                presence: SystemPresence::Busy
            })
        );
    }

    #[test]
    fn a_definition_id_must_exist_and_keep_the_agent_away() {
        let rules = |id: &str| {
            TeamsToGenesys::from_json(&format!(r#"{{"InAMeeting": {{"presence": "{id}"}}}}"#))
                .unwrap()
        };
        let resolved = rules(CUSTOM_MEETING).resolve(&org()).unwrap();
        assert_eq!(
            resolved
                .take_to(TeamsActivity::InAMeeting)
                .unwrap()
                .definition_id,
            CUSTOM_MEETING
        );
        let missing = "11111111-2222-4333-8444-555555555555";
        assert_eq!(
            rules(missing).resolve(&org()),
            Err(ResolveError::UnknownDefinition {
                activity: TeamsActivity::InAMeeting,
                id: missing.to_owned()
            })
        );
        let queue = "e08eaf1b-ee47-4fa9-a231-1200e284798f";
        let refused = rules(queue).resolve(&org()).unwrap_err();
        assert!(
            refused.to_string().contains("ON_QUEUE presence"),
            "{refused}"
        );
    }
}
