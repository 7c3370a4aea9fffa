//! One run of the model: the shift generated, the floor before it (`prior`), the floor's
//! shared adapters (one state table, one Genesys directory, one Graph tenant) and
//! `concurrency` instances of the real `PresenceSync`, each with its own Graph client
//! (throttle gate) and, when paced, its own `adapters::paced` pacer; the production reconciler
//! on its schedule alongside, when asked; then Lambda's queue drained and the figures taken.

use super::clock::{VirtualClock, ZERO_EPOCH_MS};
use super::genesys::FloorGenesys;
use super::genesys_calls::{FloorDirectory, GenesysCalls};
use super::graph::{Caller, GraphClient, GraphParams, GraphTenant, HANDLING};
use super::lambda::{self, Answer, Function, LambdaParams};
use super::prior::{self, Before, Prior};
use super::reconciler::{self, Reconciler, ReconcilerParams};
use super::report::{Observed, Report};
use super::scoped::{Memberships, Scoped};
use super::watcher::{self, TeamsIds, Watcher, WatcherParams};
use super::workload::{Mapping, Shape, Workload};
use presence_core::adapters::memory::{MemoryDirectory, MemoryStore};
use presence_core::adapters::paced::{Paced, Pacing};
use presence_core::domain::ids::GenesysUserId;
use presence_core::domain::mapping::PresenceMapping;
use presence_core::domain::scope::Scope;
use presence_core::ports::Clock;
use presence_core::service::{Invocation, PresenceSync, Settings};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};
use tokio::time::Instant;

/// Everything a run depends on.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    pub agents: usize,
    pub seed: u64,
    pub shape: Shape,
    pub mapping: Mapping,
    pub lambda: LambdaParams,
    pub graph: GraphParams,
    /// Latency of every DynamoDB call.
    pub dynamo: Duration,
    /// Pace each instance's Graph writes so that the function stays within this many per
    /// 30 s (`adapters::paced`); `None`: unpaced, as the function is today.
    pub paced_per_30s: Option<u32>,
    /// What the floor holds before the hour.
    pub prior: Prior,
    /// `PRESENCE_EXPIRATION`: how long a preferred presence holds in Teams.
    pub expiry: Duration,
    /// The production reconciler on its schedule through the hour; `None`: not running.
    pub reconciler: Option<ReconcilerParams>,
    /// `SYNC_SCOPE` names a division holding some of the agents (issue 21); `None`: `all`.
    pub scope: Option<Scoped>,
    /// Latency of each Genesys lookup (a Teams id, a membership) the functions make.
    pub lookup_latency: Duration,
    /// The watcher (Teams → Genesys) on its schedule, the function in two-way mode; `None`:
    /// not running.
    pub watcher: Option<WatcherParams>,
    /// The day after: the Teams ids the floor before the hour cached expire during the burst
    /// (over 07:50–08:20, spread evenly), as yesterday's shift-start lookups do.
    pub teams_ids_expiring: bool,
}

/// How long after the hour the reconciler keeps running and lapsed presences are counted:
/// the shift start's presences fall due for keep-alive about 50 minutes after it (with
/// `PRESENCE_EXPIRATION` of an hour), past the hour's end.
pub const WATCHED_AFTER_THE_HOUR: Duration = Duration::from_secs(30 * 60);

impl Params {
    /// Seconds after model time zero until which the reconciler runs and lapses are counted.
    pub fn watched_until_s(&self) -> f64 {
        self.shape.end_s + WATCHED_AFTER_THE_HOUR.as_secs_f64()
    }

    pub fn new(agents: usize, concurrency: usize) -> Params {
        Params {
            agents,
            seed: 42,
            shape: Shape::default(),
            mapping: Mapping::Default,
            lambda: LambdaParams {
                concurrency,
                ..LambdaParams::default()
            },
            graph: GraphParams::default(),
            dynamo: Duration::from_millis(6),
            paced_per_30s: None,
            prior: Prior::Unseen,
            expiry: Duration::from_secs(3600),
            reconciler: None,
            scope: None,
            lookup_latency: Duration::ZERO,
            watcher: None,
            teams_ids_expiring: false,
        }
    }

    /// With the watcher running: `PRESENCE_MODE=two-way` (the reachable states clear what we
    /// set, so that Teams shows the agents' own sessions), a share of the agents in a meeting
    /// or call once in the hour.
    pub fn with_watcher(mut self) -> Params {
        self.mapping = Mapping::TwoWay;
        self.watcher = Some(WatcherParams::default());
        self
    }

    /// Every agent recorded Away before the hour, applied at a time uniform over the keep-alive
    /// period (`PRESENCE_EXPIRATION` less two reconcile periods: what a reconciler that kept up
    /// leaves), so that keep-alive falls due through the burst at its steady rate.
    pub fn prior_away(mut self) -> Params {
        let refresh_after = self.expiry - 2 * ReconcilerParams::default().period;
        self.prior = Prior::Away {
            span: refresh_after,
        };
        self
    }

