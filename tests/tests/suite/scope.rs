//! SYNC_SCOPE against moto and the contract fakes (docs/design.md, "Scope"): out-of-scope
//! events cost no Graph call, an exclusion clears once and then nothing, a division change
//! clears, a re-inclusion syncs again, and a scoped deployment of 1,000 agents with 300 in
//! scope writes Teams for those 300 only.

use presence_core::service::Invocation;
use presence_core::service::reconcile::{PassOutcome, PassReport};
use presence_sync_tests::events::{activity, at, presence};
use presence_sync_tests::world::{Agent, World};
use std::time::{Duration, SystemTime};

const DIVISION: &str = "0a0a0a0a-0000-4000-8000-00000000000a";
const ELSEWHERE: &str = "0e0e0e0e-0000-4000-8000-00000000000e";
const QUEUE: &str = "0c0c0c0c-0000-4000-8000-00000000000c";

fn scoped() -> [(&'static str, String); 1] {
    [("SYNC_SCOPE", format!("division:{DIVISION}"))]
}

fn env<'a>(pairs: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    pairs.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// An agent in `division`, On Queue in Genesys since `ms`.
fn agent_in(world: &World, division: &str, ms: i64) -> Agent {
    let agent = world.agent();
    world
        .genesys
        .set_membership(&agent.genesys, Some(division), Some(&[]), Some(&[]));
    let since = at(ms);
    world.genesys.set_state(
        &agent.genesys,
        "On Queue",
        Some(&since),
        "IDLE",
        Some(&since),
    );
    agent
}

async fn run(world: &World, extra: &[(&str, &str)]) -> PassReport {
    let invocation = Invocation {
        request_id: presence_sync_tests::events::event_id(),
        deadline: SystemTime::now() + Duration::from_secs(120),
    };
    match world.reconciler(extra).run(&invocation).await.unwrap() {
        PassOutcome::Worked(report) => report,
        held => panic!("{held:?}"),
    }
}

#[tokio::test]
async fn an_out_of_scope_event_costs_no_graph_call_and_its_membership_is_read_once() {
    let world = World::start().await;
    world
        .genesys
        .add_scope_entity("division", DIVISION, "Wave 1");
    let outside = agent_in(&world, ELSEWHERE, 1_000);
    let scope = scoped();
    let instance = world.instance(&env(&scope));
    for (n, state) in ["ON_QUEUE", "BREAK", "AVAILABLE"].iter().enumerate() {
        let ms = 1_000 * (n as i64 + 1);
        let outcome = instance
            .outcome(presence(&outside.genesys, state, ms))
            .await;
        assert_eq!(outcome, "skipped/out-of-scope");
    }
    assert_eq!(world.graph_calls(&outside), 0);
    let lookups = world.genesys.user_calls();
    assert_eq!(lookups.len(), 1, "one membership lookup: {lookups:?}");
    assert_eq!(lookups[0].query.as_deref(), Some("expand=groups"));
}

#[tokio::test]
async fn a_division_change_clears_once_and_a_return_syncs_again() {
    let world = World::start().await;
    let agent = agent_in(&world, DIVISION, 1_000);
    let scope = scoped();
    let instance = world.instance(&env(&scope));
    let outcome = instance
        .outcome(activity(&agent.genesys, "ON_QUEUE", 1_000, "IDLE", 1_000))
        .await;
    assert_eq!(outcome, "applied/changed");
    // Moved to another division: the reconciler's walk reads it with the agent's presence.
    world
        .genesys
        .set_membership(&agent.genesys, Some(ELSEWHERE), None, None);
    let report = run(&world, &env(&scope)).await;
    assert_eq!(report.let_go, 1, "{report:?}");
    assert_eq!(world.teams(&agent), None, "what we set is cleared");
    let calls = world.graph_calls(&agent);
    // The event path agrees at once (the walk cached what it read), and writes nothing.
    let since = at(2_000);
    world.genesys.set_state(
        &agent.genesys,
        "Break",
        Some(&since),
        "OFF_QUEUE",
        Some(&since),
    );
    let outcome = instance
        .outcome(presence(&agent.genesys, "BREAK", 2_000))
        .await;
    assert_eq!(outcome, "skipped/out-of-scope");
    assert_eq!(run(&world, &env(&scope)).await.let_go, 0, "once");
    assert_eq!(world.graph_calls(&agent), calls);
    // Back in the division: synced again from Genesys's state now.
    world
        .genesys
        .set_membership(&agent.genesys, Some(DIVISION), None, None);
    let report = run(&world, &env(&scope)).await;
    assert_eq!(report.rejoined, 1, "{report:?}");
    assert_eq!(
        world.teams(&agent).as_deref(),
        Some("Away/Away"),
        "on Break now"
    );
}

#[tokio::test]
async fn an_agent_who_leaves_a_scoped_queue_is_cleared_by_their_next_activity_event() {
    let world = World::start().await;
    let agent = agent_in(&world, ELSEWHERE, 1_000);
    let scope = [("SYNC_SCOPE", format!("queue:{QUEUE}"))];
    let instance = world.instance(&env(&scope));
    let mut on = activity(&agent.genesys, "ON_QUEUE", 1_000, "IDLE", 1_000);
    on["detail"]["eventBody"]["activeQueueIds"] = serde_json::json!([QUEUE]);
    assert_eq!(instance.outcome(on).await, "applied/changed");
    let mut off = activity(&agent.genesys, "ON_QUEUE", 1_000, "IDLE", 2_000);
    off["detail"]["eventBody"]["activeQueueIds"] = serde_json::json!([]);
    assert_eq!(instance.outcome(off).await, "cleared/reconciled");
    assert_eq!(world.teams(&agent), None);
    assert!(world.genesys.user_calls().is_empty(), "the events said");
}

#[tokio::test]
async fn a_scoped_deployment_writes_teams_for_the_agents_in_scope_only() {
    let world = World::start().await;
    let scope = scoped();
    let mut inside = Vec::new();
    for n in 0..1_000 {
        let division = if n % 10 < 3 { DIVISION } else { ELSEWHERE };
        let agent = agent_in(&world, division, 1_000);
        if division == DIVISION {
            inside.push(agent);
        }
    }
    // The first run backfills: Genesys holds every agent On Queue, nobody is recorded yet.
    let report = run(&world, &env(&scope)).await;
    assert!(report.sweep_completed, "{report:?}");
    assert_eq!(report.backfilled, 300, "{report:?}");
    let writes = world.ms.calls().into_iter().filter(|c| {
        c.path.ends_with("/presence/setUserPreferredPresence")
            || c.path.ends_with("/presence/clearUserPreferredPresence")
    });
    let written: std::collections::HashSet<String> = writes
        .map(|c| c.path.split('/').nth(3).unwrap_or_default().to_owned())
        .collect();
    let expected: std::collections::HashSet<String> =
        inside.iter().map(|a| a.teams.clone()).collect();
    assert_eq!(
        written, expected,
        "Graph writes for the 300 in scope, and no other"
    );
    assert!(
        world.genesys.user_calls().is_empty(),
        "memberships from the bulk reads"
    );
}
