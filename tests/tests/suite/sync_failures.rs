//! Resolving the Teams user, credentials and tokens, downstream failures, and rejected
//! input: the presence sync against moto and the fake Genesys and Microsoft servers.

use presence_core::adapters::dynamodb::DynamoStateStore;
use presence_core::domain::ids::{GenesysUserId, TeamsUserId};
use presence_core::ports::{CachedTeamsId, TeamsIdCache, TeamsIdEntry};
use presence_core::service::SyncError;
use presence_sync_tests::aws::rotate_secret;
use presence_sync_tests::events::{activity, new_id, presence};
use presence_sync_tests::fake_genesys::GenesysEndpoint;
use presence_sync_tests::fake_microsoft::MsEndpoint;
use presence_sync_tests::fault::Fault;
use presence_sync_tests::world::{
    AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, GENESYS_CLIENT_SECRET, TENANT, World,
};
use serde_json::json;
use std::time::{Duration, Instant};

fn store(world: &World) -> DynamoStateStore {
    DynamoStateStore::new(world.dynamodb(), world.table.clone())
}

// --- Resolving the Teams user -------------------------------------------------------------

#[tokio::test]
async fn the_teams_id_is_read_from_the_scim_microsoftteams_external_id() {
    let world = World::start().await;
    let agent = world.agent();
    world
        .instance(&[])
        .outcome(presence(&agent.genesys, "AVAILABLE", 1_000))
        .await;
    let scim = world
        .genesys
        .calls()
        .into_iter()
        .find(|c| c.kind == GenesysEndpoint::Scim)
        .unwrap();
    assert_eq!(
        scim.path,
        format!("/api/v2/scim/v2/users/{}", agent.genesys)
    );
    assert_eq!(
        scim.query.as_deref(),
        Some(
            "attributes=active,urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User:externalIds"
        )
    );
    assert_eq!(world.teams(&agent).as_deref(), Some("Available/Available"));
}

#[tokio::test]
async fn the_teams_id_is_looked_up_once_per_cache_lifetime_across_instances() {
    let world = World::start().await;
    let agent = world.agent();
    let first = world.instance(&[]);
    first
        .outcome(presence(&agent.genesys, "AVAILABLE", 1_000))
        .await;
    first.outcome(presence(&agent.genesys, "BUSY", 2_000)).await;
    assert_eq!(
        world.genesys.scim_calls(),
        1,
        "the instance remembers the id"
    );
    let second = world.instance(&[]);
    second
        .outcome(presence(&agent.genesys, "AWAY", 3_000))
        .await;
    assert_eq!(
        world.genesys.scim_calls(),
        1,
        "a new instance finds it in the state table"
    );
    let cached = store(&world)
        .get(&GenesysUserId::parse(&agent.genesys).unwrap(), 0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        cached.entry,
        TeamsIdEntry::Teams(TeamsUserId::parse(&agent.teams).unwrap())
    );
    let now = chrono::Utc::now().timestamp();
    assert!(
        (cached.expires_at - now - 24 * 3600).abs() < 60,
        "cached for 24 h"
    );
}

#[tokio::test]
async fn an_expired_cache_item_reads_as_absent() {
    let world = World::start().await;
    let agent = world.agent();
    let user = GenesysUserId::parse(&agent.genesys).unwrap();
    // An item DynamoDB's TTL has not deleted yet, naming a Teams user that no longer applies.
    let stale = CachedTeamsId {
        entry: TeamsIdEntry::Teams(TeamsUserId::parse(&new_id()).unwrap()),
        expires_at: chrono::Utc::now().timestamp() - 10,
        origin: Default::default(),
    };
    store(&world)
        .put(&user, &stale, chrono::Utc::now().timestamp())
        .await
        .unwrap();
    world
        .instance(&[])
        .outcome(presence(&agent.genesys, "AVAILABLE", 1_000))
        .await;
    assert_eq!(world.genesys.scim_calls(), 1);
    assert_eq!(world.teams(&agent).as_deref(), Some("Available/Available"));
}

