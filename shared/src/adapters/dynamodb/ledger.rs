//! The reconciler's pass ledger: one item (`pk = "reconcile#pass"`) holding the run lease
//! (`owner`, `until`) and where the pass stands, each written with a condition on the lease.

use super::{DynamoStateStore, Item, Timed, get_n, get_s, n, s};
use crate::ports::{PassLedger, PassState, ReadTally, RunClaim, StoreError};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use crate::adapters::keys::LEDGER_KEY;

/// The pass as saved in the ledger item.
fn pass_state(item: Option<&Item>) -> Result<PassState, StoreError> {
    let Some(item) = item else {
        return Ok(PassState::default());
    };
    Ok(PassState {
        records_cursor: get_s(item, "records_cursor")?.map(str::to_owned),
        sweep_cursor: get_s(item, "sweep_cursor")?.map(str::to_owned),
        sweeping: matches!(item.get("sweeping"), Some(AttributeValue::Bool(true))),
        last_sweep_ms: get_n(item, "last_sweep_ms")?,
        sweep_scope: get_s(item, "sweep_scope")?.map(str::to_owned),
        last_pass_ms: get_n(item, "last_pass_ms")?,
        walk_started_ms: get_n(item, "walk_started_ms")?,
        walk_reads: ReadTally {
            genesys_ok: count(item, "genesys_reads_ok")?,
            genesys_failed: count(item, "genesys_reads_failed")?,
            teams_ok: count(item, "teams_reads_ok")?,
            teams_failed: count(item, "teams_reads_failed")?,
        },
    })
}

/// A counter of the ledger (absent: 0; negative: 0).
fn count(item: &Item, name: &str) -> Result<u64, StoreError> {
    Ok(get_n(item, name)?.unwrap_or(0).max(0) as u64)
}

/// `SET` and `REMOVE` clauses writing `state`.
fn write_state(
    state: &PassState,
    set: &mut Vec<String>,
    remove: &mut Vec<&'static str>,
    values: &mut Item,
) {
    let mut put = |name: &'static str, value: Option<AttributeValue>| match value {
        Some(value) => {
            values.insert(format!(":{name}"), value);
            set.push(format!("{name} = :{name}"));
        }
        None => remove.push(name),
    };
    put("records_cursor", state.records_cursor.as_deref().map(s));
    put("sweep_cursor", state.sweep_cursor.as_deref().map(s));
    put("sweeping", Some(AttributeValue::Bool(state.sweeping)));
    put("last_sweep_ms", state.last_sweep_ms.map(n));
    put("sweep_scope", state.sweep_scope.as_deref().map(s));
    put("last_pass_ms", state.last_pass_ms.map(n));
    put("walk_started_ms", state.walk_started_ms.map(n));
    let reads = state.walk_reads;
    put("genesys_reads_ok", Some(n(reads.genesys_ok)));
    put("genesys_reads_failed", Some(n(reads.genesys_failed)));
    put("teams_reads_ok", Some(n(reads.teams_ok)));
    put("teams_reads_failed", Some(n(reads.teams_failed)));
}

impl DynamoStateStore {
    /// Writes the pass as `owner`, releasing the lease when `release`; false when the lease is
    /// no longer `owner`'s.
    async fn write_pass(
        &self,
        owner: &str,
        state: &PassState,
        release: bool,
    ) -> Result<bool, StoreError> {
        let (mut set, mut remove, mut values) = (Vec::new(), Vec::new(), Item::new());
        write_state(state, &mut set, &mut remove, &mut values);
        if release {
            remove.extend(["#owner", "lease_until"]);
        }
        values.insert(":owner".to_owned(), s(owner));
        let mut update = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            update.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let result = self
            .update(LEDGER_KEY.to_owned())
            .update_expression(update)
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .set_expression_attribute_values(Some(values))
            .send()
            .timed("UpdateItem")
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), UpdateItemError::ConditionalCheckFailedException(_)) =>
            {
                Ok(false)
            }
            Err(error) => Err(self.error("UpdateItem", &error)),
        }
    }
}

impl PassLedger for DynamoStateStore {
    async fn begin(&self, owner: &str, until_ms: i64, now_ms: i64) -> Result<RunClaim, StoreError> {
        let result = self
            .update(LEDGER_KEY.to_owned())
            .update_expression("SET #owner = :owner, lease_until = :until")
            .condition_expression("attribute_not_exists(lease_until) OR lease_until < :now")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":until", n(until_ms))
            .expression_attribute_values(":now", n(now_ms))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .timed("UpdateItem")
            .await;
        match result {
            Ok(output) => Ok(RunClaim::Granted(pass_state(output.attributes.as_ref())?)),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), UpdateItemError::ConditionalCheckFailedException(_)) =>
            {
                let UpdateItemError::ConditionalCheckFailedException(failed) = e.err() else {
                    unreachable!("matched above")
                };
                let until_ms = failed
                    .item
                    .as_ref()
                    .map(|item| get_n(item, "lease_until"))
                    .transpose()?
                    .flatten()
                    .unwrap_or(0);
                Ok(RunClaim::HeldByAnother { until_ms })
            }
            Err(error) => Err(self.error("UpdateItem", &error)),
        }
    }

    async fn save(&self, owner: &str, state: &PassState) -> Result<bool, StoreError> {
        self.write_pass(owner, state, false).await
    }

    async fn end(&self, owner: &str, state: &PassState) -> Result<bool, StoreError> {
        self.write_pass(owner, state, true).await
    }
}
