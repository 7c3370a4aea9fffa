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
//! | `--reconciler N` | 0 | the reconciler's Graph writes per 30 s during the hour |
//! | `--dynamo-ms MS` | 6 | latency of each DynamoDB call |
//! | `--graph-ms MS` | 120 | median Graph latency (log-normal, sigma 0.5) |
//! | `--overhead-ms MS` | 10 | Lambda's time per invocation outside the handler |
//! | `--seed N` | 42 | the workload's seed |

use presence_sync_tests::shift_model::Params;
use presence_sync_tests::shift_model::report::Report;
use presence_sync_tests::shift_model::run::run_paused;
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

fn main() {
    let mut agents = vec![20_000];
    let mut concurrency = vec![25];
    let mut base = Params::new(0, 0);
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
            "--reconciler" => base.graph.reconciler_per_window = one(value()) as u32,
            "--dynamo-ms" => base.dynamo = Duration::from_millis(one(value())),
            "--graph-ms" => base.graph.median = Duration::from_millis(one(value())),
            "--overhead-ms" => base.lambda.overhead = Duration::from_millis(one(value())),
            "--seed" => base.seed = one(value()),
            other => usage(&format!("unknown option {other}")),
        }
    }
    println!(
        "mapping {:?}, max event age {} s, reconciler {}/30 s, DynamoDB {} ms, Graph median {} ms, overhead {} ms, seed {}",
        base.mapping,
        base.lambda.max_event_age.as_secs(),
        base.graph.reconciler_per_window,
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
            let report = run_paused(params);
            println!("{}", report.row());
            if report.reconciler_calls > 0 {
                println!(
                    "  reconciler: {} calls, {} answered 429",
                    report.reconciler_calls, report.reconciler_429
                );
            }
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
    }
}
