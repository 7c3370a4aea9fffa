//! The Teams-id layers when someone else writes between a layer's read and its write: an
//! operator's `teams-id set` during a lookup, a lookup during an operator's `forget`.

use super::*;
use crate::adapters::memory::{MemoryDirectory, MemoryStore};
use crate::ports::{HeldClaim, StoreError};
use std::sync::{Arc, Mutex};

use super::tests::{LIFETIMES, NOW, OPERATOR, budget, id, teams};

/// What happens in between.
enum Meanwhile {
    /// An operator sets this user's Teams id, just before a lookup caches its answer.
    OperatorSets(GenesysUserId, TeamsUserId),
    /// A lookup (it missed the cache just dropped) renews this user's claim, just after an
    /// operator's `forget` dropped the cached answer.
    LookupRenews(TeamsUserId, GenesysUserId),
}

/// The table, with one interleaving.
struct Interleaved {
    store: Arc<MemoryStore>,
    meanwhile: Mutex<Option<Meanwhile>>,
}

impl Interleaved {
    fn new(store: &Arc<MemoryStore>, meanwhile: Meanwhile) -> Arc<Interleaved> {
        Arc::new(Interleaved {
            store: store.clone(),
            meanwhile: Mutex::new(Some(meanwhile)),
        })
    }

    fn take(&self) -> Option<Meanwhile> {
        self.meanwhile.lock().unwrap().take()
    }
}

impl TeamsIdCache for Interleaved {
    async fn get(
        &self,
        user: &GenesysUserId,
        now: i64,
    ) -> Result<Option<CachedTeamsId>, StoreError> {
        self.store.get(user, now).await
    }

    async fn put(
        &self,
        user: &GenesysUserId,
        entry: &CachedTeamsId,
        now: i64,
    ) -> Result<CachePut, StoreError> {
        if let Some(Meanwhile::OperatorSets(u, t)) = self.take() {
            set_override(&*self.store, &u, &t, OPERATOR, now)
                .await
                .unwrap();
        }
        self.store.put(user, entry, now).await
    }

    async fn forget(&self, user: &GenesysUserId) -> Result<(), StoreError> {
        self.store.forget(user).await?;
        if let Some(Meanwhile::LookupRenews(t, u)) = self.take() {
            let claim = self.store.claim(&t, &u, NOW + 172_800, NOW).await?;
            assert_eq!(claim, Claim::Granted);
        }
        Ok(())
    }

    async fn claim(
        &self,
        teams: &TeamsUserId,
        user: &GenesysUserId,
        until: i64,
        now: i64,
    ) -> Result<Claim, StoreError> {
        self.store.claim(teams, user, until, now).await
    }

    async fn read_claim(&self, teams: &TeamsUserId) -> Result<Option<HeldClaim>, StoreError> {
        self.store.read_claim(teams).await
    }

    async fn release_claim(
        &self,
        teams: &TeamsUserId,
        read: &HeldClaim,
    ) -> Result<bool, StoreError> {
        self.store.release_claim(teams, read).await
    }

    async fn get_membership(
        &self,
        user: &GenesysUserId,
        now: i64,
    ) -> Result<Option<crate::ports::CachedMembership>, StoreError> {
        self.store.get_membership(user, now).await
    }

    async fn get_many(
        &self,
        users: &[GenesysUserId],
        now: i64,
    ) -> Result<std::collections::HashMap<GenesysUserId, CachedTeamsId>, StoreError> {
        self.store.get_many(users, now).await
    }

    async fn get_memberships(
        &self,
        users: &[GenesysUserId],
        now: i64,
    ) -> Result<std::collections::HashMap<GenesysUserId, crate::ports::CachedMembership>, StoreError>
    {
        self.store.get_memberships(users, now).await
    }

    async fn put_membership(
        &self,
        user: &GenesysUserId,
        cached: &crate::ports::CachedMembership,
    ) -> Result<(), StoreError> {
        self.store.put_membership(user, cached).await
    }
}

#[tokio::test]
async fn an_operators_override_set_during_a_lookup_wins_over_its_answer() {
    let store = Arc::new(MemoryStore::new());
    let directory = Arc::new(MemoryDirectory::new());
    directory.add_user(&id(1), Some(teams(1).as_str()));
    let table = Interleaved::new(&store, Meanwhile::OperatorSets(id(1), teams(7)));
    let layers = layered(table, directory, LIFETIMES);
    let found = layers.resolve(&id(1), budget(), NOW).await.unwrap();
    assert_eq!(found.entry, TeamsIdEntry::Teams(teams(7)));
    assert_eq!(found.origin, TeamsIdOrigin::overridden(NOW, OPERATOR));
    let cached = store.get(&id(1), NOW).await.unwrap().unwrap();
    assert_eq!(
        cached.entry,
        TeamsIdEntry::Teams(teams(7)),
        "the override is still cached"
    );
    // The lookup's claim on the Teams id Genesys gave is given up; the operator's holds.
    assert_eq!(store.read_claim(&teams(1)).await.unwrap(), None);
    let held = store.read_claim(&teams(7)).await.unwrap().unwrap();
    assert_eq!(held.holder, id(1));
}

#[tokio::test]
async fn forgetting_never_releases_a_claim_a_lookup_just_renewed() {
    let store = Arc::new(MemoryStore::new());
    let directory = Arc::new(MemoryDirectory::new());
    directory.add_user(&id(2), Some(teams(2).as_str()));
    layered(store.clone(), directory, LIFETIMES)
        .resolve(&id(2), budget(), NOW)
        .await
        .unwrap();
    let table = Interleaved::new(&store, Meanwhile::LookupRenews(teams(2), id(2)));
    let forgotten = forget_cached(&*table, &id(2), NOW).await.unwrap();
    assert_eq!(
        forgotten.map(|c| c.entry),
        Some(TeamsIdEntry::Teams(teams(2)))
    );
    // The lookup that renewed the claim caches its answer next: the claim must still be
    // there, or another agent could take this agent's Teams user.
    let held = store.read_claim(&teams(2)).await.unwrap();
    assert_eq!(held.map(|h| h.holder), Some(id(2)));
    let other = store.claim(&teams(2), &id(3), NOW + 10, NOW).await.unwrap();
    assert_eq!(other, Claim::HeldBy(id(2)));
}
