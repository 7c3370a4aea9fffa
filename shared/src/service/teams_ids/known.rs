//! The Teams ids already known, without a Genesys request: this instance's memory, then the
//! state table's cache. The watcher's roster asks them first, so that a new process whose
//! every agent's Teams id is in the table reads no directory page.

use super::{MemoryCached, TableCached, source, using_override};
use crate::domain::ids::GenesysUserId;
use crate::metrics::{self, TeamsIdSource};
use crate::ports::{Budget, CachedTeamsId, TeamsIdCache};
use crate::service::error::SyncError;
use crate::service::limits::bounded;

impl<C: TeamsIdCache, L> MemoryCached<TableCached<C, L>> {
    /// What memory or the table holds of the user's Teams identity at `now` (epoch seconds),
    /// or `None` when only a lookup in Genesys could tell. A table hit is kept in memory.
    pub async fn known(
        &self,
        user: &GenesysUserId,
        budget: Budget,
        now: i64,
    ) -> Result<Option<CachedTeamsId>, SyncError> {
        if let Some(cached) = self.memory.get(user)
            && cached.expires_at > now
        {
            metrics::teams_id_lookup(source(&cached, TeamsIdSource::Memory));
            return Ok(Some(cached));
        }
        let read = self.next.table.get(user, now);
        let Some(cached) = bounded(budget, "reading the cached Teams id", user, read).await? else {
            return Ok(None);
        };
        metrics::teams_id_lookup(source(&cached, TeamsIdSource::Table));
        using_override(user, &cached);
        self.memory.insert(user.clone(), cached.clone());
        Ok(Some(cached))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{LIFETIMES, NOW, budget, id, teams};
    use super::super::*;
    use crate::adapters::memory::{MemoryDirectory, MemoryStore};
    use crate::ports::TeamsIdEntry;
    use std::sync::Arc;

    #[tokio::test]
    async fn the_known_ids_come_from_memory_or_the_table_and_never_from_genesys() {
        let store = Arc::new(MemoryStore::new());
        let directory = Arc::new(MemoryDirectory::new());
        directory.add_user(&id(1), Some(&teams(1).to_string()));
        directory.add_user(&id(2), Some(&teams(2).to_string()));
        let cached = CachedTeamsId {
            entry: TeamsIdEntry::Teams(teams(1)),
            expires_at: NOW + 60,
            origin: TeamsIdOrigin::Directory,
        };
        store.put(&id(1), &cached, NOW).await.unwrap();
        let layers = layered(store.clone(), directory.clone(), LIFETIMES);
        let found = layers.known(&id(1), budget(), NOW).await.unwrap();
        assert_eq!(found.map(|c| c.entry), Some(TeamsIdEntry::Teams(teams(1))));
        assert_eq!(layers.known(&id(2), budget(), NOW).await.unwrap(), None);
        assert_eq!(directory.lookups(), 0, "no Genesys request for either");
        store.forget(&id(1)).await.unwrap();
        let again = layers.known(&id(1), budget(), NOW).await.unwrap();
        assert!(again.is_some(), "the table's answer was kept in memory");
    }
}
