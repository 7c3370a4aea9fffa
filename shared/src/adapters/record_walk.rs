//! The reconciler's walk over the user records, one page of users at a time, on top of the
//! table's own `Scan` (DynamoDB's, or the in-memory store's copy of its semantics).
//!
//! A Scan reads `Limit` items of every kind, in the table's hash order, and only then filters
//! them: each agent has up to three items (`user#`, `teams-id#`, `teams-owner#`), so one
//! request with `Limit = n` holds a third to a half of `n` in users. A page is therefore
//! collected from as many requests as it takes to hold `limit` users, cut at exactly `limit`
//! (any item's key continues a Scan, so the next page starts after the last user included),
//! and bounded: after [`MAX_REQUESTS`] requests a page holding fewer users is returned with
//! its cursor, so a table of mostly other items never makes one page unbounded.
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
            .scan_users(start.as_deref(), wanted.saturating_mul(ITEMS_PER_USER))
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
