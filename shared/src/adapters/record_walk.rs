//! The reconciler's walk over the user records, one page of users at a time, on top of the
//! table's own `Scan` (DynamoDB's, or the in-memory store's copy of its semantics).
//!
//! A Scan reads `Limit` items of every kind, in the table's hash order, and only then filters
//! them: each agent has up to three items (`user#`, `teams-id#`, `teams-owner#`), so one
//! request with `Limit = n` holds a third to a half of `n` in users. A page is therefore
//! collected from as many requests as it takes to hold `limit` users, cut at exactly `limit`
//! (any item's key continues a Scan, so the next page starts after the last user included),
//! and bounded: after [`MAX_REQUESTS`] requests (of at most [`items_to_read`] items each) a
//! page holding fewer users is returned with its cursor, so a table of mostly other items
//! never makes one page unbounded.
//! docs/design.md ("The walk and the sweep") argues this layout against a sparse index.

use crate::domain::excerpt::{cut, excerpt};
use crate::domain::ids::GenesysUserId;
use crate::domain::state::UserState;
use crate::ports::{RecordPage, StoreError};
use std::future::Future;
use tracing::warn;

/// The most Scan requests one page of users takes.
pub(crate) const MAX_REQUESTS: usize = 4;

/// Items read per user still wanted: an agent has up to three items, and reading a little
/// more than that makes one request enough for most pages (the items read past the cut are
/// read again by the next page: a few read units, against a round trip).
pub(crate) const ITEMS_PER_USER: u32 = 4;

/// The fewest items one request reads: the last users of a page are not left to requests of
/// a handful of items each (40 items of about 200 bytes are one read unit).
pub(crate) const MIN_ITEMS_PER_REQUEST: u32 = 40;

/// The most unreadable records described in the log per page (the rest are counted).
const DESCRIBED_PER_PAGE: usize = 3;

/// A user record a Scan request read: its key, and the record or why it does not parse.
pub(crate) type ScannedUser = (String, Result<(GenesysUserId, UserState), StoreError>);

/// What one Scan request read: the user records among the items it read (in the table's
/// order), and the key it stopped at when it stopped at its limit (`None`: the table's end).
#[derive(Debug, Default)]
pub(crate) struct UsersRead {
    pub users: Vec<ScannedUser>,
    pub last_key: Option<String>,
}

/// One Scan request of a table: up to `limit` items of any kind read after `start` (a key of
/// any item), filtered to user records.
pub(crate) trait ScanUsers: Sync {
    fn scan_users(
        &self,
        start: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<UsersRead, StoreError>> + Send;
}

/// Up to `limit` users from `cursor`, in at most [`MAX_REQUESTS`] Scan requests. Records that
/// do not parse are logged and skipped, so a hand edit cannot stop every pass on one page.
pub(crate) async fn page_of_users<T: ScanUsers>(
    table: &T,
    cursor: Option<&str>,
    limit: u32,
) -> Result<RecordPage, StoreError> {
    let limit = limit.max(1) as usize;
    let mut start = cursor.map(str::to_owned);
    let mut records = Vec::with_capacity(limit);
    let mut unreadable = Unreadable::default();
    for _ in 0..MAX_REQUESTS {
        let wanted = (limit - records.len()) as u32;
        let read = table
            .scan_users(start.as_deref(), items_to_read(wanted))
            .await?;
        let mut users = read.users.into_iter().peekable();
        while let Some((key, parsed)) = users.next() {
            match parsed {
                Ok(record) => records.push(record),
                Err(error) => unreadable.skip(&key, &error),
            }
            if records.len() == limit {
                // Cut here unless this was the request's last item: the next page starts
                // after the last user included.
                let next = match users.peek() {
                    Some(_) => Some(key),
                    None => read.last_key,
                };
                unreadable.log();
                return Ok(RecordPage { records, next });
            }
        }
        start = read.last_key;
        if start.is_none() {
            break;
        }
    }
    unreadable.log();
    Ok(RecordPage {
        records,
        next: start,
    })
}

/// How many items to read for `wanted` more users.
pub(crate) fn items_to_read(wanted: u32) -> u32 {
    wanted
        .saturating_mul(ITEMS_PER_USER)
        .max(MIN_ITEMS_PER_REQUEST)
}

/// The records of a page that did not parse: the first few described, all counted.
#[derive(Default)]
struct Unreadable {
    described: Vec<String>,
    count: usize,
}

impl Unreadable {
    fn skip(&mut self, key: &str, error: &StoreError) {
        self.count += 1;
        if self.described.len() < DESCRIBED_PER_PAGE {
            self.described
                .push(format!("{}: {}", excerpt(key), cut(&error.0)));
        }
    }

