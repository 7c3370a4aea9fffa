//! The users' records: one item per user (`pk = "user#<genesysUserId>"`), read whole and
//! written with the conditional updates of `domain::state` (see `expression`).

use super::expression::Expression;
use super::{DynamoStateStore, Item, Read, Timed, get_n, get_s, n, s, user_key};
use crate::domain::event::{PresenceValue, Stamped};
use crate::domain::excerpt::excerpt;
use crate::domain::ids::{GenesysUserId, TeamsUserId};
use crate::domain::left::{Left, LeftReason};
use crate::domain::presence::{RoutingStatus, SystemPresence};
use crate::domain::scope::{Exception, ExceptionMark};
use crate::domain::state::{Intent, Lease, Observation, UserState};
use crate::domain::teams::TeamsState;
use crate::domain::version::Version;
use crate::domain::watch::WatchMark;
use crate::ports::{Finish, Recorded, StateStore, StoreError};
use std::collections::HashMap;

/// A string attribute decoded; an error when it holds a value `decode` does not know.
fn decoded<T>(
    item: &Item,
    name: &str,
    decode: impl FnOnce(&str) -> Option<T>,
) -> Result<Option<T>, StoreError> {
    get_s(item, name)?
        .map(|raw| {
            decode(raw).ok_or_else(|| {
                StoreError(format!(
                    "attribute {name} of a user record holds an unknown value {}",
                    excerpt(raw)
                ))
            })
        })
        .transpose()
}

/// Reads a user's record; a missing item is the empty record. An attribute of the wrong type
/// or an unknown `applied` state or Teams id is an error (a hand edit): read as missing, a
/// lease owner or an applied state would change what the record means.
pub fn user_state(item: Option<&Item>) -> Result<UserState, StoreError> {
    let Some(item) = item.filter(|i| !i.is_empty()) else {
        return Ok(UserState::default());
    };
    let presence = match (get_n(item, "presence_version")?, get_s(item, "presence")?) {
        (Some(version), Some(system)) => Some(Stamped {
            value: PresenceValue {
                system: SystemPresence::observe(system),
                definition_id: get_s(item, "presence_definition")?.map(str::to_owned),
            },
            version: Version::from_millis(version),
        }),
        _ => None,
    };
    let routing = match (get_n(item, "routing_version")?, get_s(item, "routing")?) {
        (Some(version), Some(status)) => Some(Stamped {
            value: RoutingStatus::observe(status),
            version: Version::from_millis(version),
        }),
        _ => None,
    };
    let lease = match (get_s(item, "lease_owner")?, get_n(item, "lease_until")?) {
        (Some(owner), Some(until_ms)) => Some(Lease {
            owner: owner.to_owned(),
            until_ms,
        }),
        _ => None,
    };
    Ok(UserState {
        presence,
        routing,
        last_event: get_s(item, "last_event")?.map(str::to_owned),
        applied: decoded(item, "applied", TeamsState::decode)?,
        // An intent this version does not know reads as pending: uncertain, never settled.
        intent: get_s(item, "intent")?.map(Intent::decode),
        lease,
        rev: get_n(item, "rev")?.unwrap_or(0).max(0) as u64,
        applied_at_ms: get_n(item, "applied_at")?,
        applied_to: decoded(item, "applied_to", TeamsUserId::parse)?,
        left: left_of(item)?,
        exception: exception_of(item)?,
        watch: super::watch::watch_of(item)?,
    })
}

/// The let-go mark (`left_reason`, `left_at`), when there is one.
/// An operator's scope exception (`scope_exception`, `scope_exception_by`, `…_at`).
fn exception_of(item: &Item) -> Result<Option<ExceptionMark>, StoreError> {
    let Some(exception) = decoded(item, "scope_exception", Exception::parse)? else {
        return Ok(None);
    };
    let by = get_s(item, "scope_exception_by")?.unwrap_or("");
    let at_ms = get_n(item, "scope_exception_at")?.unwrap_or(0);
    Ok(Some(ExceptionMark::new(exception, by, at_ms)))
}

