//! Genesys Cloud as the reconciler reads it in the model: the library's `MemoryGenesys`, kept
//! current by the workload (an agent's change at virtual time t is what Genesys reports from t
//! on, whether or not its event has reached the function), behind a fixed latency per call.

use super::clock::{VirtualClock, ZERO_EPOCH_MS};
use super::genesys_calls::{GenesysCalls, Request};
use super::graph::Caller;
use super::workload::{Change, Kind, Workload};
use crate::events::definition_id;
use presence_core::adapters::memory::MemoryGenesys;
use presence_core::domain::event::{PresenceValue, Stamped};
use presence_core::domain::ids::GenesysUserId;
use presence_core::domain::presence::{RoutingStatus, SystemPresence};
use presence_core::domain::scope::{Membership, ScopeId};
use presence_core::domain::state::Observation;
use presence_core::domain::version::Version;
use presence_core::domain::watch::OrgDefinition;
use presence_core::ports::{
    Budget, DirectoryPage, GenesysBulk, GenesysNow, GenesysPresence, PresenceChange,
    QueueMembersPage, RemoteError, Service,
};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A presence as Genesys stamps it, `at_ms` after model time zero.
pub fn presence(system: &str, at_ms: i64) -> Stamped<PresenceValue> {
    Stamped {
        value: PresenceValue {
            system: SystemPresence::observe(system),
            definition_id: Some(definition_id(system).to_owned()),
        },
        version: Version::from_millis(ZERO_EPOCH_MS + at_ms),
    }
}

/// A routing status as Genesys stamps it, `at_ms` after model time zero.
pub fn routing(
    status: &str,
    at_ms: i64,
) -> Stamped<presence_core::domain::presence::Observed<RoutingStatus>> {
    Stamped {
        value: RoutingStatus::observe(status),
        version: Version::from_millis(ZERO_EPOCH_MS + at_ms),
    }
}

/// What a change sets of an agent's Genesys state: the parts its event carries
/// (`Workload::event`), with the same values and versions.
pub fn changed(change: &Change) -> Observation {
    let at = change.at_ms;
    let (p, r) = match change.kind {
        Kind::Available => (Some("AVAILABLE"), None),
        Kind::OnQueue => (Some("ON_QUEUE"), Some("IDLE")),
        Kind::Interacting => (None, Some("INTERACTING")),
        Kind::Idle => (None, Some("IDLE")),
        Kind::Break => (Some("BREAK"), Some("OFF_QUEUE")),
        Kind::Offline => (Some("OFFLINE"), Some("OFF_QUEUE")),
    };
    Observation {
        presence: p.map(|p| presence(p, at)),
        routing: r.map(|r| routing(r, at)),
    }
}

/// Where the workload stands in Genesys: the next change to apply, and each agent's state.
struct Applied {
    next: usize,
    agents: Vec<Observation>,
}

/// Genesys read in bulk: `MemoryGenesys`, brought up to the virtual time of each call.
pub struct FloorGenesys {
    genesys: MemoryGenesys,
    ids: Vec<GenesysUserId>,
    teams: Vec<String>,
    /// Every change in time order (the workload's).
    changes: Vec<Change>,
    applied: Mutex<Applied>,
    clock: VirtualClock,
    latency: Duration,
    /// The Genesys client's requests, the reconciler's among them.
    recorded: Arc<GenesysCalls>,
    /// Whose requests these are (the reconciler's unless [`FloorGenesys::for_watcher`]).
    by: Caller,
    /// Each agent's index, for the watcher's writes.
    index: std::collections::HashMap<GenesysUserId, usize>,
    /// The watcher's presence writes: whose, when (ms after model time zero), which.
    writes: Mutex<Vec<(usize, i64, SystemPresence)>>,
}

impl FloorGenesys {
    /// The floor's Genesys with each agent's state before the hour (`before`: empty for an
    /// agent Genesys has nothing on yet).
    pub fn new(
        workload: &Workload,
        before: Vec<Observation>,
        clock: VirtualClock,
        latency: Duration,
        recorded: Arc<GenesysCalls>,
    ) -> Self {
        let genesys = MemoryGenesys::new();
        let ids: Vec<GenesysUserId> = workload
            .agents
            .iter()
            .map(|a| GenesysUserId::parse(&a.genesys).expect("a UUID"))
            .collect();
        let teams: Vec<String> = workload.agents.iter().map(|a| a.teams.clone()).collect();
        for ((id, teams), now) in ids.iter().zip(&teams).zip(&before) {
            genesys.set_user(id, Some(teams), now.clone());
        }
        let index = ids
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, u)| (u, i))
            .collect();
        FloorGenesys {
            genesys,
            index,
            writes: Mutex::new(Vec::new()),
            by: Caller::Reconciler,
            ids,
            teams,
            changes: workload.changes.clone(),
            applied: Mutex::new(Applied {
                next: 0,
                agents: before,
            }),
            clock,
            latency,
            recorded,
        }
    }

    /// The same Genesys as the watcher's client reaches it: its requests counted as its own.
    pub fn for_watcher(mut self) -> Self {
        self.by = Caller::Watcher;
        self
    }

    /// The watcher's presence writes: the agent, when (ms after model time zero), which.
    pub fn presence_writes(&self) -> Vec<(usize, i64, SystemPresence)> {
        self.writes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A user's division and groups, as the bulk read reports them.
    pub fn set_membership(&self, user: &GenesysUserId, membership: Membership) {
        self.genesys.set_membership(user, membership);
    }

    /// Applies every change up to now to `MemoryGenesys`.
    fn catch_up(&self) {
        let now = self.clock.model_ms();
        let mut applied = self.applied.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(change) = self.changes.get(applied.next).filter(|c| c.at_ms <= now) {
            let agent = change.agent as usize;
            let set = changed(change);
            let state = &mut applied.agents[agent];
            if set.presence.is_some() {
                state.presence = set.presence;
            }
            if set.routing.is_some() {
                state.routing = set.routing;
            }
            self.genesys
                .set_user(&self.ids[agent], Some(&self.teams[agent]), state.clone());
            applied.next += 1;
        }
    }

    /// Calls made (bulk reads and directory pages).
    pub fn calls(&self) -> usize {
        self.genesys.calls()
    }
}