    fn log(&self) {
        if self.count > 0 {
            warn!(skipped = self.count, records = ?self.described, "skipping user records that do not parse (a hand edit of the state table?): the pass goes on without them; fix or delete the items");
        }
    }
}

/// Logs the records a batched read left out because they do not parse, as the walk does.
pub(crate) fn skipped_unreadable(records: &[(String, StoreError)]) {
    let mut unreadable = Unreadable::default();
    for (key, error) in records {
        unreadable.skip(key, error);
    }
    unreadable.log();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A table as a list of keys (`u<n>` users, anything else another kind), scanned in list
    /// order, recording each request's start and limit.
    struct Listed {
        keys: Vec<String>,
        requests: Mutex<Vec<(Option<String>, u32)>>,
    }

    fn user_id(n: usize) -> GenesysUserId {
        GenesysUserId::parse(&format!("00000000-0000-4000-8000-{n:012}")).unwrap()
    }

    impl Listed {
        fn new(pattern: &str, times: usize) -> Listed {
            let mut keys = Vec::new();
            for i in 0..times {
                for (j, kind) in pattern.chars().enumerate() {
                    keys.push(format!("{kind}{}", i * pattern.len() + j));
                }
            }
            Listed {
                keys,
                requests: Mutex::default(),
            }
        }
    }

    impl ScanUsers for Listed {
        async fn scan_users(
            &self,
            start: Option<&str>,
            limit: u32,
        ) -> Result<UsersRead, StoreError> {
            self.requests
                .lock()
                .unwrap()
                .push((start.map(str::to_owned), limit));
            let from = start.map_or(0, |s| self.keys.iter().position(|k| k == s).unwrap() + 1);
            let read: Vec<&String> = self.keys.iter().skip(from).take(limit as usize).collect();
            let last_key = (read.len() == limit as usize)
                .then(|| read.last().map(|k| (*k).clone()))
                .flatten();
            let users = read
                .iter()
                .filter(|k| k.starts_with('u'))
                .map(|k| {
                    let n: usize = k[1..].parse().unwrap();
                    ((*k).clone(), Ok((user_id(n), UserState::default())))
                })
                .collect();
            Ok(UsersRead { users, last_key })
        }
    }

    #[tokio::test]
    async fn a_page_is_cut_at_exactly_the_limit_after_its_last_user() {
        // An agent's three items: user, cached Teams id, claim.
        let table = Listed::new("utc", 100);
        let page = page_of_users(&table, None, 10).await.unwrap();
        assert_eq!(page.records.len(), 10);
        assert_eq!(page.records[9].0, user_id(27));
        assert_eq!(page.next.as_deref(), Some("u27"), "the last user included");
        assert_eq!(*table.requests.lock().unwrap(), [(None, 40)]);
    }

    #[tokio::test]
    async fn a_page_short_of_users_reads_on_in_bounded_requests() {
        // One user in twenty items: each request (40 items at least) finds two; after four
        // the page goes back with eight, and its cursor is the last item read.
        let table = Listed::new("uooooooooooooooooooo", 50);
        let page = page_of_users(&table, None, 10).await.unwrap();
        assert_eq!(page.records.len(), 8);
        assert_eq!(page.next, Some(table.keys[159].clone()));
        let requests = table.requests.lock().unwrap().clone();
        assert_eq!(
            requests.iter().map(|r| r.1).collect::<Vec<_>>(),
            [40, 40, 40, 40]
        );
        assert_eq!(requests.len(), MAX_REQUESTS);
        // Mostly other items: a page may hold none and still have a next one.
        let sparse = Listed::new(&format!("u{}", "o".repeat(999)), 2);
        let first = page_of_users(&sparse, Some("u0"), 5).await.unwrap();
        assert!(first.records.is_empty());
        assert_eq!(first.next, Some(sparse.keys[MAX_REQUESTS * 40].clone()));
    }
}
