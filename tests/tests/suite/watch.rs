//! presence-watch against moto and the contract fakes: the watcher built as its function
//! builds it (DynamoDB table, Secrets Manager, the Users API presence PATCH and definitions,
//! Graph's `getPresencesByUserId` over the fake's aggregation model), and the event function
//! taking the watcher's own Genesys writes back. The same rules run in virtual time on the
//! in-memory adapters in shared/src/service/watch/tests.rs.

use presence_core::service::Invocation;
use presence_core::service::watch::WatchReport;
use presence_sync_tests::events::{activity, at};
use presence_sync_tests::fake_genesys::GenesysEndpoint;
use presence_sync_tests::fault::Fault;
use presence_sync_tests::world::{Agent, Instance, World};
use serde_json::Value;
use std::time::{Duration, SystemTime};

const TWO_WAY: (&str, &str) = ("PRESENCE_MODE", "two-way");
const TAKE_OFF: (&str, &str) = ("ON_QUEUE_POLICY", "take-off");
const MEETING: &str = "bbdff279-7ae1-48ea-bade-7831d7234c64";
const BUSY: &str = "31fe3bac-dea6-44b7-bed7-47f91660a1a0";
/// A client limit ten times the default, so that the watcher's share (20 %) has a slot every
/// 100 ms and one run of these tests fits its reads and writes in a 1.5-s window. Its pacing
/// is tested in virtual time (shared/src/service/watch/tests.rs).
const ROOMY: (&str, &str) = ("GENESYS_LIMIT_PER_MINUTE", "3000");

fn invocation(secs: u64) -> Invocation {
    Invocation {
        request_id: presence_sync_tests::events::event_id(),
        deadline: SystemTime::now() + Duration::from_secs(secs),
    }
}

/// One reconciler run (two-way, a minute's deadline): its report.
async fn reconcile(world: &World) -> presence_core::service::reconcile::PassReport {
    let reconciler = world.reconciler(&[TWO_WAY]);
    match reconciler
        .run(&invocation(60))
        .await
        .expect("the run works")
    {
        presence_core::service::reconcile::PassOutcome::Worked(report) => report,
        held => panic!("the run did not work: {held:?}"),
    }
}

/// One watcher run with a 5-second deadline (its work ends 1.5 s before: room for the secret,
/// the token and the reads on a loaded machine): one poll.
async fn watch(world: &World, extra: &[(&str, &str)]) -> WatchReport {
    let mut vars = vec![TWO_WAY, ROOMY];
    vars.extend_from_slice(extra);
    let watcher = presence_core::app::Watcher::build_with(&world.config(&vars), &world.sdk)
        .expect("the watcher's configuration is valid");
    let invocation = invocation(5);
    watcher.run(&invocation).await.expect("the run works")
}

/// An agent signed in to Teams, whom Genesys shows in `presence` (`routing`) since 1 000 ms,
/// recorded by the event function (in two-way mode) from that activity event.
async fn agent_in(world: &World, sync: &Instance, presence: &str, routing: &str) -> Agent {
    let agent = world.agent();
    world.ms.sign_in(&agent.teams);
    let rest = presence.replace('_', " ");
    let spelled = match presence {
        "ON_QUEUE" => "On Queue".to_owned(),
        _ => rest[..1].to_owned() + &rest[1..].to_ascii_lowercase(),
    };
    world.genesys.set_state(
        &agent.genesys,
        &spelled,
        Some(&at(1_000)),
        routing,
        Some(&at(1_000)),
    );
    sync.invoke(activity(&agent.genesys, presence, 1_000, routing, 1_000))
        .await
        .expect("the activity event is applied");
    agent
}

/// The Genesys events of the watcher's writes, delivered to the event function: outcomes.
async fn echoes(world: &World, sync: &Instance) -> Vec<String> {
    let mut outcomes = Vec::new();
    for event in world.genesys.drain_presence_events() {
        outcomes.push(sync.outcome(event).await);
    }
    outcomes
}

