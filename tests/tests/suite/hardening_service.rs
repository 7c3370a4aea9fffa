//! The service's own guards (issue 8): no state-store call outlives the invocation, and a
//! panic anywhere in the sync releases the user's lease and fails with a clean error type.

use presence_core::adapters::dynamodb::DynamoStateStore;
use presence_core::domain::ids::{GenesysUserId, TeamsUserId};
use presence_core::domain::teams::TeamsPresence;
use presence_core::ports::{
    Budget, CachedTeamsId, DirectoryAnswer, PresenceWriter, RemoteError, TeamsDirectory,
    TeamsIdCache, TeamsIdEntry, WriteAnswer,
};
use presence_core::service::{Invocation, PresenceSync};
use presence_sync_tests::events::{event_id, presence};
use presence_sync_tests::world::World;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// Measured before the fix: with DynamoDB silent, the answer came after the SDK's 6 s
/// operation timeout, past a 3 s Lambda deadline ("Task timed out", environment reset).
#[tokio::test]
async fn a_state_table_that_never_answers_fails_the_event_before_the_deadline() {
    let (world, isolation) = World::isolated().await;
    let agent = world.agent();
    let instance = world.instance(&[]);
    let event = presence(&agent.genesys, "AVAILABLE", 1_000);
    // The recording write reaches moto, but its answer never comes back while this lives.
    let _hold = isolation
        .proxy
        .hold("UpdateItem", event["id"].as_str().unwrap());
    let deadline = Duration::from_secs(3);
    let started = Instant::now();
    let answer = tokio::time::timeout(
        Duration::from_secs(15),
        instance.invoke_within(event, deadline),
    )
    .await
    .expect("the handler answers at all");
    let elapsed = started.elapsed();
    let error = answer.expect_err("a silent state table fails the event");
    assert!(
        elapsed < deadline - Duration::from_millis(200),
        "answered {elapsed:?} into a {deadline:?} invocation: Lambda would kill it"
    );
    assert_eq!(error.kind(), "StateStoreError", "{error}");
    assert!(
        error.to_string().contains("time budget"),
        "the error says why: {error}"
    );
    assert_eq!(world.graph_calls(&agent), 0);
}

/// A directory that knows one user.
struct OneUser(String);

impl TeamsDirectory for OneUser {
    async fn lookup(
        &self,
        _user: &GenesysUserId,
        _budget: Budget,
    ) -> Result<DirectoryAnswer, RemoteError> {
        Ok(DirectoryAnswer::TeamsId(self.0.clone()))
    }

    async fn membership(
        &self,
        _user: &GenesysUserId,
        _queues: bool,
        _budget: Budget,
    ) -> Result<presence_core::domain::scope::Membership, RemoteError> {
        Ok(Default::default())
    }
}

/// A presence writer whose first call panics (a bug in a client, an overflow on a remote
/// number) and whose later calls succeed.
#[derive(Default)]
struct PanicsOnce(AtomicUsize);

impl PanicsOnce {
    fn call(&self) -> Result<WriteAnswer, RemoteError> {
        if self.0.fetch_add(1, Ordering::SeqCst) == 0 {
            panic!("attempt to add with overflow");
        }
        Ok(WriteAnswer::Accepted)
    }
}

impl PresenceWriter for PanicsOnce {
    async fn set_preferred(
        &self,
        _user: &TeamsUserId,
        _presence: TeamsPresence,
        _budget: Budget,
    ) -> Result<WriteAnswer, RemoteError> {
        self.call()
    }

    async fn clear_preferred(
        &self,
        _user: &TeamsUserId,
        _budget: Budget,
    ) -> Result<WriteAnswer, RemoteError> {
        self.call()
    }
}