    /// With the production reconciler running, on the floor of [`Params::prior_away`].
    pub fn with_reconciler(self) -> Params {
        let mut params = self.prior_away();
        params.reconciler = Some(ReconcilerParams::default());
        params
    }

    /// Scoped (issue 21): the first `in_scope` agents in `SYNC_SCOPE`'s division, the others
    /// not; the floor before the hour holds only the agents in scope (the others the sync
    /// never drove). Each Genesys lookup takes the reconciler's assumed 250 ms.
    pub fn scoped(mut self, in_scope: usize, memberships: Memberships) -> Params {
        self.scope = Some(Scoped {
            in_scope,
            memberships,
        });
        self.lookup_latency = ReconcilerParams::default().genesys_latency;
        self
    }

    /// The agents the floor before the hour holds: the ones in scope.
    fn seeded(&self) -> usize {
        self.scope
            .map_or(self.agents, |s| s.in_scope.min(self.agents))
    }
}

type Sync = PresenceSync<Arc<MemoryStore>, Arc<MemoryStore>, FloorDirectory, Paced<GraphClient>>;

/// The function: its instances and the shift they serve.
struct Floor {
    workload: Workload,
    instances: Vec<Sync>,
    clock: VirtualClock,
}

impl Function for Floor {
    async fn invoke(&self, instance: usize, change: u32, timeout: Duration) -> Answer {
        let change = &self.workload.changes[change as usize];
        let raw = self.workload.event(change);
        let deadline_ms = self.clock.now_ms() as u64 + timeout.as_millis() as u64;
        let invocation = Invocation {
            request_id: format!("{instance}-{}", change.at_ms),
            deadline: UNIX_EPOCH + Duration::from_millis(deadline_ms),
        };
        let handle = self.instances[instance].handle(raw, &invocation);
        // The metrics each invocation records are dropped: the model counts for itself.
        let (result, _metrics) = HANDLING
            .scope(change.at_ms, presence_core::metrics::capture(handle))
            .await;
        match result {
            Ok(report) => Ok((report.outcome, report.reason)),
            Err(error) => Err(error.kind()),
        }
    }
}

/// The floor's shared adapters as they stand at model time zero.
struct Adapters {
    store: Arc<MemoryStore>,
    directory: Arc<MemoryDirectory>,
    tenant: Arc<GraphTenant>,
    /// The Genesys client's requests, both functions'.
    genesys_calls: Arc<GenesysCalls>,
    mapping: PresenceMapping,
    before: Before,
    /// The store's calls in setting the floor up (not the hour's).
    set_up_calls: usize,
}

impl Adapters {
    /// The floor before the hour: `params.prior` in the store, Teams and Genesys, the
    /// reconciler's position when it runs, the directory of Teams ids. Setting it up takes no
    /// virtual time: the store gets its latency after.
    async fn set_up(params: &Params, workload: &Workload) -> Adapters {
        let store = Arc::new(MemoryStore::new());
        let tenant = Arc::new(GraphTenant::new(params.graph, params.seed));
        let seeded = params.seeded();
        let before = prior::seed(params.prior, workload, seeded, &store, &tenant, params.seed);
        let before = before.await;
        if let Some(reconciler) = params.reconciler {
            let scope = params.scope.map_or(Scope::All, |s| s.scope());
            Reconciler::before_the_hour(&store, reconciler, scope.canonical()).await;
        }
        if params.teams_ids_expiring {
            prior::expiring_teams_ids(workload, seeded, &store).await;
        }
        let directory = Arc::new(MemoryDirectory::new());
        for agent in &workload.agents {
            let user = GenesysUserId::parse(&agent.genesys).expect("a UUID");
            directory.add_user(&user, Some(&agent.teams));
        }
        if let Some(scoped) = params.scope {
            let until_s = ZERO_EPOCH_MS / 1000 + 12 * 3600;
            scoped.set_up(workload, &directory, &store, until_s).await;
        }
        if params
            .watcher
            .is_some_and(|w| w.teams_ids == TeamsIds::Cached)
        {
            watcher::cache_teams_ids(workload, &store, ZERO_EPOCH_MS / 1000).await;
        }
        let set_up_calls = store.calls();
        store.set_latency(params.dynamo);
        Adapters {
            store,
            directory,
            tenant,
            genesys_calls: GenesysCalls::new(),
            mapping: workload.mapping.mapping(),
            before,
            set_up_calls,
        }
    }