fn shown(world: &World, agent: &Agent) -> Option<(String, String)> {
    let presence: Value = world.genesys.user_presence(&agent.genesys)?;
    let definition = presence["presenceDefinition"]["id"].as_str()?.to_owned();
    let message = presence["message"].as_str().unwrap_or_default().to_owned();
    Some((definition, message))
}

#[tokio::test]
async fn a_teams_meeting_takes_an_on_queue_agent_off_and_its_end_puts_them_back_with_no_echo() {
    let world = World::start().await;
    let sync = world.instance(&[TWO_WAY]);
    let agent = agent_in(&world, &sync, "ON_QUEUE", "IDLE").await;
    assert_eq!(
        world.teams(&agent),
        None,
        "two-way writes nothing over On Queue"
    );
    world.ms.join_meeting(&agent.teams);
    let report = watch(&world, &[TAKE_OFF]).await;
    assert_eq!((report.taken_off, report.failed), (1, 0), "{report:?}");
    assert_eq!(
        shown(&world, &agent),
        Some((MEETING.to_owned(), "In a Teams meeting".to_owned()))
    );
    assert_eq!(echoes(&world, &sync).await, ["skipped/echo"]);
    world.ms.leave_meeting(&agent.teams);
    let report = watch(&world, &[TAKE_OFF]).await;
    assert_eq!((report.restored, report.taken_off), (1, 0), "{report:?}");
    let back = world
        .genesys
        .user_presence(&agent.genesys)
        .expect("a presence");
    assert_eq!(back["presenceDefinition"]["systemPresence"], "On Queue");
    assert_eq!(back["message"], "", "the watcher's message is taken away");
    assert_eq!(echoes(&world, &sync).await, ["skipped/unchanged"]);
    assert_eq!(
        world.graph_calls(&agent),
        0,
        "no Graph write in either echo"
    );
    let report = watch(&world, &[TAKE_OFF]).await;
    assert_eq!((report.restored, report.taken_off), (0, 0), "{report:?}");
    assert_eq!(world.genesys.presence_writes().len(), 2);
}

#[tokio::test]
async fn leave_keeps_on_queue_agents_and_a_call_takes_an_available_agent_to_busy() {
    let world = World::start().await;
    let sync = world.instance(&[TWO_WAY]);
    let queued = agent_in(&world, &sync, "ON_QUEUE", "IDLE").await;
    let available = agent_in(&world, &sync, "AVAILABLE", "OFF_QUEUE").await;
    world.ms.start_call(&queued.teams);
    world.ms.start_call(&available.teams);
    let report = watch(&world, &[]).await;
    assert_eq!(report.taken_off, 1, "{report:?}");
    assert_eq!(report.skipped.get("on-queue-left"), Some(&1), "{report:?}");
    assert_eq!(
        shown(&world, &available),
        Some((BUSY.to_owned(), "On a Teams call".to_owned()))
    );
    let queued_now = world.genesys.user_presence(&queued.genesys).unwrap();
    assert_eq!(
        queued_now["presenceDefinition"]["systemPresence"],
        "On Queue"
    );
}

#[tokio::test]
async fn an_interacting_an_offline_and_a_masked_agent_are_never_changed() {
    let world = World::start().await;
    let sync = world.instance(&[TWO_WAY]);
    let interacting = agent_in(&world, &sync, "ON_QUEUE", "INTERACTING").await;
    let offline = agent_in(&world, &sync, "OFFLINE", "OFF_QUEUE").await;
    // On break: our preferred Away hides the meeting from Graph's reads.
    let on_break = agent_in(&world, &sync, "BREAK", "OFF_QUEUE").await;
    assert!(
        world.teams(&on_break).is_some(),
        "Break sets a preferred presence"
    );
    for agent in [&interacting, &offline, &on_break] {
        world.ms.join_meeting(&agent.teams);
    }
    let report = watch(&world, &[TAKE_OFF]).await;
    assert_eq!(report.taken_off, 0, "{report:?}");
    for reason in ["interacting", "offline"] {
        assert_eq!(report.skipped.get(reason), Some(&1), "{reason}: {report:?}");
    }
    // Graph answers our preferred presence for the agent on break, not the meeting: nothing
    // the rules map, so not even a closer look.
    assert_eq!(report.looked, 2, "{report:?}");
    assert_eq!(
        world.ms.shown_presence(&on_break.teams),
        ("Away".to_owned(), "Away".to_owned())
    );
    assert!(world.genesys.presence_calls().is_empty());
}

