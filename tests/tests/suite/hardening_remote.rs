//! Hardening of the remote calls (issue 8): token lifetimes that overflow the clock, a token
//! request that waits out a throttle, unbounded remote text in errors, the shared throttle
//! gate, 404s that are not a missing user, and errors named after the service that failed.
//! The real handler and adapters against moto and the fake Genesys and Microsoft servers.

use presence_core::service::SyncError;
use presence_sync_tests::events::presence;
use presence_sync_tests::fake_genesys::GenesysEndpoint;
use presence_sync_tests::fake_microsoft::MsEndpoint;
use presence_sync_tests::fault::Fault;
use presence_sync_tests::world::{TENANT, World};
use serde_json::json;
use std::time::{Duration, Instant};

/// Remote text an error message may carry, at most: a few cut excerpts and our own words.
const MAX_MESSAGE: usize = 2 * 1024;

/// `{"error":{"code": <huge>, "message": <huge>}}`, about 200 KB: under the body cap, so the
/// adapter reads and parses it.
fn huge_graph_error() -> String {
    json!({"error": {"code": "C".repeat(100_000), "message": "M".repeat(100_000)}}).to_string()
}

// --- Token lifetimes ------------------------------------------------------------------------

#[tokio::test]
async fn an_entra_token_lifetime_too_large_for_the_clock_is_clamped_not_a_panic() {
    let world = World::start().await;
    let agent = world.agent();
    world.ms.set_token_lifetime(u64::MAX);
    let instance = world.instance(&[]);
    assert_eq!(
        instance
            .outcome(presence(&agent.genesys, "AVAILABLE", 1_000))
            .await,
        "applied/changed"
    );
    assert_eq!(
        instance
            .outcome(presence(&agent.genesys, "BUSY", 2_000))
            .await,
        "applied/changed"
    );
    assert_eq!(world.ms.token_requests(), 1, "the clamped token is reused");
}

#[tokio::test]
async fn a_genesys_token_lifetime_too_large_for_the_clock_is_clamped_not_a_panic() {
    let world = World::start().await;
    world.genesys.set_token_lifetime(u64::MAX);
    let instance = world.instance(&[]);
    for version in [1_000, 2_000] {
        let agent = world.agent();
        assert_eq!(
            instance
                .outcome(presence(&agent.genesys, "AVAILABLE", version))
                .await,
            "applied/changed"
        );
    }
    assert_eq!(
        world.genesys.token_requests(),
        1,
        "the clamped token is reused"
    );
}

// --- A token request after a throttle wait ---------------------------------------------------

#[tokio::test]
async fn a_token_request_that_waits_out_a_throttle_still_answers_within_the_invocation() {
    let world = World::start().await;
    let agent = world.agent();
    let instance = world.instance(&[]);
    // A first, short invocation meets a 429 with Retry-After 3 s: it cannot wait that long
    // and fails, leaving this process's gate for the token endpoint closed for 3 s.
    world
        .ms
        .faults()
        .push(MsEndpoint::Token, Fault::throttled(3));
    assert!(
        instance
            .invoke_within(
                presence(&agent.genesys, "AVAILABLE", 1_000),
                Duration::from_secs(3)
            )
            .await
            .is_err()
    );
    // The next invocation (6 s: work until 4.5 s) waits for the gate, then meets a token
    // endpoint that does not answer. Its request must be cut at the budget, not 8 s after
    // the gate opened.
    world
        .ms
        .faults()
        .push(MsEndpoint::Token, Fault::delay(Duration::from_secs(30)));
    let started = Instant::now();
    let result = instance
        .invoke_within(
            presence(&agent.genesys, "BUSY", 2_000),
            Duration::from_secs(6),
        )
        .await;
    let elapsed = started.elapsed();
    assert!(result.is_err());
    assert!(
        elapsed < Duration::from_secs(6),
        "answered {elapsed:?} after the start of a 6 s invocation"
    );
    assert!(
        elapsed >= Duration::from_secs(2),
        "waited for the gate: {elapsed:?}"
    );
}

// --- Remote text in errors -----------------------------------------------------------------

async fn error_of(world: &World) -> SyncError {
    let agent = world.agent();
    world
        .instance(&[])
        .invoke(presence(&agent.genesys, "AVAILABLE", 1_000))
        .await
        .unwrap_err()
}

