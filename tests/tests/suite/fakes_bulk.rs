//! Tests of the fakes' bulk-read endpoints: Genesys's `GET /api/v2/users` (presence and
//! routing status of many users) and SCIM user list, Graph's `getPresencesByUserId`. Each
//! enforces the documented contract and applies injected faults like the other endpoints.

use std::time::Duration;

use presence_sync_tests::fake_genesys::{
    DEFAULT_STATE_TIME, FakeGenesys, GENESYS_USER_EXTENSION, GenesysEndpoint, SCIM_LIST_SCHEMA,
};
use presence_sync_tests::fake_microsoft::{FakeMicrosoft, MAX_PRESENCE_IDS, MsEndpoint};
use presence_sync_tests::fault::Fault;
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT_ID: &str = "535fb089-9ff3-47b6-9bfb-4f1264799865";
const SECRET: &str = "s3cret~value";
const GENESYS_CLIENT: &str = "0f4c5c0e-5b38-4e48-8d0d-6d2a0c1b2a11";
const GENESYS_SECRET: &str = "genesys-secret";

fn client() -> Client {
    Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("reqwest client")
}

fn id(n: u32) -> String {
    format!("6a3af858-942f-489d-9700-{n:012}")
}

async fn json_of(response: Response) -> Value {
    response.json().await.expect("a JSON body")
}

// --- Genesys ---------------------------------------------------------------------------------

