//! The contract of [`RecordScan`]: the walk over the user records, in the table's hash order,
//! among the other kinds of item, page by page of at most `limit` users.
//!
//! moto departs from DynamoDB's documented Scan in two ways these cases would see, both
//! patched in tests/moto_server.py (`_hash_order_scan`) and followed by the in-memory store:
//! it sorts by key, where the Developer Guide says "Scan returns partition keys in an unsorted
//! order"; and it returns `LastEvaluatedKey` only when another item follows, where the API
//! reference says that when DynamoDB "processes the number of items up to the limit [...] it
//! stops the operation and returns the matching values up to that point, and a key in
//! LastEvaluatedKey to apply in a subsequent operation".

use super::{HandEdit, Table, observed, teams, user};
use crate::adapters::keys::{owner_key, teams_key, user_key};
use crate::adapters::record_walk::{MAX_REQUESTS, items_to_read};
use crate::domain::ids::GenesysUserId;
use crate::ports::{CachedTeamsId, RecordPage, RecordScan, TeamsIdEntry};
use std::collections::BTreeSet;

const NOW_S: i64 = 1_900_000_000;

/// `n` agents as the event path leaves them: a record, a cached Teams id and a claim each;
/// and the pass ledger and an item of another kind besides.
async fn floor<T: Table>(table: &T, first: u32, n: u32) -> Vec<GenesysUserId> {
    let mut users = Vec::new();
    for i in first..first + n {
        let u = user(i);
        let on_queue = observed("ON_QUEUE", 1_000);
        table.record(&u, "e", &on_queue, None, 0).await.unwrap();
        let cached = CachedTeamsId {
            entry: TeamsIdEntry::Teams(teams(i)),
            expires_at: NOW_S + 86_400,
            origin: Default::default(),
        };
        table.put(&u, &cached, NOW_S).await.unwrap();
        table
            .claim(&teams(i), &u, NOW_S + 86_400, NOW_S)
            .await
            .unwrap();
        users.push(u);
    }
    table.begin("run", 1, 0).await.unwrap();
    table.put_other("some-other-kind#1").await;
    users
}

/// Every page of a walk from `cursor` to its end.
async fn walk<T: RecordScan>(table: &T, cursor: Option<String>, limit: u32) -> Vec<RecordPage> {
    let mut pages = Vec::new();
    let mut cursor = cursor;
    loop {
        let page = table.scan(cursor.as_deref(), limit).await.unwrap();
        cursor = page.next.clone();
        pages.push(page);
        assert!(pages.len() < 10_000, "the walk does not end");
        if cursor.is_none() {
            return pages;
        }
    }
}

fn users_of(pages: &[RecordPage]) -> Vec<GenesysUserId> {
    pages
        .iter()
        .flat_map(|p| p.records.iter().map(|(u, _)| u.clone()))
        .collect()
}

pub async fn a_walk_meets_every_user_once_among_the_other_items<T: Table>(table: &T) {
    let users = floor(table, 1, 40).await;
    for limit in [1, 7, 100] {
        let pages = walk(table, None, limit).await;
        let met = users_of(&pages);
        assert_eq!(met.len(), users.len(), "limit {limit}: each user once");
        assert_eq!(met.iter().collect::<BTreeSet<_>>(), users.iter().collect());
        // A page is a page of users: full, but for the last (three items an agent here, and
        // the walk reads on until the page is full). A page of one may stay empty after its
        // few reads of four items: the contract allows it, and the table's order decides.
        if limit > 1 {
            for page in &pages[..pages.len() - 1] {
                assert_eq!(
                    page.records.len(),
                    limit as usize,
                    "limit {limit}: {pages:?}"
                );
            }
        }
    }
}

pub async fn the_walk_is_in_the_tables_hash_order_not_in_key_order<T: Table>(table: &T) {
    let users = floor(table, 1, 30).await;
    let met = users_of(&walk(table, None, 100).await);
    assert_eq!(met.len(), users.len());
    // DynamoDB: "Scan returns partition keys in an unsorted order". Thirty users in key order
    // by chance: one in 30! (about 4e-33).
    assert_ne!(met, users, "the walk met the users in key order");
}

pub async fn a_walk_resumes_from_any_key<T: Table>(table: &T) {
    let users = floor(table, 1, 20).await;
    let whole = users_of(&walk(table, None, 100).await);
    // From a saved cursor: exactly the users after it.
    let first = table.scan(None, 6).await.unwrap();
    let rest = users_of(&walk(table, first.next.clone(), 5).await);
    assert_eq!(first.records.len() + rest.len(), users.len());
    assert_eq!(
        rest,
        whole[first.records.len()..],
        "the same order, resumed"
    );
    // Any item's key continues a Scan, and so does a key of no item.
    for key in [
        teams_key(&users[3]),
        owner_key(&teams(4)),
        user_key(&users[5]),
        "zz".into(),
    ] {
        let after = users_of(&walk(table, Some(key.clone()), 3).await);
        assert!(after.len() <= users.len(), "{key}");
        let at = whole.len() - after.len();
        assert_eq!(after, whole[at..], "from {key}: a tail of the whole walk");
    }
}

pub async fn a_table_of_mostly_other_items_gives_short_pages_that_go_on<T: Table>(table: &T) {
    let users = floor(table, 1, 2).await;
    for i in 0..500 {
        table.put_other(&format!("some-other-kind#{i:04}")).await;
    }
    let pages = walk(table, None, 1).await;
    assert_eq!(users_of(&pages).len(), users.len());
    assert!(pages.iter().all(|p| p.records.len() <= 1));
    // "A page may hold fewer (even none) and still have a next one": no page reads more than
    // its bounded number of Scan requests.
    assert!(
        pages
            .iter()
            .any(|p| p.records.is_empty() && p.next.is_some()),
        "{pages:?}"
    );
    let most_read = MAX_REQUESTS * items_to_read(1) as usize;
    let items = 3 * users.len() + 2 + 500;
    assert!(
        pages.len() >= items / most_read,
        "{} pages for {items} items",
        pages.len()
    );
}

pub async fn unreadable_records_are_skipped_and_the_walk_goes_on<T: Table>(table: &T) {
    let users = floor(table, 1, 10).await;
    table
        .put_user_item(&user_key(&user(90)), HandEdit::WrongType)
        .await;
    table
        .put_user_item(&user_key(&user(91)), HandEdit::UnknownValue)
        .await;
    table
        .put_user_item("user#not-a-user-id", HandEdit::None)
        .await;
    for limit in [1, 4, 100] {
        let met = users_of(&walk(table, None, limit).await);
        assert_eq!(
            met.iter().collect::<BTreeSet<_>>(),
            users.iter().collect(),
            "limit {limit}"
        );
    }
    // The same records fail a read of their own.
    assert!(table.read(&user(90)).await.is_err());
}

pub async fn a_cursor_that_cannot_be_a_key_is_refused<T: Table>(table: &T) {
    floor(table, 1, 2).await;
    for cursor in ["x".repeat(300), "user#é".to_owned(), String::new()] {
        let error = table.scan(Some(&cursor), 10).await.unwrap_err();
        assert!(error.0.contains("cursor"), "{error}");
    }
}
