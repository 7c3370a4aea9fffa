//! The shift-start model (issue 13): runs the library's real event path through a model of
//! Lambda's asynchronous invocation and Graph's presence limit, in virtual time, and prints
//! one markdown row per run (`docs/performance.md`, "Shift start at scale").
//!
//! `make bench-shift` runs the documented grid. Options (lists are comma-separated; every
//! combination of `--agents` and `--concurrency` runs):
//!
//! | flag | default | meaning |
//! |---|---|---|
//! | `--agents N,…` | 20000 | agents on the floor |
//! | `--concurrency C,…` | 25 | reserved concurrency |
//! | `--paced N` | — | pace Graph writes to N per 30 s for the whole function (`adapters::paced`); unpaced without it |
//! | `--max-age S` | 900 | maximum event age, seconds |
//! | `--routing-rules` | off | the mapping with routing rules (every interaction two Teams writes) |
//! | `--reconciler` | off | the production reconciler on its schedule (every 5 min, 290 s, 20 % of Graph's and Genesys's limits, `PRESENCE_EXPIRATION` = `--expiry`), on the floor of `--prior-away` |
//! | `--last-sweep MIN` | 30 | with `--reconciler`: minutes since the last directory sweep at 07:50 (`SWEEP_EVERY_MINUTES` is 60: with 60 or more the first run sweeps) |
//! | `--teams-ids-expiring` | off | with `--prior-away` or `--reconciler`: the day after, the Teams ids cached before the hour expire over 07:50–08:20 (yesterday's shift-start lookups); each Genesys lookup takes 250 ms |
//! | `--prior-away` | off | every agent recorded Away (its Teams id cached) and Teams showing it, applied at a time uniform over the 50 minutes before 07:50 (the expiry less two reconcile periods); without it the floor is unseen |
//! | `--scope N` | — | `SYNC_SCOPE` names a division holding the first N agents (issue 21); the floor before the hour holds only them; each Genesys lookup takes 250 ms |
//! | `--memberships M` | cold | with `--scope`: `cold` (each agent's division looked up at their first event), `cached` (in the table until after the hour) or `expiring` (the day after: yesterday's answers expire over 07:50–08:20, the agents out of scope let go yesterday) |
//! | `--watcher` | off | the watcher (`presence-watch`, Teams → Genesys) on its schedule (a run every 5 minutes, `WATCH_PERIOD_SECONDS` 10, 10 % of Graph's limit, 90 % of its own Genesys client's, `ON_QUEUE_POLICY=take-off`), the function in `PRESENCE_MODE=two-way`; `--meetings S` of the agents join a meeting or take a call once in the hour |
//! | `--meetings S` | 0.2 | with `--watcher`: the share of agents with a meeting or call |
//! | `--watch-genesys-share P` | 90 | with `--watcher`: `WATCH_GENESYS_SHARE_PERCENT`, its share of its Genesys client's 300 a minute (90 on a client of its own, as make deploy makes it; 20 on the client the other functions use) |
//! | `--watch-run S` | 300 | with `--watcher`: the schedule's period in seconds, each run's timeout 2 s less (template.yaml: `rate(5 minutes)`, 298 s; 60 for the runs of a minute before) |
//! | `--watch-graph-share P` | 10 | with `--watcher`: `WATCH_GRAPH_SHARE_PERCENT`, its share of Graph's limit |
//! | `--genesys-limit N` | 300 | with `--watcher`: `GENESYS_LIMIT_PER_MINUTE`, the Genesys client's requests a minute (a limit raised through Genesys support) |
//! | `--teams-ids T` | cached | with `--watcher`: `cached` (every Teams id in the table at 07:50) or `cold` (looked up as needed: the first day) |
//! | `--expiry MIN` | 60 | `PRESENCE_EXPIRATION` in minutes (keep-alive, lapses) |
//! | `--dynamo-ms MS` | 6 | latency of each DynamoDB call |
//! | `--graph-limit N` | 1500 | Graph's presence limit per 30 s (the suite's scaled check: 45) |
//! | `--graph-ms MS` | 120 | median Graph latency (log-normal, sigma 0.5) |
//! | `--overhead-ms MS` | 10 | Lambda's time per invocation outside the handler |
//! | `--seed N` | 42 | the workload's seed |

