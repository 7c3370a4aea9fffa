//! A user's memberships (the divisions, groups and queues `SYNC_SCOPE` names), looked up
//! through the same layers as their Teams id and kept as long: this instance's memory → the
//! state table (`membership#<user>`) → Genesys (the Users API). A Genesys call happens once
//! per lifetime for all instances, never per event on a warm one.

use super::{Claiming, Directory, MemoryCached, TableCached};
use crate::domain::ids::GenesysUserId;
use crate::domain::scope::Membership;
use crate::ports::{Budget, CachedMembership, StoreError, TeamsDirectory, TeamsIdCache};
use crate::service::error::SyncError;
use crate::service::limits::bounded;
use std::collections::HashMap;
use std::future::Future;
use tracing::warn;

/// One layer of the membership lookup.
pub trait Memberships: Send + Sync {
    /// The user's memberships at `now` (epoch seconds), their queues too when `queues`.
    fn membership(
        &self,
        user: &GenesysUserId,
        queues: bool,
        budget: Budget,
        now: i64,
    ) -> impl Future<Output = Result<CachedMembership, SyncError>> + Send;

    /// [`Memberships::membership`] past this instance's memory (which it refreshes): the
    /// shared answer, for a decision that must agree with the reconciler's.
    fn refreshed(
        &self,
        user: &GenesysUserId,
        queues: bool,
        budget: Budget,
        now: i64,
    ) -> impl Future<Output = Result<CachedMembership, SyncError>> + Send {
        self.membership(user, queues, budget, now)
    }

    /// The shared answers (the table's) of `users` that have not expired at `now`: what the
    /// reconciler's walk looks at before caching again. Past every instance's memory.
    fn shared_memberships(
        &self,
        users: &[GenesysUserId],
        now: i64,
    ) -> impl Future<Output = Result<HashMap<GenesysUserId, CachedMembership>, StoreError>> + Send;

    /// Keeps memberships read elsewhere (the reconciler's bulk read), so that the event path
    /// agrees with what the reconciler decided on them.
    fn remember(
        &self,
        user: &GenesysUserId,
        cached: &CachedMembership,
        budget: Budget,
    ) -> impl Future<Output = ()> + Send;
}

/// Whether a cached answer serves: not expired, and with queues when they are wanted.
fn serves(cached: &CachedMembership, queues: bool, now: i64) -> bool {
    cached.expires_at > now && (!queues || cached.membership.queues.is_some())
}

impl<L: Memberships> Memberships for MemoryCached<L> {
    async fn membership(
        &self,
        user: &GenesysUserId,
        queues: bool,
        budget: Budget,
        now: i64,
    ) -> Result<CachedMembership, SyncError> {
        if let Some(cached) = self
            .memberships
            .get(user)
            .filter(|c| serves(c, queues, now))
        {
            return Ok(cached);
        }
        let cached = self.next.membership(user, queues, budget, now).await?;
        self.memberships.insert(user.clone(), cached.clone());
        Ok(cached)
    }

    async fn refreshed(
        &self,
        user: &GenesysUserId,
        queues: bool,
        budget: Budget,
        now: i64,
    ) -> Result<CachedMembership, SyncError> {
        let cached = self.next.membership(user, queues, budget, now).await?;
        self.memberships.insert(user.clone(), cached.clone());
        Ok(cached)
    }

    fn shared_memberships(
        &self,
        users: &[GenesysUserId],
        now: i64,
    ) -> impl Future<Output = Result<HashMap<GenesysUserId, CachedMembership>, StoreError>> + Send
    {
        self.next.shared_memberships(users, now)
    }

    async fn remember(&self, user: &GenesysUserId, cached: &CachedMembership, budget: Budget) {
        self.memberships.insert(user.clone(), cached.clone());
        self.next.remember(user, cached, budget).await;
    }
}

impl<C: TeamsIdCache, L: Memberships> Memberships for TableCached<C, L> {
    async fn membership(
        &self,
        user: &GenesysUserId,
        queues: bool,
        budget: Budget,
        now: i64,
    ) -> Result<CachedMembership, SyncError> {
        let read = self.table.get_membership(user, now);
        let doing = "reading the cached memberships";
        if let Some(cached) = bounded(budget, doing, user, read).await?
            && serves(&cached, queues, now)
        {
            return Ok(cached);
        }
        let cached = self.next.membership(user, queues, budget, now).await?;
        self.remember(user, &cached, budget).await;
        Ok(cached)
    }

    fn shared_memberships(
        &self,
        users: &[GenesysUserId],
        now: i64,
    ) -> impl Future<Output = Result<HashMap<GenesysUserId, CachedMembership>, StoreError>> + Send
    {
        self.table.get_memberships(users, now)
    }

    async fn remember(&self, user: &GenesysUserId, cached: &CachedMembership, budget: Budget) {
        let put = self.table.put_membership(user, cached);
        if let Err(error) = bounded(budget, "caching the memberships", user, put).await {
            warn!(genesysUserId = %user, error = %error, "could not cache the memberships; they will be looked up again");
        }
    }
}

impl<C: Send + Sync, L: Memberships> Memberships for Claiming<C, L> {
    fn membership(
        &self,
        user: &GenesysUserId,
        queues: bool,
        budget: Budget,
        now: i64,
    ) -> impl Future<Output = Result<CachedMembership, SyncError>> + Send {
        self.next.membership(user, queues, budget, now)
    }

    fn shared_memberships(
        &self,
        users: &[GenesysUserId],
        now: i64,
    ) -> impl Future<Output = Result<HashMap<GenesysUserId, CachedMembership>, StoreError>> + Send
    {
        self.next.shared_memberships(users, now)
    }

    fn remember(
        &self,
        user: &GenesysUserId,
        cached: &CachedMembership,
        budget: Budget,
    ) -> impl Future<Output = ()> + Send {
        self.next.remember(user, cached, budget)
    }
}

impl<D: TeamsDirectory> Memberships for Directory<D> {
    async fn membership(
        &self,
        user: &GenesysUserId,
        queues: bool,
        budget: Budget,
        now: i64,
    ) -> Result<CachedMembership, SyncError> {
        let membership: Membership = self
            .directory
            .membership(user, queues, budget)
            .await
            .map_err(|source| SyncError::Directory {
                user: user.clone(),
                source,
            })?;
        let lifetime = self.lifetimes.teams_id.as_secs() as i64;
        Ok(CachedMembership {
            membership,
            expires_at: now.saturating_add(lifetime),
        })
    }

    /// The directory keeps no answers: none are shared.
    async fn shared_memberships(
        &self,
        _users: &[GenesysUserId],
        _now: i64,
    ) -> Result<HashMap<GenesysUserId, CachedMembership>, StoreError> {
        Ok(HashMap::new())
    }

    async fn remember(&self, _user: &GenesysUserId, _cached: &CachedMembership, _budget: Budget) {}
}
