//! A user's cached memberships (`pk = "membership#<genesysUserId>"`): `division`, `groups`
//! and `queues` (each absent when not known, a list of ids when known, empty included) and
//! `expires_at` (the table's TTL attribute, checked here too).

use super::{DynamoStateStore, Item, Read, Timed, get_n, get_s, n, s};
use crate::adapters::keys::membership_key;
use crate::domain::excerpt::excerpt;
use crate::domain::ids::GenesysUserId;
use crate::domain::scope::{Membership, ScopeId};
use crate::ports::{CachedMembership, StoreError};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// A list of ids (`L` of `S`): an empty list is a known "none", which a string set cannot
/// hold.
fn ids(list: &[ScopeId]) -> AttributeValue {
    AttributeValue::L(list.iter().map(|id| s(id.as_str())).collect())
}

fn ids_of(item: &Item, name: &str) -> Result<Option<Vec<ScopeId>>, StoreError> {
    let Some(value) = item.get(name) else {
        return Ok(None);
    };
    let bad = || {
        StoreError(format!(
            "attribute {name} of cached memberships is not a list of ids"
        ))
    };
    let list = value.as_l().map_err(|_| bad())?;
    list.iter()
        .map(|v| {
            v.as_s()
                .ok()
                .and_then(|raw| ScopeId::parse(raw))
                .ok_or_else(bad)
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Reads cached memberships.
pub(super) fn cached_membership(item: &Item) -> Result<CachedMembership, StoreError> {
    let division = match get_s(item, "division")? {
        None => None,
        Some(raw) => Some(ScopeId::parse(raw).ok_or_else(|| {
            StoreError(format!(
                "attribute division of cached memberships is {}, not an id",
                excerpt(raw)
            ))
        })?),
    };
    Ok(CachedMembership {
        membership: Membership {
            division,
            groups: ids_of(item, "groups")?,
            queues: ids_of(item, "queues")?,
        },
        expires_at: get_n(item, "expires_at")?.unwrap_or(0),
    })
}

impl DynamoStateStore {
    pub(super) async fn one_membership_of(
        &self,
        user: &GenesysUserId,
        now: i64,
    ) -> Result<Option<CachedMembership>, StoreError> {
        let Some(item) = self.item(membership_key(user), Read::Eventual).await? else {
            return Ok(None);
        };
        let cached = cached_membership(&item)?;
        Ok((cached.expires_at > now).then_some(cached))
    }

    /// The unexpired cached memberships of `users`, in batches; an item that does not parse
    /// is left out (so it falls due, and its rewrite replaces it).
    pub(super) async fn memberships_of(
        &self,
        users: &[GenesysUserId],
        now: i64,
    ) -> Result<HashMap<GenesysUserId, CachedMembership>, StoreError> {
        let keys = users.iter().map(|user| (membership_key(user), user));
        let items = self.items_of(keys).await?;
        let found = items.into_iter().filter_map(|(user, item)| {
            let cached = cached_membership(&item).ok()?;
            (cached.expires_at > now).then_some((user, cached))
        });
        Ok(found.collect())
    }

    pub(super) async fn cache_membership(
        &self,
        user: &GenesysUserId,
        cached: &CachedMembership,
    ) -> Result<(), StoreError> {
        let known = &cached.membership;
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(membership_key(user)))
            .item("expires_at", n(cached.expires_at));
        if let Some(division) = &known.division {
            put = put.item("division", s(division.as_str()));
        }
        if let Some(groups) = &known.groups {
            put = put.item("groups", ids(groups));
        }
        if let Some(queues) = &known.queues {
            put = put.item("queues", ids(queues));
        }
        put.send()
            .timed("PutItem")
            .await
            .map_err(|e| self.error("PutItem", &e))?;
        Ok(())
    }
}