    /// The reconciler on these adapters, when `params` asks for it.
    fn reconciler(
        &self,
        params: &Params,
        workload: &Workload,
        clock: VirtualClock,
    ) -> Option<Reconciler> {
        let reconciler = params.reconciler?;
        let floor = reconciler::Floor {
            store: &self.store,
            directory: &self.directory,
            tenant: &self.tenant,
            mapping: &self.mapping,
            clock,
            expiry: params.expiry,
            genesys_calls: &self.genesys_calls,
            lookup_latency: params.lookup_latency,
            scope: params.scope.map_or(Scope::All, |s| s.scope()),
        };
        let genesys = FloorGenesys::new(
            workload,
            self.before.genesys.clone(),
            clock,
            reconciler.genesys_latency,
            self.genesys_calls.clone(),
        );
        if let Some(scoped) = params.scope {
            scoped.set_up_bulk(workload, &genesys);
        }
        Some(Reconciler::new(reconciler, floor, genesys))
    }

    /// The watcher on these adapters, when `params` asks for it.
    fn watcher(
        &self,
        params: &Params,
        workload: &Workload,
        clock: VirtualClock,
    ) -> Option<Watcher> {
        let watcher = params.watcher?;
        let floor = watcher::Floor {
            store: &self.store,
            directory: &self.directory,
            tenant: &self.tenant,
            mapping: &self.mapping,
            clock,
            genesys_calls: &self.genesys_calls,
            lookup_latency: watcher.genesys_latency,
            scope: params.scope.map_or(Scope::All, |s| s.scope()),
        };
        let genesys = FloorGenesys::new(
            workload,
            self.before.genesys.clone(),
            clock,
            watcher.genesys_latency,
            self.genesys_calls.clone(),
        );
        Some(Watcher::new(watcher, floor, genesys))
    }
}

/// Runs the model (inside a paused tokio clock: [`run_paused`] makes one).
pub async fn run(params: Params) -> Report {
    let started = std::time::Instant::now();
    let workload = Workload::generate(params.agents, params.shape, params.mapping, params.seed);
    let clock = VirtualClock::start();
    let zero = Instant::now();
    let adapters = Adapters::set_up(&params, &workload).await;
    let reconciler = adapters.reconciler(&params, &workload, clock);
    let watcher = adapters.watcher(&params, &workload, clock);
    let floor = Floor {
        instances: instances(&params, &adapters, clock),
        workload,
        clock,
    };
    let arrivals = floor
        .workload
        .changes
        .iter()
        .enumerate()
        .map(|(i, c)| (i as u32, c.at_ms));
    let watched = zero + Duration::from_secs_f64(params.watched_until_s());
    let runs = async {
        match &reconciler {
            Some(reconciler) => reconciler.runs(zero, watched).await,
            None => Vec::new(),
        }
    };
    let watching = watcher::watch_the_hour(
        watcher.as_ref(),
        &floor.workload,
        (&adapters.tenant, &adapters.genesys_calls),
        params.shape.end_s,
        params.seed,
        (zero, watched),
    );
    let (counts, runs, watcher) = tokio::join!(
        lambda::run(params.lambda, zero, arrivals, &floor, params.seed),
        runs,
        watching
    );
    Report::new(Observed {
        params,
        workload: &floor.workload,
        tenant: &adapters.tenant,
        lambda: &counts,
        dynamo_calls: adapters.store.calls() - adapters.set_up_calls,
        directory_lookups: adapters.directory.lookups(),
        zero,
        wall: started.elapsed(),
        before: &adapters.before,
        reconciler: reconciler.map(|r| r.figures(runs, &adapters.tenant)),
        genesys_calls: &adapters.genesys_calls,
        watcher,
    })
}

/// The function's `concurrency` instances, on the floor's shared adapters.
fn instances(params: &Params, adapters: &Adapters, clock: VirtualClock) -> Vec<Sync> {
    let pacing = params.paced_per_30s.map_or(
        Pacing {
            interval: Duration::ZERO,
        },
        |per_30s| Pacing::for_concurrency(params.lambda.concurrency as u32, per_30s),
    );
    let settings = Settings {
        scope: params.scope.map_or(Scope::All, |s| s.scope()),
        ..Settings::default()
    };
    (0..params.lambda.concurrency)
        .map(|_| {
            let directory = FloorDirectory::new(
                adapters.directory.clone(),
                adapters.genesys_calls.clone(),
                Caller::EventPath,
                params.lookup_latency,
            );
            PresenceSync::new(
                adapters.store.clone(),
                adapters.store.clone(),
                directory,
                Paced::new(GraphClient::new(adapters.tenant.clone()), pacing),
                adapters.mapping.clone(),
                settings.clone(),
            )
            .with_clock(clock)
        })
        .collect()
}

/// Runs the model on a current-thread runtime whose clock starts paused: an hour of virtual
/// time takes what the CPU work takes.
pub fn run_paused(params: Params) -> Report {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a tokio runtime")
        .block_on(run(params))
}
