//! The watcher in the model (`presence-watch`, Teams → Genesys): `PresenceSync::watch` of the
//! library on its schedule (a run every 5 minutes, each an invocation of 298 s, template.yaml), on the
//! floor's one state table, reading Teams through the tenant's one Graph window (its reads
//! counted apart) and writing Genesys through the floor's (its requests counted as its own),
//! at the production defaults (`WATCH_PERIOD_SECONDS` 10, debounce 0, 10 % of Graph's limit,
//! 90 % of its own Genesys client's, `ON_QUEUE_POLICY=take-off`, the default rules). A share of
//! the agents join a meeting or take a call once in the hour, in their own Teams session.

use super::clock::VirtualClock;
use super::genesys::FloorGenesys;
use super::genesys_calls::{FloorDirectory, GenesysCalls};
use super::graph::{Caller, GraphClient, GraphTenant};
use super::watch_figures::WatchFigures;
use super::workload::Workload;
use presence_core::adapters::memory::{MemoryDirectory, MemoryStore};
use presence_core::domain::ids::{GenesysUserId, TeamsUserId};
use presence_core::domain::mapping::PresenceMapping;
use presence_core::domain::scope::Scope;
use presence_core::domain::watch::{OnQueuePolicy, TeamsToGenesys};
use presence_core::ports::{CachedTeamsId, Clock, TeamsIdCache, TeamsIdEntry};
use presence_core::service::reconcile::{Hinted, Shared};
use presence_core::service::watch::{WatchReport, WatchSettings, WatchShared};
use presence_core::service::{Invocation, PresenceSync, Settings};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};
use tokio::time::Instant;

/// How the watcher runs, and how many agents' sessions it has to see.
#[derive(Clone, Copy, Debug)]
pub struct WatcherParams {
    /// Share of the agents with one meeting or call in the hour.
    pub share: f64,
    /// `WATCH_PERIOD_SECONDS` and `WATCH_DEBOUNCE_SECONDS`.
    pub period: Duration,
    pub debounce: Duration,
    /// `WATCH_GRAPH_SHARE_PERCENT`, `WATCH_GENESYS_SHARE_PERCENT`, of the Genesys client's
    /// `GENESYS_LIMIT_PER_MINUTE`.
    pub graph_share_percent: u32,
    pub genesys_share_percent: u32,
    pub genesys_limit_per_minute: u32,
    /// The schedule (a run every 5 minutes) and the function's timeout (template.yaml: 298 s).
    pub every: Duration,
    pub timeout: Duration,
    /// Latency of each of its Genesys calls.
    pub genesys_latency: Duration,
    /// Whether every agent's Teams id is in the table's cache at 07:50 (an earlier day's
    /// lookups), or must be looked up (the first day).
    pub teams_ids: TeamsIds,
}

/// What the table's Teams-id cache holds at 07:50.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TeamsIds {
    Cached,
    Cold,
}

/// Every agent's Teams id cached and claimed in the table, as an earlier lookup leaves it.
pub async fn cache_teams_ids(workload: &Workload, store: &MemoryStore, now_s: i64) {
    for agent in &workload.agents {
        let user = GenesysUserId::parse(&agent.genesys).expect("a UUID");
        let teams = TeamsUserId::parse(&agent.teams).expect("a UUID");
        let cached = CachedTeamsId {
            entry: TeamsIdEntry::Teams(teams.clone()),
            expires_at: now_s + 86_400,
            origin: Default::default(),
        };
        store.put(&user, &cached, now_s).await.expect("in memory");
        (store.claim(&teams, &user, now_s + 2 * 86_400, now_s).await).expect("in memory");
    }
}

