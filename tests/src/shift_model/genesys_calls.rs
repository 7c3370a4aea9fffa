//! The Genesys OAuth client's requests as the model counts them: one client for both
//! functions (its limit, `GENESYS_LIMIT_PER_MINUTE`, 300 by default, is per client), the event
//! path's Teams-id and membership lookups through each instance's directory, the
//! reconciler's bulk reads, directory and queue pages and its actions' lookups; each with its
//! virtual time, so that the rate per minute can be held against the limit and each
//! function's share of it. The directory the functions look users up in is `MemoryDirectory`
//! behind a latency per call, counted here.

use super::graph::Caller;
use presence_core::adapters::memory::MemoryDirectory;
use presence_core::domain::ids::GenesysUserId;
use presence_core::domain::scope::Membership;
use presence_core::ports::{Budget, DirectoryAnswer, RemoteError, TeamsDirectory};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Which Genesys request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// `GET /api/v2/users?id=…&expand=presence,routingStatus` (the reconciler's walk).
    BulkRead,
    /// A page of the directory (the reconciler's sweep).
    DirectoryPage,
    /// A page of a scope queue's members (the reconciler, each run).
    QueueMembers,
    /// A user's Teams id (SCIM), when no layer has it cached.
    TeamsIdLookup,
    /// A user's division and groups (the Users API), when no layer has them cached.
    MembershipLookup,
    /// The org's presence definitions (the watcher, once per process).
    Definitions,
    /// A user's presence set (the watcher's take-off or restore).
    PresenceWrite,
}

/// One request: when (ms after model time zero), whose, which, for which user.
#[derive(Clone, Debug)]
pub struct Made {
    pub at_ms: i64,
    pub by: Caller,
    pub request: Request,
    pub user: Option<GenesysUserId>,
}

/// Every request the client made.
pub struct GenesysCalls {
    zero: Instant,
    made: Mutex<Vec<Made>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl GenesysCalls {
    /// Counting from now, model time zero.
    pub fn new() -> Arc<Self> {
        Arc::new(GenesysCalls {
            zero: Instant::now(),
            made: Mutex::new(Vec::new()),
        })
    }

    pub fn record(&self, by: Caller, request: Request, user: Option<&GenesysUserId>) {
        let at_ms = Instant::now().duration_since(self.zero).as_millis() as i64;
        lock(&self.made).push(Made {
            at_ms,
            by,
            request,
            user: user.cloned(),
        });
    }

    pub fn made(&self) -> Vec<Made> {
        lock(&self.made).clone()
    }

    /// The requests `by` made (both callers' with `None`) in each minute from model time zero.
    pub fn per_minute(&self, by: Option<Caller>) -> Vec<u32> {
        let mut minutes = Vec::new();
        for made in lock(&self.made)
            .iter()
            .filter(|m| by.is_none_or(|b| m.by == b))
        {
            let minute = (made.at_ms / 60_000).max(0) as usize;
            if minutes.len() <= minute {
                minutes.resize(minute + 1, 0);
            }
            minutes[minute] += 1;
        }
        minutes
    }

    /// The requests `by` made of `request` (of anyone's with `by` `None`).
    pub fn count(&self, by: Option<Caller>, request: Request) -> usize {
        lock(&self.made)
            .iter()
            .filter(|m| by.is_none_or(|b| m.by == b) && m.request == request)
            .count()
    }

    /// The lookups of `request` made for users in `users`, and for how many of them.
    pub fn lookups_of(&self, users: &HashSet<GenesysUserId>, request: Request) -> (usize, usize) {
        let made = lock(&self.made);
        let of: Vec<&GenesysUserId> = made
            .iter()
            .filter(|m| m.request == request)
            .filter_map(|m| m.user.as_ref())
            .filter(|u| users.contains(*u))
            .collect();
        let distinct: HashSet<&GenesysUserId> = of.iter().copied().collect();
        (of.len(), distinct.len())
    }
}

/// The org's directory as one function's process reaches it: `MemoryDirectory` (shared by
/// every process) behind `latency` per call, each call counted as `by`'s.
pub struct FloorDirectory {
    directory: Arc<MemoryDirectory>,
    calls: Arc<GenesysCalls>,
    by: Caller,
    latency: Duration,
}

impl FloorDirectory {
    pub fn new(
        directory: Arc<MemoryDirectory>,
        calls: Arc<GenesysCalls>,
        by: Caller,
        latency: Duration,
    ) -> Self {
        FloorDirectory {
            directory,
            calls,
            by,
            latency,
        }
    }
}

impl TeamsDirectory for FloorDirectory {
    async fn lookup(
        &self,
        user: &GenesysUserId,
        budget: Budget,
    ) -> Result<DirectoryAnswer, RemoteError> {
        self.calls
            .record(self.by, Request::TeamsIdLookup, Some(user));
        tokio::time::sleep(self.latency).await;
        self.directory.lookup(user, budget).await
    }

    async fn membership(
        &self,
        user: &GenesysUserId,
        queues: bool,
        budget: Budget,
    ) -> Result<Membership, RemoteError> {
        self.calls
            .record(self.by, Request::MembershipLookup, Some(user));
        tokio::time::sleep(self.latency).await;
        self.directory.membership(user, queues, budget).await
    }
}
