//! The reconciler's bulk-read adapters against the fakes: Genesys's current presence and
//! routing status of many users and the directory sweep (`GenesysUsers`), Graph's
//! `getPresencesByUserId` (`GraphPresence` as a `PresenceReader`). Built the production way
//! (`Parts`), with the credentials in moto's Secrets Manager.

use presence_core::adapters::genesys_users::GenesysUsers;
use presence_core::adapters::graph::GraphPresence;
use presence_core::adapters::secrets_manager::SecretsManager;
use presence_core::app::Parts;
use presence_core::domain::ids::{GenesysUserId, TeamsUserId};
use presence_core::domain::presence::{Observed, RoutingStatus, SystemPresence};
use presence_core::domain::teams::TeamsPresence;
use presence_core::domain::version::Version;
use presence_core::ports::{
    Account, Budget, DirectoryAnswer, GenesysBulk, GenesysNow, PresenceReader, PresenceWriter,
    RemoteError, Service, TeamsNow,
};
use presence_sync_tests::events::new_id;
use presence_sync_tests::fake_genesys::{DEFAULT_STATE_TIME, GenesysEndpoint};
use presence_sync_tests::fake_microsoft::MsEndpoint;
use presence_sync_tests::fault::Fault;
use presence_sync_tests::world::World;
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

fn budget(secs: u64) -> Budget {
    Budget {
        until: Instant::now() + Duration::from_secs(secs),
    }
}

fn genesys(world: &World) -> GenesysUsers<SecretsManager> {
    let config = world.config(&[]);
    Parts::new(&config, &world.sdk).genesys_bulk(&config)
}

fn graph(world: &World) -> GraphPresence<SecretsManager> {
    let config = world.config(&[]);
    Parts::new(&config, &world.sdk).presence_writer(&config)
}

fn gid(raw: &str) -> GenesysUserId {
    GenesysUserId::parse(raw).expect("a UUID")
}

fn tid(raw: &str) -> TeamsUserId {
    TeamsUserId::parse(raw).expect("a UUID")
}

fn by_user(found: Vec<GenesysNow>) -> HashMap<String, GenesysNow> {
    found
        .into_iter()
        .map(|now| (now.user.as_str().to_owned(), now))
        .collect()
}

fn version(raw: &str) -> Version {
    Version::parse(raw).expect("an RFC 3339 time")
}

// --- Genesys: current ------------------------------------------------------------------------

#[tokio::test]
async fn current_maps_each_user_with_genesys_timestamps_as_versions() {
    let world = World::start().await;
    let (a, b, unknown) = (new_id(), new_id(), new_id());
    world.genesys.add_user(&a, None);
    world.genesys.add_user(&b, None);
    world.genesys.set_state(
        &a,
        "On Queue",
        Some("2026-11-02T08:59:58.101Z"),
        "INTERACTING",
        Some("2026-11-02T09:00:01.500Z"),
    );
    let found = genesys(&world)
        .current(&[gid(&a), gid(&b), gid(&unknown)], budget(10))
        .await
        .expect("a bulk read");
    let found = by_user(found);
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!(
        found[&unknown].account,
        Account::NotFound,
        "absent from a complete answer"
    );
    assert_eq!(found[&a].account, Account::Active);
    let one = &found[&a].observation;
    let presence = one.presence.as_ref().expect("a presence");
    assert_eq!(
        presence.value.system,
        Observed::Known(SystemPresence::OnQueue)
    );
    assert_eq!(
        presence.value.definition_id.as_deref(),
        Some("e08eaf1b-ee47-4fa9-a231-1200e284798f")
    );
    assert_eq!(presence.version, version("2026-11-02T08:59:58.101Z"));
    let routing = one.routing.as_ref().expect("a routing status");
    assert_eq!(routing.value, Observed::Known(RoutingStatus::Interacting));
    assert_eq!(routing.version, version("2026-11-02T09:00:01.500Z"));
    // A user never changed: Offline and OFF_QUEUE as of the fake's old time.
    let two = &found[&b].observation;
    assert_eq!(
        two.presence.as_ref().unwrap().value.system,
        Observed::Known(SystemPresence::Offline)
    );
    assert_eq!(
        two.presence.as_ref().unwrap().version,
        version(DEFAULT_STATE_TIME)
    );
    assert_eq!(
        two.routing.as_ref().unwrap().value,
        Observed::Known(RoutingStatus::OffQueue)
    );
    // One request for all of them, with both expansions.
    let calls = world.genesys.users_calls();
    assert_eq!(calls.len(), 1);
    let query = calls[0].query.clone().unwrap_or_default();
    for part in [
        "expand=presence",
        "expand=routingStatus",
        "state=any",
        &format!("id={a}"),
    ] {
        assert!(query.contains(part), "{query}");
    }
}