#[tokio::test]
async fn a_huge_graph_error_code_is_cut_in_the_error_message() {
    let world = World::start().await;
    world.ms.faults().push(
        MsEndpoint::Presence,
        Fault::status_with_body(400, huge_graph_error()),
    );
    let error = error_of(&world).await;
    assert_eq!(error.kind(), "GraphRefused");
    let message = error.to_string();
    assert!(message.len() < MAX_MESSAGE, "{} bytes", message.len());
    assert!(message.contains("CCCC"), "the code is still quoted");
}

#[tokio::test]
async fn a_huge_graph_404_code_is_cut_in_the_error_message() {
    let world = World::start().await;
    world.ms.faults().push(
        MsEndpoint::Presence,
        Fault::status_with_body(404, huge_graph_error()),
    );
    let message = error_of(&world).await.to_string();
    assert!(message.len() < MAX_MESSAGE, "{} bytes", message.len());
}

#[tokio::test]
async fn a_huge_entra_token_error_is_cut_in_the_error_message() {
    let world = World::start().await;
    world.ms.faults().push(
        MsEndpoint::Token,
        Fault::status_with_body(
            401,
            json!({"error": "E".repeat(100_000), "error_description": "D".repeat(100_000)})
                .to_string(),
        ),
    );
    let message = error_of(&world).await.to_string();
    assert!(message.len() < MAX_MESSAGE, "{} bytes", message.len());
}

#[tokio::test]
async fn a_huge_genesys_login_error_is_cut_in_the_error_message() {
    let world = World::start().await;
    world.genesys.faults().push(
        GenesysEndpoint::Token,
        Fault::status_with_body(
            400,
            json!({"error": "E".repeat(100_000), "description": "D".repeat(100_000)}).to_string(),
        ),
    );
    let message = error_of(&world).await.to_string();
    assert!(message.len() < MAX_MESSAGE, "{} bytes", message.len());
}

#[tokio::test]
async fn a_huge_scim_error_is_cut_in_the_error_message() {
    let world = World::start().await;
    for status in [400, 404] {
        world.genesys.faults().push(
            GenesysEndpoint::Scim,
            Fault::status_with_body(
                status,
                json!({"code": "C".repeat(100_000), "message": "M".repeat(100_000), "status": status})
                    .to_string(),
            ),
        );
        let message = error_of(&world).await.to_string();
        assert!(
            message.len() < MAX_MESSAGE,
            "{status}: {} bytes",
            message.len()
        );
    }
}

// --- Throttling ------------------------------------------------------------------------------

#[tokio::test]
async fn a_retry_after_beyond_the_budget_fails_at_once_as_throttled_and_did_not_land() {
    let world = World::start().await;
    world
        .ms
        .faults()
        .push(MsEndpoint::Presence, Fault::throttled(60));
    let started = Instant::now();
    let error = error_of(&world).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(error.kind(), "GraphThrottled", "{error}");
    assert!(error.to_string().contains("Retry-After 60 s"), "{error}");
    let SyncError::Graph { source, .. } = &error else {
        panic!("{error:?}")
    };
    assert!(
        !source.may_have_landed(),
        "Graph refused the only request with 429: nothing landed"
    );
}

#[tokio::test]
async fn while_the_throttle_gate_outlasts_the_budget_events_fail_as_throttled_without_a_call() {
    let world = World::start().await;
    let instance = world.instance(&[]);
    world
        .ms
        .faults()
        .push(MsEndpoint::Presence, Fault::throttled(30));
    let first = world.agent();
    assert!(
        instance
            .invoke(presence(&first.genesys, "AVAILABLE", 1_000))
            .await
            .is_err()
    );
    let second = world.agent();
    let started = Instant::now();
    let error = instance
        .invoke(presence(&second.genesys, "AVAILABLE", 1_000))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(error.kind(), "GraphThrottled", "{error}");
    assert_eq!(
        world.ms.presence_calls().len(),
        1,
        "no Graph call while the gate is closed"
    );
    let SyncError::Graph { source, .. } = &error else {
        panic!("{error:?}")
    };
    assert!(!source.may_have_landed());
}

// --- 404s that are not a missing user --------------------------------------------------------

