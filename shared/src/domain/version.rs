//! The version of a Genesys observation: the instant Genesys says it happened, in milliseconds
//! since the Unix epoch, so that "newest wins" is a number comparison (also inside DynamoDB
//! condition expressions).

use chrono::{DateTime, SecondsFormat, Utc};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(i64);

impl Version {
    /// The earliest instant accepted from the outside: 1970-01-01T00:00:00Z.
    pub const MIN: Version = Version(0);
    /// The latest: 9999-12-31T23:59:59.999Z, the last instant an RFC 3339 four-digit year
    /// can write. Every version from the outside lies in `MIN..=MAX`, so the difference of
    /// any two (about 2.5 × 10^14 ms) is far from overflowing an `i64`.
    pub const MAX: Version = Version(253_402_300_799_999);

    pub const fn from_millis(millis: i64) -> Self {
        Version(millis)
    }

    pub const fn millis(self) -> i64 {
        self.0
    }

    /// Parses an RFC 3339 timestamp as Genesys writes them (`2026-11-02T08:59:58.101Z`);
    /// `None` for anything else, and for an instant outside [`Version::MIN`]`..=`[`Version::MAX`].
    pub fn parse(raw: &str) -> Option<Self> {
        DateTime::parse_from_rfc3339(raw)
            .ok()
            .and_then(|t| Self::from_datetime(t.to_utc()))
    }

    /// The instant as a version; `None` outside [`Version::MIN`]`..=`[`Version::MAX`] (chrono
    /// itself reaches the year 262143).
    pub fn from_datetime(t: DateTime<Utc>) -> Option<Self> {
        Some(Version(t.timestamp_millis())).filter(|v| (Self::MIN..=Self::MAX).contains(v))
    }

    /// How many milliseconds `self` is ahead of `other` (negative when behind), saturating
    /// rather than overflowing for versions that did not come through [`Version::parse`].
    pub const fn ms_ahead_of(self, other: Version) -> i64 {
        self.0.saturating_sub(other.0)
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
    fn timestamps_outside_the_years_1970_to_9999_are_refused() {
        assert_eq!(
            Version::parse("9999-12-31T23:59:59.999Z").map(Version::millis),
            Some(253_402_300_799_999)
        );
        assert_eq!(
            Version::parse("1970-01-01T00:00:00Z").map(Version::millis),
            Some(0)
        );
        for raw in [
            "1969-12-31T23:59:59.999Z",
            "0000-01-01T00:00:00Z",
            // Year 10000 in UTC.
            "9999-12-31T23:59:59.999-01:00",
        ] {
            assert_eq!(Version::parse(raw), None, "{raw:?}");
        }
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
