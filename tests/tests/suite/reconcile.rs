//! presence-reconcile against moto and the contract fakes: each behaviour from a realistic
//! situation (docs/design.md, "The reconciler"). The same rules run in milliseconds on the
//! in-memory adapters in shared/src/service/reconcile/tests.rs.

use presence_core::service::Invocation;
use presence_core::service::reconcile::{PassOutcome, PassReport};
use presence_sync_tests::events::{activity, at, presence};
use presence_sync_tests::fake_genesys::GenesysEndpoint;
use presence_sync_tests::fake_microsoft::MsEndpoint;
use presence_sync_tests::fault::Fault;
use presence_sync_tests::world::{Agent, World};
use std::time::{Duration, SystemTime};

fn invocation(secs: u64) -> Invocation {
    Invocation {
        request_id: presence_sync_tests::events::event_id(),
        deadline: SystemTime::now() + Duration::from_secs(secs),
    }
}

/// One run with a 60-second deadline; its report.
async fn run(world: &World, extra: &[(&str, &str)]) -> PassReport {
    let reconciler = world.reconciler(extra);
    match reconciler
        .run(&invocation(60))
        .await
        .expect("the run works")
    {
        PassOutcome::Worked(report) => report,
        held => panic!("the run did not work: {held:?}"),
    }
}

/// The agent's activity event: On Queue and idle since 1 000 ms, as Genesys then reports.
fn on_queue(agent: &Agent) -> serde_json::Value {
    activity(&agent.genesys, "ON_QUEUE", 1_000, "OFF_QUEUE", 1_000)
}

/// Genesys now reports the agent in `system` since `ms` (and off queue since then).
fn genesys_now(world: &World, agent: &Agent, system: &str, ms: i64) {
    world.genesys.set_state(
        &agent.genesys,
        system,
        Some(&at(ms)),
        "OFF_QUEUE",
        Some(&at(ms)),
    );
}

#[tokio::test]
async fn an_event_that_went_to_the_failure_queue_is_settled_by_the_next_run() {
    let world = World::start().await;
    let agent = world.agent();
    let instance = world.instance(&[]);
    // Graph fails the event's call and its retries: the record is left dirty.
    world
        .ms
        .faults()
        .push_n(MsEndpoint::Presence, Fault::status(503), 1_000);
    let failed = instance
        .invoke_within(on_queue(&agent), Duration::from_secs(3))
        .await;
    assert!(failed.is_err(), "{failed:?}");
    world.ms.faults().clear();
    genesys_now(&world, &agent, "On Queue", 1_000);
    let report = run(&world, &[]).await;
    assert_eq!(report.settled, 1, "{report:?}");
    assert_eq!(world.teams(&agent).as_deref(), Some("Busy/Busy"));
}

#[tokio::test]
async fn an_event_never_delivered_is_recovered_from_genesys() {
    let world = World::start().await;
    let agent = world.agent();
    let instance = world.instance(&[]);
    instance
        .outcome(presence(&agent.genesys, "ON_QUEUE", 1_000))
        .await;
    // The agent goes on break; the event is lost before it reaches us.
    genesys_now(&world, &agent, "Break", 2_000);
    let report = run(&world, &[]).await;
    assert_eq!(report.recovered, 1, "{report:?}");
    assert_eq!(world.teams(&agent).as_deref(), Some("Away/Away"));
    // The lost event, delivered late after all, is not applied twice (its version is
    // recorded and Teams shows it), and an older one does not win.
    let calls = world.graph_calls(&agent);
    assert_eq!(
        instance
            .outcome(presence(&agent.genesys, "BREAK", 2_000))
            .await,
        "skipped/unchanged"
    );
    assert_eq!(
        instance
            .outcome(presence(&agent.genesys, "AVAILABLE", 1_500))
            .await,
        "skipped/stale"
    );
    assert_eq!(world.graph_calls(&agent), calls);
}

