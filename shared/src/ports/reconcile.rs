//! The capabilities the scheduled reconciler adds: reading many users' current state at once
//! (from Genesys, from Teams, from the state table) and a ledger for its passes, so that two
//! runs never both work and a run killed midway loses nothing.

use super::{Budget, DirectoryAnswer, RemoteError, StoreError};
use crate::domain::ids::{GenesysUserId, TeamsUserId};
use crate::domain::scope::{Membership, ScopeId};
use crate::domain::state::{Observation, UserState};
use std::future::Future;

/// A user's account as Genesys reports it now, with their presence and routing status, each
/// stamped with Genesys's own time of the change (`presence.modifiedDate`,
/// `routingStatus.startTime`), so that a late event still orders correctly against it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenesysNow {
    pub user: GenesysUserId,
    pub account: Account,
    pub observation: Observation,
    /// The user's division and groups, as far as the answer said (queues are not in it).
    pub membership: Membership,
}

/// The state of a user's Genesys account (the Users API's `state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Account {
    Active,
    /// Deactivated: kept in Genesys, cannot sign in.
    Inactive,
    Deleted,
    /// Asked for, and absent from an answer that was complete: Genesys does not know the id.
    NotFound,
}

impl Account {
    /// Whether the sync keeps the user (an active account).
    pub fn is_active(self) -> bool {
        self == Account::Active
    }
}

/// One page of the org's users with what Genesys knows of their Teams identity (the sweep).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectoryPage {
    pub users: Vec<(GenesysUserId, DirectoryAnswer)>,
    /// Where the next page starts; `None` after the last page.
    pub next: Option<String>,
}

/// Genesys Cloud read in bulk.
pub trait GenesysBulk: Send + Sync {
    /// The most users one [`GenesysBulk::current`] call takes.
    const MAX_USERS: usize;

    /// The account, presence and routing status of these users (at most
    /// [`GenesysBulk::MAX_USERS`]), deactivated and deleted accounts included. A user absent
    /// from a complete answer comes back as [`Account::NotFound`]; when Genesys answered only
    /// part of what it counted (fewer users than its `total`), the users it left out are left
    /// out here too (unknown, not gone).
    fn current(
        &self,
        users: &[GenesysUserId],
        budget: Budget,
    ) -> impl Future<Output = Result<Vec<GenesysNow>, RemoteError>> + Send;

    /// One page of the org's users and their Teams ids, from `cursor` (`None`: the first).
    fn directory_page(
        &self,
        cursor: Option<&str>,
        budget: Budget,
    ) -> impl Future<Output = Result<DirectoryPage, RemoteError>> + Send;

    /// Page `number` (from 1) of a queue's members (a queue scope's membership).
    fn queue_members(
        &self,
        queue: &ScopeId,
        number: u32,
        budget: Budget,
    ) -> impl Future<Output = Result<QueueMembersPage, RemoteError>> + Send;
}

/// One page of a queue's members.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueMembersPage {
    pub members: Vec<GenesysUserId>,
    /// The next page's number; `None` after the last.
    pub next: Option<u32>,
}

/// A Teams user's aggregated presence as Graph reports it now (`availability` and
/// `activity` as Graph spells them, cut to a bounded length by the adapter).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TeamsNow {
    pub user: TeamsUserId,
    pub availability: String,
    pub activity: String,
}

/// Microsoft Graph presence read in bulk (`getPresencesByUserId`).
pub trait PresenceReader: Send + Sync {
    /// The most users one [`PresenceReader::read`] call takes.
    const MAX_USERS: usize;

    /// The presence of these Teams users (at most [`PresenceReader::MAX_USERS`]); users Graph
    /// does not know are left out.
    fn read(
        &self,
        users: &[TeamsUserId],
        budget: Budget,
    ) -> impl Future<Output = Result<Vec<TeamsNow>, RemoteError>> + Send;
}

/// One page of user records, in the table's order.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct RecordPage {
    pub records: Vec<(GenesysUserId, UserState)>,
    /// Where the next page starts; `None` after the last page.
    pub next: Option<String>,
}