#[tokio::test]
async fn a_user_without_a_teams_id_is_skipped_and_cached_as_none() {
    let world = World::start().await;
    let user = new_id();
    world.genesys.add_user(&user, None);
    let instance = world.instance(&[]);
    assert_eq!(
        instance.outcome(presence(&user, "AVAILABLE", 1_000)).await,
        "skipped/no-teams-user"
    );
    assert_eq!(
        instance.outcome(presence(&user, "BUSY", 2_000)).await,
        "skipped/no-teams-user"
    );
    assert_eq!(
        world
            .instance(&[])
            .outcome(presence(&user, "AWAY", 3_000))
            .await,
        "skipped/no-teams-user"
    );
    assert_eq!(world.genesys.scim_calls(), 1);
    assert!(world.ms.presence_calls().is_empty());
    let cached = store(&world)
        .get(&GenesysUserId::parse(&user).unwrap(), 0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cached.entry, TeamsIdEntry::NoTeamsId);
    let now = chrono::Utc::now().timestamp();
    assert!(
        (cached.expires_at - now - 3600).abs() < 60,
        "'none' is cached for 1 h"
    );
}

#[tokio::test]
async fn a_user_unknown_to_genesys_is_cached_as_none() {
    let world = World::start().await;
    let user = new_id();
    let instance = world.instance(&[]);
    assert_eq!(
        instance.outcome(presence(&user, "AVAILABLE", 1_000)).await,
        "skipped/no-teams-user"
    );
    assert_eq!(
        instance.outcome(presence(&user, "BUSY", 2_000)).await,
        "skipped/no-teams-user"
    );
    assert_eq!(world.genesys.scim_calls(), 1);
}

#[tokio::test]
async fn a_teams_id_that_is_not_a_guid_never_reaches_a_url() {
    let world = World::start().await;
    let user = new_id();
    world.genesys.add_user(&user, Some("../../me/presence?x="));
    assert_eq!(
        world
            .instance(&[])
            .outcome(presence(&user, "AVAILABLE", 1_000))
            .await,
        "skipped/no-teams-user"
    );
    assert!(world.ms.presence_calls().is_empty());
}

#[tokio::test]
async fn the_teams_id_of_another_authority_is_not_used() {
    let world = World::start().await;
    let user = new_id();
    world
        .genesys
        .add_user_with_external_ids(&user, [("salesforce", new_id())]);
    assert_eq!(
        world
            .instance(&[])
            .outcome(presence(&user, "AVAILABLE", 1_000))
            .await,
        "skipped/no-teams-user"
    );
}

#[tokio::test]
async fn graph_not_knowing_the_teams_user_skips_and_drops_the_cached_id() {
    let world = World::start().await;
    let user = new_id();
    let teams = new_id();
    world.genesys.add_user(&user, Some(&teams)); // but Graph does not know `teams`
    let instance = world.instance(&[]);
    assert_eq!(
        instance.outcome(presence(&user, "AVAILABLE", 1_000)).await,
        "skipped/teams-user-not-found"
    );
    assert_eq!(
        store(&world)
            .get(&GenesysUserId::parse(&user).unwrap(), 0)
            .await
            .unwrap(),
        None
    );
    world.ms.add_user(&teams);
    assert_eq!(
        instance.outcome(presence(&user, "BUSY", 2_000)).await,
        "applied/changed"
    );
    assert_eq!(world.genesys.scim_calls(), 2, "the id was looked up again");
}

// --- Tokens and secrets -------------------------------------------------------------------