#[tokio::test]
async fn a_run_asks_genesys_for_one_token_for_its_bulk_reads_and_its_teams_id_lookups() {
    let world = World::start().await;
    let agent = world.agent();
    let instance = world.instance(&[]);
    instance
        .outcome(presence(&agent.genesys, "ON_QUEUE", 1_000))
        .await;
    // The table no longer holds the agent's Teams id (expired): recovering the lost event
    // below looks it up in SCIM, beside the run's bulk reads of the Users API.
    world
        .dynamodb()
        .delete_item()
        .table_name(&world.table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("teams-id#{}", agent.genesys)),
        )
        .send()
        .await
        .unwrap();
    genesys_now(&world, &agent, "Break", 2_000);
    let (tokens, calls) = (world.genesys.token_requests(), world.genesys.calls().len());
    let report = run(&world, &[]).await;
    assert_eq!(report.recovered, 1, "{report:?}");
    assert_eq!(world.teams(&agent).as_deref(), Some("Away/Away"));
    let ran = world.genesys.calls().split_off(calls);
    let lookup = ran
        .iter()
        .find(|c| c.kind == GenesysEndpoint::Scim && c.path.ends_with(agent.genesys.as_str()))
        .expect("the run looked the Teams id up in SCIM");
    let bulk = ran
        .iter()
        .find(|c| c.kind == GenesysEndpoint::Users)
        .expect("the run read Genesys in bulk");
    assert_eq!(
        world.genesys.token_requests() - tokens,
        1,
        "one Genesys token per reconciler process"
    );
    assert_eq!(lookup.authorization, bulk.authorization);
}

#[tokio::test]
async fn an_agent_on_queue_before_deployment_is_backfilled_by_the_first_run() {
    let world = World::start().await;
    let agent = world.agent();
    genesys_now(&world, &agent, "On Queue", 1_000);
    let report = run(&world, &[]).await;
    assert!(report.sweep_completed, "{report:?}");
    assert!(report.backfilled >= 1, "{report:?}");
    assert_eq!(world.teams(&agent).as_deref(), Some("Busy/Busy"));
}

#[tokio::test]
async fn a_preferred_presence_about_to_expire_is_re_sent_with_its_expiration() {
    let world = World::start().await;
    let agent = world.agent();
    let expiring = [("PRESENCE_EXPIRATION", "PT1H")];
    world
        .instance(&expiring)
        .outcome(presence(&agent.genesys, "ON_QUEUE", 1_000))
        .await;
    genesys_now(&world, &agent, "On Queue", 1_000);
    // A fresh one is left alone.
    let report = run(&world, &expiring).await;
    assert_eq!(report.kept_alive, 0, "{report:?}");
    // Applied 55 minutes ago: it would expire before the pass after next.
    let old = (SystemTime::now() - Duration::from_secs(55 * 60))
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .to_string();
    world
        .dynamodb()
        .update_item()
        .table_name(&world.table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("user#{}", agent.genesys)),
        )
        .update_expression("SET applied_at = :old")
        .expression_attribute_values(":old", aws_sdk_dynamodb::types::AttributeValue::N(old))
        .send()
        .await
        .unwrap();
    let before = world.graph_calls(&agent);
    let report = run(&world, &expiring).await;
    assert_eq!(report.kept_alive, 1, "{report:?}");
    assert_eq!(world.graph_calls(&agent), before + 1);
    let (availability, _, expiration) = world.ms.preferred_presence(&agent.teams).unwrap();
    assert_eq!(availability, "Busy");
    assert_eq!(expiration.as_deref(), Some("PT1H"));
}

#[tokio::test]
async fn a_user_who_changed_teams_by_hand_is_reported_or_repaired_by_policy() {
    let world = World::start().await;
    let agent = world.agent();
    world.instance(&[]).outcome(on_queue(&agent)).await;
    genesys_now(&world, &agent, "On Queue", 1_000);
    world
        .ms
        .set_teams_presence_by_hand(&agent.teams, "Available", "Available");
    let before = world.graph_calls(&agent);
    let report = run(&world, &[("DRIFT_POLICY", "report")]).await;
    assert_eq!(
        (report.drift_found, report.drift_repaired),
        (1, 0),
        "{report:?}"
    );
    assert_eq!(
        world.graph_calls(&agent),
        before,
        "report leaves Teams alone"
    );
    let report = run(&world, &[("DRIFT_POLICY", "repair")]).await;
    assert_eq!(
        (report.drift_found, report.drift_repaired),
        (1, 1),
        "{report:?}"
    );
    assert_eq!(world.ms.shown_presence(&agent.teams).0, "Busy");
}

