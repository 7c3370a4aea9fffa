//! Microsoft Graph's presence API as the model sees it: one tenant-wide sliding 30-second
//! window (1,500 requests by default) answering 429 with `Retry-After` past it, a log-normal
//! latency, and per-process clients (each event-path instance's, the reconciler's) that go
//! through the production retry code (`adapters::http::with_retries`: its backoff,
//! `Retry-After` waits and shared throttle gate). The event path's requests and the
//! reconciler's are counted apart.

use super::workload::normal;
use presence_core::adapters::http::{Failure, ThrottleGate, with_retries};
use presence_core::domain::ids::TeamsUserId;
use presence_core::domain::teams::{TeamsPresence, TeamsState};
use presence_core::policy::HTTP_ATTEMPT;
use presence_core::ports::{
    Budget, PresenceReader, PresenceWriter, RemoteError, Service, TeamsNow, WriteAnswer,
};
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The Graph fake's parameters.
#[derive(Clone, Copy, Debug)]
pub struct GraphParams {
    /// Requests allowed in any window (Graph: 1,500 per 30 s per app per tenant).
    pub limit: usize,
    pub window: Duration,
    /// Latency of one request, log-normal: median and sigma (the 429 answer takes the same).
    pub median: Duration,
    pub sigma: f64,
}

impl Default for GraphParams {
    fn default() -> Self {
        GraphParams {
            limit: 1_500,
            window: Duration::from_secs(30),
            median: Duration::from_millis(120),
            sigma: 0.5,
        }
    }
}

tokio::task_local! {
    /// The Genesys version (model ms) of the event an invocation is handling, kept on each
    /// write for inspection (the lag is measured from what Teams shows, `report.rs`).
    pub static HANDLING: i64;
}

/// Whose process a request comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    /// An instance of the event function.
    EventPath,
    /// The scheduled reconciler.
    Reconciler,
    /// The scheduled watcher (`presence-watch`: Teams → Genesys).
    Watcher,
}

/// One accepted write: whose, what, the version it shows at least (the event's; `i64::MIN`
/// for the reconciler's), when it landed, who sent it.
#[derive(Clone, Debug)]
pub struct Landed {
    pub teams: TeamsUserId,
    pub state: TeamsState,
    pub version_ms: i64,
    pub at: Instant,
    pub by: Caller,
}

/// The tenant: the window, the counters, what each user shows.
pub struct GraphTenant {
    params: GraphParams,
    /// Model time zero, for the reconciler's per-window counts.
    zero: Instant,
    window: Mutex<VecDeque<Instant>>,
    /// Latencies: the event path's and the reconciler's drawn apart, so that running the
    /// reconciler leaves the event path's draws as they were.
    rng: Mutex<StdRng>,
    reconciler_rng: Mutex<StdRng>,
    watcher_rng: Mutex<StdRng>,
    counts: Mutex<GraphCounts>,
    landed: Mutex<Vec<Landed>>,
    shown: Mutex<HashMap<TeamsUserId, TeamsState>>,
    /// Requests (admitted or not) naming each user: writes, and reads that ask for them.
    named: Mutex<HashMap<TeamsUserId, u32>>,
    /// The activity of each user's own Teams session where it is not Available (a meeting,
    /// a call): what Graph reports when no preferred presence hides it.
    own: Mutex<HashMap<TeamsUserId, &'static str>>,
}

pub use super::graph_counts::GraphCounts;

impl GraphTenant {
    pub fn new(params: GraphParams, seed: u64) -> Self {
        GraphTenant {
            params,
            zero: Instant::now(),
            window: Mutex::new(VecDeque::new()),
            rng: Mutex::new(StdRng::seed_from_u64(seed ^ 0x6_7a_a9)),
            reconciler_rng: Mutex::new(StdRng::seed_from_u64(seed ^ 0x2e_c0_11)),
            watcher_rng: Mutex::new(StdRng::seed_from_u64(seed ^ 0x3a_7c_4e)),
            counts: Mutex::new(GraphCounts::default()),
            landed: Mutex::new(Vec::new()),
            shown: Mutex::new(HashMap::new()),
            named: Mutex::new(HashMap::new()),
            own: Mutex::new(HashMap::new()),
        }
    }