#[tokio::test]
async fn tokens_and_secrets_are_fetched_once_per_instance() {
    let world = World::start().await;
    // The instance reaches Secrets Manager (and DynamoDB) through a proxy that counts every
    // request by operation.
    let proxy = presence_sync_tests::aws_proxy::AwsProxy::start(&world.moto).await;
    let sdk = presence_sync_tests::aws::sdk_config(&proxy.endpoint()).await;
    let instance = presence_sync_tests::world::Instance {
        sync: presence_core::app::build_with(&world.config(&[]), &sdk),
    };
    // One marker per secret: a request whose body names the secret trips it, and it is
    // released at once, so it only records that the secret was asked for.
    let mut read = [&world.azure_secret, &world.genesys_secret].map(|secret| {
        let marker = proxy.hold("GetSecretValue", secret);
        marker.release();
        marker
    });
    for (i, state) in ["AVAILABLE", "BUSY", "AWAY", "ON_QUEUE", "MEAL"]
        .into_iter()
        .enumerate()
    {
        let agent = world.agent();
        assert_eq!(
            instance
                .outcome(presence(&agent.genesys, state, 1_000 + i as i64))
                .await,
            "applied/changed"
        );
    }
    // Two reads in all for five events, and each secret among them: one read per secret.
    let counts = proxy.counts();
    assert_eq!(proxy.count("GetSecretValue"), 2, "{counts:?}");
    assert_eq!(
        proxy.secrets_manager_calls(),
        2,
        "no other Secrets Manager call: {counts:?}"
    );
    for (marker, secret) in read
        .iter_mut()
        .zip([&world.azure_secret, &world.genesys_secret])
    {
        assert!(
            marker.reached(Duration::from_millis(100)).await,
            "{secret} was never read: {counts:?}"
        );
    }
    assert_eq!(world.ms.token_requests(), 1);
    assert_eq!(world.genesys.token_requests(), 1);
    assert_eq!(world.genesys.scim_calls(), 5);
    let token = world.ms.token_url(TENANT);
    let call = world
        .ms
        .calls()
        .into_iter()
        .find(|c| c.kind == MsEndpoint::Token)
        .unwrap();
    assert!(token.ends_with(&call.path), "{token} vs {}", call.path);
    let form: std::collections::HashMap<_, _> = call.form().unwrap().into_iter().collect();
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["scope"], world.ms.scope());
    assert_eq!(form["client_id"], AZURE_CLIENT_ID);
}

#[tokio::test]
async fn a_rejected_graph_token_is_replaced_once() {
    let world = World::start().await;
    let agent = world.agent();
    let instance = world.instance(&[]);
    instance
        .outcome(presence(&agent.genesys, "AVAILABLE", 1_000))
        .await;
    world.ms.expire_tokens();
    assert_eq!(
        instance
            .outcome(presence(&agent.genesys, "BUSY", 2_000))
            .await,
        "applied/changed"
    );
    assert_eq!(world.ms.token_requests(), 2);
}

#[tokio::test]
async fn a_rejected_genesys_token_is_replaced_once() {
    let world = World::start().await;
    let instance = world.instance(&[]);
    let first = world.agent();
    instance
        .outcome(presence(&first.genesys, "AVAILABLE", 1_000))
        .await;
    world.genesys.expire_tokens();
    let second = world.agent();
    assert_eq!(
        instance
            .outcome(presence(&second.genesys, "BUSY", 1_000))
            .await,
        "applied/changed"
    );
    assert_eq!(world.genesys.token_requests(), 2);
}

#[tokio::test]
async fn a_rotated_azure_secret_is_read_again_once() {
    let world = World::start().await;
    let agent = world.agent();
    let instance = world.instance(&[]);
    instance
        .outcome(presence(&agent.genesys, "AVAILABLE", 1_000))
        .await;
    let rotated = "azure-rotated-Secret-value-9876543210";
    world.ms.register_app(TENANT, AZURE_CLIENT_ID, rotated);
    rotate_secret(
        &world.secrets(),
        &world.azure_secret,
        &json!({"tenant_id": TENANT, "client_id": AZURE_CLIENT_ID, "client_secret": rotated}),
    )
    .await;
    world.ms.expire_tokens();
    assert_eq!(
        instance
            .outcome(presence(&agent.genesys, "BUSY", 2_000))
            .await,
        "applied/changed"
    );
    assert_eq!(world.teams(&agent).as_deref(), Some("Busy/Busy"));
    // The initial token, one refused with the old secret, one with the new.
    assert_eq!(world.ms.token_requests(), 3);
}

