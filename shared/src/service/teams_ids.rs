//! The Teams-id lookup as one directory of layers with the same trait: memory → state-table
//! cache → claim (one Teams user per Genesys user, docs/design.md) → Genesys SCIM. Each layer
//! answers from itself or asks the next; the service only asks the outermost.

use super::error::SyncError;
use super::limits::bounded;
use crate::domain::excerpt::excerpt;
use crate::domain::ids::{GenesysUserId, TeamsUserId};
use crate::metrics::{self, TeamsIdSource};
use crate::ports::{
    Budget, CachePut, CachedTeamsId, Claim, DirectoryAnswer, TeamsDirectory, TeamsIdCache,
    TeamsIdEntry, TeamsIdOrigin,
};
use std::future::Future;
use std::time::Duration;
use tracing::{info, warn};

/// A cache hit as the metrics count it: `negative` when it says "no Teams id".
fn source(cached: &CachedTeamsId, hit: TeamsIdSource) -> TeamsIdSource {
    match cached.entry {
        TeamsIdEntry::Teams(_) => hit,
        TeamsIdEntry::NoTeamsId | TeamsIdEntry::ClaimedBy { .. } => TeamsIdSource::Negative,
    }
}

/// One layer of the Teams-id lookup.
pub trait TeamsIds: Send + Sync {
    /// What is known of the user's Teams identity at `now` (epoch seconds), and until when
    /// that answer may be kept.
    fn resolve(
        &self,
        user: &GenesysUserId,
        budget: Budget,
        now: i64,
    ) -> impl Future<Output = Result<CachedTeamsId, SyncError>> + Send;

    /// Drops what this layer (and those below it) remember of the user: Graph does not know
    /// the Teams user any more.
    fn forget(&self, user: &GenesysUserId, budget: Budget) -> impl Future<Output = ()> + Send;

    /// Drops what this layer (and those below it) remember of a user the sync let go, and
    /// gives up their claim on their Teams id: another Genesys user may be given it. `now`
    /// in epoch seconds.
    fn let_go(
        &self,
        user: &GenesysUserId,
        budget: Budget,
        now: i64,
    ) -> impl Future<Output = ()> + Send;
}

/// How long an answer is trusted, by kind.
#[derive(Clone, Copy, Debug)]
pub struct Lifetimes {
    /// A Teams id found in Genesys.
    pub teams_id: Duration,
    /// "No Teams id", or one another Genesys user holds.
    pub no_teams_id: Duration,
}

impl Lifetimes {
    /// The answer with its expiry: kept for the lifetime of its kind from `now`.
    fn keep(&self, entry: TeamsIdEntry, now: i64) -> CachedTeamsId {
        let lifetime = match entry {
            TeamsIdEntry::Teams(_) => self.teams_id,
            TeamsIdEntry::NoTeamsId | TeamsIdEntry::ClaimedBy { .. } => self.no_teams_id,
        };
        CachedTeamsId {
            entry,
            expires_at: now.saturating_add(lifetime.as_secs() as i64),
            origin: TeamsIdOrigin::Directory,
        }
    }
}

/// Genesys SCIM (or any [`TeamsDirectory`]): the source of truth, asked last.
pub struct Directory<D> {
    pub directory: D,
    pub lifetimes: Lifetimes,
}

impl<D: TeamsDirectory> TeamsIds for Directory<D> {
    async fn resolve(
        &self,
        user: &GenesysUserId,
        budget: Budget,
        now: i64,
    ) -> Result<CachedTeamsId, SyncError> {
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
                Some(teams) => TeamsIdEntry::Teams(teams),
                None => {
                    warn!(genesysUserId = %user, teamsId = %excerpt(&raw), "the microsoftteams external id Genesys holds for this user is not a GUID; treating the user as having no Teams id");
                    TeamsIdEntry::NoTeamsId
                }
            },
            DirectoryAnswer::NoTeamsId | DirectoryAnswer::UnknownUser => TeamsIdEntry::NoTeamsId,
            DirectoryAnswer::Inactive => {
                info!(genesysUserId = %user, "Genesys lists this user as inactive; their Teams presence is left alone");
                TeamsIdEntry::NoTeamsId
            }
        };
        Ok(self.lifetimes.keep(entry, now))
    }

    async fn forget(&self, _user: &GenesysUserId, _budget: Budget) {}

    async fn let_go(&self, _user: &GenesysUserId, _budget: Budget, _now: i64) {}
}

