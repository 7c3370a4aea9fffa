//! The version of a Genesys observation: the instant Genesys says it happened, in milliseconds
//! since the Unix epoch, so that "newest wins" is a number comparison (also inside DynamoDB
//! condition expressions).

use chrono::{DateTime, SecondsFormat, Utc};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(i64);

impl Version {
    pub const fn from_millis(millis: i64) -> Self {
        Version(millis)
    }

    pub const fn millis(self) -> i64 {
        self.0
    }

    /// Parses an RFC 3339 timestamp as Genesys writes them (`2026-11-02T08:59:58.101Z`).
    pub fn parse(raw: &str) -> Option<Self> {
        DateTime::parse_from_rfc3339(raw)
            .ok()
            .map(|t| Version(t.timestamp_millis()))
    }

    pub fn from_datetime(t: DateTime<Utc>) -> Self {
        Version(t.timestamp_millis())
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match DateTime::<Utc>::from_timestamp_millis(self.0) {
            Some(t) => f.write_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true)),
            None => write!(f, "{}ms", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_genesys_timestamps_with_and_without_fraction() {
        let a = Version::parse("2026-11-02T08:59:58.101Z").unwrap();
        let b = Version::parse("2026-11-02T08:59:58Z").unwrap();
        assert_eq!(a.millis() - b.millis(), 101);
        assert_eq!(a.to_string(), "2026-11-02T08:59:58.101Z");
    }

    #[test]
    fn offsets_are_honoured() {
        assert_eq!(
            Version::parse("2026-11-02T09:59:58.000+01:00"),
            Version::parse("2026-11-02T08:59:58Z")
        );
    }

    #[test]
    fn rejects_what_is_not_a_timestamp() {
        for raw in [
            "",
            "yesterday",
            "2026-11-02",
            "2026-13-02T08:59:58Z",
            "1730537998",
        ] {
            assert_eq!(Version::parse(raw), None, "{raw:?}");
        }
    }
}
