//! Remote calls per event, counted exactly: unlike times, call counts are stable on a noisy
//! machine, so these guard the performance budgets of `docs/performance.md` in CI.
//!
//! A warm instance makes exactly one Graph call for an event that changes Teams and no token,
//! secret or SCIM call; an unchanged, duplicate or stale event makes no Graph call and one
//! DynamoDB call; the one-time calls (secrets, tokens, the Teams id) happen once per instance
//! or per agent. DynamoDB and Secrets Manager calls are counted by a proxy in front of moto,
//! Graph, token and SCIM calls by the fakes.

use presence_core::app::build_with;
use presence_sync_tests::aws::sdk_config;
use presence_sync_tests::aws_proxy::AwsProxy;
use presence_sync_tests::events::{activity, presence, routing};
use presence_sync_tests::fake_genesys::GenesysEndpoint;
use presence_sync_tests::fake_microsoft::MsEndpoint;
use presence_sync_tests::world::{Instance, World};
use serde_json::Value;

/// Every remote call the function can make, counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Calls {
    graph: usize,
    graph_token: usize,
    genesys_token: usize,
    scim: usize,
    secrets: usize,
    update_item: usize,
    get_item: usize,
    put_item: usize,
    other_dynamodb: usize,
}

impl Calls {
    fn dynamodb(&self) -> usize {
        self.update_item + self.get_item + self.put_item + self.other_dynamodb
    }
}

struct Bench {
    world: World,
    proxy: AwsProxy,
    sdk: aws_config::SdkConfig,
}

impl Bench {
    async fn start() -> Bench {
        let world = World::start().await;
        let proxy = AwsProxy::start(&world.moto).await;
        let sdk = sdk_config(&proxy.endpoint()).await;
        Bench { world, proxy, sdk }
    }

    /// A new (cold) function instance whose AWS calls go through the proxy.
    fn instance(&self) -> Instance {
        Instance {
            sync: build_with(&self.world.config(&[]), &self.sdk),
        }
    }

    fn calls(&self) -> Calls {
        let ms = self.world.ms.recorder();
        let genesys = self.world.genesys.recorder();
        let update_item = self.proxy.count("UpdateItem");
        let get_item = self.proxy.count("GetItem");
        let put_item = self.proxy.count("PutItem");
        Calls {
            graph: ms.count(MsEndpoint::Presence),
            graph_token: ms.count(MsEndpoint::Token),
            genesys_token: genesys.count(GenesysEndpoint::Token),
            scim: genesys.count(GenesysEndpoint::Scim),
            secrets: self.proxy.secrets_manager_calls(),
            update_item,
            get_item,
            put_item,
            other_dynamodb: self.proxy.dynamodb_calls() - update_item - get_item - put_item,
        }
    }

    /// Invokes `instance` with `event`; returns `outcome/reason` and the calls it made.
    async fn run(&self, instance: &Instance, event: Value) -> (String, Calls) {
        let before = self.calls();
        let outcome = instance.outcome(event).await;
        let after = self.calls();
        let delta = Calls {
            graph: after.graph - before.graph,
            graph_token: after.graph_token - before.graph_token,
            genesys_token: after.genesys_token - before.genesys_token,
            scim: after.scim - before.scim,
            secrets: after.secrets - before.secrets,
            update_item: after.update_item - before.update_item,
            get_item: after.get_item - before.get_item,
            put_item: after.put_item - before.put_item,
            other_dynamodb: after.other_dynamodb - before.other_dynamodb,
        };
        (outcome, delta)
    }
}

/// What a warm instance may do for an event that changes Teams: one Graph call, the
/// record-and-claim write and the finish write.
const CHANGE: Calls = Calls {
    graph: 1,
    graph_token: 0,
    genesys_token: 0,
    scim: 0,
    secrets: 0,
    update_item: 2,
    get_item: 0,
    put_item: 0,
    other_dynamodb: 0,
};

/// What a warm instance may do for an event that does not change Teams: one conditional write.
const NO_CHANGE: Calls = Calls {
    graph: 0,
    update_item: 1,
    ..CHANGE
};