fn left_of(item: &Item) -> Result<Option<Left>, StoreError> {
    let Some(reason) = decoded(item, "left_reason", LeftReason::parse)? else {
        return Ok(None);
    };
    Ok(Some(Left {
        reason,
        at_ms: get_n(item, "left_at")?.unwrap_or(0),
    }))
}

impl StateStore for DynamoStateStore {
    async fn read(&self, user: &GenesysUserId) -> Result<UserState, StoreError> {
        let item = self.item(user_key(user), Read::Strong).await?;
        user_state(item.as_ref())
            .map_err(|e| StoreError(format!("the record of user {user} does not parse: {}", e.0)))
    }

    async fn read_many(
        &self,
        users: &[GenesysUserId],
    ) -> Result<HashMap<GenesysUserId, UserState>, StoreError> {
        self.batch_read(users).await
    }

    async fn record(
        &self,
        user: &GenesysUserId,
        event_id: &str,
        observation: &Observation,
        claim: Option<(Intent, &Lease)>,
        now_ms: i64,
    ) -> Result<Recorded, StoreError> {
        let mut e = Expression::default();
        // Nothing carried may be older than the record, and something must be newer.
        let mut newer = Vec::new();
        if let Some(p) = &observation.presence {
            let pv = e.value("pv", n(p.version.millis()));
            e.conditions.push(format!(
                "(attribute_not_exists(presence_version) OR presence_version <= {pv})"
            ));
            newer.push(format!(
                "attribute_not_exists(presence_version) OR presence_version < {pv}"
            ));
            e.set.push(format!("presence_version = {pv}"));
            e.set("presence", s(p.value.system.as_str()));
            match &p.value.definition_id {
                Some(id) => e.set("presence_definition", s(id)),
                None => e.remove.push("presence_definition"),
            }
        }
        if let Some(r) = &observation.routing {
            let rv = e.value("rv", n(r.version.millis()));
            e.conditions.push(format!(
                "(attribute_not_exists(routing_version) OR routing_version <= {rv})"
            ));
            newer.push(format!(
                "attribute_not_exists(routing_version) OR routing_version < {rv}"
            ));
            e.set.push(format!("routing_version = {rv}"));
            e.set("routing", s(r.value.as_str()));
        }
        if newer.is_empty() {
            return Err(StoreError(
                "an observation without presence or routing status cannot be recorded".to_owned(),
            ));
        }
        e.conditions.push(format!("({})", newer.join(" OR ")));
        e.set("last_event", s(event_id));
        if let Some((intent, lease)) = claim {
            e.claim(intent, lease);
            e.may_claim(intent, now_ms);
        }
        self.conditional(e.apply(self.update(user_key(user)), now_ms))
            .await
    }

    async fn reclaim(
        &self,
        user: &GenesysUserId,
        expected_rev: u64,
        intent: Intent,
        lease: &Lease,
        now_ms: i64,
    ) -> Result<Recorded, StoreError> {
        let mut e = Expression::default();
        let rev = e.value("rev", n(expected_rev));
        e.conditions.push(format!("rev = {rev}"));
        e.claim(intent, lease);
        // The whole claim rule, as when recording: a lease free or a clean record, and never
        // announcing what is applied on an uncertain record.
        e.may_claim(intent, now_ms);
        self.conditional(e.apply(self.update(user_key(user)), now_ms))
            .await
    }