#[tokio::test]
async fn graph_answering_a_bare_404_is_a_configuration_error_not_a_missing_teams_user() {
    let world = World::start().await;
    let agent = world.agent();
    let instance = world.instance(&[]);
    world.ms.answer_bare_404(MsEndpoint::Presence, true);
    let error = instance
        .invoke(presence(&agent.genesys, "AVAILABLE", 1_000))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), "ConfigurationError", "{error}");
    let message = error.to_string();
    assert!(message.contains("Microsoft Graph"), "{message}");
    assert!(
        message.contains(&format!(
            "/v1.0/users/{}/presence/setUserPreferredPresence",
            agent.teams
        )),
        "{message}"
    );
    assert!(message.contains("GRAPH_API_URL"), "{message}");
    // Fixed (the URL corrected): the redelivery applies, with the Teams id still known.
    world.ms.answer_bare_404(MsEndpoint::Presence, false);
    assert_eq!(
        instance
            .outcome(presence(&agent.genesys, "AVAILABLE", 1_000))
            .await,
        "applied/reconciled"
    );
    assert_eq!(world.genesys.scim_calls(), 1, "the Teams id was kept");
}

#[tokio::test]
async fn graph_404_without_a_known_not_found_code_is_a_configuration_error() {
    let world = World::start().await;
    for fault in [
        Fault::raw(404, "text/html", "<html><body>404 Not Found</body></html>"),
        Fault::status_with_body(404, r#"{"error":{"code":"UnknownError","message":""}}"#),
        Fault::raw(404, "application/json", "{}"),
    ] {
        world.ms.faults().push(MsEndpoint::Presence, fault.clone());
        let error = error_of(&world).await;
        assert_eq!(error.kind(), "ConfigurationError", "{fault:?}: {error}");
        assert!(!error.to_string().contains("<html>"), "{error}");
    }
}

#[tokio::test]
async fn graph_404_with_a_not_found_code_means_the_teams_user_is_gone() {
    let world = World::start().await;
    for code in [
        "Request_ResourceNotFound",
        "ResourceNotFound",
        "itemNotFound",
    ] {
        let agent = world.agent();
        world.ms.faults().push(
            MsEndpoint::Presence,
            Fault::status_with_body(
                404,
                json!({"error": {"code": code, "message": "Resource does not exist."}}).to_string(),
            ),
        );
        assert_eq!(
            world
                .instance(&[])
                .outcome(presence(&agent.genesys, "AVAILABLE", 1_000))
                .await,
            "skipped/teams-user-not-found",
            "{code}"
        );
    }
}

#[tokio::test]
async fn scim_answering_a_bare_404_is_a_configuration_error_not_a_user_without_teams() {
    let world = World::start().await;
    let agent = world.agent();
    let instance = world.instance(&[]);
    world.genesys.answer_bare_404(GenesysEndpoint::Scim, true);
    let error = instance
        .invoke(presence(&agent.genesys, "AVAILABLE", 1_000))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), "ConfigurationError", "{error}");
    let message = error.to_string();
    assert!(message.contains("Genesys Cloud SCIM"), "{message}");
    assert!(
        message.contains(&format!("/api/v2/scim/v2/users/{}", agent.genesys)),
        "{message}"
    );
    assert!(!message.contains("attributes="), "no query: {message}");
    assert!(message.contains("GENESYS_API_URL"), "{message}");
    // Nothing was cached as "no Teams user": once fixed, the next event applies.
    world.genesys.answer_bare_404(GenesysEndpoint::Scim, false);
    assert_eq!(
        instance
            .outcome(presence(&agent.genesys, "BUSY", 2_000))
            .await,
        "applied/changed"
    );
}

#[tokio::test]
async fn scim_404_with_a_genesys_not_found_code_means_an_unknown_user() {
    let world = World::start().await;
    for code in ["not.found", "resource.not.found"] {
        let agent = world.agent();
        world.genesys.faults().push(
            GenesysEndpoint::Scim,
            Fault::status_with_body(
                404,
                json!({"message": "The user could not be found.", "code": code, "status": 404,
                    "messageParams": {}, "contextId": "c0ffee", "details": [], "errors": []})
                .to_string(),
            ),
        );
        assert_eq!(
            world
                .instance(&[])
                .outcome(presence(&agent.genesys, "AVAILABLE", 1_000))
                .await,
            "skipped/no-teams-user",
            "{code}"
        );
    }
}

