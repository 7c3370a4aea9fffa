//! The convergence suite: a seeded stream of thousands of Genesys events for hundreds of
//! agents — the three topics mixed, reordered, duplicated — delivered by eight concurrent
//! function instances while the fakes inject throttling, server errors, slow answers,
//! dropped connections, token failures, a secret rotation and SCIM errors, and the DynamoDB
//! emulator is stopped and restarted. Failed invocations are redelivered the way Lambda's
//! asynchronous invocation does (two retries), then dead-lettered.
//!
//! At the end, for every agent, Teams shows exactly the mapped state of the agent's newest
//! event (unless that event was dead-lettered), every delivery is accounted for exactly once,
//! and no instance called Graph inside a `Retry-After` window it had been given.
//!
//! `CONVERGENCE_SEED` and `CONVERGENCE_AGENTS` change the run; the figures are printed and
//! written to `target/reliability/convergence.json` (see docs/reliability.md).

use aws_sdk_dynamodb::types::AttributeValue;
use presence_sync_tests::aws::{put_secret, restore_table, snapshot_table};
use presence_sync_tests::events::{activity, new_id, presence, routing};
use presence_sync_tests::fake_genesys::GenesysEndpoint;
use presence_sync_tests::fake_microsoft::MsEndpoint;
use presence_sync_tests::fault::{Fault, RecordedCall};
use presence_sync_tests::world::{
    AZURE_CLIENT_ID, GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET, TENANT, World,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const INSTANCES: usize = 8;
/// Lambda's asynchronous invocation: the first attempt and up to two retries.
const MAX_ATTEMPTS: u32 = 3;
const INVOCATION_TIMEOUT: Duration = Duration::from_secs(6);
const MAPPING: &str =
    r#"{"routing:INTERACTING":{"availability":"DoNotDisturb","activity":"DoNotDisturb"}}"#;

const PRESENCES: [&str; 13] = [
    "AVAILABLE",
    "ON_QUEUE",
    "On Queue",
    "BUSY",
    "AWAY",
    "BREAK",
    "Break",
    "MEAL",
    "TRAINING",
    "MEETING",
    "IDLE",
    "OFFLINE",
    "Available",
];
const ROUTING: [&str; 5] = [
    "OFF_QUEUE",
    "IDLE",
    "INTERACTING",
    "NOT_RESPONDING",
    "COMMUNICATING",
];

/// What Teams must show for an agent's newest presence and routing status, written out
/// independently of the code under test. `None`: no preferred presence from this function.
fn oracle(presence: &str, routing: &str) -> Option<&'static str> {
    if routing == "INTERACTING" {
        return Some("DoNotDisturb/DoNotDisturb");
    }
    match presence.to_ascii_uppercase().replace(' ', "_").as_str() {
        "AVAILABLE" => Some("Available/Available"),
        "ON_QUEUE" | "BUSY" | "MEETING" | "TRAINING" => Some("Busy/Busy"),
        "AWAY" | "BREAK" | "MEAL" | "IDLE" => Some("Away/Away"),
        "OFFLINE" => None,
        other => panic!("the stream has no presence {other}"),
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// Genesys and Teams know the agent.
    Teams,
    /// Genesys knows the agent, who has no Teams id.
    NoTeamsId,
    /// Genesys does not know the agent (SCIM 404).
    Unknown,
}

struct Agent {
    genesys: String,
    teams: String,
    kind: Kind,
}

struct Generated {
    agent: usize,
    value: Value,
    presence: Option<(String, i64)>,
    routing: Option<(String, i64)>,
}

#[derive(Clone)]
struct Delivery {
    event: usize,
    attempt: u32,
}

#[derive(Clone, Debug)]
enum Terminal {
    Answered { outcome: String },
    DeadLettered { error: String },
}

/// One invocation of a delivery, as it ended: `outcome/reason`, or the error's kind and text.
#[derive(Clone, Debug)]
struct AttemptLog {
    slot: usize,
    attempt: u32,
    result: Result<String, (&'static str, String)>,
}

/// A user's record as the state table holds it at the end, read from the item's attributes
/// (spelled out here, not through the adapter).
#[derive(Debug)]
struct FinalRecord {
    presence: Option<(String, i64)>,
    routing: Option<(String, i64)>,
    applied: Option<String>,
    intent: Option<String>,
}

impl FinalRecord {
    fn read(item: &HashMap<String, AttributeValue>) -> FinalRecord {
        let s = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        let n = |name: &str| {
            item.get(name)
                .and_then(|v| v.as_n().ok())
                .map(|n| n.parse::<i64>().expect("a number attribute"))
        };
        FinalRecord {
            presence: s("presence").zip(n("presence_version")),
            routing: s("routing").zip(n("routing_version")),
            applied: s("applied"),
            intent: s("intent"),
        }
    }

    /// A holder announced a change it never confirmed: the next event or redelivery
    /// re-applies the record's state.
    fn dirty(&self) -> bool {
        match self.intent.as_deref() {
            None => false,
            Some("pending") => true,
            Some(intent) => intent != self.applied.as_deref().unwrap_or("clear"),
        }
    }

    /// Whether the record holds something older than this event carries: no write of the
    /// event ever took effect (versions only grow).
    fn older_than(&self, event: &Generated) -> bool {
        let older = |recorded: &Option<(String, i64)>, carried: &Option<(String, i64)>| {
            carried.as_ref().is_some_and(|(_, version)| {
                recorded
                    .as_ref()
                    .is_none_or(|(_, recorded)| recorded < version)
            })
        };
        older(&self.presence, &event.presence) || older(&self.routing, &event.routing)
    }
}

/// The failures an invocation can meet before its recording write took effect.
const BEFORE_RECORDING: [&str; 3] = ["StateStoreError", "UserBusy", "OutOfTime"];

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Each agent's day: signing in On Queue, then presence and routing changes, each sent as
/// the activity topic or the presence/routingStatus topic.
fn generate(rng: &mut StdRng, agents: &[Agent]) -> Vec<Generated> {
    let mut events = Vec::new();
    for (a, agent) in agents.iter().enumerate() {
        let mut t = a as i64 * 50;
        let (mut p, mut pv, mut r, mut rv) = ("ON_QUEUE".to_owned(), t, "IDLE".to_owned(), t);
        let mut push =
            |value: Value, presence: Option<(String, i64)>, routing: Option<(String, i64)>| {
                events.push(Generated {
                    agent: a,
                    value,
                    presence,
                    routing,
                });
            };
        push(
            activity(&agent.genesys, &p, pv, &r, rv),
            Some((p.clone(), pv)),
            Some((r.clone(), rv)),
        );
        for _ in 0..rng.random_range(8..=12) {
            t += rng.random_range(500..60_000);
            if rng.random_bool(0.65) {
                p = PRESENCES[rng.random_range(0..PRESENCES.len())].to_owned();
                pv = t;
                if rng.random_bool(0.5) {
                    push(
                        activity(&agent.genesys, &p, pv, &r, rv),
                        Some((p.clone(), pv)),
                        Some((r.clone(), rv)),
                    );
                } else {
                    push(
                        presence(&agent.genesys, &p, pv),
                        Some((p.clone(), pv)),
                        None,
                    );
                }
            } else {
                r = ROUTING[rng.random_range(0..ROUTING.len())].to_owned();
                rv = t;
                if rng.random_bool(0.5) {
                    push(
                        activity(&agent.genesys, &p, pv, &r, rv),
                        Some((p.clone(), pv)),
                        Some((r.clone(), rv)),
                    );
                } else {
                    push(routing(&agent.genesys, &r, rv), None, Some((r.clone(), rv)));
                }
            }
        }
    }
    events
}

/// Which fault queue a scheduled fault went to.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Queue {
    GraphPresence,
    GraphToken,
    GenesysToken,
    Scim,
}

/// Pushes one fault of the schedule; returns its queue and the name it is reported under.
fn random_fault(rng: &mut StdRng, world: &World) -> (Queue, &'static str) {
    let ms = world.ms.faults();
    let genesys = world.genesys.faults();
    match rng.random_range(0..100) {
        0..=14 => {
            ms.push(MsEndpoint::Presence, Fault::throttled(1));
            (Queue::GraphPresence, "Graph 429 with Retry-After")
        }
        15..=22 => {
            ms.push(MsEndpoint::Presence, Fault::status_retry_after(429, None));
            (Queue::GraphPresence, "Graph 429 without Retry-After")
        }
        23..=44 => {
            let status = [500, 502, 503, 504][rng.random_range(0..4)];
            ms.push(MsEndpoint::Presence, Fault::status(status));
            (Queue::GraphPresence, "Graph 5xx")
        }
        45..=54 => {
            ms.push(
                MsEndpoint::Presence,
                Fault::delay(Duration::from_millis(1_500)),
            );
            (Queue::GraphPresence, "Graph slow past the client timeout")
        }
        55..=64 => {
            ms.push(MsEndpoint::Presence, Fault::Drop);
            (Queue::GraphPresence, "Graph dropped connection")
        }
        65..=69 => {
            ms.push(MsEndpoint::Token, Fault::status(503));
            (Queue::GraphToken, "Graph token endpoint 503")
        }
        70..=72 => {
            ms.push(MsEndpoint::Token, Fault::Drop);
            (Queue::GraphToken, "Graph token endpoint dropped connection")
        }
        73..=76 => {
            genesys.push(GenesysEndpoint::Token, Fault::status(503));
            (Queue::GenesysToken, "Genesys token endpoint 503")
        }
        77..=92 => {
            genesys.push(
                GenesysEndpoint::Scim,
                Fault::status([500, 502, 503][rng.random_range(0..3)]),
            );
            (Queue::Scim, "SCIM 5xx")
        }
        93..=94 => {
            genesys.push(GenesysEndpoint::Scim, Fault::status(404));
            (Queue::Scim, "SCIM 404")
        }
        _ => {
            genesys.push(GenesysEndpoint::Scim, Fault::Drop);
            (Queue::Scim, "SCIM dropped connection")
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_function_converges_under_faults_redelivery_and_concurrency() {
    let seed: u64 = env_or("CONVERGENCE_SEED", 20_261_127);
    let agent_count: usize = env_or("CONVERGENCE_AGENTS", 200);
    let mut rng = StdRng::seed_from_u64(seed);
    let started = Instant::now();

    let (world, isolation) = World::isolated().await;
    let isolation = tokio::sync::Mutex::new(isolation);
    let moto_endpoint = isolation.lock().await.moto.endpoint().to_owned();
    let direct = presence_sync_tests::aws::dynamodb_client(&moto_endpoint).await;

    // Agents: most with a Teams user, some without a Teams id, some unknown to Genesys.
    let mut agents = Vec::new();
    for i in 0..agent_count + 10 {
        let kind = match i {
            i if i < agent_count => Kind::Teams,
            i if i < agent_count + 5 => Kind::NoTeamsId,
            _ => Kind::Unknown,
        };
        let agent = Agent {
            genesys: new_id(),
            teams: new_id(),
            kind,
        };
        match kind {
            Kind::Teams => {
                world.genesys.add_user(&agent.genesys, Some(&agent.teams));
                world.ms.add_user(&agent.teams);
            }
            Kind::NoTeamsId => world.genesys.add_user(&agent.genesys, None),
            Kind::Unknown => {}
        }
        agents.push(agent);
    }
    let events = generate(&mut rng, &agents);

    // Deliveries: every event once, about one in ten again (EventBridge and Lambda deliver
    // at least once), in the order they happened disturbed by a random delay — up to 20 s
    // for most, up to 10 min for one in twenty — so neighbours swap and stragglers arrive
    // long after newer events.
    let mut keyed: Vec<(i64, Delivery)> = Vec::new();
    for (event, generated) in events.iter().enumerate() {
        let happened = [&generated.presence, &generated.routing]
            .into_iter()
            .flatten()
            .map(|(_, v)| *v)
            .max()
            .unwrap();
        let copies = if rng.random_bool(0.1) {
            rng.random_range(2..=3)
        } else {
            1
        };
        for _ in 0..copies {
            let delay = if rng.random_bool(0.05) {
                rng.random_range(0..600_000)
            } else {
                rng.random_range(0..20_000)
            };
            keyed.push((happened + delay, Delivery { event, attempt: 1 }));
        }
    }
    keyed.sort_by_key(|(at, _)| *at);
    let deliveries: Vec<Delivery> = keyed.into_iter().map(|(_, d)| d).collect();
    let total = deliveries.len();
    let duplicates = total - events.len();
    let slot_event: Vec<usize> = deliveries.iter().map(|d| d.event).collect();
    let queue: Mutex<VecDeque<(usize, Delivery)>> =
        Mutex::new(deliveries.into_iter().enumerate().collect());

    // The instances: the mapping with a routing rule, a short client timeout so that slow
    // answers time out, and Lambda's deadline.
    let mut config = world.config(&[("PRESENCE_MAPPING", MAPPING)]);
    config.http.total = Duration::from_millis(1_000);
    config.http.connect = Duration::from_millis(500);
    let instances: Vec<_> = (0..INSTANCES)
        .map(|_| world.instance_with(config.clone()))
        .collect();

    // Every terminal as it is pushed, and every attempt as it ends, in the order they happen:
    // nothing is overwritten, so a delivery that ends twice or never shows at the end.
    let ended: Mutex<Vec<(usize, Terminal)>> = Mutex::new(Vec::new());
    let attempts: Mutex<Vec<AttemptLog>> = Mutex::new(Vec::new());
    let finished = AtomicUsize::new(0);
    let pending_retries = AtomicUsize::new(0);
    let redeliveries = AtomicUsize::new(0);
    let done = AtomicBool::new(false);

    let worker = |instance: usize| {
        let instances = &instances;
        let queue = &queue;
        let (ended, attempts) = (&ended, &attempts);
        let events = &events;
        let (finished, pending_retries, redeliveries) =
            (&finished, &pending_retries, &redeliveries);
        async move {
            loop {
                let next = queue.lock().unwrap().pop_front();
                let Some((slot, delivery)) = next else {
                    if pending_retries.load(Ordering::SeqCst) == 0
                        && queue.lock().unwrap().is_empty()
                    {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let value = events[delivery.event].value.clone();
                let result = instances[instance]
                    .invoke_within(value, INVOCATION_TIMEOUT)
                    .await;
                attempts.lock().unwrap().push(AttemptLog {
                    slot,
                    attempt: delivery.attempt,
                    result: match &result {
                        Ok(report) => Ok(format!("{}/{}", report.outcome, report.reason)),
                        Err(error) => Err((error.kind(), error.to_string())),
                    },
                });
                let terminal = match result {
                    Ok(report) => Some(Terminal::Answered {
                        outcome: format!("{}/{}", report.outcome, report.reason),
                    }),
                    Err(_) if delivery.attempt < MAX_ATTEMPTS => {
                        // Lambda retries after about 1 and 2 minutes; scaled to 1 and 2 s here.
                        redeliveries.fetch_add(1, Ordering::SeqCst);
                        pending_retries.fetch_add(1, Ordering::SeqCst);
                        let wait = Duration::from_secs(u64::from(delivery.attempt));
                        let retry = Delivery {
                            attempt: delivery.attempt + 1,
                            ..delivery.clone()
                        };
                        tokio::time::sleep(wait).await;
                        queue.lock().unwrap().push_back((slot, retry));
                        pending_retries.fetch_sub(1, Ordering::SeqCst);
                        None
                    }
                    Err(error) => Some(Terminal::DeadLettered {
                        error: error.to_string(),
                    }),
                };
                if let Some(terminal) = terminal {
                    ended.lock().unwrap().push((slot, terminal));
                    finished.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
    };

    // The fault schedule, a secret rotation at a third of the run, and a DynamoDB outage
    // (the emulator stopped, restarted and its data restored) at two thirds.
    let mut injected: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut scheduled: HashMap<Queue, Vec<&'static str>> = HashMap::new();
    let mut azure_secret = presence_sync_tests::world::AZURE_CLIENT_SECRET.to_owned();
    let mut outage: Option<Duration> = None;
    let faults = async {
        let mut rotated = false;
        while !done.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(rng.random_range(60..200))).await;
            let (queue, label) = random_fault(&mut rng, &world);
            scheduled.entry(queue).or_default().push(label);
            let progress = finished.load(Ordering::SeqCst) * 3 / total.max(1);
            if !rotated && progress >= 1 {
                rotated = true;
                azure_secret = "rotated-Azure-secret-value-for-the-convergence-suite".to_owned();
                world
                    .ms
                    .register_app(TENANT, AZURE_CLIENT_ID, &azure_secret);
                presence_sync_tests::aws::rotate_secret(
                    &world.secrets(),
                    &world.azure_secret,
                    &json!({"tenant_id": TENANT, "client_id": AZURE_CLIENT_ID, "client_secret": azure_secret}),
                )
                .await;
                world.ms.expire_tokens();
                world.genesys.expire_tokens();
                *injected
                    .entry("Azure secret rotated, tokens expired")
                    .or_default() += 1;
            }
            if outage.is_none() && progress >= 2 {
                let down = Instant::now();
                let mut isolation = isolation.lock().await;
                isolation.proxy.set_down(true);
                tokio::time::sleep(Duration::from_millis(300)).await;
                let items = snapshot_table(&direct, &world.table).await;
                isolation.moto.restart().await;
                let direct = presence_sync_tests::aws::dynamodb_client(&moto_endpoint).await;
                restore_table(&direct, &world.table, items).await;
                let secrets = presence_sync_tests::aws::secrets_client(&moto_endpoint).await;
                put_secret(
                    &secrets,
                    &world.azure_secret,
                    &json!({"tenant_id": TENANT, "client_id": AZURE_CLIENT_ID, "client_secret": azure_secret}),
                )
                .await;
                put_secret(
                    &secrets,
                    &world.genesys_secret,
                    &json!({"client_id": GENESYS_CLIENT_ID, "client_secret": GENESYS_CLIENT_SECRET}),
                )
                .await;
                tokio::time::sleep(Duration::from_millis(700)).await;
                isolation.proxy.set_down(false);
                outage = Some(down.elapsed());
                *injected
                    .entry("DynamoDB emulator stopped and restarted")
                    .or_default() += 1;
            }
        }
    };
    // The fault schedule stops when the workers do, whether or not every delivery ended.
    let workers = async {
        futures::future::join_all((0..INSTANCES).map(worker)).await;
        done.store(true, Ordering::SeqCst);
    };
    let ((), ()) = tokio::join!(workers, faults);
    let elapsed = started.elapsed();

    // --- Every delivery ends exactly once, every event is answered or dead-lettered ----------
    let ended = ended.into_inner().unwrap();
    let attempts = attempts.into_inner().unwrap();
    let mut ends_of: Vec<Vec<&Terminal>> = vec![Vec::new(); total];
    for (slot, terminal) in &ended {
        ends_of[*slot].push(terminal);
    }
    let lost: Vec<usize> = (0..total).filter(|s| ends_of[*s].is_empty()).collect();
    let twice: Vec<(usize, usize)> = (0..total)
        .map(|s| (s, ends_of[s].len()))
        .filter(|(_, n)| *n > 1)
        .collect();
    assert!(
        lost.is_empty() && twice.is_empty(),
        "every delivery ends exactly once: {} of {total} never ended (first: {:?}), {} ended more \
         than once (first, with their counts: {:?})",
        lost.len(),
        &lost[..lost.len().min(10)],
        twice.len(),
        &twice[..twice.len().min(10)]
    );
    let terminals: Vec<&Terminal> = ends_of.iter().map(|ends| ends[0]).collect();
    // Each delivery was invoked as Lambda would: attempts 1, 2, … in turn, every one but the
    // last failed, and the last is the terminal (answered, or the third failure dead-lettered).
    let mut attempts_of: Vec<Vec<&AttemptLog>> = vec![Vec::new(); total];
    for attempt in &attempts {
        attempts_of[attempt.slot].push(attempt);
    }
    for (slot, tried) in attempts_of.iter_mut().enumerate() {
        tried.sort_by_key(|a| a.attempt);
        let numbers: Vec<u32> = tried.iter().map(|a| a.attempt).collect();
        assert!(
            !tried.is_empty() && numbers.iter().copied().eq(1..=numbers.len() as u32),
            "delivery {slot} was invoked as attempts {numbers:?}"
        );
        let (last, before) = tried.split_last().unwrap();
        assert!(
            before.iter().all(|a| a.result.is_err()),
            "delivery {slot} was retried after an answer: {tried:?}"
        );
        match (terminals[slot], &last.result) {
            (Terminal::Answered { outcome }, Ok(answered)) => {
                assert_eq!(outcome, answered, "delivery {slot}")
            }
            (Terminal::DeadLettered { .. }, Err(_)) => assert_eq!(
                last.attempt, MAX_ATTEMPTS,
                "delivery {slot} was dead-lettered after {} attempts",
                last.attempt
            ),
            (terminal, result) => panic!(
                "delivery {slot} ended as {terminal:?} after its last attempt gave {result:?}"
            ),
        }
    }
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let mut dead_lettered = 0;
    let mut answered_event = vec![false; events.len()];
    let mut delivered_event = vec![0usize; events.len()];
    let mut outcomes_of_agent: HashMap<usize, Vec<String>> = HashMap::new();
    for (slot, terminal) in terminals.iter().enumerate() {
        delivered_event[slot_event[slot]] += 1;
        match terminal {
            Terminal::Answered { outcome } => {
                *outcomes.entry(outcome.clone()).or_default() += 1;
                answered_event[slot_event[slot]] = true;
                outcomes_of_agent
                    .entry(events[slot_event[slot]].agent)
                    .or_default()
                    .push(outcome.clone());
            }
            Terminal::DeadLettered { error } => {
                dead_lettered += 1;
                eprintln!("dead-lettered: {error}");
            }
        }
    }
    // An event is answered when one of its deliveries was; otherwise every delivery of it
    // was dead-lettered. None may be missing from the stream.
    let never_delivered: Vec<usize> = (0..events.len())
        .filter(|e| delivered_event[*e] == 0)
        .collect();
    assert!(
        never_delivered.is_empty(),
        "events never delivered: {never_delivered:?}"
    );
    let dead_events: Vec<usize> = (0..events.len()).filter(|e| !answered_event[*e]).collect();
    assert_eq!(
        answered_event.iter().filter(|a| **a).count() + dead_events.len(),
        events.len()
    );

    // --- A dead-lettered event's failure is not hidden ----------------------------------------
    // Either no write of it ever took effect (and then it only ever failed at the recording
    // step), or its agent's record is still dirty (the next event or a replay re-applies it),
    // or the record is settled and Teams shows what the record's state maps to (a later
    // event, or a reconciliation, applied it or something newer).
    let scim_404: HashSet<String> = world
        .genesys
        .calls()
        .into_iter()
        .filter(|c| c.kind == GenesysEndpoint::Scim && c.faulted && c.status == 404)
        .filter_map(|c| c.path.rsplit('/').next().map(str::to_owned))
        .collect();
    let records: HashMap<String, FinalRecord> = snapshot_table(
        &presence_sync_tests::aws::dynamodb_client(&moto_endpoint).await,
        &world.table,
    )
    .await
    .iter()
    .filter_map(|item| {
        let pk = item.get("pk")?.as_s().ok()?;
        let user = pk.strip_prefix("user#")?;
        Some((user.to_owned(), FinalRecord::read(item)))
    })
    .collect();
    let (mut dead_never_recorded, mut dead_dirty, mut dead_settled) = (0, 0, 0);
    for &e in &dead_events {
        let a = events[e].agent;
        let agent = &agents[a];
        let record = records.get(&agent.genesys);
        if record.is_none_or(|r| r.older_than(&events[e])) {
            dead_never_recorded += 1;
            let failures: Vec<&(&str, String)> = (0..total)
                .filter(|s| slot_event[*s] == e)
                .flat_map(|s| attempts_of[s].iter())
                .filter_map(|a| a.result.as_ref().err())
                .collect();
            assert!(
                failures
                    .iter()
                    .all(|(kind, _)| BEFORE_RECORDING.contains(kind)),
                "event {e} of agent {a} never reached the record ({record:?}) yet failed past \
                 the recording step: {failures:?}"
            );
            continue;
        }
        let record = record.unwrap();
        if record.dirty() {
            dead_dirty += 1;
            continue;
        }
        dead_settled += 1;
        if agent.kind != Kind::Teams || scim_404.contains(&agent.genesys) {
            // Nothing from this function reaches Teams for the agent.
            continue;
        }
        let Some((p, _)) = &record.presence else {
            continue;
        };
        let r = record.routing.as_ref().map_or("", |(r, _)| r.as_str());
        let teams = world
            .ms
            .preferred_presence(&agent.teams)
            .map(|(av, ac, _)| format!("{av}/{ac}"));
        assert_eq!(
            teams.as_deref(),
            oracle(p, r),
            "event {e} of agent {a} was dead-lettered and the agent's record looks settled \
             ({record:?}), but Teams does not show what the record maps to: the failure is hidden"
        );
    }

    assert!(outage.is_some(), "the DynamoDB outage ran");

    // --- Teams shows the mapped state of each agent's newest event ---------------------------
    let mut asserted = 0;
    let mut skipped_dead = 0;
    let mut treated_as_no_teams = 0;
    for (a, agent) in agents.iter().enumerate() {
        let mine: Vec<usize> = (0..events.len())
            .filter(|e| events[*e].agent == a)
            .collect();
        let newest = |pick: fn(&Generated) -> Option<&(String, i64)>| {
            let version = mine
                .iter()
                .filter_map(|e| pick(&events[*e]))
                .map(|(_, v)| *v)
                .max()
                .unwrap();
            let carriers: Vec<usize> = mine
                .iter()
                .copied()
                .filter(|e| pick(&events[*e]).is_some_and(|(_, v)| *v == version))
                .collect();
            let value = pick(&events[carriers[0]]).unwrap().0.clone();
            (value, carriers.iter().any(|e| answered_event[*e]))
        };
        let (p, p_delivered) = newest(|e| e.presence.as_ref());
        let (r, r_delivered) = newest(|e| e.routing.as_ref());
        let teams = world
            .ms
            .preferred_presence(&agent.teams)
            .map(|(av, ac, _)| format!("{av}/{ac}"));
        match agent.kind {
            Kind::Teams if !(p_delivered && r_delivered) => skipped_dead += 1,
            Kind::Teams if scim_404.contains(&agent.genesys) => {
                // Genesys answered "unknown user" once: the agent counts as having no Teams id
                // for the cache lifetime, unless another instance's lookup won the race.
                treated_as_no_teams += 1;
                assert!(
                    teams.is_none() || teams.as_deref() == oracle(&p, &r),
                    "agent {a}: {teams:?}"
                );
            }
            Kind::Teams => {
                asserted += 1;
                assert_eq!(
                    teams.as_deref(),
                    oracle(&p, &r),
                    "agent {a} (newest presence {p}, routing {r})"
                );
            }
            Kind::NoTeamsId | Kind::Unknown => {
                assert!(world.ms.set_calls_for(&agent.teams).is_empty());
                for outcome in outcomes_of_agent.get(&a).into_iter().flatten() {
                    assert!(
                        [
                            "skipped/no-teams-user",
                            "skipped/unchanged",
                            "skipped/stale",
                            "skipped/duplicate"
                        ]
                        .contains(&outcome.as_str()),
                        "agent {a} without a Teams user: {outcome}"
                    );
                }
            }
        }
    }
    assert!(
        asserted >= agent_count * 9 / 10,
        "only {asserted} of {agent_count} agents could be checked"
    );

    // --- No instance called Graph inside a Retry-After window it was given --------------------
    let mut by_instance: HashMap<String, Vec<RecordedCall<MsEndpoint>>> = HashMap::new();
    for call in world.ms.presence_calls() {
        by_instance
            .entry(call.authorization.clone().unwrap_or_default())
            .or_default()
            .push(call);
    }
    let mut throttled = 0;
    for calls in by_instance.values_mut() {
        calls.sort_by_key(|c| c.started);
        for (i, c) in calls.iter().enumerate() {
            let (429, Some(secs)) = (c.status, c.retry_after) else {
                continue;
            };
            throttled += 1;
            let open = c.finished + Duration::from_secs(secs);
            for later in &calls[i + 1..] {
                if later.started > c.finished {
                    assert!(
                        later.started >= open,
                        "a Graph call started {:?} into a {secs} s Retry-After window",
                        later.started - c.finished
                    );
                }
            }
        }
    }

    // --- The figures ---------------------------------------------------------------------------
    // A queue serves its faults in order; what is still pending at the end was not served.
    let pending = |queue: Queue| match queue {
        Queue::GraphPresence => world.ms.faults().pending(MsEndpoint::Presence),
        Queue::GraphToken => world.ms.faults().pending(MsEndpoint::Token),
        Queue::GenesysToken => world.genesys.faults().pending(GenesysEndpoint::Token),
        Queue::Scim => world.genesys.faults().pending(GenesysEndpoint::Scim),
    };
    let mut served: BTreeMap<&'static str, usize> = BTreeMap::new();
    for (queue, labels) in &scheduled {
        *injected.entry("(scheduled in all)").or_default() += labels.len();
        for label in &labels[..labels.len() - pending(*queue)] {
            *served.entry(label).or_default() += 1;
        }
    }
    let invalid_client = world
        .ms
        .calls()
        .iter()
        .filter(|c| c.kind == MsEndpoint::Token && c.status == 401)
        .count();
    assert!(
        invalid_client >= 1,
        "the rotation made a cached secret fail with invalid_client"
    );
    served.insert(
        "Azure token invalid_client after the secret rotation",
        invalid_client,
    );
    for (event, count) in &injected {
        if !event.starts_with('(') {
            served.insert(event, *count);
        }
    }
    let report = json!({
        "seed": seed,
        "agents": agents.len(),
        "agents_with_teams": agent_count,
        "events": events.len(),
        "deliveries": total,
        "duplicate_deliveries": duplicates,
        "instances": INSTANCES,
        "redeliveries": redeliveries.load(Ordering::SeqCst),
        "dead_lettered": dead_lettered,
        "dead_lettered_events": {
            "never_recorded": dead_never_recorded,
            "record_left_dirty": dead_dirty,
            "record_settled_since": dead_settled,
        },
        "lost": lost.len(),
        "ended_more_than_once": twice.len(),
        "agents_asserted": asserted,
        "agents_not_asserted_newest_event_dead_lettered": skipped_dead,
        "agents_treated_as_without_teams_after_scim_404": treated_as_no_teams,
        "graph_429_with_retry_after_honoured": throttled,
        "faults_scheduled": injected["(scheduled in all)"],
        "faults_served": served,
        "dynamodb_outage_ms": outage.map(|d| d.as_millis() as u64),
        "outcomes": outcomes,
        "graph_presence_calls": world.ms.presence_calls().len(),
        "elapsed_s": elapsed.as_secs_f64(),
    });
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
    let dir = presence_sync_tests::moto::repo_root().join("target/reliability");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("convergence.json"),
        serde_json::to_string_pretty(&report).unwrap(),
    )
    .unwrap();
}

/// A value with its version (ms after 08:00).
type Stamp = (String, i64);

/// Events lost before they reach us (a disabled rule, a paused partner source, a deploy
/// gap): a seeded share of the stream is dropped entirely, the rest delivered out of order;
/// one reconcile run later, every agent's Teams shows the mapped state of their current
/// Genesys state (Genesys reports each agent's newest presence and routing status, with
/// their times, through the Users API).
#[tokio::test]
async fn one_reconcile_run_converges_after_a_share_of_events_is_lost() {
    let seed: u64 = env_or("CONVERGENCE_SEED", 20_261_201);
    let mut rng = StdRng::seed_from_u64(seed);
    let world = World::start().await;
    let agents: Vec<Agent> = (0..30)
        .map(|_| {
            let agent = Agent {
                genesys: new_id(),
                teams: new_id(),
                kind: Kind::Teams,
            };
            world.genesys.add_user(&agent.genesys, Some(&agent.teams));
            world.ms.add_user(&agent.teams);
            agent
        })
        .collect();
    let mut events = generate(&mut rng, &agents);
    // Genesys's view now: each agent's newest presence and routing status.
    let mut newest: HashMap<usize, (Stamp, Stamp)> = HashMap::new();
    for event in &events {
        let entry = newest
            .entry(event.agent)
            .or_insert_with(|| (("OFFLINE".into(), -1), ("OFF_QUEUE".into(), -1)));
        if let Some((p, v)) = &event.presence
            && *v > entry.0.1
        {
            entry.0 = (p.clone(), *v);
        }
        if let Some((r, v)) = &event.routing
            && *v > entry.1.1
        {
            entry.1 = (r.clone(), *v);
        }
    }
    for (a, ((p, pv), (r, rv))) in &newest {
        let at = presence_sync_tests::events::at;
        world
            .genesys
            .set_state(&agents[*a].genesys, p, Some(&at(*pv)), r, Some(&at(*rv)));
    }
    // A third of the events never arrive; the rest arrive shuffled.
    events.retain(|_| !rng.random_bool(0.33));
    for i in (1..events.len()).rev() {
        events.swap(i, rng.random_range(0..=i));
    }
    let mapping = [("PRESENCE_MAPPING", MAPPING)];
    let instance = world.instance(&mapping);
    for event in &events {
        instance.invoke(event.value.clone()).await.unwrap();
    }
    let wrong_before = (0..agents.len())
        .filter(|a| {
            let ((p, _), (r, _)) = &newest[a];
            world.teams(&presence_sync_tests::world::Agent {
                genesys: agents[*a].genesys.clone(),
                teams: agents[*a].teams.clone(),
            }) != oracle(p, r).map(str::to_owned)
        })
        .count();
    assert!(wrong_before > 0, "the lost events left some agents wrong");

    let reconciler = world.reconciler(&mapping);
    let invocation = presence_core::service::Invocation {
        request_id: new_id(),
        deadline: std::time::SystemTime::now() + Duration::from_secs(60),
    };
    let outcome = reconciler.run(&invocation).await.unwrap();
    for (a, agent) in agents.iter().enumerate() {
        let ((p, _), (r, _)) = &newest[&a];
        let shown = world.teams(&presence_sync_tests::world::Agent {
            genesys: agent.genesys.clone(),
            teams: agent.teams.clone(),
        });
        assert_eq!(
            shown.as_deref(),
            oracle(p, r),
            "agent {a} ({p}, {r}) after one run ({wrong_before} wrong before): {outcome:?}"
        );
    }
}
