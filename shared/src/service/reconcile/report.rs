//! What one reconciler run reports, how it ended, and why it can fail as a whole; and the
//! pass figures it adds to the metrics.

use crate::metrics::{self, PassFigure};
use crate::ports::{ReadTally, RemoteError, StoreError};

/// What one run did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PassReport {
    pub scanned: u64,
    pub recovered: u64,
    pub backfilled: u64,
    pub settled: u64,
    pub kept_alive: u64,
    /// Re-sent because the mapping in force maps the record elsewhere (a changed
    /// `PRESENCE_MAPPING`, or `PRESENCE_MODE` switched).
    pub remapped: u64,
    pub drift_found: u64,
    pub drift_repaired: u64,
    pub no_session: u64,
    pub poisoned_repaired: u64,
    pub poisoned_left: u64,
    /// Users Genesys no longer lists as active, let go this run (cleared once).
    pub let_go: u64,
    /// Users let go earlier and taken back (active again).
    pub rejoined: u64,
    /// Users whose memberships (`SYNC_SCOPE`'s) the walk cached for the event path, from its
    /// bulk read, because the table's answer was missing or due to expire.
    pub memberships_cached: u64,
    /// Users whose cached Teams id the sweep renewed from its directory page, because the
    /// table's answer was missing or due to expire (an operator's override is never renewed).
    pub teams_ids_renewed: u64,
    /// Users whose action failed (their record stays as it was, for the next pass).
    pub failed: u64,
    /// This run's bulk reads of Genesys and Teams, made and failed.
    pub reads: ReadTally,
    /// Whether this run finished a walk over every record (and could read what it judged by:
    /// a walk whose every Genesys or every Graph read failed is not complete).
    pub walk_completed: bool,
    /// Whether this run finished a directory sweep.
    pub sweep_completed: bool,
    /// Whether this run stopped to leave Graph to the event path during a burst (a shift
    /// start): the next run goes on from the same page.
    pub yielded: bool,
    /// Whether this run stopped because its time ran out (or a pace's next slot came after
    /// it): the next run goes on from the saved position.
    pub cut: bool,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase", tag = "run")]
pub enum PassOutcome {
    /// This run worked; the report says what it did. The pass resumes where it stopped.
    Worked(PassReport),
    /// Another run holds the run lease until then: this one did nothing.
    #[serde(rename_all = "camelCase")]
    HeldByAnother { until_ms: i64 },
}

/// Why a run failed as a whole (a single user's failure only counts in the report).
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("state table: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Remote(#[from] RemoteError),
    #[error("the run lease was taken over by another run (this run ran past its lease)")]
    LeaseLost,
}

impl ReconcileError {
    /// The error type reported to Lambda and in logs.
    pub fn kind(&self) -> &'static str {
        match self {
            ReconcileError::Store(_) => "StateTableError",
            ReconcileError::Remote(error) => error.error_type(),
            ReconcileError::LeaseLost => "RunLeaseLost",
        }
    }
}

/// Adds a run's figures to the metrics.
pub(super) fn count_pass(report: &PassReport) {
    metrics::pass_figure(PassFigure::UsersScanned, report.scanned);
    metrics::pass_figure(PassFigure::DirtySettled, report.settled);
    metrics::pass_figure(PassFigure::LostEventsRecovered, report.recovered);
    metrics::pass_figure(PassFigure::Backfilled, report.backfilled);
    metrics::pass_figure(PassFigure::KeptAlive, report.kept_alive);
    metrics::pass_figure(PassFigure::Rejoined, report.rejoined);
}
