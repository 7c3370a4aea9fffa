//! The reconciler's scope: each run reads the members of the scope's queues (at its Genesys
//! pace), and judges each user with their memberships from the bulk read (division, groups)
//! and those sets (queues), and their exception. A user out of scope is let go, one back in
//! taken back; their memberships are cached so that the event path agrees.

use super::{Progress, Run};
use crate::domain::ids::GenesysUserId;
use crate::domain::left::LeftReason;
use crate::domain::reconcile::GenesysView;
use crate::domain::scope::decide;
use crate::domain::scope::{Membership, OutOfScope, Scope, ScopeId, ScopeKind, ScopeVerdict};
use crate::domain::state::UserState;
use crate::policy::RECONCILE_READ_RESERVE;
use crate::ports::{
    Budget, CachedMembership, GenesysBulk, GenesysNow, PresenceReader, PresenceWriter, StateStore,
    TeamsDirectory, TeamsIdCache,
};
use crate::service::PresenceSync;
use std::collections::{HashMap, HashSet};
use tracing::warn;

/// The most pages of one queue's members read in a run (100 a page).
const MAX_MEMBER_PAGES: u32 = 200;

/// The members of each scope queue this run could read (a queue whose read failed is absent:
/// its members unknown this run).
#[derive(Clone, Debug, Default)]
pub(super) struct QueueSets(HashMap<ScopeId, HashSet<GenesysUserId>>);

impl QueueSets {
    /// The scope's queues `user` is a member of, when every one of them was read.
    fn of(&self, scope: &Scope, user: &GenesysUserId) -> Option<Vec<ScopeId>> {
        let mut member_of = Vec::new();
        for queue in scope.of(ScopeKind::Queue) {
            if self.0.get(queue)?.contains(user) {
                member_of.push(queue.clone());
            }
        }
        Some(member_of)
    }
}

impl<S, C, D, W> PresenceSync<S, C, D, W>
where
    S: StateStore,
    C: TeamsIdCache,
    D: TeamsDirectory,
    W: PresenceWriter,
{
    /// Reads the members of the scope's queues, page by page at the Genesys pace; cut when a
    /// pace's slot comes after the run's time.
    pub(super) async fn read_queue_sets<G: GenesysBulk, R: PresenceReader>(
        &self,
        run: &mut Run<'_, G, R>,
    ) -> Progress {
        let queues: Vec<ScopeId> = self.settings.scope.of(ScopeKind::Queue).cloned().collect();
        let shared = run.shared;
        for queue in queues {
            let mut members = HashSet::new();
            let mut number = Some(1);
            while let Some(page) = number.filter(|n| *n <= MAX_MEMBER_PAGES) {
                if run.slot(&shared.genesys, RECONCILE_READ_RESERVE).await == Progress::Cut {
                    return Progress::Cut;
                }
                let budget = Budget { until: run.until };
                match run.genesys.queue_members(&queue, page, budget).await {
                    Ok(read) => {
                        members.extend(read.members);
                        number = read.next;
                    }
                    Err(error) => {
                        warn!(queue = %queue, error = %error, "could not read a scope queue's members; its members are unknown this run");
                        number = None;
                        members.clear();
                        break;
                    }
                }
            }
            if number.is_none() {
                run.queue_sets.0.insert(queue, members);
            }
        }
        Progress::Done
    }

    /// How the judgement sees what Genesys said of a user, with the scope: an account no
    /// longer active is gone; an active one out of scope is gone for that reason; `None` when
    /// the scope cannot tell (a queue's members unknown this run).
    pub(super) fn scoped_view<'a, G, R>(
        &self,
        run: &Run<'_, G, R>,
        now: &'a GenesysNow,
        record: &UserState,
    ) -> Option<GenesysView<'a>> {
        if !now.account.is_active() {
            return Some(GenesysView::Gone(LeftReason::Departed));
        }
        let scope = &self.settings.scope;
        let mut known = now.membership.clone();
        known.queues = run.queue_sets.of(scope, &now.user);
        let exception = record.exception.as_ref().map(|mark| mark.exception);
        match decide(scope, exception, &known) {
            ScopeVerdict::In(_) => Some(GenesysView::Current(&now.observation)),
            ScopeVerdict::Out(OutOfScope::Excluded) => {
                Some(GenesysView::Gone(LeftReason::Excluded))
            }
            ScopeVerdict::Out(OutOfScope::NotAMember) => {
                Some(GenesysView::Gone(LeftReason::OutOfScope))
            }
            ScopeVerdict::Unknown => None,
        }
    }

    /// The memberships the bulk read gave of a user (with the scope's queues this run read),
    /// to cache for one the scope just let go or took back, so that events judge them as the
    /// reconciler did.
    pub(super) fn membership_seen<G, R>(
        &self,
        run: &Run<'_, G, R>,
        now: &GenesysNow,
    ) -> CachedMembership {
        let mut known: Membership = now.membership.clone();
        known.queues = run.queue_sets.of(&self.settings.scope, &now.user);
        let lifetime = self.settings.teams_id_ttl.as_secs() as i64;
        CachedMembership {
            membership: known,
            expires_at: (self.now_ms() / 1000).saturating_add(lifetime),
        }
    }
}
