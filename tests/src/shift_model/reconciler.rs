//! The production reconciler in the model: `PresenceSync::reconcile` of the library, run on
//! the schedule (every `RECONCILE_EVERY_MINUTES` of virtual time, each run an invocation with
//! the function's timeout), on the floor's one state table, a Genesys the workload keeps
//! current, and Graph through the tenant's one window (its reads and writes counted apart
//! from the event path's), at the production defaults' shares.

use super::clock::{VirtualClock, ZERO_EPOCH_MS};
use super::figures::Figures;
use super::genesys::FloorGenesys;
use super::genesys_calls::{FloorDirectory, GenesysCalls};
use super::graph::{Caller, GraphClient, GraphTenant};
use super::sampled::{PageSample, Sampled};
use presence_core::adapters::memory::{MemoryDirectory, MemoryStore};
use presence_core::config::ReconcileConfig;
use presence_core::domain::mapping::PresenceMapping;
use presence_core::domain::reconcile::DriftPolicy;
use presence_core::domain::scope::Scope;
use presence_core::ports::{Clock, PassLedger, PassState, RunClaim};
use presence_core::service::reconcile::{
    Hinted, PassOutcome, PassReport, ReconcileSettings, Shared,
};
use presence_core::service::{Invocation, PresenceSync, Settings};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};
use tokio::time::Instant;

/// How the reconciler runs: the template's and the configuration's defaults.
#[derive(Clone, Copy, Debug)]
pub struct ReconcilerParams {
    /// `RECONCILE_EVERY_MINUTES` (default 5): the schedule's period.
    pub period: Duration,
    /// The function's timeout (template.yaml, PresenceReconcileFunction: 290 s).
    pub timeout: Duration,
    /// `RECONCILE_GRAPH_SHARE_PERCENT`, of the tenant's Graph limit.
    pub graph_share_percent: u32,
    /// `GENESYS_LIMIT_PER_MINUTE` and `RECONCILE_GENESYS_SHARE_PERCENT`.
    pub genesys_limit_per_minute: u32,
    pub genesys_share_percent: u32,
    /// Latency of each Genesys call (a bulk read, a directory page).
    pub genesys_latency: Duration,
    /// How long before model time zero the last directory sweep ended (it is due again
    /// `SWEEP_EVERY_MINUTES`, 60, after).
    pub last_sweep: Duration,
}

impl Default for ReconcilerParams {
    fn default() -> Self {
        ReconcilerParams {
            period: Duration::from_secs(300),
            timeout: Duration::from_secs(290),
            graph_share_percent: 20,
            genesys_limit_per_minute: 300,
            genesys_share_percent: 20,
            genesys_latency: Duration::from_millis(250),
            last_sweep: Duration::from_secs(30 * 60),
        }
    }
}

type ReconcileSync = PresenceSync<
    Arc<Sampled<VirtualClock>>,
    Arc<MemoryStore>,
    Hinted<FloorDirectory>,
    Arc<GraphClient>,
>;

/// The reconciler's parts, built once as the function builds them once per process.
pub struct Reconciler {
    sync: ReconcileSync,
    store: Arc<Sampled<VirtualClock>>,
    genesys: FloorGenesys,
    teams: Arc<GraphClient>,
    shared: Shared,
    settings: ReconcileSettings,
    params: ReconcilerParams,
    clock: VirtualClock,
}

/// One scheduled run: when it started and ended (s after model time zero) and what it did
/// (`Err`: the run failed as a whole, or found the run lease held).
#[derive(Clone, Debug)]
pub struct RunRecord {
    pub at_s: f64,
    pub ended_s: f64,
    pub report: Result<PassReport, String>,
}

/// The parts the reconciler shares with the floor.
pub struct Floor<'a> {
    pub store: &'a Arc<MemoryStore>,
    pub directory: &'a Arc<MemoryDirectory>,
    pub tenant: &'a Arc<GraphTenant>,
    pub mapping: &'a PresenceMapping,
    pub clock: VirtualClock,
    /// `PRESENCE_EXPIRATION`: keep-alive re-sends a presence two periods before it.
    pub expiry: Duration,
    /// The Genesys client's requests (its actions' lookups counted as the reconciler's),
    /// and the latency of a lookup.
    pub genesys_calls: &'a Arc<GenesysCalls>,
    pub lookup_latency: Duration,
    /// `SYNC_SCOPE`.
    pub scope: Scope,
}

