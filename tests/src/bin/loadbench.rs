//! Load benchmark: the built `presence-sync` binary (release by default) driven through the
//! Lambda Runtime API against moto and the fake Genesys / Microsoft servers, with a one-way
//! network delay injected in the fakes, over a seeded, realistic stream of Genesys events.
//!
//! `bash scripts/bench-load.sh` (builds the release binary, then runs this). Options:
//!
//! | flag | default | meaning |
//! |---|---|---|
//! | `--agents N` | 1000 | agents; each goes On Queue once during the shift start |
//! | `--shift-secs S` | 60 | the shift start spreads the agents' first events over S seconds |
//! | `--day-events N` | 4000 | changes during the day after the shift start (then every agent signs out) |
//! | `--graph-ms MS` | 20 | one-way delay of every request to the fake Microsoft (Graph and its token endpoint) |
//! | `--genesys-ms MS` | 20 | one-way delay of every request to the fake Genesys (SCIM and its token endpoint) |
//! | `--aws-ms MS` | 0 | one-way delay of every DynamoDB / Secrets Manager request (added by a proxy in front of moto) |
//! | `--cold-starts N` | 20 | fresh processes started to time the cold start |
//! | `--seed N` | 42 | the stream generator's seed |
//! | `--json PATH` | — | also write every figure as JSON |
//! | `--bootstrap PATH` | `target/lambda-arm64/lambda/presence-sync/bootstrap` | the arm64 artifact whose size is reported (built by `scripts/bench-size.sh`) |
//!
//! The binary comes from `runtime_api::binary_path` (`PRESENCE_SYNC_PROFILE=release` picks
//! `target/release/presence-sync`). Events are replayed one at a time, back to back, to one
//! warm instance (as Lambda does within one execution environment), so that every remote call
//! can be attributed to the event that made it.

use presence_sync_tests::aws::env_for;
use presence_sync_tests::aws_proxy::AwsProxy;
use presence_sync_tests::events::{activity, presence, routing};
use presence_sync_tests::fake_genesys::GenesysEndpoint;
use presence_sync_tests::fake_microsoft::MsEndpoint;
use presence_sync_tests::runtime_api::{LambdaProcess, RuntimeApi, binary_path};
use presence_sync_tests::world::World;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const FUNCTION: &str = "presence-sync";
const TIMEOUT: Duration = Duration::from_secs(10);

struct Options {
    agents: usize,
    shift_secs: u64,
    day_events: usize,
    graph: Duration,
    genesys: Duration,
    aws: Duration,
    cold_starts: usize,
    seed: u64,
    json: Option<PathBuf>,
    bootstrap: PathBuf,
}

impl Options {
    fn parse() -> Options {
        let mut options = Options {
            agents: 1000,
            shift_secs: 60,
            day_events: 4000,
            graph: Duration::from_millis(20),
            genesys: Duration::from_millis(20),
            aws: Duration::ZERO,
            cold_starts: 20,
            seed: 42,
            json: None,
            bootstrap: presence_sync_tests::moto::repo_root()
                .join("target/lambda-arm64/lambda/presence-sync/bootstrap"),
        };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            let mut value = || {
                args.next()
                    .unwrap_or_else(|| usage(&format!("{flag} needs a value")))
            };
            let number = |raw: String| -> u64 {
                raw.parse()
                    .unwrap_or_else(|_| usage(&format!("{raw} is not a number")))
            };
            match flag.as_str() {
                "--agents" => options.agents = number(value()) as usize,
                "--shift-secs" => options.shift_secs = number(value()),
                "--day-events" => options.day_events = number(value()) as usize,
                "--graph-ms" => options.graph = Duration::from_millis(number(value())),
                "--genesys-ms" => options.genesys = Duration::from_millis(number(value())),
                "--aws-ms" => options.aws = Duration::from_millis(number(value())),
                "--cold-starts" => options.cold_starts = number(value()) as usize,
                "--seed" => options.seed = number(value()),
                "--json" => options.json = Some(PathBuf::from(value())),
                "--bootstrap" => options.bootstrap = PathBuf::from(value()),
                "-h" | "--help" => usage(""),
                other => usage(&format!("unknown option {other}")),
            }
        }
        if options.agents == 0 {
            usage("--agents must be at least 1");
        }
        options
    }
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("loadbench: {problem}");
    }
    eprintln!(
        "usage: loadbench [--agents N] [--shift-secs S] [--day-events N] [--graph-ms MS] \
         [--genesys-ms MS] [--aws-ms MS] [--cold-starts N] [--seed N] [--json PATH] [--bootstrap PATH]"
    );
    std::process::exit(if problem.is_empty() { 0 } else { 2 })
}

