//! The reconciler's pass: walk the user records page by page (and, on its own slower
//! schedule, the org's directory), read Genesys and Teams in bulk, judge each user
//! ([`crate::domain::reconcile::judge`]) and act through the event path's own use cases, under
//! the same per-user lease. One run at a time (the pass ledger's run lease); the position is
//! saved after every page, so a run killed midway loses nothing.

use super::{Invocation, PresenceSync, lease_for};
use crate::domain::ids::GenesysUserId;
use crate::domain::reconcile::Rules;
use crate::domain::state::UserState;
use crate::metrics;
use crate::pace::Pace;
use crate::ports::{
    Budget, DirectoryAnswer, GenesysBulk, PassLedger, PassState, PresenceReader, PresenceWriter,
    RecordScan, RemoteError, RunClaim, StateStore, StoreError, TeamsDirectory, TeamsIdCache,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use tracing::info;

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

/// What one run did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PassReport {
    pub scanned: u64,
    pub recovered: u64,
    pub backfilled: u64,
    pub settled: u64,
    pub kept_alive: u64,
    pub drift_found: u64,
    pub drift_repaired: u64,
    pub no_session: u64,
    pub poisoned_repaired: u64,
    pub poisoned_left: u64,
    /// Users whose action failed (their record stays as it was, for the next pass).
    pub failed: u64,
    /// Whether this run finished a walk over every record.
    pub walk_completed: bool,
    /// Whether this run finished a directory sweep.
    pub sweep_completed: bool,
    /// Whether this run stopped to leave Graph to the event path during a burst (a shift
    /// start): the next run goes on from the same page.
    pub yielded: bool,
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

/// Directory answers the sweep read in bulk, handed to the Teams-id lookup so that a
/// backfilled user costs no SCIM call of their own (the claim and cache layers still apply).
#[derive(Clone, Debug, Default)]
pub struct DirectoryHints(Arc<Mutex<HashMap<GenesysUserId, DirectoryAnswer>>>);

impl DirectoryHints {
    pub fn put(&self, user: GenesysUserId, answer: DirectoryAnswer) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(user, answer);
    }

    pub fn take(&self, user: &GenesysUserId) -> Option<DirectoryAnswer> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(user)
    }
}

/// A Teams directory that answers from the sweep's hints first, then asks `next`.
pub struct Hinted<D> {
    pub hints: DirectoryHints,
    pub next: D,
}

impl<D: TeamsDirectory> TeamsDirectory for Hinted<D> {
    async fn lookup(
        &self,
        user: &GenesysUserId,
        budget: Budget,
    ) -> Result<DirectoryAnswer, RemoteError> {
        match self.hints.take(user) {
            Some(answer) => Ok(answer),
            None => self.next.lookup(user, budget).await,
        }
    }
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
    records.len() >= crate::policy::RECONCILE_BURST_SAMPLE
        && recent * 100 > records.len() * crate::policy::RECONCILE_BURST_PERCENT
}

/// Whether a walk, a sweep or a page got to its end in this run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Progress {
    Done,
    /// The run's time ran out first: the next run goes on from the saved position.
    Cut,
}

/// One run's working parts.
struct Run<'a, G, R> {
    genesys: &'a G,
    teams: &'a R,
    settings: &'a ReconcileSettings,
    invocation: &'a Invocation,
    graph: Pace,
    genesys_pace: Pace,
    until: Instant,
    report: PassReport,
    /// Told the report so far after every page (an operator's progress bar).
    progress: &'a Watch<'a>,
}

impl<'a, G, R> Run<'a, G, R> {
    /// A run's parts, each remote at the reconciler's share of its limit. Each user's work is
    /// cut to the invocation's own limits; a page starts only while a few seconds are left
    /// before `until`.
    fn new(
        genesys: &'a G,
        teams: &'a R,
        settings: &'a ReconcileSettings,
        invocation: &'a Invocation,
        until: Instant,
        progress: &'a Watch<'a>,
    ) -> Self {
        Run {
            genesys,
            teams,
            settings,
            invocation,
            graph: Pace::new(settings.graph_per_30s, Duration::from_secs(30)),
            genesys_pace: Pace::new(settings.genesys_per_minute, Duration::from_secs(60)),
            until,
            report: PassReport::default(),
            progress,
        }
    }

    /// The time this run has left.
    fn left(&self) -> Duration {
        self.until.saturating_duration_since(Instant::now())
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
        hints: &DirectoryHints,
        settings: &ReconcileSettings,
        invocation: &Invocation,
    ) -> Result<PassOutcome, ReconcileError> {
        let unwatched = |_: &PassReport| {};
        self.reconcile_watched(genesys, teams, hints, settings, invocation, &unwatched)
            .await
    }

