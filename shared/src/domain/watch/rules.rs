//! `TEAMS_TO_GENESYS`: which Teams activity takes an agent off to which Genesys presence, with
//! which presence message, validated once at start-up with errors that name the entry.

use super::activity::TeamsActivity;
use crate::domain::excerpt::cut;
use crate::domain::ids::is_uuid;
use crate::domain::presence::SystemPresence;
use serde_json::Value;
use std::collections::BTreeMap;

/// The Genesys presence an entry asks for, before it is found among the org's definitions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PresenceChoice {
    /// The org's definition of this system presence (every org has one per system presence).
    System(SystemPresence),
    /// One of the org's presence definitions, by id (lower-case).
    Definition(String),
}

/// What one mapped Teams activity asks of Genesys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    pub presence: PresenceChoice,
    /// The presence message people see in Genesys while it holds.
    pub message: String,
}

/// The system presences an agent may be taken to: ones in which nothing routes to them.
/// Available and On Queue are what the agent is taken off; Offline signs them out of
/// everything; Idle is Genesys's own.
pub const AWAY_PRESENCES: &[SystemPresence] = &[
    SystemPresence::Busy,
    SystemPresence::Meeting,
    SystemPresence::Away,
    SystemPresence::Break,
    SystemPresence::Meal,
    SystemPresence::Training,
];

/// The longest presence message accepted (Genesys documents none; a status line people read
/// is short, and the message reaches logs).
pub const MAX_MESSAGE: usize = 200;

/// An invalid `TEAMS_TO_GENESYS`, naming the offending entry.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RulesError {
    #[error("TEAMS_TO_GENESYS is not a JSON object: {0}")]
    NotAnObject(String),
    #[error("TEAMS_TO_GENESYS key {0:?} is not a Teams activity (one of {list})", list = activities())]
    UnknownActivity(String),
    #[error(
        "TEAMS_TO_GENESYS key {0:?} appears more than once (spellings of one activity count as one)"
    )]
    DuplicateActivity(String),
    #[error(
        "TEAMS_TO_GENESYS entry {key:?}: value must be {{\"presence\":\"…\",\"message\":\"…\"}} (message optional) or \"ignore\", found {found}"
    )]
    BadValue { key: String, found: String },
    #[error(
        "TEAMS_TO_GENESYS entry {key:?}: presence {presence:?} is not a system presence or a presence definition id (a UUID)"
    )]
    UnknownPresence { key: String, presence: String },
    #[error("TEAMS_TO_GENESYS entry {key:?}: {presence} would leave the agent reachable or sign them out; take them to one of {list}", list = away_list())]
    Reachable { key: String, presence: String },
    #[error(
        "TEAMS_TO_GENESYS entry {key:?}: the message is {len} characters; at most {MAX_MESSAGE}"
    )]
    MessageTooLong { key: String, len: usize },
    #[error(
        "TEAMS_TO_GENESYS maps no Teams activity: nothing could take an agent off; turn the watcher off instead"
    )]
    Empty,
}

fn activities() -> String {
    let names: Vec<&str> = TeamsActivity::ALL.iter().map(|a| a.as_str()).collect();
    names.join(", ")
}

fn away_list() -> String {
    let names: Vec<&str> = AWAY_PRESENCES.iter().map(|p| p.as_str()).collect();
    names.join(", ")
}

/// The validated mapping from Teams activity to a Genesys presence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TeamsToGenesys {
    entries: BTreeMap<TeamsActivity, Placement>,
}

fn placement(presence: SystemPresence, message: &str) -> Placement {
    Placement {
        presence: PresenceChoice::System(presence),
        message: message.to_owned(),
    }
}

impl Default for TeamsToGenesys {
    /// A call, a meeting or a screen being presented takes the agent off; nothing else does.
    fn default() -> Self {
        use TeamsActivity::*;
        let entries = BTreeMap::from([
            (InACall, placement(SystemPresence::Busy, "On a Teams call")),
            (
                InAConferenceCall,
                placement(SystemPresence::Busy, "On a Teams call"),
            ),
            (
                InAMeeting,
                placement(SystemPresence::Meeting, "In a Teams meeting"),
            ),
            (
                Presenting,
                placement(SystemPresence::Busy, "Presenting in Teams"),
            ),
        ]);
        TeamsToGenesys { entries }
    }
}

