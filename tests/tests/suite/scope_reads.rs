//! What the scope reads of Genesys, through the production adapter (`GenesysUsers`: the
//! membership lookup, a queue's members, whether a scope entity exists) against the Genesys
//! fake, which serves them as the platform SDK documents them (UsersApi `getUser` with
//! `expand=groups`, `getUserQueues`; RoutingApi `getRoutingQueueMembers`, `getRoutingQueue`;
//! GroupsApi `getGroup`; AuthorizationApi `getAuthorizationDivision`): paging, Genesys's
//! "not found", 403 and 429.

use presence_core::adapters::genesys_users::GenesysUsers;
use presence_core::adapters::secrets_manager::SecretsManager;
use presence_core::app::Parts;
use presence_core::domain::ids::GenesysUserId;
use presence_core::domain::scope::{ScopeEntry, ScopeId, ScopeKind};
use presence_core::ports::{Budget, GenesysBulk, RemoteError};
use presence_sync_tests::events::new_id;
use presence_sync_tests::fake_genesys::GenesysEndpoint;
use presence_sync_tests::fault::Fault;
use presence_sync_tests::world::World;
use std::time::Duration;
use tokio::time::Instant;

fn budget() -> Budget {
    Budget {
        until: Instant::now() + Duration::from_secs(10),
    }
}

fn genesys(world: &World) -> GenesysUsers<SecretsManager> {
    let config = world.config(&[]);
    Parts::new(&config, &world.sdk).genesys_bulk(&config)
}

fn sid(raw: &str) -> ScopeId {
    ScopeId::parse(raw).unwrap()
}

#[tokio::test]
async fn a_users_division_groups_and_queues_are_read_with_every_page() {
    let world = World::start().await;
    let user = new_id();
    world.genesys.add_user(&user, None);
    let division = new_id();
    let groups: Vec<String> = (0..3).map(|_| new_id()).collect();
    // More queues than one page of 100 holds.
    let queues: Vec<String> = (0..130).map(|_| new_id()).collect();
    let group_refs: Vec<&str> = groups.iter().map(String::as_str).collect();
    let queue_refs: Vec<&str> = queues.iter().map(String::as_str).collect();
    world
        .genesys
        .set_membership(&user, Some(&division), Some(&group_refs), Some(&queue_refs));
    let id = GenesysUserId::parse(&user).unwrap();
    let known = genesys(&world)
        .membership(&id, true, budget())
        .await
        .unwrap();
    assert_eq!(known.division, Some(sid(&division)));
    assert_eq!(known.groups.as_ref().map(Vec::len), Some(3));
    assert_eq!(
        known.queues.as_ref().map(Vec::len),
        Some(130),
        "both pages read"
    );
    let calls = world.genesys.user_calls();
    assert_eq!(calls.len(), 3, "the user, then two pages of queues");
    // Without queues wanted: one call, queues unknown.
    let known = genesys(&world)
        .membership(&id, false, budget())
        .await
        .unwrap();
    assert_eq!(known.queues, None);
}

#[tokio::test]
async fn a_user_genesys_does_not_know_is_a_member_of_nothing() {
    let world = World::start().await;
    let gone = new_id();
    world.genesys.add_user(&gone, None);
    world.genesys.delete_user(&gone);
    let id = GenesysUserId::parse(&gone).unwrap();
    let known = genesys(&world)
        .membership(&id, true, budget())
        .await
        .unwrap();
    assert_eq!(
        (known.division, known.groups, known.queues),
        (None, Some(vec![]), Some(vec![]))
    );
}

#[tokio::test]
async fn a_queues_members_come_page_by_page() {
    let world = World::start().await;
    let queue = new_id();
    world.genesys.add_scope_entity("queue", &queue, "Support");
    let mut members = Vec::new();
    for _ in 0..150 {
        let user = new_id();
        world.genesys.add_user(&user, None);
        world
            .genesys
            .set_membership(&user, None, None, Some(&[queue.as_str()]));
        members.push(user);
    }
    let bulk = genesys(&world);
    let first = bulk.queue_members(&sid(&queue), 1, budget()).await.unwrap();
    assert_eq!((first.members.len(), first.next), (100, Some(2)));
    let second = bulk.queue_members(&sid(&queue), 2, budget()).await.unwrap();
    assert_eq!((second.members.len(), second.next), (50, None));
    let unknown = bulk.queue_members(&sid(&new_id()), 1, budget()).await;
    assert!(
        matches!(unknown, Err(RemoteError::Configuration { .. })),
        "an unknown queue is the deployment's mistake: {unknown:?}"
    );
}

#[tokio::test]
async fn a_scope_entity_exists_or_not_and_a_refusal_names_the_role() {
    let world = World::start().await;
    let group = new_id();
    world.genesys.add_scope_entity("group", &group, "Wave 1");
    let bulk = genesys(&world);
    let entry = |kind, id: &str| ScopeEntry { kind, id: sid(id) };
    assert!(
        bulk.scope_entity_exists(&entry(ScopeKind::Group, &group), budget())
            .await
            .unwrap()
    );
    let typo = entry(ScopeKind::Division, &new_id());
    assert!(!bulk.scope_entity_exists(&typo, budget()).await.unwrap());
    world
        .genesys
        .faults()
        .push(GenesysEndpoint::ScopeEntity, Fault::status(403));
    let denied = bulk.scope_entity_exists(&typo, budget()).await.unwrap_err();
    assert!(
        denied.to_string().contains("routing:queue:view"),
        "{denied}"
    );
}

#[tokio::test]
async fn a_membership_lookup_waits_out_a_429() {
    let world = World::start().await;
    let user = new_id();
    world.genesys.add_user(&user, None);
    world
        .genesys
        .faults()
        .push(GenesysEndpoint::User, Fault::throttled(1));
    let id = GenesysUserId::parse(&user).unwrap();
    let started = Instant::now();
    genesys(&world)
        .membership(&id, false, budget())
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert_eq!(world.genesys.user_calls().len(), 2);
}
