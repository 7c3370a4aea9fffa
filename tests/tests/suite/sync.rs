//! The presence sync end to end, in process: the real handler with its production adapters
//! against moto (DynamoDB, Secrets Manager) and the fake Genesys and Microsoft servers.
//! One test per behaviour of the specification (issue 2).

use presence_sync_tests::events::{activity, definition_id, presence, routing};
use presence_sync_tests::world::World;
use serde_json::json;

#[tokio::test]
async fn on_queue_sets_teams_busy() {
    let world = World::start().await;
    let agent = world.agent();
    let instance = world.instance(&[]);
    let report = instance
        .invoke(activity(&agent.genesys, "ON_QUEUE", 1_000, "IDLE", 1_000))
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&report).unwrap(),
        json!({"outcome":"applied","reason":"changed","genesysUserId":agent.genesys,
            "teams":{"availability":"Busy","activity":"Busy"}})
    );
    assert_eq!(world.teams(&agent).as_deref(), Some("Busy/Busy"));
    assert_eq!(world.graph_calls(&agent), 1);
    let call = &world.ms.set_calls_for(&agent.teams)[0];
    assert_eq!(
        call.json().unwrap(),
        json!({"availability":"Busy","activity":"Busy"})
    );
}

#[tokio::test]
async fn presence_topic_break_sets_away() {
    let world = World::start().await;
    let agent = world.agent();
    let instance = world.instance(&[]);
    assert_eq!(
        instance
            .outcome(presence(&agent.genesys, "Break", 1_000))
            .await,
        "applied/changed"
    );
    assert_eq!(world.teams(&agent).as_deref(), Some("Away/Away"));
}

#[tokio::test]
async fn every_system_presence_maps_as_documented() {
    let world = World::start().await;
    let instance = world.instance(&[]);
    let table = [
        ("AVAILABLE", "Available/Available"),
        ("On Queue", "Busy/Busy"),
        ("BUSY", "Busy/Busy"),
        ("Meeting", "Busy/Busy"),
        ("TRAINING", "Busy/Busy"),
        ("AWAY", "Away/Away"),
        ("Break", "Away/Away"),
        ("MEAL", "Away/Away"),
        ("Idle", "Away/Away"),
    ];
    for (genesys, teams) in table {
        let agent = world.agent();
        instance
            .outcome(presence(&agent.genesys, genesys, 1_000))
            .await;
        assert_eq!(world.teams(&agent).as_deref(), Some(teams), "{genesys}");
    }
}

#[tokio::test]
async fn routing_status_alone_changes_nothing_by_default() {
    let world = World::start().await;
    let agent = world.agent();
    let instance = world.instance(&[]);
    instance
        .outcome(presence(&agent.genesys, "On Queue", 1_000))
        .await;
    assert_eq!(
        instance
            .outcome(routing(&agent.genesys, "INTERACTING", 2_000))
            .await,
        "skipped/unchanged"
    );
    assert_eq!(world.graph_calls(&agent), 1);
}

#[tokio::test]
async fn offline_clears_the_presence_this_function_set() {
    let world = World::start().await;
    let agent = world.agent();
    let instance = world.instance(&[]);
    instance
        .outcome(presence(&agent.genesys, "ON_QUEUE", 1_000))
        .await;
    let report = instance
        .invoke(presence(&agent.genesys, "OFFLINE", 2_000))
        .await
        .unwrap();
    assert_eq!(
        (report.outcome, report.reason, report.teams),
        ("cleared", "changed", None)
    );
    assert_eq!(world.teams(&agent), None);
    let clear = &world.ms.clear_calls_for(&agent.teams)[0];
    assert_eq!(clear.json().unwrap(), json!({}));
}