#[tokio::test]
async fn the_agent_back_on_queue_during_the_meeting_wins() {
    let world = World::start().await;
    let sync = world.instance(&[TWO_WAY]);
    let agent = agent_in(&world, &sync, "ON_QUEUE", "IDLE").await;
    world.ms.join_meeting(&agent.teams);
    watch(&world, &[TAKE_OFF]).await;
    echoes(&world, &sync).await;
    // The agent goes back On Queue by hand, in the meeting.
    let later = 3_600_000;
    world.genesys.set_state(
        &agent.genesys,
        "On Queue",
        Some(&at(later)),
        "IDLE",
        Some(&at(later)),
    );
    sync.invoke(activity(&agent.genesys, "ON_QUEUE", later, "IDLE", later))
        .await
        .expect("applied");
    let report = watch(&world, &[TAKE_OFF]).await;
    assert_eq!((report.overridden, report.taken_off), (1, 0), "{report:?}");
    world.ms.leave_meeting(&agent.teams);
    let report = watch(&world, &[TAKE_OFF]).await;
    assert_eq!((report.restored, report.forgotten), (0, 1), "{report:?}");
    assert_eq!(
        world.genesys.presence_writes().len(),
        1,
        "only the take-off"
    );
}

#[tokio::test]
async fn a_throttled_genesys_write_is_counted_and_made_by_a_later_poll() {
    let world = World::start().await;
    let sync = world.instance(&[TWO_WAY]);
    let agent = agent_in(&world, &sync, "ON_QUEUE", "IDLE").await;
    world.ms.start_call(&agent.teams);
    world
        .genesys
        .faults()
        .push(GenesysEndpoint::Presence, Fault::throttled(30));
    let report = watch(&world, &[TAKE_OFF]).await;
    assert_eq!((report.taken_off, report.failed), (0, 1), "{report:?}");
    assert_eq!(shown(&world, &agent).map(|s| s.0), Some(on_queue_id()));
    let report = watch(&world, &[TAKE_OFF]).await;
    assert_eq!(report.taken_off, 1, "tried again: {report:?}");
    assert_eq!(shown(&world, &agent).map(|s| s.0), Some(BUSY.to_owned()));
}

fn on_queue_id() -> String {
    presence_sync_tests::events::definition_id("ON_QUEUE").to_owned()
}

