//! The shift-start model (issue 13) at 3 % scale, as a regression check: 600 agents against a
//! Graph limit cut to 3 % (45 writes per 30 s), so the burst binds Graph as 20,000 agents
//! bind the real 1,500. Paced, nothing is dead-lettered, every change reaches Teams, 429s stay
//! under 1 % and the calls add up; unpaced, the same burst meets 429s (the model still sees
//! the problem the pacing solves). `make bench-shift` runs the full-size grid.

use presence_sync_tests::shift_model::Params;
use presence_sync_tests::shift_model::report::Report;
use presence_sync_tests::shift_model::run::run_paused;

const AGENTS: usize = 600;

fn scaled(paced: bool) -> Report {
    let mut params = Params::new(AGENTS, 5);
    params.graph.limit = 45;
    params.paced_per_30s = paced.then_some(44);
    run_paused(params)
}

#[test]
fn paced_shift_start_drops_nothing_and_stays_under_the_limit() {
    let report = scaled(true);
    eprintln!("{}\n{}", Report::HEADER, report.row());
    assert!(report.ideal.p99 >= 1.0, "the scaled burst must bind Graph");
    assert_eq!(report.lambda.dead_lettered, 0);
    assert_eq!(report.never_shown, 0);
    assert_eq!(report.wrong_at_end, 0, "every agent ends showing its state");
    assert!(report.share_429() < 0.01, "429s: {}", report.share_429());
    assert!(
        report.ratio().unwrap() <= 1.25,
        "p99 ÷ ideal: {:?}",
        report.ratio()
    );
    // The calls add up: one invocation per event (no failure, so no retry), one Graph
    // request per change that lands (applied or cleared) plus the 429s, one DynamoDB write
    // per event that changes nothing and two per change, plus the Teams-id cache.
    let outcomes = &report.lambda.outcomes;
    let count = |key: &str| outcomes.get(key).copied().unwrap_or(0);
    assert_eq!(report.lambda.failed, 0, "{outcomes:?}");
    assert_eq!(report.lambda.invocations, report.events as u64);
    let landed = count("applied/changed") + count("cleared/changed");
    assert_eq!(report.graph_calls, landed + report.graph_429);
    assert!(landed as usize <= report.writes_needed);
    assert_eq!(
        report.directory_lookups, AGENTS,
        "one Teams-id lookup per agent"
    );
    let events = report.events as u64;
    let floor = events + landed;
    let ceiling = events + 2 * landed + landed + 2 * AGENTS as u64;
    let dynamo = report.dynamo_calls as u64;
    assert!(
        (floor..=ceiling).contains(&dynamo),
        "{floor} ≤ {dynamo} ≤ {ceiling}"
    );
}

#[test]
fn unpaced_the_same_burst_meets_graphs_limit() {
    let report = scaled(false);
    eprintln!("{}\n{}", Report::HEADER, report.row());
    assert!(report.share_429() > 0.01, "429s: {}", report.share_429());
    assert_eq!(
        report.wrong_at_end, 0,
        "throttling delays Teams, loses nothing"
    );
}
