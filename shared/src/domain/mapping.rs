//! How Genesys presence and routing status become a Teams presence: the default table and the
//! operator's `PRESENCE_MAPPING` overrides, validated once at start-up.

use super::event::PresenceValue;
use super::excerpt::cut;
use super::left::LeftReason;
use super::presence::{Observed, RoutingStatus, SystemPresence};
use super::teams::{TeamsPresence, TeamsState};
use std::collections::HashMap;
use std::fmt;

/// What one mapping entry asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Set this preferred presence.
    Set(TeamsPresence),
    /// Clear the preferred presence this function set.
    Clear,
    /// Leave Teams as it is.
    Ignore,
}

/// Why the Teams state is left alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeepReason {
    /// The mapping says `ignore` for what decided.
    Ignored,
    /// Genesys sent a value this mapping does not know (a new system presence or routing status).
    Unmapped,
    /// No presence has been seen for the user yet, and the routing status alone decides nothing.
    NoPresenceYet,
}

/// The Teams state a user's Genesys state maps to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Teams(TeamsState),
    Keep(KeepReason),
}

/// Which mapping key decided a [`Target`], for logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MatchedKey {
    Routing(RoutingStatus),
    Definition(String),
    System(String),
    None,
    /// Not the mapping: the sync let the user go, so what we set is cleared.
    Left(LeftReason),
    /// The watcher set the recorded presence: the key of the presence it replaced decided.
    Watched(Box<MatchedKey>),
}

impl fmt::Display for MatchedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MatchedKey::Routing(s) => write!(f, "routing:{s}"),
            MatchedKey::Definition(id) => write!(f, "{id}"),
            MatchedKey::System(s) => f.write_str(s),
            MatchedKey::None => f.write_str("none"),
            MatchedKey::Left(reason) => write!(f, "left ({reason})"),
            MatchedKey::Watched(replaced) => write!(f, "watch (as {replaced})"),
        }
    }
}

/// An invalid `PRESENCE_MAPPING`, naming the offending entry.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MappingError {
    #[error("PRESENCE_MAPPING is not a JSON object: {0}")]
    NotAnObject(String),
    #[error(
        "PRESENCE_MAPPING key {0:?} is not a system presence (one of {presences}), a presence definition id (a UUID), or routing:<STATUS> with STATUS one of {statuses}",
        presences = list(SystemPresence::ALL.iter().map(|p| p.as_str())),
        statuses = list(RoutingStatus::ALL.iter().map(|s| s.as_str()))
    )]
    UnknownKey(String),
    #[error(
        "PRESENCE_MAPPING key {0:?} appears more than once (spellings of the same key count as one)"
    )]
    DuplicateKey(String),
    #[error(
        "PRESENCE_MAPPING entry {key:?}: {availability:?}/{activity:?} is not a pair Graph accepts for setUserPreferredPresence (Available/Available, Busy/Busy, DoNotDisturb/DoNotDisturb, BeRightBack/BeRightBack, Away/Away, Offline/OffWork)"
    )]
    UnsupportedPair {
        key: String,
        availability: String,
        activity: String,
    },
    #[error(
        "PRESENCE_MAPPING entry {key:?}: value must be {{\"availability\":\"…\",\"activity\":\"…\"}}, \"clear\" or \"ignore\", found {found}"
    )]
    BadValue { key: String, found: String },
    #[error(
        "PRESENCE_MAPPING entry {key:?} must be \"clear\" in PRESENCE_MODE=two-way: a preferred presence set or kept there hides the agent's own Teams calls and meetings from presence-watch (or use PRESENCE_MODE=one-way)"
    )]
    MasksTeams { key: String },
}

fn list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

/// The validated mapping from Genesys state to Teams state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresenceMapping {
    system: HashMap<SystemPresence, Rule>,
    definitions: HashMap<String, Rule>,
    routing: HashMap<RoutingStatus, Rule>,
}

