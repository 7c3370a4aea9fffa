//! The flat loop that performs the steps of one user's sync, and the panic guard around it.

use super::limits::{Limits, Patience, bounded, panic_message};
use super::{PresenceSync, SyncError};
use crate::domain::excerpt::excerpt;
use crate::domain::ids::GenesysUserId;
use crate::domain::outcome::Outcome;
use crate::domain::state::{Intent, Lease, Observation, Recorded};
use crate::domain::step::{OutOfTime, Step, UserSync};
use crate::ports::{Budget, Finish, PresenceWriter, StateStore, TeamsDirectory, TeamsIdCache};
use futures_util::FutureExt;
use tracing::warn;

impl<S, C, D, W> PresenceSync<S, C, D, W>
where
    S: StateStore,
    C: TeamsIdCache,
    D: TeamsDirectory,
    W: PresenceWriter,
{
    /// Performs the steps of one user's sync until it answers: the flat loop of the service.
    pub(super) async fn run(
        &self,
        mut machine: UserSync<'_>,
        mut step: Step,
        user: &GenesysUserId,
        event_id: &str,
        lease: &Lease,
        limits: Limits,
    ) -> Result<Outcome, SyncError> {
        let budget = limits.work;
        let mut patience = Patience::new(self.settings.max_lease_wait);
        let mut settling = machine.is_settling();
        let mut first = true;
        loop {
            if machine.is_settling() != settling {
                // Settling waits with patience of its own, as recording does.
                settling = machine.is_settling();
                patience = Patience::new(self.settings.max_lease_wait);
            }
            let again = matches!(step, Step::Reclaim { .. })
                || (!first && matches!(step, Step::Record { .. }));
            if again && budget.is_spent() {
                return out_of_time(&machine, user);
            }
            first = false;
            step = match step {
                Step::Record { observation, claim } => {
                    let claim = claim.map(|intent| (intent, lease));
                    let write =
                        self.record_observation(user, event_id, &observation, claim, budget);
                    machine.recorded(write.await?, self.now_ms())
                }
                Step::ReleaseOwn => {
                    self.release_own(user, lease, limits).await?;
                    machine.released()
                }
                Step::Wait { holder_until_ms } => {
                    patience.wait(holder_until_ms, budget, user).await?;
                    machine.waited()
                }
                Step::Reclaim { rev, intent } => {
                    let claim = (self.store).reclaim(user, rev, intent, lease, self.now_ms());
                    let doing = "taking the lease to settle the record";
                    let answer = bounded(budget, doing, user, claim).await?;
                    machine.reclaimed(answer, self.now_ms())
                }
                Step::CarryOut(plan) => {
                    // Boxed: carrying out nests the Teams-id lookup, the token and the HTTP
                    // retries; held inline, the loop's future overflows the compiler's layout
                    // depth limit in a function crate built on the production adapters.
                    let carry_out = Box::pin(self.carry_out(plan, user, &lease.owner, limits));
                    let outcome = carry_out.await?;
                    return Ok(machine.carried_out(outcome));
                }
                Step::Answer(outcome) => return Ok(outcome),
            };
        }
    }

    /// Writes the observation (with the claim, when there is one), cut at the work's budget.
    async fn record_observation(
        &self,
        user: &GenesysUserId,
        event_id: &str,
        observation: &Observation,
        claim: Option<(Intent, &Lease)>,
        budget: Budget,
    ) -> Result<Recorded, SyncError> {
        let now = self.now_ms();
        let write = (self.store).record(user, event_id, observation, claim, now);
        bounded(budget, "recording the event", user, write).await
    }

    /// Releases our own lease leaving the record dirty: the answer to our recording write was
    /// lost and its retry refused, so what it replaced is unknown.
    async fn release_own(
        &self,
        user: &GenesysUserId,
        lease: &Lease,
        limits: Limits,
    ) -> Result<(), SyncError> {
        warn!(genesysUserId = %user, "the answer to our recording write was lost and its retry refused; releasing the lease to settle the record");
        let now = self.now_ms();
        let release = (self.store).finish(user, &lease.owner, Finish::Abandoned, now);
        bounded(limits.release, "releasing the lease", user, release).await?;
        Ok(())
    }

    /// Runs `work` with the panic guard: a panic releases the lease (leaving the record dirty)
    /// and fails as [`SyncError::Panicked`].
    pub(super) async fn guarded(
        &self,
        user: &GenesysUserId,
        lease: &Lease,
        limits: Limits,
        work: std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<Outcome, SyncError>> + Send + '_>,
        >,
    ) -> Result<Outcome, SyncError> {
        let work = std::panic::AssertUnwindSafe(work);
        let panic = match work.catch_unwind().await {
            Ok(result) => return result,
            Err(panic) => panic,
        };
        let message = excerpt(panic_message(panic.as_ref()));
        tracing::error!(genesysUserId = %user, panic = %message, "panicked while syncing; releasing the lease");
        let release = (self.store).finish(user, &lease.owner, Finish::Abandoned, self.now_ms());
        let doing = "releasing the lease after a panic";
        if let Err(error) = bounded(limits.release, doing, user, release).await {
            warn!(genesysUserId = %user, error = %error, "could not release the lease after a panic; it expires on its own");
        }
        Err(SyncError::Panicked {
            user: user.clone(),
            message,
        })
    }
}

/// The answer when the invocation's time runs out between two steps: fail while the event is
/// not recorded (Lambda redelivers it), answer once only settling an older failure is left.
fn out_of_time(machine: &UserSync<'_>, user: &GenesysUserId) -> Result<Outcome, SyncError> {
    match machine.out_of_time() {
        OutOfTime::Fail { attempts } => Err(SyncError::OutOfTime {
            user: user.clone(),
            attempts,
        }),
        OutOfTime::Answer(outcome) => Ok(outcome),
    }
}
