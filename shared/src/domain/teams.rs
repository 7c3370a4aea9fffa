//! Microsoft Teams presence as Graph's `setUserPreferredPresence` accepts it, and the state a
//! user's Teams presence can be left in by this function.

use serde::Serialize;
use std::fmt;

/// One of the availability/activity pairs Graph accepts for a user's preferred presence.
///
/// Graph rejects every other combination, so the pair is one value rather than two fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TeamsPresence {
    Available,
    Busy,
    DoNotDisturb,
    BeRightBack,
    Away,
    OffWork,
}

impl TeamsPresence {
    pub const ALL: &'static [TeamsPresence] = &[
        TeamsPresence::Available,
        TeamsPresence::Busy,
        TeamsPresence::DoNotDisturb,
        TeamsPresence::BeRightBack,
        TeamsPresence::Away,
        TeamsPresence::OffWork,
    ];

    pub const fn availability(self) -> &'static str {
        match self {
            TeamsPresence::Available => "Available",
            TeamsPresence::Busy => "Busy",
            TeamsPresence::DoNotDisturb => "DoNotDisturb",
            TeamsPresence::BeRightBack => "BeRightBack",
            TeamsPresence::Away => "Away",
            TeamsPresence::OffWork => "Offline",
        }
    }

    pub const fn activity(self) -> &'static str {
        match self {
            TeamsPresence::OffWork => "OffWork",
            other => other.availability(),
        }
    }

    /// The pair Graph accepts for these two strings (exact spelling, as Graph's enums are).
    pub fn from_pair(availability: &str, activity: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|p| p.availability() == availability && p.activity() == activity)
    }
}

impl fmt::Display for TeamsPresence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.availability(), self.activity())
    }
}

impl Serialize for TeamsPresence {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("TeamsPresence", 2)?;
        s.serialize_field("availability", self.availability())?;
        s.serialize_field("activity", self.activity())?;
        s.end()
    }
}

/// What this function last made (or wants to make) of a user's Teams presence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TeamsState {
    /// A preferred presence set by this function.
    Preferred(TeamsPresence),
    /// No preferred presence from this function: Teams shows the user's own client.
    Cleared,
}

impl TeamsState {
    /// Compact encoding for the state table: `Busy/Busy` or `clear`.
    pub fn encode(self) -> String {
        match self {
            TeamsState::Preferred(p) => p.to_string(),
            TeamsState::Cleared => "clear".to_owned(),
        }
    }

    pub fn decode(encoded: &str) -> Option<Self> {
        if encoded == "clear" {
            return Some(TeamsState::Cleared);
        }
        let (availability, activity) = encoded.split_once('/')?;
        TeamsPresence::from_pair(availability, activity).map(TeamsState::Preferred)
    }
}

impl fmt::Display for TeamsState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TeamsState::Preferred(p) => p.fmt(f),
            TeamsState::Cleared => f.write_str("cleared"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_accepts_exactly_six_pairs() {
        let accepted = [
            ("Available", "Available"),
            ("Busy", "Busy"),
            ("DoNotDisturb", "DoNotDisturb"),
            ("BeRightBack", "BeRightBack"),
            ("Away", "Away"),
            ("Offline", "OffWork"),
        ];
        for (a, b) in accepted {
            let p = TeamsPresence::from_pair(a, b).unwrap_or_else(|| panic!("{a}/{b}"));
            assert_eq!((p.availability(), p.activity()), (a, b));
        }
        for (a, b) in [
            ("Busy", "Away"),
            ("Offline", "Offline"),
            ("busy", "busy"),
            ("Busy", "InACall"),
        ] {
            assert_eq!(TeamsPresence::from_pair(a, b), None, "{a}/{b}");
        }
    }

    #[test]
    fn teams_state_encoding_round_trips() {
        for p in TeamsPresence::ALL {
            let s = TeamsState::Preferred(*p);
            assert_eq!(TeamsState::decode(&s.encode()), Some(s));
        }
        assert_eq!(TeamsState::decode("clear"), Some(TeamsState::Cleared));
        assert_eq!(TeamsState::decode("Busy/Away"), None);
        assert_eq!(TeamsState::decode("pending"), None);
    }

    #[test]
    fn teams_presence_serialises_as_graph_body_fields() {
        let json = serde_json::to_value(TeamsPresence::OffWork).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"availability":"Offline","activity":"OffWork"})
        );
    }
}