// ---------------------------------------------------------------------------------------
// The stream
// ---------------------------------------------------------------------------------------

#[derive(Clone)]
struct Agent {
    genesys: String,
    teams: String,
}

/// What the generator meant an event to be (the function's answer is what is measured).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    ShiftStart,
    Day,
    SignOut,
}

struct StreamEvent {
    agent: usize,
    phase: Phase,
    payload: Value,
}

fn seeded_id(rng: &mut StdRng) -> String {
    uuid::Builder::from_random_bytes(rng.random())
        .into_uuid()
        .to_string()
}

/// Replaces the random EventBridge id the builders put in with a seeded one.
fn with_id(mut event: Value, rng: &mut StdRng) -> Value {
    event["id"] = json!(seeded_id(rng));
    event
}

const PRESENCES: [&str; 9] = [
    "AVAILABLE",
    "BREAK",
    "MEAL",
    "ON_QUEUE",
    "BUSY",
    "MEETING",
    "TRAINING",
    "AWAY",
    "IDLE",
];
const ROUTING: [&str; 5] = [
    "INTERACTING",
    "IDLE",
    "NOT_RESPONDING",
    "COMMUNICATING",
    "OFF_QUEUE",
];

/// A shift start (every agent goes On Queue within `shift_secs`), a day of changes (presence,
/// routing status, both at once; some delivered twice, some late), then every agent signs out.
fn stream(options: &Options, agents: &[Agent], rng: &mut StdRng) -> Vec<StreamEvent> {
    let mut events = Vec::new();
    let shift_ms = (options.shift_secs * 1000).max(1) as i64;
    let mut starts: Vec<(i64, usize)> = (0..agents.len())
        .map(|i| (rng.random_range(0..shift_ms), i))
        .collect();
    starts.sort();
    // The newest presence version per agent, for late (stale) events.
    let mut newest = vec![0i64; agents.len()];
    for (t, i) in starts {
        newest[i] = t;
        let payload = with_id(activity(&agents[i].genesys, "ON_QUEUE", t, "IDLE", t), rng);
        events.push(StreamEvent {
            agent: i,
            phase: Phase::ShiftStart,
            payload,
        });
    }

    let day_ms: i64 = 8 * 3600 * 1000;
    let gap = (day_ms / options.day_events.max(1) as i64).max(2);
    let mut t = shift_ms;
    for _ in 0..options.day_events {
        t += rng.random_range(1..2 * gap);
        let i = rng.random_range(0..agents.len());
        let user = &agents[i].genesys;
        let roll: f64 = rng.random();
        let payload = if roll < 0.04 && !events.is_empty() {
            // EventBridge delivers at least once: the previous event again, same id.
            let last = events.last().expect("not empty");
            events.push(StreamEvent {
                agent: last.agent,
                phase: Phase::Day,
                payload: last.payload.clone(),
            });
            continue;
        } else if roll < 0.07 {
            // A late event, older than what the agent already has.
            let late = (newest[i] - rng.random_range(1_000..120_000)).max(0);
            let p = PRESENCES[rng.random_range(0..PRESENCES.len())];
            presence(user, p, late)
        } else if roll < 0.40 {
            routing(user, ROUTING[rng.random_range(0..ROUTING.len())], t)
        } else if roll < 0.50 {
            newest[i] = t;
            let p = PRESENCES[rng.random_range(0..PRESENCES.len())];
            let r = ROUTING[rng.random_range(0..ROUTING.len())];
            activity(user, p, t, r, t)
        } else {
            newest[i] = t;
            presence(user, PRESENCES[rng.random_range(0..PRESENCES.len())], t)
        };
        events.push(StreamEvent {
            agent: i,
            phase: Phase::Day,
            payload: with_id(payload, rng),
        });
    }

    let mut order: Vec<usize> = (0..agents.len()).collect();
    for k in (1..order.len()).rev() {
        order.swap(k, rng.random_range(0..=k));
    }
    for i in order {
        t += rng.random_range(1..200);
        let payload = with_id(presence(&agents[i].genesys, "OFFLINE", t), rng);
        events.push(StreamEvent {
            agent: i,
            phase: Phase::SignOut,
            payload,
        });
    }
    events
}

