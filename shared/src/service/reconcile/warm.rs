//! Keeping the event path's memberships warm: the walk's bulk read of Genesys carries each
//! user's division and groups, so the walk caches them for the users whose table answer is
//! missing or about to expire ([`crate::policy::MEMBERSHIP_REFRESH_BEFORE`]). A shift start
//! then finds every recorded agent's memberships cached and asks Genesys for none.

use super::Run;
use crate::domain::ids::GenesysUserId;
use crate::domain::scope::Scope;
use crate::ports::{Budget, GenesysNow, PresenceWriter, StateStore, TeamsDirectory, TeamsIdCache};
use crate::service::PresenceSync;
use crate::service::teams_ids::Memberships;
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
        let now = self.now_ms() / 1000;
        let lifetime = self.settings.teams_id_ttl;
        let before = crate::policy::MEMBERSHIP_REFRESH_BEFORE.min(lifetime / 4);
        let due_by = now.saturating_add(before.as_secs() as i64);
        let users: Vec<GenesysUserId> = read
            .values()
            .filter(|now| now.account.is_active())
            .map(|now| now.user.clone())
            .collect();
        let shared = match self.teams_ids.shared_many(&users, now).await {
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
}
