//! The state table in DynamoDB: per-user records written with conditional updates (so that
//! ordering and the lease hold across concurrent instances) and the Teams id cache.
//!
//! Items: `pk = "user#<genesysUserId>"` for a user's record, `pk = "teams-id#<genesysUserId>"`
//! for a cached Teams id with `expires_at` (the table's TTL attribute; checked here too,
//! since DynamoDB deletes expired items up to days late), and `pk = "teams-owner#<teamsId>"`
//! for the Genesys user that holds a Teams id, until its `expires_at`.

use crate::domain::event::{PresenceValue, Stamped};
use crate::domain::ids::{GenesysUserId, TeamsUserId};
use crate::domain::presence::{RoutingStatus, SystemPresence};
use crate::domain::state::{Intent, Lease, Observation, UserState};
use crate::domain::teams::TeamsState;
use crate::domain::version::Version;
use crate::ports::{
    CachedTeamsId, Claim, Finish, Recorded, StateStore, StoreError, TeamsIdCache, TeamsIdEntry,
    TeamsIdOrigin,
};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use expression::Expression;
use std::collections::HashMap;

mod expression;
mod ledger;
mod scan;

/// Every DynamoDB call is timed into the metrics (service `DynamoDB`, the operation, its
/// status class); the SDK's own retries inside one call are not seen.
trait Timed<T, E>: std::future::Future<Output = Result<T, SdkError<E>>> + Sized {
    fn timed(
        self,
        operation: &'static str,
    ) -> impl std::future::Future<Output = Result<T, SdkError<E>>> {
        // Boxed: an SDK call's future is large, and held inline in every future that awaits
        // it, it overflowed a test thread's stack.
        crate::metrics::time_sdk(crate::metrics::Remote::DynamoDB, operation, Box::pin(self))
    }
}

impl<T, E, F: std::future::Future<Output = Result<T, SdkError<E>>>> Timed<T, E> for F {}

type Item = HashMap<String, AttributeValue>;

#[derive(Clone, Debug)]
pub struct DynamoStateStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoStateStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: String) -> Self {
        DynamoStateStore { client, table }
    }

    fn error<E: ProvideErrorMetadata + std::error::Error + 'static>(
        &self,
        operation: &str,
        error: &SdkError<E>,
    ) -> StoreError {
        let code = error.code().unwrap_or("");
        let detail = match code {
            "ResourceNotFoundException" => {
                format!("table {} does not exist (check STATE_TABLE)", self.table)
            }
            "AccessDeniedException" => format!(
                "{operation} on table {} is denied: the function's role needs dynamodb:{operation} on it",
                self.table
            ),
            "" => format!(
                "{operation} on table {} failed: {}",
                self.table,
                super::error_chain(error)
            ),
            code => format!(
                "{operation} on table {} failed: {code}: {}",
                self.table,
                error.message().unwrap_or("")
            ),
        };
        StoreError(detail)
    }

    /// Runs a conditional update that returns the item as it was, whether written or not.
    async fn conditional(
        &self,
        operation: UpdateItemFluentBuilder,
    ) -> Result<Recorded, StoreError> {
        let result = operation
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .timed("UpdateItem")
            .await;
        match result {
            Ok(output) => Ok(Recorded::Accepted {
                before: user_state(output.attributes.as_ref())?,
            }),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), UpdateItemError::ConditionalCheckFailedException(_)) =>
            {
                let UpdateItemError::ConditionalCheckFailedException(failed) = e.err() else {
                    unreachable!("matched above")
                };
                Ok(Recorded::Refused {
                    current: user_state(failed.item.as_ref())?,
                })
            }
            Err(error) => Err(self.error("UpdateItem", &error)),
        }
    }

    /// Runs an update conditional on holding the lease; false when it is no longer ours.
    async fn as_holder(&self, operation: UpdateItemFluentBuilder) -> Result<bool, StoreError> {
        match operation.send().timed("UpdateItem").await {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), UpdateItemError::ConditionalCheckFailedException(_)) =>
            {
                Ok(false)
            }
            Err(error) => Err(self.error("UpdateItem", &error)),
        }
    }

    fn update(&self, pk: String) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk))
    }
}

fn user_key(user: &GenesysUserId) -> String {
    format!("user#{user}")
}

fn teams_key(user: &GenesysUserId) -> String {
    format!("teams-id#{user}")
}