#[tokio::test]
async fn a_wrong_secret_fails_naming_the_secret_but_never_its_value() {
    let world = World::start().await;
    let agent = world.agent();
    world
        .ms
        .register_app(TENANT, AZURE_CLIENT_ID, "a-secret-nobody-stored");
    let error = world
        .instance(&[])
        .invoke(presence(&agent.genesys, "AVAILABLE", 1_000))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), "EntraIdDenied");
    let message = error.to_string();
    assert!(message.contains(&world.azure_secret), "{message}");
    assert!(message.contains("invalid_client"), "{message}");
    assert!(!message.contains(AZURE_CLIENT_SECRET), "{message}");
    // The secret was just read, so re-reading it cannot help: one token request, then fail.
    assert_eq!(world.ms.token_requests(), 1);
}

#[tokio::test]
async fn a_wrong_genesys_secret_fails_naming_the_secret() {
    let world = World::start().await;
    let agent = world.agent();
    world.genesys.register_client(
        presence_sync_tests::world::GENESYS_CLIENT_ID,
        "a-different-genesys-secret-0000",
    );
    let error = world
        .instance(&[])
        .invoke(presence(&agent.genesys, "AVAILABLE", 1_000))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), "GenesysLoginDenied");
    assert!(error.to_string().contains(&world.genesys_secret), "{error}");
    assert!(
        !error.to_string().contains(GENESYS_CLIENT_SECRET),
        "{error}"
    );
    assert!(world.ms.presence_calls().is_empty());
}

// --- Graph failures -----------------------------------------------------------------------

