//! Order across concurrent instances: two instances handling two events of the same user at
//! the same moment leave Teams with the newer event's state, and a holder that died in the
//! middle of its work is recovered from. Against moto served one request at a time, so that
//! its conditional writes are atomic as DynamoDB's are.

use presence_core::adapters::dynamodb::DynamoStateStore;
use presence_core::domain::event::GenesysEvent;
use presence_core::domain::state::{Intent, Lease, Observation};
use presence_core::domain::teams::{TeamsPresence, TeamsState};
use presence_core::ports::StateStore;
use presence_sync_tests::events::{activity, presence};
use presence_sync_tests::fake_microsoft::MsEndpoint;
use presence_sync_tests::fault::Fault;
use presence_sync_tests::world::World;
use rand::{Rng, SeedableRng};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test]
async fn a_newer_event_waits_for_an_older_one_in_flight_and_wins() {
    let world = World::start().await;
    let agent = world.agent();
    let (a, b) = (world.instance(&[]), world.instance(&[]));
    // The older event's Graph call is slow; the newer one arrives while it is in flight.
    world.ms.faults().push(
        MsEndpoint::Presence,
        Fault::delay(Duration::from_millis(600)),
    );
    let older = presence(&agent.genesys, "AVAILABLE", 1_000);
    let newer = presence(&agent.genesys, "BUSY", 2_000);
    let recorder = world.ms.recorder();
    let (first, second) = tokio::join!(a.outcome(older), async {
        // The older event's Graph call has reached Graph and is in flight.
        recorder.until_arrived(MsEndpoint::Presence, 1).await;
        b.outcome(newer).await
    });
    assert_eq!(
        (first.as_str(), second.as_str()),
        ("applied/changed", "applied/changed")
    );
    assert_eq!(world.teams(&agent).as_deref(), Some("Busy/Busy"));
    let history = world.ms.presence_history(&agent.teams);
    assert_eq!(history.len(), 2, "{history:?}");
}

#[tokio::test]
async fn an_older_event_arriving_while_a_newer_one_is_in_flight_is_stale() {
    let world = World::start().await;
    let agent = world.agent();
    let (a, b) = (world.instance(&[]), world.instance(&[]));
    world.ms.faults().push(
        MsEndpoint::Presence,
        Fault::delay(Duration::from_millis(400)),
    );
    let newer = presence(&agent.genesys, "BUSY", 2_000);
    let older = presence(&agent.genesys, "AVAILABLE", 1_000);
    let recorder = world.ms.recorder();
    let (first, second) = tokio::join!(a.outcome(newer), async {
        // The newer event's Graph call has reached Graph and is in flight.
        recorder.until_arrived(MsEndpoint::Presence, 1).await;
        b.outcome(older).await
    });
    assert_eq!(
        (first.as_str(), second.as_str()),
        ("applied/changed", "skipped/stale")
    );
    assert_eq!(world.teams(&agent).as_deref(), Some("Busy/Busy"));
}

