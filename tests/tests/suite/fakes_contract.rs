//! Tests of the test doubles themselves: each fake enforces the documented contract it plays
//! (Microsoft identity platform + Graph presence, Genesys Cloud login + SCIM) and applies
//! injected faults as promised. One test per behaviour, named after it.

use std::time::{Duration, Instant};

use presence_sync_tests::fake_genesys::{
    FakeGenesys, GENESYS_USER_EXTENSION, GenesysEndpoint, SCIM_ERROR_SCHEMA,
};
use presence_sync_tests::fake_microsoft::{FakeMicrosoft, MsEndpoint, PresenceChange};
use presence_sync_tests::fault::Fault;
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT_ID: &str = "535fb089-9ff3-47b6-9bfb-4f1264799865";
const SECRET: &str = "s3cret~value";
const TEAMS_USER: &str = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3";

const GENESYS_CLIENT: &str = "0f4c5c0e-5b38-4e48-8d0d-6d2a0c1b2a11";
const GENESYS_SECRET: &str = "genesys-secret";
const AGENT: &str = "6a3af858-942f-489d-9700-5f9bcdcdae9b";

fn client() -> Client {
    Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("reqwest client")
}

async fn body_json(response: Response) -> Value {
    response.json().await.expect("a JSON body")
}

// ---------------------------------------------------------------------------------------
// Microsoft helpers
// ---------------------------------------------------------------------------------------

async fn microsoft() -> FakeMicrosoft {
    let ms = FakeMicrosoft::start().await;
    ms.register_app(TENANT, CLIENT_ID, SECRET);
    ms.add_user(TEAMS_USER);
    ms
}

async fn ms_token_request(ms: &FakeMicrosoft, form: &[(&str, &str)]) -> Response {
    client()
        .post(ms.token_url(TENANT))
        .form(form)
        .send()
        .await
        .expect("token request")
}

async fn ms_token_with_secret(ms: &FakeMicrosoft, secret: &str) -> Response {
    let scope = ms.scope();
    ms_token_request(
        ms,
        &[
            ("client_id", CLIENT_ID),
            ("client_secret", secret),
            ("scope", &scope),
            ("grant_type", "client_credentials"),
        ],
    )
    .await
}