#[tokio::test]
async fn graph_throttling_is_retried_after_retry_after() {
    let world = World::start().await;
    let agent = world.agent();
    world
        .ms
        .faults()
        .push(MsEndpoint::Presence, Fault::throttled(1));
    let started = Instant::now();
    assert_eq!(
        world
            .instance(&[])
            .outcome(presence(&agent.genesys, "AVAILABLE", 1_000))
            .await,
        "applied/changed"
    );
    let calls = world.ms.presence_calls();
    assert_eq!(calls.len(), 2);
    assert!(calls[1].started - calls[0].finished >= Duration::from_secs(1));
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn graph_server_errors_are_retried_with_backoff() {
    let world = World::start().await;
    let agent = world.agent();
    for status in [500, 502, 503, 504] {
        world
            .ms
            .faults()
            .push(MsEndpoint::Presence, Fault::status(status));
    }
    world.ms.faults().push(MsEndpoint::Presence, Fault::Drop);
    assert_eq!(
        world
            .instance(&[])
            .outcome(presence(&agent.genesys, "AVAILABLE", 1_000))
            .await,
        "applied/changed"
    );
    let mut calls = world.ms.presence_calls();
    calls.sort_by_key(|c| c.started);
    let statuses: Vec<u16> = calls.iter().map(|c| c.status).collect();
    // 0: the dropped connection.
    assert_eq!(statuses[..5], [500, 502, 503, 504, 0], "{statuses:?}");
    assert_eq!(calls.len(), 6, "{statuses:?}");
    assert!(calls[5].status / 100 == 2, "{statuses:?}");
    assert_eq!(world.teams(&agent).as_deref(), Some("Available/Available"));

    // No Retry-After, so the waits are the exponential backoff of `with_retries`: the n-th
    // wait (n from 0) is 100 ms × 2^n plus a jitter that only adds, up to as much again
    // (backon's `with_jitter`: delay + delay × [0, 1)). A gap between the end of one answer
    // and the start of the next request cannot be shorter than the wait; it can be longer by
    // the scheduling and round trip around it, hence the generous slack above.
    let gaps: Vec<Duration> = calls
        .windows(2)
        .map(|pair| pair[1].started.saturating_duration_since(pair[0].finished))
        .collect();
    let slack = Duration::from_millis(1_000);
    for (n, gap) in gaps.iter().enumerate() {
        let floor = Duration::from_millis(100 << n);
        assert!(
            *gap >= floor,
            "wait {n} was {gap:?}, under the backoff of {floor:?}: {gaps:?}"
        );
        assert!(
            *gap < floor * 2 + slack,
            "wait {n} was {gap:?}, beyond the backoff of at most {:?}: {gaps:?}",
            floor * 2
        );
    }
    // The floors double, so the waits grow: the last is at least 16 times the first floor,
    // longer than the longest the first can be.
    assert!(gaps[4] > gaps[0], "{gaps:?}");
}

#[tokio::test]
async fn a_slow_graph_call_times_out_and_is_retried() {
    let world = World::start().await;
    let agent = world.agent();
    let mut config = world.config(&[]);
    config.http.total = Duration::from_millis(500);
    let delay = Duration::from_secs(2);
    world
        .ms
        .faults()
        .push(MsEndpoint::Presence, Fault::delay(delay));
    assert_eq!(
        world
            .instance_with(config)
            .outcome(presence(&agent.genesys, "AVAILABLE", 1_000))
            .await,
        "applied/changed"
    );
    assert_eq!(world.teams(&agent).as_deref(), Some("Available/Available"));
    // Two presence calls reached Graph: the first took the delay off the fault queue, and
    // the fake never answered or recorded it (its handler is dropped with the connection the
    // client closed at its timeout); the second, without a fault, was answered.
    assert_eq!(
        world.ms.faults().pending(MsEndpoint::Presence),
        0,
        "the first call met the delay"
    );
    let calls = world.ms.presence_calls();
    assert_eq!(
        calls.len(),
        1,
        "only the retry was answered (a first call waited out would be recorded, faulted): {calls:#?}"
    );
    let retry = &calls[0];
    assert!(
        !retry.faulted && retry.status / 100 == 2,
        "the retry was answered: {retry:#?}"
    );
    // The first call was sent as soon as the Graph token arrived. The retry started after the
    // 500 ms timeout (and a backoff of at least 100 ms), and before the delayed answer could
    // have come: the timeout cut the first call.
    let token = world
        .ms
        .calls()
        .into_iter()
        .find(|c| c.kind == MsEndpoint::Token)
        .expect("a Graph token was fetched");
    let gap = retry.started.saturating_duration_since(token.finished);
    assert!(
        gap >= Duration::from_millis(500),
        "the retry started {gap:?} after the first call could, before its timeout"
    );
    assert!(
        gap < delay,
        "the retry started {gap:?} after the first call could: the first call was not cut at 500 ms"
    );
}

#[tokio::test]
async fn graph_failing_past_the_budget_fails_and_the_redelivery_still_applies() {
    let world = World::start().await;
    let agent = world.agent();
    let instance = world.instance(&[]);
    world
        .ms
        .faults()
        .push_n(MsEndpoint::Presence, Fault::status(503), 1_000);
    let event = presence(&agent.genesys, "AVAILABLE", 1_000);
    let started = Instant::now();
    let error = instance
        .invoke_within(event.clone(), Duration::from_secs(3))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "failed before the deadline"
    );
    assert_eq!(error.kind(), "GraphUnavailable");
    assert!(error.to_string().contains("503"), "{error}");
    world.ms.faults().clear();
    // Lambda's retry delivers the same event again: it must apply, not count as a duplicate.
    let report = instance.invoke(event).await.unwrap();
    assert_eq!((report.outcome, report.reason), ("applied", "reconciled"));
    assert_eq!(world.teams(&agent).as_deref(), Some("Available/Available"));
}

#[tokio::test]
async fn a_throttle_longer_than_the_budget_fails_at_once() {
    let world = World::start().await;
    let agent = world.agent();
    world
        .ms
        .faults()
        .push(MsEndpoint::Presence, Fault::throttled(60));
    let started = Instant::now();
    let error = world
        .instance(&[])
        .invoke(presence(&agent.genesys, "AVAILABLE", 1_000))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(error.kind(), "GraphThrottled");
    assert!(error.to_string().contains("Retry-After 60"), "{error}");
}