    async fn replace(
        &self,
        user: &GenesysUserId,
        expected_rev: u64,
        observation: &Observation,
        event_id: &str,
        now_ms: i64,
    ) -> Result<Recorded, StoreError> {
        let mut e = Expression::default();
        let rev = e.value("rev", n(expected_rev));
        e.conditions.push(format!("rev = {rev}"));
        e.lease_free_or_clean(now_ms);
        match &observation.presence {
            Some(p) => {
                e.set("presence_version", n(p.version.millis()));
                e.set("presence", s(p.value.system.as_str()));
                match &p.value.definition_id {
                    Some(id) => e.set("presence_definition", s(id)),
                    None => e.remove.push("presence_definition"),
                }
            }
            None => e
                .remove
                .extend(["presence_version", "presence", "presence_definition"]),
        }
        match &observation.routing {
            Some(r) => {
                e.set("routing_version", n(r.version.millis()));
                e.set("routing", s(r.value.as_str()));
            }
            None => e.remove.extend(["routing_version", "routing"]),
        }
        e.set("last_event", s(event_id));
        e.set("intent", s(Intent::Pending.encode()));
        let clear = e.value("cleared", s(TeamsState::Cleared.encode()));
        e.set
            .push(format!("applied = if_not_exists(applied, {clear})"));
        e.remove.extend(["lease_owner", "lease_until"]);
        self.conditional(e.apply(self.update(user_key(user)), now_ms))
            .await
    }

    async fn let_go(
        &self,
        user: &GenesysUserId,
        read: &UserState,
        reason: LeftReason,
        now_ms: i64,
    ) -> Result<Recorded, StoreError> {
        let e = super::left::let_go(read, reason, now_ms);
        self.conditional(e.apply(self.update(user_key(user)), now_ms))
            .await
    }

    async fn rejoin(
        &self,
        user: &GenesysUserId,
        read: &UserState,
        current: &Observation,
        event_id: &str,
        now_ms: i64,
    ) -> Result<Recorded, StoreError> {
        let e = super::left::rejoin(read, current, event_id, now_ms);
        self.conditional(e.apply(self.update(user_key(user)), now_ms))
            .await
    }

    async fn set_watch(
        &self,
        user: &GenesysUserId,
        read: &UserState,
        mark: Option<&WatchMark>,
        now_ms: i64,
    ) -> Result<Recorded, StoreError> {
        let e = super::watch::set_watch(read, mark, now_ms);
        self.conditional(e.apply(self.update(user_key(user)), now_ms))
            .await
    }

    async fn set_exception(
        &self,
        user: &GenesysUserId,
        mark: Option<&ExceptionMark>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut e = Expression::default();
        match mark {
            Some(mark) => {
                e.set("scope_exception", s(mark.exception.as_str()));
                e.set("scope_exception_by", s(mark.by.as_str()));
                e.set("scope_exception_at", n(mark.at_ms));
            }
            None => e.remove.extend([
                "scope_exception",
                "scope_exception_by",
                "scope_exception_at",
            ]),
        }
        e.apply(self.update(user_key(user)), now_ms)
            .send()
            .timed("UpdateItem")
            .await
            .map_err(|error| self.error("UpdateItem", &error))?;
        Ok(())
    }

    async fn mark_pending(
        &self,
        user: &GenesysUserId,
        owner: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut e = Expression::default();
        e.set("intent", s(Intent::Pending.encode()));
        e.held_by(owner);
        self.as_holder(e.apply(self.update(user_key(user)), now_ms))
            .await
    }

    async fn finish(
        &self,
        user: &GenesysUserId,
        owner: &str,
        finish: Finish,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut e = Expression::default();
        match finish {
            Finish::Applied(state, teams) => {
                e.set("applied", s(state.encode()));
                e.set("intent", s(state.encode()));
                e.set("applied_at", n(now_ms));
                e.set("applied_to", s(teams.as_str()));
            }
            Finish::Untouched => e.set.push("intent = applied".to_owned()),
            Finish::Abandoned => {}
        }
        e.remove.extend(["lease_owner", "lease_until"]);
        e.held_by(owner);
        self.as_holder(e.apply(self.update(user_key(user)), now_ms))
            .await
    }
}
