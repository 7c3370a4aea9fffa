//! The state table in memory: one keyspace holding every kind of item as DynamoDB holds them
//! (`keyspace`), user records written by `domain::state`'s pure conditional writes, the walk
//! over them, the reconciler's pass ledger (`ledger`), cached Teams ids and their claims
//! (`teams_ids`).

use super::lock;
use crate::adapters::keys::{cursor_key, is_user_key, user_key, user_of};
use crate::adapters::record_walk::{ScanUsers, UsersRead, page_of_users, skipped_unreadable};
use crate::domain::excerpt::excerpt;
use crate::domain::ids::GenesysUserId;
use crate::domain::left::LeftReason;
use crate::domain::scope::ExceptionMark;
use crate::domain::state::{Intent, Lease, Observation, UserState};
use crate::domain::watch::WatchMark;
use crate::ports::{Finish, RecordPage, RecordScan, Recorded, StateStore, StoreError};
use keyspace::{Item, Keyspace};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

mod keyspace;
mod ledger;
mod teams_ids;

/// The state table in memory: user records, cached Teams ids, Teams-id claims and the pass
/// ledger, in one keyspace.
#[derive(Debug, Default)]
pub struct MemoryStore {
    table: Mutex<Keyspace>,
    /// Delay before each call is answered (the write itself happens at once), to model the
    /// table's latency.
    latency: Mutex<Duration>,
    calls: Mutex<usize>,
}

/// What a hand edit leaves in the table: an item the readers cannot parse.
fn unreadable(key: &str, why: &str) -> StoreError {
    StoreError(format!("item {} does not parse: {why}", excerpt(key)))
}