impl Default for PresenceMapping {
    /// The default table: a superset of the Genesys blueprint's three triggers.
    fn default() -> Self {
        use SystemPresence::*;
        let system = SystemPresence::ALL
            .iter()
            .map(|p| {
                let rule = match p {
                    Available => Rule::Set(TeamsPresence::Available),
                    OnQueue | Busy | Meeting | Training => Rule::Set(TeamsPresence::Busy),
                    Away | Break | Meal | Idle => Rule::Set(TeamsPresence::Away),
                    Offline => Rule::Clear,
                };
                (*p, rule)
            })
            .collect();
        PresenceMapping {
            system,
            definitions: HashMap::new(),
            routing: HashMap::new(),
        }
    }
}

impl PresenceMapping {
    /// The default table with the operator's overrides from `PRESENCE_MAPPING` applied.
    /// An empty or whitespace-only value means "defaults only".
    pub fn from_json(raw: &str) -> Result<Self, MappingError> {
        Self::from_json_over(PresenceMapping::default(), raw)
    }

    /// `base` with the operator's overrides from `PRESENCE_MAPPING` applied.
    pub fn from_json_over(base: PresenceMapping, raw: &str) -> Result<Self, MappingError> {
        let mut mapping = base;
        if raw.trim().is_empty() {
            return Ok(mapping);
        }
        let value: serde_json::Value =
            serde_json::from_str(raw).map_err(|e| MappingError::NotAnObject(e.to_string()))?;
        let serde_json::Value::Object(entries) = value else {
            return Err(MappingError::NotAnObject(format!("found {}", kind(&value))));
        };
        let mut seen = std::collections::HashSet::new();
        for (key, value) in &entries {
            let rule = parse_rule(key, value)?;
            let slot = parse_key(key)?;
            if !seen.insert(slot.clone()) {
                return Err(MappingError::DuplicateKey(cut(key)));
            }
            match slot {
                Key::System(p) => {
                    mapping.system.insert(p, rule);
                }
                Key::Definition(id) => {
                    mapping.definitions.insert(id, rule);
                }
                Key::Routing(s) => {
                    mapping.routing.insert(s, rule);
                }
            }
        }
        Ok(mapping)
    }

    /// This mapping with `presence` mapped to `rule`.
    pub fn with_system(mut self, presence: SystemPresence, rule: Rule) -> Self {
        self.system.insert(presence, rule);
        self
    }

    /// The rule for a system presence, when the mapping has one.
    pub fn system_rule(&self, presence: SystemPresence) -> Option<Rule> {
        self.system.get(&presence).copied()
    }

    /// Whether any routing status is mapped, i.e. whether routing status can change Teams.
    pub fn has_routing_rules(&self) -> bool {
        !self.routing.is_empty()
    }

    /// The rule for a routing status, when the mapping has one.
    pub fn routing_rule(&self, status: &Observed<RoutingStatus>) -> Option<Rule> {
        match status {
            Observed::Known(s) => self.routing.get(s).copied(),
            Observed::Unknown(_) => None,
        }
    }

    /// The Teams state for a user whose newest presence and routing status are these.
    /// A configured routing status wins over presence while it lasts.
    pub fn resolve(
        &self,
        presence: Option<&PresenceValue>,
        routing: Option<&Observed<RoutingStatus>>,
    ) -> (Target, MatchedKey) {
        if let Some(status) = routing
            && let Some(rule) = self.routing_rule(status)
            && let Observed::Known(known) = status
        {
            return (target(rule), MatchedKey::Routing(*known));
        }
        let Some(presence) = presence else {
            return (Target::Keep(KeepReason::NoPresenceYet), MatchedKey::None);
        };
        if let Some(id) = &presence.definition_id
            && let Some(rule) = self.definitions.get(id)
        {
            return (target(*rule), MatchedKey::Definition(id.clone()));
        }
        match &presence.system {
            Observed::Known(p) => match self.system.get(p) {
                Some(rule) => (target(*rule), MatchedKey::System(p.as_str().to_owned())),
                None => (Target::Keep(KeepReason::Unmapped), MatchedKey::None),
            },
            Observed::Unknown(raw) => (
                Target::Keep(KeepReason::Unmapped),
                MatchedKey::System(raw.clone()),
            ),
        }
    }
}