async fn genesys() -> (FakeGenesys, String) {
    let gc = FakeGenesys::start().await;
    gc.register_client(GENESYS_CLIENT, GENESYS_SECRET);
    let response = client()
        .post(gc.token_url())
        .basic_auth(GENESYS_CLIENT, Some(GENESYS_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token request");
    let token = json_of(response).await["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned();
    (gc, token)
}

async fn get(gc: &FakeGenesys, token: &str, path_and_query: &str) -> Response {
    client()
        .get(format!("{}{path_and_query}", gc.api_url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn genesys_users_serves_presence_and_routing_of_the_ids_asked_for() {
    let (gc, token) = genesys().await;
    for n in 1..=3 {
        gc.add_user(&id(n), None);
    }
    gc.set_state(
        &id(1),
        "On Queue",
        Some("2026-11-02T08:59:58.101Z"),
        "INTERACTING",
        Some("2026-11-02T09:00:00.000Z"),
    );
    let unknown = id(99);
    let response = get(
        &gc,
        &token,
        &format!(
            "/api/v2/users?id={}&id={}&id={unknown}&expand=presence&expand=routingStatus&pageSize=100",
            id(1),
            id(2)
        ),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json_of(response).await;
    let entities = body["entities"].as_array().unwrap();
    assert_eq!(
        entities.len(),
        2,
        "the unknown id and the user not asked for are left out"
    );
    assert_eq!(body["total"], 2);
    let one = &entities[0];
    assert_eq!(one["id"], id(1));
    assert_eq!(
        one["presence"]["presenceDefinition"]["systemPresence"],
        "On Queue"
    );
    assert_eq!(
        one["presence"]["presenceDefinition"]["id"],
        "e08eaf1b-ee47-4fa9-a231-1200e284798f"
    );
    assert_eq!(one["presence"]["modifiedDate"], "2026-11-02T08:59:58.101Z");
    assert_eq!(one["routingStatus"]["status"], "INTERACTING");
    assert_eq!(
        one["routingStatus"]["startTime"],
        "2026-11-02T09:00:00.000Z"
    );
    // The default state of a user added with add_user.
    let two = &entities[1];
    assert_eq!(
        two["presence"]["presenceDefinition"]["systemPresence"],
        "Offline"
    );
    assert_eq!(two["presence"]["modifiedDate"], DEFAULT_STATE_TIME);
    assert_eq!(two["routingStatus"]["status"], "OFF_QUEUE");
    assert_eq!(gc.users_calls().len(), 1);
}

#[tokio::test]
async fn genesys_users_expands_only_what_is_asked_and_accepts_comma_lists() {
    let (gc, token) = genesys().await;
    gc.add_user(&id(1), None);
    gc.add_user(&id(2), None);
    let plain = json_of(get(&gc, &token, &format!("/api/v2/users?id={}", id(1))).await).await;
    assert!(plain["entities"][0].get("presence").is_none());
    assert!(plain["entities"][0].get("routingStatus").is_none());
    let both = json_of(
        get(
            &gc,
            &token,
            &format!(
                "/api/v2/users?id={},{}&expand=presence,routingStatus",
                id(1),
                id(2)
            ),
        )
        .await,
    )
    .await;
    assert_eq!(both["entities"].as_array().unwrap().len(), 2);
    assert!(both["entities"][1]["routingStatus"].is_object());
}

#[tokio::test]
async fn genesys_users_can_leave_a_timestamp_out() {
    let (gc, token) = genesys().await;
    gc.add_user(&id(1), None);
    gc.set_state(&id(1), "Available", None, "IDLE", None);
    let body = json_of(
        get(
            &gc,
            &token,
            &format!("/api/v2/users?id={}&expand=presence,routingStatus", id(1)),
        )
        .await,
    )
    .await;
    assert!(
        body["entities"][0]["presence"]
            .get("modifiedDate")
            .is_none()
    );
    assert!(
        body["entities"][0]["routingStatus"]
            .get("startTime")
            .is_none()
    );
}

#[tokio::test]
async fn genesys_users_page_size_beyond_the_maximum_is_a_400_in_the_platform_shape() {
    let (gc, token) = genesys().await;
    for size in ["501", "0", "lots"] {
        let response = get(&gc, &token, &format!("/api/v2/users?pageSize={size}")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{size}");
        let body = json_of(response).await;
        assert_eq!(body["code"], "bad.request");
        assert_eq!(body["status"], 400);
        assert!(body["message"].as_str().unwrap().contains("pageSize"));
    }
    assert_eq!(
        get(&gc, &token, "/api/v2/users?pageSize=500")
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn genesys_users_pages_and_rejects_malformed_ids() {
    let (gc, token) = genesys().await;
    for n in 1..=5 {
        gc.add_user(&id(n), None);
    }
    let page = json_of(get(&gc, &token, "/api/v2/users?pageSize=2&pageNumber=3").await).await;
    assert_eq!(page["entities"].as_array().unwrap().len(), 1);
    assert_eq!(page["total"], 5);
    assert_eq!(page["pageCount"], 3);
    let response = get(&gc, &token, "/api/v2/users?id=not-a-uuid").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn genesys_users_requires_a_valid_token() {
    let (gc, _) = genesys().await;
    let response = get(&gc, "nope", "/api/v2/users").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_of(response).await["code"], "bad.credentials");
}

#[tokio::test]
async fn genesys_users_faults_apply_with_retry_after_and_the_platform_shape() {
    let (gc, token) = genesys().await;
    gc.faults()
        .push(GenesysEndpoint::Users, Fault::throttled(7));
    let response = get(&gc, &token, "/api/v2/users").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "7");
    assert_eq!(json_of(response).await["code"], "too.many.requests");
    // Consumed: the next call is answered normally; SCIM faults do not touch it.
    gc.faults().push(GenesysEndpoint::Scim, Fault::status(503));
    assert_eq!(
        get(&gc, &token, "/api/v2/users").await.status(),
        StatusCode::OK
    );
    assert_eq!(gc.users_calls().len(), 2);
}

#[tokio::test]
async fn genesys_scim_list_pages_active_users_with_their_external_ids() {
    let (gc, token) = genesys().await;
    for n in 1..=5 {
        gc.add_user(&id(n), Some(&format!("8d1f3c2a-0000-4000-8000-{n:012}")));
    }
    gc.set_active(&id(5), false);
    gc.set_scim_page_cap(3);
    let path = |start: u32| {
        format!(
            "/api/v2/scim/v2/users?startIndex={start}&count=10&attributes={GENESYS_USER_EXTENSION}:externalIds"
        )
    };
    let first = json_of(get(&gc, &token, &path(1)).await).await;
    assert_eq!(first["schemas"], json!([SCIM_LIST_SCHEMA]));
    assert_eq!(first["totalResults"], 4, "the inactive user is not listed");
    assert_eq!(first["startIndex"], 1);
    assert_eq!(first["itemsPerPage"], 3, "the page cap, not count");
    let resources = first["Resources"].as_array().unwrap();
    assert_eq!(resources[0]["id"], id(1));
    assert_eq!(
        resources[0][GENESYS_USER_EXTENSION]["externalIds"][0]["value"],
        "8d1f3c2a-0000-4000-8000-000000000001"
    );
    assert!(
        resources[0].get("displayName").is_none(),
        "attributes applied"
    );
    let second = json_of(get(&gc, &token, &path(4)).await).await;
    assert_eq!(second["Resources"].as_array().unwrap().len(), 1);
    let past = json_of(get(&gc, &token, &path(9)).await).await;
    assert_eq!(past["itemsPerPage"], 0);
    let bad = get(&gc, &token, "/api/v2/scim/v2/users?startIndex=x").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_of(bad).await["scimType"], "invalidValue");
}

// --- Microsoft -------------------------------------------------------------------------------

async fn microsoft() -> (FakeMicrosoft, String) {
    let ms = FakeMicrosoft::start().await;
    ms.register_app(TENANT, CLIENT_ID, SECRET);
    let scope = ms.scope();
    let response = client()
        .post(ms.token_url(TENANT))
        .form(&[
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
            ("scope", scope.as_str()),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await
        .expect("token request");
    let token = json_of(response).await["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned();
    (ms, token)
}

async fn read(ms: &FakeMicrosoft, token: &str, body: Value) -> Response {
    client()
        .post(format!(
            "{}/communications/getPresencesByUserId",
            ms.graph_url()
        ))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("request")
}

async fn set(ms: &FakeMicrosoft, token: &str, user: &str, availability: &str, activity: &str) {
    let response = client()
        .post(format!(
            "{}/users/{user}/presence/setUserPreferredPresence",
            ms.graph_url()
        ))
        .bearer_auth(token)
        .json(&json!({"availability": availability, "activity": activity}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
}

fn shown(body: &Value, user: &str) -> Option<(String, String)> {
    body["value"].as_array()?.iter().find_map(|p| {
        (p["id"] == user).then(|| {
            (
                p["availability"].as_str().unwrap().to_owned(),
                p["activity"].as_str().unwrap().to_owned(),
            )
        })
    })
}

#[tokio::test]
async fn graph_read_shows_the_preferred_presence_while_a_session_exists() {
    let (ms, token) = microsoft().await;
    let (a, b) = (id(1), id(2));
    ms.add_user(&a);
    ms.add_user(&b);
    set(&ms, &token, &a, "Busy", "Busy").await;
    set(&ms, &token, &b, "DoNotDisturb", "DoNotDisturb").await;
    ms.set_has_session(&b, false);
    let response = read(&ms, &token, json!({"ids": [a, b, id(3)]})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json_of(response).await;
    assert_eq!(
        body["value"].as_array().unwrap().len(),
        2,
        "the unknown id is left out"
    );
    assert_eq!(shown(&body, &a), Some(("Busy".into(), "Busy".into())));
    assert_eq!(
        shown(&body, &b),
        Some(("Offline".into(), "Offline".into())),
        "no session: Offline whatever was set"
    );
    ms.set_has_session(&b, true);
    let body = json_of(read(&ms, &token, json!({"ids": [b]})).await).await;
    assert_eq!(
        shown(&body, &b),
        Some(("DoNotDisturb".into(), "DoNotDisturb".into()))
    );
}

#[tokio::test]
async fn graph_read_shows_a_change_by_hand_until_the_next_write() {
    let (ms, token) = microsoft().await;
    let a = id(1);
    ms.add_user(&a);
    set(&ms, &token, &a, "Available", "Available").await;
    ms.set_teams_presence_by_hand(&a, "Away", "Away");
    let body = json_of(read(&ms, &token, json!({"ids": [a]})).await).await;
    assert_eq!(shown(&body, &a), Some(("Away".into(), "Away".into())));
    set(&ms, &token, &a, "Busy", "Busy").await;
    let body = json_of(read(&ms, &token, json!({"ids": [a]})).await).await;
    assert_eq!(shown(&body, &a), Some(("Busy".into(), "Busy".into())));
}

#[tokio::test]
async fn graph_read_enforces_650_ids_and_well_formed_ids_in_graphs_error_shape() {
    let (ms, token) = microsoft().await;
    let too_many: Vec<String> = (0..=MAX_PRESENCE_IDS as u32).map(id).collect();
    let response = read(&ms, &token, json!({ "ids": too_many })).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_of(response).await["error"]["code"], "invalidRequest");
    let exactly: Vec<String> = (0..MAX_PRESENCE_IDS as u32).map(id).collect();
    assert_eq!(
        read(&ms, &token, json!({ "ids": exactly })).await.status(),
        StatusCode::OK
    );
    for body in [
        json!({"ids": ["not-a-guid"]}),
        json!({"ids": [42]}),
        json!({"ids": []}),
        json!({"users": [id(1)]}),
        json!([id(1)]),
    ] {
        let response = read(&ms, &token, body.clone()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        assert!(json_of(response).await["error"]["message"].is_string());
    }
}

#[tokio::test]
async fn graph_read_checks_the_token_and_the_permission() {
    let (ms, token) = microsoft().await;
    ms.add_user(&id(1));
    let response = read(&ms, "nope", json!({"ids": [id(1)]})).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    ms.deny_permission(true);
    let response = read(&ms, &token, json!({"ids": [id(1)]})).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(json_of(response).await["error"]["code"], "Forbidden");
}

#[tokio::test]
async fn graph_read_faults_apply_to_their_own_endpoint_kind() {
    let (ms, token) = microsoft().await;
    ms.add_user(&id(1));
    ms.faults()
        .push(MsEndpoint::GetPresences, Fault::throttled(3));
    ms.faults().push(MsEndpoint::Presence, Fault::status(503));
    let response = read(&ms, &token, json!({"ids": [id(1)]})).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "3");
    assert_eq!(json_of(response).await["error"]["code"], "TooManyRequests");
    assert_eq!(
        read(&ms, &token, json!({"ids": [id(1)]})).await.status(),
        StatusCode::OK
    );
    assert_eq!(ms.get_presences_calls().len(), 2);
    assert_eq!(ms.faults().pending(MsEndpoint::Presence), 1);
}