/// Many races with random delays and orders: Teams always ends with the newest state.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_instances_always_converge_to_the_newest_event() {
    let world = World::start().await;
    let instances: Vec<_> = (0..4).map(|_| world.instance(&[])).collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(20261127);
    let states = [
        ("AVAILABLE", "Available/Available"),
        ("BUSY", "Busy/Busy"),
        ("AWAY", "Away/Away"),
        ("MEETING", "Busy/Busy"),
        ("Break", "Away/Away"),
    ];
    for trial in 0..12 {
        let agent = world.agent();
        let count = rng.random_range(2..=4usize);
        let mut events = Vec::new();
        for i in 0..count {
            let (state, teams) = states[rng.random_range(0..states.len())];
            let version = 1_000 * (i as i64 + 1);
            let event = if rng.random_bool(0.5) {
                presence(&agent.genesys, state, version)
            } else {
                activity(&agent.genesys, state, version, "IDLE", version)
            };
            events.push((event, teams, rng.random_range(0..120u64)));
        }
        let expected = events.last().unwrap().1;
        for _ in 0..count {
            if rng.random_bool(0.5) {
                world.ms.faults().push(
                    MsEndpoint::Presence,
                    Fault::delay(Duration::from_millis(rng.random_range(50..300))),
                );
            }
        }
        let runs = events.iter().enumerate().map(|(i, (event, _, start))| {
            let instance = &instances[i % instances.len()];
            let event = event.clone();
            let start = *start;
            async move {
                tokio::time::sleep(Duration::from_millis(start)).await;
                instance.invoke(event).await
            }
        });
        let results = futures::future::join_all(runs).await;
        for r in &results {
            assert!(r.is_ok(), "trial {trial}: {r:?}");
        }
        assert_eq!(
            world.teams(&agent).as_deref(),
            Some(expected),
            "trial {trial}"
        );
        world.ms.faults().clear();
    }
}

/// Records `event` with a lease as an instance would just before calling Graph, and never
/// finishes: the instance died.
async fn die_holding_the_lease(
    world: &World,
    event: &serde_json::Value,
    state: TeamsPresence,
    lease_ms: i64,
) {
    let parsed = GenesysEvent::parse(event.clone()).unwrap();
    let store = DynamoStateStore::new(world.dynamodb(), world.table.clone());
    let lease = Lease {
        owner: "dead-instance".into(),
        until_ms: now_ms() + lease_ms,
    };
    let recorded = store
        .record(
            &parsed.user,
            &parsed.event_id,
            &Observation::from(&parsed),
            Some((Intent::Teams(TeamsState::Preferred(state)), &lease)),
            now_ms(),
        )
        .await
        .unwrap();
    assert!(matches!(
        recorded,
        presence_core::ports::Recorded::Accepted { .. }
    ));
}

#[tokio::test]
async fn a_newer_event_takes_over_when_a_dead_holders_lease_expires() {
    let world = World::start().await;
    let agent = world.agent();
    let instance = world.instance(&[]);
    instance
        .outcome(presence(&agent.genesys, "AWAY", 500))
        .await;
    die_holding_the_lease(
        &world,
        &presence(&agent.genesys, "BUSY", 1_000),
        TeamsPresence::Busy,
        700,
    )
    .await;
    let started = std::time::Instant::now();
    // Teams may show Busy (the dead holder may have called Graph), so even a state equal to
    // what was applied before must be sent again.
    assert_eq!(
        instance
            .outcome(presence(&agent.genesys, "Break", 2_000))
            .await,
        "applied/reconciled"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "waited for the lease"
    );
    assert_eq!(world.teams(&agent).as_deref(), Some("Away/Away"));
}

#[tokio::test]
async fn the_redelivery_of_a_dead_holders_event_re_applies_it() {
    let world = World::start().await;
    let agent = world.agent();
    let event = presence(&agent.genesys, "BUSY", 1_000);
    // Its lease ended a moment ago.
    die_holding_the_lease(&world, &event, TeamsPresence::Busy, -1).await;
    let report = world.instance(&[]).invoke(event.clone()).await.unwrap();
    assert_eq!((report.outcome, report.reason), ("applied", "reconciled"));
    assert_eq!(world.teams(&agent).as_deref(), Some("Busy/Busy"));
    // Settled: a further redelivery is a plain duplicate.
    assert_eq!(
        world.instance(&[]).outcome(event).await,
        "skipped/duplicate"
    );
    assert_eq!(world.graph_calls(&agent), 1);
}