/// Before the fix the panic escaped the handler: the lease stayed held (the user's next event
/// failed `UserBusy`) and Lambda reported the error type `&alloc::boxed::Box<dyn Any…>`.
#[tokio::test]
async fn a_panic_releases_the_lease_and_fails_with_a_clean_error_type() {
    let world = World::start().await;
    let agent = world.agent();
    let config = world.config(&[]);
    let store = DynamoStateStore::new(world.dynamodb(), world.table.clone());
    let writer = PanicsOnce::default();
    let sync = PresenceSync::new(
        store.clone(),
        store,
        OneUser(agent.teams.clone()),
        writer,
        config.mapping.clone(),
        config.settings.clone(),
    );
    let invocation = || Invocation {
        request_id: event_id(),
        deadline: SystemTime::now() + Duration::from_secs(10),
    };
    let error = sync
        .handle(presence(&agent.genesys, "AVAILABLE", 1_000), &invocation())
        .await
        .expect_err("the panic fails the event");
    assert_eq!(error.kind(), "InternalError", "{error}");
    assert!(
        error.to_string().contains("attempt to add with overflow"),
        "{error}"
    );
    let item = world
        .dynamodb()
        .get_item()
        .table_name(&world.table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("user#{}", agent.genesys)),
        )
        .send()
        .await
        .unwrap()
        .item
        .expect("the event was recorded");
    assert!(
        !item.contains_key("lease_owner"),
        "the lease is released: {item:?}"
    );
    // The user's next event goes through at once instead of waiting out the lease.
    let started = Instant::now();
    let report = sync
        .handle(presence(&agent.genesys, "BUSY", 2_000), &invocation())
        .await
        .expect("the next event is not refused as busy");
    assert_eq!(report.outcome, "applied");
    assert!(started.elapsed() < Duration::from_secs(2));
}

// --- One Teams user, one Genesys user ---------------------------------------------------------

/// This process's log lines (nextest runs each test in a process of its own) that mention
/// `needle`.
fn logged_with(needle: &str) -> Vec<serde_json::Value> {
    let path =
        presence_sync_tests::logs::dir().join(format!("in-process-{}.log", std::process::id()));
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|line| line.contains(needle))
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// Whoever can edit a Genesys user's external ids must not drive another person's Teams
/// presence, and two agents with one Teams id must not fight over it: the first holds it.
#[tokio::test]
async fn a_teams_id_already_held_by_another_genesys_user_is_refused_with_a_warning() {
    let world = World::start().await;
    let holder = world.agent();
    let intruder = presence_sync_tests::events::new_id();
    world.genesys.add_user(&intruder, Some(&holder.teams));
    let instance = world.instance(&[]);
    assert_eq!(
        instance
            .outcome(presence(&holder.genesys, "BUSY", 1_000))
            .await,
        "applied/changed"
    );
    assert_eq!(
        instance
            .outcome(presence(&intruder, "AVAILABLE", 2_000))
            .await,
        "skipped/teams-id-claimed"
    );
    // Another instance (no memory cache) refuses it too.
    assert_eq!(
        world
            .instance(&[])
            .outcome(presence(&intruder, "AWAY", 3_000))
            .await,
        "skipped/teams-id-claimed"
    );
    assert_eq!(world.graph_calls(&holder), 1, "only the holder's event");
    assert_eq!(world.teams(&holder).as_deref(), Some("Busy/Busy"));
    let warnings = logged_with("another Genesys user holds");
    assert!(
        warnings
            .iter()
            .any(|w| w["fields"]["holder"] == holder.genesys.as_str()
                && w["fields"]["genesysUserId"] == intruder.as_str()),
        "a warning names both Genesys users: {warnings:?}"
    );
    // The holder keeps updating its Teams user.
    assert_eq!(
        instance
            .outcome(presence(&holder.genesys, "AVAILABLE", 4_000))
            .await,
        "applied/changed"
    );
}

