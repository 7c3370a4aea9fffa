//! The scoped case (issue 21): `SYNC_SCOPE` names one Genesys division, and the org's first
//! `in_scope` agents are in it (the workload's agents are drawn alike, so the first ones are a
//! sample), the others in another. Every agent works the shift and Genesys sends events for
//! all of them; the event path places each by their division (looked up once, then cached
//! with the Teams id), the reconciler by the division its bulk read carries. What it measures:
//! the Genesys client's requests per minute against its limit and each function's share, the
//! lookups made for agents out of scope, and the Graph requests naming them.

use super::clock::ZERO_EPOCH_MS;
use super::genesys::FloorGenesys;
use super::genesys_calls::{GenesysCalls, Request};
use super::graph::{Caller, GraphTenant};
use super::workload::Workload;
use presence_core::adapters::memory::{MemoryDirectory, MemoryStore};
use presence_core::domain::ids::{GenesysUserId, TeamsUserId};
use presence_core::domain::left::LeftReason;
use presence_core::domain::scope::{Membership, Scope, ScopeId};
use presence_core::ports::{CachedMembership, StateStore, TeamsIdCache};
use std::collections::HashSet;

/// A scoped org.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scoped {
    /// Agents in the scope's division: the workload's first ones.
    pub in_scope: usize,
    pub memberships: Memberships,
}

/// What the state table holds of the agents' divisions at the hour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Memberships {
    /// Nothing: each agent's first event of the hour looks their division up in Genesys (the
    /// scope's first day, and any day the cached answers, kept as long as a Teams id, 24 h,
    /// expire before it).
    Cold,
    /// Every agent's division cached in the table until after the hour (no lookup needed).
    Cached,
    /// The day after: every agent's division cached by yesterday's shift start, so each answer
    /// expires at a moment of the burst's first half hour (07:50–08:20, spread evenly), and
    /// the agents out of scope recorded as let go (their first event yesterday). Whatever
    /// the reconciler's walk caches again before an agent's first event saves a lookup.
    Expiring,
}

/// [`Memberships::Expiring`]'s answers expire over this many seconds from 07:50.
const EXPIRING_OVER_S: i64 = 30 * 60;

/// The division in scope, and the others'.
const IN: &str = "5c0e5f7e-0000-4000-8000-00000000d1a1";
const OUT: &str = "5c0e5f7e-0000-4000-8000-00000000d1a2";

impl Scoped {
    /// `SYNC_SCOPE=division:<IN>`.
    pub fn scope(&self) -> Scope {
        Scope::parse(&format!("division:{IN}")).expect("a valid scope")
    }

    fn membership(&self, agent: usize) -> Membership {
        let division = if agent < self.in_scope { IN } else { OUT };
        Membership {
            division: ScopeId::parse(division),
            groups: Some(Vec::new()),
            queues: None,
        }
    }

    /// Each agent's division in Genesys (the directory the event path looks it up in, and the
    /// bulk read of the reconciler), and in the table when [`Memberships::Cached`], until
    /// `until_s` (epoch seconds).
    pub async fn set_up(
        &self,
        workload: &Workload,
        directory: &MemoryDirectory,
        store: &MemoryStore,
        until_s: i64,
    ) {
        let agents = workload.agents.len().max(1) as i64;
        for (agent, ids) in workload.agents.iter().enumerate() {
            let user = GenesysUserId::parse(&ids.genesys).expect("a UUID");
            let membership = self.membership(agent);
            directory.set_membership(&user, membership.clone());
            let expires_at = match self.memberships {
                Memberships::Cold => continue,
                Memberships::Cached => until_s,
                // Spread evenly, in an order unrelated to the walk's (a stride prime to 1800).
                Memberships::Expiring => {
                    let k = (agent as i64).wrapping_mul(7_919) % agents;
                    ZERO_EPOCH_MS / 1000 + k * EXPIRING_OVER_S / agents
                }
            };
            let cached = CachedMembership {
                membership,
                expires_at,
            };
            store
                .put_membership(&user, &cached)
                .await
                .expect("in memory");
            if self.memberships == Memberships::Expiring && agent >= self.in_scope {
                let_go_yesterday(store, &user).await;
            }
        }
    }

    /// The same divisions in the reconciler's bulk read.
    pub fn set_up_bulk(&self, workload: &Workload, genesys: &FloorGenesys) {
        for (agent, ids) in workload.agents.iter().enumerate() {
            let user = GenesysUserId::parse(&ids.genesys).expect("a UUID");
            genesys.set_membership(&user, self.membership(agent));
        }
    }
}

/// An agent out of scope as yesterday's first event of theirs left them: let go.
async fn let_go_yesterday(store: &MemoryStore, user: &GenesysUserId) {
    let read = store.read(user).await.expect("in memory");
    let yesterday = ZERO_EPOCH_MS - 24 * 3600 * 1000;
    store
        .let_go(user, &read, LeftReason::OutOfScope, yesterday)
        .await
        .expect("in memory");
}

