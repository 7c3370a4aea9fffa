//! Renewing a Teams id before its shared answer expires: the reconciler's sweep reads the
//! directory in pages anyway, and gives each user whose table answer is missing or due its
//! page's answer as a hint; the renewal then asks past the table (the claim and the change
//! notice included, as a lookup on expiry would) without a Genesys request.

use super::{MemoryCached, TableCached, TeamsIds};
use crate::domain::ids::GenesysUserId;
use crate::ports::{Budget, CachedTeamsId, StoreError, TeamsIdCache};
use crate::service::error::SyncError;
use std::collections::HashMap;
use std::future::Future;

/// The layers a renewal goes through: this instance's memory, then the table.
pub trait Renew: Send + Sync {
    /// The shared answers (the table's) of `users` that have not expired at `now`.
    fn shared_answers(
        &self,
        users: &[GenesysUserId],
        now: i64,
    ) -> impl Future<Output = Result<HashMap<GenesysUserId, CachedTeamsId>, StoreError>> + Send;

    /// The user's Teams id asked for again past the shared answer, which the new one replaces
    /// (an operator's override excepted).
    fn renew(
        &self,
        user: &GenesysUserId,
        budget: Budget,
        now: i64,
    ) -> impl Future<Output = Result<CachedTeamsId, SyncError>> + Send;
}

impl<L: Renew> Renew for MemoryCached<L> {
    fn shared_answers(
        &self,
        users: &[GenesysUserId],
        now: i64,
    ) -> impl Future<Output = Result<HashMap<GenesysUserId, CachedTeamsId>, StoreError>> + Send
    {
        self.next.shared_answers(users, now)
    }

    async fn renew(
        &self,
        user: &GenesysUserId,
        budget: Budget,
        now: i64,
    ) -> Result<CachedTeamsId, SyncError> {
        let cached = self.next.renew(user, budget, now).await?;
        self.memory.insert(user.clone(), cached.clone());
        Ok(cached)
    }
}

impl<C: TeamsIdCache, L: TeamsIds> Renew for TableCached<C, L> {
    fn shared_answers(
        &self,
        users: &[GenesysUserId],
        now: i64,
    ) -> impl Future<Output = Result<HashMap<GenesysUserId, CachedTeamsId>, StoreError>> + Send
    {
        self.table.get_many(users, now)
    }

    fn renew(
        &self,
        user: &GenesysUserId,
        budget: Budget,
        now: i64,
    ) -> impl Future<Output = Result<CachedTeamsId, SyncError>> + Send {
        self.look_up_and_cache(user, budget, now)
    }
}
