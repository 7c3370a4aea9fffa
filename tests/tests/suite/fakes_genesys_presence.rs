//! The Genesys fake's presence write, `PATCH /api/v2/users/{userId}/presences/purecloud`, and
//! the organization's presence definitions, `GET /api/v2/presence/definitions`, held to the
//! Genesys platform SDK documentation (`PresenceApi.patchUserPresencesPurecloud`,
//! `getPresenceDefinitions`; models `UserPresence`, `OrganizationPresenceDefinition`): auth,
//! 400s, 404s, 429 with `Retry-After`, the Users API's view after the write, and the
//! `v2.users.{id}.presence` event the write produces, which presence-sync's parser accepts.

use std::time::Duration;

use presence_core::domain::event::GenesysEvent;
use presence_core::domain::version::Version;
use presence_sync_tests::fake_genesys::{FakeGenesys, GenesysEndpoint};
use presence_sync_tests::fault::Fault;
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

const CLIENT: &str = "0f4c5c0e-5b38-4e48-8d0d-6d2a0c1b2a11";
const SECRET: &str = "genesys-secret";
const AGENT: &str = "3f9e6a2b-5d4c-4b1a-8e7f-112233445566";
const BUSY: &str = "31fe3bac-dea6-44b7-bed7-47f91660a1a0";
const ON_QUEUE: &str = "e08eaf1b-ee47-4fa9-a231-1200e284798f";
/// A Busy definition the org made for the reverse direction.
const IN_A_TEAMS_MEETING: &str = "9b1d2c3e-4f50-4a6b-8c7d-0e1f2a3b4c5d";
const NOW: &str = "2026-11-02T09:30:00.250Z";

fn client() -> Client {
    Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("reqwest client")
}

