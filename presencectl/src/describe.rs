//! The library's values as an operator reads them (text and JSON), in one place.

use crate::output::{ago, instant};
use presence_core::domain::state::UserState;
use presence_core::domain::teams::TeamsState;
use presence_core::ports::{CachedTeamsId, TeamsIdEntry, TeamsIdOrigin};
use serde::Serialize;

/// A user's record in the state table.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub exists: bool,
    pub presence: Option<Stamp>,
    pub routing_status: Option<Stamp>,
    /// What Graph last accepted (`Busy/Busy`, `cleared`).
    pub applied: String,
    pub applied_at: Option<String>,
    pub applied_to: Option<String>,
    /// A Graph call was (or may have been) made after the last one Graph accepted.
    pub dirty: bool,
    pub lease_until: Option<String>,
    pub last_event: Option<String>,
    pub revision: u64,
    /// The watcher's mark (two-way): what it set in Genesys for a Teams activity, and what
    /// it restores.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watcher: Option<String>,
}

/// A value with the Genesys time of its change.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stamp {
    pub value: String,
    pub version_ms: i64,
    pub changed_at: String,
}

impl Record {
    pub fn of(state: &UserState) -> Record {
        Record {
            exists: state.rev > 0,
            presence: state.presence.as_ref().map(|p| {
                let value = match &p.value.definition_id {
                    Some(id) => format!("{} (definition {id})", p.value.system),
                    None => p.value.system.to_string(),
                };
                stamp(value, p.version.millis())
            }),
            routing_status: (state.routing.as_ref())
                .map(|r| stamp(r.value.to_string(), r.version.millis())),
            applied: teams_state(state.applied()),
            applied_at: state.applied_at_ms.map(instant),
            applied_to: state.applied_to.as_ref().map(|t| t.to_string()),
            dirty: state.dirty(),
            lease_until: state.lease.as_ref().map(|l| instant(l.until_ms)),
            last_event: state.last_event.clone(),
            revision: state.rev,
            watcher: state.watch.as_ref().map(watch_line),
        }
    }

    /// Aligned rows, ages relative to `now_ms`.
    pub fn rows(&self, state: &UserState, now_ms: i64) -> Vec<(&'static str, String)> {
        if !self.exists {
            return vec![(
                "record",
                "none (no event recorded for this user yet)".into(),
            )];
        }
        let aged = |stamp: &Option<Stamp>| match stamp {
            Some(s) => format!("{} (changed {})", s.value, ago(now_ms, s.version_ms)),
            None => "not seen yet".into(),
        };
        let applied = match state.applied_at_ms {
            Some(at) => format!("{} ({})", self.applied, ago(now_ms, at)),
            None => self.applied.clone(),
        };
        let lease = match &state.lease {
            Some(l) if l.until_ms > now_ms => format!("held until {}", instant(l.until_ms)),
            Some(_) => "expired (its holder is gone)".into(),
            None => "free".into(),
        };
        vec![
            ("presence", aged(&self.presence)),
            ("routing status", aged(&self.routing_status)),
            ("applied", applied),
            (
                "applied to",
                self.applied_to.clone().unwrap_or_else(|| "-".into()),
            ),
            (
                "dirty",
                if self.dirty {
                    "yes: a Graph call was not confirmed".into()
                } else {
                    "no".into()
                },
            ),
            ("lease", lease),
            ("revision", self.revision.to_string()),
        ]
        .into_iter()
        .chain(self.watcher.clone().map(|line| ("watcher", line)))
        .collect()
    }
}

/// The watcher's mark as an operator reads it.
fn watch_line(mark: &presence_core::domain::watch::WatchMark) -> String {
    use presence_core::domain::watch::Phase;
    let what = format!(
        "for Teams {}: definition {} (\"{}\"), to restore {}",
        mark.activity, mark.set_definition, mark.message, mark.restore_to.system
    );
    let since = instant(mark.phase.at_ms());
    match mark.phase {
        Phase::Taking { .. } => format!("taking the agent off {what}, since {since}"),
        Phase::Held { .. } => format!("took the agent off {what}, since {since}"),
        Phase::Restoring { .. } => format!("putting the agent back ({what}), since {since}"),
        Phase::Overridden { .. } => format!(
            "gave way: the agent changed Genesys while taken off {what}; nothing is restored (since {since})"
        ),
    }
}

