//! What the holder of a user's lease does with a decision: mark the record pending, find the
//! Teams id, call Graph, and record the result (or leave the record dirty on failure).

use super::PresenceSync;
use super::error::SyncError;
use super::limits::{Limits, bounded};
use super::teams_ids::TeamsIds;
use crate::domain::decide::{AfterClaim, Release};
use crate::domain::ids::{GenesysUserId, TeamsUserId};
use crate::domain::outcome::{Outcome, SkipReason, Why};
use crate::domain::teams::TeamsState;
use crate::ports::{
    Finish, PresenceWriter, StateStore, TeamsDirectory, TeamsIdCache, TeamsIdEntry, WriteAnswer,
};
use tracing::warn;

/// A Graph write that was answered: what was sent, why, and to whom.
struct Done<'a> {
    state: TeamsState,
    why: Why,
    teams: &'a TeamsUserId,
}

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
        match plan {
            AfterClaim::NoCall { reason, release } => {
                let finish = match release {
                    Release::Not => None,
                    Release::Settled => Some(Finish::Untouched),
                    Release::Unsettled => Some(Finish::Abandoned),
                };
                if let Some(finish) = finish {
                    self.finish_holding(user, owner, finish, limits).await?;
                }
                Ok(Outcome::Skipped(reason))
            }
            AfterClaim::Call {
                state,
                mark_pending,
                why,
            } => {
                if mark_pending {
                    self.mark_pending(user, owner, limits).await?;
                }
                self.call_teams(state, why, user, owner, limits).await
            }
        }
    }

    /// Warns others that a Graph call is about to be made (the record's intent becomes
    /// `pending`); fails if the lease is no longer ours.
    async fn mark_pending(
        &self,
        user: &GenesysUserId,
        owner: &str,
        limits: Limits,
    ) -> Result<(), SyncError> {
        let mark = self.store.mark_pending(user, owner, self.now_ms());
        if bounded(limits.work, "marking the record pending", user, mark).await? {
            return Ok(());
        }
        Err(SyncError::LeaseLost {
            user: user.clone(),
            doing: "call Graph",
        })
    }

    /// Finds the Teams user, makes Teams show `state`, and records the result.
    async fn call_teams(
        &self,
        state: TeamsState,
        why: Why,
        user: &GenesysUserId,
        owner: &str,
        limits: Limits,
    ) -> Result<Outcome, SyncError> {
        let budget = limits.work;
        let found = self.teams_ids.resolve(user, budget, self.now_ms() / 1000);
        let teams = match found.await.map(|cached| cached.entry) {
            Ok(TeamsIdEntry::Teams(teams)) => teams,
            Ok(TeamsIdEntry::NoTeamsId) => {
                self.finish_holding(user, owner, Finish::Untouched, limits)
                    .await?;
                return Ok(Outcome::Skipped(SkipReason::NoTeamsUser));
            }
            Ok(TeamsIdEntry::ClaimedBy { .. }) => {
                self.finish_holding(user, owner, Finish::Untouched, limits)
                    .await?;
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
            Ok(answer) => {
                let done = Done {
                    state,
                    why,
                    teams: &teams,
                };
                self.record_answer(answer, done, user, owner, limits).await
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

    /// Records what Graph answered and releases the lease.
    async fn record_answer(
        &self,
        answer: WriteAnswer,
        Done { state, why, teams }: Done<'_>,
        user: &GenesysUserId,
        owner: &str,
        limits: Limits,
    ) -> Result<Outcome, SyncError> {
        if answer == WriteAnswer::UserNotFound {
            warn!(genesysUserId = %user, teamsUserId = %teams, "Graph does not know the Teams user; dropping the cached Teams id");
            self.teams_ids.forget(user, limits.work).await;
            self.finish_holding(user, owner, Finish::Untouched, limits)
                .await?;
            return Ok(Outcome::Skipped(SkipReason::TeamsUserNotFound));
        }
        let finished =
            self.finish_holding(user, owner, Finish::Applied(state, teams.clone()), limits);
        if !finished.await? {
            // Graph has our state, but our lease ran out and another instance took over: it
            // saw the record dirty and re-applies the newest state itself.
            warn!(genesysUserId = %user, "lease taken over after the Graph call; the new holder re-applies the newest state");
        }
        Ok(match state {
            TeamsState::Preferred(presence) => Outcome::Applied(presence, why),
            TeamsState::Cleared => Outcome::Cleared(why),
        })
    }

    /// The holder's last write, cut at the release limit; false when the lease was no longer
    /// ours.
    async fn finish_holding(
        &self,
        user: &GenesysUserId,
        owner: &str,
        finish: Finish,
        limits: Limits,
    ) -> Result<bool, SyncError> {
        let write = self.store.finish(user, owner, finish, self.now_ms());
        bounded(limits.release, "releasing the lease", user, write).await
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
