//! Shared adapters: an `Arc` of a port is the port, so that several instances of the sync (a
//! test's, a model's) can share one in-memory store or Teams.

use super::*;

impl<T: StateStore> StateStore for std::sync::Arc<T> {
    fn read(
        &self,
        user: &GenesysUserId,
    ) -> impl Future<Output = Result<UserState, StoreError>> + Send {
        (**self).read(user)
    }
    fn read_many(
        &self,
        users: &[GenesysUserId],
    ) -> impl Future<Output = Result<HashMap<GenesysUserId, UserState>, StoreError>> + Send {
        (**self).read_many(users)
    }
    fn record(
        &self,
        user: &GenesysUserId,
        event_id: &str,
        observation: &Observation,
        claim: Option<(Intent, &Lease)>,
        now_ms: i64,
    ) -> impl Future<Output = Result<Recorded, StoreError>> + Send {
        (**self).record(user, event_id, observation, claim, now_ms)
    }
    fn reclaim(
        &self,
        user: &GenesysUserId,
        expected_rev: u64,
        intent: Intent,
        lease: &Lease,
        now_ms: i64,
    ) -> impl Future<Output = Result<Recorded, StoreError>> + Send {
        (**self).reclaim(user, expected_rev, intent, lease, now_ms)
    }
    fn replace(
        &self,
        user: &GenesysUserId,
        expected_rev: u64,
        observation: &Observation,
        event_id: &str,
        now_ms: i64,
    ) -> impl Future<Output = Result<Recorded, StoreError>> + Send {
        (**self).replace(user, expected_rev, observation, event_id, now_ms)
    }
    fn let_go(
        &self,
        user: &GenesysUserId,
        read: &UserState,
        reason: LeftReason,
        now_ms: i64,
    ) -> impl Future<Output = Result<Recorded, StoreError>> + Send {
        (**self).let_go(user, read, reason, now_ms)
    }
    fn rejoin(
        &self,
        user: &GenesysUserId,
        read: &UserState,
        current: &Observation,
        event_id: &str,
        now_ms: i64,
    ) -> impl Future<Output = Result<Recorded, StoreError>> + Send {
        (**self).rejoin(user, read, current, event_id, now_ms)
    }
    fn set_watch(
        &self,
        user: &GenesysUserId,
        read: &UserState,
        mark: Option<&WatchMark>,
        now_ms: i64,
    ) -> impl Future<Output = Result<Recorded, StoreError>> + Send {
        (**self).set_watch(user, read, mark, now_ms)
    }
    fn set_exception(
        &self,
        user: &GenesysUserId,
        mark: Option<&ExceptionMark>,
        now_ms: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).set_exception(user, mark, now_ms)
    }
    fn mark_pending(
        &self,
        user: &GenesysUserId,
        owner: &str,
        now_ms: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        (**self).mark_pending(user, owner, now_ms)
    }
    fn finish(
        &self,
        user: &GenesysUserId,
        owner: &str,
        finish: Finish,
        now_ms: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        (**self).finish(user, owner, finish, now_ms)
    }
}

impl<T: TeamsIdCache> TeamsIdCache for std::sync::Arc<T> {
    fn get(
        &self,
        user: &GenesysUserId,
        now: i64,
    ) -> impl Future<Output = Result<Option<CachedTeamsId>, StoreError>> + Send {
        (**self).get(user, now)
    }
    fn put(
        &self,
        user: &GenesysUserId,
        entry: &CachedTeamsId,
        now: i64,
    ) -> impl Future<Output = Result<CachePut, StoreError>> + Send {
        (**self).put(user, entry, now)
    }
    fn forget(&self, user: &GenesysUserId) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).forget(user)
    }
    fn claim(
        &self,
        teams: &TeamsUserId,
        user: &GenesysUserId,
        until: i64,
        now: i64,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send {
        (**self).claim(teams, user, until, now)
    }
    fn read_claim(
        &self,
        teams: &TeamsUserId,
    ) -> impl Future<Output = Result<Option<HeldClaim>, StoreError>> + Send {
        (**self).read_claim(teams)
    }
    fn release_claim(
        &self,
        teams: &TeamsUserId,
        read: &HeldClaim,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        (**self).release_claim(teams, read)
    }
    fn get_membership(
        &self,
        user: &GenesysUserId,
        now: i64,
    ) -> impl Future<Output = Result<Option<CachedMembership>, StoreError>> + Send {
        (**self).get_membership(user, now)
    }
    fn get_many(
        &self,
        users: &[GenesysUserId],
        now: i64,
    ) -> impl Future<
        Output = Result<std::collections::HashMap<GenesysUserId, CachedTeamsId>, StoreError>,
    > + Send {
        (**self).get_many(users, now)
    }
    fn get_memberships(
        &self,
        users: &[GenesysUserId],
        now: i64,
    ) -> impl Future<
        Output = Result<std::collections::HashMap<GenesysUserId, CachedMembership>, StoreError>,
    > + Send {
        (**self).get_memberships(users, now)
    }
    fn put_membership(
        &self,
        user: &GenesysUserId,
        cached: &CachedMembership,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).put_membership(user, cached)
    }
}