#[tokio::test]
async fn a_lease_that_outlasts_the_wait_fails_the_invocation_so_lambda_redelivers() {
    let world = World::start().await;
    let agent = world.agent();
    die_holding_the_lease(
        &world,
        &presence(&agent.genesys, "BUSY", 1_000),
        TeamsPresence::Busy,
        60_000,
    )
    .await;
    let mut config = world.config(&[]);
    config.settings.max_lease_wait = Duration::from_millis(500);
    let started = std::time::Instant::now();
    let error = world
        .instance_with(config)
        .invoke(presence(&agent.genesys, "AVAILABLE", 2_000))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), "UserBusy");
    assert!(error.to_string().contains(&agent.genesys), "{error}");
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(world.graph_calls(&agent), 0);
}

/// Makes Teams show `presence` for the agent, as a holder's Graph call would have.
async fn graph_sets(
    world: &World,
    agent: &presence_sync_tests::world::Agent,
    presence: TeamsPresence,
) {
    use presence_core::adapters::graph::GraphPresence;
    use presence_core::adapters::http::Http;
    use presence_core::adapters::oauth::{AzureAd, TokenCache};
    use presence_core::adapters::secrets_manager::SecretsManager;
    use presence_core::domain::ids::TeamsUserId;
    use presence_core::ports::{Budget, PresenceWriter};
    let config = world.config(&[]);
    let http = Http::new(config.http);
    let tokens = TokenCache::new(
        world.azure_secret.clone(),
        SecretsManager::new(world.secrets()),
        AzureAd {
            login_url: config.azure_login_url.clone(),
            scope: config.graph_scope.clone(),
        },
        http.clone(),
    );
    let graph = GraphPresence::new(http, &config.graph_api_url, tokens, None);
    let budget = Budget {
        until: tokio::time::Instant::now() + Duration::from_secs(5),
    };
    graph
        .set_preferred(&TeamsUserId::parse(&agent.teams).unwrap(), presence, budget)
        .await
        .unwrap();
}

/// A holder announced Busy, got it into Teams and died. The next event maps to what the
/// record says is applied (Away): its claim must not make the record look settled, or a
/// concurrent event would see nothing to do and leave Teams showing Busy.
#[tokio::test]
async fn a_claim_never_makes_an_uncertain_record_look_settled() {
    let (world, isolation) = World::isolated().await;
    let agent = world.agent();
    let (a, b) = (world.instance(&[]), world.instance(&[]));
    a.outcome(presence(&agent.genesys, "AWAY", 500)).await;
    die_holding_the_lease(
        &world,
        &presence(&agent.genesys, "BUSY", 1_000),
        TeamsPresence::Busy,
        -1,
    )
    .await;
    graph_sets(&world, &agent, TeamsPresence::Busy).await;

    // Hold back the answer to A's first write while B handles a newer event.
    let event_a = presence(&agent.genesys, "Break", 2_000);
    let mut hold = isolation
        .proxy
        .hold("UpdateItem", event_a["id"].as_str().unwrap());
    let (first, second) = tokio::join!(a.invoke(event_a), async {
        assert!(hold.reached(Duration::from_secs(10)).await);
        let second = b.invoke(presence(&agent.genesys, "AWAY", 3_000)).await;
        drop(hold);
        second
    });
    assert!(first.is_ok() && second.is_ok(), "{first:?} {second:?}");
    assert_eq!(world.teams(&agent).as_deref(), Some("Away/Away"));
}

