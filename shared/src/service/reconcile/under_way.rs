//! A page's actions side by side: at most [`RECONCILE_ACTIONS_AT_ONCE`] under way, each from
//! its own slot of the run's Graph pace, taken in the page's order. The pace sets the rate,
//! and the time one action takes no longer does; a run cut in the middle of a page waits for
//! the actions under way, so the users acted on are the page's first ones and the next run
//! goes on after the last of them.

use super::act::count_quiet;
use super::page::hold_on_throttle;
use super::report::PassReport;
use super::{Progress, Run};
use crate::domain::ids::GenesysUserId;
use crate::domain::reconcile::Verdict;
use crate::domain::state::UserState;
use crate::metrics;
use crate::pace::Pace;
use crate::policy::{RECONCILE_ACTION_TIME, RECONCILE_ACTIONS_AT_ONCE};
use crate::ports::{
    Budget, CachedMembership, PassLedger, PresenceWriter, RecordScan, StateStore, TeamsDirectory,
    TeamsIdCache,
};
use crate::service::teams_ids::Memberships;
use crate::service::{Invocation, PresenceSync, SyncError};
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tracing::{info, warn};

/// A page's actions under way (each waits for its Graph slot, then acts).
pub(super) type UnderWay<'f> = FuturesUnordered<BoxFuture<'f, Acted>>;

/// A user judged, and what to do about them.
pub(super) struct Judged {
    pub user: GenesysUserId,
    pub record: UserState,
    pub verdict: Verdict,
    /// Whether the sweep judged them (a recovery is then a backfill).
    pub sweeping: bool,
    /// The memberships the bulk read gave of a user the scope just let go or took back, to
    /// cache once the action is done, so that events judge them as the reconciler did.
    pub remember: Option<CachedMembership>,
}

/// One action started: the user judged, at their Graph slot, within the run.
struct Started {
    judged: Judged,
    slot: Instant,
    graph: Arc<Pace>,
    run: Invocation,
    until: Instant,
}

/// What one action came to: what it counts in the run's report, or why it failed.
pub(super) struct Acted {
    user: GenesysUserId,
    counted: PassReport,
    failed: Option<SyncError>,
}

impl<S, C, D, W> PresenceSync<S, C, D, W>
where
    S: StateStore + RecordScan + PassLedger,
    C: TeamsIdCache,
    D: TeamsDirectory,
    W: PresenceWriter,
{
    /// Carries out the verdict for one user: one that leaves Teams alone is counted at once;
    /// one that calls Teams is started at the run's next Graph slot, alongside the page's
    /// actions under way (when [`RECONCILE_ACTIONS_AT_ONCE`] are, once one of them ends). Cut
    /// when that slot leaves the action no time before the run ends: nothing is started then,
    /// so the users started are the page's first ones.
    pub(super) async fn act<'f, G, R>(
        &'f self,
        run: &mut Run<'_, G, R>,
        under_way: &mut UnderWay<'f>,
        judged: Judged,
    ) -> Progress {
        match judged.verdict {
            Verdict::Nothing(quiet) => count_quiet(&mut run.report, quiet),
            Verdict::Report(drift) => {
                run.report.drift_found += 1;
                metrics::drift(false, drift.as_str(), 1);
                warn!(genesysUserId = %judged.user, drift = drift.as_str(), "Teams drifted from what was applied (DRIFT_POLICY=report: left alone)");
            }
            _ => {
                while under_way.len() >= RECONCILE_ACTIONS_AT_ONCE {
                    self.one_ends(run, under_way).await;
                }
                let graph = run.shared.graph.clone();
                let Ok(slot) = run.take_slot(&graph, RECONCILE_ACTION_TIME) else {
                    return Progress::Cut;
                };
                let started = Started {
                    judged,
                    slot,
                    graph,
                    run: run.invocation.clone(),
                    until: run.until,
                };
                under_way.push(Box::pin(self.action(started)));
            }
        }
        Progress::Done
    }

    /// Waits for every action under way to end, each counted.
    pub(super) async fn all_end<G, R>(
        &self,
        run: &mut Run<'_, G, R>,
        under_way: &mut UnderWay<'_>,
    ) {
        while !under_way.is_empty() {
            self.one_ends(run, under_way).await;
        }
    }

    /// Waits for one of the actions under way to end, and counts it; a failure is logged (the
    /// record stays as it is, for the next pass).
    async fn one_ends<G, R>(&self, run: &mut Run<'_, G, R>, under_way: &mut UnderWay<'_>) {
        let Some(acted) = under_way.next().await else {
            return;
        };
        add(&mut run.report, acted.counted);
        if let Some(error) = acted.failed {
            run.report.failed += 1;
            warn!(genesysUserId = %acted.user, error = %error, errorType = error.kind(), "reconciling the user failed; the next pass tries again");
        }
    }

    /// One action, from its Graph slot: its own short invocation, the verdict carried out;
    /// Graph's `Retry-After` holds the run's Graph pace as soon as it is met, so that no slot
    /// taken after it comes sooner. (The few slots already taken, at most one fewer than the
    /// bound, meet the process's throttle gate in the Graph adapter, which the same answer
    /// closed: their requests wait there within their action's time, or fail unsent.)
    async fn action(&self, started: Started) -> Acted {
        tokio::time::sleep_until(started.slot).await;
        let Judged {
            user,
            record,
            verdict,
            sweeping,
            remember,
        } = started.judged;
        let invocation = self.action_invocation(&started.run);
        let mut counted = PassReport::default();
        let done =
            self.carry_out_verdict(&mut counted, &user, record, verdict, sweeping, &invocation);
        let failed = done.await.err();
        if let Some(SyncError::Graph { source, .. }) = &failed {
            hold_on_throttle(&started.graph, source);
        }
        if let Some(cached) = remember {
            let budget = Budget {
                until: started.until,
            };
            self.teams_ids.remember(&user, &cached, budget).await;
        }
        Acted {
            user,
            counted,
            failed,
        }
    }
}