/// Sets when Graph last accepted the agent's preferred presence (ms before now).
async fn applied_ago(world: &World, agent: &Agent, ago_ms: i64) {
    let at = presence_core::service::now_ms() - ago_ms;
    world
        .dynamodb()
        .update_item()
        .table_name(&world.table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("user#{}", agent.genesys)),
        )
        .update_expression("SET applied_at = :at")
        .expression_attribute_values(
            ":at",
            aws_sdk_dynamodb::types::AttributeValue::N(at.to_string()),
        )
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_user_with_no_teams_session_is_never_drift_but_is_still_kept_alive() {
    let world = World::start().await;
    let agent = world.agent();
    world.instance(&[]).outcome(on_queue(&agent)).await;
    genesys_now(&world, &agent, "On Queue", 1_000);
    world.ms.set_has_session(&agent.teams, false);
    let before = world.graph_calls(&agent);
    let expiring = [("DRIFT_POLICY", "repair"), ("PRESENCE_EXPIRATION", "PT1H")];
    for _ in 0..2 {
        let report = run(&world, &expiring).await;
        assert_eq!(
            (report.no_session, report.drift_found),
            (1, 0),
            "{report:?}"
        );
    }
    assert_eq!(world.graph_calls(&agent), before, "no session is no drift");
    // Teams stays closed for longer than PRESENCE_EXPIRATION: the preferred presence is
    // re-sent before it expires all the same, so that it shows when Teams opens again.
    applied_ago(&world, &agent, 55 * 60_000).await;
    let report = run(&world, &expiring).await;
    assert_eq!(report.kept_alive, 1, "{report:?}");
    assert_eq!(world.graph_calls(&agent), before + 1);
}

#[tokio::test]
async fn a_deactivated_agent_is_cleared_once_and_then_left_alone() {
    let world = World::start().await;
    let (gone, stays) = (world.agent(), world.agent());
    let instance = world.instance(&[]);
    for agent in [&gone, &stays] {
        instance.outcome(on_queue(agent)).await;
        genesys_now(&world, agent, "On Queue", 1_000);
    }
    world.genesys.set_active(&gone.genesys, false);
    let report = run(&world, &[]).await;
    assert_eq!(report.let_go, 1, "{report:?}");
    assert_eq!(world.teams(&gone), None, "our Busy is cleared");
    assert_eq!(world.teams(&stays).as_deref(), Some("Busy/Busy"));
    // Then left alone, keep-alive due or not.
    applied_ago(&world, &gone, 30 * 3_600_000).await;
    let calls = world.graph_calls(&gone);
    let report = run(&world, &[]).await;
    assert_eq!((report.let_go, report.kept_alive), (0, 0), "{report:?}");
    assert_eq!(world.graph_calls(&gone), calls);
    // Reactivated: synced again from Genesys's current state.
    world.genesys.set_active(&gone.genesys, true);
    let report = run(&world, &[]).await;
    assert_eq!(report.rejoined, 1, "{report:?}");
    assert_eq!(world.teams(&gone).as_deref(), Some("Busy/Busy"));
}

#[tokio::test]
async fn an_event_of_a_deactivated_agent_leaves_their_teams_alone() {
    let world = World::start().await;
    let agent = world.agent();
    // Deactivated in Genesys before we ever looked up their Teams id.
    world.genesys.set_active(&agent.genesys, false);
    let outcome = world.instance(&[]).outcome(on_queue(&agent)).await;
    assert_eq!(outcome, "skipped/no-teams-user");
    assert_eq!(world.graph_calls(&agent), 0);
}

#[tokio::test]
async fn a_poisoned_record_is_repaired_from_genesys() {
    let world = World::start().await;
    let agent = world.agent();
    let instance = world.instance(&[]);
    instance
        .outcome(presence(&agent.genesys, "ON_QUEUE", 1_000))
        .await;
    // A version from the year 9999, stored before the skew bound existed.
    world
        .dynamodb()
        .update_item()
        .table_name(&world.table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("user#{}", agent.genesys)),
        )
        .update_expression("SET presence_version = :future")
        .expression_attribute_values(
            ":future",
            aws_sdk_dynamodb::types::AttributeValue::N("253402300799999".into()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        instance
            .outcome(presence(&agent.genesys, "BREAK", 2_000))
            .await,
        "skipped/stale",
        "poisoned: every later event looks stale"
    );
    genesys_now(&world, &agent, "Break", 2_000);
    let report = run(&world, &[]).await;
    assert_eq!(report.poisoned_repaired, 1, "{report:?}");
    assert_eq!(world.teams(&agent).as_deref(), Some("Away/Away"));
    assert_eq!(
        instance
            .outcome(presence(&agent.genesys, "AVAILABLE", 3_000))
            .await,
        "applied/changed",
        "events order normally again"
    );
}

