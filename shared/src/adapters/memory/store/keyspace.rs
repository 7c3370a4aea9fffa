//! The state table's one keyspace in memory, held to DynamoDB's documented Scan semantics:
//! every kind of item under one key, a Scan in hash order (not sorted by key), `Limit` counted
//! on the items read before the filter, a page cut by the limit carrying its last key, and
//! any key (of an item or not) accepted to continue after.

use crate::domain::ids::GenesysUserId;
use crate::domain::state::UserState;
use crate::ports::{CachedMembership, CachedTeamsId, PassState};
use std::collections::BTreeMap;
use std::ops::Bound;

/// One item of the table, by kind.
#[derive(Clone, Debug)]
pub(super) enum Item {
    User(Box<UserState>),
    TeamsId(CachedTeamsId),
    /// A user's cached memberships (division, groups, queues).
    Membership(CachedMembership),
    /// Who holds a Teams id, until when (epoch seconds), and which write of the claim this is.
    Claim {
        holder: GenesysUserId,
        until: i64,
        rev: u64,
    },
    /// The reconciler's run lease (owner, until in ms) and its saved pass.
    Ledger {
        lease: Option<(String, i64)>,
        pass: PassState,
    },
    /// An item a hand edit left unreadable (say, a number stored as a string), with what is
    /// wrong with it: DynamoDB holds whatever it is given, and readers must cope.
    Unreadable(String),
    /// An item of a kind this project does not write.
    Other,
}

/// Where an item sits in a Scan: the hash of its key (as DynamoDB orders partitions), then
/// the key itself for the (astronomically rare) equal hashes.
type Position = (u64, String);

/// A deterministic, well-mixed hash of a key (FNV-1a, then SplitMix64's finaliser): a Scan
/// order that is stable run to run and across platforms, and nothing like the keys' order.
fn hash(key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes() {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

fn position(key: &str) -> Position {
    (hash(key), key.to_owned())
}

/// Every item of the table, in Scan order.
#[derive(Debug, Default)]
pub(super) struct Keyspace {
    items: BTreeMap<Position, Item>,
}

impl Keyspace {
    pub(super) fn get(&self, key: &str) -> Option<&Item> {
        self.items.get(&position(key))
    }

    pub(super) fn insert(&mut self, key: &str, item: Item) -> Option<Item> {
        self.items.insert(position(key), item)
    }

    pub(super) fn remove(&mut self, key: &str) -> Option<Item> {
        self.items.remove(&position(key))
    }

    /// Every item with its key, in Scan order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&str, &Item)> {
        self.items
            .iter()
            .map(|((_, key), item)| (key.as_str(), item))
    }

    /// One Scan request: up to `limit` items read after `start` (any key), and the last key
    /// read when the request stopped at its limit. As DynamoDB's, the limit counts the items
    /// read, whatever a filter then keeps, and a request that reads exactly `limit` items
    /// answers with a last key even when nothing follows (the next request reads nothing).
    pub(super) fn scan(
        &self,
        start: Option<&str>,
        limit: usize,
    ) -> (Vec<(&str, &Item)>, Option<String>) {
        let from = match start {
            Some(key) => Bound::Excluded(position(key)),
            None => Bound::Unbounded,
        };
        let read: Vec<(&str, &Item)> = self
            .items
            .range((from, Bound::Unbounded))
            .take(limit.max(1))
            .map(|((_, key), item)| (key.as_str(), item))
            .collect();
        let last = (read.len() == limit.max(1)).then(|| read.last().map(|(k, _)| (*k).to_owned()));
        (read, last.flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyspace(keys: &[String]) -> Keyspace {
        let mut space = Keyspace::default();
        for key in keys {
            space.insert(key, Item::Other);
        }
        space
    }

    #[test]
    fn a_scan_is_in_hash_order_not_key_order() {
        let keys: Vec<String> = (0..50).map(|n| format!("user#{n:03}")).collect();
        let space = keyspace(&keys);
        let order: Vec<&str> = space.iter().map(|(k, _)| k).collect();
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_ne!(order, sorted);
        assert_eq!(sorted, keys.iter().map(String::as_str).collect::<Vec<_>>());
    }

    #[test]
    fn the_limit_counts_items_read_and_a_full_page_carries_its_last_key() {
        let keys: Vec<String> = (0..5).map(|n| format!("k{n}")).collect();
        let space = keyspace(&keys);
        let (first, last) = space.scan(None, 3);
        assert_eq!(first.len(), 3);
        assert_eq!(last.as_deref(), Some(first[2].0));
        let (rest, end) = space.scan(last.as_deref(), 2);
        assert_eq!(rest.len(), 2);
        // Exactly the limit read: a last key, and the request after it reads nothing.
        let (none, after) = space.scan(end.as_deref(), 2);
        assert!(none.is_empty() && after.is_none());
    }

    #[test]
    fn a_scan_continues_after_any_key_even_one_not_in_the_table() {
        let keys: Vec<String> = (0..20).map(|n| format!("k{n}")).collect();
        let space = keyspace(&keys);
        let (all, _) = space.scan(None, 100);
        let (after, _) = space.scan(Some("not-a-key"), 100);
        let cut = all
            .iter()
            .filter(|(k, _)| position(k) > position("not-a-key"))
            .count();
        assert_eq!(after.len(), cut);
    }
}
