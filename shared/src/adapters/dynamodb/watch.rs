//! The watcher's provenance mark as attributes of a user's record (`watch_*`), and its
//! conditional write: on the record as the watcher read it, with nobody changing Teams.

use super::expression::Expression;
use super::left::unchanged_since;
use super::{Item, get_n, get_s, n, s};
use crate::domain::event::PresenceValue;
use crate::domain::excerpt::excerpt;
use crate::domain::presence::SystemPresence;
use crate::domain::state::UserState;
use crate::domain::version::Version;
use crate::domain::watch::{Phase, TeamsActivity, WatchMark};
use crate::ports::StoreError;

const ATTRIBUTES: [&str; 8] = [
    "watch_activity",
    "watch_set",
    "watch_message",
    "watch_restore",
    "watch_restore_definition",
    "watch_phase",
    "watch_at",
    "watch_version",
];

/// The mark, when the record has one; an error for one that does not parse (a hand edit:
/// read as missing, our own Genesys write would be mirrored into Teams).
pub(super) fn watch_of(item: &Item) -> Result<Option<WatchMark>, StoreError> {
    let Some(phase) = get_s(item, "watch_phase")? else {
        return Ok(None);
    };
    let bad = |what: &str, raw: &str| {
        StoreError(format!(
            "the watch mark's {what} holds an unknown value {}",
            excerpt(raw)
        ))
    };
    let at_ms = get_n(item, "watch_at")?.unwrap_or(0);
    let version = get_n(item, "watch_version")?.map(Version::from_millis);
    let phase = match (phase, version) {
        ("taking", _) => Phase::Taking { at_ms },
        ("held", Some(version)) => Phase::Held { at_ms, version },
        ("restoring", Some(version)) => Phase::Restoring { at_ms, version },
        ("overridden", Some(version)) => Phase::Overridden { at_ms, version },
        (other, _) => return Err(bad("phase (or its version)", other)),
    };
    let activity = get_s(item, "watch_activity")?.unwrap_or("");
    let activity = TeamsActivity::parse(activity).ok_or_else(|| bad("activity", activity))?;
    let Some(set_definition) = get_s(item, "watch_set")? else {
        return Err(bad("presence set", ""));
    };
    let restore = get_s(item, "watch_restore")?.unwrap_or("");
    Ok(Some(WatchMark {
        activity,
        set_definition: set_definition.to_owned(),
        message: get_s(item, "watch_message")?.unwrap_or("").to_owned(),
        restore_to: PresenceValue {
            system: SystemPresence::observe(restore),
            definition_id: get_s(item, "watch_restore_definition")?.map(str::to_owned),
        },
        phase,
    }))
}

/// [`UserState::after_set_watch`] on the record `read`.
pub(super) fn set_watch(read: &UserState, mark: Option<&WatchMark>, now_ms: i64) -> Expression {
    let mut e = unchanged_since(read, now_ms);
    let Some(mark) = mark else {
        e.remove.extend(ATTRIBUTES);
        return e;
    };
    e.set("watch_activity", s(mark.activity.as_str()));
    e.set("watch_set", s(&mark.set_definition));
    e.set("watch_message", s(&mark.message));
    e.set("watch_restore", s(mark.restore_to.system.as_str()));
    match &mark.restore_to.definition_id {
        Some(id) => e.set("watch_restore_definition", s(id)),
        None => e.remove.push("watch_restore_definition"),
    }
    e.set("watch_phase", s(mark.phase.as_str()));
    e.set("watch_at", n(mark.phase.at_ms()));
    match mark.phase.version() {
        Some(version) => e.set("watch_version", n(version.millis())),
        None => e.remove.push("watch_version"),
    }
    e
}
