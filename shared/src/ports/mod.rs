//! The capabilities the sync needs from the outside world, one small trait each, so the
//! service never knows which store or client it talks to.

use crate::domain::ids::{GenesysUserId, TeamsUserId};
use crate::domain::left::LeftReason;
use crate::domain::scope::{ExceptionMark, Membership};
use crate::domain::state::{Intent, Lease, Observation, UserState};
use crate::domain::teams::TeamsPresence;
use crate::domain::watch::WatchMark;
use std::collections::HashMap;
use std::future::Future;
use tokio::time::Instant;

/// The wall clock, in milliseconds since the Unix epoch. Passed in rather than read where
/// needed, so that one clock rules a run (and a model can run the service in virtual time).
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> i64;
}

/// The system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

/// The time an invocation may spend on remote calls, retries and waits included.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    pub until: Instant,
}

impl Budget {
    pub fn remaining(&self) -> std::time::Duration {
        self.until.saturating_duration_since(Instant::now())
    }

    pub fn is_spent(&self) -> bool {
        self.remaining().is_zero()
    }
}

pub use crate::domain::state::Recorded;

pub use crate::domain::state::Finish;

#[derive(Debug, thiserror::Error)]
#[error("state table: {0}")]
pub struct StoreError(pub String);

/// The per-user record of presence, routing status and what Teams was given.
pub trait StateStore: Send + Sync {
    /// The user's record, as a strongly consistent read (the empty record when there is none;
    /// an error naming the user when the item does not parse).
    fn read(
        &self,
        user: &GenesysUserId,
    ) -> impl Future<Output = Result<UserState, StoreError>> + Send;

    /// The records of many users at once (any number, read in batches), as an eventually
    /// consistent read: the empty record for a user without one. A record that does not parse
    /// (a hand edit) is logged and left out, so one bad item cannot fail the others.
    fn read_many(
        &self,
        users: &[GenesysUserId],
    ) -> impl Future<Output = Result<HashMap<GenesysUserId, UserState>, StoreError>> + Send;

    /// Records the observation if nothing in it is older and something is newer than the
    /// record; with a claim, also takes the lease announcing `intent`, provided
    /// [`UserState::may_claim`] allows it.
    fn record(
        &self,
        user: &GenesysUserId,
        event_id: &str,
        observation: &Observation,
        claim: Option<(Intent, &Lease)>,
        now_ms: i64,
    ) -> impl Future<Output = Result<Recorded, StoreError>> + Send;

    /// Takes the lease on a record that must be unchanged since `expected_rev`.
    fn reclaim(
        &self,
        user: &GenesysUserId,
        expected_rev: u64,
        intent: Intent,
        lease: &Lease,
        now_ms: i64,
    ) -> impl Future<Output = Result<Recorded, StoreError>> + Send;

    /// Replaces what is recorded with `observation` whatever the versions, on a record
    /// unchanged since `expected_rev` and not being changed by anyone
    /// ([`UserState::after_replace`]): the repair of a record poisoned by a version from the
    /// future.
    fn replace(
        &self,
        user: &GenesysUserId,
        expected_rev: u64,
        observation: &Observation,
        event_id: &str,
        now_ms: i64,
    ) -> impl Future<Output = Result<Recorded, StoreError>> + Send;

    /// Lets the user go ([`UserState::after_let_go`]) on the record as it was when `read`:
    /// refused when it changed since or someone is changing Teams.
    fn let_go(
        &self,
        user: &GenesysUserId,
        read: &UserState,
        reason: LeftReason,
        now_ms: i64,
    ) -> impl Future<Output = Result<Recorded, StoreError>> + Send;

    /// Takes a let-go user back ([`UserState::after_rejoin`]) on the record as it was when
    /// `read`, recording the newer part of `current` under `event_id`.
    fn rejoin(
        &self,
        user: &GenesysUserId,
        read: &UserState,
        current: &Observation,
        event_id: &str,
        now_ms: i64,
    ) -> impl Future<Output = Result<Recorded, StoreError>> + Send;

    /// Sets (or, with `None`, removes) the watcher's mark ([`UserState::after_set_watch`]) on
    /// the record as it was when `read`: refused when it changed since or someone is
    /// changing Teams.
    fn set_watch(
        &self,
        user: &GenesysUserId,
        read: &UserState,
        mark: Option<&WatchMark>,
        now_ms: i64,
    ) -> impl Future<Output = Result<Recorded, StoreError>> + Send;