async fn ms_token(ms: &FakeMicrosoft) -> String {
    let response = ms_token_with_secret(ms, SECRET).await;
    assert_eq!(response.status(), StatusCode::OK);
    body_json(response).await["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

fn presence_url(ms: &FakeMicrosoft, user: &str, action: &str) -> String {
    format!("{}/users/{user}/presence/{action}", ms.graph_url())
}

async fn set_presence(ms: &FakeMicrosoft, token: &str, user: &str, body: Value) -> Response {
    client()
        .post(presence_url(ms, user, "setUserPreferredPresence"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("presence request")
}

async fn assert_aad_error(response: Response, status: StatusCode, error: &str, code: u64) {
    assert_eq!(response.status(), status);
    let body = body_json(response).await;
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_codes"], json!([code]), "{body}");
    let description = body["error_description"]
        .as_str()
        .expect("error_description");
    assert!(
        description.starts_with(&format!("AADSTS{code}:")),
        "{description}"
    );
    for field in ["timestamp", "trace_id", "correlation_id"] {
        assert!(body[field].is_string(), "{field} missing in {body}");
    }
}

async fn assert_graph_error(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status);
    assert!(
        response.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body = body_json(response).await;
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    assert!(
        body["error"]["innerError"]["request-id"].is_string(),
        "{body}"
    );
    assert!(body["error"]["innerError"]["date"].is_string(), "{body}");
    body
}

// ---------------------------------------------------------------------------------------
// Microsoft identity platform
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn ms_token_flow_then_set_and_clear_presence_succeeds() {
    let ms = microsoft().await;
    let response = ms_token_with_secret(&ms, SECRET).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = body_json(response).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(body["ext_expires_in"], 3599);
    let token = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(ms.issued_tokens()[0].access_token, token);
    assert_eq!(ms.token_requests(), 1);

    let response = set_presence(
        &ms,
        &token,
        TEAMS_USER,
        json!({"availability": "DoNotDisturb", "activity": "DoNotDisturb", "expirationDuration": "PT8H"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.bytes().await.unwrap().is_empty());
    assert_eq!(
        ms.preferred_presence(TEAMS_USER),
        Some((
            "DoNotDisturb".to_owned(),
            "DoNotDisturb".to_owned(),
            Some("PT8H".to_owned())
        ))
    );

    let response = client()
        .post(presence_url(&ms, TEAMS_USER, "clearUserPreferredPresence"))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(ms.preferred_presence(TEAMS_USER), None);
    assert_eq!(ms.set_calls_for(TEAMS_USER).len(), 1);
    assert_eq!(ms.clear_calls_for(TEAMS_USER).len(), 1);
}

#[tokio::test]
async fn ms_token_accepts_client_credentials_via_http_basic() {
    let ms = microsoft().await;
    let scope = ms.scope();
    let response = client()
        .post(ms.token_url(TENANT))
        .basic_auth(CLIENT_ID, Some(SECRET))
        .form(&[
            ("scope", scope.as_str()),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(body_json(response).await["access_token"].is_string());
}

#[tokio::test]
async fn ms_bad_secret_is_invalid_client_401() {
    let ms = microsoft().await;
    let response = ms_token_with_secret(&ms, "wrong").await;
    assert_aad_error(
        response,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        7000215,
    )
    .await;
    assert!(ms.issued_tokens().is_empty());
}

#[tokio::test]
async fn ms_missing_secret_is_invalid_client_401() {
    let ms = microsoft().await;
    let scope = ms.scope();
    let response = ms_token_request(
        &ms,
        &[
            ("client_id", CLIENT_ID),
            ("scope", &scope),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_aad_error(
        response,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        7000218,
    )
    .await;
}

#[tokio::test]
async fn ms_rotated_secret_rejects_the_old_secret() {
    let ms = microsoft().await;
    let old_token = ms_token(&ms).await;
    ms.register_app(TENANT, CLIENT_ID, "rotated-secret");

    let response = ms_token_with_secret(&ms, SECRET).await;
    assert_aad_error(
        response,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        7000215,
    )
    .await;
    let response = ms_token_with_secret(&ms, "rotated-secret").await;
    assert_eq!(response.status(), StatusCode::OK);
    // Tokens issued before the rotation stay valid until they expire.
    let response = set_presence(
        &ms,
        &old_token,
        TEAMS_USER,
        json!({"availability": "Away", "activity": "Away"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn ms_unknown_client_id_is_unauthorized_client() {
    let ms = microsoft().await;
    let scope = ms.scope();
    let response = ms_token_request(
        &ms,
        &[
            ("client_id", "00000000-0000-0000-0000-000000000001"),
            ("client_secret", SECRET),
            ("scope", &scope),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_aad_error(
        response,
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
        700016,
    )
    .await;
}

#[tokio::test]
async fn ms_unknown_tenant_is_invalid_request() {
    let ms = microsoft().await;
    let scope = ms.scope();
    let response = client()
        .post(ms.token_url("11111111-1111-1111-1111-111111111111"))
        .form(&[
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
            ("scope", scope.as_str()),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await
        .unwrap();
    assert_aad_error(response, StatusCode::BAD_REQUEST, "invalid_request", 90002).await;
}

#[tokio::test]
async fn ms_wrong_scope_is_invalid_scope() {
    let ms = microsoft().await;
    for scope in [
        "https://graph.microsoft.com/.default",
        "https://graph.microsoft.com/Presence.ReadWrite.All",
    ] {
        let response = ms_token_request(
            &ms,
            &[
                ("client_id", CLIENT_ID),
                ("client_secret", SECRET),
                ("scope", scope),
                ("grant_type", "client_credentials"),
            ],
        )
        .await;
        assert_aad_error(response, StatusCode::BAD_REQUEST, "invalid_scope", 70011).await;
    }
}

#[tokio::test]
async fn ms_wrong_grant_type_is_unsupported_grant_type() {
    let ms = microsoft().await;
    let scope = ms.scope();
    let response = ms_token_request(
        &ms,
        &[
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
            ("scope", &scope),
            ("grant_type", "password"),
        ],
    )
    .await;
    assert_aad_error(
        response,
        StatusCode::BAD_REQUEST,
        "unsupported_grant_type",
        70003,
    )
    .await;
}

#[tokio::test]
async fn ms_missing_parameter_is_invalid_request() {
    let ms = microsoft().await;
    let response = ms_token_request(
        &ms,
        &[
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_aad_error(response, StatusCode::BAD_REQUEST, "invalid_request", 900144).await;
}

#[tokio::test]
async fn ms_token_request_that_is_not_a_form_is_invalid_request() {
    let ms = microsoft().await;
    let response = client()
        .post(ms.token_url(TENANT))
        .json(&json!({"client_id": CLIENT_ID, "client_secret": SECRET, "grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_aad_error(response, StatusCode::BAD_REQUEST, "invalid_request", 900144).await;
}

// ---------------------------------------------------------------------------------------
// Microsoft Graph presence
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn ms_presence_accepts_every_documented_pair() {
    let ms = microsoft().await;
    let token = ms_token(&ms).await;
    for (availability, activity) in [
        ("Available", "Available"),
        ("Busy", "Busy"),
        ("DoNotDisturb", "DoNotDisturb"),
        ("BeRightBack", "BeRightBack"),
        ("Away", "Away"),
        ("Offline", "OffWork"),
    ] {
        let response = set_presence(
            &ms,
            &token,
            TEAMS_USER,
            json!({"availability": availability, "activity": activity, "expirationDuration": "P1D"}),
        )
        .await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{availability}/{activity}"
        );
        assert_eq!(
            ms.preferred_presence(TEAMS_USER),
            Some((
                availability.to_owned(),
                activity.to_owned(),
                Some("P1D".to_owned())
            ))
        );
    }
    assert_eq!(ms.presence_history(TEAMS_USER).len(), 6);
}

#[tokio::test]
async fn ms_presence_rejects_an_unsupported_pair() {
    let ms = microsoft().await;
    let token = ms_token(&ms).await;
    for body in [
        json!({"availability": "Busy", "activity": "Away"}),
        json!({"availability": "Busy", "activity": "InACall"}),
        json!({"availability": "available", "activity": "available"}),
        json!({"availability": "Away"}),
    ] {
        let response = set_presence(&ms, &token, TEAMS_USER, body.clone()).await;
        assert_graph_error(response, StatusCode::BAD_REQUEST, "invalidRequest").await;
    }
    assert_eq!(ms.preferred_presence(TEAMS_USER), None);
    assert!(ms.presence_history(TEAMS_USER).is_empty());
}

#[tokio::test]
async fn ms_presence_rejects_a_bad_expiration_duration() {
    let ms = microsoft().await;
    let token = ms_token(&ms).await;
    for duration in [
        json!("8h"),
        json!("PT"),
        json!("P1Y"),
        json!("-PT1H"),
        json!(3600),
    ] {
        let response = set_presence(
            &ms,
            &token,
            TEAMS_USER,
            json!({"availability": "Busy", "activity": "Busy", "expirationDuration": duration}),
        )
        .await;
        assert_graph_error(response, StatusCode::BAD_REQUEST, "invalidRequest").await;
    }
    let response = set_presence(
        &ms,
        &token,
        TEAMS_USER,
        json!({"availability": "Busy", "activity": "Busy", "expirationDuration": "PT1H30M"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn ms_presence_rejects_an_unknown_body_parameter() {
    let ms = microsoft().await;
    let token = ms_token(&ms).await;
    let response = set_presence(
        &ms,
        &token,
        TEAMS_USER,
        json!({"sessionId": CLIENT_ID, "availability": "Busy", "activity": "Busy"}),
    )
    .await;
    assert_graph_error(response, StatusCode::BAD_REQUEST, "invalidRequest").await;
}

#[tokio::test]
async fn ms_presence_without_bearer_is_401() {
    let ms = microsoft().await;
    let response = client()
        .post(presence_url(&ms, TEAMS_USER, "setUserPreferredPresence"))
        .json(&json!({"availability": "Busy", "activity": "Busy"}))
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .contains_key(reqwest::header::WWW_AUTHENTICATE)
    );
    let body = assert_graph_error(
        response,
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
    )
    .await;
    assert_eq!(body["error"]["message"], "Access token is empty.");
}

#[tokio::test]
async fn ms_presence_with_unknown_token_is_401() {
    let ms = microsoft().await;
    let response = set_presence(
        &ms,
        "not-a-token-from-this-server",
        TEAMS_USER,
        json!({"availability": "Busy", "activity": "Busy"}),
    )
    .await;
    assert_graph_error(
        response,
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
    )
    .await;
}

#[tokio::test]
async fn ms_presence_with_expired_token_is_401() {
    let ms = microsoft().await;
    ms.set_token_lifetime(1);
    let response = ms_token_with_secret(&ms, SECRET).await;
    let body = body_json(response).await;
    assert_eq!(body["expires_in"], 1);
    let token = body["access_token"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let response = set_presence(
        &ms,
        &token,
        TEAMS_USER,
        json!({"availability": "Busy", "activity": "Busy"}),
    )
    .await;
    let body = assert_graph_error(
        response,
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
    )
    .await;
    assert_eq!(
        body["error"]["message"],
        "Access token has expired or is not yet valid."
    );
}

#[tokio::test]
async fn ms_expire_tokens_invalidates_issued_tokens() {
    let ms = microsoft().await;
    let token = ms_token(&ms).await;
    ms.expire_tokens();
    let response = set_presence(
        &ms,
        &token,
        TEAMS_USER,
        json!({"availability": "Busy", "activity": "Busy"}),
    )
    .await;
    assert_graph_error(
        response,
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
    )
    .await;
}

#[tokio::test]
async fn ms_presence_for_unknown_user_is_404() {
    let ms = microsoft().await;
    let token = ms_token(&ms).await;
    let response = set_presence(
        &ms,
        &token,
        "0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        json!({"availability": "Busy", "activity": "Busy"}),
    )
    .await;
    assert_graph_error(response, StatusCode::NOT_FOUND, "itemNotFound").await;
}

#[tokio::test]
async fn ms_presence_for_non_guid_id_is_400() {
    let ms = microsoft().await;
    let token = ms_token(&ms).await;
    let response = set_presence(
        &ms,
        &token,
        "agent@example.com",
        json!({"availability": "Busy", "activity": "Busy"}),
    )
    .await;
    assert_graph_error(response, StatusCode::BAD_REQUEST, "invalidRequest").await;
}

#[tokio::test]
async fn ms_presence_requires_json_content_type() {
    let ms = microsoft().await;
    let token = ms_token(&ms).await;
    let response = client()
        .post(presence_url(&ms, TEAMS_USER, "setUserPreferredPresence"))
        .bearer_auth(&token)
        .body(r#"{"availability":"Busy","activity":"Busy"}"#)
        .send()
        .await
        .unwrap();
    assert_graph_error(
        response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UnsupportedMediaType",
    )
    .await;
}

#[tokio::test]
async fn ms_clear_requires_an_empty_json_object() {
    let ms = microsoft().await;
    let token = ms_token(&ms).await;
    let url = presence_url(&ms, TEAMS_USER, "clearUserPreferredPresence");
    for body in ["", "null", r#"{"sessionId":"x"}"#, "[]"] {
        let response = client()
            .post(&url)
            .bearer_auth(&token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_graph_error(response, StatusCode::BAD_REQUEST, "invalidRequest").await;
    }
    let response = client()
        .post(&url)
        .bearer_auth(&token)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )
        .body(" { } ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn ms_deny_permission_gives_403() {
    let ms = microsoft().await;
    let token = ms_token(&ms).await;
    ms.deny_permission(true);
    let response = set_presence(
        &ms,
        &token,
        TEAMS_USER,
        json!({"availability": "Busy", "activity": "Busy"}),
    )
    .await;
    assert_graph_error(response, StatusCode::FORBIDDEN, "Forbidden").await;
    ms.deny_permission(false);
    let response = set_presence(
        &ms,
        &token,
        TEAMS_USER,
        json!({"availability": "Busy", "activity": "Busy"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn ms_presence_history_records_each_applied_change_in_order() {
    let ms = microsoft().await;
    let token = ms_token(&ms).await;
    let before = Instant::now();
    set_presence(
        &ms,
        &token,
        TEAMS_USER,
        json!({"availability": "Busy", "activity": "Busy"}),
    )
    .await;
    client()
        .post(presence_url(&ms, TEAMS_USER, "clearUserPreferredPresence"))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let history = ms.presence_history(TEAMS_USER);
    assert!(matches!(
        &history[..],
        [PresenceChange::Set { availability, activity, expiration: None, .. }, PresenceChange::Cleared { .. }]
            if availability == "Busy" && activity == "Busy"
    ));
    assert!(history[0].at() >= before && history[1].at() >= history[0].at());
    let calls = ms.presence_calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls[0].json(),
        Some(json!({"availability": "Busy", "activity": "Busy"}))
    );
    assert!(calls[0].authorization_present);
    assert_eq!(calls[0].method, reqwest::Method::POST);
    assert_eq!(calls[0].status, 200);
}

// ---------------------------------------------------------------------------------------
// Microsoft faults
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn ms_throttle_fault_carries_retry_after() {
    let ms = microsoft().await;
    let token = ms_token(&ms).await;
    ms.faults().push(MsEndpoint::Presence, Fault::throttled(7));
    let response = set_presence(
        &ms,
        &token,
        TEAMS_USER,
        json!({"availability": "Busy", "activity": "Busy"}),
    )
    .await;
    assert_eq!(response.headers()[reqwest::header::RETRY_AFTER], "7");
    assert_graph_error(response, StatusCode::TOO_MANY_REQUESTS, "TooManyRequests").await;
    // The fault was used up: the next call is handled normally.
    let response = set_presence(
        &ms,
        &token,
        TEAMS_USER,
        json!({"availability": "Busy", "activity": "Busy"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(ms.presence_calls()[0].faulted);
    assert_eq!(ms.presence_calls()[0].status, 429);
}

#[tokio::test]
async fn ms_server_error_faults_use_the_graph_error_shape() {
    let ms = microsoft().await;
    let token = ms_token(&ms).await;
    for status in [500, 502, 503, 504] {
        ms.faults()
            .push(MsEndpoint::Presence, Fault::status(status));
        let response = set_presence(
            &ms,
            &token,
            TEAMS_USER,
            json!({"availability": "Busy", "activity": "Busy"}),
        )
        .await;
        let expected = if status == 503 {
            "serviceNotAvailable"
        } else {
            "generalException"
        };
        assert_graph_error(response, StatusCode::from_u16(status).unwrap(), expected).await;
    }
    assert_eq!(ms.preferred_presence(TEAMS_USER), None);
}

#[tokio::test]
async fn ms_token_fault_uses_the_entra_error_shape() {
    let ms = microsoft().await;
    ms.faults()
        .push(MsEndpoint::Token, Fault::status_retry_after(503, Some(2)));
    let response = ms_token_with_secret(&ms, SECRET).await;
    assert_eq!(response.headers()[reqwest::header::RETRY_AFTER], "2");
    assert_aad_error(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        50000,
    )
    .await;
    assert!(ms.issued_tokens().is_empty());
}

#[tokio::test]
async fn ms_faults_are_consumed_in_fifo_order() {
    let ms = microsoft().await;
    let plan = ms.faults();
    plan.push_n(MsEndpoint::Token, Fault::status(500), 2);
    plan.push(MsEndpoint::Token, Fault::status(502));
    assert_eq!(plan.pending(MsEndpoint::Token), 3);
    assert_eq!(plan.pending(MsEndpoint::Presence), 0);
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(ms_token_with_secret(&ms, SECRET).await.status().as_u16());
    }
    assert_eq!(statuses, [500, 500, 502, 200]);
    assert_eq!(ms.token_requests(), 4);
    assert_eq!(ms.issued_tokens().len(), 1);
}

#[tokio::test]
async fn ms_drop_fault_gives_a_connection_error() {
    let ms = microsoft().await;
    let token = ms_token(&ms).await;
    ms.faults().push(MsEndpoint::Presence, Fault::Drop);
    let error = client()
        .post(presence_url(&ms, TEAMS_USER, "setUserPreferredPresence"))
        .bearer_auth(&token)
        .json(&json!({"availability": "Busy", "activity": "Busy"}))
        .send()
        .await
        .expect_err("the connection is closed without a response");
    assert!(!error.is_timeout(), "{error:?}");
    assert!(error.status().is_none(), "{error:?}");
    let calls = ms.presence_calls();
    assert_eq!(calls.len(), 1);
    assert!(calls[0].dropped());
    assert_eq!(ms.preferred_presence(TEAMS_USER), None);
    // The server keeps serving other connections.
    let response = set_presence(
        &ms,
        &token,
        TEAMS_USER,
        json!({"availability": "Busy", "activity": "Busy"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn ms_delay_fault_delays_the_normal_answer() {
    let ms = microsoft().await;
    let token = ms_token(&ms).await;
    ms.faults().push(
        MsEndpoint::Presence,
        Fault::delay(Duration::from_millis(400)),
    );
    let start = Instant::now();
    let response = set_presence(
        &ms,
        &token,
        TEAMS_USER,
        json!({"availability": "Away", "activity": "Away"}),
    )
    .await;
    assert!(start.elapsed() >= Duration::from_millis(400));
    assert_eq!(response.status(), StatusCode::OK);
    assert!(ms.presence_calls()[0].elapsed() >= Duration::from_millis(400));
    assert_eq!(
        ms.preferred_presence(TEAMS_USER)
            .map(|(availability, ..)| availability),
        Some("Away".to_owned())
    );
}

#[tokio::test]
async fn ms_raw_fault_is_sent_verbatim() {
    let ms = microsoft().await;
    ms.faults().push(
        MsEndpoint::Token,
        Fault::raw(200, "text/html", "<html>proxy login</html>"),
    );
    let response = ms_token_with_secret(&ms, SECRET).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[reqwest::header::CONTENT_TYPE],
        "text/html"
    );
    assert_eq!(response.text().await.unwrap(), "<html>proxy login</html>");
}

#[tokio::test]
async fn ms_shutdown_stops_the_server() {
    let ms = microsoft().await;
    let url = ms.token_url(TENANT);
    ms.shutdown().await;
    let error = client().post(url).send().await.expect_err("server is gone");
    assert!(error.is_connect(), "{error:?}");
}

// ---------------------------------------------------------------------------------------
// Genesys helpers
// ---------------------------------------------------------------------------------------

async fn genesys() -> FakeGenesys {
    let gc = FakeGenesys::start().await;
    gc.register_client(GENESYS_CLIENT, GENESYS_SECRET);
    gc
}

async fn genesys_token_request(gc: &FakeGenesys, secret: &str) -> Response {
    client()
        .post(gc.token_url())
        .basic_auth(GENESYS_CLIENT, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token request")
}

async fn genesys_token(gc: &FakeGenesys) -> String {
    let response = genesys_token_request(gc, GENESYS_SECRET).await;
    assert_eq!(response.status(), StatusCode::OK);
    body_json(response).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn scim_lookup(gc: &FakeGenesys, token: &str, user: &str) -> Response {
    client()
        .get(gc.scim_user_url(user))
        .bearer_auth(token)
        .send()
        .await
        .expect("SCIM request")
}

async fn assert_scim_error(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    let body = body_json(response).await;
    assert_eq!(body["schemas"], json!([SCIM_ERROR_SCHEMA]), "{body}");
    assert_eq!(body["status"], status.as_u16().to_string(), "{body}");
    assert!(body["detail"].is_string(), "{body}");
    body
}

async fn assert_genesys_oauth_error(response: Response, status: StatusCode, error: &str) -> Value {
    assert_eq!(response.status(), status);
    let body = body_json(response).await;
    assert_eq!(body["error"], error, "{body}");
    assert!(body["description"].is_string(), "{body}");
    assert_eq!(body["description"], body["error_description"], "{body}");
    body
}

// ---------------------------------------------------------------------------------------
// Genesys Cloud login and SCIM
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn genesys_token_flow_then_scim_lookup_returns_the_teams_id() {
    let gc = genesys().await;
    gc.add_user(AGENT, Some(TEAMS_USER));
    let response = genesys_token_request(&gc, GENESYS_SECRET).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = body_json(response).await;
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 86400);
    let token = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(gc.issued_tokens()[0].access_token, token);

    let response = scim_lookup(&gc, &token, AGENT).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = body_json(response).await;
    assert_eq!(body["id"], AGENT);
    assert_eq!(
        body[GENESYS_USER_EXTENSION]["externalIds"],
        json!([{"authority": "microsoftteams", "value": TEAMS_USER}])
    );
    // With `attributes`: the requested ones plus id, userName, active, meta (and schemas).
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    let mut expected = vec![
        "active",
        "id",
        "meta",
        "schemas",
        "userName",
        GENESYS_USER_EXTENSION,
    ];
    expected.sort_unstable();
    assert_eq!(keys, expected);
    assert_eq!(gc.scim_calls(), 1);
    assert_eq!(gc.token_requests(), 1);
    let call = &gc.recorder().calls_of(GenesysEndpoint::Scim)[0];
    assert_eq!(
        call.query.as_deref(),
        Some(
            "attributes=urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User:externalIds"
        )
    );
}

#[tokio::test]
async fn genesys_scim_user_without_teams_id_has_no_extension() {
    let gc = genesys().await;
    gc.add_user(AGENT, None);
    let token = genesys_token(&gc).await;
    let response = scim_lookup(&gc, &token, AGENT).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = body_json(response).await;
    assert_eq!(body["id"], AGENT);
    assert!(body.get(GENESYS_USER_EXTENSION).is_none(), "{body}");
}

#[tokio::test]
async fn genesys_scim_without_attributes_returns_the_full_user() {
    let gc = genesys().await;
    gc.add_user(AGENT, Some(TEAMS_USER));
    let token = genesys_token(&gc).await;
    let response = client()
        .get(format!("{}/api/v2/scim/v2/users/{AGENT}", gc.api_url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/scim+json")
    );
    let body = body_json(response).await;
    assert!(body["displayName"].is_string());
    assert!(body["emails"].is_array());
    assert_eq!(body["userName"], body["emails"][0]["value"]);
    assert!(body[GENESYS_USER_EXTENSION]["externalIds"].is_array());
    assert_eq!(body["meta"]["resourceType"], "User");

    // excludedAttributes removes the extension but never the always-returned attributes.
    let response = client()
        .get(format!(
            "{}/api/v2/scim/v2/users/{AGENT}?excludedAttributes={GENESYS_USER_EXTENSION}:externalIds,id",
            gc.api_url()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let body = body_json(response).await;
    assert!(body.get(GENESYS_USER_EXTENSION).is_none());
    assert_eq!(body["id"], AGENT);
}

#[tokio::test]
async fn genesys_scim_keeps_other_authorities_and_non_guid_values() {
    let gc = genesys().await;
    gc.add_user_with_external_ids(
        AGENT,
        [
            ("x-pc:scimv2:v1", "ad-object-1"),
            ("microsoftteams", "not-a-guid"),
            ("https://idp.example.com", "abc"),
        ],
    );
    let token = genesys_token(&gc).await;
    let body = body_json(scim_lookup(&gc, &token, AGENT).await).await;
    assert_eq!(
        body[GENESYS_USER_EXTENSION]["externalIds"],
        json!([
            {"authority": "x-pc:scimv2:v1", "value": "ad-object-1"},
            {"authority": "microsoftteams", "value": "not-a-guid"},
            {"authority": "https://idp.example.com", "value": "abc"}
        ])
    );
}

#[tokio::test]
async fn genesys_scim_unknown_user_is_404() {
    let gc = genesys().await;
    let token = genesys_token(&gc).await;
    let response = scim_lookup(&gc, &token, "00000000-0000-4000-8000-000000000000").await;
    assert_scim_error(response, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn genesys_scim_removed_user_is_404() {
    let gc = genesys().await;
    gc.add_user(AGENT, Some(TEAMS_USER));
    gc.remove_user(AGENT);
    let token = genesys_token(&gc).await;
    assert_scim_error(scim_lookup(&gc, &token, AGENT).await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn genesys_scim_non_uuid_user_id_is_400() {
    let gc = genesys().await;
    let token = genesys_token(&gc).await;
    let body = assert_scim_error(
        scim_lookup(&gc, &token, "agent-42").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(body["scimType"], "invalidValue");
}

#[tokio::test]
async fn genesys_scim_bad_token_is_401() {
    let gc = genesys().await;
    gc.add_user(AGENT, Some(TEAMS_USER));
    let response = client().get(gc.scim_user_url(AGENT)).send().await.unwrap();
    assert_scim_error(response, StatusCode::UNAUTHORIZED).await;
    let response = scim_lookup(&gc, "made-up-token", AGENT).await;
    assert_scim_error(response, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn genesys_scim_expired_token_is_401() {
    let gc = genesys().await;
    gc.add_user(AGENT, Some(TEAMS_USER));
    gc.set_token_lifetime(1);
    let response = genesys_token_request(&gc, GENESYS_SECRET).await;
    let body = body_json(response).await;
    assert_eq!(body["expires_in"], 1);
    let token = body["access_token"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_scim_error(
        scim_lookup(&gc, &token, AGENT).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

#[tokio::test]
async fn genesys_bad_secret_is_invalid_client() {
    let gc = genesys().await;
    let response = genesys_token_request(&gc, "wrong").await;
    let body =
        assert_genesys_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_client").await;
    assert_eq!(body["description"], "authentication failed");
    assert!(gc.issued_tokens().is_empty());
}

#[tokio::test]
async fn genesys_unknown_client_is_invalid_client() {
    let gc = genesys().await;
    let response = client()
        .post(gc.token_url())
        .basic_auth("someone-else", Some(GENESYS_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let body =
        assert_genesys_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_client").await;
    assert_eq!(body["description"], "client not found");
}

#[tokio::test]
async fn genesys_rotated_secret_rejects_the_old_secret() {
    let gc = genesys().await;
    gc.register_client(GENESYS_CLIENT, "rotated");
    let response = genesys_token_request(&gc, GENESYS_SECRET).await;
    assert_genesys_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_client").await;
    assert_eq!(
        genesys_token_request(&gc, "rotated").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn genesys_token_requires_http_basic_credentials() {
    let gc = genesys().await;
    let response = client()
        .post(gc.token_url())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", GENESYS_CLIENT),
            ("client_secret", GENESYS_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_genesys_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_client").await;
}

#[tokio::test]
async fn genesys_wrong_grant_type_is_unsupported_grant_type() {
    let gc = genesys().await;
    let response = client()
        .post(gc.token_url())
        .basic_auth(GENESYS_CLIENT, Some(GENESYS_SECRET))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_genesys_oauth_error(response, StatusCode::BAD_REQUEST, "unsupported_grant_type").await;
}

#[tokio::test]
async fn genesys_token_request_that_is_not_a_form_is_rejected() {
    let gc = genesys().await;
    let response = client()
        .post(gc.token_url())
        .basic_auth(GENESYS_CLIENT, Some(GENESYS_SECRET))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_genesys_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
}

// ---------------------------------------------------------------------------------------
// Genesys faults
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn genesys_scim_server_error_fault_uses_the_scim_error_shape() {
    let gc = genesys().await;
    gc.add_user(AGENT, Some(TEAMS_USER));
    let token = genesys_token(&gc).await;
    gc.faults().push(GenesysEndpoint::Scim, Fault::status(503));
    assert_scim_error(
        scim_lookup(&gc, &token, AGENT).await,
        StatusCode::SERVICE_UNAVAILABLE,
    )
    .await;
    assert_eq!(
        scim_lookup(&gc, &token, AGENT).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn genesys_scim_throttle_fault_carries_retry_after() {
    let gc = genesys().await;
    gc.add_user(AGENT, Some(TEAMS_USER));
    let token = genesys_token(&gc).await;
    gc.faults().push(GenesysEndpoint::Scim, Fault::throttled(3));
    let response = scim_lookup(&gc, &token, AGENT).await;
    assert_eq!(response.headers()[reqwest::header::RETRY_AFTER], "3");
    assert_scim_error(response, StatusCode::TOO_MANY_REQUESTS).await;
}

#[tokio::test]
async fn genesys_scim_404_fault_answers_not_found_for_a_known_user() {
    let gc = genesys().await;
    gc.add_user(AGENT, Some(TEAMS_USER));
    let token = genesys_token(&gc).await;
    gc.faults().push(GenesysEndpoint::Scim, Fault::status(404));
    assert_scim_error(scim_lookup(&gc, &token, AGENT).await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn genesys_token_drop_fault_gives_a_connection_error() {
    let gc = genesys().await;
    gc.faults().push(GenesysEndpoint::Token, Fault::Drop);
    let error = client()
        .post(gc.token_url())
        .basic_auth(GENESYS_CLIENT, Some(GENESYS_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect_err("the connection is closed without a response");
    assert!(!error.is_timeout(), "{error:?}");
    assert!(error.status().is_none(), "{error:?}");
    assert!(gc.issued_tokens().is_empty());
    assert!(gc.calls()[0].dropped());
    assert_eq!(
        genesys_token_request(&gc, GENESYS_SECRET).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn genesys_scim_delay_fault_delays_the_normal_answer() {
    let gc = genesys().await;
    gc.add_user(AGENT, Some(TEAMS_USER));
    let token = genesys_token(&gc).await;
    gc.faults().push(
        GenesysEndpoint::Scim,
        Fault::delay(Duration::from_millis(300)),
    );
    let start = Instant::now();
    let response = scim_lookup(&gc, &token, AGENT).await;
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn genesys_scim_raw_fault_can_send_a_truncated_body() {
    let gc = genesys().await;
    gc.add_user(AGENT, Some(TEAMS_USER));
    let token = genesys_token(&gc).await;
    gc.faults().push(
        GenesysEndpoint::Scim,
        Fault::raw(
            200,
            "application/scim+json",
            r#"{"schemas":["urn:ietf:params:sc"#,
        ),
    );
    let response = scim_lookup(&gc, &token, AGENT).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.json::<Value>().await.is_err());
}