    /// Requests allowed in any window.
    pub fn limit(&self) -> usize {
        self.params.limit
    }

    pub fn latency(&self, caller: Caller) -> Duration {
        let rng = match caller {
            Caller::EventPath => &self.rng,
            Caller::Reconciler => &self.reconciler_rng,
            Caller::Watcher => &self.watcher_rng,
        };
        let z = normal(&mut lock(rng));
        self.params.median.mul_f64((self.params.sigma * z).exp())
    }

    /// Admits one request into the window, or answers the `Retry-After` of a 429: the whole
    /// seconds until the oldest request leaves the window, at least one.
    fn admit(&self) -> Result<(), Duration> {
        let now = Instant::now();
        let mut window = lock(&self.window);
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.params.window)
        {
            window.pop_front();
        }
        if window.len() < self.params.limit {
            window.push_back(now);
            return Ok(());
        }
        let frees = (window[0] + self.params.window).saturating_duration_since(now);
        Err(Duration::from_secs(
            frees.as_secs_f64().ceil().max(1.0) as u64
        ))
    }

    /// One request of `caller` arriving at Graph, naming `users`: admitted or not, counted.
    fn request(&self, caller: Caller, write: bool, users: &[TeamsUserId]) -> Result<(), Duration> {
        let mut named = lock(&self.named);
        for user in users {
            *named.entry(user.clone()).or_default() += 1;
        }
        drop(named);
        let admitted = self.admit();
        let window = (Instant::now().duration_since(self.zero).as_secs_f64()
            / self.params.window.as_secs_f64()) as usize;
        lock(&self.counts).count(caller, write, admitted.is_err(), window);
        admitted
    }

    /// One write arriving at Graph.
    fn write(
        &self,
        caller: Caller,
        teams: &TeamsUserId,
        state: TeamsState,
    ) -> Result<(), Duration> {
        self.request(caller, true, std::slice::from_ref(teams))?;
        let version_ms = HANDLING.try_with(|v| *v).unwrap_or(i64::MIN);
        lock(&self.landed).push(Landed {
            teams: teams.clone(),
            state,
            version_ms,
            at: Instant::now(),
            by: caller,
        });
        lock(&self.shown).insert(teams.clone(), state);
        Ok(())
    }

    /// Sets what a user shows before the model starts (a write of an earlier hour).
    pub fn show(&self, teams: &TeamsUserId, state: TeamsState) {
        lock(&self.shown).insert(teams.clone(), state);
    }

    /// The user's own session shows `activity` (a meeting, a call), or is Available again
    /// (`None`).
    pub fn set_own(&self, teams: &TeamsUserId, activity: Option<&'static str>) {
        let mut own = lock(&self.own);
        match activity {
            Some(activity) => own.insert(teams.clone(), activity),
            None => own.remove(teams),
        };
    }

    /// What `users` show, as `getPresencesByUserId` reports it: a preferred presence as set
    /// (it hides every session); without one, the user's own session (Available unless in a
    /// meeting or a call).
    fn presences(&self, users: &[TeamsUserId]) -> Vec<TeamsNow> {
        let shown = lock(&self.shown);
        let own = lock(&self.own);
        let pair = |p: TeamsPresence| (p.availability(), p.activity());
        users
            .iter()
            .map(|user| {
                let (availability, activity) = match (shown.get(user), own.get(user)) {
                    (Some(TeamsState::Preferred(presence)), _) => pair(*presence),
                    (_, Some(activity)) => ("Busy", *activity),
                    _ => pair(TeamsPresence::Available),
                };
                TeamsNow {
                    user: user.clone(),
                    availability: availability.to_owned(),
                    activity: activity.to_owned(),
                }
            })
            .collect()
    }

    /// Requests that named any of `users`.
    pub fn requests_naming(&self, users: &HashSet<TeamsUserId>) -> u64 {
        let named = lock(&self.named);
        users
            .iter()
            .filter_map(|u| named.get(u))
            .map(|n| u64::from(*n))
            .sum()
    }

    pub fn counts(&self) -> GraphCounts {
        lock(&self.counts).clone()
    }

    pub fn landed(&self) -> Vec<Landed> {
        lock(&self.landed).clone()
    }

    pub fn shown(&self, teams: &TeamsUserId) -> TeamsState {
        lock(&self.shown)
            .get(teams)
            .copied()
            .unwrap_or(TeamsState::Cleared)
    }
}

