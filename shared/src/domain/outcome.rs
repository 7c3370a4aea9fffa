//! What happened to one event: the handler's answer and the vocabulary of its log line.

use super::ids::GenesysUserId;
use super::left::LeftReason;
use super::teams::TeamsPresence;
use serde::Serialize;
use std::fmt;

/// Why Teams was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// The event changed what Teams should show.
    Changed,
    /// An earlier attempt may have left Teams unknown (it failed or died after calling Graph);
    /// this event re-applied what the newest recorded state maps to.
    Reconciled,
    /// The reconciler re-sent what was applied: before the preferred presence expires, or
    /// because Teams drifted from it.
    Refreshed,
}

/// Why Teams was not written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// Older than what is already recorded for the user.
    Stale,
    /// The same event again, already handled.
    Duplicate,
    /// Teams already shows what the event maps to.
    Unchanged,
    /// A system presence or routing status the mapping does not know.
    Unmapped,
    /// The mapping says to leave Teams alone for this state.
    Ignored,
    /// The Genesys user has no Teams id (or is unknown to Genesys).
    NoTeamsUser,
    /// Graph does not know the Teams id Genesys gave.
    TeamsUserNotFound,
    /// The Teams id Genesys gives this user is held by another Genesys user.
    TeamsIdClaimed,
    /// The record changed while the reconciler was about to re-send it: whoever changed it
    /// applies the newest state.
    Superseded,
    /// The sync let the user go (`departed`): what we set was cleared, nothing more is written.
    Left(LeftReason),
    /// The watcher's own Genesys write coming back as an event: recognised by the record's
    /// provenance mark and not mirrored into Teams.
    Echo,
}

impl SkipReason {
    pub const fn as_str(self) -> &'static str {
        match self {
            SkipReason::Stale => "stale",
            SkipReason::Duplicate => "duplicate",
            SkipReason::Unchanged => "unchanged",
            SkipReason::Unmapped => "unmapped",
            SkipReason::Ignored => "ignored",
            SkipReason::NoTeamsUser => "no-teams-user",
            SkipReason::TeamsUserNotFound => "teams-user-not-found",
            SkipReason::TeamsIdClaimed => "teams-id-claimed",
            SkipReason::Superseded => "superseded",
            SkipReason::Left(reason) => reason.as_str(),
            SkipReason::Echo => "echo",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Applied(TeamsPresence, Why),
    Cleared(Why),
    Skipped(SkipReason),
}

impl Outcome {
    pub const fn kind(self) -> &'static str {
        match self {
            Outcome::Applied(..) => "applied",
            Outcome::Cleared(_) => "cleared",
            Outcome::Skipped(_) => "skipped",
        }
    }

    pub const fn reason(self) -> &'static str {
        match self {
            Outcome::Applied(_, why) | Outcome::Cleared(why) => match why {
                Why::Changed => "changed",
                Why::Reconciled => "reconciled",
                Why::Refreshed => "refreshed",
            },
            Outcome::Skipped(reason) => reason.as_str(),
        }
    }

    pub const fn teams(self) -> Option<TeamsPresence> {
        match self {
            Outcome::Applied(p, _) => Some(p),
            _ => None,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind(), self.reason())
    }
}

/// The handler's JSON answer for one event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub outcome: &'static str,
    pub reason: &'static str,
    pub genesys_user_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub teams: Option<TeamsPresence>,
}

impl Report {
    pub fn new(user: &GenesysUserId, outcome: Outcome) -> Self {
        Report {
            outcome: outcome.kind(),
            reason: outcome.reason(),
            genesys_user_id: user.to_string(),
            teams: outcome.teams(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn applied_report_carries_the_teams_presence() {
        let user = GenesysUserId::parse("3f9e6a2b-5d4c-4b1a-8e7f-112233445566").unwrap();
        let report = Report::new(&user, Outcome::Applied(TeamsPresence::Busy, Why::Changed));
        assert_eq!(
            serde_json::to_value(report).unwrap(),
            json!({"outcome":"applied","reason":"changed","genesysUserId":"3f9e6a2b-5d4c-4b1a-8e7f-112233445566",
                   "teams":{"availability":"Busy","activity":"Busy"}})
        );
    }

    #[test]
    fn skipped_report_has_no_teams_field() {
        let user = GenesysUserId::parse("3f9e6a2b-5d4c-4b1a-8e7f-112233445566").unwrap();
        let report = Report::new(&user, Outcome::Skipped(SkipReason::NoTeamsUser));
        assert_eq!(
            serde_json::to_value(report).unwrap(),
            json!({"outcome":"skipped","reason":"no-teams-user","genesysUserId":"3f9e6a2b-5d4c-4b1a-8e7f-112233445566"})
        );
    }
}
