//! The reconciler's walk over the user records: Scan requests of the state table, filtered to
//! user records (the table also holds cached Teams ids, claims and the pass ledger), collected
//! into pages of users by `adapters::record_walk`.

use super::{DynamoStateStore, Timed, s, user_state};
use crate::adapters::keys::{USER_PREFIX, cursor_key, user_key, user_of};
use crate::adapters::record_walk::{ScanUsers, UsersRead, page_of_users};
use crate::domain::ids::GenesysUserId;
use crate::ports::{RecordPage, RecordScan, StoreError};
use aws_sdk_dynamodb::types::AttributeValue;

impl ScanUsers for DynamoStateStore {
    /// One eventually consistent `Scan` request: the reconciler acts on a record only through
    /// conditional writes on its revision, so a stale page costs a refused write, never a
    /// wrong one.
    async fn scan_users(&self, start: Option<&str>, limit: u32) -> Result<UsersRead, StoreError> {
        let mut scan = self
            .client
            .scan()
            .table_name(&self.table)
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .filter_expression("begins_with(pk, :user)")
            .expression_attribute_values(":user", s(USER_PREFIX));
        if let Some(start) = start {
            scan = scan.exclusive_start_key("pk", s(start));
        }
        let output = scan
            .send()
            .timed("Scan")
            .await
            .map_err(|e| self.error("Scan", &e))?;
        let users = output
            .items()
            .iter()
            .filter_map(|item| {
                let Some(AttributeValue::S(key)) = item.get("pk") else {
                    return None;
                };
                let parsed = user_of(key).and_then(|user| Ok((user, user_state(Some(item))?)));
                Some((key.clone(), parsed))
            })
            .collect();
        let last_key = output
            .last_evaluated_key()
            .and_then(|key| key.get("pk"))
            .and_then(|pk| pk.as_s().ok())
            .cloned();
        Ok(UsersRead { users, last_key })
    }
}

impl RecordScan for DynamoStateStore {
    /// A page of users collected from Scan requests (`adapters::record_walk`); the cursor is
    /// the key of the last item the page read or included.
    async fn scan(&self, cursor: Option<&str>, limit: u32) -> Result<RecordPage, StoreError> {
        let cursor = cursor.map(cursor_key).transpose()?;
        page_of_users(self, cursor, limit).await
    }

    fn cursor_after(&self, user: &GenesysUserId) -> String {
        user_key(user)
    }
}
