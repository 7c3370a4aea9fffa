//! The Teams-id cache (`pk = "teams-id#<genesysUserId>"`, with `expires_at`, and for an
//! operator's override `overridden_at` and `overridden_by`) and the claims on a Teams id
//! (`pk = "teams-owner#<teamsId>"`: which Genesys user holds it, until when, and `rev`, bumped
//! by every grant so that a release can insist on the claim it read).

use super::{DynamoStateStore, Item, Read, Timed, get_n, get_s, n, owner_key, s, teams_key};
use crate::domain::ids::{GenesysUserId, TeamsUserId};
use crate::ports::{
    CachePut, CachedMembership, CachedTeamsId, Claim, HeldClaim, StoreError, TeamsIdCache,
    TeamsIdEntry, TeamsIdOrigin,
};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use std::collections::HashMap;

/// A Teams id or Genesys user id attribute; an error when it is not one (a hand edit).
fn id<T>(item: &Item, name: &str, parse: fn(&str) -> Option<T>) -> Result<Option<T>, StoreError> {
    get_s(item, name)?
        .map(|raw| {
            parse(raw)
                .ok_or_else(|| StoreError(format!("attribute {name} of a state item is not an id")))
        })
        .transpose()
}

/// Reads a cached Teams id item.
fn cached_teams_id(item: &Item) -> Result<CachedTeamsId, StoreError> {
    let teams = id(item, "teams_id", TeamsUserId::parse)?;
    let holder = id(item, "claimed_by", GenesysUserId::parse)?;
    let entry = match (teams, holder) {
        (Some(teams), Some(holder)) => TeamsIdEntry::ClaimedBy { teams, holder },
        (Some(teams), None) => TeamsIdEntry::Teams(teams),
        (None, _) => TeamsIdEntry::NoTeamsId,
    };
    let origin = match get_n(item, "overridden_at")? {
        Some(at) => TeamsIdOrigin::overridden(at, get_s(item, "overridden_by")?.unwrap_or("")),
        None => TeamsIdOrigin::Directory,
    };
    Ok(CachedTeamsId {
        entry,
        expires_at: get_n(item, "expires_at")?.unwrap_or(0),
        origin,
    })
}

/// Reads a claim item.
fn held_claim(item: &Item) -> Result<HeldClaim, StoreError> {
    let holder = id(item, "genesys_user", GenesysUserId::parse)?.ok_or_else(|| {
        StoreError("a claim on a Teams id has no genesys_user attribute".to_owned())
    })?;
    Ok(HeldClaim {
        holder,
        until: get_n(item, "expires_at")?.unwrap_or(0),
        rev: get_n(item, "rev")?.unwrap_or(0).max(0) as u64,
    })
}

impl TeamsIdCache for DynamoStateStore {
    async fn get(
        &self,
        user: &GenesysUserId,
        now: i64,
    ) -> Result<Option<CachedTeamsId>, StoreError> {
        let Some(item) = self.item(teams_key(user), Read::Eventual).await? else {
            return Ok(None);
        };
        let cached = cached_teams_id(&item)?;
        Ok((cached.expires_at > now).then_some(cached))
    }

    async fn get_many(
        &self,
        users: &[GenesysUserId],
        now: i64,
    ) -> Result<HashMap<GenesysUserId, CachedTeamsId>, StoreError> {
        let keys = users.iter().map(|user| (teams_key(user), user));
        let items = self.items_of(keys).await?;
        let found = items.into_iter().filter_map(|(user, item)| {
            let cached = cached_teams_id(&item).ok()?;
            (cached.expires_at > now).then_some((user, cached))
        });
        Ok(found.collect())
    }

