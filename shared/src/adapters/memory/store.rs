//! The state table in memory: user records written by `domain::state`'s pure conditional
//! writes, the scan and the reconciler's pass ledger, cached Teams ids and their claims.

use super::lock;
use crate::domain::ids::{GenesysUserId, TeamsUserId};
use crate::domain::left::LeftReason;
use crate::domain::state::{Intent, Lease, Observation, UserState};
use crate::ports::{
    CachedTeamsId, Claim, Finish, PassLedger, PassState, RecordPage, RecordScan, Recorded,
    RunClaim, StateStore, StoreError, TeamsIdCache,
};
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::Mutex;
use std::time::Duration;

/// The state table in memory: user records, cached Teams ids and Teams-id claims.
#[derive(Debug, Default)]
pub struct MemoryStore {
    records: Mutex<BTreeMap<GenesysUserId, UserState>>,
    teams_ids: Mutex<HashMap<GenesysUserId, CachedTeamsId>>,
    claims: Mutex<HashMap<TeamsUserId, (GenesysUserId, i64)>>,
    /// Delay before each call is answered (the write itself happens at once), to model the
    /// table's latency.
    latency: Mutex<Duration>,
    calls: Mutex<usize>,
    /// The reconciler's run lease (owner, until) and saved pass.
    ledger: Mutex<(Option<(String, i64)>, PassState)>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// The user's record as stored (the empty record when there is none).
    pub fn record_of(&self, user: &GenesysUserId) -> UserState {
        lock(&self.records).get(user).cloned().unwrap_or_default()
    }

    /// Replaces a user's record, as a test's setup or an operator's edit would.
    pub fn put_record(&self, user: &GenesysUserId, state: UserState) {
        lock(&self.records).insert(user.clone(), state);
    }

    /// Every stored record, in user order.
    pub fn records(&self) -> Vec<(GenesysUserId, UserState)> {
        lock(&self.records)
            .iter()
            .map(|(u, s)| (u.clone(), s.clone()))
            .collect()
    }

    pub fn set_latency(&self, latency: Duration) {
        *lock(&self.latency) = latency;
    }

    /// Calls made to the store so far (records, leases, cache and claims alike).
    pub fn calls(&self) -> usize {
        *lock(&self.calls)
    }

    async fn call(&self) {
        *lock(&self.calls) += 1;
        let latency = *lock(&self.latency);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
    }

    /// Replaces the user's record with what `write` leaves of it, atomically, the way one
    /// conditional `UpdateItem` does; answers with the record as it was.
    fn conditional(
        &self,
        user: &GenesysUserId,
        write: impl FnOnce(&UserState) -> Option<UserState>,
    ) -> Recorded {
        let mut records = lock(&self.records);
        let current = records.get(user).cloned().unwrap_or_default();
        match write(&current) {
            Some(next) => {
                records.insert(user.clone(), next);
                Recorded::Accepted { before: current }
            }
            None => Recorded::Refused { current },
        }
    }
}

impl StateStore for MemoryStore {
    async fn read(&self, user: &GenesysUserId) -> Result<UserState, StoreError> {
        self.call().await;
        Ok(self.record_of(user))
    }

    async fn record(
        &self,
        user: &GenesysUserId,
        event_id: &str,
        observation: &Observation,
        claim: Option<(Intent, &Lease)>,
        now_ms: i64,
    ) -> Result<Recorded, StoreError> {
        self.call().await;
        if observation.is_empty() {
            return Err(StoreError(
                "an observation without presence or routing status cannot be recorded".to_owned(),
            ));
        }
        Ok(self.conditional(user, |current| {
            current.after_record(event_id, observation, claim, now_ms)
        }))
    }

    async fn reclaim(
        &self,
        user: &GenesysUserId,
        expected_rev: u64,
        intent: Intent,
        lease: &Lease,
        now_ms: i64,
    ) -> Result<Recorded, StoreError> {
        self.call().await;
        Ok(self.conditional(user, |current| {
            current.after_reclaim(expected_rev, intent, lease, now_ms)
        }))
    }

    async fn replace(
        &self,
        user: &GenesysUserId,
        expected_rev: u64,
        observation: &Observation,
        event_id: &str,
        now_ms: i64,
    ) -> Result<Recorded, StoreError> {
        self.call().await;
        Ok(self.conditional(user, |current| {
            current.after_replace(expected_rev, observation, event_id, now_ms)
        }))
    }

    async fn let_go(
        &self,
        user: &GenesysUserId,
        read: &UserState,
        reason: LeftReason,
        now_ms: i64,
    ) -> Result<Recorded, StoreError> {
        self.call().await;
        Ok(self.conditional(user, |current| {
            current.after_let_go(read.rev, reason, now_ms)
        }))
    }