#[tokio::test]
async fn deactivated_and_deleted_users_are_reported_as_such_not_left_out() {
    let world = World::start().await;
    let (active, inactive, deleted) = (new_id(), new_id(), new_id());
    for id in [&active, &inactive, &deleted] {
        world.genesys.add_user(id, None);
    }
    world.genesys.set_active(&inactive, false);
    world.genesys.delete_user(&deleted);
    let found = by_user(
        genesys(&world)
            .current(&[gid(&active), gid(&inactive), gid(&deleted)], budget(10))
            .await
            .expect("a bulk read"),
    );
    assert_eq!(found[&active].account, Account::Active);
    assert_eq!(found[&inactive].account, Account::Inactive);
    assert_eq!(found[&deleted].account, Account::Deleted);
}

#[tokio::test]
async fn users_a_short_answer_left_out_are_unknown_not_gone() {
    let world = World::start().await;
    let (a, b) = (new_id(), new_id());
    world.genesys.add_user(&a, None);
    world.genesys.add_user(&b, None);
    // Genesys answers one user while counting two (a page smaller than asked for).
    let entity = serde_json::json!({"id": a, "state": "active"});
    let listing = serde_json::json!({"entities": [entity], "pageSize": 1, "pageNumber": 1, "total": 2, "pageCount": 2});
    world.genesys.faults().push(
        GenesysEndpoint::Users,
        Fault::raw(200, "application/json", listing.to_string()),
    );
    let found = by_user(
        genesys(&world)
            .current(&[gid(&a), gid(&b)], budget(10))
            .await
            .expect("a bulk read"),
    );
    assert_eq!(found.len(), 1, "b is not NotFound: {found:?}");
    assert_eq!(found[&a].account, Account::Active);
}

#[tokio::test]
async fn a_missing_or_unparseable_timestamp_leaves_that_dimension_out() {
    let world = World::start().await;
    let (a, b) = (new_id(), new_id());
    world.genesys.add_user(&a, None);
    world.genesys.add_user(&b, None);
    world
        .genesys
        .set_state(&a, "Available", None, "IDLE", Some("2026-11-02T09:00:00Z"));
    world.genesys.set_raw_state(
        &b,
        Some(serde_json::json!({"presenceDefinition": {"systemPresence": "Busy"}, "modifiedDate": "last tuesday"})),
        None,
    );
    let found = by_user(
        genesys(&world)
            .current(&[gid(&a), gid(&b)], budget(10))
            .await
            .expect("a bulk read"),
    );
    assert!(found[&a].observation.presence.is_none(), "no modifiedDate");
    assert_eq!(
        found[&a].observation.routing.as_ref().unwrap().version,
        version("2026-11-02T09:00:00Z")
    );
    assert!(
        found[&b].observation.presence.is_none(),
        "unparseable modifiedDate"
    );
    assert!(found[&b].observation.routing.is_none(), "no routing status");
}

#[tokio::test]
async fn current_waits_out_a_429_then_succeeds() {
    let world = World::start().await;
    let a = new_id();
    world.genesys.add_user(&a, None);
    world
        .genesys
        .faults()
        .push(GenesysEndpoint::Users, Fault::throttled(1));
    let started = Instant::now();
    let found = genesys(&world)
        .current(&[gid(&a)], budget(10))
        .await
        .expect("a bulk read after the wait");
    assert_eq!(found.len(), 1);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited Retry-After"
    );
    assert_eq!(world.genesys.users_calls().len(), 2);
}

