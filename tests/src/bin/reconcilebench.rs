//! A reconcile pass over many users (issue 10: 100,000), measured: the real pass
//! (`PresenceSync::reconcile`) on the in-memory adapters in virtual time (tokio's paused
//! clock, `shift_model::clock::VirtualClock`), run after run as the schedule would, at the
//! default rate shares. Prints the runs and virtual minutes a whole walk and a sweep take,
//! the calls by kind against their limits, the CPU time and the peak memory.
//!
//! `make bench-reconcile` (`RECONCILE_USERS`, default 100000; `RECONCILE_RUNS`,
//! `RECONCILE_EXPIRY_MINUTES`, and latencies `RECONCILE_GRAPH_MS` of a Graph write and
//! `RECONCILE_DYNAMO_MS` of a state-table call, default 0).
#![forbid(unsafe_code)]

use presence_core::adapters::memory::{MemoryDirectory, MemoryGenesys, MemoryStore, MemoryTeams};
use presence_core::config::ReconcileConfig;
use presence_core::domain::event::{PresenceValue, Stamped};
use presence_core::domain::ids::{GenesysUserId, TeamsUserId};
use presence_core::domain::mapping::PresenceMapping;
use presence_core::domain::presence::SystemPresence;
use presence_core::domain::state::{Intent, Observation, UserState};
use presence_core::domain::teams::{TeamsPresence, TeamsState};
use presence_core::domain::version::Version;
use presence_core::ports::{
    Budget, CachedTeamsId, Clock, PresenceWriter, TeamsIdCache, TeamsIdEntry,
};
use presence_core::service::reconcile::{Hinted, PassOutcome, PassReport, Shared};
use presence_core::service::{Invocation, PresenceSync, Settings};
use presence_sync_tests::shift_model::clock::VirtualClock;
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

/// One run's Lambda timeout (template.yaml) and the schedule's period.
const RUN: Duration = Duration::from_secs(290);
const PERIOD: Duration = Duration::from_secs(300);

fn user(n: u32) -> GenesysUserId {
    GenesysUserId::parse(&format!("00000000-0000-4000-8000-{n:012}")).unwrap()
}

fn teams(n: u32) -> TeamsUserId {
    TeamsUserId::parse(&format!("10000000-0000-4000-8000-{n:012}")).unwrap()
}

fn on_queue(ms: i64) -> Observation {
    Observation {
        presence: Some(Stamped {
            value: PresenceValue {
                system: SystemPresence::observe("ON_QUEUE"),
                definition_id: None,
            },
            version: Version::from_millis(ms),
        }),
        routing: None,
    }
}