impl<T: TeamsDirectory> TeamsDirectory for std::sync::Arc<T> {
    fn lookup(
        &self,
        user: &GenesysUserId,
        budget: Budget,
    ) -> impl Future<Output = Result<DirectoryAnswer, RemoteError>> + Send {
        (**self).lookup(user, budget)
    }
    fn membership(
        &self,
        user: &GenesysUserId,
        queues: bool,
        budget: Budget,
    ) -> impl Future<Output = Result<Membership, RemoteError>> + Send {
        (**self).membership(user, queues, budget)
    }
}

impl<T: PresenceWriter> PresenceWriter for std::sync::Arc<T> {
    fn set_preferred(
        &self,
        user: &TeamsUserId,
        presence: TeamsPresence,
        budget: Budget,
    ) -> impl Future<Output = Result<WriteAnswer, RemoteError>> + Send {
        (**self).set_preferred(user, presence, budget)
    }
    fn clear_preferred(
        &self,
        user: &TeamsUserId,
        budget: Budget,
    ) -> impl Future<Output = Result<WriteAnswer, RemoteError>> + Send {
        (**self).clear_preferred(user, budget)
    }
}

impl<T: RecordScan> RecordScan for std::sync::Arc<T> {
    fn scan(
        &self,
        cursor: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<RecordPage, StoreError>> + Send {
        (**self).scan(cursor, limit)
    }
    fn cursor_after(&self, user: &GenesysUserId) -> String {
        (**self).cursor_after(user)
    }
}

impl<T: PassLedger> PassLedger for std::sync::Arc<T> {
    fn begin(
        &self,
        owner: &str,
        until_ms: i64,
        now_ms: i64,
    ) -> impl Future<Output = Result<RunClaim, StoreError>> + Send {
        (**self).begin(owner, until_ms, now_ms)
    }
    fn save(
        &self,
        owner: &str,
        state: &PassState,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        (**self).save(owner, state)
    }
    fn end(
        &self,
        owner: &str,
        state: &PassState,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        (**self).end(owner, state)
    }
}

impl<T: GenesysBulk> GenesysBulk for std::sync::Arc<T> {
    const MAX_USERS: usize = T::MAX_USERS;
    fn current(
        &self,
        users: &[GenesysUserId],
        budget: Budget,
    ) -> impl Future<Output = Result<Vec<GenesysNow>, RemoteError>> + Send {
        (**self).current(users, budget)
    }
    fn directory_page(
        &self,
        cursor: Option<&str>,
        budget: Budget,
    ) -> impl Future<Output = Result<DirectoryPage, RemoteError>> + Send {
        (**self).directory_page(cursor, budget)
    }
    fn queue_members(
        &self,
        queue: &crate::domain::scope::ScopeId,
        number: u32,
        budget: Budget,
    ) -> impl Future<Output = Result<QueueMembersPage, RemoteError>> + Send {
        (**self).queue_members(queue, number, budget)
    }
}

impl<T: PresenceReader> PresenceReader for std::sync::Arc<T> {
    const MAX_USERS: usize = T::MAX_USERS;
    fn read(
        &self,
        users: &[TeamsUserId],
        budget: Budget,
    ) -> impl Future<Output = Result<Vec<TeamsNow>, RemoteError>> + Send {
        (**self).read(users, budget)
    }
}