#[tokio::test]
async fn current_throttled_beyond_the_budget_is_a_throttled_error() {
    let world = World::start().await;
    let a = new_id();
    world.genesys.add_user(&a, None);
    world
        .genesys
        .faults()
        .push(GenesysEndpoint::Users, Fault::throttled(30));
    let err = genesys(&world)
        .current(&[gid(&a)], budget(2))
        .await
        .expect_err("throttled");
    assert!(
        matches!(
            err,
            RemoteError::Throttled {
                service: Service::GenesysUsers,
                retry_after_secs: Some(30),
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_401_refreshes_the_token_once() {
    let world = World::start().await;
    let a = new_id();
    world.genesys.add_user(&a, None);
    let bulk = genesys(&world);
    bulk.current(&[gid(&a)], budget(10)).await.expect("first");
    world.genesys.expire_tokens();
    bulk.current(&[gid(&a)], budget(10))
        .await
        .expect("after a refresh");
    assert_eq!(world.genesys.token_requests(), 2);
    assert_eq!(world.genesys.users_calls().len(), 3, "one 401, one retry");
}

#[tokio::test]
async fn a_403_is_denied_naming_the_users_api() {
    let world = World::start().await;
    let a = new_id();
    world.genesys.add_user(&a, None);
    world
        .genesys
        .faults()
        .push(GenesysEndpoint::Users, Fault::status(403));
    let err = genesys(&world)
        .current(&[gid(&a)], budget(10))
        .await
        .expect_err("denied");
    assert!(
        matches!(
            err,
            RemoteError::Denied {
                service: Service::GenesysUsers,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.error_type(), "GenesysUsersDenied");
    assert!(err.to_string().contains("403"), "{err}");
}

#[tokio::test]
async fn a_malformed_listing_is_a_bad_response_naming_the_field() {
    let world = World::start().await;
    let a = new_id();
    world.genesys.add_user(&a, None);
    let huge = "E".repeat(50_000);
    world.genesys.faults().push(
        GenesysEndpoint::Users,
        Fault::raw(
            200,
            "application/json",
            format!(r#"{{"entity": "{huge}"}}"#),
        ),
    );
    world.genesys.faults().push(
        GenesysEndpoint::Users,
        Fault::raw(200, "application/json", "[1, 2]"),
    );
    let bulk = genesys(&world);
    let err = bulk.current(&[gid(&a)], budget(10)).await.expect_err("bad");
    assert!(
        matches!(
            err,
            RemoteError::BadResponse {
                service: Service::GenesysUsers,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("`entities`"), "{err}");
    assert!(err.to_string().len() < 400, "bounded: {err}");
    let err = bulk.current(&[gid(&a)], budget(10)).await.expect_err("bad");
    assert!(err.to_string().contains("not a JSON object"), "{err}");
}

#[tokio::test]
async fn more_users_than_max_users_are_refused_before_any_call() {
    let world = World::start().await;
    let bulk = genesys(&world);
    let users: Vec<GenesysUserId> = (0..=<GenesysUsers<SecretsManager> as GenesysBulk>::MAX_USERS)
        .map(|_| gid(&new_id()))
        .collect();
    let err = bulk
        .current(&users, budget(10))
        .await
        .expect_err("too many");
    assert!(err.to_string().contains("at most 100"), "{err}");
    assert_eq!(world.genesys.users_calls().len(), 0);
    assert_eq!(world.genesys.token_requests(), 0);
    // Exactly the maximum is one request.
    let found = bulk
        .current(&users[1..], budget(10))
        .await
        .expect("the maximum");
    assert!(
        found.len() == 100 && found.iter().all(|n| n.account == Account::NotFound),
        "none of them exists"
    );
    assert_eq!(world.genesys.users_calls().len(), 1);
}

// --- Genesys: directory sweep ----------------------------------------------------------------

#[tokio::test]
async fn directory_pages_follow_the_cursor_to_the_end() {
    let world = World::start().await;
    let mut expected = HashMap::new();
    for n in 0..7 {
        let user = new_id();
        let teams = (n % 3 != 0).then(new_id);
        world.genesys.add_user(&user, teams.as_deref());
        expected.insert(
            user,
            teams.map_or(DirectoryAnswer::NoTeamsId, DirectoryAnswer::TeamsId),
        );
    }
    let inactive = new_id();
    world.genesys.add_user(&inactive, Some(&new_id()));
    world.genesys.set_active(&inactive, false);
    // The server holds fewer per page than asked: the cursor follows what it held.
    world.genesys.set_scim_page_cap(3);
    let bulk = genesys(&world);
    let mut cursor: Option<String> = None;
    let mut seen = HashMap::new();
    let mut pages = 0;
    loop {
        let page = bulk
            .directory_page(cursor.as_deref(), budget(10))
            .await
            .expect("a page");
        pages += 1;
        assert!(pages <= 10, "the sweep must end");
        for (user, answer) in page.users {
            assert!(
                seen.insert(user.as_str().to_owned(), answer).is_none(),
                "{user} twice"
            );
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, expected, "every active user once, inactive left out");
}

#[tokio::test]
async fn a_bad_cursor_is_an_error_naming_it_and_no_call() {
    let world = World::start().await;
    let bulk = genesys(&world);
    for bad in ["0", "-3", "abc", "1e3", &"9".repeat(400)] {
        let err = bulk
            .directory_page(Some(bad), budget(10))
            .await
            .expect_err("a bad cursor");
        let text = err.to_string();
        assert!(text.contains("cursor"), "{text}");
        assert!(text.len() < 400, "bounded: {text}");
    }
    assert_eq!(world.genesys.scim_calls(), 0);
}

#[tokio::test]
async fn a_directory_page_without_total_results_is_a_bad_response() {
    let world = World::start().await;
    world.genesys.faults().push(
        GenesysEndpoint::Scim,
        Fault::raw(200, "application/scim+json", r#"{"Resources": []}"#),
    );
    let err = genesys(&world)
        .directory_page(None, budget(10))
        .await
        .expect_err("bad");
    assert!(
        matches!(
            err,
            RemoteError::BadResponse {
                service: Service::GenesysScim,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("totalResults"), "{err}");
}

// --- Graph -----------------------------------------------------------------------------------

fn teams_now(user: &str, availability: &str, activity: &str) -> TeamsNow {
    TeamsNow {
        user: tid(user),
        availability: availability.to_owned(),
        activity: activity.to_owned(),
    }
}

fn sorted(mut found: Vec<TeamsNow>) -> Vec<TeamsNow> {
    found.sort_by(|a, b| a.user.cmp(&b.user));
    found
}

#[tokio::test]
async fn graph_read_returns_what_teams_shows() {
    let world = World::start().await;
    let (a, b, unknown) = (new_id(), new_id(), new_id());
    world.ms.add_user(&a);
    world.ms.add_user(&b);
    let graph = graph(&world);
    graph
        .set_preferred(&tid(&a), TeamsPresence::Busy, budget(10))
        .await
        .expect("a write");
    graph
        .set_preferred(&tid(&b), TeamsPresence::Busy, budget(10))
        .await
        .expect("a write");
    world.ms.set_has_session(&b, false);
    let found = graph
        .read(&[tid(&a), tid(&b), tid(&unknown)], budget(10))
        .await
        .expect("a read");
    let mut expected = vec![
        teams_now(&a, "Busy", "Busy"),
        teams_now(&b, "Offline", "Offline"),
    ];
    expected.sort_by(|x, y| x.user.cmp(&y.user));
    assert_eq!(sorted(found), expected);
    assert_eq!(
        world.ms.token_requests(),
        1,
        "reads and writes share the token"
    );
}

#[tokio::test]
async fn graph_read_cuts_long_values() {
    let world = World::start().await;
    let a = new_id();
    world.ms.add_user(&a);
    world
        .ms
        .set_teams_presence_by_hand(&a, &"A".repeat(5_000), "Away\nforged line");
    let found = graph(&world)
        .read(&[tid(&a)], budget(10))
        .await
        .expect("a read");
    assert_eq!(found.len(), 1);
    assert!(
        found[0].availability.len() <= 64,
        "{}",
        found[0].availability.len()
    );
    assert_eq!(found[0].activity, "Away");
}

#[tokio::test]
async fn graph_read_waits_out_a_429_then_succeeds() {
    let world = World::start().await;
    let a = new_id();
    world.ms.add_user(&a);
    world
        .ms
        .faults()
        .push(MsEndpoint::GetPresences, Fault::throttled(1));
    let started = Instant::now();
    let found = graph(&world)
        .read(&[tid(&a)], budget(10))
        .await
        .expect("a read");
    assert_eq!(found, vec![teams_now(&a, "Available", "Available")]);
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(world.ms.get_presences_calls().len(), 2);
}

#[tokio::test]
async fn a_throttled_read_holds_back_the_writes_of_the_same_process() {
    let world = World::start().await;
    let a = new_id();
    world.ms.add_user(&a);
    world
        .ms
        .faults()
        .push(MsEndpoint::GetPresences, Fault::throttled(30));
    let graph = graph(&world);
    let err = graph
        .read(&[tid(&a)], budget(2))
        .await
        .expect_err("throttled");
    assert!(
        matches!(
            err,
            RemoteError::Throttled {
                service: Service::Graph,
                ..
            }
        ),
        "{err:?}"
    );
    let err = graph
        .set_preferred(&tid(&a), TeamsPresence::Busy, budget(2))
        .await
        .expect_err("held back by the shared gate");
    assert!(matches!(err, RemoteError::Throttled { .. }), "{err:?}");
    assert!(world.ms.presence_calls().is_empty(), "no write was sent");
}

#[tokio::test]
async fn graph_read_refreshes_on_401_and_is_denied_on_403() {
    let world = World::start().await;
    let a = new_id();
    world.ms.add_user(&a);
    let graph = graph(&world);
    graph.read(&[tid(&a)], budget(10)).await.expect("first");
    world.ms.expire_tokens();
    graph
        .read(&[tid(&a)], budget(10))
        .await
        .expect("after a refresh");
    assert_eq!(world.ms.token_requests(), 2);
    world.ms.deny_permission(true);
    let err = graph
        .read(&[tid(&a)], budget(10))
        .await
        .expect_err("denied");
    assert!(
        matches!(
            err,
            RemoteError::Denied {
                service: Service::Graph,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("Presence.Read.All"), "{err}");
}

#[tokio::test]
async fn graph_read_of_a_malformed_body_names_the_field() {
    let world = World::start().await;
    let a = new_id();
    world.ms.add_user(&a);
    world.ms.faults().push(
        MsEndpoint::GetPresences,
        Fault::raw(200, "application/json", r#"{"values": []}"#),
    );
    let err = graph(&world)
        .read(&[tid(&a)], budget(10))
        .await
        .expect_err("bad");
    assert!(
        matches!(
            err,
            RemoteError::BadResponse {
                service: Service::Graph,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("`value`"), "{err}");
}

#[tokio::test]
async fn more_than_650_ids_are_refused_before_any_call() {
    let world = World::start().await;
    let graph = graph(&world);
    let users: Vec<TeamsUserId> = (0
        ..=<GraphPresence<SecretsManager> as PresenceReader>::MAX_USERS)
        .map(|_| tid(&new_id()))
        .collect();
    assert_eq!(users.len(), 651);
    let err = graph.read(&users, budget(10)).await.expect_err("too many");
    assert!(err.to_string().contains("650"), "{err}");
    assert!(world.ms.get_presences_calls().is_empty());
    assert_eq!(world.ms.token_requests(), 0);
    // 650 is one request (the fake enforces the documented maximum too).
    let found = graph.read(&users[1..], budget(10)).await.expect("650 ids");
    assert!(found.is_empty(), "none of them exists");
    assert_eq!(world.ms.get_presences_calls().len(), 1);
}
