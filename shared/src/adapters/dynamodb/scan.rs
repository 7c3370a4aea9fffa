//! The reconciler's walk over the user records: a paged `Scan` of the state table, keeping
//! only user records (the table also holds cached Teams ids, claims and the pass ledger).

use super::{DynamoStateStore, Timed, s, user_state};
use crate::domain::excerpt::excerpt;
use crate::domain::ids::GenesysUserId;
use crate::ports::{RecordPage, RecordScan, StoreError};
use aws_sdk_dynamodb::types::AttributeValue;

const USER_PREFIX: &str = "user#";

impl RecordScan for DynamoStateStore {
    /// An eventually consistent `Scan` page: the reconciler acts on a record only through
    /// conditional writes on its revision, so a stale page costs a refused write, never a
    /// wrong one. The cursor is the last key of the page before.
    async fn scan(&self, cursor: Option<&str>, limit: u32) -> Result<RecordPage, StoreError> {
        let mut scan = self
            .client
            .scan()
            .table_name(&self.table)
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .filter_expression("begins_with(pk, :user)")
            .expression_attribute_values(":user", s(USER_PREFIX));
        if let Some(cursor) = cursor {
            if cursor.len() > 200 || !cursor.is_ascii() {
                return Err(StoreError(format!(
                    "scan cursor {} is not a key of table {}",
                    excerpt(cursor),
                    self.table
                )));
            }
            scan = scan.exclusive_start_key("pk", s(cursor));
        }
        let output = scan
            .send()
            .timed("Scan")
            .await
            .map_err(|e| self.error("Scan", &e))?;
        let mut records = Vec::new();
        for item in output.items() {
            let Some(AttributeValue::S(pk)) = item.get("pk") else {
                continue;
            };
            let Some(user) = pk.strip_prefix(USER_PREFIX).and_then(GenesysUserId::parse) else {
                tracing::warn!(pk = %excerpt(pk), "skipping a state item whose key is not a user id");
                continue;
            };
            records.push((user, user_state(Some(item))?));
        }
        let next = output
            .last_evaluated_key()
            .and_then(|key| key.get("pk"))
            .and_then(|pk| pk.as_s().ok())
            .cloned();
        Ok(RecordPage { records, next })
    }
}
