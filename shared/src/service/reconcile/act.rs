//! What the reconciler does for one user once judged: through the event path's own use cases
//! (settle, record an observation, re-send), under the same per-user lease; counted in the
//! run's report.

use super::{PassReport, RECONCILE_EVENT, Run};
use crate::domain::ids::GenesysUserId;
use crate::domain::outcome::Outcome;
use crate::domain::reconcile::{Quiet, Refresh, Verdict};
use crate::domain::state::{Observation, Recorded, UserState};
use crate::domain::step::UserSync;
use crate::metrics::{self, PassFigure};
use crate::ports::{
    GenesysBulk, PassLedger, PresenceReader, PresenceWriter, RecordScan, RemoteError, StateStore,
    TeamsDirectory, TeamsIdCache,
};
use crate::service::{Invocation, PresenceSync, SyncError, lease_for};
use std::time::Duration;
use tracing::warn;

impl<S, C, D, W> PresenceSync<S, C, D, W>
where
    S: StateStore + RecordScan + PassLedger,
    C: TeamsIdCache,
    D: TeamsDirectory,
    W: PresenceWriter,
{
    /// Carries out the verdict for one user; a failure is counted and logged, and the record
    /// stays as it is for the next pass.
    pub(super) async fn act<G: GenesysBulk, R: PresenceReader>(
        &self,
        run: &mut Run<'_, G, R>,
        user: &GenesysUserId,
        record: UserState,
        verdict: Verdict,
        sweeping: bool,
    ) {
        match verdict {
            Verdict::Nothing(quiet) => count_quiet(&mut run.report, quiet),
            Verdict::Report(drift) => {
                run.report.drift_found += 1;
                metrics::drift(false, drift.as_str(), 1);
                warn!(genesysUserId = %user, drift = drift.as_str(), "Teams drifted from what was applied (DRIFT_POLICY=report: left alone)");
            }
            calls_teams => {
                run.graph.ready().await;
                let done = self.carry_out_verdict(run, user, record, calls_teams, sweeping);
                if let Err(error) = done.await {
                    failed(run, user, &error);
                }
            }
        }
    }

    /// A verdict that may call Teams, through the event path's use cases; counted once done.
    async fn carry_out_verdict<G: GenesysBulk, R: PresenceReader>(
        &self,
        run: &mut Run<'_, G, R>,
        user: &GenesysUserId,
        record: UserState,
        verdict: Verdict,
        sweeping: bool,
    ) -> Result<(), SyncError> {
        let invocation = run.invocation;
        let report = &mut run.report;
        match verdict {
            Verdict::Recover(observation) => {
                self.sync_observation(user, observation, invocation).await?;
                match sweeping {
                    true => report.backfilled += 1,
                    false => report.recovered += 1,
                }
            }
            Verdict::Settle => {
                self.settle(user, invocation).await?;
                report.settled += 1;
            }
            Verdict::Repair(observation) => {
                self.repair(user, &record, &observation, invocation).await?;
                report.poisoned_repaired += 1;
            }
            Verdict::Refresh(why) => {
                let outcome = self.refresh(user, record, invocation).await?;
                if let Outcome::Applied(..) | Outcome::Cleared(_) = outcome {
                    count_refresh(report, why);
                }
            }
            Verdict::Nothing(_) | Verdict::Report(_) => {}
        }
        Ok(())
    }

    /// Records an observation read from Genesys as an event would be (and applies it).
    pub async fn sync_observation(
        &self,
        user: &GenesysUserId,
        observation: Observation,
        invocation: &Invocation,
    ) -> Result<Outcome, SyncError> {
        let limits = crate::service::limits::Limits::of(
            invocation,
            self.settings.deadline_margin,
            self.now_ms(),
        );
        let lease = lease_for(invocation);
        let (machine, step) =
            UserSync::for_observation(&self.mapping, observation, RECONCILE_EVENT, &lease);
        let run = Box::pin(self.run(machine, step, user, RECONCILE_EVENT, &lease, limits));
        self.guarded(user, &lease, limits, run).await
    }

    /// Re-sends what a record maps to (keep-alive, drift repair).
    pub async fn refresh(
        &self,
        user: &GenesysUserId,
        record: UserState,
        invocation: &Invocation,
    ) -> Result<Outcome, SyncError> {
        let limits = crate::service::limits::Limits::of(
            invocation,
            self.settings.deadline_margin,
            self.now_ms(),
        );
        let lease = lease_for(invocation);
        let (machine, step) = UserSync::for_refresh(&self.mapping, record, &lease, self.now_ms());
        let run = Box::pin(self.run(machine, step, user, "", &lease, limits));
        self.guarded(user, &lease, limits, run).await
    }

    /// Replaces a poisoned record with Genesys's current state, then settles it.
    async fn repair(
        &self,
        user: &GenesysUserId,
        record: &UserState,
        observation: &Observation,
        invocation: &Invocation,
    ) -> Result<(), SyncError> {
        let replaced = self
            .store
            .replace(
                user,
                record.rev,
                observation,
                RECONCILE_EVENT,
                self.now_ms(),
            )
            .await
            .map_err(|source| SyncError::Store {
                user: user.clone(),
                source,
            })?;
        if let Recorded::Accepted { .. } = replaced {
            warn!(genesysUserId = %user, "replaced a record holding a version from the future with Genesys's current state");
            self.settle(user, invocation).await?;
        }
        Ok(())
    }

    pub(super) fn count_pass(&self, report: &PassReport) {
        metrics::pass_figure(PassFigure::UsersScanned, report.scanned);
        metrics::pass_figure(PassFigure::DirtySettled, report.settled);
        metrics::pass_figure(PassFigure::LostEventsRecovered, report.recovered);
        metrics::pass_figure(PassFigure::Backfilled, report.backfilled);
        metrics::pass_figure(PassFigure::KeptAlive, report.kept_alive);
    }
}

fn count_quiet(report: &mut PassReport, quiet: Quiet) {
    match quiet {
        Quiet::NoSession => report.no_session += 1,
        Quiet::Poisoned => report.poisoned_left += 1,
        Quiet::Clean | Quiet::Busy => {}
    }
}

fn count_refresh(report: &mut PassReport, why: Refresh) {
    match why {
        Refresh::KeepAlive => report.kept_alive += 1,
        Refresh::Repair(drift) => {
            report.drift_found += 1;
            report.drift_repaired += 1;
            metrics::drift(false, drift.as_str(), 1);
            metrics::drift(true, drift.as_str(), 1);
        }
    }
}

/// A user's action failed: counted and logged (the next pass tries again); Graph's
/// `Retry-After` holds the run's Graph pace.
fn failed<G, R>(run: &mut Run<'_, G, R>, user: &GenesysUserId, error: &SyncError) {
    if let SyncError::Graph {
        source:
            RemoteError::Throttled {
                retry_after_secs: Some(secs),
                ..
            },
        ..
    } = error
    {
        run.graph.hold(Duration::from_secs(*secs));
    }
    run.report.failed += 1;
    warn!(genesysUserId = %user, error = %error, errorType = error.kind(), "reconciling the user failed; the next pass tries again");
}
