//! The state table's contract fixture (`ports::contract::Table`) for the DynamoDB store: the
//! items a person can put with the console, written raw.

use super::{DynamoStateStore, n, s};
use crate::ports::contract::{HandEdit, Table};

impl Table for DynamoStateStore {
    async fn put_other(&self, key: &str) {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(key))
            .item("note", s("an item of another kind"))
            .send()
            .await
            .expect("put an item of another kind");
    }

    async fn put_user_item(&self, key: &str, edit: HandEdit) {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(key));
        let put = match edit {
            HandEdit::None => put.item("rev", n(1)),
            HandEdit::WrongType => put.item("rev", s("x")),
            HandEdit::UnknownValue => put.item("rev", n(1)).item("applied", s("Purple/Dancing")),
        };
        put.send().await.expect("put a user item");
    }
}