/// The fake with the client registered, one agent On Queue, the clock pinned, and a token.
async fn genesys() -> (FakeGenesys, String) {
    let gc = FakeGenesys::start().await;
    gc.register_client(CLIENT, SECRET);
    gc.add_user(AGENT, None);
    gc.set_state(
        AGENT,
        "On Queue",
        Some("2026-11-02T09:00:00.000Z"),
        "IDLE",
        Some("2026-11-02T09:00:00.000Z"),
    );
    gc.add_presence_definition(IN_A_TEAMS_MEETING, "Busy", "In a Teams meeting");
    gc.pin_clock(NOW);
    let response = client()
        .post(gc.token_url())
        .basic_auth(CLIENT, Some(SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token request");
    let body: Value = response.json().await.expect("a JSON body");
    let token = body["access_token"].as_str().expect("access_token");
    (gc, token.to_owned())
}

async fn patch(gc: &FakeGenesys, token: Option<&str>, user: &str, body: &str) -> Response {
    let mut request = client()
        .patch(format!(
            "{}/api/v2/users/{user}/presences/purecloud",
            gc.api_url()
        ))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("patch request")
}

/// A Platform API error: `(status, code)`, after checking the `ErrorBody` shape.
async fn platform_error(response: Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.expect("an ErrorBody");
    assert_eq!(body["status"], status.as_u16(), "{body}");
    assert!(body["message"].is_string(), "{body}");
    (status, body["code"].as_str().expect("code").to_owned())
}

/// The agent's presence as the Users API bulk read serves it.
async fn users_api_presence(gc: &FakeGenesys, token: &str) -> Value {
    let response = client()
        .get(format!(
            "{}/api/v2/users?id={AGENT}&expand=presence,routingStatus",
            gc.api_url()
        ))
        .bearer_auth(token)
        .send()
        .await
        .expect("users request");
    let body: Value = response.json().await.expect("a listing");
    body["entities"][0]["presence"].clone()
}

#[tokio::test]
async fn a_presence_patch_changes_what_the_users_api_serves_and_is_recorded() {
    let (gc, token) = genesys().await;
    let body = json!({
        "presenceDefinition": {"id": IN_A_TEAMS_MEETING},
        "message": "In a Teams meeting",
    });
    let response = patch(&gc, Some(&token), AGENT, &body.to_string()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let answered: Value = response.json().await.expect("a UserPresence");
    assert_eq!(answered["presenceDefinition"]["id"], IN_A_TEAMS_MEETING);
    assert_eq!(answered["presenceDefinition"]["systemPresence"], "Busy");
    assert_eq!(answered["message"], "In a Teams meeting");
    assert_eq!(answered["source"], "PURECLOUD");
    assert_eq!(answered["modifiedDate"], NOW);
    assert_eq!(users_api_presence(&gc, &token).await, answered);

    // PATCH changes what it is given: a message alone keeps the definition.
    gc.advance_clock(Duration::from_secs(60));
    let response = patch(&gc, Some(&token), AGENT, r#"{"message": "back soon"}"#).await;
    assert_eq!(response.status(), StatusCode::OK);
    let served = users_api_presence(&gc, &token).await;
    assert_eq!(served["presenceDefinition"]["id"], IN_A_TEAMS_MEETING);
    assert_eq!(served["message"], "back soon");
    assert_eq!(served["modifiedDate"], "2026-11-02T09:31:00.250Z");

    // Option 1 with Option 2: primary and a system definition.
    let body = json!({"primary": true, "presenceDefinition": {"id": ON_QUEUE}});
    let response = patch(&gc, Some(&token), AGENT, &body.to_string()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let writes = gc.presence_writes();
    assert_eq!(writes.len(), 3);
    assert_eq!(
        (writes[0].definition_id.as_str(), writes[0].made_primary),
        (IN_A_TEAMS_MEETING, false)
    );
    assert_eq!(
        (writes[2].system_presence.as_str(), writes[2].made_primary),
        ("On Queue", true)
    );
    assert_eq!(gc.presence_calls().len(), 3);
}

#[tokio::test]
async fn a_malformed_patch_or_an_unknown_definition_is_400_and_changes_nothing() {
    let (gc, token) = genesys().await;
    let before = users_api_presence(&gc, &token).await;
    gc.add_presence_definition("5c1d2c3e-4f50-4a6b-8c7d-0e1f2a3b4c5d", "Busy", "Old");
    gc.deactivate_presence_definition("5c1d2c3e-4f50-4a6b-8c7d-0e1f2a3b4c5d");
    for body in [
        "",
        "not json",
        "[]",
        "{}",
        r#"{"presenceDefinition": {}}"#,
        r#"{"presenceDefinition": {"id": 7}}"#,
        r#"{"presenceDefinition": "31fe3bac-dea6-44b7-bed7-47f91660a1a0"}"#,
        r#"{"presenceDefinition": {"id": "00000000-0000-4000-8000-000000000000"}}"#,
        r#"{"presenceDefinition": {"id": "5c1d2c3e-4f50-4a6b-8c7d-0e1f2a3b4c5d"}}"#,
        r#"{"message": 3}"#,
        r#"{"primary": "yes"}"#,
        r#"{"presenceDefinition": {"id": "31fe3bac-dea6-44b7-bed7-47f91660a1a0"}, "source": "PURECLOUD"}"#,
    ] {
        let response = patch(&gc, Some(&token), AGENT, body).await;
        assert_eq!(
            platform_error(response).await,
            (StatusCode::BAD_REQUEST, "bad.request".into()),
            "{body}"
        );
    }
    assert_eq!(users_api_presence(&gc, &token).await, before);
    assert!(gc.presence_writes().is_empty());
}

#[tokio::test]
async fn a_patch_for_an_unknown_or_deleted_user_is_404_and_needs_a_token() {
    let (gc, token) = genesys().await;
    let body = json!({"presenceDefinition": {"id": BUSY}}).to_string();
    let unknown = "66825e03-7ef5-42da-9069-724602c31f6b";
    let response = patch(&gc, Some(&token), unknown, &body).await;
    assert_eq!(
        platform_error(response).await,
        (StatusCode::NOT_FOUND, "not.found".into())
    );
    let response = patch(&gc, None, AGENT, &body).await;
    assert_eq!(
        platform_error(response).await,
        (StatusCode::UNAUTHORIZED, "bad.credentials".into())
    );
    gc.delete_user(AGENT);
    let response = patch(&gc, Some(&token), AGENT, &body).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(gc.presence_writes().is_empty());
}

#[tokio::test]
async fn a_throttled_patch_is_429_with_retry_after_and_changes_nothing() {
    let (gc, token) = genesys().await;
    gc.faults()
        .push(GenesysEndpoint::Presence, Fault::throttled(3));
    let body = json!({"presenceDefinition": {"id": BUSY}}).to_string();
    let response = patch(&gc, Some(&token), AGENT, &body).await;
    assert_eq!(response.headers()["retry-after"], "3");
    assert_eq!(
        platform_error(response).await,
        (StatusCode::TOO_MANY_REQUESTS, "too.many.requests".into())
    );
    assert!(gc.presence_writes().is_empty());
    let response = patch(&gc, Some(&token), AGENT, &body).await;
    assert_eq!(response.status(), StatusCode::OK, "the next one lands");
    assert_eq!(gc.presence_writes().len(), 1);
}

#[tokio::test]
async fn each_patch_yields_the_presence_event_presence_sync_parses() {
    let (gc, token) = genesys().await;
    let body = json!({"presenceDefinition": {"id": IN_A_TEAMS_MEETING}, "message": "Teams"});
    let response = patch(&gc, Some(&token), AGENT, &body.to_string()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let events = gc.drain_presence_events();
    assert_eq!(events.len(), 1);
    assert!(gc.drain_presence_events().is_empty(), "handed out once");
    let event = &events[0];
    assert_eq!(event["detail-type"], "v2.users.{id}.presence");
    assert_eq!(
        event["detail"]["topicName"],
        format!("v2.users.{AGENT}.presence")
    );
    let body = &event["detail"]["eventBody"];
    assert_eq!(body["source"], "PURECLOUD");
    assert_eq!(body["message"], "Teams");
    assert_eq!(body["modifiedDate"], NOW);
    let parsed = GenesysEvent::parse(event.clone()).expect("presence-sync accepts it");
    assert_eq!(parsed.user.to_string(), AGENT);
    let presence = parsed.presence.expect("a presence");
    assert_eq!(
        presence.value.definition_id.as_deref(),
        Some(IN_A_TEAMS_MEETING)
    );
    assert_eq!(presence.value.system.to_string(), "BUSY");
    let modified = chrono::DateTime::parse_from_rfc3339(NOW).unwrap();
    assert_eq!(
        presence.version,
        Version::from_millis(modified.timestamp_millis())
    );
    // The event of the write agrees with what the Users API then serves.
    let served = users_api_presence(&gc, &token).await;
    for field in ["id", "systemPresence"] {
        assert_eq!(
            served["presenceDefinition"][field], body["presenceDefinition"][field],
            "{field}"
        );
    }
    assert_eq!(served["modifiedDate"], body["modifiedDate"]);
}

#[tokio::test]
async fn the_presence_definitions_list_the_orgs_active_definitions() {
    let (gc, token) = genesys().await;
    let list = |query: &'static str| {
        let (url, token) = (gc.api_url(), token.clone());
        async move {
            let response = client()
                .get(format!("{url}/api/v2/presence/definitions{query}"))
                .bearer_auth(token)
                .send()
                .await
                .expect("definitions request");
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<Value>().await.expect("a listing")
        }
    };
    let listing = list("").await;
    let entities = listing["entities"].as_array().expect("entities");
    assert_eq!(
        listing["total"], 11,
        "the ten system ones and the org's own"
    );
    assert_eq!(entities.len(), 11);
    let ours = entities
        .iter()
        .find(|d| d["id"] == IN_A_TEAMS_MEETING)
        .expect("the org's definition");
    assert_eq!(ours["systemPresence"], "Busy");
    assert_eq!(ours["languageLabels"]["en_US"], "In a Teams meeting");
    assert_eq!(ours["type"], "User");
    assert!(entities.iter().any(|d| d["systemPresence"] == "On Queue"));
    gc.deactivate_presence_definition(IN_A_TEAMS_MEETING);
    assert_eq!(list("").await["total"], 10);
    let deactivated = list("?deactivated=TRUE").await;
    assert_eq!(deactivated["entities"][0]["id"], IN_A_TEAMS_MEETING);
    let response = client()
        .get(format!(
            "{}/api/v2/presence/definitions?deactivated=maybe",
            gc.api_url()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}