#[tokio::test]
async fn throttling_by_graph_and_genesys_during_a_pass_loses_nothing() {
    let world = World::start().await;
    let agents: Vec<Agent> = (0..3).map(|_| world.agent()).collect();
    let instance = world.instance(&[]);
    for agent in &agents {
        instance
            .outcome(presence(&agent.genesys, "ON_QUEUE", 1_000))
            .await;
        genesys_now(&world, agent, "Break", 2_000);
    }
    world
        .ms
        .faults()
        .push_n(MsEndpoint::Presence, Fault::throttled(1), 2);
    world.genesys.faults().push_n(
        presence_sync_tests::fake_genesys::GenesysEndpoint::Users,
        Fault::throttled(1),
        1,
    );
    let first = run(&world, &[]).await;
    let second = run(&world, &[]).await;
    // An action has one Graph attempt's time (policy::RECONCILE_ACTION_TIME): a recovery whose
    // write met two 429s is recorded but not applied, and the next run settles it.
    assert_eq!(
        first.recovered + second.recovered + second.settled,
        3,
        "{first:?} {second:?}"
    );
    for agent in &agents {
        assert_eq!(world.teams(agent).as_deref(), Some("Away/Away"));
    }
}

#[tokio::test]
async fn two_runs_at_once_never_both_work() {
    let world = World::start().await;
    let agent = world.agent();
    genesys_now(&world, &agent, "On Queue", 1_000);
    let (a, b) = (world.reconciler(&[]), world.reconciler(&[]));
    let (first, second) = (invocation(60), invocation(60));
    let (x, y) = tokio::join!(a.run(&first), b.run(&second));
    let outcomes = [x.unwrap(), y.unwrap()];
    let worked = outcomes
        .iter()
        .filter(|o| matches!(o, PassOutcome::Worked(_)))
        .count();
    let held = outcomes
        .iter()
        .filter(|o| matches!(o, PassOutcome::HeldByAnother { .. }))
        .count();
    assert_eq!((worked, held), (1, 1), "{outcomes:?}");
    assert_eq!(world.graph_calls(&agent), 1, "applied once");
}

#[tokio::test]
async fn a_run_killed_midway_loses_nothing_and_the_next_run_finishes_its_work() {
    let world = World::start().await;
    let agents: Vec<Agent> = (0..4).map(|_| world.agent()).collect();
    let instance = world.instance(&[]);
    for agent in &agents {
        instance
            .outcome(presence(&agent.genesys, "ON_QUEUE", 1_000))
            .await;
        genesys_now(&world, agent, "Break", 2_000);
    }
    // Graph answers slowly: the run is killed (its future dropped, as a timed-out Lambda
    // is frozen) while it is in the middle of its Graph calls.
    world.ms.set_latency(Duration::from_millis(400));
    let killed = world.reconciler(&[]);
    let started = std::time::Instant::now();
    let cut = tokio::time::timeout(Duration::from_millis(1_500), killed.run(&invocation(7))).await;
    assert!(cut.is_err(), "the run was cut short: {cut:?}");
    world.ms.set_latency(Duration::ZERO);
    let applied = agents
        .iter()
        .filter(|a| world.teams(a).as_deref() == Some("Away/Away"))
        .count();
    assert!(applied < agents.len(), "killed midway: {applied} applied");
    // The killed run's leases (the run's and a user's) end one second after its deadline.
    tokio::time::sleep(Duration::from_secs(8).saturating_sub(started.elapsed())).await;
    let report = run(&world, &[]).await;
    assert!(report.walk_completed, "{report:?}");
    for agent in &agents {
        assert_eq!(world.teams(agent).as_deref(), Some("Away/Away"));
    }
}