/// The first copy of an event records it and calls Graph, which is slow and then cut off; a
/// second copy of the same event arrives meanwhile. The second must not answer "duplicate"
/// while the first may still fail: it waits for the holder, finds the record unsettled and
/// applies the state itself.
#[tokio::test]
async fn a_copy_of_an_event_in_flight_waits_for_the_first_copy_and_settles_its_failure() {
    let (world, isolation) = World::isolated().await;
    let agent = world.agent();
    let (a, b) = (world.instance(&[]), world.instance(&[]));
    let event = presence(&agent.genesys, "BUSY", 1_000);
    world.ms.faults().push(
        MsEndpoint::Presence,
        Fault::delay(Duration::from_millis(1_500)),
    );
    let updates_before = isolation.proxy.count("UpdateItem");
    let recorder = world.ms.recorder();
    // 2 s to the deadline leaves a 0.5 s budget: the slow Graph call is cut off.
    let (first, second) = tokio::join!(
        a.invoke_within(event.clone(), Duration::from_secs(2)),
        async {
            isolation
                .proxy
                .wait_for_count("UpdateItem", updates_before + 1)
                .await;
            // The first copy recorded the event and its Graph call is in flight.
            recorder.until_arrived(MsEndpoint::Presence, 1).await;
            b.invoke(event.clone()).await
        }
    );
    assert!(
        first.is_err(),
        "the first copy's Graph call was cut off: {first:?}"
    );
    let second = second.expect("the second copy settles the record");
    assert_eq!(
        format!("{}/{}", second.outcome, second.reason),
        "applied/reconciled"
    );
    assert_eq!(world.teams(&agent).as_deref(), Some("Busy/Busy"));
}

/// The write that records an event lands, but its answer is lost and the SDK retries it; the
/// retry is refused by the record it wrote itself. That is not a duplicate: the event's state
/// must still reach Teams.
#[tokio::test]
async fn a_recording_write_whose_answer_was_lost_is_not_taken_for_a_duplicate() {
    let (world, isolation) = World::isolated().await;
    let agent = world.agent();
    let a = world.instance(&[]);
    let event = presence(&agent.genesys, "BUSY", 1_000);
    isolation
        .proxy
        .lose_answer("UpdateItem", event["id"].as_str().unwrap());
    let outcome = a.outcome(event).await;
    assert!(outcome.starts_with("applied/"), "{outcome}");
    assert_eq!(world.teams(&agent).as_deref(), Some("Busy/Busy"));
}

/// A copy of an event finds the record unsettled by an earlier failed copy and sets out to
/// settle it, but a third copy takes the lease first and its Graph call is slow and then cut
/// off. The second copy must wait for that holder's result, not answer "duplicate" because
/// someone else is on it.
#[tokio::test]
async fn a_copy_that_finds_another_settling_its_state_waits_for_the_result() {
    let (world, isolation) = World::isolated().await;
    let agent = world.agent();
    let (a, b, c) = (
        world.instance(&[]),
        world.instance(&[]),
        world.instance(&[]),
    );
    let event = presence(&agent.genesys, "BUSY", 1_000);
    let slow = || Fault::delay(Duration::from_millis(1_500));
    world.ms.faults().push(MsEndpoint::Presence, slow());
    // 2 s to the deadline leaves a 0.5 s budget: the slow Graph call is cut off, and the
    // failed copy leaves the record unsettled.
    assert!(
        a.invoke_within(event.clone(), Duration::from_secs(2))
            .await
            .is_err()
    );

    world.ms.faults().push(MsEndpoint::Presence, slow());
    let mut hold = isolation
        .proxy
        .hold("UpdateItem", event["id"].as_str().unwrap());
    let (second, third) = tokio::join!(b.invoke(event.clone()), async {
        // B's refused write has seen the record unsettled and free; its answer waits while
        // C takes the lease to settle it.
        assert!(hold.reached(Duration::from_secs(10)).await);
        let third = c.invoke_within(event.clone(), Duration::from_secs(2));
        let release = async {
            let claimed = isolation.proxy.count("UpdateItem");
            isolation
                .proxy
                .wait_for_count("UpdateItem", claimed + 2)
                .await;
            drop(hold);
        };
        tokio::join!(third, release).0
    });
    assert!(
        third.is_err(),
        "the third copy's Graph call was cut off: {third:?}"
    );
    let second = second.expect("the second copy settles the record");
    assert_eq!(
        format!("{}/{}", second.outcome, second.reason),
        "applied/reconciled"
    );
    assert_eq!(world.teams(&agent).as_deref(), Some("Busy/Busy"));
}
