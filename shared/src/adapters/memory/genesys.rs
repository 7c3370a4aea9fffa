//! Genesys Cloud in memory: the directory of Teams ids a lookup asks, and the bulk reads of
//! the reconciler (each user's Teams id and current state).

use super::lock;
use crate::domain::ids::GenesysUserId;
use crate::domain::scope::{Membership, ScopeId};
use crate::domain::state::Observation;
use crate::ports::{
    Account, Budget, DirectoryAnswer, DirectoryPage, GenesysBulk, GenesysNow, QueueMembersPage,
    RemoteError, Service, TeamsDirectory,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// Genesys's directory of Teams ids, in memory.
#[derive(Debug, Default)]
pub struct MemoryDirectory {
    users: Mutex<HashMap<GenesysUserId, Option<String>>>,
    lookups: Mutex<usize>,
    memberships: Mutex<HashMap<GenesysUserId, Membership>>,
    membership_lookups: Mutex<usize>,
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

impl MemoryDirectory {
    /// Sets what a membership lookup answers for `user` (queues included).
    pub fn set_membership(&self, user: &GenesysUserId, membership: Membership) {
        lock(&self.memberships).insert(user.clone(), membership);
    }

    /// Membership lookups made so far.
    pub fn membership_lookups(&self) -> usize {
        *lock(&self.membership_lookups)
    }
}

impl TeamsDirectory for MemoryDirectory {
    async fn lookup(
        &self,
        user: &GenesysUserId,
        _budget: Budget,
    ) -> Result<DirectoryAnswer, RemoteError> {
        *lock(&self.lookups) += 1;
        crate::metrics::teams_id_lookup(crate::metrics::TeamsIdSource::Scim);
        Ok(match lock(&self.users).get(user) {
            None => DirectoryAnswer::UnknownUser,
            Some(None) => DirectoryAnswer::NoTeamsId,
            Some(Some(teams)) => DirectoryAnswer::TeamsId(teams.clone()),
        })
    }

    async fn membership(
        &self,
        user: &GenesysUserId,
        queues: bool,
        _budget: Budget,
    ) -> Result<Membership, RemoteError> {
        *lock(&self.membership_lookups) += 1;
        let mut known = lock(&self.memberships)
            .get(user)
            .cloned()
            .unwrap_or(Membership {
                division: None,
                groups: Some(Vec::new()),
                queues: Some(Vec::new()),
            });
        if !queues {
            known.queues = None;
        }
        Ok(known)
    }
}

/// Genesys Cloud read in bulk, in memory: each user's Teams id and current state.
#[derive(Debug, Default)]
pub struct MemoryGenesys {
    users: Mutex<BTreeMap<GenesysUserId, (Option<String>, Observation)>>,
    /// Accounts that are not active (deactivated, deleted); absent: active.
    accounts: Mutex<HashMap<GenesysUserId, Account>>,
    /// Divisions and groups (queues come from elsewhere); absent: none known.
    memberships: Mutex<HashMap<GenesysUserId, Membership>>,
    calls: Mutex<usize>,
    /// Bulk reads still to fail (Genesys unavailable).
    failing_reads: Mutex<usize>,
    /// The reverse direction's writes and what they may choose from (`genesys_presence`).
    pub(super) presence: super::genesys_presence::PresenceSide,
}

impl MemoryGenesys {
    /// Users per directory page.
    pub const PAGE: usize = 100;

    pub fn new() -> Self {
        Self::default()
    }

    /// A user's current state (as a bulk read reports it).
    pub fn now(&self, user: &GenesysUserId) -> Option<Observation> {
        lock(&self.users).get(user).map(|(_, now)| now.clone())
    }

    /// Changes a user's current state with `change`, when the user is known.
    pub(super) fn change(
        &self,
        user: &GenesysUserId,
        change: impl FnOnce(&mut Observation),
    ) -> bool {
        match lock(&self.users).get_mut(user) {
            Some((_, now)) => {
                change(now);
                true
            }
            None => false,
        }
    }

    /// Sets a user's Teams id and current state (as Genesys would report them now).
    pub fn set_user(&self, user: &GenesysUserId, teams: Option<&str>, now: Observation) {
        lock(&self.users).insert(user.clone(), (teams.map(str::to_owned), now));
    }

    /// Sets the state of a user's account (deactivating or deleting them, or making them
    /// active again). A deactivated or deleted user leaves the directory (the SCIM list holds
    /// active users only) but is still listed by a bulk read, as such.
    pub fn set_account(&self, user: &GenesysUserId, account: Account) {
        let mut accounts = lock(&self.accounts);
        match account {
            Account::Active => accounts.remove(user),
            other => accounts.insert(user.clone(), other),
        };
    }

    /// Sets a user's division and groups, as the bulk read reports them.
    pub fn set_membership(&self, user: &GenesysUserId, membership: Membership) {
        lock(&self.memberships).insert(user.clone(), membership);
    }

    fn membership(&self, user: &GenesysUserId) -> Membership {
        let mut known = lock(&self.memberships)
            .get(user)
            .cloned()
            .unwrap_or_default();
        known.queues = None;
        known
    }

    fn account(&self, user: &GenesysUserId) -> Account {
        lock(&self.accounts)
            .get(user)
            .copied()
            .unwrap_or(Account::Active)
    }

    /// The next `n` bulk reads fail (Genesys unavailable), replacing any failures left.
    pub fn fail_next_reads(&self, n: usize) {
        *lock(&self.failing_reads) = n;
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
        let mut failing = lock(&self.failing_reads);
        if *failing > 0 {
            *failing -= 1;
            return Err(RemoteError::Unavailable {
                service: Service::GenesysUsers,
                detail: "scripted failure (in memory)".to_owned(),
            });
        }
        drop(failing);
        let known = lock(&self.users);
        Ok(users
            .iter()
            .map(|user| match known.get(user) {
                Some((_, now)) => GenesysNow {
                    user: user.clone(),
                    account: self.account(user),
                    observation: now.clone(),
                    membership: self.membership(user),
                },
                None => GenesysNow {
                    user: user.clone(),
                    account: Account::NotFound,
                    observation: Observation::default(),
                    membership: Membership::default(),
                },
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
        let active: Vec<_> = known
            .iter()
            .filter(|(user, _)| self.account(user).is_active())
            .collect();
        let users: Vec<_> = active
            .iter()
            .skip(start)
            .take(Self::PAGE)
            .map(|(user, (teams, _))| {
                let answer = match teams {
                    Some(teams) => DirectoryAnswer::TeamsId(teams.clone()),
                    None => DirectoryAnswer::NoTeamsId,
                };
                ((*user).clone(), answer)
            })
            .collect();
        let end = start + users.len();
        let next = (end < active.len()).then(|| end.to_string());
        Ok(DirectoryPage { users, next })
    }

    /// The queue's members in user order, [`MemoryGenesys::PAGE`] a page.
    async fn queue_members(
        &self,
        queue: &ScopeId,
        number: u32,
        _budget: Budget,
    ) -> Result<QueueMembersPage, RemoteError> {
        *lock(&self.calls) += 1;
        let memberships = lock(&self.memberships);
        let mut members: Vec<GenesysUserId> = (memberships.iter())
            .filter(|(_, m)| m.queues.as_ref().is_some_and(|q| q.contains(queue)))
            .map(|(user, _)| user.clone())
            .collect();
        members.sort();
        let start = (number.max(1) as usize - 1) * Self::PAGE;
        let page: Vec<_> = members
            .iter()
            .skip(start)
            .take(Self::PAGE)
            .cloned()
            .collect();
        let next = (start + page.len() < members.len()).then_some(number + 1);
        Ok(QueueMembersPage {
            members: page,
            next,
        })
    }
}