/// A user record as stored: the empty record when there is none, an error when the item is
/// not a readable user record.
fn user_record(key: &str, item: Option<&Item>) -> Result<UserState, StoreError> {
    match item {
        None => Ok(UserState::default()),
        Some(Item::User(record)) => Ok((**record).clone()),
        Some(Item::Unreadable(why)) => Err(unreadable(key, why)),
        Some(_) => Err(unreadable(key, "it is not a user record")),
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// The user's record as stored (the empty record when there is none or it is unreadable).
    pub fn record_of(&self, user: &GenesysUserId) -> UserState {
        let key = user_key(user);
        user_record(&key, lock(&self.table).get(&key)).unwrap_or_default()
    }

    /// Replaces a user's record, as a test's setup or an operator's edit would.
    pub fn put_record(&self, user: &GenesysUserId, state: UserState) {
        lock(&self.table).insert(&user_key(user), Item::User(Box::new(state)));
    }

    /// Replaces the item at `key` with one that does not parse (`why` says what is wrong), as
    /// a hand edit in the DynamoDB console can: the readers' answer to it is tested.
    pub fn put_unreadable(&self, key: &str, why: &str) {
        lock(&self.table).insert(key, Item::Unreadable(why.to_owned()));
    }

    /// Puts an item of a kind this project does not write at `key`.
    pub fn put_other(&self, key: &str) {
        lock(&self.table).insert(key, Item::Other);
    }

    /// Every readable user record, in user order.
    pub fn records(&self) -> Vec<(GenesysUserId, UserState)> {
        let mut records: Vec<_> = lock(&self.table)
            .iter()
            .filter_map(|(key, item)| match item {
                Item::User(record) => Some((user_of(key).ok()?, (**record).clone())),
                _ => None,
            })
            .collect();
        records.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        records
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
    ) -> Result<Recorded, StoreError> {
        let key = user_key(user);
        let mut table = lock(&self.table);
        let current = user_record(&key, table.get(&key))?;
        Ok(match write(&current) {
            Some(next) => {
                table.insert(&key, Item::User(Box::new(next)));
                Recorded::Accepted { before: current }
            }
            None => Recorded::Refused { current },
        })
    }
}

impl StateStore for MemoryStore {
    async fn read(&self, user: &GenesysUserId) -> Result<UserState, StoreError> {
        self.call().await;
        let key = user_key(user);
        user_record(&key, lock(&self.table).get(&key))
    }

    async fn read_many(
        &self,
        users: &[GenesysUserId],
    ) -> Result<HashMap<GenesysUserId, UserState>, StoreError> {
        self.call().await;
        let table = lock(&self.table);
        let mut unreadable = Vec::new();
        let mut records = HashMap::with_capacity(users.len());
        for user in users {
            let key = user_key(user);
            match user_record(&key, table.get(&key)) {
                Ok(record) => {
                    records.insert(user.clone(), record);
                }
                Err(error) => unreadable.push((key, error)),
            }
        }
        skipped_unreadable(&unreadable);
        Ok(records)
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
        self.conditional(user, |current| {
            current.after_record(event_id, observation, claim, now_ms)
        })
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
        self.conditional(user, |current| {
            current.after_reclaim(expected_rev, intent, lease, now_ms)
        })
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
        self.conditional(user, |current| {
            current.after_replace(expected_rev, observation, event_id, now_ms)
        })
    }

    async fn let_go(
        &self,
        user: &GenesysUserId,
        read: &UserState,
        reason: LeftReason,
        now_ms: i64,
    ) -> Result<Recorded, StoreError> {
        self.call().await;
        self.conditional(user, |current| {
            current.after_let_go(read.rev, reason, now_ms)
        })
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
        self.conditional(user, |record| {
            record.after_rejoin(read.rev, current, event_id, now_ms)
        })
    }

    async fn set_watch(
        &self,
        user: &GenesysUserId,
        read: &UserState,
        mark: Option<&WatchMark>,
        now_ms: i64,
    ) -> Result<Recorded, StoreError> {
        self.call().await;
        self.conditional(user, |current| {
            current.after_set_watch(read.rev, mark, now_ms)
        })
    }

    async fn set_exception(
        &self,
        user: &GenesysUserId,
        mark: Option<&ExceptionMark>,
        _now_ms: i64,
    ) -> Result<(), StoreError> {
        self.call().await;
        self.conditional(user, |record| Some(record.after_set_exception(mark)))?;
        Ok(())
    }

    async fn mark_pending(
        &self,
        user: &GenesysUserId,
        owner: &str,
        _now_ms: i64,
    ) -> Result<bool, StoreError> {
        self.call().await;
        let answer = self.conditional(user, |current| current.after_mark_pending(owner))?;
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
        let answer =
            self.conditional(user, |current| current.after_finish(owner, finish, now_ms))?;
        Ok(matches!(answer, Recorded::Accepted { .. }))
    }
}

impl ScanUsers for MemoryStore {
    /// One Scan request, as DynamoDB answers it: `limit` items of any kind read in hash order,
    /// then filtered to user records (`begins_with(pk, "user#")`).
    async fn scan_users(&self, start: Option<&str>, limit: u32) -> Result<UsersRead, StoreError> {
        self.call().await;
        let table = lock(&self.table);
        let (read, last_key) = table.scan(start, limit as usize);
        let users = read
            .into_iter()
            .filter(|(key, _)| is_user_key(key))
            .map(|(key, item)| {
                let parsed =
                    user_of(key).and_then(|user| Ok((user, user_record(key, Some(item))?)));
                (key.to_owned(), parsed)
            })
            .collect();
        Ok(UsersRead { users, last_key })
    }
}

impl RecordScan for MemoryStore {
    /// A page of users collected from Scan requests (`adapters::record_walk`), as the
    /// DynamoDB store collects it.
    async fn scan(&self, cursor: Option<&str>, limit: u32) -> Result<RecordPage, StoreError> {
        let cursor = cursor.map(cursor_key).transpose()?;
        page_of_users(self, cursor, limit).await
    }

    fn cursor_after(&self, user: &GenesysUserId) -> String {
        user_key(user)
    }
}

#[cfg(any(test, feature = "contract"))]
impl crate::ports::contract::Table for MemoryStore {
    async fn put_other(&self, key: &str) {
        MemoryStore::put_other(self, key);
    }

    async fn put_user_item(&self, key: &str, edit: crate::ports::contract::HandEdit) {
        use crate::ports::contract::HandEdit;
        let item = match edit {
            HandEdit::None => Item::User(Box::new(UserState {
                rev: 1,
                ..UserState::default()
            })),
            HandEdit::WrongType => Item::Unreadable("attribute rev is not a number".to_owned()),
            HandEdit::UnknownValue => {
                Item::Unreadable("attribute applied holds an unknown value".to_owned())
            }
        };
        lock(&self.table).insert(key, item);
    }
}

#[cfg(test)]
mod contract {
    crate::state_table_contract!(async { super::MemoryStore::new() });
}