#[tokio::test]
async fn a_token_endpoint_answering_a_bare_404_is_a_configuration_error() {
    let world = World::start().await;
    world.ms.answer_bare_404(MsEndpoint::Token, true);
    let error = error_of(&world).await;
    assert_eq!(error.kind(), "ConfigurationError", "{error}");
    let message = error.to_string();
    assert!(message.contains("Microsoft Entra ID"), "{message}");
    assert!(
        message.contains(&format!("/{TENANT}/oauth2/v2.0/token")),
        "{message}"
    );
    assert!(message.contains("AZURE_LOGIN_URL"), "{message}");
    assert_eq!(world.ms.token_requests(), 1, "no second try: not a refusal");
}

// --- Errors named after the service that failed ----------------------------------------------

#[tokio::test]
async fn a_refused_azure_secret_is_reported_as_entra_id_denied() {
    let world = World::start().await;
    world.ms.register_app(
        TENANT,
        presence_sync_tests::world::AZURE_CLIENT_ID,
        "another-secret-0123456789",
    );
    let error = error_of(&world).await;
    assert_eq!(error.kind(), "EntraIdDenied", "{error}");
    assert!(error.to_string().contains("Microsoft Entra ID"), "{error}");
}

#[tokio::test]
async fn a_refused_genesys_secret_is_reported_as_genesys_login_denied() {
    let world = World::start().await;
    world.genesys.register_client(
        presence_sync_tests::world::GENESYS_CLIENT_ID,
        "another-genesys-secret-0000",
    );
    let error = error_of(&world).await;
    assert_eq!(error.kind(), "GenesysLoginDenied", "{error}");
    assert!(error.to_string().contains("Genesys Cloud login"), "{error}");
}

#[tokio::test]
async fn scim_forbidden_is_reported_as_genesys_scim_denied() {
    let world = World::start().await;
    world
        .genesys
        .faults()
        .push(GenesysEndpoint::Scim, Fault::status(403));
    let error = error_of(&world).await;
    assert_eq!(error.kind(), "GenesysScimDenied", "{error}");
}

#[tokio::test]
async fn token_endpoints_failing_past_the_budget_are_reported_by_their_service() {
    let world = World::start().await;
    world
        .ms
        .faults()
        .push_n(MsEndpoint::Token, Fault::status(503), 1_000);
    let agent = world.agent();
    let error = world
        .instance(&[])
        .invoke_within(
            presence(&agent.genesys, "AVAILABLE", 1_000),
            Duration::from_secs(3),
        )
        .await
        .unwrap_err();
    assert_eq!(error.kind(), "EntraIdUnavailable", "{error}");
    world.ms.faults().clear();

    world
        .genesys
        .faults()
        .push_n(GenesysEndpoint::Token, Fault::status(503), 1_000);
    let agent = world.agent();
    let error = world
        .instance(&[])
        .invoke_within(
            presence(&agent.genesys, "AVAILABLE", 1_000),
            Duration::from_secs(3),
        )
        .await
        .unwrap_err();
    assert_eq!(error.kind(), "GenesysLoginUnavailable", "{error}");
}

#[tokio::test]
async fn secrets_manager_failing_is_reported_as_secrets_manager_unavailable() {
    let (world, isolation) = World::isolated().await;
    let agent = world.agent();
    // Every answer to reading the Genesys secret is lost (the SDK retries each read).
    for _ in 0..10 {
        isolation
            .proxy
            .lose_answer("GetSecretValue", &world.genesys_secret);
    }
    let error = world
        .instance(&[])
        .invoke(presence(&agent.genesys, "AVAILABLE", 1_000))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), "SecretsManagerUnavailable", "{error}");
    assert!(error.to_string().contains(&world.genesys_secret), "{error}");
}

#[tokio::test]
async fn a_missing_secret_is_a_configuration_error_naming_secrets_manager() {
    let world = World::start().await;
    let agent = world.agent();
    let error = world
        .instance(&[("GENESYS_SECRET_ID", "presence-sync/no-such-secret")])
        .invoke(presence(&agent.genesys, "AVAILABLE", 1_000))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), "ConfigurationError", "{error}");
    let message = error.to_string();
    assert!(message.contains("Secrets Manager"), "{message}");
    assert!(
        message.contains("presence-sync/no-such-secret"),
        "{message}"
    );
}