/// Claims each Teams id the next layer gives for the Genesys user alone. The claim lasts
/// twice the Teams-id lifetime, so the user who holds a Teams id keeps it when its cached
/// answer expires and is looked up again.
pub struct Claiming<C, L> {
    pub register: C,
    pub next: L,
    pub lifetimes: Lifetimes,
}

impl<C: TeamsIdCache, L: TeamsIds> TeamsIds for Claiming<C, L> {
    async fn resolve(
        &self,
        user: &GenesysUserId,
        budget: Budget,
        now: i64,
    ) -> Result<CachedTeamsId, SyncError> {
        let found = self.next.resolve(user, budget, now).await?;
        let TeamsIdEntry::Teams(teams) = found.entry else {
            return Ok(found);
        };
        let until = now.saturating_add(2 * self.lifetimes.teams_id.as_secs() as i64);
        let claim = self.register.claim(&teams, user, until, now);
        match bounded(budget, "claiming the Teams id", user, claim).await? {
            Claim::Granted => Ok(CachedTeamsId {
                entry: TeamsIdEntry::Teams(teams),
                expires_at: found.expires_at,
                origin: found.origin,
            }),
            Claim::HeldBy(holder) => {
                warn!(genesysUserId = %user, teamsUserId = %teams, holder = %holder, "Genesys gives this user a Teams id that another Genesys user holds; leaving that Teams user alone (check both users' microsoftteams external ids)");
                Ok(self
                    .lifetimes
                    .keep(TeamsIdEntry::ClaimedBy { teams, holder }, now))
            }
        }
    }

    async fn forget(&self, user: &GenesysUserId, budget: Budget) {
        self.next.forget(user, budget).await;
    }

    async fn let_go(&self, user: &GenesysUserId, budget: Budget, now: i64) {
        self.next.let_go(user, budget, now).await;
    }
}

/// The answers shared through the state table, so that a Genesys lookup happens once per
/// lifetime for all instances; a changed Teams id is noticed here (warned about, and the
/// claim on the old one given up).
pub struct TableCached<C, L> {
    pub table: C,
    pub next: L,
}

impl<C: TeamsIdCache, L: TeamsIds> TeamsIds for TableCached<C, L> {
    async fn resolve(
        &self,
        user: &GenesysUserId,
        budget: Budget,
        now: i64,
    ) -> Result<CachedTeamsId, SyncError> {
        let read = self.table.get(user, now);
        if let Some(cached) = bounded(budget, "reading the cached Teams id", user, read).await? {
            metrics::teams_id_lookup(source(&cached, TeamsIdSource::Table));
            using_override(user, &cached);
            return Ok(cached);
        }
        self.look_up_and_cache(user, budget, now).await
    }

    async fn forget(&self, user: &GenesysUserId, budget: Budget) {
        let forget = self.table.forget(user);
        if let Err(error) = bounded(budget, "dropping the cached Teams id", user, forget).await {
            warn!(genesysUserId = %user, error = %error, "could not drop the cached Teams id");
        }
        self.next.forget(user, budget).await;
    }

    async fn let_go(&self, user: &GenesysUserId, budget: Budget, now: i64) {
        let release = overrides::drop_cached(&self.table, user, now);
        let doing = "dropping the Teams id of a user let go";
        if let Err(error) = bounded(budget, doing, user, release).await {
            warn!(genesysUserId = %user, error = %error, "could not drop the Teams id of a user let go; its claim ends on its own");
        }
        self.next.let_go(user, budget, now).await;
    }
}

