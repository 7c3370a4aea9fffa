//! Many users' records in batches (`BatchGetItem`, 100 keys a request, as DynamoDB allows),
//! the keys DynamoDB leaves unprocessed asked again after a backoff: the sweep's reads (and
//! the walk's of cached memberships).

use super::{DynamoStateStore, Item, Timed, s, user_key, user_state};
use crate::adapters::record_walk::skipped_unreadable;
use crate::domain::ids::GenesysUserId;
use crate::domain::state::UserState;
use crate::policy::{BATCH_READ_BACKOFF_FIRST, BATCH_READ_RETRIES};
use crate::ports::StoreError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use std::collections::{BTreeSet, HashMap};

/// The most keys one `BatchGetItem` request takes.
const KEYS_PER_REQUEST: usize = 100;

impl DynamoStateStore {
    /// The records of `users` ([`crate::ports::StateStore::read_many`]), eventually
    /// consistent (half the read units of a strongly consistent read; the one caller, the
    /// sweep, only tells a user never seen from one with a record, and acts through
    /// conditional writes).
    pub(super) async fn batch_read(
        &self,
        users: &[GenesysUserId],
    ) -> Result<HashMap<GenesysUserId, UserState>, StoreError> {
        // DynamoDB refuses a request that names a key twice.
        let unique: BTreeSet<&GenesysUserId> = users.iter().collect();
        let unique: Vec<&GenesysUserId> = unique.into_iter().collect();
        let mut records = HashMap::with_capacity(unique.len());
        let mut unreadable = Vec::new();
        for chunk in unique.chunks(KEYS_PER_REQUEST) {
            let mut found: HashMap<String, Item> = HashMap::new();
            let keys: Vec<String> = chunk.iter().map(|user| user_key(user)).collect();
            for item in self.batch_items(&keys).await? {
                if let Some(AttributeValue::S(key)) = item.get("pk") {
                    found.insert(key.clone(), item);
                }
            }
            for user in chunk {
                let key = user_key(user);
                match user_state(found.get(&key)) {
                    Ok(record) => {
                        records.insert((*user).clone(), record);
                    }
                    Err(error) => unreadable.push((key, error)),
                }
            }
        }
        skipped_unreadable(&unreadable);
        Ok(records)
    }

    /// The items of many users' keys (`(key, user)` pairs; a user named twice is read once),
    /// in batches of 100, each with its user: the items that exist.
    pub(super) async fn items_of<'u>(
        &self,
        keys: impl IntoIterator<Item = (String, &'u GenesysUserId)>,
    ) -> Result<Vec<(GenesysUserId, Item)>, StoreError> {
        let by_key: HashMap<String, &GenesysUserId> = keys.into_iter().collect();
        let keys: Vec<String> = by_key.keys().cloned().collect();
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(KEYS_PER_REQUEST) {
            for item in self.batch_items(chunk).await? {
                let user = match item.get("pk") {
                    Some(AttributeValue::S(key)) => by_key.get(key),
                    _ => None,
                };
                if let Some(user) = user {
                    found.push(((*user).clone(), item));
                }
            }
        }
        Ok(found)
    }

    /// The items of up to 100 keys, asking again for the keys left unprocessed.
    async fn batch_items(&self, keys: &[String]) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::with_capacity(keys.len());
        let keys: Vec<Item> = keys
            .iter()
            .map(|key| HashMap::from([("pk".to_owned(), s(key))]))
            .collect();
        let mut wanted = KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .build()
            .map_err(|e| StoreError(format!("BatchGetItem request: {e}")))?;
        let mut backoff = BATCH_READ_BACKOFF_FIRST;
        for attempt in 0..=BATCH_READ_RETRIES {
            if attempt > 0 {
                tokio::time::sleep(backoff).await;
                backoff = backoff.saturating_mul(2);
            }
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, wanted)
                .send()
                .timed("BatchGetItem")
                .await
                .map_err(|e| self.error("BatchGetItem", &e))?;
            let mut output = output;
            if let Some(found) = output
                .responses
                .as_mut()
                .and_then(|r| r.remove(&self.table))
            {
                items.extend(found);
            }
            match output
                .unprocessed_keys
                .and_then(|mut rest| rest.remove(&self.table))
                .filter(|rest| !rest.keys().is_empty())
            {
                Some(rest) => wanted = rest,
                None => return Ok(items),
            }
        }
        Err(StoreError(format!(
            "BatchGetItem on table {} left keys unprocessed after {BATCH_READ_RETRIES} retries: the table is throttled",
            self.table
        )))
    }
}
