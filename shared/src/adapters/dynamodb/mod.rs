//! The state table in DynamoDB: per-user records written with conditional updates (so that
//! ordering and the lease hold across concurrent instances) and the Teams id cache.
//!
//! Items: `pk = "user#<genesysUserId>"` for a user's record, `pk = "teams-id#<genesysUserId>"`
//! for a cached Teams id with `expires_at` (the table's TTL attribute; checked here too,
//! since DynamoDB deletes expired items up to days late), and `pk = "teams-owner#<teamsId>"`
//! for the Genesys user that holds a Teams id, until its `expires_at`.

use crate::ports::{Recorded, StoreError};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use std::collections::HashMap;

pub(crate) use super::keys::{owner_key, teams_key, user_key};

mod batch_read;
#[cfg(any(test, feature = "contract"))]
mod contract;
mod expression;
mod ledger;
mod left;
mod memberships;
mod records;
mod scan;
mod teams_ids;
mod watch;

pub use records::user_state;

/// Every DynamoDB call is timed into the metrics (service `DynamoDB`, the operation, its
/// status class); the SDK's own retries inside one call are not seen.
trait Timed<T, E>: std::future::Future<Output = Result<T, SdkError<E>>> + Sized {
    fn timed(
        self,
        operation: &'static str,
    ) -> impl std::future::Future<Output = Result<T, SdkError<E>>> {
        // Boxed: an SDK call's future is large, and held inline in every future that awaits
        // it, it overflowed a test thread's stack.
        crate::metrics::time_sdk(crate::metrics::Remote::DynamoDB, operation, Box::pin(self))
    }
}

impl<T, E, F: std::future::Future<Output = Result<T, SdkError<E>>>> Timed<T, E> for F {}

type Item = HashMap<String, AttributeValue>;

#[derive(Clone, Debug)]
pub struct DynamoStateStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoStateStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: String) -> Self {
        DynamoStateStore { client, table }
    }

    fn error<E: ProvideErrorMetadata + std::error::Error + 'static>(
        &self,
        operation: &str,
        error: &SdkError<E>,
    ) -> StoreError {
        let code = error.code().unwrap_or("");
        let detail = match code {
            "ResourceNotFoundException" => {
                format!("table {} does not exist (check STATE_TABLE)", self.table)
            }
            "AccessDeniedException" => format!(
                "{operation} on table {} is denied: the function's role needs dynamodb:{operation} on it",
                self.table
            ),
            "" => format!(
                "{operation} on table {} failed: {}",
                self.table,
                super::error_chain(error)
            ),
            code => format!(
                "{operation} on table {} failed: {code}: {}",
                self.table,
                error.message().unwrap_or("")
            ),
        };
        StoreError(detail)
    }

    /// Runs a conditional update that returns the item as it was, whether written or not.
    async fn conditional(
        &self,
        operation: UpdateItemFluentBuilder,
    ) -> Result<Recorded, StoreError> {
        let result = operation
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .timed("UpdateItem")
            .await;
        match result {
            Ok(output) => Ok(Recorded::Accepted {
                before: user_state(output.attributes.as_ref())?,
            }),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), UpdateItemError::ConditionalCheckFailedException(_)) =>
            {
                let UpdateItemError::ConditionalCheckFailedException(failed) = e.err() else {
                    unreachable!("matched above")
                };
                Ok(Recorded::Refused {
                    current: user_state(failed.item.as_ref())?,
                })
            }
            Err(error) => Err(self.error("UpdateItem", &error)),
        }
    }

    /// Runs an update conditional on holding the lease; false when it is no longer ours.
    async fn as_holder(&self, operation: UpdateItemFluentBuilder) -> Result<bool, StoreError> {
        match operation.send().timed("UpdateItem").await {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), UpdateItemError::ConditionalCheckFailedException(_)) =>
            {
                Ok(false)
            }
            Err(error) => Err(self.error("UpdateItem", &error)),
        }
    }

    /// The item at `pk`, if there is one (one `GetItem`).
    async fn item(&self, pk: String, read: Read) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk))
            .consistent_read(read == Read::Strong)
            .send()
            .timed("GetItem")
            .await
            .map_err(|e| self.error("GetItem", &e))?;
        Ok(output.item)
    }

    fn update(&self, pk: String) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk))
    }
}

/// How a `GetItem` reads: a record or a claim must be the latest (it guards a conditional
/// write); a cached answer may be a moment old, for half the read units.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Read {
    Eventual,
    Strong,
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A string attribute; an error when the attribute holds another type (a hand edit).
fn get_s<'a>(item: &'a Item, name: &str) -> Result<Option<&'a str>, StoreError> {
    match item.get(name) {
        None => Ok(None),
        Some(AttributeValue::S(value)) => Ok(Some(value)),
        Some(_) => Err(StoreError(format!(
            "attribute {name} of a state item is not a string"
        ))),
    }
}

fn get_n(item: &Item, name: &str) -> Result<Option<i64>, StoreError> {
    match item.get(name) {
        None => Ok(None),
        Some(value) => value
            .as_n()
            .ok()
            .and_then(|n| n.parse::<i64>().ok())
            .map(Some)
            .ok_or_else(|| {
                StoreError(format!(
                    "attribute {name} of a state item is not an integer"
                ))
            }),
    }
}
