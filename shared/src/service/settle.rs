//! Settling one user from the record alone: the use case of a redelivery, an operator and a
//! scheduled function.

use super::limits::{Limits, bounded};
use super::{Invocation, PresenceSync, SyncError, lease_for};
use crate::domain::ids::GenesysUserId;
use crate::domain::outcome::{Outcome, SkipReason};
use crate::domain::step::UserSync;
use crate::ports::{PresenceWriter, StateStore, TeamsDirectory, TeamsIdCache};

/// What settling one user from its record did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settlement {
    /// The record was clean: Teams shows what was applied.
    Clean,
    /// Another instance holds the user's lease (until then); it settles the record itself.
    HeldByAnother { until_ms: i64 },
    /// The record was dirty and nobody held it: this is what settling it did.
    Settled(Outcome),
}

impl std::fmt::Display for Settlement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Settlement::Clean => f.write_str("clean: Teams shows what was applied"),
            Settlement::HeldByAnother { until_ms } => {
                write!(
                    f,
                    "held by another instance until {until_ms} ms since the epoch"
                )
            }
            Settlement::Settled(outcome) => write!(f, "settled: {outcome}"),
        }
    }
}

impl<S, C, D, W> PresenceSync<S, C, D, W>
where
    S: StateStore,
    C: TeamsIdCache,
    D: TeamsDirectory,
    W: PresenceWriter,
{
    /// Settles one user from the record alone (what a redelivery does for a failed event, and
    /// what a scheduled function does for every dirty record): when an earlier holder left the
    /// record dirty and its lease is gone, takes the lease and re-applies the newest recorded
    /// state, under the same rules as the event path (an event arriving meanwhile still wins by
    /// version).
    pub async fn settle(
        &self,
        user: &GenesysUserId,
        invocation: &Invocation,
    ) -> Result<Settlement, SyncError> {
        let limits = Limits::of(invocation, self.settings.deadline_margin, self.now_ms());
        let record = bounded(
            limits.work,
            "reading the record",
            user,
            self.store.read(user),
        )
        .await?;
        let now = self.now_ms();
        if !record.dirty() {
            return Ok(Settlement::Clean);
        }
        if record.busy(now) {
            let until_ms = record.lease.as_ref().map_or(0, |l| l.until_ms);
            return Ok(Settlement::HeldByAnother { until_ms });
        }
        let lease = lease_for(invocation);
        let own = Outcome::Skipped(SkipReason::Unchanged);
        let (machine, step) = UserSync::for_record(&self.mapping, record, &lease, own, now);
        let run = Box::pin(self.run(machine, step, user, "", &lease, limits));
        let outcome = self.guarded(user, &lease, limits, run).await?;
        Ok(Settlement::Settled(outcome))
    }
}
