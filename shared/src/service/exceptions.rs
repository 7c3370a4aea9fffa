//! An operator's scope exception (`presencectl scope include|exclude|reset`), recorded with
//! who set it and acted on at once: an exclusion lets the agent go (what we set in Teams is
//! cleared); an inclusion takes an agent the scope let go back, from Genesys's current state.
//! Warm instances of the event function also read the exception from the record when their
//! cached memberships leave the agent out.

use super::limits::{Limits, bounded};
use super::teams_ids::Memberships;
use super::{Invocation, PresenceSync, SyncError};
use crate::domain::ids::GenesysUserId;
use crate::domain::left::LeftReason;
use crate::domain::scope::{Exception, ExceptionMark, Scope, ScopeKind, ScopeVerdict, decide};
use crate::domain::state::UserState;
use crate::ports::{Budget, GenesysBulk, PresenceWriter, StateStore, TeamsDirectory, TeamsIdCache};

/// What setting an exception did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionChange {
    /// The agent was let go (cleared once).
    pub let_go: bool,
    /// The agent was taken back (synced from Genesys's current state).
    pub taken_back: bool,
}

impl<S, C, D, W> PresenceSync<S, C, D, W>
where
    S: StateStore,
    C: TeamsIdCache,
    D: TeamsDirectory,
    W: PresenceWriter,
{
    /// Sets (`Some`) or removes (`None`) `user`'s exception, recorded as set by `by`, and
    /// acts on it now.
    pub async fn set_scope_exception<G: GenesysBulk>(
        &self,
        genesys: &G,
        user: &GenesysUserId,
        exception: Option<Exception>,
        by: &str,
        invocation: &Invocation,
    ) -> Result<ExceptionChange, SyncError> {
        let limits = Limits::of(invocation, self.settings.deadline_margin, self.now_ms());
        let mark = exception.map(|e| ExceptionMark::new(e, by, self.now_ms()));
        let set = self.store.set_exception(user, mark.as_ref(), self.now_ms());
        bounded(limits.work, "recording the exception", user, set).await?;
        let read = self.store.read(user);
        let record = bounded(limits.work, "reading the record", user, read).await?;
        let mut change = ExceptionChange::default();
        if exception == Some(Exception::Exclude) {
            if record.left.is_none() {
                let gone = self.let_go(user, &record, LeftReason::Excluded, invocation);
                change.let_go = gone.await?.is_some();
            }
            return Ok(change);
        }
        if record.left.is_some_and(|left| left.by_scope())
            && self.scope_takes(user, exception, limits.work).await?
        {
            change.taken_back = self
                .take_back_now(genesys, user, &record, invocation)
                .await?;
        }
        Ok(change)
    }

    /// Whether the scope takes `user` with `exception` (an inclusion always does).
    async fn scope_takes(
        &self,
        user: &GenesysUserId,
        exception: Option<Exception>,
        budget: Budget,
    ) -> Result<bool, SyncError> {
        let scope = &self.settings.scope;
        if exception == Some(Exception::Include) || *scope == Scope::All {
            return Ok(true);
        }
        let queues = scope.of(ScopeKind::Queue).next().is_some();
        let now = self.now_ms() / 1000;
        let known = self.teams_ids.membership(user, queues, budget, now).await?;
        Ok(matches!(
            decide(scope, None, &known.membership),
            ScopeVerdict::In(_)
        ))
    }

    /// Takes a let-go user back from what Genesys shows now (an active account only).
    async fn take_back_now<G: GenesysBulk>(
        &self,
        genesys: &G,
        user: &GenesysUserId,
        record: &UserState,
        invocation: &Invocation,
    ) -> Result<bool, SyncError> {
        let limits = Limits::of(invocation, self.settings.deadline_margin, self.now_ms());
        let read = genesys.current(std::slice::from_ref(user), limits.work);
        let now = read.await.map_err(|source| SyncError::Directory {
            user: user.clone(),
            source,
        })?;
        let Some(now) = now.into_iter().find(|n| n.account.is_active()) else {
            return Ok(false);
        };
        let back = self.rejoin(user, record, &now.observation, "operator", invocation);
        Ok(back.await?.is_some())
    }
}