#[tokio::test]
async fn a_mapping_to_a_presence_the_org_lacks_fails_the_run_naming_the_entry() {
    let world = World::start().await;
    let sync = world.instance(&[TWO_WAY]);
    let agent = agent_in(&world, &sync, "ON_QUEUE", "IDLE").await;
    world.ms.join_meeting(&agent.teams);
    let missing = "0f0f0f0f-1111-4222-8333-444455556666";
    let rules = format!(r#"{{"InAMeeting": {{"presence": "{missing}"}}}}"#);
    let config = world.config(&[TWO_WAY, ROOMY, TAKE_OFF, ("TEAMS_TO_GENESYS", &rules)]);
    let watcher = presence_core::app::Watcher::build_with(&config, &world.sdk).unwrap();
    let invocation = invocation(20);
    let error = watcher.run(&invocation).await.expect_err("refused");
    let text = error.to_string();
    assert_eq!(error.kind(), "ConfigurationError", "{text}");
    assert!(
        text.contains("InAMeeting") && text.contains(missing),
        "{text}"
    );
    assert!(world.genesys.presence_calls().is_empty(), "nothing written");
}

#[tokio::test]
async fn a_cold_start_learns_many_teams_ids_from_directory_pages_not_one_request_each() {
    let world = World::start().await;
    let sync = world.instance(&[TWO_WAY]);
    // Two-way: On Queue writes nothing to Teams, so the event path looks up no Teams id.
    let mut agents = Vec::new();
    for _ in 0..150 {
        agents.push(world.agent());
    }
    let events = agents
        .iter()
        .map(|agent| sync.invoke(activity(&agent.genesys, "ON_QUEUE", 1_000, "IDLE", 1_000)));
    for applied in futures::future::join_all(events).await {
        applied.expect("applied");
    }
    let before = world.genesys.calls().len();
    // The default limits: the watcher's share is one Genesys request a second, so one at a
    // time the ten seconds of this run would find ten ids (a Lambda run finds 56 a minute).
    let watcher = presence_core::app::Watcher::build_with(&world.config(&[TWO_WAY]), &world.sdk)
        .expect("valid");
    let invocation = invocation(12);
    let report = watcher.run(&invocation).await.expect("the run works");
    let requests = world.genesys.calls().len() - before;
    assert_eq!(report.watched, 150, "{report:?}");
    assert!(
        requests <= 5,
        "{requests} Genesys requests (definitions, token, two directory pages)"
    );
}

#[tokio::test]
async fn switching_to_two_way_clears_our_busy_from_agents_on_queue_at_the_next_reconciler_run() {
    let world = World::start().await;
    let one_way = world.instance(&[]);
    let agent = agent_in(&world, &one_way, "ON_QUEUE", "IDLE").await;
    assert_eq!(world.teams(&agent).as_deref(), Some("Busy/Busy"), "one-way");
    // The operator turns the watcher on: every function now runs two-way. Nothing happens to
    // the agent in Genesys, so no event comes.
    let report = reconcile(&world).await;
    assert_eq!(report.remapped, 1, "{report:?}");
    assert_eq!(
        world.teams(&agent),
        None,
        "our Busy cleared: Teams shows the agent's own"
    );
    let report = reconcile(&world).await;
    assert_eq!(report.remapped, 0, "once: {report:?}");
}

#[tokio::test]
async fn the_reconciler_takes_a_watcher_write_whose_event_is_lost_without_mirroring_it() {
    let world = World::start().await;
    let sync = world.instance(&[TWO_WAY]);
    let agent = agent_in(&world, &sync, "ON_QUEUE", "IDLE").await;
    world.ms.join_meeting(&agent.teams);
    watch(&world, &[TAKE_OFF]).await;
    // The take-off's Genesys event is lost: the reconciler finds Meeting newer than the record.
    world.genesys.drain_presence_events();
    let report = reconcile(&world).await;
    assert_eq!(
        report.recovered, 1,
        "recorded as a lost event would be: {report:?}"
    );
    assert_eq!(
        (report.drift_found, report.remapped),
        (0, 0),
        "neither drift nor a remap: {report:?}"
    );
    assert_eq!(
        world.graph_calls(&agent),
        0,
        "the watcher's Meeting is not mirrored"
    );
    assert_eq!(world.ms.shown_presence(&agent.teams).1, "InAMeeting");
}

#[tokio::test]
async fn teams_ids_beyond_the_genesys_share_are_deferred_to_later_runs_not_failed() {
    let world = World::start().await;
    let sync = world.instance(&[TWO_WAY]);
    let mut agents = Vec::new();
    for _ in 0..20 {
        agents.push(agent_in(&world, &sync, "ON_QUEUE", "IDLE").await);
    }
    // The default limits: one Genesys request a second for the watcher, 20 ids to learn one
    // by one (fewer than a directory page's worth), a run with 3.5 s of work.
    let watcher = presence_core::app::Watcher::build_with(&world.config(&[TWO_WAY]), &world.sdk)
        .expect("valid");
    let report = watcher.run(&invocation(5)).await.expect("the run works");
    assert_eq!(report.failed, 0, "nothing failed: {report:?}");
    assert!(report.deferred > 0, "{report:?}");
    assert_eq!(report.watched + report.deferred, 20, "{report:?}");
}