fn owner_key(teams: &TeamsUserId) -> String {
    format!("teams-owner#{teams}")
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

fn get_n(item: &Item, name: &str) -> Result<Option<i64>, StoreError> {
    match item.get(name) {
        None => Ok(None),
        Some(value) => value
            .as_n()
            .ok()
            .and_then(|n| n.parse::<i64>().ok())
            .map(Some)
            .ok_or_else(|| {
                StoreError(format!(
                    "attribute {name} of a state item is not an integer"
                ))
            }),
    }
}

/// Reads a user's record; a missing item is the empty record.
pub fn user_state(item: Option<&Item>) -> Result<UserState, StoreError> {
    let Some(item) = item.filter(|i| !i.is_empty()) else {
        return Ok(UserState::default());
    };
    let presence = match (get_n(item, "presence_version")?, get_s(item, "presence")) {
        (Some(version), Some(system)) => Some(Stamped {
            value: PresenceValue {
                system: SystemPresence::observe(system),
                definition_id: get_s(item, "presence_definition").map(str::to_owned),
            },
            version: Version::from_millis(version),
        }),
        _ => None,
    };
    let routing = match (get_n(item, "routing_version")?, get_s(item, "routing")) {
        (Some(version), Some(status)) => Some(Stamped {
            value: RoutingStatus::observe(status),
            version: Version::from_millis(version),
        }),
        _ => None,
    };
    let lease = match (get_s(item, "lease_owner"), get_n(item, "lease_until")?) {
        (Some(owner), Some(until_ms)) => Some(Lease {
            owner: owner.to_owned(),
            until_ms,
        }),
        _ => None,
    };
    Ok(UserState {
        presence,
        routing,
        last_event: get_s(item, "last_event").map(str::to_owned),
        applied: get_s(item, "applied").and_then(TeamsState::decode),
        intent: get_s(item, "intent").map(Intent::decode),
        lease,
        rev: get_n(item, "rev")?.unwrap_or(0).max(0) as u64,
        applied_at_ms: get_n(item, "applied_at")?,
        applied_to: get_s(item, "applied_to").and_then(TeamsUserId::parse),
    })
}

impl StateStore for DynamoStateStore {
    async fn read(&self, user: &GenesysUserId) -> Result<UserState, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(user_key(user)))
            .consistent_read(true)
            .send()
            .timed("GetItem")
            .await
            .map_err(|e| self.error("GetItem", &e))?;
        user_state(output.item.as_ref())
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

/// Reads a cached Teams id item.
fn cached_teams_id(item: &Item) -> Result<CachedTeamsId, StoreError> {
    let teams = get_s(item, "teams_id").and_then(TeamsUserId::parse);
    let holder = get_s(item, "claimed_by").and_then(GenesysUserId::parse);
    let entry = match (teams, holder) {
        (Some(teams), Some(holder)) => TeamsIdEntry::ClaimedBy { teams, holder },
        (Some(teams), None) => TeamsIdEntry::Teams(teams),
        (None, _) => TeamsIdEntry::NoTeamsId,
    };
    let origin = match get_n(item, "overridden_at")? {
        Some(at) => TeamsIdOrigin::Override { at },
        None => TeamsIdOrigin::Directory,
    };
    Ok(CachedTeamsId {
        entry,
        expires_at: get_n(item, "expires_at")?.unwrap_or(0),
        origin,
    })
}

impl TeamsIdCache for DynamoStateStore {
    async fn get(
        &self,
        user: &GenesysUserId,
        now: i64,
    ) -> Result<Option<CachedTeamsId>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(teams_key(user)))
            .send()
            .timed("GetItem")
            .await
            .map_err(|e| self.error("GetItem", &e))?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let cached = cached_teams_id(&item)?;
        Ok((cached.expires_at > now).then_some(cached))
    }

    async fn put(
        &self,
        user: &GenesysUserId,
        entry: &CachedTeamsId,
    ) -> Result<Option<CachedTeamsId>, StoreError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(teams_key(user)))
            .item("expires_at", n(entry.expires_at))
            .return_values(ReturnValue::AllOld);
        if let TeamsIdOrigin::Override { at } = entry.origin {
            put = put.item("overridden_at", n(at));
        }
        match &entry.entry {
            TeamsIdEntry::Teams(teams) => put = put.item("teams_id", s(teams.as_str())),
            TeamsIdEntry::NoTeamsId => {}
            TeamsIdEntry::ClaimedBy { teams, holder } => {
                put = put
                    .item("teams_id", s(teams.as_str()))
                    .item("claimed_by", s(holder.as_str()));
            }
        }
        let output = put
            .send()
            .timed("PutItem")
            .await
            .map_err(|e| self.error("PutItem", &e))?;
        output
            .attributes
            .filter(|item| !item.is_empty())
            .map(|item| cached_teams_id(&item))
            .transpose()
    }

    async fn forget(&self, user: &GenesysUserId) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(teams_key(user)))
            .send()
            .timed("DeleteItem")
            .await
            .map_err(|e| self.error("DeleteItem", &e))?;
        Ok(())
    }

    async fn claim(
        &self,
        teams: &TeamsUserId,
        user: &GenesysUserId,
        until: i64,
        now: i64,
    ) -> Result<Claim, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(owner_key(teams)))
            .item("genesys_user", s(user.as_str()))
            .item("expires_at", n(until))
            .condition_expression(
                "attribute_not_exists(pk) OR genesys_user = :me OR expires_at <= :now",
            )
            .expression_attribute_values(":me", s(user.as_str()))
            .expression_attribute_values(":now", n(now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .timed("PutItem")
            .await;
        match result {
            Ok(_) => Ok(Claim::Granted),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) =>
            {
                let PutItemError::ConditionalCheckFailedException(failed) = e.err() else {
                    unreachable!("matched above")
                };
                let holder = failed
                    .item
                    .as_ref()
                    .and_then(|item| get_s(item, "genesys_user"))
                    .and_then(GenesysUserId::parse)
                    .ok_or_else(|| {
                        StoreError(format!(
                            "the holder of Teams id {teams} is not recorded as a Genesys user id"
                        ))
                    })?;
                Ok(Claim::HeldBy(holder))
            }
            Err(error) => Err(self.error("PutItem", &error)),
        }
    }

    async fn release_claim(
        &self,
        teams: &TeamsUserId,
        user: &GenesysUserId,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(owner_key(teams)))
            .condition_expression("genesys_user = :me")
            .expression_attribute_values(":me", s(user.as_str()))
            .send()
            .timed("DeleteItem")
            .await;
        match result {
            Ok(_) => Ok(()),
            // Someone else holds it now (or nobody): nothing of ours to give up.
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), DeleteItemError::ConditionalCheckFailedException(_)) =>
            {
                Ok(())
            }
            Err(error) => Err(self.error("DeleteItem", &error)),
        }
    }
}
