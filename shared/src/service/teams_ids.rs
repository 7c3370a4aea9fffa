//! The user's Teams id: from memory, else the shared cache, else Genesys, and claimed for
//! this Genesys user alone (docs/design.md, "One Teams user per Genesys user").

use super::PresenceSync;
use super::error::SyncError;
use super::limits::{bounded, now_ms};
use crate::domain::excerpt::excerpt;
use crate::domain::ids::{GenesysUserId, TeamsUserId};
use crate::ports::{
    Budget, CachedTeamsId, Claim, DirectoryAnswer, PresenceWriter, StateStore, TeamsDirectory,
    TeamsIdCache, TeamsIdEntry,
};
use tracing::warn;

impl<S, C, D, W> PresenceSync<S, C, D, W>
where
    S: StateStore,
    C: TeamsIdCache,
    D: TeamsDirectory,
    W: PresenceWriter,
{
    /// The user's Teams id: from memory, else the shared cache, else Genesys (claimed for
    /// this user alone, see [`TeamsIdEntry::ClaimedBy`]).
    pub(super) async fn teams_id(
        &self,
        user: &GenesysUserId,
        budget: Budget,
    ) -> Result<TeamsIdEntry, SyncError> {
        let now = now_ms() / 1000;
        if let Some(cached) = self.memory.get(user)
            && cached.expires_at > now
        {
            return Ok(cached.entry);
        }
        let cached = bounded(
            budget,
            "reading the cached Teams id",
            user,
            self.cache.get(user, now),
        )
        .await?;
        if let Some(cached) = cached {
            self.memory.insert(user.clone(), cached.clone());
            return Ok(cached.entry);
        }
        let answer = self
            .directory
            .lookup(user, budget)
            .await
            .map_err(|source| SyncError::Directory {
                user: user.clone(),
                source,
            })?;
        let entry = match answer {
            DirectoryAnswer::TeamsId(raw) => match TeamsUserId::parse(&raw) {
                Some(teams) => self.claim(user, teams, now, budget).await?,
                None => {
                    warn!(genesysUserId = %user, teamsId = %excerpt(&raw), "the microsoftteams external id Genesys holds for this user is not a GUID; treating the user as having no Teams id");
                    TeamsIdEntry::NoTeamsId
                }
            },
            DirectoryAnswer::NoTeamsId | DirectoryAnswer::UnknownUser => TeamsIdEntry::NoTeamsId,
        };
        let ttl = match entry {
            TeamsIdEntry::Teams(_) => self.settings.teams_id_ttl,
            TeamsIdEntry::NoTeamsId | TeamsIdEntry::ClaimedBy { .. } => {
                self.settings.no_teams_id_ttl
            }
        };
        let cached = CachedTeamsId {
            entry,
            expires_at: now.saturating_add(ttl.as_secs() as i64),
        };
        let put = bounded(
            budget,
            "caching the Teams id",
            user,
            self.cache.put(user, &cached),
        );
        match put.await {
            Ok(Some(previous)) => {
                self.noticed_change(user, &previous.entry, &cached.entry, budget)
                    .await
            }
            Ok(None) => {}
            Err(error) => {
                warn!(genesysUserId = %user, error = %error, "could not cache the Teams id; it will be looked up again");
            }
        }
        self.memory.insert(user.clone(), cached.clone());
        Ok(cached.entry)
    }

    /// Claims the Teams id Genesys gave for this user. The claim outlives the cached answer
    /// (twice its lifetime), so that the user who holds a Teams id keeps it when its cache
    /// entry expires and is looked up again.
    async fn claim(
        &self,
        user: &GenesysUserId,
        teams: TeamsUserId,
        now: i64,
        budget: Budget,
    ) -> Result<TeamsIdEntry, SyncError> {
        let until = now.saturating_add(2 * self.settings.teams_id_ttl.as_secs() as i64);
        let claim = bounded(
            budget,
            "claiming the Teams id",
            user,
            self.cache.claim(&teams, user, until, now),
        )
        .await?;
        Ok(match claim {
            Claim::Granted => TeamsIdEntry::Teams(teams),
            Claim::HeldBy(holder) => {
                warn!(genesysUserId = %user, teamsUserId = %teams, holder = %holder, "Genesys gives this user a Teams id that another Genesys user holds; leaving that Teams user alone (check both users' microsoftteams external ids)");
                TeamsIdEntry::ClaimedBy { teams, holder }
            }
        })
    }

    /// Warns when a user's Teams id changed, and gives up the claim on the old one.
    async fn noticed_change(
        &self,
        user: &GenesysUserId,
        previous: &TeamsIdEntry,
        now: &TeamsIdEntry,
        budget: Budget,
    ) {
        let TeamsIdEntry::Teams(old) = previous else {
            return;
        };
        if matches!(now, TeamsIdEntry::Teams(new) if new == old) {
            return;
        }
        let new = match now {
            TeamsIdEntry::Teams(t) | TeamsIdEntry::ClaimedBy { teams: t, .. } => t.to_string(),
            TeamsIdEntry::NoTeamsId => "(none)".to_owned(),
        };
        warn!(genesysUserId = %user, previousTeamsUserId = %old, teamsUserId = %new, "the Teams id Genesys gives this user changed; from now on the new one is updated");
        let release = bounded(
            budget,
            "giving up the claim on the previous Teams id",
            user,
            self.cache.release_claim(old, user),
        );
        if let Err(error) = release.await {
            warn!(genesysUserId = %user, error = %error, "could not give up the claim on the previous Teams id; it ends on its own");
        }
    }
}