impl TeamsToGenesys {
    /// The default table with the operator's entries applied (`"ignore"` removes one). An
    /// empty or whitespace-only value means "defaults only".
    pub fn from_json(raw: &str) -> Result<Self, RulesError> {
        let mut rules = TeamsToGenesys::default();
        if raw.trim().is_empty() {
            return Ok(rules);
        }
        let value: Value =
            serde_json::from_str(raw).map_err(|e| RulesError::NotAnObject(cut(&e.to_string())))?;
        let Value::Object(entries) = value else {
            return Err(RulesError::NotAnObject(format!(
                "found {}",
                cut(&value.to_string())
            )));
        };
        let mut seen = std::collections::HashSet::new();
        for (key, value) in &entries {
            let activity =
                TeamsActivity::parse(key).ok_or_else(|| RulesError::UnknownActivity(cut(key)))?;
            if !seen.insert(activity) {
                return Err(RulesError::DuplicateActivity(cut(key)));
            }
            match parse_entry(key, activity, value)? {
                Some(placement) => rules.entries.insert(activity, placement),
                None => rules.entries.remove(&activity),
            };
        }
        if rules.entries.is_empty() {
            return Err(RulesError::Empty);
        }
        Ok(rules)
    }

    /// What `activity` asks for, when it is mapped.
    pub fn placement(&self, activity: TeamsActivity) -> Option<&Placement> {
        self.entries.get(&activity)
    }

    /// Every mapped activity with what it asks for, in Graph's order.
    pub fn entries(&self) -> impl Iterator<Item = (TeamsActivity, &Placement)> {
        self.entries.iter().map(|(a, p)| (*a, p))
    }
}

/// One entry's value: a placement, or `None` for `"ignore"`.
fn parse_entry(
    key: &str,
    activity: TeamsActivity,
    value: &Value,
) -> Result<Option<Placement>, RulesError> {
    let bad = || RulesError::BadValue {
        key: cut(key),
        found: cut(&value.to_string()),
    };
    let fields = match value {
        Value::String(s) if s == "ignore" => return Ok(None),
        Value::Object(fields) => fields,
        _ => return Err(bad()),
    };
    if fields.keys().any(|k| k != "presence" && k != "message") {
        return Err(bad());
    }
    let Some(Value::String(presence)) = fields.get("presence") else {
        return Err(bad());
    };
    let message = match fields.get("message") {
        None => format!("Teams: {activity}"),
        Some(Value::String(m)) => m.trim().to_owned(),
        Some(_) => return Err(bad()),
    };
    let len = message.chars().count();
    if len > MAX_MESSAGE {
        return Err(RulesError::MessageTooLong { key: cut(key), len });
    }
    Ok(Some(Placement {
        presence: choice(key, presence)?,
        message,
    }))
}

