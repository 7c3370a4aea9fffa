//! The state table's keys: every kind of item (user records, cached Teams ids, claims on a
//! Teams id, the reconciler's pass ledger) in one keyspace, `pk`, laid out the same way by the
//! DynamoDB store and the in-memory one, so that a scan meets them interleaved in both.

use crate::domain::excerpt::excerpt;
use crate::domain::ids::{GenesysUserId, TeamsUserId};
use crate::ports::StoreError;

/// The prefix of a user record's key.
pub(crate) const USER_PREFIX: &str = "user#";

/// The pass ledger's key.
pub(crate) const LEDGER_KEY: &str = "reconcile#pass";

/// The longest cursor accepted: DynamoDB's own limit on a partition key is 2048 bytes, and
/// every key this project writes is under 60.
const MAX_CURSOR_LEN: usize = 200;

pub(crate) fn user_key(user: &GenesysUserId) -> String {
    format!("{USER_PREFIX}{user}")
}

pub(crate) fn teams_key(user: &GenesysUserId) -> String {
    format!("teams-id#{user}")
}

pub(crate) fn membership_key(user: &GenesysUserId) -> String {
    format!("membership#{user}")
}

pub(crate) fn owner_key(teams: &TeamsUserId) -> String {
    format!("teams-owner#{teams}")
}

/// Whether `pk` is a user record's key (valid or not: see [`user_of`]).
pub(crate) fn is_user_key(pk: &str) -> bool {
    pk.starts_with(USER_PREFIX)
}

/// The user a user record's key names; an error for a key of the user kind whose id is not a
/// Genesys user id (a hand edit).
pub(crate) fn user_of(pk: &str) -> Result<GenesysUserId, StoreError> {
    pk.strip_prefix(USER_PREFIX)
        .and_then(GenesysUserId::parse)
        .ok_or_else(|| {
            StoreError(format!(
                "item {} is not a user record's key (user#<Genesys user id>)",
                excerpt(pk)
            ))
        })
}

/// A scan cursor as a key of the table: any item's key is one (DynamoDB continues a Scan
/// after any primary key), but nothing this project writes is long or non-ASCII.
pub(crate) fn cursor_key(cursor: &str) -> Result<&str, StoreError> {
    if cursor.is_empty() || cursor.len() > MAX_CURSOR_LEN || !cursor.is_ascii() {
        return Err(StoreError(format!(
            "scan cursor {} is not a key of the state table",
            excerpt(cursor)
        )));
    }
    Ok(cursor)
}