    async fn rejoin(
        &self,
        user: &GenesysUserId,
        read: &UserState,
        current: &Observation,
        event_id: &str,
        now_ms: i64,
    ) -> Result<Recorded, StoreError> {
        self.call().await;
        Ok(self.conditional(user, |record| {
            record.after_rejoin(read.rev, current, event_id, now_ms)
        }))
    }

    async fn mark_pending(
        &self,
        user: &GenesysUserId,
        owner: &str,
        _now_ms: i64,
    ) -> Result<bool, StoreError> {
        self.call().await;
        let answer = self.conditional(user, |current| current.after_mark_pending(owner));
        Ok(matches!(answer, Recorded::Accepted { .. }))
    }

    async fn finish(
        &self,
        user: &GenesysUserId,
        owner: &str,
        finish: Finish,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        self.call().await;
        let answer = self.conditional(user, |current| current.after_finish(owner, finish, now_ms));
        Ok(matches!(answer, Recorded::Accepted { .. }))
    }
}

impl RecordScan for MemoryStore {
    /// In user order; the cursor is the last user id of the page before.
    async fn scan(&self, cursor: Option<&str>, limit: u32) -> Result<RecordPage, StoreError> {
        self.call().await;
        let after = cursor
            .map(|raw| {
                GenesysUserId::parse(raw)
                    .ok_or_else(|| StoreError(format!("scan cursor {raw:?} is not a user id")))
            })
            .transpose()?;
        let records = lock(&self.records);
        let from = match &after {
            Some(user) => Bound::Excluded(user),
            None => Bound::Unbounded,
        };
        let mut rest = records.range((from, Bound::Unbounded));
        let page: Vec<_> = rest
            .by_ref()
            .take(limit.max(1) as usize)
            .map(|(u, r)| (u.clone(), r.clone()))
            .collect();
        let more = rest.next().is_some();
        let next = page
            .last()
            .filter(|_| more)
            .map(|(user, _)| user.to_string());
        Ok(RecordPage {
            records: page,
            next,
        })
    }
}

impl PassLedger for MemoryStore {
    async fn begin(&self, owner: &str, until_ms: i64, now_ms: i64) -> Result<RunClaim, StoreError> {
        self.call().await;
        let mut ledger = lock(&self.ledger);
        if let Some((_, until)) = &ledger.0
            && *until >= now_ms
        {
            return Ok(RunClaim::HeldByAnother { until_ms: *until });
        }
        ledger.0 = Some((owner.to_owned(), until_ms));
        Ok(RunClaim::Granted(ledger.1.clone()))
    }

    async fn save(&self, owner: &str, state: &PassState) -> Result<bool, StoreError> {
        self.call().await;
        let mut ledger = lock(&self.ledger);
        let ours = ledger.0.as_ref().is_some_and(|(o, _)| o == owner);
        if ours {
            ledger.1 = state.clone();
        }
        Ok(ours)
    }

    async fn end(&self, owner: &str, state: &PassState) -> Result<bool, StoreError> {
        self.call().await;
        let mut ledger = lock(&self.ledger);
        let ours = ledger.0.as_ref().is_some_and(|(o, _)| o == owner);
        if ours {
            ledger.1 = state.clone();
            ledger.0 = None;
        }
        Ok(ours)
    }
}

impl TeamsIdCache for MemoryStore {
    async fn get(
        &self,
        user: &GenesysUserId,
        now: i64,
    ) -> Result<Option<CachedTeamsId>, StoreError> {
        self.call().await;
        Ok(lock(&self.teams_ids)
            .get(user)
            .filter(|cached| cached.expires_at > now)
            .cloned())
    }

    async fn put(
        &self,
        user: &GenesysUserId,
        entry: &CachedTeamsId,
    ) -> Result<Option<CachedTeamsId>, StoreError> {
        self.call().await;
        Ok(lock(&self.teams_ids).insert(user.clone(), entry.clone()))
    }

    async fn forget(&self, user: &GenesysUserId) -> Result<(), StoreError> {
        self.call().await;
        lock(&self.teams_ids).remove(user);
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
        let mut claims = lock(&self.claims);
        match claims.get(teams) {
            Some((holder, expires_at)) if holder != user && *expires_at > now => {
                Ok(Claim::HeldBy(holder.clone()))
            }
            _ => {
                claims.insert(teams.clone(), (user.clone(), until));
                Ok(Claim::Granted)
            }
        }
    }

    async fn release_claim(
        &self,
        teams: &TeamsUserId,
        user: &GenesysUserId,
    ) -> Result<(), StoreError> {
        self.call().await;
        let mut claims = lock(&self.claims);
        if claims.get(teams).is_some_and(|(holder, _)| holder == user) {
            claims.remove(teams);
        }
        Ok(())
    }
}