/// One process's Graph client: its own throttle gate, the production retry loop. The
/// reconciler's is also its `getPresencesByUserId` reader, as `adapters::graph_read` makes the
/// production client both (one gate for its reads and writes).
pub struct GraphClient {
    tenant: Arc<GraphTenant>,
    gate: ThrottleGate,
    caller: Caller,
}

impl GraphClient {
    /// An event-path instance's client.
    pub fn new(tenant: Arc<GraphTenant>) -> Self {
        Self::of(tenant, Caller::EventPath)
    }

    pub fn of(tenant: Arc<GraphTenant>, caller: Caller) -> Self {
        GraphClient {
            tenant,
            gate: ThrottleGate::default(),
            caller,
        }
    }

    /// One attempt as the adapters make it: cut to the budget and `HTTP_ATTEMPT`; the request
    /// reaches Graph (`arrive`) halfway through its latency.
    async fn attempt<T>(
        &self,
        action: &str,
        budget: Budget,
        arrive: impl FnOnce() -> Result<T, Duration>,
    ) -> Result<T, Failure> {
        let cut = budget.remaining().min(HTTP_ATTEMPT);
        let latency = self.tenant.latency(self.caller);
        if latency / 2 >= cut {
            tokio::time::sleep(cut).await;
            return Err(timed_out(action));
        }
        tokio::time::sleep(latency / 2).await;
        let answer = arrive();
        if latency >= cut {
            tokio::time::sleep(cut - latency / 2).await;
            return Err(timed_out(action));
        }
        tokio::time::sleep(latency - latency / 2).await;
        answer.map_err(|retry_after| Failure::Transient {
            detail: format!("{action} answered 429 Too Many Requests"),
            retry_after: Some(retry_after),
            throttled: true,
        })
    }

    async fn write(
        &self,
        teams: &TeamsUserId,
        state: TeamsState,
        budget: Budget,
    ) -> Result<WriteAnswer, RemoteError> {
        with_retries(Service::Graph, &self.gate, budget, || {
            self.attempt("setUserPreferredPresence", budget, || {
                self.tenant.write(self.caller, teams, state)
            })
        })
        .await
        .map(|()| WriteAnswer::Accepted)
    }
}

fn timed_out(action: &str) -> Failure {
    Failure::Transient {
        detail: format!("{action}: timed out"),
        retry_after: None,
        throttled: false,
    }
}

impl PresenceWriter for GraphClient {
    async fn set_preferred(
        &self,
        user: &TeamsUserId,
        presence: TeamsPresence,
        budget: Budget,
    ) -> Result<WriteAnswer, RemoteError> {
        self.write(user, TeamsState::Preferred(presence), budget)
            .await
    }

    async fn clear_preferred(
        &self,
        user: &TeamsUserId,
        budget: Budget,
    ) -> Result<WriteAnswer, RemoteError> {
        self.write(user, TeamsState::Cleared, budget).await
    }
}

impl PresenceReader for GraphClient {
    const MAX_USERS: usize = presence_core::adapters::graph_read::MAX_USERS;

    async fn read(
        &self,
        users: &[TeamsUserId],
        budget: Budget,
    ) -> Result<Vec<TeamsNow>, RemoteError> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        with_retries(Service::Graph, &self.gate, budget, || {
            self.attempt("getPresencesByUserId", budget, || {
                self.tenant.request(self.caller, false, users)?;
                Ok(self.tenant.presences(users))
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_window_admits_the_limit_then_answers_retry_after() {
        let params = GraphParams {
            limit: 3,
            ..GraphParams::default()
        };
        let tenant = GraphTenant::new(params, 1);
        for _ in 0..3 {
            assert!(tenant.admit().is_ok());
        }
        tokio::time::advance(Duration::from_millis(10_500)).await;
        assert_eq!(tenant.admit(), Err(Duration::from_secs(20)));
        tokio::time::advance(Duration::from_millis(19_500)).await;
        assert!(tenant.admit().is_ok(), "the oldest left the window");
    }
}