use presence_sync_tests::shift_model::Params;
use presence_sync_tests::shift_model::figures::clock_time;
use presence_sync_tests::shift_model::reconciler::ReconcilerParams;
use presence_sync_tests::shift_model::report::Report;
use presence_sync_tests::shift_model::run::run_paused;
use presence_sync_tests::shift_model::scoped::Memberships;
use presence_sync_tests::shift_model::watcher::TeamsIds;
use presence_sync_tests::shift_model::workload::Mapping;
use std::time::Duration;

fn usage(problem: &str) -> ! {
    eprintln!("shiftmodel: {problem}\nsee tests/src/bin/shiftmodel.rs for the options");
    std::process::exit(2)
}

fn numbers(raw: &str) -> Vec<u64> {
    raw.split(',')
        .map(|n| {
            n.trim()
                .parse()
                .unwrap_or_else(|_| usage(&format!("{n} is not a number")))
        })
        .collect()
}

/// A share of a limit, 1 to 100 per cent (as the configuration takes it).
fn percent(raw: &str) -> u32 {
    match raw.trim().parse::<u32>() {
        Ok(p @ 1..=100) => p,
        _ => usage(&format!("a share takes 1 to 100 (per cent), not {raw}")),
    }
}

/// The options: agent counts, concurrencies, and the rest of the parameters.
struct Options {
    agents: Vec<u64>,
    concurrency: Vec<u64>,
    base: Params,
    reconciler: bool,
}

fn options() -> Options {
    let mut agents = vec![20_000];
    let mut concurrency = vec![25];
    let mut base = Params::new(0, 0);
    let (mut reconciler, mut prior_away) = (false, false);
    let mut last_sweep = None;
    let (mut in_scope, mut memberships) = (None, Memberships::Cold);
    let (mut watcher, mut meetings, mut teams_ids) = (false, None, TeamsIds::Cached);
    let (mut genesys_share, mut graph_share, mut genesys_limit) = (None, None, None);
    let mut watch_run: Option<u64> = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{flag} needs a value")))
        };
        let one = |raw: String| numbers(&raw)[0];
        match flag.as_str() {
            "--agents" => agents = numbers(&value()),
            "--concurrency" => concurrency = numbers(&value()),
            "--paced" => base.paced_per_30s = Some(one(value()) as u32),
            "--max-age" => base.lambda.max_event_age = Duration::from_secs(one(value())),
            "--routing-rules" => base.mapping = Mapping::RoutingRules,
            "--reconciler" => reconciler = true,
            "--prior-away" => prior_away = true,
            "--teams-ids-expiring" => base.teams_ids_expiring = true,
            "--last-sweep" => last_sweep = Some(Duration::from_secs(one(value()) * 60)),
            "--watcher" => watcher = true,
            "--teams-ids" => match value().as_str() {
                "cached" => teams_ids = TeamsIds::Cached,
                "cold" => teams_ids = TeamsIds::Cold,
                other => usage(&format!("--teams-ids takes cached or cold, not {other}")),
            },
            "--watch-genesys-share" => genesys_share = Some(percent(&value())),
            "--watch-run" => match numbers(&value())[..] {
                [seconds] if (10..=900).contains(&seconds) => watch_run = Some(seconds),
                _ => usage("--watch-run takes one period of 10 to 900 seconds"),
            },
            "--watch-graph-share" => graph_share = Some(percent(&value())),
            "--genesys-limit" => match one(value()) {
                limit @ 1..=100_000 => genesys_limit = Some(limit as u32),
                _ => usage("--genesys-limit takes 1 to 100000 requests a minute"),
            },
            "--meetings" => {
                let raw = value();
                match raw.trim().parse::<f64>() {
                    Ok(share) if (0.0..=1.0).contains(&share) => meetings = Some(share),
                    _ => usage(&format!("--meetings takes a share from 0 to 1, not {raw}")),
                }
            }
            "--scope" => in_scope = Some(one(value()) as usize),
            "--memberships" => match value().as_str() {
                "cold" => memberships = Memberships::Cold,
                "cached" => memberships = Memberships::Cached,
                "expiring" => memberships = Memberships::Expiring,
                other => usage(&format!(
                    "--memberships takes cold, cached or expiring, not {other}"
                )),
            },
            "--expiry" => match one(value()) {
                minutes @ 11..=1440 => base.expiry = Duration::from_secs(60 * minutes),
                _ => usage("--expiry takes 11 to 1440 minutes (longer than two reconcile periods)"),
            },
            "--dynamo-ms" => base.dynamo = Duration::from_millis(one(value())),
            "--graph-limit" => base.graph.limit = one(value()) as usize,
            "--graph-ms" => base.graph.median = Duration::from_millis(one(value())),
            "--overhead-ms" => base.lambda.overhead = Duration::from_millis(one(value())),
            "--seed" => base.seed = one(value()),
            other => usage(&format!("unknown option {other}")),
        }
    }
    if reconciler {
        base = base.with_reconciler();
        if let (Some(ago), Some(params)) = (last_sweep, base.reconciler.as_mut()) {
            params.last_sweep = ago;
        }
    } else if prior_away {
        base = base.prior_away();
    }
    if watcher && reconciler {
        // Each reads its own copy of Genesys: the reconciler would not see the watcher's writes.
        usage("--watcher runs without --reconciler");
    }
    if watcher {
        base = base.with_watcher();
        if let Some(w) = base.watcher.as_mut() {
            w.share = meetings.unwrap_or(w.share);
            w.teams_ids = teams_ids;
            w.genesys_share_percent = genesys_share.unwrap_or(w.genesys_share_percent);
            if let Some(every) = watch_run {
                w.every = std::time::Duration::from_secs(every);
                w.timeout = std::time::Duration::from_secs(every - 2);
            }
            w.graph_share_percent = graph_share.unwrap_or(w.graph_share_percent);
            w.genesys_limit_per_minute = genesys_limit.unwrap_or(w.genesys_limit_per_minute);
        }
    }
    if base.teams_ids_expiring {
        base.lookup_latency = ReconcilerParams::default().genesys_latency;
    }
    if let Some(n) = in_scope {
        base = base.scoped(n, memberships);
    }
    Options {
        agents,
        concurrency,
        base,
        reconciler,
    }
}

