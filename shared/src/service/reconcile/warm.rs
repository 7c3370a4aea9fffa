//! Keeping the event path's shared answers warm, from what the reconciler reads anyway: the
//! walk's bulk read of Genesys carries each user's division and groups, the sweep's directory
//! page each user's Teams id. Each is cached again for the users whose table answer is missing
//! or about to expire ([`crate::policy::CACHE_RENEW_BEFORE`]), so a shift start finds every
//! recorded agent's answers cached and asks Genesys for none.

use super::Run;
use crate::domain::ids::GenesysUserId;
use crate::domain::scope::Scope;
use crate::ports::{
    Budget, DirectoryAnswer, GenesysNow, PresenceWriter, StateStore, TeamsDirectory, TeamsIdCache,
    TeamsIdOrigin,
};
use crate::service::PresenceSync;
use crate::service::teams_ids::{Memberships, Renew};
use futures_util::StreamExt;
use std::collections::HashMap;
use tracing::warn;

/// Memberships written at once.
const PUTS_AT_ONCE: usize = 8;

impl<S, C, D, W> PresenceSync<S, C, D, W>
where
    S: StateStore,
    C: TeamsIdCache,
    D: TeamsDirectory,
    W: PresenceWriter,
{
    /// Caches the memberships `read` gave of the active users whose shared answer falls due;
    /// nothing with `SYNC_SCOPE=all`. A failed look or write is told and left for the next
    /// pass (the event path then looks the user up, as before).
    pub(super) async fn warm_memberships<G, R>(
        &self,
        run: &mut Run<'_, G, R>,
        read: &HashMap<GenesysUserId, GenesysNow>,
    ) {
        if self.settings.scope == Scope::All || read.is_empty() {
            return;
        }
        let (now, due_by) = self.renew_window();
        let users: Vec<GenesysUserId> = read
            .values()
            .filter(|now| now.account.is_active())
            .map(|now| now.user.clone())
            .collect();
        let shared = match self.teams_ids.shared_memberships(&users, now).await {
            Ok(shared) => shared,
            Err(error) => {
                warn!(error = %error, users = users.len(), "could not read the cached memberships; the next pass caches them");
                return;
            }
        };
        let due: Vec<&GenesysNow> = users
            .iter()
            .filter(|user| shared.get(*user).is_none_or(|c| c.expires_at <= due_by))
            .filter_map(|user| read.get(user))
            .collect();
        let budget = Budget { until: run.until };
        let puts = due.into_iter().map(|genesys| {
            let cached = self.membership_seen(run, genesys);
            async move {
                self.teams_ids
                    .remember(&genesys.user, &cached, budget)
                    .await;
            }
        });
        let count = futures_util::stream::iter(puts)
            .buffer_unordered(PUTS_AT_ONCE)
            .count()
            .await;
        run.report.memberships_cached += count as u64;
    }

    /// Renews the Teams ids of recorded users the scope has not let go whose shared answer is
    /// missing or falls due, each from `seen`'s answer (the sweep's directory page) given as
    /// a hint: no Genesys request. An operator's override that holds is left as it is.
    pub(super) async fn renew_teams_ids<G, R>(
        &self,
        run: &mut Run<'_, G, R>,
        seen: Vec<(GenesysUserId, DirectoryAnswer)>,
    ) {
        if seen.is_empty() {
            return;
        }
        let (now, due_by) = self.renew_window();
        let users: Vec<GenesysUserId> = seen.iter().map(|(user, _)| user.clone()).collect();
        let shared = match self.teams_ids.shared_answers(&users, now).await {
            Ok(shared) => shared,
            Err(error) => {
                warn!(error = %error, users = users.len(), "could not read the cached Teams ids; the next sweep renews them");
                return;
            }
        };
        let due = seen.into_iter().filter(|(user, _)| match shared.get(user) {
            None => true,
            Some(cached) => {
                !matches!(cached.origin, TeamsIdOrigin::Override { .. })
                    && cached.expires_at <= due_by
            }
        });
        let hints = &run.shared.hints;
        let budget = Budget { until: run.until };
        let renewals = due.map(|(user, answer)| {
            hints.put(user.clone(), answer);
            async move {
                let renewed = self.teams_ids.renew(&user, budget, now).await;
                hints.take(&user);
                if let Err(error) = &renewed {
                    warn!(genesysUserId = %user, error = %error, "could not renew the cached Teams id; the event path looks it up when it expires");
                }
                renewed.is_ok()
            }
        });
        let renewed = futures_util::stream::iter(renewals)
            .buffer_unordered(PUTS_AT_ONCE)
            .filter(|ok| std::future::ready(*ok))
            .count()
            .await;
        run.report.teams_ids_renewed += renewed as u64;
    }

    /// Now, and the time before which a shared answer's expiry makes it due (epoch seconds).
    fn renew_window(&self) -> (i64, i64) {
        let now = self.now_ms() / 1000;
        let lifetime = self.settings.teams_id_ttl;
        let before = crate::policy::CACHE_RENEW_BEFORE.min(lifetime / 4);
        (now, now.saturating_add(before.as_secs() as i64))
    }
}