impl Default for WatcherParams {
    fn default() -> Self {
        WatcherParams {
            share: 0.2,
            period: Duration::from_secs(10),
            debounce: Duration::ZERO,
            graph_share_percent: 10,
            // Its own client's limit, 90 % taken (template.yaml with
            // ExistingWatcherGenesysSecretArn, as make deploy makes it).
            genesys_share_percent: presence_core::config::OWN_CLIENT_SHARE_PERCENT,
            genesys_limit_per_minute: 300,
            every: Duration::from_secs(300),
            timeout: Duration::from_secs(298),
            genesys_latency: Duration::from_millis(250),
            teams_ids: TeamsIds::Cached,
        }
    }
}

/// One Teams activity of one agent's own session, ms after model time zero.
#[derive(Clone, Copy, Debug)]
pub struct Session {
    pub agent: usize,
    pub start_ms: i64,
    pub end_ms: i64,
    pub activity: &'static str,
}

/// The sessions of the hour (seeded): `share` of the agents, each one meeting (10–30 min) or
/// one call (2–10 min), starting uniformly over the hour.
pub fn sessions(agents: usize, share: f64, end_s: f64, seed: u64) -> Vec<Session> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x7e_a5_5e);
    let mut sessions = Vec::new();
    for agent in 0..agents {
        if rng.random::<f64>() >= share {
            continue;
        }
        let (activity, minutes) = match rng.random::<bool>() {
            true => ("InAMeeting", rng.random_range(10.0..30.0)),
            false => ("InACall", rng.random_range(2.0..10.0)),
        };
        let start_ms = (rng.random::<f64>() * end_s * 1000.0) as i64;
        sessions.push(Session {
            agent,
            start_ms,
            end_ms: start_ms + (minutes * 60_000.0) as i64,
            activity,
        });
    }
    sessions
}

/// Plays the sessions into the tenant: each agent's own session shows the activity from its
/// start to its end.
pub async fn play(sessions: &[Session], workload: &Workload, tenant: &GraphTenant, zero: Instant) {
    let mut moments: Vec<(i64, usize, Option<&'static str>)> = sessions
        .iter()
        .flat_map(|s| {
            [
                (s.start_ms, s.agent, Some(s.activity)),
                (s.end_ms, s.agent, None),
            ]
        })
        .collect();
    moments.sort_by_key(|m| m.0);
    for (at_ms, agent, activity) in moments {
        tokio::time::sleep_until(zero + Duration::from_millis(at_ms as u64)).await;
        let teams = TeamsUserId::parse(&workload.agents[agent].teams).expect("a UUID");
        tenant.set_own(&teams, activity);
    }
}

type WatchSync =
    PresenceSync<Arc<MemoryStore>, Arc<MemoryStore>, Hinted<FloorDirectory>, Arc<GraphClient>>;

/// The watcher's parts, built once as the function builds them once per process.
pub struct Watcher {
    sync: WatchSync,
    genesys: FloorGenesys,
    teams: Arc<GraphClient>,
    shared: WatchShared,
    settings: WatchSettings,
    params: WatcherParams,
    clock: VirtualClock,
}

/// One scheduled run: when it started and ended (s after model time zero), what it did.
#[derive(Clone, Debug)]
pub struct WatchRun {
    pub at_s: f64,
    pub ended_s: f64,
    pub report: Result<WatchReport, String>,
}

/// The parts the watcher shares with the floor.
pub struct Floor<'a> {
    pub store: &'a Arc<MemoryStore>,
    pub directory: &'a Arc<MemoryDirectory>,
    pub tenant: &'a Arc<GraphTenant>,
    pub mapping: &'a PresenceMapping,
    pub clock: VirtualClock,
    pub genesys_calls: &'a Arc<GenesysCalls>,
    pub lookup_latency: Duration,
    pub scope: Scope,
}