/// A user whose Teams id changes in Genesys is warned about, and gives up the old Teams id,
/// which another Genesys user may then hold.
#[tokio::test]
async fn a_changed_teams_id_is_warned_about_and_frees_the_old_one() {
    let world = World::start().await;
    let agent = world.agent();
    let store = DynamoStateStore::new(world.dynamodb(), world.table.clone());
    assert_eq!(
        world
            .instance(&[])
            .outcome(presence(&agent.genesys, "BUSY", 1_000))
            .await,
        "applied/changed"
    );
    let new_teams = presence_sync_tests::events::new_id();
    world.ms.add_user(&new_teams);
    world.genesys.add_user(&agent.genesys, Some(&new_teams));
    // The cached answer expires (here: dropped), so the next event looks the id up again.
    let user = GenesysUserId::parse(&agent.genesys).unwrap();
    let expired = CachedTeamsId {
        entry: TeamsIdEntry::Teams(TeamsUserId::parse(&agent.teams).unwrap()),
        expires_at: chrono::Utc::now().timestamp() - 1,
        origin: Default::default(),
    };
    store
        .put(&user, &expired, chrono::Utc::now().timestamp())
        .await
        .unwrap();
    assert_eq!(
        world
            .instance(&[])
            .outcome(presence(&agent.genesys, "AWAY", 2_000))
            .await,
        "applied/changed"
    );
    assert_eq!(
        world.ms.preferred_presence(&new_teams).map(|p| p.0),
        Some("Away".to_owned())
    );
    let warnings = logged_with("the Teams id Genesys gives this user changed");
    assert!(
        warnings.iter().any(
            |w| w["fields"]["previousTeamsUserId"] == agent.teams.as_str()
                && w["fields"]["teamsUserId"] == new_teams.as_str()
        ),
        "{warnings:?}"
    );
    // The old Teams id is free for another Genesys user.
    let successor = presence_sync_tests::events::new_id();
    world.genesys.add_user(&successor, Some(&agent.teams));
    assert_eq!(
        world
            .instance(&[])
            .outcome(presence(&successor, "AVAILABLE", 3_000))
            .await,
        "applied/changed"
    );
}

// --- Secrets ----------------------------------------------------------------------------------

/// Measured before the fix: a Secrets Manager that never answers held the event until the
/// SDK gave up (6 s in production), past a 3 s Lambda deadline.
#[tokio::test]
async fn a_secret_store_that_never_answers_fails_the_event_before_the_deadline() {
    let (world, isolation) = World::isolated().await;
    let agent = world.agent();
    let instance = world.instance(&[]);
    let _hold = isolation.proxy.hold("GetSecretValue", &world.azure_secret);
    let deadline = Duration::from_secs(3);
    let started = Instant::now();
    let answer = tokio::time::timeout(
        Duration::from_secs(15),
        instance.invoke_within(presence(&agent.genesys, "AVAILABLE", 1_000), deadline),
    )
    .await
    .expect("the handler answers at all");
    let elapsed = started.elapsed();
    let error = answer.expect_err("a silent secret store fails the event");
    assert!(
        elapsed < deadline - Duration::from_millis(200),
        "answered {elapsed:?} into a {deadline:?} invocation"
    );
    assert_eq!(error.kind(), "SecretsManagerUnavailable", "{error}");
    assert!(error.to_string().contains("time budget"), "{error}");
    assert_eq!(world.graph_calls(&agent), 0);
}

/// infra/azure writes the client secret's expiry into the secret; the function warns at
/// every cold start from 30 days before it (the template alarms on the warning).
#[tokio::test]
async fn an_azure_secret_close_to_its_expiry_is_warned_about() {
    let world = World::start().await;
    let agent = world.agent();
    let expires_at = (chrono::Utc::now() + chrono::Duration::days(10) + chrono::Duration::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    presence_sync_tests::aws::rotate_secret(
        &world.secrets(),
        &world.azure_secret,
        &serde_json::json!({
            "tenant_id": presence_sync_tests::world::TENANT,
            "client_id": presence_sync_tests::world::AZURE_CLIENT_ID,
            "client_secret": presence_sync_tests::world::AZURE_CLIENT_SECRET,
            "client_secret_expires_at": expires_at,
        }),
    )
    .await;
    assert_eq!(
        world
            .instance(&[])
            .outcome(presence(&agent.genesys, "AVAILABLE", 1_000))
            .await,
        "applied/changed"
    );
    let warnings = logged_with(presence_core::adapters::oauth::SECRET_EXPIRING_MESSAGE);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0]["fields"]["daysLeft"], 10);
    assert_eq!(warnings[0]["fields"]["expiresAt"], expires_at.as_str());
    assert_eq!(
        warnings[0]["fields"]["secretId"],
        world.azure_secret.as_str()
    );
}