impl GenesysBulk for FloorGenesys {
    const MAX_USERS: usize = MemoryGenesys::MAX_USERS;

    /// Genesys reads the users' state halfway through the call's latency.
    async fn current(
        &self,
        users: &[GenesysUserId],
        budget: Budget,
    ) -> Result<Vec<GenesysNow>, RemoteError> {
        self.recorded.record(self.by, Request::BulkRead, None);
        tokio::time::sleep(self.latency / 2).await;
        self.catch_up();
        let answer = self.genesys.current(users, budget).await;
        tokio::time::sleep(self.latency - self.latency / 2).await;
        answer
    }

    async fn directory_page(
        &self,
        cursor: Option<&str>,
        budget: Budget,
    ) -> Result<DirectoryPage, RemoteError> {
        self.recorded.record(self.by, Request::DirectoryPage, None);
        tokio::time::sleep(self.latency).await;
        self.genesys.directory_page(cursor, budget).await
    }

    /// Asked only with a queue in `SYNC_SCOPE` (the scoped case names a division).
    async fn queue_members(
        &self,
        queue: &ScopeId,
        number: u32,
        budget: Budget,
    ) -> Result<QueueMembersPage, RemoteError> {
        self.recorded.record(self.by, Request::QueueMembers, None);
        tokio::time::sleep(self.latency).await;
        self.genesys.queue_members(queue, number, budget).await
    }
}

/// The watcher's Genesys writes: the presence set from the virtual time of the call on (an
/// agent's later change in the workload supersedes it, as the agent's own change would),
/// versioned by that time.
impl GenesysPresence for FloorGenesys {
    async fn definitions(&self, budget: Budget) -> Result<Vec<OrgDefinition>, RemoteError> {
        self.recorded.record(self.by, Request::Definitions, None);
        tokio::time::sleep(self.latency).await;
        self.genesys.definitions(budget).await
    }

    async fn set_presence(
        &self,
        user: &GenesysUserId,
        change: PresenceChange<'_>,
        budget: Budget,
    ) -> Result<Stamped<PresenceValue>, RemoteError> {
        self.recorded
            .record(self.by, Request::PresenceWrite, Some(user));
        tokio::time::sleep(self.latency / 2).await;
        let definitions = self.genesys.definitions(budget).await?;
        let found = definitions
            .iter()
            .find(|d| d.id.eq_ignore_ascii_case(change.definition_id));
        let (Some(definition), Some(&agent)) = (found, self.index.get(user)) else {
            return Err(RemoteError::Refused {
                service: Service::GenesysUsers,
                detail: format!("no definition {} or user {user}", change.definition_id),
            });
        };
        self.catch_up();
        let at = self.clock.model_ms();
        let written = Stamped {
            value: PresenceValue {
                system: definition.system.clone(),
                definition_id: Some(definition.id.clone()),
            },
            version: Version::from_millis(ZERO_EPOCH_MS + at),
        };
        {
            let mut applied = self.applied.lock().unwrap_or_else(|p| p.into_inner());
            let state = &mut applied.agents[agent];
            state.presence = Some(written.clone());
            self.genesys
                .set_user(user, Some(&self.teams[agent]), state.clone());
        }
        if let presence_core::domain::presence::Observed::Known(system) = definition.system {
            let mut writes = self.writes.lock().unwrap_or_else(|p| p.into_inner());
            writes.push((agent, at, system));
        }
        tokio::time::sleep(self.latency - self.latency / 2).await;
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shift_model::workload::{Mapping, Shape};
    use presence_core::domain::event::{GenesysEvent, Horizon};

    #[test]
    fn a_change_sets_what_its_event_carries() {
        let workload = Workload::generate(300, Shape::default(), Mapping::Default, 3);
        let horizon = Horizon {
            now: Version::from_millis(ZERO_EPOCH_MS + 10 * 3_600_000),
            max_skew: Duration::from_secs(300),
        };
        let mut kinds = std::collections::HashSet::new();
        for change in &workload.changes {
            let event = GenesysEvent::parse_at(workload.event(change), horizon).unwrap();
            assert_eq!(Observation::from(&event), changed(change), "{change:?}");
            kinds.insert(format!("{:?}", change.kind));
        }
        assert_eq!(kinds.len(), 6, "every kind of change compared: {kinds:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn genesys_reports_a_change_from_its_time_on() {
        let workload = Workload::generate(1, Shape::default(), Mapping::Default, 5);
        let clock = VirtualClock::start();
        let genesys = FloorGenesys::new(
            &workload,
            vec![Observation::default()],
            clock,
            Duration::ZERO,
            GenesysCalls::new(),
        );
        let first = workload.changes[0];
        let user = [GenesysUserId::parse(&workload.agents[0].genesys).unwrap()];
        let budget = Budget {
            until: tokio::time::Instant::now() + Duration::from_secs(9_999),
        };
        tokio::time::sleep(Duration::from_millis(first.at_ms as u64 - 1)).await;
        let before = genesys.current(&user, budget).await.unwrap();
        assert_eq!(before[0].observation, Observation::default());
        tokio::time::sleep(Duration::from_millis(1)).await;
        let after = genesys.current(&user, budget).await.unwrap();
        assert_eq!(after[0].observation, changed(&first));
    }
}
