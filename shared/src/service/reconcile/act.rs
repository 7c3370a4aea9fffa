//! What the reconciler does for one user once judged: through the event path's own use cases
//! (settle, record an observation, re-send), under the same per-user lease, each action with
//! a lease and a time of its own (short enough that an event waiting for it is applied after
//! it, never failed by it); counted in the run's report. (How a page's actions run side by
//! side: `under_way`.)

use super::RECONCILE_EVENT;
use super::report::PassReport;
use crate::domain::ids::GenesysUserId;
use crate::domain::outcome::{Outcome, SkipReason};
use crate::domain::reconcile::{Quiet, Refresh, Verdict};
use crate::domain::state::{Observation, Recorded, UserState};
use crate::domain::step::UserSync;
use crate::metrics;
use crate::policy::RECONCILE_ACTION_TIME;
use crate::ports::{
    PassLedger, PresenceWriter, RecordScan, StateStore, TeamsDirectory, TeamsIdCache,
};
use crate::service::{Invocation, PresenceSync, SyncError, lease_for};
use std::time::{Duration, UNIX_EPOCH};
use tracing::warn;

impl<S, C, D, W> PresenceSync<S, C, D, W>
where
    S: StateStore + RecordScan + PassLedger,
    C: TeamsIdCache,
    D: TeamsDirectory,
    W: PresenceWriter,
{
    /// One action's own invocation: the run's request, with a deadline
    /// [`RECONCILE_ACTION_TIME`] away (or the run's, when sooner). The action's lease ends
    /// with it, so an event that meets the lease waits it out within its patience and is
    /// applied after it.
    pub(super) fn action_invocation(&self, run: &Invocation) -> Invocation {
        let now = u64::try_from(self.now_ms()).unwrap_or(0);
        let soon = UNIX_EPOCH + Duration::from_millis(now) + RECONCILE_ACTION_TIME;
        Invocation {
            request_id: run.request_id.clone(),
            deadline: soon.min(run.deadline),
        }
    }

    /// A verdict that may call Teams, through the event path's use cases; counted once done.
    pub(super) async fn carry_out_verdict(
        &self,
        report: &mut PassReport,
        user: &GenesysUserId,
        record: UserState,
        verdict: Verdict,
        sweeping: bool,
        invocation: &Invocation,
    ) -> Result<(), SyncError> {
        match verdict {
            Verdict::Recover(observation) => {
                let outcome = self
                    .sync_observation(user, observation.clone(), invocation)
                    .await?;
                if let Outcome::Skipped(SkipReason::Stale | SkipReason::Duplicate) = outcome {
                    // An event recorded the same or a newer change since the pass read it.
                    return Ok(());
                }
                self.lag_of_recovery(&observation, outcome);
                match sweeping {
                    true => report.backfilled += 1,
                    false => report.recovered += 1,
                }
            }
            Verdict::Settle if record.left.is_some() => {
                // A let-go user whose clear failed before: clear now, then drop the Teams id.
                self.settle_left(user, invocation).await?;
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
            Verdict::LetGo(reason) => {
                if self
                    .let_go(user, &record, reason, invocation)
                    .await?
                    .is_some()
                {
                    report.let_go += 1;
                    metrics::let_go(reason.as_str(), 1);
                }
            }
            Verdict::Rejoin(current) => {
                let back = self.rejoin(user, &record, &current, RECONCILE_EVENT, invocation);
                if back.await?.is_some() {
                    report.rejoined += 1;
                }
            }
            Verdict::Nothing(_) | Verdict::Report(_) => {}
        }
        Ok(())
    }

    /// A change Genesys had and no event brought, now applied: its lag from the Genesys change
    /// counts in `EndToEndLag` as an event's would (its late event will be `unchanged`).
    fn lag_of_recovery(&self, observation: &Observation, outcome: Outcome) {
        if !matches!(outcome, Outcome::Applied(..) | Outcome::Cleared(_)) {
            return;
        }
        let versions = [
            observation.presence.as_ref().map(|p| p.version),
            observation.routing.as_ref().map(|r| r.version),
        ];
        if let Some(version) = versions.into_iter().flatten().max() {
            let lag = self.now_ms().saturating_sub(version.millis());
            metrics::lag(metrics::Lag::EndToEnd, lag);
        }
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
        let replace = self.store.replace(
            user,
            record.rev,
            observation,
            RECONCILE_EVENT,
            self.now_ms(),
        );
        if let Recorded::Accepted { .. } = replace.await.map_err(store(user))? {
            warn!(genesysUserId = %user, "replaced a record holding a version from the future with Genesys's current state");
            self.settle(user, invocation).await?;
        }
        Ok(())
    }
}

/// A state-store failure of `user`'s action.
fn store(user: &GenesysUserId) -> impl FnOnce(crate::ports::StoreError) -> SyncError + '_ {
    move |source| SyncError::Store {
        user: user.clone(),
        source,
    }
}

pub(super) fn count_quiet(report: &mut PassReport, quiet: Quiet) {
    match quiet {
        Quiet::NoSession => report.no_session += 1,
        Quiet::Poisoned => report.poisoned_left += 1,
        Quiet::Clean | Quiet::Busy | Quiet::Left => {}
    }
}

fn count_refresh(report: &mut PassReport, why: Refresh) {
    match why {
        Refresh::KeepAlive => report.kept_alive += 1,
        Refresh::Remap => report.remapped += 1,
        Refresh::Repair(drift) => {
            report.drift_found += 1;
            report.drift_repaired += 1;
            metrics::drift(false, drift.as_str(), 1);
            metrics::drift(true, drift.as_str(), 1);
        }
    }
}