impl<C: TeamsIdCache, L: TeamsIds> TableCached<C, L> {
    /// Asks the next layer and shares its answer through the table (an operator's override
    /// set meanwhile wins; a changed Teams id is noticed): what a miss does, and a renewal.
    async fn look_up_and_cache(
        &self,
        user: &GenesysUserId,
        budget: Budget,
        now: i64,
    ) -> Result<CachedTeamsId, SyncError> {
        let cached = self.next.resolve(user, budget, now).await?;
        let put = self.table.put(user, &cached, now);
        match bounded(budget, "caching the Teams id", user, put).await {
            Ok(CachePut::Stored(Some(previous))) => {
                self.noticed_change(user, &previous.entry, &cached.entry, budget)
                    .await
            }
            Ok(CachePut::Stored(None)) => {}
            // An operator set the Teams id while it was being looked up: theirs wins, and the
            // claim the lookup took on another Teams id is given up.
            Ok(CachePut::KeptOverride(kept)) => {
                using_override(user, &kept);
                if let (TeamsIdEntry::Teams(looked_up), TeamsIdEntry::Teams(set)) =
                    (&cached.entry, &kept.entry)
                    && looked_up != set
                {
                    self.give_up(looked_up, user, budget).await;
                }
                return Ok(kept);
            }
            Err(error) => {
                warn!(genesysUserId = %user, error = %error, "could not cache the Teams id; it will be looked up again");
            }
        }
        Ok(cached)
    }
}

/// Logs that an operator's override is used, with who set it and when: an override decides
/// whose Teams presence an agent drives, so the function's own log says whose word it is.
fn using_override(user: &GenesysUserId, cached: &CachedTeamsId) {
    if let (TeamsIdOrigin::Override { at, by }, TeamsIdEntry::Teams(teams)) =
        (&cached.origin, &cached.entry)
    {
        info!(genesysUserId = %user, teamsUserId = %teams, overriddenBy = %excerpt(by), overriddenAt = at, "using the Teams id an operator set (override)");
    }
}

impl<C: TeamsIdCache, L> TableCached<C, L> {
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
        self.give_up(old, user, budget).await;
    }

    /// Gives up the user's claim on a Teams id they no longer use (it ends on its own if
    /// this fails).
    async fn give_up(&self, teams: &TeamsUserId, user: &GenesysUserId, budget: Budget) {
        let release = release_own_claim(&self.table, teams, user);
        let doing = "giving up the claim on a Teams id no longer used";
        if let Err(error) = bounded(budget, doing, user, release).await {
            warn!(genesysUserId = %user, teamsUserId = %teams, error = %error, "could not give up the claim on a Teams id no longer used; it ends on its own");
        }
    }
}

/// Gives up `user`'s claim on `teams` if they hold it, as read: a claim written since (by a
/// concurrent lookup) is left alone. True when released.
async fn release_own_claim<C: TeamsIdCache>(
    cache: &C,
    teams: &TeamsUserId,
    user: &GenesysUserId,
) -> Result<bool, crate::ports::StoreError> {
    match cache.read_claim(teams).await? {
        Some(held) if held.holder == *user => cache.release_claim(teams, &held).await,
        _ => Ok(false),
    }
}

/// This instance's memory of the answers, for the warm path: no table read per event.
pub struct MemoryCached<L> {
    memory: moka::sync::Cache<GenesysUserId, CachedTeamsId>,
    /// The users' memberships (the scope's), for as long ([`memberships`]).
    memberships: moka::sync::Cache<GenesysUserId, crate::ports::CachedMembership>,
    next: L,
}

impl<L> MemoryCached<L> {
    /// Up to 200,000 users (a few tens of MB at most), each for at most the longer lifetime
    /// and at most [`crate::policy::TEAMS_ID_MEMORY_LIFETIME`], so that an operator's
    /// override reaches a warm instance.
    pub fn new(next: L, lifetimes: Lifetimes) -> Self {
        let lifetime = lifetimes.teams_id.max(lifetimes.no_teams_id);
        let ttl = lifetime.min(crate::policy::TEAMS_ID_MEMORY_LIFETIME);
        let memory = moka::sync::Cache::builder()
            .max_capacity(200_000)
            .time_to_live(ttl)
            .build();
        let memberships = moka::sync::Cache::builder()
            .max_capacity(200_000)
            .time_to_live(ttl)
            .build();
        MemoryCached {
            memory,
            memberships,
            next,
        }
    }
}

