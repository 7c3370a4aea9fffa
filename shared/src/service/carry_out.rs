//! What the holder of a user's lease does with a decision: mark the record pending, find the
//! Teams id, call Graph, and record the result (or leave the record dirty on failure).

use super::PresenceSync;
use super::error::SyncError;
use super::limits::{Limits, bounded};
use super::teams_ids::TeamsIds;
use crate::domain::decide::{AfterClaim, Release};
use crate::domain::ids::GenesysUserId;
use crate::domain::outcome::{Outcome, SkipReason};
use crate::domain::teams::TeamsState;
use crate::ports::{
    Finish, PresenceWriter, StateStore, TeamsDirectory, TeamsIdCache, TeamsIdEntry, WriteAnswer,
};
use tracing::warn;

impl<S, C, D, W> PresenceSync<S, C, D, W>
where
    S: StateStore,
    C: TeamsIdCache,
    D: TeamsDirectory,
    W: PresenceWriter,
{
    /// Carries out a decision while holding the user's lease (or, for `NoCall` without
    /// `release`, without one).
    pub(super) async fn carry_out(
        &self,
        plan: AfterClaim,
        user: &GenesysUserId,
        owner: &str,
        limits: Limits,
    ) -> Result<Outcome, SyncError> {
        let budget = limits.work;
        let finish_holding = |finish| {
            bounded(
                limits.release,
                "releasing the lease",
                user,
                self.store.finish(user, owner, finish, self.now_ms()),
            )
        };
        let (state, mark_pending, why) = match plan {
            AfterClaim::NoCall { reason, release } => {
                let finish = match release {
                    Release::Not => None,
                    Release::Settled => Some(Finish::Untouched),
                    Release::Unsettled => Some(Finish::Abandoned),
                };
                if let Some(finish) = finish {
                    finish_holding(finish).await?;
                }
                return Ok(Outcome::Skipped(reason));
            }
            AfterClaim::Call {
                state,
                mark_pending,
                why,
            } => (state, mark_pending, why),
        };
        if mark_pending
            && !bounded(
                budget,
                "marking the record pending",
                user,
                self.store.mark_pending(user, owner, self.now_ms()),
            )
            .await?
        {
            return Err(SyncError::LeaseLost {
                user: user.clone(),
                doing: "call Graph",
            });
        }
        let found = self
            .teams_ids
            .resolve(user, budget, self.now_ms() / 1000)
            .await;
        let teams = match found.map(|cached| cached.entry) {
            Ok(TeamsIdEntry::Teams(teams)) => teams,
            Ok(TeamsIdEntry::NoTeamsId) => {
                finish_holding(Finish::Untouched).await?;
                return Ok(Outcome::Skipped(SkipReason::NoTeamsUser));
            }
            Ok(TeamsIdEntry::ClaimedBy { .. }) => {
                finish_holding(Finish::Untouched).await?;
                return Ok(Outcome::Skipped(SkipReason::TeamsIdClaimed));
            }
            Err(error) => {
                self.abandon(user, owner, limits).await;
                return Err(error);
            }
        };
        let written = match state {
            TeamsState::Preferred(presence) => {
                self.writer.set_preferred(&teams, presence, budget).await
            }
            TeamsState::Cleared => self.writer.clear_preferred(&teams, budget).await,
        };
        match written {
            Ok(WriteAnswer::Accepted) => {
                if !finish_holding(Finish::Applied(state)).await? {
                    // Graph has our state, but our lease ran out and another instance took
                    // over: it saw the record dirty and re-applies the newest state itself.
                    warn!(genesysUserId = %user, "lease taken over after the Graph call; the new holder re-applies the newest state");
                }
                Ok(match state {
                    TeamsState::Preferred(presence) => Outcome::Applied(presence, why),
                    TeamsState::Cleared => Outcome::Cleared(why),
                })
            }
            Ok(WriteAnswer::UserNotFound) => {
                warn!(genesysUserId = %user, teamsUserId = %teams, "Graph does not know the Teams user; dropping the cached Teams id");
                self.teams_ids.forget(user, budget).await;
                finish_holding(Finish::Untouched).await?;
                Ok(Outcome::Skipped(SkipReason::TeamsUserNotFound))
            }
            Err(source) => {
                self.abandon(user, owner, limits).await;
                Err(SyncError::Graph {
                    user: user.clone(),
                    teams,
                    source,
                })
            }
        }
    }

    /// Releases the lease after a failure, leaving the record dirty so that the redelivery
    /// (or the user's next event) re-applies the newest state. Best effort: if this write
    /// fails too, the lease simply expires.
    async fn abandon(&self, user: &GenesysUserId, owner: &str, limits: Limits) {
        let release = bounded(
            limits.release,
            "releasing the lease after a failure",
            user,
            self.store
                .finish(user, owner, Finish::Abandoned, self.now_ms()),
        );
        if let Err(error) = release.await {
            warn!(genesysUserId = %user, error = %error, "could not release the lease after a failure; it expires on its own");
        }
    }
}
