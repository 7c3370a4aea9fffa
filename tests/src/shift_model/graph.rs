//! Microsoft Graph's presence API as the model sees it: one tenant-wide sliding 30-second
//! window (1,500 requests by default) answering 429 with `Retry-After` past it, a log-normal
//! latency, and per-instance clients that go through the production retry code
//! (`adapters::http::with_retries`: its backoff, `Retry-After` waits and shared throttle gate).

use super::workload::normal;
use presence_core::adapters::http::{Failure, ThrottleGate, with_retries};
use presence_core::domain::ids::TeamsUserId;
use presence_core::domain::teams::{TeamsPresence, TeamsState};
use presence_core::policy::HTTP_ATTEMPT;
use presence_core::ports::{Budget, PresenceWriter, RemoteError, Service, WriteAnswer};
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
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
    /// The reconciler's writes per window, spread evenly, in the same limit.
    pub reconciler_per_window: u32,
}

impl Default for GraphParams {
    fn default() -> Self {
        GraphParams {
            limit: 1_500,
            window: Duration::from_secs(30),
            median: Duration::from_millis(120),
            sigma: 0.5,
            reconciler_per_window: 0,
        }
    }
}

tokio::task_local! {
    /// The Genesys version (model ms) of the event an invocation is handling, kept on each
    /// write for inspection (the lag is measured from what Teams shows, `report.rs`).
    pub static HANDLING: i64;
}

/// One accepted write: whose, what, the version it shows at least, when it landed.
#[derive(Clone, Debug)]
pub struct Landed {
    pub teams: TeamsUserId,
    pub state: TeamsState,
    pub version_ms: i64,
    pub at: Instant,
}

/// The tenant: the window, the counters, what each user shows.
pub struct GraphTenant {
    params: GraphParams,
    window: Mutex<VecDeque<Instant>>,
    rng: Mutex<StdRng>,
    pub counts: Mutex<GraphCounts>,
    landed: Mutex<Vec<Landed>>,
    shown: Mutex<HashMap<TeamsUserId, TeamsState>>,
}

/// Requests the tenant answered.
#[derive(Clone, Copy, Debug, Default)]
pub struct GraphCounts {
    /// Requests from the event path (accepted or not).
    pub calls: u64,
    /// Of those, answered 429.
    pub throttled: u64,
    pub reconciler_calls: u64,
    pub reconciler_throttled: u64,
}

impl GraphTenant {
    pub fn new(params: GraphParams, seed: u64) -> Self {
        GraphTenant {
            params,
            window: Mutex::new(VecDeque::new()),
            rng: Mutex::new(StdRng::seed_from_u64(seed ^ 0x6_7a_a9)),
            counts: Mutex::new(GraphCounts::default()),
            landed: Mutex::new(Vec::new()),
            shown: Mutex::new(HashMap::new()),
        }
    }

    pub fn latency(&self) -> Duration {
        let z = normal(&mut lock(&self.rng));
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

    /// One request of the event path arriving at Graph.
    fn write(&self, teams: &TeamsUserId, state: TeamsState) -> Result<(), Duration> {
        let admitted = self.admit();
        let mut counts = lock(&self.counts);
        counts.calls += 1;
        if admitted.is_err() {
            counts.throttled += 1;
            return admitted;
        }
        drop(counts);
        let version_ms = HANDLING.try_with(|v| *v).unwrap_or(i64::MIN);
        lock(&self.landed).push(Landed {
            teams: teams.clone(),
            state,
            version_ms,
            at: Instant::now(),
        });
        lock(&self.shown).insert(teams.clone(), state);
        Ok(())
    }

    /// The reconciler's writes: `reconciler_per_window` evenly over each window, until
    /// `until` (its 429s are counted, not retried).
    pub async fn reconciler(&self, until: Instant) {
        let n = self.params.reconciler_per_window;
        if n == 0 {
            return;
        }
        let every = self.params.window / n;
        while Instant::now() < until {
            tokio::time::sleep(every).await;
            let throttled = self.admit().is_err();
            let mut counts = lock(&self.counts);
            counts.reconciler_calls += 1;
            counts.reconciler_throttled += u64::from(throttled);
        }
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

/// One instance's Graph client: its own throttle gate, the production retry loop.
pub struct GraphClient {
    tenant: std::sync::Arc<GraphTenant>,
    gate: ThrottleGate,
}

impl GraphClient {
    pub fn new(tenant: std::sync::Arc<GraphTenant>) -> Self {
        GraphClient {
            tenant,
            gate: ThrottleGate::default(),
        }
    }

    /// One attempt as `adapters::graph` makes it: cut to the budget and `HTTP_ATTEMPT`; the
    /// request reaches Graph halfway through its latency.
    async fn attempt(
        &self,
        teams: &TeamsUserId,
        state: TeamsState,
        budget: Budget,
    ) -> Result<WriteAnswer, Failure> {
        let cut = budget.remaining().min(HTTP_ATTEMPT);
        let latency = self.tenant.latency();
        if latency / 2 >= cut {
            tokio::time::sleep(cut).await;
            return Err(timed_out());
        }
        tokio::time::sleep(latency / 2).await;
        let answer = self.tenant.write(teams, state);
        if latency >= cut {
            tokio::time::sleep(cut - latency / 2).await;
            return Err(timed_out());
        }
        tokio::time::sleep(latency - latency / 2).await;
        match answer {
            Ok(()) => Ok(WriteAnswer::Accepted),
            Err(retry_after) => Err(Failure::Transient {
                detail: "setUserPreferredPresence answered 429 Too Many Requests".to_owned(),
                retry_after: Some(retry_after),
                throttled: true,
            }),
        }
    }

    async fn write(
        &self,
        teams: &TeamsUserId,
        state: TeamsState,
        budget: Budget,
    ) -> Result<WriteAnswer, RemoteError> {
        with_retries(Service::Graph, &self.gate, budget, || {
            self.attempt(teams, state, budget)
        })
        .await
    }
}

fn timed_out() -> Failure {
    Failure::Transient {
        detail: "setUserPreferredPresence: timed out".to_owned(),
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