    /// Sets (or, with `None`, removes) an operator's scope exception on the user's record,
    /// creating the record when there is none. Unconditional: the lease protocol does not read
    /// it.
    fn set_exception(
        &self,
        user: &GenesysUserId,
        mark: Option<&ExceptionMark>,
        now_ms: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Marks the record dirty (a Graph call is about to be made). False when the lease is
    /// no longer ours.
    fn mark_pending(
        &self,
        user: &GenesysUserId,
        owner: &str,
        now_ms: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records the end of a holder's work and releases the lease. False when the lease is no
    /// longer ours.
    fn finish(
        &self,
        user: &GenesysUserId,
        owner: &str,
        finish: Finish,
        now_ms: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// What Genesys knows of a user's Teams identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DirectoryAnswer {
    /// The value of the user's `microsoftteams` external id, not yet validated.
    TeamsId(String),
    NoTeamsId,
    UnknownUser,
    /// Genesys knows the user but their account is not active (SCIM `active: false`).
    Inactive,
}

/// The remote service a call went to: errors are named after it, not after the step of the
/// sync that needed it (a Secrets Manager failure while getting a Graph token is a Secrets
/// Manager failure).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Service {
    /// AWS Secrets Manager (the credentials).
    SecretsManager,
    /// The Microsoft identity platform token endpoint (the Graph token).
    EntraId,
    /// Microsoft Graph (the presence writes).
    Graph,
    /// The Genesys Cloud login service (the Genesys token).
    GenesysLogin,
    /// The Genesys Cloud SCIM API (the Teams id lookup).
    GenesysScim,
    /// The Genesys Cloud Users API (the reconciler's bulk reads of presence and routing).
    GenesysUsers,
}

impl Service {
    /// The name people know the service by, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Service::SecretsManager => "Secrets Manager",
            Service::EntraId => "Microsoft Entra ID",
            Service::Graph => "Microsoft Graph",
            Service::GenesysLogin => "Genesys Cloud login",
            Service::GenesysScim => "Genesys Cloud SCIM",
            Service::GenesysUsers => "Genesys Cloud Users API",
        }
    }
}

impl std::fmt::Display for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A remote call that failed, naming the service that failed. Details carry only cut
/// excerpts of what the remote said, never a secret or a token.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The remote refused the request for a reason retrying will not fix.
    #[error("{service} refused the request: {detail}")]
    Refused { service: Service, detail: String },
    /// Our credentials or permissions are wrong.
    #[error("{service} denied access: {detail}")]
    Denied { service: Service, detail: String },
    /// The remote kept failing (5xx, timeouts, dropped connections) until the invocation's
    /// budget ran out; the request may or may not have taken effect.
    #[error("{service} unavailable: {detail}")]
    Unavailable { service: Service, detail: String },
    /// The remote throttles this app (429, or this process's throttle gate is closed) for
    /// longer than the invocation's budget: failing early lets Lambda retry later.
    #[error("{service} throttled: {detail}")]
    Throttled {
        service: Service,
        /// The wait the remote asked for (clamped), when it said.
        retry_after_secs: Option<u64>,
        detail: String,
        /// Whether an earlier attempt of the same request failed in a way that may have let
        /// it take effect (a timeout, a 5xx); a request refused with 429 did not.
        may_have_landed: bool,
    },
    /// The remote answered something that breaks its contract.
    #[error("{service} answered unexpectedly: {detail}")]
    BadResponse { service: Service, detail: String },
    /// The deployment is wrong: a base URL that reaches something other than the service, a
    /// secret that does not exist or lacks a field. Retrying cannot help until it is fixed.
    #[error("{service}: configuration error: {detail}")]
    Configuration { service: Service, detail: String },
}

impl RemoteError {
    /// Whether the request may have taken effect although it failed.
    pub fn may_have_landed(&self) -> bool {
        match self {
            RemoteError::Unavailable { .. } | RemoteError::BadResponse { .. } => true,
            RemoteError::Throttled {
                may_have_landed, ..
            } => *may_have_landed,
            RemoteError::Refused { .. }
            | RemoteError::Denied { .. }
            | RemoteError::Configuration { .. } => false,
        }
    }

    /// The service that failed.
    pub fn service(&self) -> Service {
        match self {
            RemoteError::Refused { service, .. }
            | RemoteError::Denied { service, .. }
            | RemoteError::Unavailable { service, .. }
            | RemoteError::Throttled { service, .. }
            | RemoteError::BadResponse { service, .. }
            | RemoteError::Configuration { service, .. } => *service,
        }
    }

