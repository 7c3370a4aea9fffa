//! In-memory adapters of every port the sync uses, honouring the same semantics as the
//! production ones: the state store applies the conditional writes exactly as the DynamoDB
//! adapter's condition expressions do (stated once, in `domain::state`), the Teams-id cache
//! checks expiry itself, and the directory and presence writer count their calls and fail on
//! demand. They make the lease protocol testable in milliseconds and let models run the real
//! service without I/O.

use crate::domain::ids::{GenesysUserId, TeamsUserId};
use crate::domain::state::{Intent, Lease, Observation, UserState};
use crate::domain::teams::{TeamsPresence, TeamsState};
use crate::ports::{
    Budget, CachedTeamsId, Claim, DirectoryAnswer, Finish, PresenceWriter, Recorded, RemoteError,
    Service, StateStore, StoreError, TeamsDirectory, TeamsIdCache, WriteAnswer,
};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

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

/// Genesys's directory of Teams ids, in memory.
#[derive(Debug, Default)]
pub struct MemoryDirectory {
    users: Mutex<HashMap<GenesysUserId, Option<String>>>,
    lookups: Mutex<usize>,
}

impl MemoryDirectory {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes `user` known, with this Teams id (or none).
    pub fn add_user(&self, user: &GenesysUserId, teams: Option<&str>) {
        lock(&self.users).insert(user.clone(), teams.map(str::to_owned));
    }

    pub fn lookups(&self) -> usize {
        *lock(&self.lookups)
    }
}

impl TeamsDirectory for MemoryDirectory {
    async fn lookup(
        &self,
        user: &GenesysUserId,
        _budget: Budget,
    ) -> Result<DirectoryAnswer, RemoteError> {
        *lock(&self.lookups) += 1;
        Ok(match lock(&self.users).get(user) {
            None => DirectoryAnswer::UnknownUser,
            Some(None) => DirectoryAnswer::NoTeamsId,
            Some(Some(teams)) => DirectoryAnswer::TeamsId(teams.clone()),
        })
    }
}

/// One write the presence writer received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Write {
    pub user: TeamsUserId,
    pub state: TeamsState,
}

/// Microsoft Graph's preferred presence, in memory: what each Teams user shows, every write
/// received, and failures to answer with on demand.
#[derive(Debug, Default)]
pub struct MemoryTeams {
    shown: Mutex<HashMap<TeamsUserId, TeamsState>>,
    known: Mutex<Option<Vec<TeamsUserId>>>,
    writes: Mutex<Vec<Write>>,
    failures: Mutex<VecDeque<Failure>>,
    latency: Mutex<Duration>,
}

/// How a scripted write fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Graph refuses it and nothing changes (a 5xx answered before any effect).
    Refused,
    /// The write takes effect, but the answer is lost (a timeout after Graph applied it).
    LandedUnanswered,
}

impl MemoryTeams {
    pub fn new() -> Self {
        Self::default()
    }

    /// Only these Teams users exist (others answer "not found"); by default all do.
    pub fn only_users(&self, users: impl IntoIterator<Item = TeamsUserId>) {
        *lock(&self.known) = Some(users.into_iter().collect());
    }

    /// The next writes fail this way, in order.
    pub fn fail_next(&self, failures: impl IntoIterator<Item = Failure>) {
        lock(&self.failures).extend(failures);
    }

    pub fn set_latency(&self, latency: Duration) {
        *lock(&self.latency) = latency;
    }

    /// The preferred presence the user shows (`Cleared` when none was set).
    pub fn shown(&self, user: &TeamsUserId) -> TeamsState {
        lock(&self.shown)
            .get(user)
            .copied()
            .unwrap_or(TeamsState::Cleared)
    }

    /// Every write received, failed ones included.
    pub fn writes(&self) -> Vec<Write> {
        lock(&self.writes).clone()
    }

    async fn write(
        &self,
        user: &TeamsUserId,
        state: TeamsState,
    ) -> Result<WriteAnswer, RemoteError> {
        let latency = *lock(&self.latency);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        lock(&self.writes).push(Write {
            user: user.clone(),
            state,
        });
        if lock(&self.known)
            .as_ref()
            .is_some_and(|known| !known.contains(user))
        {
            return Ok(WriteAnswer::UserNotFound);
        }
        let failure = lock(&self.failures).pop_front();
        if failure != Some(Failure::Refused) {
            lock(&self.shown).insert(user.clone(), state);
        }
        match failure {
            None => Ok(WriteAnswer::Accepted),
            Some(failure) => Err(RemoteError::Unavailable {
                service: Service::Graph,
                detail: format!("scripted failure (in memory): {failure:?}"),
            }),
        }
    }
}

impl PresenceWriter for MemoryTeams {
    async fn set_preferred(
        &self,
        user: &TeamsUserId,
        presence: TeamsPresence,
        _budget: Budget,
    ) -> Result<WriteAnswer, RemoteError> {
        self.write(user, TeamsState::Preferred(presence)).await
    }

    async fn clear_preferred(
        &self,
        user: &TeamsUserId,
        _budget: Budget,
    ) -> Result<WriteAnswer, RemoteError> {
        self.write(user, TeamsState::Cleared).await
    }
}
