//! The event path's scope (`SYNC_SCOPE`, `docs/design.md`, "Scope"): whether the sync drives
//! the event's agent. Everyone is in with `all`, at no cost. Otherwise the agent's memberships
//! decide (the event's own active queues first, then what the Teams-id layers cache: no
//! Genesys call per event on a warm instance), and an operator's exception on the record wins
//! over them. An agent out of scope is let go once (what we set is cleared) and their events
//! skipped with no Graph call; one back in scope is synced again.

use super::limits::{Limits, bounded};
use super::teams_ids::Memberships;
use super::{Invocation, PresenceSync, Settlement, SyncError};
use crate::domain::event::GenesysEvent;
use crate::domain::left::LeftReason;
use crate::domain::outcome::{Outcome, SkipReason};
use crate::domain::scope::{Exception, Membership, Scope, ScopeKind, ScopeVerdict, decide};
use crate::domain::state::{Observation, UserState};
use crate::ports::{Budget, PresenceWriter, StateStore, TeamsDirectory, TeamsIdCache};
use tracing::warn;

/// Where an event's agent stands with the scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Placement {
    In,
    /// Out, for this reason; with the record when it was read to find out.
    Out(LeftReason, Option<Box<UserState>>),
}

impl<S, C, D, W> PresenceSync<S, C, D, W>
where
    S: StateStore,
    C: TeamsIdCache,
    D: TeamsDirectory,
    W: PresenceWriter,
{
    /// Where the event's agent stands: in with `SYNC_SCOPE=all`; otherwise by their
    /// memberships, and when those leave them out, by an operator's exception on the record.
    pub(super) async fn placement(
        &self,
        event: &GenesysEvent,
        budget: Budget,
    ) -> Result<Placement, SyncError> {
        let scope = &self.settings.scope;
        if *scope == Scope::All {
            return Ok(Placement::In);
        }
        let known = self.memberships_of(event, budget).await?;
        match decide(scope, None, &known) {
            ScopeVerdict::In(_) => Ok(Placement::In),
            // Not known to be a member (Genesys gave no division: a user it does not know):
            // a scoped rollout drives only those known to be in it.
            verdict @ (ScopeVerdict::Out(_) | ScopeVerdict::Unknown) => {
                if verdict == ScopeVerdict::Unknown {
                    warn!(genesysUserId = %event.user, "the agent's memberships are not known; treated as out of scope");
                }
                let read = self.store.read(&event.user);
                let record = bounded(budget, "reading the record", &event.user, read).await?;
                Ok(match record.exception.as_ref().map(|mark| mark.exception) {
                    Some(Exception::Include) => Placement::In,
                    Some(Exception::Exclude) => {
                        Placement::Out(LeftReason::Excluded, Some(Box::new(record)))
                    }
                    None => Placement::Out(LeftReason::OutOfScope, Some(Box::new(record))),
                })
            }
        }
    }

    /// The memberships the scope names: the event's active queues when it carries them, the
    /// rest through the Teams-id layers.
    async fn memberships_of(
        &self,
        event: &GenesysEvent,
        budget: Budget,
    ) -> Result<Membership, SyncError> {
        let scope = &self.settings.scope;
        let queues_needed = scope.of(ScopeKind::Queue).next().is_some() && event.queues.is_none();
        let mut known = match scope.needs_membership() || queues_needed {
            true => {
                let now = self.now_ms() / 1000;
                let cached = self
                    .teams_ids
                    .membership(&event.user, queues_needed, budget, now);
                cached.await?.membership
            }
            false => Membership::default(),
        };
        if let Some(queues) = &event.queues {
            known.queues = Some(queues.clone());
        }
        Ok(known)
    }

    /// An event of an agent out of scope: let them go once (what we set is cleared), and
    /// skip it; once let go, skip with no write at all.
    pub(super) async fn keep_out(
        &self,
        event: &GenesysEvent,
        reason: LeftReason,
        record: Option<Box<UserState>>,
        invocation: &Invocation,
    ) -> Result<Outcome, SyncError> {
        let limits = Limits::of(invocation, self.settings.deadline_margin, self.now_ms());
        let record = match record {
            Some(record) => *record,
            None => {
                let read = self.store.read(&event.user);
                bounded(limits.work, "reading the record", &event.user, read).await?
            }
        };
        let skipped = Outcome::Skipped(SkipReason::Left(reason));
        if let Some(left) = record.left {
            return Ok(Outcome::Skipped(SkipReason::Left(left.reason)));
        }
        match self
            .let_go(&event.user, &record, reason, invocation)
            .await?
        {
            Some(Settlement::Settled(outcome @ Outcome::Cleared(_))) => Ok(outcome),
            _ => Ok(skipped),
        }
    }

    /// An event of an agent in scope whose record the scope let go: taken back with the
    /// event's state, unless an operator excludes them.
    pub(super) async fn take_back(
        &self,
        event: &GenesysEvent,
        invocation: &Invocation,
        skipped: Outcome,
    ) -> Result<Outcome, SyncError> {
        let limits = Limits::of(invocation, self.settings.deadline_margin, self.now_ms());
        let read = self.store.read(&event.user);
        let record = bounded(limits.work, "reading the record", &event.user, read).await?;
        let excluded = record
            .exception
            .as_ref()
            .is_some_and(|mark| mark.exception == Exception::Exclude);
        if excluded || !record.left.is_some_and(|left| left.by_scope()) {
            return Ok(skipped);
        }
        let current = Observation::from(event);
        let back = self.rejoin(&event.user, &record, &current, &event.event_id, invocation);
        match back.await? {
            Some(Settlement::Settled(outcome)) => Ok(outcome),
            _ => Ok(skipped),
        }
    }
}
