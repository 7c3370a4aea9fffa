//! The state table's contract (`presence_core::ports::contract`, the same cases the in-memory
//! store passes in `cargo test -p presence-core --lib contract`) on the DynamoDB store,
//! against moto patched to scan in DynamoDB's unsorted order and with its documented paging
//! (tests/moto_server.py, `_hash_order_scan`). Each case on a fresh table.

use presence_core::adapters::dynamodb::DynamoStateStore;
use presence_sync_tests::aws::{create_state_table, dynamodb_client, unique_name};

async fn table() -> DynamoStateStore {
    let endpoint = presence_sync_tests::moto::shared().await;
    let client = dynamodb_client(endpoint).await;
    let name = unique_name("contract");
    create_state_table(&client, &name).await;
    DynamoStateStore::new(client, name)
}

presence_core::state_table_contract!(table());
