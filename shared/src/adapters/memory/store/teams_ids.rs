//! Cached Teams ids (`teams-id#<user>`) and the claims on a Teams id (`teams-owner#<teams>`)
//! in memory, with the DynamoDB store's conditions: a lookup's answer never replaces a live
//! override, and a claim is released only as it was read.

use super::keyspace::Item;
use super::{MemoryStore, lock, unreadable};
use crate::adapters::keys::{membership_key, owner_key, teams_key};
use crate::domain::ids::{GenesysUserId, TeamsUserId};
use crate::ports::{
    CachePut, CachedMembership, CachedTeamsId, Claim, HeldClaim, StoreError, TeamsIdCache,
    TeamsIdOrigin,
};

/// A cached Teams id as stored, expired or not.
fn cached(key: &str, item: Option<&Item>) -> Result<Option<CachedTeamsId>, StoreError> {
    match item {
        None => Ok(None),
        Some(Item::TeamsId(cached)) => Ok(Some(cached.clone())),
        Some(Item::Unreadable(why)) => Err(unreadable(key, why)),
        Some(_) => Err(unreadable(key, "it is not a cached Teams id")),
    }
}

/// A claim as stored.
fn claim_of(key: &str, item: Option<&Item>) -> Result<Option<HeldClaim>, StoreError> {
    match item {
        None => Ok(None),
        Some(Item::Claim { holder, until, rev }) => Ok(Some(HeldClaim {
            holder: holder.clone(),
            until: *until,
            rev: *rev,
        })),
        Some(Item::Unreadable(why)) => Err(unreadable(key, why)),
        Some(_) => Err(unreadable(key, "it is not a claim on a Teams id")),
    }
}

impl TeamsIdCache for MemoryStore {
    async fn get(
        &self,
        user: &GenesysUserId,
        now: i64,
    ) -> Result<Option<CachedTeamsId>, StoreError> {
        self.call().await;
        let key = teams_key(user);
        let found = cached(&key, lock(&self.table).get(&key))?;
        Ok(found.filter(|cached| cached.expires_at > now))
    }

    async fn get_many(
        &self,
        users: &[GenesysUserId],
        now: i64,
    ) -> Result<std::collections::HashMap<GenesysUserId, CachedTeamsId>, StoreError> {
        self.call().await;
        let table = lock(&self.table);
        let found = users.iter().filter_map(|user| {
            let key = teams_key(user);
            let cached = cached(&key, table.get(&key)).ok().flatten()?;
            (cached.expires_at > now).then(|| (user.clone(), cached))
        });
        Ok(found.collect())
    }

    async fn put(
        &self,
        user: &GenesysUserId,
        entry: &CachedTeamsId,
        now: i64,
    ) -> Result<CachePut, StoreError> {
        self.call().await;
        let key = teams_key(user);
        let mut table = lock(&self.table);
        // Whatever is there is replaced (as a PutItem would): an unreadable item too.
        let previous = cached(&key, table.get(&key)).unwrap_or(None);
        if matches!(entry.origin, TeamsIdOrigin::Directory)
            && let Some(kept) = previous.as_ref().filter(|p| {
                matches!(p.origin, TeamsIdOrigin::Override { .. }) && p.expires_at > now
            })
        {
            return Ok(CachePut::KeptOverride(kept.clone()));
        }
        table.insert(&key, Item::TeamsId(entry.clone()));
        Ok(CachePut::Stored(previous))
    }

    async fn forget(&self, user: &GenesysUserId) -> Result<(), StoreError> {
        self.call().await;
        lock(&self.table).remove(&teams_key(user));
        Ok(())
    }

    async fn claim(
        &self,
        teams: &TeamsUserId,
        user: &GenesysUserId,
        until: i64,
        now: i64,
    ) -> Result<Claim, StoreError> {
        self.call().await;
        let key = owner_key(teams);
        let mut table = lock(&self.table);
        let current = claim_of(&key, table.get(&key))?;
        if let Some(held) = &current
            && held.holder != *user
            && held.until > now
        {
            return Ok(Claim::HeldBy(held.holder.clone()));
        }
        let rev = current.map_or(0, |held| held.rev) + 1;
        let holder = user.clone();
        table.insert(&key, Item::Claim { holder, until, rev });
        Ok(Claim::Granted)
    }

    async fn read_claim(&self, teams: &TeamsUserId) -> Result<Option<HeldClaim>, StoreError> {
        self.call().await;
        let key = owner_key(teams);
        claim_of(&key, lock(&self.table).get(&key))
    }

    async fn release_claim(
        &self,
        teams: &TeamsUserId,
        read: &HeldClaim,
    ) -> Result<bool, StoreError> {
        self.call().await;
        let key = owner_key(teams);
        let mut table = lock(&self.table);
        let unchanged = claim_of(&key, table.get(&key))?
            .is_some_and(|held| held.holder == read.holder && held.rev == read.rev);
        if unchanged {
            table.remove(&key);
        }
        Ok(unchanged)
    }

    async fn get_membership(
        &self,
        user: &GenesysUserId,
        now: i64,
    ) -> Result<Option<CachedMembership>, StoreError> {
        self.call().await;
        let key = membership_key(user);
        match lock(&self.table).get(&key) {
            None => Ok(None),
            Some(Item::Membership(cached)) => {
                Ok(Some(cached.clone()).filter(|c| c.expires_at > now))
            }
            Some(Item::Unreadable(why)) => Err(unreadable(&key, why)),
            Some(_) => Err(unreadable(&key, "it is not a user's cached memberships")),
        }
    }

    async fn get_memberships(
        &self,
        users: &[GenesysUserId],
        now: i64,
    ) -> Result<std::collections::HashMap<GenesysUserId, CachedMembership>, StoreError> {
        self.call().await;
        let table = lock(&self.table);
        let found = users
            .iter()
            .filter_map(|user| match table.get(&membership_key(user)) {
                Some(Item::Membership(cached)) if cached.expires_at > now => {
                    Some((user.clone(), cached.clone()))
                }
                _ => None,
            });
        Ok(found.collect())
    }

    async fn put_membership(
        &self,
        user: &GenesysUserId,
        cached: &CachedMembership,
    ) -> Result<(), StoreError> {
        self.call().await;
        let key = membership_key(user);
        lock(&self.table).insert(&key, Item::Membership(cached.clone()));
        Ok(())
    }
}