/// One run's row, what the reconciler did, and (on stderr) what to look into.
fn print(report: &Report) {
    println!("{}", report.row());
    if let Some(figures) = &report.reconciler {
        for line in figures.lines((0.0, 15.0 * 60.0)) {
            println!("{line}");
        }
    }
    if let Some(scope) = &report.scope {
        let genesys = ReconcilerParams::default();
        let limit = genesys.genesys_limit_per_minute;
        for line in scope.lines(limit, genesys.genesys_share_percent) {
            println!("{line}");
        }
    }
    if let Some(watcher) = &report.watcher {
        let minutes = (report.params.watched_until_s() / 60.0) as usize;
        for line in watcher.lines(minutes) {
            println!("{line}");
        }
    }
    println!(
        "lapsed by {} (a preferred presence {} min without a write): {} agents",
        clock_time(report.params.watched_until_s()),
        report.params.expiry.as_secs() / 60,
        report.lapsed
    );
    eprintln!(
        "  outcomes: {:?}; retried {}; cold starts {}; peak busy {}; drained at {:.0} s; directory lookups {}",
        report.lambda.outcomes,
        report.lambda.retried,
        report.lambda.cold_starts,
        report.lambda.peak_busy,
        report.drained_s,
        report.directory_lookups
    );
    if let Some((lag, change)) = report.worst {
        eprintln!("  largest lag: {lag} ms, {change:?}");
    }
}

fn main() {
    // SHIFT_LOG: the library's warnings on stderr (what failed, and why).
    if std::env::var_os("SHIFT_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_writer(std::io::stderr)
            .init();
    }
    let Options {
        agents,
        concurrency,
        base,
        reconciler,
    } = options();
    println!(
        "mapping {:?}, max event age {} s, before the hour {:?}, reconciler {}, scope {:?}, expiry {} min, DynamoDB {} ms, Graph median {} ms, overhead {} ms, seed {}",
        base.mapping,
        base.lambda.max_event_age.as_secs(),
        base.prior,
        if reconciler { "running" } else { "off" },
        base.scope,
        base.expiry.as_secs() / 60,
        base.dynamo.as_millis(),
        base.graph.median.as_millis(),
        base.lambda.overhead.as_millis(),
        base.seed
    );
    println!("{}", Report::HEADER);
    for &n in &agents {
        for &c in &concurrency {
            let mut params = base;
            params.agents = n as usize;
            params.lambda.concurrency = c as usize;
            print(&run_paused(params));
        }
    }
}
