//! The state table as the reconciler uses it in the model: the floor's one `MemoryStore`, with
//! every page its walk scans noted (when, how many users, how many of them had a state
//! applied within the burst window), which is what `service::reconcile`'s burst rule judges
//! by. Noting the pages the walk actually got keeps the figures right whatever order the
//! store returns its records in.

use presence_core::adapters::memory::MemoryStore;
use presence_core::domain::ids::GenesysUserId;
use presence_core::domain::left::LeftReason;
use presence_core::domain::scope::ExceptionMark;
use presence_core::domain::state::{Intent, Lease, Observation, UserState};
use presence_core::policy::RECONCILE_BURST_WINDOW;
use presence_core::ports::{
    Clock, Finish, PassLedger, PassState, RecordPage, RecordScan, Recorded, RunClaim, StateStore,
    StoreError,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// One page the walk scanned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageSample {
    /// Virtual time of the scan, ms after model time zero.
    pub at_ms: i64,
    /// Users on the page.
    pub users: usize,
    /// Of those, users with a state applied within `RECONCILE_BURST_WINDOW` of the scan.
    pub recent: usize,
}

/// The shared store, noting the walk's pages.
pub struct Sampled<K> {
    store: Arc<MemoryStore>,
    clock: K,
    zero_ms: i64,
    pages: Mutex<Vec<PageSample>>,
}

impl<K: Clock> Sampled<K> {
    /// `store` as seen by the reconciler, its pages timed by `clock` from `zero_ms`.
    pub fn new(store: Arc<MemoryStore>, clock: K, zero_ms: i64) -> Self {
        Sampled {
            store,
            clock,
            zero_ms,
            pages: Mutex::new(Vec::new()),
        }
    }

    /// The pages scanned so far.
    pub fn pages(&self) -> Vec<PageSample> {
        self.pages.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl<K: Clock> RecordScan for Sampled<K> {
    async fn scan(&self, cursor: Option<&str>, limit: u32) -> Result<RecordPage, StoreError> {
        let page = self.store.scan(cursor, limit).await?;
        let now = self.clock.now_ms();
        let window = RECONCILE_BURST_WINDOW.as_millis() as i64;
        let recent = page
            .records
            .iter()
            .filter(|(_, r)| r.applied_at_ms.is_some_and(|at| now - at < window))
            .count();
        self.pages
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(PageSample {
                at_ms: now - self.zero_ms,
                users: page.records.len(),
                recent,
            });
        Ok(page)
    }

    fn cursor_after(&self, user: &GenesysUserId) -> String {
        self.store.cursor_after(user)
    }
}

impl<K: Clock> PassLedger for Sampled<K> {
    async fn begin(&self, owner: &str, until_ms: i64, now_ms: i64) -> Result<RunClaim, StoreError> {
        self.store.begin(owner, until_ms, now_ms).await
    }
    async fn save(&self, owner: &str, state: &PassState) -> Result<bool, StoreError> {
        self.store.save(owner, state).await
    }
    async fn end(&self, owner: &str, state: &PassState) -> Result<bool, StoreError> {
        self.store.end(owner, state).await
    }
}

impl<K: Clock> StateStore for Sampled<K> {
    async fn read(&self, user: &GenesysUserId) -> Result<UserState, StoreError> {
        self.store.read(user).await
    }
    async fn read_many(
        &self,
        users: &[GenesysUserId],
    ) -> Result<HashMap<GenesysUserId, UserState>, StoreError> {
        self.store.read_many(users).await
    }
    async fn set_watch(
        &self,
        user: &GenesysUserId,
        read: &UserState,
        mark: Option<&presence_core::domain::watch::WatchMark>,
        now_ms: i64,
    ) -> Result<Recorded, StoreError> {
        self.store.set_watch(user, read, mark, now_ms).await
    }
    async fn set_exception(
        &self,
        user: &GenesysUserId,
        mark: Option<&ExceptionMark>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.store.set_exception(user, mark, now_ms).await
    }
    async fn record(
        &self,
        user: &GenesysUserId,
        event_id: &str,
        observation: &Observation,
        claim: Option<(Intent, &Lease)>,
        now_ms: i64,
    ) -> Result<Recorded, StoreError> {
        self.store
            .record(user, event_id, observation, claim, now_ms)
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
        self.store
            .reclaim(user, expected_rev, intent, lease, now_ms)
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
        self.store
            .replace(user, expected_rev, observation, event_id, now_ms)
            .await
    }
    async fn let_go(
        &self,
        user: &GenesysUserId,
        read: &UserState,
        reason: LeftReason,
        now_ms: i64,
    ) -> Result<Recorded, StoreError> {
        self.store.let_go(user, read, reason, now_ms).await
    }
    async fn rejoin(
        &self,
        user: &GenesysUserId,
        read: &UserState,
        current: &Observation,
        event_id: &str,
        now_ms: i64,
    ) -> Result<Recorded, StoreError> {
        self.store
            .rejoin(user, read, current, event_id, now_ms)
            .await
    }
    async fn mark_pending(
        &self,
        user: &GenesysUserId,
        owner: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        self.store.mark_pending(user, owner, now_ms).await
    }
    async fn finish(
        &self,
        user: &GenesysUserId,
        owner: &str,
        finish: Finish,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        self.store.finish(user, owner, finish, now_ms).await
    }
}