// ---------------------------------------------------------------------------------------
// Measuring
// ---------------------------------------------------------------------------------------

/// Remote calls by kind, as counted by the fakes and the AWS proxy.
#[derive(Clone, Copy, Debug, Default)]
struct Calls {
    graph: usize,
    graph_token: usize,
    genesys_token: usize,
    scim: usize,
    dynamodb: usize,
    secrets: usize,
}

impl Calls {
    fn minus(self, before: Calls) -> Calls {
        Calls {
            graph: self.graph - before.graph,
            graph_token: self.graph_token - before.graph_token,
            genesys_token: self.genesys_token - before.genesys_token,
            scim: self.scim - before.scim,
            dynamodb: self.dynamodb - before.dynamodb,
            secrets: self.secrets - before.secrets,
        }
    }

    fn json(self) -> Value {
        json!({
            "graph": self.graph, "graphToken": self.graph_token,
            "genesysToken": self.genesys_token, "scim": self.scim,
            "dynamodb": self.dynamodb, "secretsManager": self.secrets,
        })
    }
}

fn calls(world: &World, proxy: &AwsProxy) -> Calls {
    let ms = world.ms.recorder();
    let genesys = world.genesys.recorder();
    Calls {
        graph: ms.count(MsEndpoint::Presence),
        graph_token: ms.count(MsEndpoint::Token),
        genesys_token: genesys.count(GenesysEndpoint::Token),
        scim: genesys.count(GenesysEndpoint::Scim),
        dynamodb: proxy.dynamodb_calls(),
        secrets: proxy.secrets_manager_calls(),
    }
}

/// User + system CPU time of a process (all its threads, dead ones included).
fn cpu_time(pid: u32) -> Duration {
    let (user, system) = cpu_split(pid);
    user + system
}

/// User and system CPU time of a process, separately.
fn cpu_split(pid: u32) -> (Duration, Duration) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of stat(5); `rest` starts at field 3.
    let hz = clock_ticks() as f64;
    (
        Duration::from_secs_f64(ticks(11) as f64 / hz),
        Duration::from_secs_f64(ticks(12) as f64 / hz),
    )
}

fn clock_ticks() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100)
}

/// A `Vm*` line of /proc/<pid>/status, in KiB.
fn vm_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn function_env(world: &World, proxy: &AwsProxy, runtime: &RuntimeApi) -> Vec<(String, String)> {
    let mut env = world.function_env();
    env.extend(env_for(&proxy.endpoint()));
    env.extend(runtime.lambda_env(FUNCTION));
    // Lambda's structured logs, as the README recommends: one JSON line per event.
    env.push(("AWS_LAMBDA_LOG_FORMAT".into(), "JSON".into()));
    env
}