    async fn put(
        &self,
        user: &GenesysUserId,
        entry: &CachedTeamsId,
        now: i64,
    ) -> Result<CachePut, StoreError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(teams_key(user)))
            .item("expires_at", n(entry.expires_at))
            .return_values(ReturnValue::AllOld);
        match &entry.origin {
            TeamsIdOrigin::Override { at, by } => {
                put = put
                    .item("overridden_at", n(*at))
                    .item("overridden_by", s(by.as_str()));
            }
            // A lookup's answer never replaces an operator's override that still holds.
            TeamsIdOrigin::Directory => {
                put = put
                    .condition_expression(
                        "attribute_not_exists(overridden_at) OR expires_at <= :now",
                    )
                    .expression_attribute_values(":now", n(now))
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    );
            }
        }
        match with_entry(put, &entry.entry).send().timed("PutItem").await {
            Ok(output) => {
                // What was replaced, if it can be read (a hand-edited item is simply replaced).
                let previous = output.attributes.filter(|item| !item.is_empty());
                Ok(CachePut::Stored(
                    previous.and_then(|item| cached_teams_id(&item).ok()),
                ))
            }
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) =>
            {
                let PutItemError::ConditionalCheckFailedException(failed) = e.err() else {
                    unreachable!("matched above")
                };
                let kept = failed.item.as_ref().ok_or_else(|| {
                    StoreError(format!("the override cached for {user} was not returned"))
                })?;
                Ok(CachePut::KeptOverride(cached_teams_id(kept)?))
            }
            Err(error) => Err(self.error("PutItem", &error)),
        }
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
            .update(owner_key(teams))
            .update_expression("SET genesys_user = :me, expires_at = :until ADD rev :one")
            .condition_expression(
                "attribute_not_exists(pk) OR genesys_user = :me OR expires_at <= :now",
            )
            .expression_attribute_values(":me", s(user.as_str()))
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":one", n(1))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .timed("UpdateItem")
            .await;
        match result {
            Ok(_) => Ok(Claim::Granted),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), UpdateItemError::ConditionalCheckFailedException(_)) =>
            {
                let UpdateItemError::ConditionalCheckFailedException(failed) = e.err() else {
                    unreachable!("matched above")
                };
                let held = failed.item.as_ref().map(held_claim).transpose()?;
                let held = held.ok_or_else(|| {
                    StoreError(format!("the claim on Teams id {teams} was not returned"))
                })?;
                Ok(Claim::HeldBy(held.holder))
            }
            Err(error) => Err(self.error("UpdateItem", &error)),
        }
    }

    async fn read_claim(&self, teams: &TeamsUserId) -> Result<Option<HeldClaim>, StoreError> {
        let item = self.item(owner_key(teams), Read::Strong).await?;
        item.as_ref().map(held_claim).transpose()
    }

    async fn release_claim(
        &self,
        teams: &TeamsUserId,
        read: &HeldClaim,
    ) -> Result<bool, StoreError> {
        let mut delete = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(owner_key(teams)))
            .expression_attribute_values(":holder", s(read.holder.as_str()));
        // As it was read: a grant since (a lookup's renewal) bumped `rev`.
        delete = if read.rev == 0 {
            delete.condition_expression("genesys_user = :holder AND attribute_not_exists(rev)")
        } else {
            delete
                .condition_expression("genesys_user = :holder AND rev = :rev")
                .expression_attribute_values(":rev", n(read.rev))
        };
        match delete.send().timed("DeleteItem").await {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), DeleteItemError::ConditionalCheckFailedException(_)) =>
            {
                Ok(false)
            }
            Err(error) => Err(self.error("DeleteItem", &error)),
        }
    }

    async fn get_membership(
        &self,
        user: &GenesysUserId,
        now: i64,
    ) -> Result<Option<CachedMembership>, StoreError> {
        self.one_membership_of(user, now).await
    }

    async fn get_memberships(
        &self,
        users: &[GenesysUserId],
        now: i64,
    ) -> Result<HashMap<GenesysUserId, CachedMembership>, StoreError> {
        self.memberships_of(users, now).await
    }

    async fn put_membership(
        &self,
        user: &GenesysUserId,
        cached: &CachedMembership,
    ) -> Result<(), StoreError> {
        self.cache_membership(user, cached).await
    }
}

/// The answer's attributes on a cache item being written.
fn with_entry(put: PutItemFluentBuilder, entry: &TeamsIdEntry) -> PutItemFluentBuilder {
    match entry {
        TeamsIdEntry::Teams(teams) => put.item("teams_id", s(teams.as_str())),
        TeamsIdEntry::NoTeamsId => put,
        TeamsIdEntry::ClaimedBy { teams, holder } => put
            .item("teams_id", s(teams.as_str()))
            .item("claimed_by", s(holder.as_str())),
    }
}