#[tokio::test]
async fn offline_never_wipes_a_presence_this_function_did_not_set() {
    let world = World::start().await;
    let agent = world.agent();
    let instance = world.instance(&[]);
    assert_eq!(
        instance
            .outcome(presence(&agent.genesys, "OFFLINE", 1_000))
            .await,
        "skipped/unchanged"
    );
    assert_eq!(world.graph_calls(&agent), 0);
    assert_eq!(
        world.genesys.scim_calls(),
        0,
        "no lookup when nothing is written"
    );
}

#[tokio::test]
async fn a_newer_event_with_the_same_teams_state_makes_no_graph_call() {
    let world = World::start().await;
    let agent = world.agent();
    let instance = world.instance(&[]);
    instance
        .outcome(presence(&agent.genesys, "ON_QUEUE", 1_000))
        .await;
    assert_eq!(
        instance
            .outcome(presence(&agent.genesys, "BUSY", 2_000))
            .await,
        "skipped/unchanged"
    );
    assert_eq!(world.graph_calls(&agent), 1);
}

#[tokio::test]
async fn an_older_event_arriving_late_never_changes_teams() {
    let world = World::start().await;
    let agent = world.agent();
    let instance = world.instance(&[]);
    instance
        .outcome(activity(&agent.genesys, "BUSY", 2_000, "IDLE", 2_000))
        .await;
    assert_eq!(
        instance
            .outcome(presence(&agent.genesys, "AVAILABLE", 1_000))
            .await,
        "skipped/stale"
    );
    assert_eq!(
        instance
            .outcome(routing(&agent.genesys, "INTERACTING", 1_900))
            .await,
        "skipped/stale"
    );
    assert_eq!(
        instance
            .outcome(activity(&agent.genesys, "AVAILABLE", 1_500, "IDLE", 1_500))
            .await,
        "skipped/stale"
    );
    assert_eq!(world.teams(&agent).as_deref(), Some("Busy/Busy"));
    assert_eq!(world.graph_calls(&agent), 1);
}

#[tokio::test]
async fn the_same_event_twice_makes_one_graph_call() {
    let world = World::start().await;
    let agent = world.agent();
    let instance = world.instance(&[]);
    let event = activity(&agent.genesys, "ON_QUEUE", 1_000, "IDLE", 1_000);
    assert_eq!(instance.outcome(event.clone()).await, "applied/changed");
    assert_eq!(instance.outcome(event.clone()).await, "skipped/duplicate");
    let other_instance = world.instance(&[]);
    assert_eq!(other_instance.outcome(event).await, "skipped/duplicate");
    assert_eq!(world.graph_calls(&agent), 1);
}

#[tokio::test]
async fn an_equal_version_from_another_topic_is_unchanged() {
    let world = World::start().await;
    let agent = world.agent();
    let instance = world.instance(&[]);
    instance
        .outcome(activity(&agent.genesys, "ON_QUEUE", 1_000, "IDLE", 1_000))
        .await;
    assert_eq!(
        instance
            .outcome(presence(&agent.genesys, "On Queue", 1_000))
            .await,
        "skipped/unchanged"
    );
    assert_eq!(
        instance
            .outcome(presence(&agent.genesys, "AVAILABLE", 1_000))
            .await,
        "skipped/stale"
    );
    assert_eq!(world.graph_calls(&agent), 1);
}

#[tokio::test]
async fn an_unknown_system_presence_is_unmapped() {
    let world = World::start().await;
    let agent = world.agent();
    let instance = world.instance(&[]);
    instance
        .outcome(presence(&agent.genesys, "ON_QUEUE", 1_000))
        .await;
    assert_eq!(
        instance
            .outcome(presence(&agent.genesys, "Focus Time", 2_000))
            .await,
        "skipped/unmapped"
    );
    // It is still the newest presence: an older event stays stale.
    assert_eq!(
        instance
            .outcome(presence(&agent.genesys, "AVAILABLE", 1_500))
            .await,
        "skipped/stale"
    );
    assert_eq!(world.teams(&agent).as_deref(), Some("Busy/Busy"));
}