#[tokio::test]
async fn graph_bad_request_fails_with_graphs_code() {
    let world = World::start().await;
    let agent = world.agent();
    world.ms.faults().push(
        MsEndpoint::Presence,
        Fault::status_with_body(
            400,
            r#"{"error":{"code":"invalidRequest","message":"Invalid availability."}}"#,
        ),
    );
    let error = world
        .instance(&[])
        .invoke(presence(&agent.genesys, "AVAILABLE", 1_000))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), "GraphRefused");
    let message = error.to_string();
    assert!(
        message.contains("invalidRequest") && message.contains("Invalid availability."),
        "{message}"
    );
    assert!(message.contains(&agent.genesys), "{message}");
}

#[tokio::test]
async fn graph_forbidden_explains_the_missing_permission() {
    let world = World::start().await;
    let agent = world.agent();
    world.ms.deny_permission(true);
    let error = world
        .instance(&[])
        .invoke(presence(&agent.genesys, "AVAILABLE", 1_000))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), "GraphDenied");
    assert!(
        error.to_string().contains("Presence.ReadWrite.All"),
        "{error}"
    );
    assert_eq!(world.ms.presence_calls().len(), 1, "a 403 is not retried");
}

// --- Genesys failures ---------------------------------------------------------------------

#[tokio::test]
async fn scim_server_errors_are_retried() {
    let world = World::start().await;
    let agent = world.agent();
    world
        .genesys
        .faults()
        .push(GenesysEndpoint::Scim, Fault::status(503));
    world
        .genesys
        .faults()
        .push(GenesysEndpoint::Scim, Fault::throttled(1));
    assert_eq!(
        world
            .instance(&[])
            .outcome(presence(&agent.genesys, "AVAILABLE", 1_000))
            .await,
        "applied/changed"
    );
    assert_eq!(world.genesys.scim_calls(), 3);
}

#[tokio::test]
async fn a_scim_answer_that_is_not_json_fails_without_calling_graph() {
    let world = World::start().await;
    let agent = world.agent();
    world.genesys.faults().push(
        GenesysEndpoint::Scim,
        Fault::raw(200, "application/json", "{\"id\": \"trunc"),
    );
    let error = world
        .instance(&[])
        .invoke(presence(&agent.genesys, "AVAILABLE", 1_000))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), "GenesysScimBadResponse");
    assert!(world.ms.presence_calls().is_empty());
}

// --- Rejected input -----------------------------------------------------------------------

async fn assert_rejected(world: &World, event: serde_json::Value, kind: &str, mentions: &str) {
    let instance = world.instance(&[]);
    let error = instance.invoke(event).await.unwrap_err();
    assert_eq!(error.kind(), kind, "{error}");
    assert!(error.is_rejection());
    assert!(error.to_string().contains(mentions), "{error}");
    assert!(
        world.ms.calls().is_empty(),
        "no Microsoft call for rejected input"
    );
    assert!(
        world.genesys.calls().is_empty(),
        "no Genesys call for rejected input"
    );
    // The same instance keeps serving.
    let agent = world.agent();
    assert_eq!(
        instance
            .outcome(presence(&agent.genesys, "BUSY", 1_000))
            .await,
        "applied/changed"
    );
}

#[tokio::test]
async fn an_event_from_another_source_is_rejected() {
    let world = World::start().await;
    let mut event = presence(&new_id(), "BUSY", 1_000);
    event["source"] = json!("aws.partner/evil.example/cloud/x/y");
    assert_rejected(
        &world,
        event,
        "SourceNotAllowed",
        "aws.partner/evil.example",
    )
    .await;
}

