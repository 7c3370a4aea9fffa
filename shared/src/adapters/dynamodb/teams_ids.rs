//! The Teams-id cache (`pk = "teams-id#<genesysUserId>"`, with `expires_at`) and the claims on
//! a Teams id (`pk = "teams-owner#<teamsId>"`): which Genesys user holds it, until when.

use super::{DynamoStateStore, Item, Timed, get_n, get_s, n, owner_key, s, teams_key};
use crate::domain::ids::{GenesysUserId, TeamsUserId};
use crate::ports::{CachedTeamsId, Claim, StoreError, TeamsIdCache, TeamsIdEntry, TeamsIdOrigin};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};

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