/// One measured invocation.
struct Sample {
    phase: Phase,
    category: &'static str,
    outcome: String,
    wall: Duration,
    calls: Calls,
    /// Time the AWS proxy spent waiting for moto during this event.
    emulator: Duration,
    /// The injected delays of the calls this event truly needed.
    needed: Duration,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median_f64(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    values[(values.len() - 1) / 2]
}

#[tokio::main]
async fn main() {
    let options = Options::parse();
    let binary = binary_path(FUNCTION);
    let profile = std::env::var("PRESENCE_SYNC_PROFILE").unwrap_or_else(|_| "debug".into());
    if profile != "release" {
        eprintln!(
            "loadbench: warning: measuring the {profile} binary; set PRESENCE_SYNC_PROFILE=release \
             (scripts/bench-load.sh does) for the figures docs/performance.md reports"
        );
    }
    eprintln!("loadbench: {} ({profile})", binary.display());

    let world = World::start().await;
    let proxy = AwsProxy::start(&world.moto).await;
    proxy.set_delay(options.aws);
    world.ms.set_latency(options.graph);
    world.genesys.set_latency(options.genesys);

    let mut rng = StdRng::seed_from_u64(options.seed);
    let agents: Vec<Agent> = (0..options.agents)
        .map(|_| {
            let agent = Agent {
                genesys: seeded_id(&mut rng),
                teams: seeded_id(&mut rng),
            };
            world.genesys.add_user(&agent.genesys, Some(&agent.teams));
            world.ms.add_user(&agent.teams);
            agent
        })
        .collect();
    let events = stream(&options, &agents, &mut rng);

    // Cold start: spawn → first GET /runtime/invocation/next, fresh process each time.
    let mut cold = Vec::new();
    let mut cold_rss = Vec::new();
    for _ in 0..options.cold_starts {
        let runtime = RuntimeApi::start_for(FUNCTION).await;
        let env = function_env(&world, &proxy, &runtime);
        let spawned = Instant::now();
        let mut process = LambdaProcess::spawn(&binary, env);
        if !runtime.wait_for_polls(1, Duration::from_secs(10)).await {
            panic!(
                "the function did not poll within 10 s: {:#?}",
                process.logs()
            );
        }
        let first_poll = runtime.first_poll_at().expect("polled");
        cold.push(first_poll.saturating_duration_since(spawned));
        if let Some(pid) = process.id() {
            cold_rss.push(vm_kib(pid, "VmHWM"));
        }
        process.kill().await;
    }
    cold.sort();

    // The stream, through one instance.
    let runtime = RuntimeApi::start_for(FUNCTION).await;
    let env = function_env(&world, &proxy, &runtime);
    let spawned = Instant::now();
    let mut process = LambdaProcess::spawn(&binary, env);
    let pid = process.id().expect("the function runs");
    assert!(
        runtime.wait_for_polls(1, Duration::from_secs(10)).await,
        "the function did not poll: {:#?}",
        process.logs()
    );
    let init_wall = runtime
        .first_poll_at()
        .expect("polled")
        .saturating_duration_since(spawned);
    let cpu_init = cpu_time(pid);
    let split_init = cpu_split(pid);
    let rss_init = vm_kib(pid, "VmHWM");

    let mut seen: HashSet<usize> = HashSet::new();
    let mut samples: Vec<Sample> = Vec::with_capacity(events.len());
    let mut cpu_at_phase: BTreeMap<&'static str, Duration> = BTreeMap::new();
    let mut phase = Phase::ShiftStart;
    let started = Instant::now();
    let mut failures = 0usize;
    for (n, event) in events.iter().enumerate() {
        if event.phase != phase {
            cpu_at_phase.insert(phase_name(phase), cpu_time(pid));
            phase = event.phase;
        }
        let before = calls(&world, &proxy);
        let emulator_before = proxy.upstream_time();
        let invocation = runtime.invoke(event.payload.clone(), TIMEOUT).await;
        let delta = calls(&world, &proxy).minus(before);
        let emulator = proxy.upstream_time().saturating_sub(emulator_before);
        let outcome = match &invocation.result {
            Ok(report) => format!(
                "{}/{}",
                report["outcome"].as_str().unwrap_or("?"),
                report["reason"].as_str().unwrap_or("?")
            ),
            Err(failure) => {
                failures += 1;
                if failures <= 5 {
                    eprintln!("loadbench: event {n} failed: {failure:?}");
                }
                "failed".to_owned()
            }
        };
        let first_for_agent = seen.insert(event.agent);
        let applied = outcome.starts_with("applied/") || outcome.starts_with("cleared/");
        let category = if n == 0 {
            "first event"
        } else if first_for_agent {
            "first-time user"
        } else if applied {
            "applied"
        } else {
            match outcome.as_str() {
                "skipped/unchanged" => "unchanged",
                "skipped/duplicate" => "duplicate",
                "skipped/stale" => "stale",
                _ => "other",
            }
        };
        // The physical limit: the Graph call of a change, the Teams id lookup of an agent new
        // to this instance, both tokens and secrets for the first event, one state write.
        let mut needed = options.aws;
        if applied {
            needed += options.graph;
        }
        if first_for_agent {
            needed += options.genesys;
        }
        if n == 0 {
            needed += options.graph + options.genesys + 2 * options.aws;
        }
        samples.push(Sample {
            phase: event.phase,
            category,
            outcome,
            wall: invocation.elapsed,
            calls: delta,
            emulator,
            needed,
        });
        if (n + 1) % 1000 == 0 {
            eprintln!(
                "loadbench: {} / {} events, {:.0} s",
                n + 1,
                events.len(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    cpu_at_phase.insert(phase_name(phase), cpu_time(pid));
    let stream_wall = started.elapsed();
    let cpu_end = cpu_time(pid);
    let split_end = cpu_split(pid);
    let split = (
        split_end.0.saturating_sub(split_init.0),
        split_end.1.saturating_sub(split_init.1),
    );
    let rss_peak = vm_kib(pid, "VmHWM");
    let rss_now = vm_kib(pid, "VmRSS");
    let threads = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Threads:").map(|v| v.trim().to_owned()))
        .unwrap_or_default();
    process.kill().await;

    report(
        &options,
        &binary,
        &profile,
        &cold,
        &cold_rss,
        init_wall,
        cpu_init,
        rss_init,
        &samples,
        &cpu_at_phase,
        stream_wall,
        cpu_end,
        split,
        rss_peak,
        rss_now,
        &threads,
        failures,
    );
}

fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::ShiftStart => "shift start",
        Phase::Day => "day",
        Phase::SignOut => "sign-out",
    }
}

#[allow(clippy::too_many_arguments)]
fn report(
    options: &Options,
    binary: &std::path::Path,
    profile: &str,
    cold: &[Duration],
    cold_rss: &[u64],
    init_wall: Duration,
    cpu_init: Duration,
    rss_init: u64,
    samples: &[Sample],
    cpu_at_phase: &BTreeMap<&'static str, Duration>,
    stream_wall: Duration,
    cpu_end: Duration,
    split: (Duration, Duration),
    rss_peak: u64,
    rss_now: u64,
    threads: &str,
    failures: usize,
) {
    let events = samples.len();
    let cpu_stream = cpu_end.saturating_sub(cpu_init);
    let cold_median = percentile(cold, 50.0);
    println!("# presence-sync load benchmark\n");
    println!(
        "binary {} ({profile}), {} agents, {} events (seed {}), injected one-way delay: Graph {} ms, Genesys {} ms, AWS {} ms\n",
        binary.display(),
        options.agents,
        events,
        options.seed,
        options.graph.as_millis(),
        options.genesys.as_millis(),
        options.aws.as_millis()
    );
    println!(
        "cold start (spawn → first GET /next), {} starts: median {:.2} ms, min {:.2} ms, max {:.2} ms; peak RSS at first poll median {} KiB",
        cold.len(),
        ms(cold_median),
        ms(cold.first().copied().unwrap_or_default()),
        ms(cold.last().copied().unwrap_or_default()),
        median_f64(cold_rss.iter().map(|&k| k as f64).collect())
    );
    println!(
        "measured instance: init {:.2} ms wall, {:.1} ms CPU; stream {:.1} s wall for {} events, {} failed",
        ms(init_wall),
        ms(cpu_init),
        stream_wall.as_secs_f64(),
        events,
        failures
    );
    println!(
        "CPU (user+sys) per event over the stream: {:.0} µs ({:.3} s / {} events; user {:.0} µs + sys {:.0} µs per event); by phase: {}",
        cpu_stream.as_secs_f64() * 1e6 / events.max(1) as f64,
        cpu_stream.as_secs_f64(),
        events,
        split.0.as_secs_f64() * 1e6 / events.max(1) as f64,
        split.1.as_secs_f64() * 1e6 / events.max(1) as f64,
        phases(samples, cpu_init, cpu_at_phase)
    );
    println!(
        "memory: peak RSS (VmHWM) {} KiB = {:.1} MiB; RSS at the end {} KiB; at first poll {} KiB; threads {}\n",
        rss_peak,
        rss_peak as f64 / 1024.0,
        rss_now,
        rss_init,
        threads
    );

    println!(
        "| outcome | events | wall p50 ms | wall p99 ms | emulator (moto) p50 ms | overhead ratio p50 | ratio p50 without moto | Graph | Graph token | Genesys token | SCIM | DynamoDB | Secrets Manager |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let categories = [
        "first event",
        "first-time user",
        "applied",
        "unchanged",
        "duplicate",
        "stale",
        "other",
    ];
    let mut by_category = serde_json::Map::new();
    for category in categories {
        let group: Vec<&Sample> = samples.iter().filter(|s| s.category == category).collect();
        if group.is_empty() {
            continue;
        }
        let mut walls: Vec<Duration> = group.iter().map(|s| s.wall).collect();
        walls.sort();
        let mut emulator: Vec<Duration> = group.iter().map(|s| s.emulator).collect();
        emulator.sort();
        let ratios: Vec<f64> = group
            .iter()
            .filter(|s| !s.needed.is_zero())
            .map(|s| s.wall.as_secs_f64() / s.needed.as_secs_f64())
            .collect();
        let ratios_without_moto: Vec<f64> = group
            .iter()
            .filter(|s| !s.needed.is_zero())
            .map(|s| s.wall.saturating_sub(s.emulator).as_secs_f64() / s.needed.as_secs_f64())
            .collect();
        let n = group.len() as f64;
        let mean =
            |f: fn(&Calls) -> usize| group.iter().map(|s| f(&s.calls) as f64).sum::<f64>() / n;
        let max = |f: fn(&Calls) -> usize| group.iter().map(|s| f(&s.calls)).max().unwrap_or(0);
        let cell = |f: fn(&Calls) -> usize| {
            let (mean, max) = (mean(f), max(f));
            if (mean - max as f64).abs() < 1e-9 {
                format!("{max}")
            } else {
                format!("{mean:.2} (max {max})")
            }
        };
        let ratio = median_f64(ratios.clone());
        let ratio_wo = median_f64(ratios_without_moto.clone());
        let fmt_ratio = |r: f64| {
            if r.is_nan() {
                "—".to_owned()
            } else {
                format!("{r:.3}")
            }
        };
        println!(
            "| {category} | {} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {} | {} | {} | {} | {} |",
            group.len(),
            ms(percentile(&walls, 50.0)),
            ms(percentile(&walls, 99.0)),
            ms(percentile(&emulator, 50.0)),
            fmt_ratio(ratio),
            fmt_ratio(ratio_wo),
            cell(|c| c.graph),
            cell(|c| c.graph_token),
            cell(|c| c.genesys_token),
            cell(|c| c.scim),
            cell(|c| c.dynamodb),
            cell(|c| c.secrets),
        );
        let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
        for s in &group {
            *outcomes.entry(s.outcome.as_str()).or_default() += 1;
        }
        by_category.insert(
            category.to_owned(),
            json!({
                "events": group.len(),
                "outcomes": outcomes,
                "wallP50Ms": ms(percentile(&walls, 50.0)),
                "wallP99Ms": ms(percentile(&walls, 99.0)),
                "emulatorP50Ms": ms(percentile(&emulator, 50.0)),
                "overheadRatioP50": if ratio.is_nan() { Value::Null } else { json!(ratio) },
                "overheadRatioP50WithoutEmulator": if ratio_wo.is_nan() { Value::Null } else { json!(ratio_wo) },
                "callsMean": {
                    "graph": mean(|c| c.graph), "graphToken": mean(|c| c.graph_token),
                    "genesysToken": mean(|c| c.genesys_token), "scim": mean(|c| c.scim),
                    "dynamodb": mean(|c| c.dynamodb), "secretsManager": mean(|c| c.secrets),
                },
                "callsMax": {
                    "graph": max(|c| c.graph), "graphToken": max(|c| c.graph_token),
                    "genesysToken": max(|c| c.genesys_token), "scim": max(|c| c.scim),
                    "dynamodb": max(|c| c.dynamodb), "secretsManager": max(|c| c.secrets),
                },
            }),
        );
    }
    let bootstrap_bytes = std::fs::metadata(&options.bootstrap).ok().map(|m| m.len());
    match bootstrap_bytes {
        Some(bytes) => println!(
            "stripped arm64 bootstrap {}: {bytes} bytes = {:.2} MB",
            options.bootstrap.display(),
            bytes as f64 / 1e6
        ),
        None => println!(
            "stripped arm64 bootstrap: {} not built; `bash scripts/bench-size.sh` builds it",
            options.bootstrap.display()
        ),
    }
    let first = samples.first().map(|s| s.calls).unwrap_or_default();
    let total = samples.iter().fold(Calls::default(), |acc, s| Calls {
        graph: acc.graph + s.calls.graph,
        graph_token: acc.graph_token + s.calls.graph_token,
        genesys_token: acc.genesys_token + s.calls.genesys_token,
        scim: acc.scim + s.calls.scim,
        dynamodb: acc.dynamodb + s.calls.dynamodb,
        secrets: acc.secrets + s.calls.secrets,
    });
    println!(
        "\nremote calls, whole stream ({} events): Graph {}, Graph token {}, Genesys token {}, SCIM {}, DynamoDB {}, Secrets Manager {}",
        events,
        total.graph,
        total.graph_token,
        total.genesys_token,
        total.scim,
        total.dynamodb,
        total.secrets
    );

    if let Some(path) = &options.json {
        let document = json!({
            "binary": binary.display().to_string(),
            "profile": profile,
            "agents": options.agents,
            "events": events,
            "seed": options.seed,
            "delayMs": {"graph": options.graph.as_millis() as u64, "genesys": options.genesys.as_millis() as u64, "aws": options.aws.as_millis() as u64},
            "coldStartMs": {"median": ms(cold_median), "all": cold.iter().map(|d| ms(*d)).collect::<Vec<_>>()},
            "coldStartPeakRssKiB": cold_rss,
            "initWallMs": ms(init_wall),
            "initCpuMs": ms(cpu_init),
            "cpuPerEventUs": cpu_stream.as_secs_f64() * 1e6 / events.max(1) as f64,
            "cpuUserPerEventUs": split.0.as_secs_f64() * 1e6 / events.max(1) as f64,
            "cpuSysPerEventUs": split.1.as_secs_f64() * 1e6 / events.max(1) as f64,
            "peakRssKiB": rss_peak,
            "bootstrapBytes": bootstrap_bytes,
            "streamWallS": stream_wall.as_secs_f64(),
            "failures": failures,
            "firstEventCalls": first.json(),
            "totalCalls": total.json(),
            "byOutcome": by_category,
        });
        std::fs::write(
            path,
            serde_json::to_string_pretty(&document).expect("serialises"),
        )
        .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        eprintln!("loadbench: wrote {}", path.display());
    }
}

/// CPU per event in each phase of the stream.
fn phases(
    samples: &[Sample],
    cpu_init: Duration,
    cpu_at_phase: &BTreeMap<&'static str, Duration>,
) -> String {
    let order = [Phase::ShiftStart, Phase::Day, Phase::SignOut];
    let mut previous = cpu_init;
    let mut parts = Vec::new();
    for phase in order {
        let name = phase_name(phase);
        if let Some(&at) = cpu_at_phase.get(name) {
            let cpu = at.saturating_sub(previous);
            let n = samples.iter().filter(|s| s.phase == phase).count().max(1);
            parts.push(format!(
                "{name} {:.0} µs/event ({:.3} s / {n})",
                cpu.as_secs_f64() * 1e6 / n as f64,
                cpu.as_secs_f64()
            ));
            previous = at;
        }
    }
    parts.join(", ")
}