#[tokio::test]
async fn an_event_from_another_org_is_rejected_when_allowed_source_pins_the_org() {
    let world = World::start().await;
    let mut event = presence(&new_id(), "BUSY", 1_000);
    event["source"] =
        json!("aws.partner/genesys.com/cloud/00000000-0000-4000-8000-000000000000/presence-sync");
    let instance = world.instance(&[(
        "ALLOWED_SOURCE",
        "aws.partner/genesys.com/cloud/7c1f3a3e-1111-4a4a-9c9c-0123456789ab/presence-sync",
    )]);
    let error = instance.invoke(event).await.unwrap_err();
    assert_eq!(error.kind(), "SourceNotAllowed");
    assert!(world.genesys.calls().is_empty());
}

#[tokio::test]
async fn an_event_from_another_account_is_rejected_when_allowed_account_is_set() {
    let world = World::start().await;
    let mut event = presence(&new_id(), "BUSY", 1_000);
    event["account"] = json!("999999999999");
    let instance = world.instance(&[("ALLOWED_ACCOUNT", "123456789012")]);
    let error = instance.invoke(event).await.unwrap_err();
    assert_eq!(error.kind(), "AccountNotAllowed");
    assert!(error.to_string().contains("999999999999"), "{error}");
    assert!(world.genesys.calls().is_empty());
}

#[tokio::test]
async fn a_malformed_event_is_rejected_naming_the_field() {
    let world = World::start().await;
    let mut event = activity(&new_id(), "ON_QUEUE", 1_000, "IDLE", 1_000);
    event["detail"]["eventBody"]["presence"]["modifiedDate"] = json!("not a date");
    assert_rejected(
        &world,
        event,
        "MalformedEvent",
        "detail.eventBody.presence.modifiedDate",
    )
    .await;
}

#[tokio::test]
async fn a_path_traversal_user_id_is_rejected() {
    let world = World::start().await;
    let mut event = presence(&new_id(), "BUSY", 1_000);
    event["detail"]["topicName"] = json!("v2.users.../../admin.presence");
    assert_rejected(&world, event, "MalformedEvent", "topicName").await;
}

#[tokio::test]
async fn an_unsupported_topic_is_rejected() {
    let world = World::start().await;
    let mut event = presence(&new_id(), "BUSY", 1_000);
    event["detail-type"] = json!("v2.users.{id}.conversations");
    assert_rejected(&world, event, "UnsupportedTopic", "conversations").await;
}

#[tokio::test]
async fn errors_are_specific_about_the_user() {
    let world = World::start().await;
    let agent = world.agent();
    world.ms.faults().push(
        MsEndpoint::Presence,
        Fault::status_with_body(400, r#"{"error":{"code":"x","message":"y"}}"#),
    );
    let error = world
        .instance(&[])
        .invoke(presence(&agent.genesys, "AVAILABLE", 1_000))
        .await
        .unwrap_err();
    let SyncError::Graph { user, teams, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(user.as_str(), agent.genesys);
    assert_eq!(teams.as_str(), agent.teams);
}

#[tokio::test]
async fn a_secret_filled_in_after_start_up_is_picked_up_without_a_restart() {
    let world = World::start().await;
    let agent = world.agent();
    // As deployed: the stack created the secret with placeholders.
    let placeholder = json!({"tenant_id": "00000000-0000-0000-0000-000000000000",
        "client_id": "REPLACE_ME", "client_secret": "REPLACE_ME_WITH_THE_CLIENT_SECRET"});
    rotate_secret(&world.secrets(), &world.azure_secret, &placeholder).await;
    let instance = world.instance(&[]);
    let error = instance
        .invoke(presence(&agent.genesys, "AVAILABLE", 1_000))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), "EntraIdDenied", "{error}");
    // The operator stores the real values; the warm instance reads them on its next refusal.
    rotate_secret(
        &world.secrets(),
        &world.azure_secret,
        &json!({"tenant_id": TENANT, "client_id": AZURE_CLIENT_ID, "client_secret": AZURE_CLIENT_SECRET}),
    )
    .await;
    assert_eq!(
        instance
            .outcome(presence(&agent.genesys, "AVAILABLE", 1_000))
            .await,
        "applied/reconciled"
    );
}