impl Watcher {
    pub fn new(params: WatcherParams, floor: Floor<'_>, genesys: FloorGenesys) -> Self {
        let share = |limit: u32, percent: u32| (limit * percent / 100).max(1);
        let settings = WatchSettings {
            on_queue: OnQueuePolicy::TakeOff,
            rules: TeamsToGenesys::from_json("").expect("the default rules"),
            period: params.period,
            debounce: params.debounce,
            graph_per_30s: share(floor.tenant.limit() as u32, params.graph_share_percent),
            genesys_per_minute: share(
                params.genesys_limit_per_minute,
                params.genesys_share_percent,
            ),
        };
        let shared = WatchShared::new(&settings);
        // As app::Watcher: its Teams-id lookups spend the watcher's Genesys share, and answer
        // first from the directory pages its roster reads.
        let mut lookups = Shared::with_paces(shared.graph_pace(), shared.genesys_pace());
        lookups.hints = shared.hints();
        let directory = FloorDirectory::new(
            floor.directory.clone(),
            floor.genesys_calls.clone(),
            Caller::Watcher,
            floor.lookup_latency,
        );
        let teams = Arc::new(GraphClient::of(floor.tenant.clone(), Caller::Watcher));
        let sync = PresenceSync::new(
            floor.store.clone(),
            floor.store.clone(),
            Hinted::new(&lookups, directory),
            teams.clone(),
            floor.mapping.clone(),
            Settings {
                scope: floor.scope,
                ..Settings::default()
            },
        )
        .with_clock(floor.clock);
        Watcher {
            sync,
            genesys: genesys.for_watcher(),
            teams,
            shared,
            settings,
            params,
            clock: floor.clock,
        }
    }

    /// Runs on the schedule from `zero` while the next run starts before `until`.
    pub async fn runs(&self, zero: Instant, until: Instant) -> Vec<WatchRun> {
        let mut runs = Vec::new();
        let mut at = zero;
        while at < until {
            tokio::time::sleep_until(at).await;
            let started = Instant::now();
            let deadline_ms = self.clock.now_ms() as u64 + self.params.timeout.as_millis() as u64;
            let invocation = Invocation {
                request_id: format!("watch-{}", runs.len() + 1),
                deadline: UNIX_EPOCH + Duration::from_millis(deadline_ms),
            };
            let run = self.sync.watch(
                &self.genesys,
                &*self.teams,
                &self.shared,
                &self.settings,
                &invocation,
            );
            let (outcome, _metrics) = presence_core::metrics::capture(run).await;
            runs.push(WatchRun {
                at_s: started.duration_since(zero).as_secs_f64(),
                ended_s: Instant::now().duration_since(zero).as_secs_f64(),
                report: outcome.map_err(|e| format!("{}: {e}", e.kind())),
            });
            at += self.params.every;
        }
        runs
    }

    /// Its Genesys presence writes: the agent, when (ms after model time zero), which.
    pub fn writes(&self) -> Vec<(usize, i64, presence_core::domain::presence::SystemPresence)> {
        self.genesys.presence_writes()
    }

    pub fn params(&self) -> WatcherParams {
        self.params
    }
}

/// The watcher's runs and the sessions it watches (over the hour of `end_s` seconds), played
/// until `until`; its figures.
pub async fn watch_the_hour(
    watcher: Option<&Watcher>,
    workload: &Workload,
    (tenant, calls): (&Arc<GraphTenant>, &Arc<GenesysCalls>),
    end_s: f64,
    seed: u64,
    (zero, until): (Instant, Instant),
) -> Option<WatchFigures> {
    let watcher = watcher?;
    let p = watcher.params();
    let sessions = sessions(workload.agents.len(), p.share, end_s, seed);
    let (runs, ()) = tokio::join!(
        watcher.runs(zero, until),
        play(&sessions, workload, tenant, zero)
    );
    let graph_share = (tenant.limit() as u32 * p.graph_share_percent / 100).max(1);
    let genesys_share = (p.genesys_limit_per_minute * p.genesys_share_percent / 100).max(1);
    Some(WatchFigures::measure(
        workload,
        p,
        runs,
        &sessions,
        &watcher.writes(),
        tenant,
        calls,
        graph_share,
        genesys_share,
    ))
}
