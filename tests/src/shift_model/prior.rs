//! The floor before the hour: what the state table, the Teams-id cache, Genesys and Teams hold
//! at 07:50. Either nothing (a floor the sync has never seen: issue 13's runs) or every agent
//! recorded Away with its preferred presence applied at some time in the span before 07:50,
//! so that keep-alive falls due during the burst (argued in `docs/performance.md`, "Shift
//! start at scale", with the reconciler).

use super::clock::ZERO_EPOCH_MS;
use super::genesys::{presence, routing};
use super::graph::GraphTenant;
use super::workload::Workload;
use presence_core::adapters::memory::MemoryStore;
use presence_core::domain::ids::{GenesysUserId, TeamsUserId};
use presence_core::domain::state::{Intent, Observation, UserState};
use presence_core::domain::teams::{TeamsPresence, TeamsState};
use presence_core::ports::{CachedTeamsId, TeamsIdCache, TeamsIdEntry};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::Duration;

/// What the floor holds before the hour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prior {
    /// Nothing recorded, cached or shown; Genesys has nothing on the agents.
    Unseen,
    /// Every agent recorded Away (Genesys presence AWAY, routing OFF_QUEUE) and Teams showing
    /// it, applied at a time uniform over `span` before model time zero; their Teams ids
    /// cached and claimed, as the event path left them.
    Away { span: Duration },
}

/// Away: no change in the shift's first minutes maps to it, so Teams showing it before an
/// agent's first write never counts as one of their changes shown (Busy would: an On Queue
/// whose write is still queued would count as shown at once, flattering the lag).
const SHOWN: TeamsState = TeamsState::Preferred(TeamsPresence::Away);

/// What the floor held at model time zero, per agent.
pub struct Before {
    /// What Genesys reports for each agent until their first change.
    pub genesys: Vec<Observation>,
    /// When each agent's preferred presence was applied (ms after model time zero, so
    /// negative), if one was.
    pub applied_at_ms: Vec<Option<i64>>,
}

impl Before {
    /// What the floor held of the first `n` agents.
    pub fn first(&self, n: usize) -> Before {
        Before {
            genesys: self.genesys[..n.min(self.genesys.len())].to_vec(),
            applied_at_ms: self.applied_at_ms[..n.min(self.applied_at_ms.len())].to_vec(),
        }
    }
}

/// Puts `prior` in the store and the tenant for the workload's first `seeded` agents (the
/// others the sync never drove: unseen), the store still without latency: it costs no virtual
/// time; its calls are counted, see `MemoryStore::calls`.
pub async fn seed(
    prior: Prior,
    workload: &Workload,
    seeded: usize,
    store: &MemoryStore,
    tenant: &GraphTenant,
    seed: u64,
) -> Before {
    let agents = workload.agents.len();
    let Prior::Away { span } = prior else {
        return Before {
            genesys: vec![Observation::default(); agents],
            applied_at_ms: vec![None; agents],
        };
    };
    let mut rng = StdRng::seed_from_u64(seed ^ 0x9_21_0e);
    let span_ms = span.as_millis().max(1) as i64;
    let mut before = Before {
        genesys: Vec::with_capacity(agents),
        applied_at_ms: Vec::with_capacity(agents),
    };
    for agent in &workload.agents[..seeded.min(agents)] {
        let user = GenesysUserId::parse(&agent.genesys).expect("a UUID");
        let teams = TeamsUserId::parse(&agent.teams).expect("a UUID");
        let at = -rng.random_range(1..=span_ms);
        before
            .genesys
            .push(away(store, tenant, &user, &teams, at).await);
        before.applied_at_ms.push(Some(at));
    }
    before.genesys.resize(agents, Observation::default());
    before.applied_at_ms.resize(agents, None);
    before
}

/// What Teams showed at model time zero, for the lag measure.
pub fn shown(prior: Prior) -> Option<TeamsState> {
    match prior {
        Prior::Unseen => None,
        Prior::Away { .. } => Some(SHOWN),
    }
}

/// Records `user` Away as applied `at` ms after model time zero (Genesys's state, returned),
/// their Teams id cached and claimed, Teams showing it.
async fn away(
    store: &MemoryStore,
    tenant: &GraphTenant,
    user: &GenesysUserId,
    teams: &TeamsUserId,
    at: i64,
) -> Observation {
    let observation = Observation {
        presence: Some(presence("AWAY", at)),
        routing: Some(routing("OFF_QUEUE", at)),
    };
    let epoch_ms = ZERO_EPOCH_MS + at;
    store.put_record(
        user,
        UserState {
            presence: observation.presence.clone(),
            routing: observation.routing.clone(),
            last_event: Some("prior".to_owned()),
            applied: Some(SHOWN),
            intent: Some(Intent::Teams(SHOWN)),
            rev: 2,
            applied_at_ms: Some(epoch_ms),
            applied_to: Some(teams.clone()),
            ..UserState::default()
        },
    );
    // Looked up when the presence was applied, kept a day (`Settings::teams_id_ttl`), and
    // claimed for two.
    let now_s = epoch_ms / 1000;
    let cached = CachedTeamsId {
        entry: TeamsIdEntry::Teams(teams.clone()),
        expires_at: now_s + 86_400,
        origin: Default::default(),
    };
    store.put(user, &cached, now_s).await.expect("in memory");
    store
        .claim(teams, user, now_s + 2 * 86_400, now_s)
        .await
        .expect("in memory");
    tenant.show(teams, SHOWN);
    observation
}

/// The Teams ids of the first `seeded` agents cached until a moment of the burst's first half
/// hour (07:50–08:20, spread evenly in an order unrelated to the records'), as yesterday's
/// shift-start lookups leave them the day after.
pub async fn expiring_teams_ids(workload: &Workload, seeded: usize, store: &MemoryStore) {
    let agents = workload.agents.len().max(1) as i64;
    for (k, agent) in workload.agents[..seeded.min(workload.agents.len())]
        .iter()
        .enumerate()
    {
        let user = GenesysUserId::parse(&agent.genesys).expect("a UUID");
        let teams = TeamsUserId::parse(&agent.teams).expect("a UUID");
        let spread = (k as i64).wrapping_mul(7_919) % agents;
        let cached = CachedTeamsId {
            entry: TeamsIdEntry::Teams(teams),
            expires_at: ZERO_EPOCH_MS / 1000 + spread * 1_800 / agents,
            origin: Default::default(),
        };
        let yesterday = ZERO_EPOCH_MS / 1000 - 86_400;
        store
            .put(&user, &cached, yesterday)
            .await
            .expect("in memory");
    }
}