fn stamp(value: String, version_ms: i64) -> Stamp {
    Stamp {
        value,
        version_ms,
        changed_at: instant(version_ms),
    }
}

/// A Teams state as Graph shows it: `Busy/Busy`, or `cleared`.
pub fn teams_state(state: TeamsState) -> String {
    match state {
        TeamsState::Preferred(p) => format!("{}/{}", p.availability(), p.activity()),
        TeamsState::Cleared => "cleared".to_owned(),
    }
}

/// A cached Teams id.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamsId {
    /// `teams`, `none` (Genesys has no Teams id for the user) or `claimed-by-another`.
    pub kind: &'static str,
    pub teams_user_id: Option<String>,
    pub holder: Option<String>,
    pub expires_at: String,
    /// When it was cached (an override: when it was set; otherwise its expiry less the
    /// lifetime of its kind, `Settings::teams_id_ttl` or `no_teams_id_ttl`).
    pub cached_at: String,
    #[serde(skip)]
    cached_at_s: i64,
    /// `directory` or `override`.
    pub origin: &'static str,
    pub overridden_at: Option<String>,
    /// Who set the override (their AWS identity).
    pub overridden_by: Option<String>,
}

impl TeamsId {
    pub fn of(cached: &CachedTeamsId, settings: &presence_core::service::Settings) -> TeamsId {
        let lifetime = match cached.entry {
            TeamsIdEntry::Teams(_) => settings.teams_id_ttl,
            _ => settings.no_teams_id_ttl,
        };
        let cached_at_s = match cached.origin {
            TeamsIdOrigin::Override { at, .. } => at,
            TeamsIdOrigin::Directory => cached.expires_at.saturating_sub(lifetime.as_secs() as i64),
        };
        let (kind, teams, holder) = match &cached.entry {
            TeamsIdEntry::Teams(t) => ("teams", Some(t.to_string()), None),
            TeamsIdEntry::NoTeamsId => ("none", None, None),
            TeamsIdEntry::ClaimedBy { teams, holder } => (
                "claimed-by-another",
                Some(teams.to_string()),
                Some(holder.to_string()),
            ),
        };
        let (origin, overridden_at, overridden_by) = match &cached.origin {
            TeamsIdOrigin::Directory => ("directory", None, None),
            TeamsIdOrigin::Override { at, by } => (
                "override",
                Some(instant(at.saturating_mul(1000))),
                Some(by.clone()),
            ),
        };
        TeamsId {
            kind,
            teams_user_id: teams,
            holder,
            expires_at: instant(cached.expires_at.saturating_mul(1000)),
            cached_at: instant(cached_at_s.saturating_mul(1000)),
            cached_at_s,
            origin,
            overridden_at,
            overridden_by,
        }
    }

    /// One line for a person.
    pub fn line(&self, now_ms: i64, expires_at_s: i64) -> String {
        let what = match self.kind {
            "teams" => self.teams_user_id.clone().unwrap_or_default(),
            "none" => "none: Genesys has no Teams id for this user (negative cache)".into(),
            _ => format!(
                "{} is held by Genesys user {}: this user is left alone",
                self.teams_user_id.as_deref().unwrap_or("?"),
                self.holder.as_deref().unwrap_or("?")
            ),
        };
        let origin = match (self.origin, &self.overridden_by) {
            ("override", Some(by)) => format!(", set by an operator ({by})"),
            ("override", None) => ", set by an operator".to_owned(),
            _ => ", from Genesys".to_owned(),
        };
        format!(
            "{what}{origin}, cached {}, until {} ({})",
            ago(now_ms, self.cached_at_s.saturating_mul(1000)),
            self.expires_at,
            ago(now_ms, expires_at_s.saturating_mul(1000))
        )
    }
}
