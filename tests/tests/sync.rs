//! The presence sync end to end, in process: the real handler with its production adapters
//! against moto (DynamoDB, Secrets Manager) and the fake Genesys and Microsoft servers.

use presence_sync_tests::events::{activity, presence, routing};
use presence_sync_tests::world::World;

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
        serde_json::json!({"outcome":"applied","reason":"changed","genesysUserId":agent.genesys,
            "teams":{"availability":"Busy","activity":"Busy"}})
    );
    assert_eq!(world.teams(&agent).as_deref(), Some("Busy/Busy"));
    assert_eq!(world.graph_calls(&agent), 1);
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
