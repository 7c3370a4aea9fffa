//! The Teams activities Graph reports in a user's aggregated presence (`activity` of the
//! presence resource), as the reverse direction reads them.

use crate::domain::presence::Observed;
use std::fmt;

macro_rules! activities {
    ($($variant:ident),+ $(,)?) => {
        /// A Teams activity: "Available, Away, BeRightBack, Busy, DoNotDisturb, InACall,
        /// InAConferenceCall, Inactive, InAMeeting, Offline, OffWork, OutOfOffice,
        /// PresenceUnknown, Presenting, UrgentInterruptionsOnly" (Graph v1.0, presence
        /// resource, `activity`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum TeamsActivity { $($variant),+ }

        impl TeamsActivity {
            /// Every documented activity.
            pub const ALL: &'static [TeamsActivity] = &[$(TeamsActivity::$variant),+];

            /// As Graph spells it.
            pub const fn as_str(self) -> &'static str {
                match self { $(TeamsActivity::$variant => stringify!($variant)),+ }
            }
        }
    };
}

activities!(
    Available,
    Away,
    BeRightBack,
    Busy,
    DoNotDisturb,
    InACall,
    InAConferenceCall,
    Inactive,
    InAMeeting,
    Offline,
    OffWork,
    OutOfOffice,
    PresenceUnknown,
    Presenting,
    UrgentInterruptionsOnly,
);

/// The longest unknown activity kept (Graph's words are under 30 characters).
const MAX_UNKNOWN: usize = 64;

impl TeamsActivity {
    /// Parses Graph's spelling, ignoring case (an operator's configuration may not match it
    /// exactly); `None` for anything else.
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        Self::ALL
            .iter()
            .copied()
            .find(|a| a.as_str().eq_ignore_ascii_case(raw))
    }

    /// Parses what Graph returned, keeping (cut to a bounded length) a value added after this
    /// code was written.
    pub fn observe(raw: &str) -> Observed<Self> {
        match Self::parse(raw) {
            Some(known) => Observed::Known(known),
            None => Observed::Unknown(raw.chars().take(MAX_UNKNOWN).collect()),
        }
    }
}

impl From<TeamsActivity> for &'static str {
    fn from(value: TeamsActivity) -> &'static str {
        value.as_str()
    }
}

impl fmt::Display for TeamsActivity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_activity_parses_back_from_its_spelling() {
        for activity in TeamsActivity::ALL {
            assert_eq!(TeamsActivity::parse(activity.as_str()), Some(*activity));
        }
        assert_eq!(TeamsActivity::ALL.len(), 15);
    }

    #[test]
    fn case_is_ignored_and_unknown_values_are_kept_cut() {
        assert_eq!(
            TeamsActivity::parse(" inameeting "),
            Some(TeamsActivity::InAMeeting)
        );
        assert_eq!(TeamsActivity::parse("Meeting"), None);
        let long = "x".repeat(500);
        match TeamsActivity::observe(&long) {
            Observed::Unknown(kept) => assert_eq!(kept.len(), MAX_UNKNOWN),
            other => panic!("{other:?}"),
        }
    }
}
