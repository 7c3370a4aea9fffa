//! An operator's hand on the Teams-id cache (`presencectl teams-id set|forget`): an override
//! that no lookup replaces, recorded with who set it, and a forget that never gives up a
//! claim a concurrent lookup just renewed.

use super::release_own_claim;
use crate::domain::excerpt::excerpt;
use crate::domain::ids::{GenesysUserId, TeamsUserId};
use crate::ports::{CachePut, CachedTeamsId, Claim, TeamsIdCache, TeamsIdEntry, TeamsIdOrigin};
use tracing::{info, warn};

/// Why an operator's Teams id was not set.
#[derive(Debug, thiserror::Error)]
pub enum OverrideError {
    #[error(
        "Teams user {teams} is held by Genesys user {holder}: forget that user's Teams id first (presencectl teams-id forget {holder})"
    )]
    HeldBy {
        teams: TeamsUserId,
        holder: GenesysUserId,
    },
    #[error(transparent)]
    Store(#[from] crate::ports::StoreError),
}

/// Sets a user's Teams id by hand (an operator's override): claims the Teams id for the user
/// alone, as a lookup would, and caches it as an override set by `by` (the operator's AWS
/// identity), kept for [`crate::policy::TEAMS_ID_OVERRIDE_LIFETIME`] whatever Genesys says.
/// Returns the entry it replaced. `now` in epoch seconds.
pub async fn set_override<C: TeamsIdCache>(
    cache: &C,
    user: &GenesysUserId,
    teams: &TeamsUserId,
    by: &str,
    now: i64,
) -> Result<Option<CachedTeamsId>, OverrideError> {
    let lifetime = crate::policy::TEAMS_ID_OVERRIDE_LIFETIME.as_secs() as i64;
    let expires_at = now.saturating_add(lifetime);
    if let Claim::HeldBy(holder) = cache.claim(teams, user, expires_at, now).await? {
        return Err(OverrideError::HeldBy {
            teams: teams.clone(),
            holder,
        });
    }
    let entry = CachedTeamsId {
        entry: TeamsIdEntry::Teams(teams.clone()),
        expires_at,
        origin: TeamsIdOrigin::overridden(now, by),
    };
    let previous = match cache.put(user, &entry, now).await? {
        CachePut::Stored(previous) => previous,
        CachePut::KeptOverride(_) => unreachable!("an override is always stored"),
    };
    if let Some(CachedTeamsId {
        entry: TeamsIdEntry::Teams(old),
        ..
    }) = &previous
        && old != teams
    {
        release_own_claim(cache, old, user).await?;
    }
    let TeamsIdOrigin::Override { by, .. } = &entry.origin else {
        unreachable!("built as an override")
    };
    warn!(genesysUserId = %user, teamsUserId = %teams, overriddenBy = %excerpt(by), "Teams id set by an operator (override)");
    Ok(previous)
}

/// Drops what is cached of a user's Teams id (an override too) and gives up the user's claim
/// on it: the next event looks the user up in Genesys. Returns what was cached.
///
/// The claim is read before the cache entry is dropped and released only as read: a lookup
/// that misses the cache after the drop renews the claim (a new write), and the release then
/// leaves that renewed claim alone.
pub async fn forget_cached<C: TeamsIdCache>(
    cache: &C,
    user: &GenesysUserId,
    now: i64,
) -> Result<Option<CachedTeamsId>, crate::ports::StoreError> {
    let cached = drop_cached(cache, user, now).await?;
    warn!(genesysUserId = %user, "cached Teams id forgotten by an operator");
    Ok(cached)
}

/// Drops what is cached of a user's Teams id and gives up the user's claim on it as it was
/// read (a claim a lookup renewed meanwhile is kept): an operator's forget, and the release
/// of a user the sync let go. Returns what was cached.
pub(super) async fn drop_cached<C: TeamsIdCache>(
    cache: &C,
    user: &GenesysUserId,
    now: i64,
) -> Result<Option<CachedTeamsId>, crate::ports::StoreError> {
    let cached = cache.get(user, now).await?;
    let claim = match &cached {
        Some(CachedTeamsId {
            entry: TeamsIdEntry::Teams(teams),
            ..
        }) => cache
            .read_claim(teams)
            .await?
            .filter(|held| held.holder == *user)
            .map(|held| (teams, held)),
        _ => None,
    };
    cache.forget(user).await?;
    if let Some((teams, held)) = claim
        && !cache.release_claim(teams, &held).await?
    {
        info!(genesysUserId = %user, teamsUserId = %teams, "the claim on the Teams id was renewed by a lookup meanwhile; it is kept");
    }
    Ok(cached)
}