fn on_break(ms: i64) -> Observation {
    let mut observation = on_queue(ms);
    if let Some(presence) = &mut observation.presence {
        presence.value.system = SystemPresence::observe("BREAK");
    }
    observation
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let users: u32 = std::env::var("RECONCILE_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    if std::env::var_os("RECONCILE_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .init();
    }
    // PRESENCE_EXPIRATION, in minutes (default PT8H; see docs/performance.md for PT1H).
    let expiry_minutes: u64 = std::env::var("RECONCILE_EXPIRY_MINUTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(480);
    let clock = VirtualClock::start();
    let config = ReconcileConfig {
        every: PERIOD,
        sweep_every: Duration::from_secs(3600),
        drift: presence_core::domain::reconcile::DriftPolicy::Repair,
        graph_limit_per_30s: 1_500,
        genesys_limit_per_minute: 300,
        graph_share_percent: 20,
        genesys_share_percent: 20,
        expiry: Duration::from_secs(expiry_minutes * 60),
    };
    let settings = config.settings(Duration::from_secs(300)).unwrap();

    // A floor in steady state: every agent recorded On Queue and applied Busy a few minutes
    // ago; 1 % lost an event (Genesys holds a newer state), 1 % changed Teams by hand.
    let store = Arc::new(MemoryStore::new());
    let genesys = Arc::new(MemoryGenesys::new());
    let graph = Arc::new(MemoryTeams::new());
    let now = clock.now_ms();
    let busy = TeamsState::Preferred(TeamsPresence::Busy);
    let setup = Instant::now();
    for n in 0..users {
        let record = UserState {
            presence: on_queue(now - 600_000).presence,
            applied: Some(busy),
            intent: Some(Intent::Teams(busy)),
            applied_at_ms: Some(now - 300_000),
            applied_to: Some(teams(n)),
            rev: 2,
            ..UserState::default()
        };
        store.put_record(&user(n), record);
        // A lost event: the agent went on break a minute ago.
        let state = if n % 100 == 1 {
            on_break(now - 60_000)
        } else {
            on_queue(now - 600_000)
        };
        genesys.set_user(&user(n), Some(&teams(n).to_string()), state);
        // The Teams id cached in the table, as the event path left it.
        let cached = CachedTeamsId {
            entry: TeamsIdEntry::Teams(teams(n)),
            expires_at: now / 1000 + 86_400,
            origin: Default::default(),
        };
        store.put(&user(n), &cached, now / 1000).await.unwrap();
        // And its claim on the Teams id: three items an agent, interleaved in the table's
        // scan order as in DynamoDB.
        store
            .claim(&teams(n), &user(n), now / 1000 + 2 * 86_400, now / 1000)
            .await
            .unwrap();
        // Teams shows what was applied.
        let budget = Budget {
            until: tokio::time::Instant::now() + Duration::from_secs(1),
        };
        graph
            .set_preferred(&teams(n), TeamsPresence::Busy, budget)
            .await
            .unwrap();
        if n % 100 == 2 {
            graph.set_by_hand(&teams(n), TeamsPresence::Available);
        }
    }
    // Latencies (ms), after the set-up: RECONCILE_GRAPH_MS of each Graph write,
    // RECONCILE_DYNAMO_MS of each state-table call (default 0: the time is the pacing's).
    let latency = |name: &str| {
        let ms = std::env::var(name).ok().and_then(|v| v.parse().ok());
        Duration::from_millis(ms.unwrap_or(0))
    };
    graph.set_latency(latency("RECONCILE_GRAPH_MS"));
    store.set_latency(latency("RECONCILE_DYNAMO_MS"));
    let shared = Shared::new(&settings);
    let sync = PresenceSync::new(
        store.clone(),
        store.clone(),
        Hinted::new(&shared, Arc::new(MemoryDirectory::new())),
        graph.clone(),
        PresenceMapping::default(),
        Settings::default(),
    )
    .with_clock(clock);
    println!(
        "{users} users set up in {:.1} s; the pass, run after run every {} s (each {} s at most):",
        setup.elapsed().as_secs_f64(),
        PERIOD.as_secs(),
        RUN.as_secs()
    );

    let cpu = Instant::now();
    let (store_before, genesys_before) = (store.calls(), genesys.calls());
    let writes_before = graph.writes().len();
    let mut total = PassReport::default();
    let mut walk_runs = None;
    let mut sweep_runs = None;
    let mut run = 0;
    // RECONCILE_RUNS: run this many scheduled runs (default: until a walk and a sweep ended).
    let runs: Option<u32> = std::env::var("RECONCILE_RUNS")
        .ok()
        .and_then(|v| v.parse().ok());
    while run < runs.unwrap_or(100)
        && (runs.is_some() || walk_runs.is_none() || sweep_runs.is_none())
    {
        run += 1;
        let started = tokio::time::Instant::now();
        let deadline =
            UNIX_EPOCH + Duration::from_millis((clock.now_ms() as u64) + RUN.as_millis() as u64);
        let invocation = Invocation {
            request_id: format!("run-{run}"),
            deadline,
        };
        let outcome = sync
            .reconcile(&genesys, &graph, &shared, &settings, &invocation)
            .await
            .expect("the run works");
        let PassOutcome::Worked(report) = outcome else {
            panic!("run {run} found the run lease held: {outcome:?}");
        };
        println!(
            "  run {run:>2}: {:>6} scanned, {:>4} recovered, {:>4} drift repaired, {:>5} kept alive, {:>5} backfilled, {:>5.0} s{}",
            report.scanned,
            report.recovered,
            report.drift_repaired,
            report.kept_alive,
            report.backfilled,
            started.elapsed().as_secs_f64(),
            ended(&report),
        );
        if report.walk_completed && walk_runs.is_none() {
            walk_runs = Some(run);
        }
        if report.sweep_completed && sweep_runs.is_none() {
            sweep_runs = Some(run);
        }
        total.scanned += report.scanned;
        total.recovered += report.recovered;
        total.drift_repaired += report.drift_repaired;
        total.kept_alive += report.kept_alive;
        total.failed += report.failed;
        // The next scheduled run.
        tokio::time::sleep(PERIOD.saturating_sub(started.elapsed())).await;
    }
    let virtual_min = clock.model_ms() as f64 / 60_000.0;
    let genesys_calls = genesys.calls() - genesys_before;
    let writes = graph.writes().len() - writes_before;
    let graph_calls = graph.reads() + writes;
    println!(
        "\nwalk complete after {} runs, sweep after {} runs ({virtual_min:.0} virtual minutes)",
        walk_runs.map_or("-".into(), |r| r.to_string()),
        sweep_runs.map_or("-".into(), |r| r.to_string()),
    );
    println!(
        "calls: Genesys {genesys_calls} (bulk reads and directory pages; {:.0} per minute of its 60), Graph {graph_calls} ({} reads, {} writes; {:.1} per 30 s of its 300), state table {}",
        genesys_calls as f64 / virtual_min,
        graph.reads(),
        writes,
        graph_calls as f64 / (virtual_min * 2.0),
        store.calls() - store_before,
    );
    println!(
        "recovered {}, drift repaired {}, kept alive {}, failed {}; CPU {:.1} s; peak memory {:.0} MiB",
        total.recovered,
        total.drift_repaired,
        total.kept_alive,
        total.failed,
        cpu.elapsed().as_secs_f64(),
        peak_rss_mib()
    );
    assert_eq!(total.failed, 0, "no user failed");
    assert_eq!(
        total.recovered,
        u64::from(users / 100),
        "every lost event recovered"
    );
}

/// How a run ended, beyond its figures.
fn ended(report: &PassReport) -> String {
    let flags = [
        (report.walk_completed, ", walk done"),
        (report.sweep_completed, ", sweep done"),
        (report.yielded, ", yielded to the event path"),
        (report.cut, ", cut by its time"),
    ];
    flags
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, said)| *said)
        .collect()
}
