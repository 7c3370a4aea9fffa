//! Letting a user go and taking them back: the writes of `domain::left` on the revision read,
//! then settling the record (which clears what we set, once, or applies the current state).
//! One use case for the reconciler (departed agents, the scope's sweep) and the event path
//! (an agent out of scope, or back in).

use super::limits::{Limits, bounded};
use super::teams_ids::TeamsIds;
use super::{Invocation, PresenceSync, Settlement, SyncError};
use crate::domain::ids::GenesysUserId;
use crate::domain::left::LeftReason;
use crate::domain::state::{Observation, Recorded, UserState};
use crate::ports::{PresenceWriter, StateStore, TeamsDirectory, TeamsIdCache};
use tracing::info;

impl<S, C, D, W> PresenceSync<S, C, D, W>
where
    S: StateStore,
    C: TeamsIdCache,
    D: TeamsDirectory,
    W: PresenceWriter,
{
    /// Lets a user go: marks the record (at the revision read), settles it (which clears a
    /// preferred presence of ours, once), and drops their Teams id and its claim. `None` when
    /// the record changed meanwhile (judged again later).
    pub(crate) async fn let_go(
        &self,
        user: &GenesysUserId,
        record: &UserState,
        reason: LeftReason,
        invocation: &Invocation,
    ) -> Result<Option<Settlement>, SyncError> {
        let limits = Limits::of(invocation, self.settings.deadline_margin, self.now_ms());
        let mark = self.store.let_go(user, record, reason, self.now_ms());
        let doing = "letting the user go";
        let Recorded::Accepted { .. } = bounded(limits.work, doing, user, mark).await? else {
            return Ok(None);
        };
        info!(genesysUserId = %user, reason = reason.as_str(), "letting the user go: what we set in Teams is cleared once, then nothing more is written");
        self.settle_left(user, invocation).await.map(Some)
    }

    /// Settles a let-go record (clearing what we set, when it is dirty), then drops the
    /// user's Teams id and gives up their claim on it.
    pub(crate) async fn settle_left(
        &self,
        user: &GenesysUserId,
        invocation: &Invocation,
    ) -> Result<Settlement, SyncError> {
        let settled = self.settle(user, invocation).await?;
        let limits = Limits::of(invocation, self.settings.deadline_margin, self.now_ms());
        self.teams_ids
            .let_go(user, limits.work, self.now_ms() / 1000)
            .await;
        Ok(settled)
    }

    /// Takes a let-go user back with `current` (Genesys's state, or an event's), recorded
    /// under `event_id`, and settles the record (which applies it). `None` when the record
    /// changed meanwhile.
    pub(crate) async fn rejoin(
        &self,
        user: &GenesysUserId,
        record: &UserState,
        current: &Observation,
        event_id: &str,
        invocation: &Invocation,
    ) -> Result<Option<Settlement>, SyncError> {
        let limits = Limits::of(invocation, self.settings.deadline_margin, self.now_ms());
        let back = self
            .store
            .rejoin(user, record, current, event_id, self.now_ms());
        let doing = "taking the user back";
        let Recorded::Accepted { .. } = bounded(limits.work, doing, user, back).await? else {
            return Ok(None);
        };
        info!(genesysUserId = %user, "a user let go is back: synced from the current state");
        self.settle(user, invocation).await.map(Some)
    }
}