#[tokio::test]
async fn a_warm_instance_makes_one_graph_call_per_change_and_no_token_secret_or_scim_call() {
    let bench = Bench::start().await;
    let agent = bench.world.agent();
    let instance = bench.instance();
    let user = agent.genesys.as_str();

    // The first event of a cold instance: both secrets, both tokens, the Teams id (table
    // cache miss, SCIM lookup, the claim on the Teams id, an UpdateItem since every grant
    // bumps the claim's revision, and the cache write, a PutItem), then the change itself.
    let (outcome, calls) = bench
        .run(&instance, activity(user, "ON_QUEUE", 1_000, "IDLE", 1_000))
        .await;
    assert_eq!(outcome, "applied/changed");
    assert_eq!(
        calls,
        Calls {
            graph_token: 1,
            genesys_token: 1,
            scim: 1,
            secrets: 2,
            get_item: 1,
            update_item: CHANGE.update_item + 1,
            put_item: 1,
            ..CHANGE
        }
    );

    // Warm: a change is one Graph call and two DynamoDB writes, nothing else.
    let (outcome, calls) = bench.run(&instance, presence(user, "BREAK", 2_000)).await;
    assert_eq!(outcome, "applied/changed");
    assert_eq!(calls, CHANGE);
    assert!(calls.dynamodb() <= 2);

    // A presence that maps to what Teams already shows (Break and Meal are both Away).
    let (outcome, calls) = bench.run(&instance, presence(user, "MEAL", 3_000)).await;
    assert_eq!(outcome, "skipped/unchanged");
    assert_eq!(calls, NO_CHANGE);

    // A routing status without routing rules.
    let (outcome, calls) = bench
        .run(&instance, routing(user, "INTERACTING", 3_500))
        .await;
    assert_eq!(outcome, "skipped/unchanged");
    assert_eq!(calls, NO_CHANGE);

    // A change, then the same event delivered again.
    let event = presence(user, "AVAILABLE", 4_000);
    let (outcome, calls) = bench.run(&instance, event.clone()).await;
    assert_eq!(outcome, "applied/changed");
    assert_eq!(calls, CHANGE);
    let (outcome, calls) = bench.run(&instance, event).await;
    assert_eq!(outcome, "skipped/duplicate");
    assert_eq!(calls, NO_CHANGE);

    // An older event arriving late.
    let (outcome, calls) = bench.run(&instance, presence(user, "BUSY", 3_900)).await;
    assert_eq!(outcome, "skipped/stale");
    assert_eq!(calls, NO_CHANGE);

    // Clearing is a change too: one Graph call.
    let (outcome, calls) = bench.run(&instance, presence(user, "OFFLINE", 5_000)).await;
    assert_eq!(outcome, "cleared/changed");
    assert_eq!(calls, CHANGE);

    // An activity event (presence and routing status together) that changes Teams.
    let (outcome, calls) = bench
        .run(&instance, activity(user, "ON_QUEUE", 6_000, "IDLE", 6_000))
        .await;
    assert_eq!(outcome, "applied/changed");
    assert_eq!(calls, CHANGE);
}

#[tokio::test]
async fn a_new_agent_on_a_warm_instance_costs_one_teams_id_lookup_and_no_token_or_secret() {
    let bench = Bench::start().await;
    let first = bench.world.agent();
    let second = bench.world.agent();
    let instance = bench.instance();
    let (outcome, _) = bench
        .run(&instance, presence(&first.genesys, "ON_QUEUE", 1_000))
        .await;
    assert_eq!(outcome, "applied/changed");

    let (outcome, calls) = bench
        .run(&instance, presence(&second.genesys, "ON_QUEUE", 1_000))
        .await;
    assert_eq!(outcome, "applied/changed");
    assert_eq!(
        calls,
        Calls {
            scim: 1,
            get_item: 1,
            update_item: CHANGE.update_item + 1,
            put_item: 1,
            ..CHANGE
        }
    );

    // Its next change is a plain warm change.
    let (outcome, calls) = bench
        .run(&instance, presence(&second.genesys, "BREAK", 2_000))
        .await;
    assert_eq!(outcome, "applied/changed");
    assert_eq!(calls, CHANGE);
}

#[tokio::test]
async fn another_instance_reads_the_teams_id_from_the_table_instead_of_scim() {
    let bench = Bench::start().await;
    let agent = bench.world.agent();
    let first = bench.instance();
    let (outcome, _) = bench
        .run(&first, presence(&agent.genesys, "ON_QUEUE", 1_000))
        .await;
    assert_eq!(outcome, "applied/changed");

    // A second, cold instance: its own secrets and tokens, but the Teams id from the table.
    let second = bench.instance();
    let (outcome, calls) = bench
        .run(&second, presence(&agent.genesys, "BREAK", 2_000))
        .await;
    assert_eq!(outcome, "applied/changed");
    assert_eq!(
        calls,
        Calls {
            graph_token: 1,
            genesys_token: 0,
            secrets: 1,
            get_item: 1,
            ..CHANGE
        }
    );

    // Warm from then on.
    let (outcome, calls) = bench
        .run(&second, presence(&agent.genesys, "AVAILABLE", 3_000))
        .await;
    assert_eq!(outcome, "applied/changed");
    assert_eq!(calls, CHANGE);
}

#[tokio::test]
async fn the_proxy_counts_by_operation_and_can_play_an_outage() {
    let bench = Bench::start().await;
    let agent = bench.world.agent();
    let instance = bench.instance();
    let (outcome, _) = bench
        .run(&instance, presence(&agent.genesys, "ON_QUEUE", 1_000))
        .await;
    assert_eq!(outcome, "applied/changed");
    let counts = bench.proxy.counts();
    assert_eq!(counts.get("GetSecretValue"), Some(&2), "{counts:?}");
    // The claim on the Teams id, the recording write and the finish.
    assert_eq!(counts.get("UpdateItem"), Some(&3), "{counts:?}");
    assert!(bench.proxy.upstream_time() > std::time::Duration::ZERO);

    bench.proxy.reset();
    assert!(bench.proxy.counts().is_empty());

    // Down: DynamoDB answers nothing, so the event fails with a state store error and Teams
    // is not touched; back up, the same kind of event goes through.
    bench.proxy.set_down(true);
    let error = instance
        .invoke(presence(&agent.genesys, "BREAK", 2_000))
        .await
        .expect_err("the state table is unreachable");
    assert_eq!(error.kind(), "StateStoreError", "{error}");
    // Nothing reached moto.
    assert_eq!(bench.proxy.upstream_time(), std::time::Duration::ZERO);
    assert_eq!(bench.world.ms.recorder().count(MsEndpoint::Presence), 1);

    bench.proxy.set_down(false);
    let (outcome, calls) = bench
        .run(&instance, presence(&agent.genesys, "BREAK", 2_000))
        .await;
    assert_eq!(outcome, "applied/changed");
    assert_eq!(calls, CHANGE);
}
