//! Why an event failed: one enum that names the input, the user and the failing service,
//! and the short error type Lambda reports and alarms count.

use crate::domain::event::EventError;
use crate::domain::ids::{GenesysUserId, TeamsUserId};
use crate::ports::{RemoteError, StoreError};

/// Why an event failed. Every variant names the input or the user concerned and never
/// carries a secret or a token.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Event(#[from] EventError),
    #[error("event source {event_source} is not allowed: {expected}")]
    SourceNotAllowed {
        event_source: String,
        /// What the source had to be, in words.
        expected: String,
    },
    #[error("event account {account} is not allowed: ALLOWED_ACCOUNT is {allowed:?}")]
    AccountNotAllowed { account: String, allowed: String },
    #[error("Genesys user {user}: {source}")]
    Store {
        user: GenesysUserId,
        source: StoreError,
    },
    #[error("Genesys user {user}: looking up the Teams id: {source}")]
    Directory {
        user: GenesysUserId,
        source: RemoteError,
    },
    #[error("Genesys user {user} (Teams user {teams}): {source}")]
    Graph {
        user: GenesysUserId,
        teams: TeamsUserId,
        source: RemoteError,
    },
    #[error(
        "Genesys user {user}: another instance is updating Teams for this user (its lease runs until {until_ms} ms since the epoch); gave up after waiting {waited_ms} ms so that Lambda redelivers the event"
    )]
    Busy {
        user: GenesysUserId,
        waited_ms: u64,
        until_ms: i64,
    },
    #[error(
        "Genesys user {user}: the user's lease was taken over by another instance before this one could {doing}; failing so that Lambda redelivers the event"
    )]
    LeaseLost {
        user: GenesysUserId,
        doing: &'static str,
    },
    #[error("Genesys user {user}: out of time after {attempts} attempts to record the event")]
    OutOfTime { user: GenesysUserId, attempts: u32 },
    /// A bug: the code panicked. The lease was released and the record left dirty, so that
    /// Lambda's retry (or the user's next event) re-applies the newest state.
    #[error(
        "Genesys user {user}: internal error (a panic: {message}); the lease was released so that Lambda's retry can re-apply the newest state"
    )]
    Panicked {
        user: GenesysUserId,
        message: String,
    },
}

impl SyncError {
    /// A short, stable error type for Lambda's `errorType` and for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            SyncError::Event(EventError::UnsupportedTopic(_)) => "UnsupportedTopic",
            SyncError::Event(EventError::VersionInFuture { .. }) => "VersionInFuture",
            SyncError::Event(_) => "MalformedEvent",
            SyncError::SourceNotAllowed { .. } => "SourceNotAllowed",
            SyncError::AccountNotAllowed { .. } => "AccountNotAllowed",
            SyncError::Store { .. } => "StateStoreError",
            // Named after the service that failed, not the step that called it: a Secrets
            // Manager or token endpoint failure while writing to Graph is not a Graph error.
            SyncError::Directory { source, .. } | SyncError::Graph { source, .. } => {
                source.error_type()
            }
            SyncError::Busy { .. } => "UserBusy",
            SyncError::LeaseLost { .. } => "LeaseLost",
            SyncError::OutOfTime { .. } => "OutOfTime",
            SyncError::Panicked { .. } => "InternalError",
        }
    }

    /// Whether the event itself is bad (so redelivering it cannot help).
    pub fn is_rejection(&self) -> bool {
        matches!(
            self,
            SyncError::Event(_)
                | SyncError::SourceNotAllowed { .. }
                | SyncError::AccountNotAllowed { .. }
        )
    }
}

/// Wraps a state store error with the user it concerns.
pub(super) fn store_error(user: &GenesysUserId) -> impl Fn(StoreError) -> SyncError + '_ {
    move |source| SyncError::Store {
        user: user.clone(),
        source,
    }
}
