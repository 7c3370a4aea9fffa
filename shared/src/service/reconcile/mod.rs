//! The reconciler's pass: walk the user records page by page (and, on its own slower
//! schedule, the org's directory), read Genesys and Teams in bulk, judge each user
//! ([`crate::domain::reconcile::judge`]) and act through the event path's own use cases, under
//! the same per-user lease. One run at a time (the pass ledger's run lease); the position is
//! saved after every page, so a run killed midway loses nothing.

use super::{Invocation, PresenceSync, lease_for};
use crate::domain::ids::GenesysUserId;
use crate::domain::reconcile::Rules;
use crate::domain::state::UserState;

use crate::pace::Pace;
use crate::ports::{
    GenesysBulk, PassLedger, PresenceReader, PresenceWriter, RecordScan, RunClaim, StateStore,
    TeamsDirectory, TeamsIdCache,
};
use std::time::Duration;
use tokio::time::Instant;
use tracing::info;

mod act;
mod page;
mod pass;
mod report;
mod scope;
mod shared;
mod under_way;
mod warm;

pub use page::view;
pub use report::{PassOutcome, PassReport, ReconcileError};
pub use shared::{DirectoryHints, Hinted, Shared};

/// How the reconciler works, from configuration.
#[derive(Clone, Debug)]
pub struct ReconcileSettings {
    pub rules: Rules,
    /// User records per page (each page is one Genesys bulk read at most).
    pub page_size: u32,
    /// How often the directory sweep (the backfill of users not in the table) runs.
    pub sweep_every: Duration,
    /// The reconciler's share of Graph's presence limit, in requests per 30 s.
    pub graph_per_30s: u32,
    /// The reconciler's share of the Genesys client's limit, in requests per minute.
    pub genesys_per_minute: u32,
}

/// What watches a run's progress: told the report so far after every page.
pub type Watch<'w> = dyn Fn(&PassReport) + Sync + 'w;

/// The event id a reconciler's recording carries (bounded, printable, like an EventBridge id).
const RECONCILE_EVENT: &str = "reconcile";

/// Whether the event path is in a burst: more than [`crate::policy::RECONCILE_BURST_PERCENT`]
/// of a page's users had a state applied within [`crate::policy::RECONCILE_BURST_WINDOW`], on a
/// page of at least [`crate::policy::RECONCILE_BURST_SAMPLE`] users (a smaller floor cannot
/// come near Graph's limit).
/// The walk's pages are a sample of the floor (user ids are random), so this needs no other
/// signal than the records in hand.
fn burst(records: &[(GenesysUserId, UserState)], now_ms: i64) -> bool {
    let window = crate::policy::RECONCILE_BURST_WINDOW.as_millis() as i64;
    let recent = records
        .iter()
        .filter(|(_, r)| {
            r.applied_at_ms
                .is_some_and(|at| now_ms.saturating_sub(at) < window)
        })
        .count();
    crate::policy::is_burst(records.len(), recent)
}

/// Whether a walk, a sweep or a page got to its end in this run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Progress {
    Done,
    /// The run's time ran out first (or a pace's next slot comes after it, or the event path
    /// needs Graph): the next run goes on from the saved position.
    Cut,
}

/// One run's working parts.
struct Run<'a, G, R> {
    genesys: &'a G,
    teams: &'a R,
    settings: &'a ReconcileSettings,
    invocation: &'a Invocation,
    shared: &'a Shared,
    until: Instant,
    /// The members of the scope's queues, as read at the start of this run.
    queue_sets: scope::QueueSets,
    /// The last user of the page in hand that was judged and acted on.
    judged: Option<GenesysUserId>,
    report: PassReport,
    /// Told the report so far after every page (an operator's progress bar).
    progress: &'a Watch<'a>,
}

impl<'a, G, R> Run<'a, G, R> {
    /// The time this run has left.
    fn left(&self) -> Duration {
        self.until.saturating_duration_since(Instant::now())
    }