impl<G, R> Run<'_, G, R> {
    /// `pace`'s next slot, taken if it leaves `reserve` of the run; otherwise the run is cut
    /// and nothing is taken. An action's slot is taken, not waited for: the action waits for
    /// it, so that the actions under way go on meanwhile.
    pub(super) fn take_slot(
        &mut self,
        pace: &Pace,
        reserve: Duration,
    ) -> Result<Instant, Progress> {
        let latest = self.until.checked_sub(reserve).unwrap_or(self.until);
        pace.take_before(latest).map_err(|wait| {
            info!(
                waitMs = wait.as_millis() as u64,
                leftMs = self.left().as_millis() as u64,
                "the reconciler's next call would wait past this run's time: the run ends here and the next one goes on"
            );
            self.report.cut = true;
            Progress::Cut
        })
    }
}

/// Adds what one action counted to the run's report (every figure named, so that one added
/// to the report cannot be left out here).
fn add(report: &mut PassReport, counted: PassReport) {
    let PassReport {
        scanned,
        recovered,
        backfilled,
        settled,
        kept_alive,
        drift_found,
        drift_repaired,
        remapped,
        no_session,
        poisoned_repaired,
        poisoned_left,
        let_go,
        rejoined,
        memberships_cached,
        teams_ids_renewed,
        failed,
        reads,
        walk_completed,
        sweep_completed,
        yielded,
        cut,
    } = counted;
    report.scanned += scanned;
    report.recovered += recovered;
    report.backfilled += backfilled;
    report.settled += settled;
    report.kept_alive += kept_alive;
    report.drift_found += drift_found;
    report.drift_repaired += drift_repaired;
    report.remapped += remapped;
    report.no_session += no_session;
    report.poisoned_repaired += poisoned_repaired;
    report.poisoned_left += poisoned_left;
    report.let_go += let_go;
    report.rejoined += rejoined;
    report.memberships_cached += memberships_cached;
    report.teams_ids_renewed += teams_ids_renewed;
    report.failed += failed;
    report.reads = report.reads.plus(reads);
    report.walk_completed |= walk_completed;
    report.sweep_completed |= sweep_completed;
    report.yielded |= yielded;
    report.cut |= cut;
}