/// What the scoped case measured.
#[derive(Clone, Debug)]
pub struct ScopeFigures {
    pub scoped: Scoped,
    pub agents: usize,
    /// The client's requests in each minute from 07:50: the event path's, the reconciler's.
    pub event_path_per_minute: Vec<u32>,
    pub reconciler_per_minute: Vec<u32>,
    /// Membership and Teams-id lookups (requests, agents) for agents in and out of scope.
    pub membership_in: (usize, usize),
    pub membership_out: (usize, usize),
    pub teams_id_in: (usize, usize),
    pub teams_id_out: (usize, usize),
    /// Graph requests (writes and reads, the event path's and the reconciler's) naming an
    /// agent out of scope.
    pub graph_out: u64,
}

impl ScopeFigures {
    pub fn measure(
        scoped: Scoped,
        workload: &Workload,
        calls: &GenesysCalls,
        tenant: &GraphTenant,
    ) -> ScopeFigures {
        let users = |range: std::ops::Range<usize>| -> HashSet<GenesysUserId> {
            workload.agents[range]
                .iter()
                .map(|a| GenesysUserId::parse(&a.genesys).expect("a UUID"))
                .collect()
        };
        let agents = workload.agents.len();
        let (inside, outside) = (users(0..scoped.in_scope), users(scoped.in_scope..agents));
        let teams_out: HashSet<TeamsUserId> = workload.agents[scoped.in_scope..]
            .iter()
            .map(|a| TeamsUserId::parse(&a.teams).expect("a UUID"))
            .collect();
        ScopeFigures {
            scoped,
            agents,
            event_path_per_minute: calls.per_minute(Some(Caller::EventPath)),
            reconciler_per_minute: calls.per_minute(Some(Caller::Reconciler)),
            membership_in: calls.lookups_of(&inside, Request::MembershipLookup),
            membership_out: calls.lookups_of(&outside, Request::MembershipLookup),
            teams_id_in: calls.lookups_of(&inside, Request::TeamsIdLookup),
            teams_id_out: calls.lookups_of(&outside, Request::TeamsIdLookup),
            graph_out: tenant.requests_naming(&teams_out),
        }
    }

    /// The most requests in one minute from `from` to `to` (minutes after 07:50), and in
    /// which minute; both functions' added up.
    pub fn peak(&self, from: usize, to: usize) -> (u32, usize) {
        (from..to)
            .map(|m| (self.total(m), m))
            .max_by_key(|(n, m)| (*n, std::cmp::Reverse(*m)))
            .unwrap_or((0, from))
    }

    /// Both functions' requests in minute `m`.
    pub fn total(&self, m: usize) -> u32 {
        let at = |v: &Vec<u32>| v.get(m).copied().unwrap_or(0);
        at(&self.event_path_per_minute) + at(&self.reconciler_per_minute)
    }

    /// The minutes (after 07:50) in which the event path asked more than `share`, and what it
    /// asked in them: the model's Genesys counts, it does not answer 429, so this is the
    /// demand that a real client would meet throttled.
    pub fn event_path_over(&self, share: u32) -> (Vec<usize>, u32) {
        let over: Vec<usize> = (0..self.event_path_per_minute.len())
            .filter(|&m| self.event_path_per_minute[m] > share)
            .collect();
        let asked = over.iter().map(|&m| self.event_path_per_minute[m]).sum();
        (over, asked)
    }

    /// The lines the bench prints.
    pub fn lines(&self, limit_per_minute: u32, reconciler_share: u32) -> Vec<String> {
        let minute = |m: usize| super::figures::clock_time(m as f64 * 60.0);
        let busiest = |v: &Vec<u32>, to: usize| {
            (0..to.min(v.len()))
                .map(|m| (v[m], m))
                .max_by_key(|(n, m)| (*n, std::cmp::Reverse(*m)))
                .unwrap_or((0, 0))
        };
        let (peak, at) = self.peak(0, 30);
        let (event, event_at) = busiest(&self.event_path_per_minute, 30);
        let (reconciler, reconciler_at) = busiest(&self.reconciler_per_minute, 90);
        let event_share = limit_per_minute * (100 - reconciler_share) / 100;
        let (over, asked) = self.event_path_over(event_share);
        let event_total: u32 = self.event_path_per_minute.iter().take(30).sum();
        let over_span = match (over.first(), over.last()) {
            (Some(&first), Some(&last)) => format!(
                "{} minutes from {} to {}, {asked} requests in them",
                over.len(),
                minute(first),
                minute(last + 1)
            ),
            _ => "none".to_string(),
        };
        vec![
            format!(
                "scope: division, {} of {} agents in it, memberships {:?} at 07:50",
                self.scoped.in_scope, self.agents, self.scoped.memberships
            ),
            format!(
                "Genesys client, requests per minute 07:50–08:20: both functions at most {peak} ({}; the client's limit {limit_per_minute}); the event path at most {event} ({}; its share {event_share}), the reconciler at most {reconciler} in any minute to 09:20 ({})",
                minute(at),
                minute(event_at),
                minute(reconciler_at),
            ),
            format!(
                "the event path's requests 07:50–08:20: {event_total}; minutes over its share of {event_share}: {over_span}"
            ),
            format!(
                "lookups (requests / agents): membership in scope {} / {}, out of scope {} / {}; Teams id in scope {} / {}, out of scope {} / {}; Graph requests naming an agent out of scope: {}",
                self.membership_in.0,
                self.membership_in.1,
                self.membership_out.0,
                self.membership_out.1,
                self.teams_id_in.0,
                self.teams_id_in.1,
                self.teams_id_out.0,
                self.teams_id_out.1,
                self.graph_out,
            ),
        ]
    }
}
