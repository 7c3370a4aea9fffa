//! Letting a user go and taking them back, as conditional updates of the user's item
//! (`left_reason`, `left_at`): the rules of `domain::left`, on the revision the caller read.

use super::expression::Expression;
use super::{n, s};
use crate::domain::left::LeftReason;
use crate::domain::state::{Intent, Observation, UserState, newer_part};
use crate::domain::teams::TeamsState;

/// [`UserState::after_let_go`] on the record `read`: unchanged since (its `rev`), nobody
/// changing Teams.
pub(super) fn let_go(read: &UserState, reason: LeftReason, now_ms: i64) -> Expression {
    let mut e = unchanged_since(read, now_ms);
    e.set("left_reason", s(reason.as_str()));
    e.set("left_at", n(now_ms));
    if read.applied() != TeamsState::Cleared {
        e.set("intent", s(Intent::Pending.encode()));
    }
    let clear = e.value("cleared", s(TeamsState::Cleared.encode()));
    e.set
        .push(format!("applied = if_not_exists(applied, {clear})"));
    e.remove.extend(["lease_owner", "lease_until"]);
    e
}

/// [`UserState::after_rejoin`] on the record `read`: the mark removed, the newer part of
/// `current` recorded, the record left dirty with no lease.
pub(super) fn rejoin(
    read: &UserState,
    current: &Observation,
    event_id: &str,
    now_ms: i64,
) -> Expression {
    let mut e = unchanged_since(read, now_ms);
    let newer = newer_part(read, current);
    if let Some(p) = &newer.presence {
        e.set("presence_version", n(p.version.millis()));
        e.set("presence", s(p.value.system.as_str()));
        match &p.value.definition_id {
            Some(id) => e.set("presence_definition", s(id)),
            None => e.remove.push("presence_definition"),
        }
    }
    if let Some(r) = &newer.routing {
        e.set("routing_version", n(r.version.millis()));
        e.set("routing", s(r.value.as_str()));
    }
    if !newer.is_empty() {
        e.set("last_event", s(event_id));
    }
    e.set("intent", s(Intent::Pending.encode()));
    let clear = e.value("cleared", s(TeamsState::Cleared.encode()));
    e.set
        .push(format!("applied = if_not_exists(applied, {clear})"));
    e.remove
        .extend(["left_reason", "left_at", "lease_owner", "lease_until"]);
    e
}

/// The record is still at the revision read, and nobody is changing Teams for the user.
pub(super) fn unchanged_since(read: &UserState, now_ms: i64) -> Expression {
    let mut e = Expression::default();
    let rev = e.value("rev", n(read.rev));
    e.conditions.push(format!("rev = {rev}"));
    e.lease_free_or_clean(now_ms);
    e
}