/// The user records, page by page (the reconciler walks them all each pass), in the table's
/// own order (DynamoDB's hash order: not by user id).
pub trait RecordScan: Send + Sync {
    /// Up to `limit` user records from `cursor` (`None`: the first page), read past the
    /// table's other items until the page holds `limit` users, in a bounded number of reads.
    /// A page may hold fewer (even none) and still have a next one. The cursor is a key of the
    /// table (any item's, not necessarily a user's). Records that do not parse are logged
    /// and left out.
    fn scan(
        &self,
        cursor: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<RecordPage, StoreError>> + Send;

    /// The cursor that resumes a walk just after `user`'s record (a run cut in the middle of
    /// a page goes on from the user after the last it judged, not from the page's start).
    fn cursor_after(&self, user: &GenesysUserId) -> String;
}

/// Where a reconcile pass stands: saved after every page, so that a run killed midway (or out
/// of time) is resumed by the next one.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PassState {
    /// Where the walk goes on (a key of the state table, [`RecordScan::scan`]'s cursor);
    /// `None`: a new walk starts.
    pub records_cursor: Option<String>,
    /// The next page of the directory sweep, while one is under way.
    pub sweep_cursor: Option<String>,
    /// Whether a sweep is under way (its cursor may still be `None` at its first page).
    pub sweeping: bool,
    /// When the last sweep ended (ms since the epoch); `None`: never, so the first run sweeps.
    pub last_sweep_ms: Option<i64>,
    /// The scope (`SYNC_SCOPE`, [`crate::domain::scope::Scope::canonical`]) the last sweep
    /// started under; `None`: unknown. Another scope makes a sweep due at once: its joiners
    /// backfilled and everyone's memberships cached before the next hour.
    pub sweep_scope: Option<String>,
    /// When the last walk over every record ended (ms since the epoch).
    pub last_pass_ms: Option<i64>,
    /// When the walk under way started (ms since the epoch): a pass lasts from here to its end,
    /// over however many runs.
    pub walk_started_ms: Option<i64>,
    /// The bulk reads of the walk under way so far: a walk that could read nothing has judged
    /// nobody against Genesys or Teams, and is not complete.
    pub walk_reads: ReadTally,
}

/// Bulk reads made and failed, per remote.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadTally {
    pub genesys_ok: u64,
    pub genesys_failed: u64,
    pub teams_ok: u64,
    pub teams_failed: u64,
}

impl ReadTally {
    /// Whether every read of a remote failed (and at least one was made): the walk was blind
    /// to it.
    pub fn blind(&self) -> bool {
        (self.genesys_failed > 0 && self.genesys_ok == 0)
            || (self.teams_failed > 0 && self.teams_ok == 0)
    }

    /// The sum of two tallies.
    pub fn plus(self, other: ReadTally) -> ReadTally {
        ReadTally {
            genesys_ok: self.genesys_ok.saturating_add(other.genesys_ok),
            genesys_failed: self.genesys_failed.saturating_add(other.genesys_failed),
            teams_ok: self.teams_ok.saturating_add(other.teams_ok),
            teams_failed: self.teams_failed.saturating_add(other.teams_failed),
        }
    }
}

/// The answer to a run asking to work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunClaim {
    /// This run holds the run lease; the pass stands where the last run left it.
    Granted(PassState),
    /// Another run holds it until then.
    HeldByAnother { until_ms: i64 },
}

/// The single run lease and the pass's saved position.
pub trait PassLedger: Send + Sync {
    /// Takes the run lease for `owner` until `until_ms`, when nobody holds it (or its holder's
    /// lease ended before `now_ms`).
    fn begin(
        &self,
        owner: &str,
        until_ms: i64,
        now_ms: i64,
    ) -> impl Future<Output = Result<RunClaim, StoreError>> + Send;

    /// Saves where the pass stands; false when the run lease is no longer `owner`'s.
    fn save(
        &self,
        owner: &str,
        state: &PassState,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Saves where the pass stands and releases the run lease; false when it was no longer
    /// `owner`'s.
    fn end(
        &self,
        owner: &str,
        state: &PassState,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