#[tokio::test]
async fn an_unknown_routing_status_is_unmapped() {
    let world = World::start().await;
    let agent = world.agent();
    let instance = world.instance(&[]);
    assert_eq!(
        instance
            .outcome(routing(&agent.genesys, "PAUSED", 1_000))
            .await,
        "skipped/unmapped"
    );
    assert_eq!(world.graph_calls(&agent), 0);
}

#[tokio::test]
async fn a_presence_mapped_to_ignore_leaves_teams_alone() {
    let world = World::start().await;
    let agent = world.agent();
    let instance = world.instance(&[("PRESENCE_MAPPING", r#"{"MEAL":"ignore"}"#)]);
    instance
        .outcome(presence(&agent.genesys, "ON_QUEUE", 1_000))
        .await;
    assert_eq!(
        instance
            .outcome(presence(&agent.genesys, "Meal", 2_000))
            .await,
        "skipped/ignored"
    );
    assert_eq!(world.teams(&agent).as_deref(), Some("Busy/Busy"));
    assert_eq!(world.graph_calls(&agent), 1);
}

#[tokio::test]
async fn a_presence_definition_id_mapping_wins_over_its_system_presence() {
    let world = World::start().await;
    let agent = world.agent();
    let mapping = format!(
        r#"{{"{}":{{"availability":"DoNotDisturb","activity":"DoNotDisturb"}}}}"#,
        definition_id("BREAK")
    );
    let instance = world.instance(&[("PRESENCE_MAPPING", &mapping)]);
    instance
        .outcome(presence(&agent.genesys, "Break", 1_000))
        .await;
    assert_eq!(
        world.teams(&agent).as_deref(),
        Some("DoNotDisturb/DoNotDisturb")
    );
}

#[tokio::test]
async fn a_mapped_routing_status_wins_while_it_lasts_then_presence_returns() {
    let world = World::start().await;
    let agent = world.agent();
    let instance = world.instance(&[(
        "PRESENCE_MAPPING",
        r#"{"routing:INTERACTING":{"availability":"DoNotDisturb","activity":"DoNotDisturb"}}"#,
    )]);
    instance
        .outcome(activity(&agent.genesys, "ON_QUEUE", 1_000, "IDLE", 1_000))
        .await;
    assert_eq!(world.teams(&agent).as_deref(), Some("Busy/Busy"));
    assert_eq!(
        instance
            .outcome(routing(&agent.genesys, "INTERACTING", 2_000))
            .await,
        "applied/changed"
    );
    assert_eq!(
        world.teams(&agent).as_deref(),
        Some("DoNotDisturb/DoNotDisturb")
    );
    // A presence change during the interaction does not break through...
    assert_eq!(
        instance
            .outcome(presence(&agent.genesys, "BUSY", 2_500))
            .await,
        "skipped/unchanged"
    );
    assert_eq!(
        world.teams(&agent).as_deref(),
        Some("DoNotDisturb/DoNotDisturb")
    );
    // ...and when it ends, Teams returns to what the newest presence maps to.
    assert_eq!(
        instance
            .outcome(routing(&agent.genesys, "IDLE", 3_000))
            .await,
        "applied/changed"
    );
    assert_eq!(world.teams(&agent).as_deref(), Some("Busy/Busy"));
    assert_eq!(world.graph_calls(&agent), 3);
}

#[tokio::test]
async fn presence_expiration_is_sent_when_configured() {
    let world = World::start().await;
    let agent = world.agent();
    let instance = world.instance(&[("PRESENCE_EXPIRATION", "PT8H")]);
    instance
        .outcome(presence(&agent.genesys, "AVAILABLE", 1_000))
        .await;
    let call = &world.ms.set_calls_for(&agent.teams)[0];
    assert_eq!(
        call.json().unwrap(),
        json!({"availability":"Available","activity":"Available","expirationDuration":"PT8H"})
    );
    assert_eq!(
        world
            .ms
            .preferred_presence(&agent.teams)
            .unwrap()
            .2
            .as_deref(),
        Some("PT8H")
    );
}