    /// The error type reported to Lambda (`errorType`) and in logs: the service that failed
    /// and how, e.g. `EntraIdDenied`, `GraphThrottled`, `SecretsManagerUnavailable`; a
    /// deployment mistake of any service is `ConfigurationError`.
    pub fn error_type(&self) -> &'static str {
        use RemoteError as E;
        use Service as S;
        match (self, self.service()) {
            (E::Configuration { .. }, _) => "ConfigurationError",
            (E::Refused { .. }, S::SecretsManager) => "SecretsManagerRefused",
            (E::Denied { .. }, S::SecretsManager) => "SecretsManagerDenied",
            (E::Unavailable { .. }, S::SecretsManager) => "SecretsManagerUnavailable",
            (E::Throttled { .. }, S::SecretsManager) => "SecretsManagerThrottled",
            (E::BadResponse { .. }, S::SecretsManager) => "SecretsManagerBadResponse",
            (E::Refused { .. }, S::EntraId) => "EntraIdRefused",
            (E::Denied { .. }, S::EntraId) => "EntraIdDenied",
            (E::Unavailable { .. }, S::EntraId) => "EntraIdUnavailable",
            (E::Throttled { .. }, S::EntraId) => "EntraIdThrottled",
            (E::BadResponse { .. }, S::EntraId) => "EntraIdBadResponse",
            (E::Refused { .. }, S::Graph) => "GraphRefused",
            (E::Denied { .. }, S::Graph) => "GraphDenied",
            (E::Unavailable { .. }, S::Graph) => "GraphUnavailable",
            (E::Throttled { .. }, S::Graph) => "GraphThrottled",
            (E::BadResponse { .. }, S::Graph) => "GraphBadResponse",
            (E::Refused { .. }, S::GenesysLogin) => "GenesysLoginRefused",
            (E::Denied { .. }, S::GenesysLogin) => "GenesysLoginDenied",
            (E::Unavailable { .. }, S::GenesysLogin) => "GenesysLoginUnavailable",
            (E::Throttled { .. }, S::GenesysLogin) => "GenesysLoginThrottled",
            (E::BadResponse { .. }, S::GenesysLogin) => "GenesysLoginBadResponse",
            (E::Refused { .. }, S::GenesysScim) => "GenesysScimRefused",
            (E::Denied { .. }, S::GenesysScim) => "GenesysScimDenied",
            (E::Unavailable { .. }, S::GenesysScim) => "GenesysScimUnavailable",
            (E::Throttled { .. }, S::GenesysScim) => "GenesysScimThrottled",
            (E::BadResponse { .. }, S::GenesysScim) => "GenesysScimBadResponse",
            (E::Refused { .. }, S::GenesysUsers) => "GenesysUsersRefused",
            (E::Denied { .. }, S::GenesysUsers) => "GenesysUsersDenied",
            (E::Unavailable { .. }, S::GenesysUsers) => "GenesysUsersUnavailable",
            (E::Throttled { .. }, S::GenesysUsers) => "GenesysUsersThrottled",
            (E::BadResponse { .. }, S::GenesysUsers) => "GenesysUsersBadResponse",
        }
    }
}

/// Looks up a Genesys user's Teams id.
pub trait TeamsDirectory: Send + Sync {
    fn lookup(
        &self,
        user: &GenesysUserId,
        budget: Budget,
    ) -> impl Future<Output = Result<DirectoryAnswer, RemoteError>> + Send;

    /// The user's division and groups, and with `queues` the queues they are a member of
    /// (`SYNC_SCOPE`'s memberships); what was not asked for is left unknown.
    fn membership(
        &self,
        user: &GenesysUserId,
        queues: bool,
        budget: Budget,
    ) -> impl Future<Output = Result<Membership, RemoteError>> + Send;
}

/// What Graph did with a presence write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteAnswer {
    Accepted,
    UserNotFound,
}

/// Writes a Teams user's preferred presence.
pub trait PresenceWriter: Send + Sync {
    fn set_preferred(
        &self,
        user: &TeamsUserId,
        presence: TeamsPresence,
        budget: Budget,
    ) -> impl Future<Output = Result<WriteAnswer, RemoteError>> + Send;
    fn clear_preferred(
        &self,
        user: &TeamsUserId,
        budget: Budget,
    ) -> impl Future<Output = Result<WriteAnswer, RemoteError>> + Send;
}

/// Where credentials live (Secrets Manager in production).
pub trait SecretSource: Send + Sync {
    /// The secret's string value.
    fn fetch(
        &self,
        secret_id: &str,
    ) -> impl Future<Output = Result<secrecy::SecretString, RemoteError>> + Send;
}

#[cfg(any(test, feature = "contract"))]
pub mod contract;
mod reconcile;
mod shared;
mod teams_ids;

pub use teams_ids::{
    CachePut, CachedMembership, CachedTeamsId, Claim, HeldClaim, MAX_OVERRIDDEN_BY, TeamsIdCache,
    TeamsIdEntry, TeamsIdOrigin,
};

pub use reconcile::{
    Account, DirectoryPage, GenesysBulk, GenesysNow, PassLedger, PassState, PresenceReader,
    QueueMembersPage, ReadTally, RecordPage, RecordScan, RunClaim, TeamsNow,
};

mod watch;

pub use watch::{GenesysPresence, PresenceChange};