impl PresenceMapping {
    /// The effective table, one line per key as `PRESENCE_MAPPING` spells it (routing
    /// statuses first, then presence definitions, then system presences), each with what it
    /// sets in Teams: `{availability}/{activity}`, `clear` or `ignore`.
    pub fn table(&self) -> Vec<(String, String)> {
        let rule = |rule: &Rule| match rule {
            Rule::Set(p) => format!("{}/{}", p.availability(), p.activity()),
            Rule::Clear => "clear".to_owned(),
            Rule::Ignore => "ignore".to_owned(),
        };
        let mut routing: Vec<_> = (self.routing.iter())
            .map(|(s, r)| (format!("routing:{}", s.as_str()), rule(r)))
            .collect();
        let mut definitions: Vec<_> = (self.definitions.iter())
            .map(|(id, r)| (id.clone(), rule(r)))
            .collect();
        routing.sort();
        definitions.sort();
        let system = SystemPresence::ALL
            .iter()
            .filter_map(|p| self.system.get(p).map(|r| (p.as_str().to_owned(), rule(r))));
        routing
            .into_iter()
            .chain(definitions)
            .chain(system)
            .collect()
    }
}

fn target(rule: Rule) -> Target {
    match rule {
        Rule::Set(p) => Target::Teams(TeamsState::Preferred(p)),
        Rule::Clear => Target::Teams(TeamsState::Cleared),
        Rule::Ignore => Target::Keep(KeepReason::Ignored),
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    System(SystemPresence),
    Definition(String),
    Routing(RoutingStatus),
}

fn parse_key(key: &str) -> Result<Key, MappingError> {
    if let Some(status) = key.strip_prefix("routing:") {
        return RoutingStatus::parse(status)
            .map(Key::Routing)
            .ok_or_else(|| MappingError::UnknownKey(cut(key)));
    }
    if let Some(p) = SystemPresence::parse(key) {
        return Ok(Key::System(p));
    }
    if super::ids::is_uuid(key) {
        return Ok(Key::Definition(key.to_ascii_lowercase()));
    }
    Err(MappingError::UnknownKey(cut(key)))
}

fn parse_rule(key: &str, value: &serde_json::Value) -> Result<Rule, MappingError> {
    use serde_json::Value;
    let bad = || MappingError::BadValue {
        key: cut(key),
        found: cut(&value.to_string()),
    };
    match value {
        Value::String(s) if s == "clear" => Ok(Rule::Clear),
        Value::String(s) if s == "ignore" => Ok(Rule::Ignore),
        Value::Object(fields) => {
            if fields.len() != 2 {
                return Err(bad());
            }
            let (Some(Value::String(availability)), Some(Value::String(activity))) =
                (fields.get("availability"), fields.get("activity"))
            else {
                return Err(bad());
            };
            TeamsPresence::from_pair(availability, activity)
                .map(Rule::Set)
                .ok_or_else(|| MappingError::UnsupportedPair {
                    key: cut(key),
                    availability: cut(availability),
                    activity: cut(activity),
                })
        }
        _ => Err(bad()),
    }
}

fn kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::presence::Observed::{Known, Unknown};

    fn presence(system: &str, definition: Option<&str>) -> PresenceValue {
        PresenceValue {
            system: SystemPresence::observe(system),
            definition_id: definition.map(str::to_owned),
        }
    }

    fn resolve(m: &PresenceMapping, system: &str, routing: Option<RoutingStatus>) -> Target {
        m.resolve(Some(&presence(system, None)), routing.map(Known).as_ref())
            .0
    }

    const fn set(p: TeamsPresence) -> Target {
        Target::Teams(TeamsState::Preferred(p))
    }

    #[test]
    fn default_mapping_follows_the_documented_table() {
        let m = PresenceMapping::default();
        use TeamsPresence::*;
        let table = [
            ("AVAILABLE", set(Available)),
            ("ON_QUEUE", set(Busy)),
            ("BUSY", set(Busy)),
            ("MEETING", set(Busy)),
            ("TRAINING", set(Busy)),
            ("AWAY", set(Away)),
            ("BREAK", set(Away)),
            ("MEAL", set(Away)),
            ("IDLE", set(Away)),
            ("OFFLINE", Target::Teams(TeamsState::Cleared)),
        ];
        for (system, expected) in table {
            assert_eq!(resolve(&m, system, None), expected, "{system}");
        }
    }

    #[test]
    fn default_mapping_ignores_routing_status() {
        let m = PresenceMapping::default();
        assert!(!m.has_routing_rules());
        for status in RoutingStatus::ALL {
            assert_eq!(
                resolve(&m, "On Queue", Some(*status)),
                set(TeamsPresence::Busy)
            );
        }
    }

    #[test]
    fn empty_configuration_means_defaults() {
        assert_eq!(
            PresenceMapping::from_json("").unwrap(),
            PresenceMapping::default()
        );
        assert_eq!(
            PresenceMapping::from_json("  ").unwrap(),
            PresenceMapping::default()
        );
        assert_eq!(
            PresenceMapping::from_json("{}").unwrap(),
            PresenceMapping::default()
        );
    }

    #[test]
    fn overrides_replace_only_their_own_key() {
        let m = PresenceMapping::from_json(
            r#"{"On Queue":{"availability":"DoNotDisturb","activity":"DoNotDisturb"},"MEAL":"ignore","AVAILABLE":"clear"}"#,
        )
        .unwrap();
        assert_eq!(
            resolve(&m, "ON_QUEUE", None),
            set(TeamsPresence::DoNotDisturb)
        );
        assert_eq!(resolve(&m, "MEAL", None), Target::Keep(KeepReason::Ignored));
        assert_eq!(
            resolve(&m, "AVAILABLE", None),
            Target::Teams(TeamsState::Cleared)
        );
        assert_eq!(resolve(&m, "BREAK", None), set(TeamsPresence::Away));
    }

    #[test]
    fn presence_definition_id_wins_over_system_presence() {
        let id = "2c1a5a9e-0000-4000-8000-00000000abcd";
        let m = PresenceMapping::from_json(&format!(
            r#"{{"{}":{{"availability":"BeRightBack","activity":"BeRightBack"}}}}"#,
            id.to_uppercase()
        ))
        .unwrap();
        let secondary = presence("BREAK", Some(id));
        assert_eq!(
            m.resolve(Some(&secondary), None),
            (
                set(TeamsPresence::BeRightBack),
                MatchedKey::Definition(id.to_owned())
            )
        );
        let other = presence("BREAK", Some("3c1a5a9e-0000-4000-8000-00000000abcd"));
        assert_eq!(m.resolve(Some(&other), None).0, set(TeamsPresence::Away));
    }

    #[test]
    fn configured_routing_status_wins_over_presence_while_it_lasts() {
        let m = PresenceMapping::from_json(
            r#"{"routing:INTERACTING":{"availability":"DoNotDisturb","activity":"DoNotDisturb"}}"#,
        )
        .unwrap();
        assert!(m.has_routing_rules());
        assert_eq!(
            resolve(&m, "ON_QUEUE", Some(RoutingStatus::Interacting)),
            set(TeamsPresence::DoNotDisturb)
        );
        assert_eq!(
            resolve(&m, "ON_QUEUE", Some(RoutingStatus::Idle)),
            set(TeamsPresence::Busy)
        );
    }

    #[test]
    fn routing_rule_applies_before_any_presence_is_known() {
        let m = PresenceMapping::from_json(r#"{"routing:COMMUNICATING":"clear"}"#).unwrap();
        let routing = Known(RoutingStatus::Communicating);
        assert_eq!(
            m.resolve(None, Some(&routing)).0,
            Target::Teams(TeamsState::Cleared)
        );
        let idle = Known(RoutingStatus::Idle);
        assert_eq!(
            m.resolve(None, Some(&idle)).0,
            Target::Keep(KeepReason::NoPresenceYet)
        );
    }

    #[test]
    fn unknown_system_presence_is_unmapped_unless_its_definition_is_mapped() {
        let m = PresenceMapping::default();
        assert_eq!(
            resolve(&m, "FOCUS", None),
            Target::Keep(KeepReason::Unmapped)
        );
        let id = "4c1a5a9e-0000-4000-8000-00000000abcd";
        let m = PresenceMapping::from_json(&format!(r#"{{"{id}":"clear"}}"#)).unwrap();
        assert_eq!(
            m.resolve(Some(&presence("FOCUS", Some(id))), None).0,
            Target::Teams(TeamsState::Cleared)
        );
    }

    #[test]
    fn unknown_routing_status_falls_back_to_presence() {
        let m = PresenceMapping::from_json(r#"{"routing:IDLE":"ignore"}"#).unwrap();
        let routing = Unknown("PAUSED".to_owned());
        assert_eq!(
            m.resolve(Some(&presence("BUSY", None)), Some(&routing)).0,
            set(TeamsPresence::Busy)
        );
    }

    #[test]
    fn unsupported_pair_fails_naming_the_entry() {
        let err =
            PresenceMapping::from_json(r#"{"BUSY":{"availability":"Busy","activity":"InACall"}}"#)
                .unwrap_err();
        assert!(matches!(err, MappingError::UnsupportedPair { ref key, .. } if key == "BUSY"));
        assert!(err.to_string().contains("\"BUSY\""), "{err}");
        assert!(err.to_string().contains("InACall"), "{err}");
    }

    #[test]
    fn unknown_key_fails_naming_the_key() {
        for key in ["ONQUEUE", "routing:LUNCH", "routing:", "not-a-uuid", ""] {
            let err = PresenceMapping::from_json(&format!(r#"{{"{key}":"clear"}}"#)).unwrap_err();
            assert_eq!(err, MappingError::UnknownKey(key.to_owned()));
            assert!(err.to_string().contains(&format!("{key:?}")), "{err}");
        }
    }

    #[test]
    fn malformed_json_fails() {
        assert!(matches!(
            PresenceMapping::from_json("{\"BUSY\":"),
            Err(MappingError::NotAnObject(_))
        ));
        assert!(matches!(
            PresenceMapping::from_json("[]"),
            Err(MappingError::NotAnObject(m)) if m.contains("an array")
        ));
    }

    #[test]
    fn bad_values_fail_naming_the_entry() {
        for value in [
            r#""Busy""#,
            r#"{"availability":"Busy"}"#,
            r#"{"availability":"Busy","activity":"Busy","expiration":"PT1H"}"#,
            r#"{"availability":1,"activity":"Busy"}"#,
            "null",
        ] {
            let err = PresenceMapping::from_json(&format!(r#"{{"MEAL":{value}}}"#)).unwrap_err();
            assert!(
                matches!(err, MappingError::BadValue { ref key, .. } if key == "MEAL"),
                "{value}: {err:?}"
            );
        }
    }

    #[test]
    fn a_huge_key_is_quoted_only_in_part() {
        let key = "K".repeat(100_000);
        let err = PresenceMapping::from_json(&format!(r#"{{"{key}":"clear"}}"#)).unwrap_err();
        assert!(err.to_string().len() < 1_000);
    }

    #[test]
    fn two_spellings_of_one_key_are_a_duplicate() {
        let err =
            PresenceMapping::from_json(r#"{"ON_QUEUE":"clear","On Queue":"ignore"}"#).unwrap_err();
        assert!(matches!(err, MappingError::DuplicateKey(_)));
    }
}