impl Reconciler {
    pub fn new(params: ReconcilerParams, floor: Floor<'_>, genesys: FloorGenesys) -> Self {
        let config = ReconcileConfig {
            every: params.period,
            sweep_every: Duration::from_secs(3600),
            drift: DriftPolicy::Report,
            graph_limit_per_30s: floor.tenant.limit() as u32,
            genesys_limit_per_minute: params.genesys_limit_per_minute,
            graph_share_percent: params.graph_share_percent,
            genesys_share_percent: params.genesys_share_percent,
            expiry: floor.expiry,
        };
        let settings = config
            .settings(Settings::default().max_clock_skew)
            .expect("an expiry longer than two periods");
        let shared = Shared::new(&settings);
        let store = Arc::new(Sampled::new(
            floor.store.clone(),
            floor.clock,
            ZERO_EPOCH_MS,
        ));
        let teams = Arc::new(GraphClient::of(floor.tenant.clone(), Caller::Reconciler));
        let directory = FloorDirectory::new(
            floor.directory.clone(),
            floor.genesys_calls.clone(),
            Caller::Reconciler,
            floor.lookup_latency,
        );
        let sync = PresenceSync::new(
            store.clone(),
            floor.store.clone(),
            Hinted::new(&shared, directory),
            teams.clone(),
            floor.mapping.clone(),
            Settings {
                scope: floor.scope,
                ..Settings::default()
            },
        )
        .with_clock(floor.clock);
        Reconciler {
            sync,
            store,
            genesys,
            teams,
            shared,
            settings,
            params,
            clock: floor.clock,
        }
    }
}

impl Reconciler {
    /// The pass's position as a reconciler running before the hour left it: the last walk
    /// ended at model time zero (a new one starts), the last sweep `last_sweep` before, under
    /// `scope` (`SYNC_SCOPE`'s canonical form: the scope in force, so that no sweep is due
    /// for a new scope).
    pub async fn before_the_hour(store: &MemoryStore, params: ReconcilerParams, scope: String) {
        let owner = "before-the-hour";
        let until = ZERO_EPOCH_MS - 1;
        let claim = store.begin(owner, until, until - 1).await;
        assert!(matches!(claim, Ok(RunClaim::Granted(_))), "{claim:?}");
        let state = PassState {
            last_sweep_ms: Some(ZERO_EPOCH_MS - params.last_sweep.as_millis() as i64),
            sweep_scope: Some(scope),
            last_pass_ms: Some(ZERO_EPOCH_MS),
            ..PassState::default()
        };
        let ended = store.end(owner, &state).await;
        assert!(matches!(ended, Ok(true)), "{ended:?}");
    }

    /// Runs on the schedule from `zero` while the next run starts before `until`; each run
    /// is awaited (a run that overran its period would delay the next, as the run lease
    /// would make it wait).
    pub async fn runs(&self, zero: Instant, until: Instant) -> Vec<RunRecord> {
        let mut records = Vec::new();
        let mut at = zero;
        while at < until {
            tokio::time::sleep_until(at).await;
            let started = Instant::now();
            let deadline_ms = self.clock.now_ms() as u64 + self.params.timeout.as_millis() as u64;
            let invocation = Invocation {
                request_id: format!("reconcile-{}", records.len() + 1),
                deadline: UNIX_EPOCH + Duration::from_millis(deadline_ms),
            };
            let run = self.sync.reconcile(
                &self.genesys,
                &self.teams,
                &self.shared,
                &self.settings,
                &invocation,
            );
            // The run's metrics are dropped: the model counts for itself.
            let (outcome, _metrics) = presence_core::metrics::capture(run).await;
            let report = match outcome {
                Ok(PassOutcome::Worked(report)) => Ok(report),
                Ok(held) => Err(format!("{held:?}")),
                Err(error) => Err(format!("{}: {error}", error.kind())),
            };
            records.push(RunRecord {
                at_s: started.duration_since(zero).as_secs_f64(),
                ended_s: Instant::now().duration_since(zero).as_secs_f64(),
                report,
            });
            at += self.params.period;
        }
        records
    }

    /// The pages the walk scanned.
    pub fn pages(&self) -> Vec<PageSample> {
        self.store.pages()
    }

    /// Genesys calls made (bulk reads and directory pages).
    pub fn genesys_calls(&self) -> usize {
        self.genesys.calls()
    }
}

impl Reconciler {
    /// The figures of `runs`, with the tenant's counts of the reconciler's requests.
    pub fn figures(&self, runs: Vec<RunRecord>, tenant: &GraphTenant) -> Figures {
        let mut total = PassReport::default();
        for report in runs.iter().filter_map(|r| r.report.as_ref().ok()) {
            total.scanned += report.scanned;
            total.recovered += report.recovered;
            total.backfilled += report.backfilled;
            total.settled += report.settled;
            total.kept_alive += report.kept_alive;
            total.drift_found += report.drift_found;
            total.no_session += report.no_session;
            total.let_go += report.let_go;
            total.failed += report.failed;
            total.reads = total.reads.plus(report.reads);
            total.walk_completed |= report.walk_completed;
            total.sweep_completed |= report.sweep_completed;
        }
        let counts = tenant.counts();
        Figures {
            runs,
            pages: self.pages(),
            total,
            graph_reads: counts.reconciler_reads,
            graph_writes: counts.reconciler_writes,
            graph_429: counts.reconciler_throttled,
            per_30s: counts.reconciler_per_30s,
            genesys_calls: self.genesys_calls(),
            floor_recent: Vec::new(),
            floor_recent_peak: (0.0, 0.0),
        }
    }
}
