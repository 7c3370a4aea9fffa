//! The two settings that decide how the directions share an agent: `PRESENCE_MODE` (what the
//! forward direction writes while the agent can be reached) and `ON_QUEUE_POLICY` (whether the
//! watcher may take an On Queue agent off queue).

use crate::domain::mapping::{MappingError, PresenceMapping, Rule};
use crate::domain::presence::{RoutingStatus, SystemPresence};

/// What the forward direction writes to Teams.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PresenceMode {
    /// Every mapped Genesys state becomes a preferred presence (which hides the agent's own
    /// Teams activity from everyone, Graph's reads included).
    #[default]
    OneWay,
    /// While the agent can be reached in Genesys (Available, On Queue), nothing that masks
    /// Teams: what we set is cleared, and Teams shows the agent's own calls and meetings,
    /// which the watcher reads. The other states keep their preferred presence.
    TwoWay,
}

/// The Genesys states in which an agent can be reached: in two-way mode, nothing masks Teams.
pub const REACHABLE: &[SystemPresence] = &[SystemPresence::Available, SystemPresence::OnQueue];

/// The routing statuses of an agent who can be routed to (a rule setting a preferred presence
/// for one of them would mask Teams exactly when the watcher must see it).
const ROUTABLE: &[RoutingStatus] = &[
    RoutingStatus::OffQueue,
    RoutingStatus::Idle,
    RoutingStatus::NotResponding,
];

impl PresenceMode {
    /// Parses `one-way` or `two-way`.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim() {
            "one-way" => Some(PresenceMode::OneWay),
            "two-way" => Some(PresenceMode::TwoWay),
            _ => None,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            PresenceMode::OneWay => "one-way",
            PresenceMode::TwoWay => "two-way",
        }
    }

    /// The mapping this mode starts from, with the operator's `PRESENCE_MAPPING` applied. In
    /// two-way mode the reachable states default to `clear`, and an entry that sets or keeps
    /// a preferred presence for one of them (or for a routable routing status) is refused.
    pub fn mapping(self, raw: &str) -> Result<PresenceMapping, MappingError> {
        if self == PresenceMode::OneWay {
            return PresenceMapping::from_json(raw);
        }
        let base = REACHABLE.iter().fold(PresenceMapping::default(), |m, p| {
            m.with_system(*p, Rule::Clear)
        });
        let mapping = PresenceMapping::from_json_over(base, raw)?;
        for presence in REACHABLE {
            if mapping.system_rule(*presence) != Some(Rule::Clear) {
                let key = presence.as_str().to_owned();
                return Err(MappingError::MasksTeams { key });
            }
        }
        for status in ROUTABLE {
            let observed = crate::domain::presence::Observed::Known(*status);
            if mapping
                .routing_rule(&observed)
                .is_some_and(|r| r != Rule::Clear)
            {
                let key = format!("routing:{}", status.as_str());
                return Err(MappingError::MasksTeams { key });
            }
        }
        Ok(mapping)
    }
}

/// Whether the watcher may take an agent who is On Queue off queue for a Teams activity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OnQueuePolicy {
    /// Never touch an On Queue agent (the blueprint's choice): only Available agents are
    /// taken off.
    #[default]
    Leave,
    /// Take them off queue to the mapped presence, and put them back On Queue after.
    TakeOff,
}

impl OnQueuePolicy {
    /// Parses `leave` or `take-off`.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim() {
            "leave" => Some(OnQueuePolicy::Leave),
            "take-off" => Some(OnQueuePolicy::TakeOff),
            _ => None,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            OnQueuePolicy::Leave => "leave",
            OnQueuePolicy::TakeOff => "take-off",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::PresenceValue;
    use crate::domain::mapping::Target;
    use crate::domain::presence::Observed;
    use crate::domain::teams::{TeamsPresence, TeamsState};

    fn target(mapping: &PresenceMapping, presence: SystemPresence) -> Target {
        let value = PresenceValue {
            system: Observed::Known(presence),
            definition_id: None,
        };
        mapping.resolve(Some(&value), None).0
    }

    #[test]
    fn two_way_clears_the_reachable_states_and_keeps_the_others() {
        let two_way = PresenceMode::TwoWay.mapping("").unwrap();
        let one_way = PresenceMode::OneWay.mapping("").unwrap();
        let cleared = Target::Teams(TeamsState::Cleared);
        let busy = Target::Teams(TeamsState::Preferred(TeamsPresence::Busy));
        assert_eq!(target(&two_way, SystemPresence::OnQueue), cleared);
        assert_eq!(target(&two_way, SystemPresence::Available), cleared);
        assert_eq!(target(&one_way, SystemPresence::OnQueue), busy);
        for presence in SystemPresence::ALL
            .iter()
            .filter(|p| !REACHABLE.contains(p))
        {
            assert_eq!(
                target(&two_way, *presence),
                target(&one_way, *presence),
                "{presence}"
            );
        }
    }

    #[test]
    fn two_way_refuses_an_entry_that_would_mask_teams_and_names_it() {
        let cases = [
            (
                r#"{"On Queue": {"availability": "Busy", "activity": "Busy"}}"#,
                "ON_QUEUE",
            ),
            (
                r#"{"AVAILABLE": {"availability": "Available", "activity": "Available"}}"#,
                "AVAILABLE",
            ),
            (
                r#"{"routing:IDLE": {"availability": "Busy", "activity": "Busy"}}"#,
                "routing:IDLE",
            ),
            (r#"{"ON_QUEUE": "ignore"}"#, "ON_QUEUE"),
            (r#"{"routing:OFF_QUEUE": "ignore"}"#, "routing:OFF_QUEUE"),
        ];
        for (raw, key) in cases {
            assert_eq!(
                PresenceMode::TwoWay.mapping(raw),
                Err(MappingError::MasksTeams {
                    key: key.to_owned()
                }),
                "{raw}"
            );
            assert!(PresenceMode::OneWay.mapping(raw).is_ok(), "{raw}");
        }
        // Interacting agents are never changed by the watcher: their rule may mask.
        let interacting = r#"{"routing:INTERACTING": {"availability": "Busy", "activity": "Busy"}, "ON_QUEUE": "clear"}"#;
        assert!(PresenceMode::TwoWay.mapping(interacting).is_ok());
    }

    #[test]
    fn settings_parse_their_documented_spellings_only() {
        assert_eq!(PresenceMode::parse("two-way"), Some(PresenceMode::TwoWay));
        assert_eq!(PresenceMode::parse("twoway"), None);
        assert_eq!(
            OnQueuePolicy::parse(" take-off "),
            Some(OnQueuePolicy::TakeOff)
        );
        assert_eq!(OnQueuePolicy::parse("takeoff"), None);
        for policy in [OnQueuePolicy::Leave, OnQueuePolicy::TakeOff] {
            assert_eq!(OnQueuePolicy::parse(policy.as_str()), Some(policy));
        }
    }
}