    /// [`PresenceSync::reconcile`], telling `progress` the run's report after every page.
    pub async fn reconcile_watched<G: GenesysBulk, R: PresenceReader>(
        &self,
        genesys: &G,
        teams: &R,
        hints: &DirectoryHints,
        settings: &ReconcileSettings,
        invocation: &Invocation,
        progress: &Watch<'_>,
    ) -> Result<PassOutcome, ReconcileError> {
        let started = Instant::now();
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
        let until = limits.work.until;
        let mut run = Run::new(genesys, teams, settings, invocation, until, progress);
        let worked = self.work(&mut run, &mut state, hints, owner).await;
        let ended = self.store.end(owner, &state).await;
        worked?;
        if !ended? {
            return Err(ReconcileError::LeaseLost);
        }
        if run.report.walk_completed {
            metrics::pass_completed(started.elapsed());
        }
        self.count_pass(&run.report);
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
        settings: &ReconcileSettings,
        user: &GenesysUserId,
        invocation: &Invocation,
    ) -> Result<PassReport, ReconcileError> {
        let record = self.store.read(user).await?;
        let limits =
            super::limits::Limits::of(invocation, self.settings.deadline_margin, self.now_ms());
        let unwatched = |_: &PassReport| {};
        let until = limits.work.until;
        let mut run = Run::new(genesys, teams, settings, invocation, until, &unwatched);
        self.reconcile_records(&mut run, vec![(user.clone(), record)])
            .await;
        Ok(run.report)
    }

    /// A sweep under way goes on first (so a walk over a large org cannot put it off for
    /// ever), then the walk, then a sweep that fell due; page by page while time is left.
    async fn work<G: GenesysBulk, R: PresenceReader>(
        &self,
        run: &mut Run<'_, G, R>,
        state: &mut PassState,
        hints: &DirectoryHints,
        owner: &str,
    ) -> Result<(), ReconcileError> {
        if state.sweeping && self.sweep(run, state, hints, owner).await? == Progress::Cut {
            return Ok(());
        }
        if self.walk(run, state, owner).await? == Progress::Cut {
            return Ok(());
        }
        let due = state.last_sweep_ms.is_none_or(|at| {
            self.now_ms().saturating_sub(at) >= run.settings.sweep_every.as_millis() as i64
        });
        if due && !run.report.sweep_completed {
            state.sweeping = true;
            self.sweep(run, state, hints, owner).await?;
        }
        Ok(())
    }

    /// The walk over the user records, from where it stands, to its end or the run's.
    async fn walk<G: GenesysBulk, R: PresenceReader>(
        &self,
        run: &mut Run<'_, G, R>,
        state: &mut PassState,
        owner: &str,
    ) -> Result<Progress, ReconcileError> {
        loop {
            if run.left() < crate::policy::RECONCILE_PAGE_RESERVE {
                return Ok(Progress::Cut);
            }
            let page = self
                .store
                .scan(state.records_cursor.as_deref(), run.settings.page_size)
                .await?;
            if self.reconcile_records(run, page.records).await == Progress::Cut {
                // The page is judged again by the next run (every action is idempotent).
                self.save_page(run, state, owner).await?;
                return Ok(Progress::Cut);
            }
            state.records_cursor = page.next;
            if state.records_cursor.is_none() {
                state.last_pass_ms = Some(self.now_ms());
                run.report.walk_completed = true;
                self.save_page(run, state, owner).await?;
                return Ok(Progress::Done);
            }
            self.save_page(run, state, owner).await?;
        }
    }

    /// The directory sweep, from where it stands, to its end or the run's.
    async fn sweep<G: GenesysBulk, R: PresenceReader>(
        &self,
        run: &mut Run<'_, G, R>,
        state: &mut PassState,
        hints: &DirectoryHints,
        owner: &str,
    ) -> Result<Progress, ReconcileError> {
        loop {
            if run.left() < crate::policy::RECONCILE_PAGE_RESERVE {
                self.save_page(run, state, owner).await?;
                return Ok(Progress::Cut);
            }
            run.genesys_pace.ready().await;
            let budget = Budget { until: run.until };
            let page = run
                .genesys
                .directory_page(state.sweep_cursor.as_deref(), budget)
                .await?;
            if self.sweep_page(run, hints, page.users).await? == Progress::Cut {
                self.save_page(run, state, owner).await?;
                return Ok(Progress::Cut);
            }
            state.sweep_cursor = page.next;
            if state.sweep_cursor.is_none() {
                state.sweeping = false;
                state.last_sweep_ms = Some(self.now_ms());
                run.report.sweep_completed = true;
                self.save_page(run, state, owner).await?;
                return Ok(Progress::Done);
            }
            self.save_page(run, state, owner).await?;
        }
    }

    /// Saves the position after a page, and tells the watcher.
    async fn save_page<G, R>(
        &self,
        run: &Run<'_, G, R>,
        state: &PassState,
        owner: &str,
    ) -> Result<(), ReconcileError> {
        self.save(state, owner).await?;
        (run.progress)(&run.report);
        Ok(())
    }

    async fn save(&self, state: &PassState, owner: &str) -> Result<(), ReconcileError> {
        if self.store.save(owner, state).await? {
            Ok(())
        } else {
            Err(ReconcileError::LeaseLost)
        }
    }
}

mod act;
mod page;

#[cfg(test)]
mod tests;