    /// Waits for `pace`'s next slot if it leaves `reserve` of the run; otherwise the run is
    /// cut (and waits not at all).
    async fn slot(&mut self, pace: &Pace, reserve: Duration) -> Progress {
        match self.take_slot(pace, reserve) {
            Ok(slot) => {
                tokio::time::sleep_until(slot).await;
                Progress::Done
            }
            Err(cut) => cut,
        }
    }
}

impl<S, C, D, W> PresenceSync<S, C, D, W>
where
    S: StateStore + RecordScan + PassLedger,
    C: TeamsIdCache,
    D: TeamsDirectory,
    W: PresenceWriter,
{
    /// One reconciler run: takes the run lease, works the pass from where it stands until the
    /// invocation's budget is nearly spent, saving the position after every page, and
    /// releases the lease.
    pub async fn reconcile<G: GenesysBulk, R: PresenceReader>(
        &self,
        genesys: &G,
        teams: &R,
        shared: &Shared,
        settings: &ReconcileSettings,
        invocation: &Invocation,
    ) -> Result<PassOutcome, ReconcileError> {
        let unwatched = |_: &PassReport| {};
        self.reconcile_watched(genesys, teams, shared, settings, invocation, &unwatched)
            .await
    }

    /// [`PresenceSync::reconcile`], telling `progress` the run's report after every page.
    pub async fn reconcile_watched<G: GenesysBulk, R: PresenceReader>(
        &self,
        genesys: &G,
        teams: &R,
        shared: &Shared,
        settings: &ReconcileSettings,
        invocation: &Invocation,
        progress: &Watch<'_>,
    ) -> Result<PassOutcome, ReconcileError> {
        let lease = lease_for(invocation);
        let owner = lease.owner.as_str();
        let mut state = match self
            .store
            .begin(owner, lease.until_ms, self.now_ms())
            .await?
        {
            RunClaim::Granted(state) => state,
            RunClaim::HeldByAnother { until_ms } => {
                info!(
                    untilMs = until_ms,
                    "another reconcile run holds the run lease"
                );
                return Ok(PassOutcome::HeldByAnother { until_ms });
            }
        };
        let limits =
            super::limits::Limits::of(invocation, self.settings.deadline_margin, self.now_ms());
        let mut run = Run {
            genesys,
            teams,
            settings,
            invocation,
            shared,
            until: limits.work.until,
            queue_sets: scope::QueueSets::default(),
            judged: None,
            report: PassReport::default(),
            progress,
        };
        let worked = self.work(&mut run, &mut state, owner).await;
        let ended = self.store.end(owner, &state).await;
        report::count_pass(&run.report);
        worked?;
        if !ended? {
            return Err(ReconcileError::LeaseLost);
        }
        info!(report = ?run.report, "reconcile run done");
        Ok(PassOutcome::Worked(run.report))
    }

    /// Reconciles one user now, as a pass would (an operator's `presencectl sync`): reads the
    /// record, the user's Genesys state and what Teams shows, judges and acts, under the same
    /// lease and rules, outside the run lease (a pass may run meanwhile: every action is
    /// idempotent). The report counts what was done; a failed action counts in `failed` and is
    /// logged.
    pub async fn reconcile_user<G: GenesysBulk, R: PresenceReader>(
        &self,
        genesys: &G,
        teams: &R,
        shared: &Shared,
        settings: &ReconcileSettings,
        user: &GenesysUserId,
        invocation: &Invocation,
    ) -> Result<PassReport, ReconcileError> {
        let record = self.store.read(user).await?;
        let limits =
            super::limits::Limits::of(invocation, self.settings.deadline_margin, self.now_ms());
        let unwatched = |_: &PassReport| {};
        let mut run = Run {
            genesys,
            teams,
            settings,
            invocation,
            shared,
            until: limits.work.until,
            queue_sets: scope::QueueSets::default(),
            judged: None,
            report: PassReport::default(),
            progress: &unwatched,
        };
        if self.read_queue_sets(&mut run).await == Progress::Done {
            self.reconcile_records(&mut run, vec![(user.clone(), record)])
                .await;
        }
        Ok(run.report)
    }
}

#[cfg(test)]
mod tests;
