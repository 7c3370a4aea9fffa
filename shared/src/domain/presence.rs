//! Genesys Cloud presence vocabulary: the ten system presences and the five routing statuses,
//! parsed the way Genesys spells them across topics (`ON_QUEUE` in one, `On Queue` in another).

use std::fmt;

/// Normalises a Genesys enumeration value: case-insensitive, spaces and underscores alike.
fn normalise(raw: &str) -> String {
    raw.trim()
        .chars()
        .map(|c| {
            if c == ' ' {
                '_'
            } else {
                c.to_ascii_uppercase()
            }
        })
        .collect()
}

/// A value Genesys sent that is either one we know or one it added after this code was written.
///
/// Unknown values are kept (normalised) rather than rejected: Genesys may add values, and an
/// event carrying one is still a valid, newer observation of the agent.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Observed<T> {
    Known(T),
    Unknown(String),
}

impl<T: Copy + Into<&'static str>> Observed<T> {
    /// The normalised spelling, used in logs and in the state table.
    pub fn as_str(&self) -> &str {
        match self {
            Observed::Known(value) => (*value).into(),
            Observed::Unknown(raw) => raw,
        }
    }
}

impl<T: Copy + Into<&'static str>> fmt::Display for Observed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! genesys_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in Genesys's documented order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The canonical (notification) spelling.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses any Genesys spelling; `None` when the value is not one of ours.
            pub fn parse(raw: &str) -> Option<Self> {
                let normalised = normalise(raw);
                Self::ALL.iter().copied().find(|v| v.as_str() == normalised)
            }

            /// Parses any Genesys spelling, keeping values this code does not know.
            pub fn observe(raw: &str) -> Observed<Self> {
                match Self::parse(raw) {
                    Some(known) => Observed::Known(known),
                    None => Observed::Unknown(normalise(raw)),
                }
            }
        }

        impl From<$name> for &'static str {
            fn from(value: $name) -> &'static str { value.as_str() }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

genesys_enum! {
    /// The ten Genesys Cloud system presences; secondary (org-defined) presences always carry
    /// one of these as `systemPresence`.
    SystemPresence {
        Available = "AVAILABLE",
        Away = "AWAY",
        Busy = "BUSY",
        Offline = "OFFLINE",
        Idle = "IDLE",
        OnQueue = "ON_QUEUE",
        Meal = "MEAL",
        Training = "TRAINING",
        Meeting = "MEETING",
        Break = "BREAK",
    }
}

genesys_enum! {
    /// The five ACD routing statuses of a Genesys Cloud user.
    RoutingStatus {
        OffQueue = "OFF_QUEUE",
        Idle = "IDLE",
        Interacting = "INTERACTING",
        NotResponding = "NOT_RESPONDING",
        Communicating = "COMMUNICATING",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_presence_accepts_notification_and_rest_spellings() {
        for raw in ["ON_QUEUE", "On Queue", "on_queue", "ON QUEUE", " On_Queue "] {
            assert_eq!(
                SystemPresence::parse(raw),
                Some(SystemPresence::OnQueue),
                "{raw:?}"
            );
        }
        assert_eq!(SystemPresence::parse("Break"), Some(SystemPresence::Break));
        assert_eq!(
            SystemPresence::parse("AVAILABLE"),
            Some(SystemPresence::Available)
        );
    }

    #[test]
    fn every_system_presence_round_trips_through_its_canonical_spelling() {
        assert_eq!(SystemPresence::ALL.len(), 10);
        for value in SystemPresence::ALL {
            assert_eq!(SystemPresence::parse(value.as_str()), Some(*value));
        }
    }

    #[test]
    fn every_routing_status_round_trips_through_its_canonical_spelling() {
        assert_eq!(RoutingStatus::ALL.len(), 5);
        for value in RoutingStatus::ALL {
            assert_eq!(RoutingStatus::parse(value.as_str()), Some(*value));
        }
        assert_eq!(
            RoutingStatus::parse("Not Responding"),
            Some(RoutingStatus::NotResponding)
        );
    }

    #[test]
    fn unknown_values_are_kept_normalised() {
        assert_eq!(
            SystemPresence::observe("Focus Time"),
            Observed::Unknown("FOCUS_TIME".to_owned())
        );
        assert_eq!(SystemPresence::observe("Focus Time").as_str(), "FOCUS_TIME");
        assert_eq!(
            RoutingStatus::observe("idle"),
            Observed::Known(RoutingStatus::Idle)
        );
    }

    #[test]
    fn a_near_miss_is_not_a_known_value() {
        assert_eq!(SystemPresence::parse("ONQUEUE"), None);
        assert_eq!(SystemPresence::parse(""), None);
        assert_eq!(RoutingStatus::parse("OFF-QUEUE"), None);
    }
}
