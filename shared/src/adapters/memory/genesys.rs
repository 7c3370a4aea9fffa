//! Genesys Cloud in memory: the directory of Teams ids a lookup asks, and the bulk reads of
//! the reconciler (each user's Teams id and current state).

use super::lock;
use crate::domain::ids::GenesysUserId;
use crate::domain::state::Observation;
use crate::ports::{
    Budget, DirectoryAnswer, DirectoryPage, GenesysBulk, GenesysNow, RemoteError, Service,
    TeamsDirectory,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// Genesys's directory of Teams ids, in memory.
#[derive(Debug, Default)]
pub struct MemoryDirectory {
    users: Mutex<HashMap<GenesysUserId, Option<String>>>,
    lookups: Mutex<usize>,
}

impl MemoryDirectory {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes `user` known, with this Teams id (or none).
    pub fn add_user(&self, user: &GenesysUserId, teams: Option<&str>) {
        lock(&self.users).insert(user.clone(), teams.map(str::to_owned));
    }

    pub fn lookups(&self) -> usize {
        *lock(&self.lookups)
    }
}

impl TeamsDirectory for MemoryDirectory {
    async fn lookup(
        &self,
        user: &GenesysUserId,
        _budget: Budget,
    ) -> Result<DirectoryAnswer, RemoteError> {
        *lock(&self.lookups) += 1;
        Ok(match lock(&self.users).get(user) {
            None => DirectoryAnswer::UnknownUser,
            Some(None) => DirectoryAnswer::NoTeamsId,
            Some(Some(teams)) => DirectoryAnswer::TeamsId(teams.clone()),
        })
    }
}

/// Genesys Cloud read in bulk, in memory: each user's Teams id and current state.
#[derive(Debug, Default)]
pub struct MemoryGenesys {
    users: Mutex<BTreeMap<GenesysUserId, (Option<String>, Observation)>>,
    calls: Mutex<usize>,
}

impl MemoryGenesys {
    /// Users per directory page.
    pub const PAGE: usize = 100;

    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a user's Teams id and current state (as Genesys would report them now).
    pub fn set_user(&self, user: &GenesysUserId, teams: Option<&str>, now: Observation) {
        lock(&self.users).insert(user.clone(), (teams.map(str::to_owned), now));
    }

    /// Calls made (bulk reads and directory pages).
    pub fn calls(&self) -> usize {
        *lock(&self.calls)
    }
}

impl GenesysBulk for MemoryGenesys {
    const MAX_USERS: usize = 100;

    async fn current(
        &self,
        users: &[GenesysUserId],
        _budget: Budget,
    ) -> Result<Vec<GenesysNow>, RemoteError> {
        *lock(&self.calls) += 1;
        let known = lock(&self.users);
        Ok(users
            .iter()
            .filter_map(|user| {
                known.get(user).map(|(_, now)| GenesysNow {
                    user: user.clone(),
                    observation: now.clone(),
                })
            })
            .collect())
    }

    async fn directory_page(
        &self,
        cursor: Option<&str>,
        _budget: Budget,
    ) -> Result<DirectoryPage, RemoteError> {
        *lock(&self.calls) += 1;
        let start: usize = match cursor {
            None => 0,
            Some(raw) => raw.parse().map_err(|_| RemoteError::BadResponse {
                service: Service::GenesysScim,
                detail: format!("directory cursor {raw:?} is not a position"),
            })?,
        };
        let known = lock(&self.users);
        let users: Vec<_> = known
            .iter()
            .skip(start)
            .take(Self::PAGE)
            .map(|(user, (teams, _))| {
                let answer = match teams {
                    Some(teams) => DirectoryAnswer::TeamsId(teams.clone()),
                    None => DirectoryAnswer::NoTeamsId,
                };
                (user.clone(), answer)
            })
            .collect();
        let end = start + users.len();
        let next = (end < known.len()).then(|| end.to_string());
        Ok(DirectoryPage { users, next })
    }
}