impl<L: TeamsIds> TeamsIds for MemoryCached<L> {
    async fn resolve(
        &self,
        user: &GenesysUserId,
        budget: Budget,
        now: i64,
    ) -> Result<CachedTeamsId, SyncError> {
        if let Some(cached) = self.memory.get(user)
            && cached.expires_at > now
        {
            metrics::teams_id_lookup(source(&cached, TeamsIdSource::Memory));
            return Ok(cached);
        }
        let cached = self.next.resolve(user, budget, now).await?;
        self.memory.insert(user.clone(), cached.clone());
        Ok(cached)
    }

    async fn forget(&self, user: &GenesysUserId, budget: Budget) {
        self.memory.invalidate(user);
        self.next.forget(user, budget).await;
    }

    async fn let_go(&self, user: &GenesysUserId, budget: Budget, now: i64) {
        self.memory.invalidate(user);
        self.next.let_go(user, budget, now).await;
    }
}

mod overrides;

pub use overrides::{OverrideError, forget_cached, set_override};

/// The production composition: memory → table → claim → directory.
pub type Layered<C, D> = MemoryCached<TableCached<C, Claiming<C, Directory<D>>>>;

/// Builds [`Layered`] over one state table (cache and claim register) and one directory.
pub fn layered<C: TeamsIdCache + Clone, D>(
    table: C,
    directory: D,
    lifetimes: Lifetimes,
) -> Layered<C, D> {
    let directory = Directory {
        directory,
        lifetimes,
    };
    MemoryCached::new(
        TableCached {
            table: table.clone(),
            next: Claiming {
                register: table,
                next: directory,
                lifetimes,
            },
        },
        lifetimes,
    )
}

mod known;
mod memberships;
mod renew;
pub use memberships::Memberships;
pub use renew::Renew;