fn choice(key: &str, presence: &str) -> Result<PresenceChoice, RulesError> {
    if let Some(system) = SystemPresence::parse(presence) {
        if !AWAY_PRESENCES.contains(&system) {
            return Err(RulesError::Reachable {
                key: cut(key),
                presence: system.as_str().to_owned(),
            });
        }
        return Ok(PresenceChoice::System(system));
    }
    if is_uuid(presence) {
        return Ok(PresenceChoice::Definition(presence.to_ascii_lowercase()));
    }
    Err(RulesError::UnknownPresence {
        key: cut(key),
        presence: cut(presence),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use TeamsActivity::*;

    fn system(rules: &TeamsToGenesys, activity: TeamsActivity) -> Option<SystemPresence> {
        match rules.placement(activity).map(|p| &p.presence) {
            Some(PresenceChoice::System(p)) => Some(*p),
            _ => None,
        }
    }

    #[test]
    fn by_default_calls_meetings_and_presenting_take_the_agent_off_and_nothing_else() {
        let rules = TeamsToGenesys::from_json("").unwrap();
        assert_eq!(system(&rules, InACall), Some(SystemPresence::Busy));
        assert_eq!(
            system(&rules, InAConferenceCall),
            Some(SystemPresence::Busy)
        );
        assert_eq!(system(&rules, InAMeeting), Some(SystemPresence::Meeting));
        assert_eq!(system(&rules, Presenting), Some(SystemPresence::Busy));
        let mapped: Vec<_> = rules.entries().map(|(a, _)| a).collect();
        assert_eq!(mapped, [InACall, InAConferenceCall, InAMeeting, Presenting]);
        assert_eq!(
            rules.placement(InAMeeting).unwrap().message,
            "In a Teams meeting"
        );
    }

    #[test]
    fn entries_override_add_and_remove_defaults() {
        let id = "0c1b2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d";
        let raw = format!(
            r#"{{"inameeting": {{"presence": "{}"}}, "DoNotDisturb": {{"presence": "Away", "message": " Focus "}}, "Presenting": "ignore"}}"#,
            id.to_uppercase()
        );
        let rules = TeamsToGenesys::from_json(&raw).unwrap();
        let meeting = rules.placement(InAMeeting).unwrap();
        assert_eq!(meeting.presence, PresenceChoice::Definition(id.to_owned()));
        assert_eq!(meeting.message, "Teams: InAMeeting");
        assert_eq!(system(&rules, DoNotDisturb), Some(SystemPresence::Away));
        assert_eq!(rules.placement(DoNotDisturb).unwrap().message, "Focus");
        assert_eq!(rules.placement(Presenting), None);
        assert!(rules.placement(InACall).is_some());
    }

    #[test]
    fn each_bad_entry_is_named() {
        let cases: &[(&str, RulesError)] = &[
            ("[1]", RulesError::NotAnObject("found [1]".into())),
            (
                r#"{"Meeting": "ignore"}"#,
                RulesError::UnknownActivity("Meeting".into()),
            ),
            (
                r#"{"InACall": "ignore", "inacall": "ignore"}"#,
                RulesError::DuplicateActivity("inacall".into()),
            ),
            (
                r#"{"InACall": "busy"}"#,
                RulesError::BadValue {
                    key: "InACall".into(),
                    found: "\"busy\"".into(),
                },
            ),
            (
                r#"{"InACall": {"presence": "BUSY", "colour": "red"}}"#,
                RulesError::BadValue {
                    key: "InACall".into(),
                    found: r#"{"colour":"red","presence":"BUSY"}"#.into(),
                },
            ),
            (
                r#"{"InACall": {"presence": "Lunch"}}"#,
                RulesError::UnknownPresence {
                    key: "InACall".into(),
                    presence: "Lunch".into(),
                },
            ),
            (
                r#"{"InACall": {"presence": "On Queue"}}"#,
                RulesError::Reachable {
                    key: "InACall".into(),
                    presence: "ON_QUEUE".into(),
                },
            ),
            (
                r#"{"InACall": {"presence": "OFFLINE"}}"#,
                RulesError::Reachable {
                    key: "InACall".into(),
                    presence: "OFFLINE".into(),
                },
            ),
            (
                r#"{"InACall": "ignore", "InAConferenceCall": "ignore", "InAMeeting": "ignore", "Presenting": "ignore"}"#,
                RulesError::Empty,
            ),
        ];
        for (raw, expected) in cases {
            assert_eq!(
                TeamsToGenesys::from_json(raw).as_ref(),
                Err(expected),
                "{raw}"
            );
        }
        let long = format!(
            r#"{{"InACall": {{"presence": "BUSY", "message": "{}"}}}}"#,
            "m".repeat(201)
        );
        assert_eq!(
            TeamsToGenesys::from_json(&long),
            Err(RulesError::MessageTooLong {
                key: "InACall".into(),
                len: 201
            })
        );
    }

    #[test]
    fn errors_say_what_is_allowed_and_cut_what_was_given() {
        let huge = format!(r#"{{"{}": "ignore"}}"#, "k".repeat(10_000));
        let message = TeamsToGenesys::from_json(&huge).unwrap_err().to_string();
        assert!(message.len() < 600, "{message}");
        assert!(message.contains("InAMeeting"), "{message}");
        let reachable = TeamsToGenesys::from_json(r#"{"InACall": {"presence": "AVAILABLE"}}"#)
            .unwrap_err()
            .to_string();
        assert!(
            reachable.contains("BUSY, MEETING, AWAY, BREAK, MEAL, TRAINING"),
            "{reachable}"
        );
    }
}
