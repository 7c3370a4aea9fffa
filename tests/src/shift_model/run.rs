//! One run of the model: the shift generated, the floor's shared adapters (one state table,
//! one Genesys directory, one Graph tenant) and `concurrency` instances of the real
//! `PresenceSync`, each with its own Graph client (throttle gate) and, when paced, its own
//! `adapters::paced` pacer; then Lambda's queue drained and the figures taken.

use super::clock::VirtualClock;
use super::graph::{GraphClient, GraphParams, GraphTenant, HANDLING};
use super::lambda::{self, Answer, Function, LambdaParams};
use super::report::Report;
use super::workload::{Mapping, Shape, Workload};
use presence_core::adapters::memory::{MemoryDirectory, MemoryStore};
use presence_core::adapters::paced::{Paced, Pacing};
use presence_core::domain::ids::GenesysUserId;
use presence_core::domain::mapping::PresenceMapping;
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
}

impl Params {
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
        }
    }
}

type Sync =
    PresenceSync<Arc<MemoryStore>, Arc<MemoryStore>, Arc<MemoryDirectory>, Paced<GraphClient>>;

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

/// Runs the model (inside a paused tokio clock: [`run_paused`] makes one).
pub async fn run(params: Params) -> Report {
    let started = std::time::Instant::now();
    let workload = Workload::generate(params.agents, params.shape, params.mapping, params.seed);
    let store = Arc::new(MemoryStore::new());
    store.set_latency(params.dynamo);
    let directory = Arc::new(MemoryDirectory::new());
    for agent in &workload.agents {
        let user = GenesysUserId::parse(&agent.genesys).expect("a UUID");
        directory.add_user(&user, Some(&agent.teams));
    }
    let tenant = Arc::new(GraphTenant::new(params.graph, params.seed));
    let mapping = PresenceMapping::from_json(workload.mapping.json()).expect("a valid mapping");
    let pacing = params.paced_per_30s.map_or(
        Pacing {
            interval: Duration::ZERO,
        },
        |per_30s| Pacing::for_concurrency(params.lambda.concurrency as u32, per_30s),
    );
    let clock = VirtualClock::start();
    let zero = Instant::now();
    let instances = (0..params.lambda.concurrency)
        .map(|_| {
            PresenceSync::new(
                store.clone(),
                store.clone(),
                directory.clone(),
                Paced::new(GraphClient::new(tenant.clone()), pacing),
                mapping.clone(),
                Settings::default(),
            )
            .with_clock(clock)
        })
        .collect();
    let floor = Floor {
        workload,
        instances,
        clock,
    };
    let arrivals = floor
        .workload
        .changes
        .iter()
        .enumerate()
        .map(|(i, c)| (i as u32, c.at_ms));
    let reconciler_until = zero + Duration::from_secs_f64(params.shape.end_s);
    let (counts, ()) = tokio::join!(
        lambda::run(params.lambda, zero, arrivals, &floor, params.seed),
        tenant.reconciler(reconciler_until)
    );
    Report::new(
        params,
        &floor.workload,
        &tenant,
        &counts,
        store.calls(),
        directory.lookups(),
        zero,
        started.elapsed(),
    )
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