#[cfg(test)]
mod races;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::memory::{MemoryDirectory, MemoryStore};
    use std::sync::Arc;

    pub(super) const NOW: i64 = 1_900_000_000;
    pub(super) const OPERATOR: &str = "arn:aws:sts::123456789012:assumed-role/Operators/jane";
    pub(super) const LIFETIMES: Lifetimes = Lifetimes {
        teams_id: Duration::from_secs(86_400),
        no_teams_id: Duration::from_secs(3_600),
    };

    pub(super) fn id(n: u8) -> GenesysUserId {
        GenesysUserId::parse(&format!("3f9e6a2b-5d4c-4b1a-8e7f-1122334455{n:02}")).unwrap()
    }

    pub(super) fn teams(n: u8) -> TeamsUserId {
        TeamsUserId::parse(&format!("a1b2c3d4-0000-4000-8000-0000000000{n:02}")).unwrap()
    }

    pub(super) fn budget() -> Budget {
        Budget {
            until: tokio::time::Instant::now() + Duration::from_secs(5),
        }
    }

    type Layers = Layered<Arc<MemoryStore>, Arc<MemoryDirectory>>;

    fn setup() -> (Arc<MemoryStore>, Arc<MemoryDirectory>, Layers) {
        let store = Arc::new(MemoryStore::new());
        let directory = Arc::new(MemoryDirectory::new());
        let layers = layered(store.clone(), directory.clone(), LIFETIMES);
        (store, directory, layers)
    }

    #[tokio::test]
    async fn each_layer_answers_from_itself_before_asking_the_next() {
        let (store, directory, layers) = setup();
        directory.add_user(&id(1), Some(teams(1).as_str()));
        let first = layers.resolve(&id(1), budget(), NOW).await.unwrap();
        assert_eq!(first.entry, TeamsIdEntry::Teams(teams(1)));
        assert_eq!(first.expires_at, NOW + 86_400);
        assert_eq!(directory.lookups(), 1);
        // Warm: memory only.
        let calls = store.calls();
        layers.resolve(&id(1), budget(), NOW + 10).await.unwrap();
        assert_eq!((store.calls(), directory.lookups()), (calls, 1));
        // Another instance: the table, not the directory; it keeps the table's expiry.
        let other = layered(store.clone(), directory.clone(), LIFETIMES);
        let shared = other.resolve(&id(1), budget(), NOW + 100).await.unwrap();
        assert_eq!(shared.expires_at, NOW + 86_400);
        assert_eq!(directory.lookups(), 1);
        // Past the expiry everything is asked again.
        layers
            .resolve(&id(1), budget(), NOW + 86_400)
            .await
            .unwrap();
        assert_eq!(directory.lookups(), 2);
    }

    #[tokio::test]
    async fn a_user_without_a_teams_id_is_kept_for_the_shorter_lifetime() {
        let (_, directory, layers) = setup();
        directory.add_user(&id(2), None);
        let answer = layers.resolve(&id(2), budget(), NOW).await.unwrap();
        assert_eq!(answer.entry, TeamsIdEntry::NoTeamsId);
        assert_eq!(answer.expires_at, NOW + 3_600);
        let unknown = layers.resolve(&id(3), budget(), NOW).await.unwrap();
        assert_eq!(unknown.entry, TeamsIdEntry::NoTeamsId);
    }

    #[tokio::test]
    async fn a_teams_id_another_user_holds_is_refused_and_forgetting_asks_again() {
        let (_, directory, layers) = setup();
        directory.add_user(&id(4), Some(teams(9).as_str()));
        directory.add_user(&id(5), Some(teams(9).as_str()));
        layers.resolve(&id(4), budget(), NOW).await.unwrap();
        let refused = layers.resolve(&id(5), budget(), NOW).await.unwrap();
        assert_eq!(
            refused.entry,
            TeamsIdEntry::ClaimedBy {
                teams: teams(9),
                holder: id(4)
            }
        );
        assert_eq!(refused.expires_at, NOW + 3_600);
        assert_eq!(directory.lookups(), 2);
        layers.forget(&id(4), budget()).await;
        layers.resolve(&id(4), budget(), NOW + 1).await.unwrap();
        assert_eq!(
            directory.lookups(),
            3,
            "forgotten in memory and in the table"
        );
    }

    #[tokio::test]
    async fn an_override_wins_over_genesys_until_forgotten() {
        let (store, directory, _) = setup();
        directory.add_user(&id(6), Some(teams(6).as_str()));
        let replaced = set_override(&store, &id(6), &teams(7), OPERATOR, NOW)
            .await
            .unwrap();
        assert_eq!(replaced, None);
        // A new instance (empty memory) takes the override from the table, not Genesys.
        let fresh = layered(store.clone(), directory.clone(), LIFETIMES);
        let found = fresh.resolve(&id(6), budget(), NOW + 1).await.unwrap();
        assert_eq!(found.entry, TeamsIdEntry::Teams(teams(7)));
        assert_eq!(found.origin, TeamsIdOrigin::overridden(NOW, OPERATOR));
        assert_eq!(directory.lookups(), 0);
        // Another user cannot take the overridden Teams id, by hand or through Genesys.
        let held = set_override(&store, &id(8), &teams(7), OPERATOR, NOW)
            .await
            .unwrap_err();
        assert!(matches!(held, OverrideError::HeldBy { ref holder, .. } if *holder == id(6)));
        // Forgotten: the claim is given up, and Genesys is asked again.
        let dropped = forget_cached(&store, &id(6), NOW + 2).await.unwrap();
        assert_eq!(
            dropped.map(|c| c.entry),
            Some(TeamsIdEntry::Teams(teams(7)))
        );
        set_override(&store, &id(8), &teams(7), OPERATOR, NOW + 3)
            .await
            .unwrap();
        let fresh = layered(store.clone(), directory.clone(), LIFETIMES);
        let again = fresh.resolve(&id(6), budget(), NOW + 4).await.unwrap();
        assert_eq!(again.entry, TeamsIdEntry::Teams(teams(6)));
        assert_eq!(again.origin, TeamsIdOrigin::Directory);
    }
}
