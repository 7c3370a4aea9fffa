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
    Budget, CachedTeamsId, Claim, DirectoryAnswer, DirectoryPage, Finish, GenesysBulk, GenesysNow,
    PassLedger, PassState, PresenceReader, PresenceWriter, RecordPage, RecordScan, Recorded,
    RemoteError, RunClaim, Service, StateStore, StoreError, TeamsDirectory, TeamsIdCache, TeamsNow,
    WriteAnswer,
};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Bound;
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
    /// Users without a Teams session (they show Offline whatever was set).
    sessionless: Mutex<Vec<TeamsUserId>>,
    /// What users set by hand, shown until the next write.
    by_hand: Mutex<HashMap<TeamsUserId, TeamsPresence>>,
    reads: Mutex<usize>,
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

    /// The user has no Teams session: they show Offline whatever was set.
    pub fn without_session(&self, user: &TeamsUserId) {
        lock(&self.sessionless).push(user.clone());
    }

    /// The user sets their own presence in Teams; it shows until the next write.
    pub fn set_by_hand(&self, user: &TeamsUserId, presence: TeamsPresence) {
        lock(&self.by_hand).insert(user.clone(), presence);
    }

    /// Bulk presence reads received.
    pub fn reads(&self) -> usize {
        *lock(&self.reads)
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
            lock(&self.by_hand).remove(user);
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

impl PresenceReader for MemoryTeams {
    const MAX_USERS: usize = 650;

    /// What Graph's aggregate shows: nothing but Offline without a session; else what the user
    /// set by hand, else the preferred presence set, else Available (their own session).
    async fn read(
        &self,
        users: &[TeamsUserId],
        _budget: Budget,
    ) -> Result<Vec<TeamsNow>, RemoteError> {
        *lock(&self.reads) += 1;
        let sessionless = lock(&self.sessionless);
        let by_hand = lock(&self.by_hand);
        Ok(users
            .iter()
            .map(|user| {
                let presence = if sessionless.contains(user) {
                    TeamsPresence::OffWork
                } else if let Some(own) = by_hand.get(user) {
                    *own
                } else {
                    match self.shown(user) {
                        TeamsState::Preferred(presence) => presence,
                        TeamsState::Cleared => TeamsPresence::Available,
                    }
                };
                TeamsNow {
                    user: user.clone(),
                    availability: presence.availability().to_owned(),
                    activity: presence.activity().to_owned(),
                }
            })
            .collect())
    }
}

/// Genesys Cloud read in bulk, in memory: each user's Teams id and current state.
#[derive(Debug, Default)]
pub struct MemoryGenesys {
    users: Mutex<BTreeMap<GenesysUserId, (Option<String>, Observation)>>,
    calls: Mutex<usize>,
}

impl MemoryGenesys {
    /// Users per directory page.
    pub const PAGE: usize = 100;

    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a user's Teams id and current state (as Genesys would report them now).
    pub fn set_user(&self, user: &GenesysUserId, teams: Option<&str>, now: Observation) {
        lock(&self.users).insert(user.clone(), (teams.map(str::to_owned), now));
    }

    /// Calls made (bulk reads and directory pages).
    pub fn calls(&self) -> usize {
        *lock(&self.calls)
    }
}

impl GenesysBulk for MemoryGenesys {
    const MAX_USERS: usize = 100;

    async fn current(
        &self,
        users: &[GenesysUserId],
        _budget: Budget,
    ) -> Result<Vec<GenesysNow>, RemoteError> {
        *lock(&self.calls) += 1;
        let known = lock(&self.users);
        Ok(users
            .iter()
            .filter_map(|user| {
                known.get(user).map(|(_, now)| GenesysNow {
                    user: user.clone(),
                    observation: now.clone(),
                })
            })
            .collect())
    }

    async fn directory_page(
        &self,
        cursor: Option<&str>,
        _budget: Budget,
    ) -> Result<DirectoryPage, RemoteError> {
        *lock(&self.calls) += 1;
        let start: usize = match cursor {
            None => 0,
            Some(raw) => raw.parse().map_err(|_| RemoteError::BadResponse {
                service: Service::GenesysScim,
                detail: format!("directory cursor {raw:?} is not a position"),
            })?,
        };
        let known = lock(&self.users);
        let users: Vec<_> = known
            .iter()
            .skip(start)
            .take(Self::PAGE)
            .map(|(user, (teams, _))| {
                let answer = match teams {
                    Some(teams) => DirectoryAnswer::TeamsId(teams.clone()),
                    None => DirectoryAnswer::NoTeamsId,
                };
                (user.clone(), answer)
            })
            .collect();
        let end = start + users.len();
        let next = (end < known.len()).then(|| end.to_string());
        Ok(DirectoryPage { users, next })
    }
}
