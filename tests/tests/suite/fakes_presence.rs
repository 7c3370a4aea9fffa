//! Graph's presence aggregation in both fakes: the HTTP fake (`setPresence`, `clearPresence`
//! and `getPresencesByUserId` over HTTP) and the in-memory adapter (`MemoryTeams`) follow ONE
//! model (`presence_core::adapters::memory::graph_presence`); one table of scenarios is run
//! against each, so both hold the documented semantics: preferred presence over every session
//! while one exists, Offline without one, "DoNotDisturb > Busy > Available > Away" among
//! sessions, app session expiry (PT5M by default) and the Available fade at 5 and 10 minutes.

use std::time::Duration;

use presence_core::adapters::memory::MemoryTeams;
use presence_core::domain::ids::TeamsUserId;
use presence_core::domain::teams::TeamsPresence;
use presence_core::ports::{Budget, PresenceReader, PresenceWriter};
use presence_sync_tests::fake_microsoft::{
    ClientEvent, FakeMicrosoft, PreferredBy, SessionState, TeamsClient,
};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT_ID: &str = "535fb089-9ff3-47b6-9bfb-4f1264799865";
const OTHER_APP: &str = "22553876-f5ab-4529-bffb-cfe50aa89f87";
const SECRET: &str = "s3cret~value";
const USER: &str = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3";
const MIN: Duration = Duration::from_secs(60);
const DAY: Duration = Duration::from_secs(24 * 3600);

fn client() -> Client {
    Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("reqwest client")
}

/// The fake with the app registered, one user, and a token with `Presence.ReadWrite.All`.
async fn microsoft() -> (FakeMicrosoft, String) {
    let ms = FakeMicrosoft::start().await;
    ms.register_app(TENANT, CLIENT_ID, SECRET);
    ms.add_user(USER);
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
    let body: Value = response.json().await.expect("a JSON body");
    let token = body["access_token"].as_str().expect("access_token");
    (ms, token.to_owned())
}

async fn action(ms: &FakeMicrosoft, token: &str, user: &str, name: &str, body: Value) -> Response {
    client()
        .post(format!("{}/users/{user}/presence/{name}", ms.graph_url()))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("presence request")
}

/// `setPresence` of our app's session with this pair and expiration.
async fn set_session(
    ms: &FakeMicrosoft,
    token: &str,
    pair: (&str, &str),
    expiration: Option<&str>,
) -> Response {
    let mut body = json!({"sessionId": CLIENT_ID, "availability": pair.0, "activity": pair.1});
    if let Some(expiration) = expiration {
        body["expirationDuration"] = json!(expiration);
    }
    action(ms, token, USER, "setPresence", body).await
}

/// What `getPresencesByUserId` answers for [`USER`].
async fn shows(ms: &FakeMicrosoft, token: &str) -> (String, String) {
    let response = client()
        .post(format!(
            "{}/communications/getPresencesByUserId",
            ms.graph_url()
        ))
        .bearer_auth(token)
        .json(&json!({"ids": [USER]}))
        .send()
        .await
        .expect("read request");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("a JSON body");
    let entry = &body["value"][0];
    let text = |field: &str| entry[field].as_str().expect(field).to_owned();
    (text("availability"), text("activity"))
}

fn pair(availability: &str, activity: &str) -> (String, String) {
    (availability.to_owned(), activity.to_owned())
}

async fn error_code(response: Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.expect("a Graph error body");
    let code = body["error"]["code"]
        .as_str()
        .expect("error.code")
        .to_owned();
    (status, code)
}

// --- The table: one statement of the semantics, two implementations -------------------------

/// One step of a scenario, starting from a user signed in to Teams on the desktop, Available.
#[derive(Clone, Copy, Debug)]
enum Step {
    /// The agent's own Teams activity.
    Teams(ClientEvent),
    /// The agent picks a state in Teams by hand.
    ByHand(TeamsPresence),
    /// `setUserPreferredPresence` (the default expiration).
    Preferred(TeamsPresence),
    /// `clearUserPreferredPresence`.
    ClearPreferred,
    /// `setPresence` of our app's session, with an `expirationDuration` in minutes.
    Session(SessionState, Option<u64>),
    /// `clearPresence` of our app's session.
    ClearSession,
    /// Every session ends (Teams and app).
    NoSession,
    /// Time passes.
    Wait(Duration),
}

use ClientEvent as T;
use SessionState as S;
use Step::*;
use TeamsPresence as P;

/// `(what happens, what getPresencesByUserId then answers)`.
const TABLE: &[(&[Step], (&str, &str))] = &[
    (&[], ("Available", "Available")),
    (&[Teams(T::JoinMeeting)], ("Busy", "InAMeeting")),
    (&[Teams(T::StartCall)], ("Busy", "InACall")),
    (
        &[Teams(T::JoinMeeting), Teams(T::StartPresenting)],
        ("DoNotDisturb", "Presenting"),
    ),
    (&[Teams(T::GoIdle)], ("Away", "Away")),
    // The preferred presence hides every session while it lasts (setUserPreferredPresence).
    (
        &[Teams(T::JoinMeeting), Preferred(P::Busy)],
        ("Busy", "Busy"),
    ),
    (
        &[Teams(T::StartCall), Preferred(P::Available)],
        ("Available", "Available"),
    ),
    (
        &[Teams(T::StartPresenting), Preferred(P::Away)],
        ("Away", "Away"),
    ),
    (
        &[Teams(T::JoinMeeting), Preferred(P::Busy), ClearPreferred],
        ("Busy", "InAMeeting"),
    ),
    (
        &[Teams(T::JoinMeeting), Preferred(P::Busy), Wait(DAY)],
        ("Busy", "InAMeeting"),
    ),
    (
        &[
            Teams(T::GoIdle),
            Preferred(P::Available),
            Wait(Duration::from_secs(6 * 86_400)),
        ],
        ("Available", "Available"),
    ),
    (
        &[
            Teams(T::GoIdle),
            Preferred(P::Available),
            Wait(Duration::from_secs(7 * 86_400)),
        ],
        ("Away", "Away"),
    ),
    // The user's own choice is the same slot: it wins over activity, and our next write over it.
    (
        &[Teams(T::JoinMeeting), ByHand(P::DoNotDisturb)],
        ("DoNotDisturb", "DoNotDisturb"),
    ),
    (&[ByHand(P::Away), Preferred(P::Busy)], ("Busy", "Busy")),
    (
        &[Teams(T::StartCall), ByHand(P::Available), ClearPreferred],
        ("Busy", "InACall"),
    ),
    // No session: Offline whatever is preferred; an app session is a session.
    (
        &[Preferred(P::Busy), Teams(T::SignOut)],
        ("Offline", "Offline"),
    ),
    (&[NoSession], ("Offline", "Offline")),
    (
        &[
            Teams(T::SignOut),
            Session(S::Available, None),
            Preferred(P::Busy),
        ],
        ("Busy", "Busy"),
    ),
    // Among sessions: DoNotDisturb > Busy > Available > Away.
    (&[Session(S::InACall, None)], ("Busy", "InACall")),
    (&[Session(S::Away, None)], ("Available", "Available")),
    (
        &[Teams(T::GoIdle), Session(S::Available, None)],
        ("Available", "Available"),
    ),
    (
        &[Session(S::InACall, None), Teams(T::StartPresenting)],
        ("DoNotDisturb", "Presenting"),
    ),
    (
        &[Teams(T::StartCall), Session(S::Presenting, None)],
        ("DoNotDisturb", "Presenting"),
    ),
    // Not documented, the model's rule: at equal availability the agent's client shows.
    (
        &[Teams(T::JoinMeeting), Session(S::InACall, None)],
        ("Busy", "InAMeeting"),
    ),
    // An app session lasts PT5M by default; alone and expired: Offline.
    (
        &[
            Teams(T::SignOut),
            Session(S::InACall, None),
            Wait(Duration::from_secs(299)),
        ],
        ("Busy", "InACall"),
    ),
    (
        &[
            Teams(T::SignOut),
            Session(S::InACall, None),
            Wait(Duration::from_secs(300)),
        ],
        ("Offline", "Offline"),
    ),
    (
        &[
            Session(S::Presenting, Some(60)),
            Wait(Duration::from_secs(3600)),
        ],
        ("Available", "Available"),
    ),
    // An Available app session fades at 5 and 10 minutes unless set again.
    (
        &[
            Teams(T::SignOut),
            Session(S::Available, Some(60)),
            Wait(Duration::from_secs(300)),
        ],
        ("Available", "AvailableInactive"),
    ),
    (
        &[
            Teams(T::SignOut),
            Session(S::Available, Some(60)),
            Wait(Duration::from_secs(600)),
        ],
        ("Away", "Away"),
    ),
    (
        &[
            Teams(T::SignOut),
            Session(S::Available, Some(60)),
            Wait(Duration::from_secs(540)),
            Session(S::Available, Some(60)),
            Wait(Duration::from_secs(540)),
        ],
        ("Available", "AvailableInactive"),
    ),
    (
        &[
            Teams(T::SignOut),
            Session(S::Available, Some(60)),
            Wait(Duration::from_secs(240)),
            Session(S::Available, Some(60)),
            Wait(Duration::from_secs(240)),
        ],
        ("Available", "Available"),
    ),
    (
        &[
            Session(S::Available, Some(60)),
            Teams(T::GoIdle),
            Wait(Duration::from_secs(360)),
        ],
        ("Available", "AvailableInactive"),
    ),
    // clearPresence ends our session only.
    (
        &[Session(S::Presenting, None), ClearSession],
        ("Available", "Available"),
    ),
];

fn budget() -> Budget {
    Budget {
        until: tokio::time::Instant::now() + Duration::from_secs(10),
    }
}

async fn run_in_memory(steps: &[Step]) -> (String, String) {
    let teams = MemoryTeams::new();
    let user = TeamsUserId::parse(USER).expect("a Teams id");
    for step in steps {
        match *step {
            Teams(event) => teams.client_event(&user, event),
            ByHand(presence) => teams.set_by_hand(&user, presence),
            Preferred(presence) => {
                teams
                    .set_preferred(&user, presence, budget())
                    .await
                    .expect("a write");
            }
            ClearPreferred => {
                teams
                    .clear_preferred(&user, budget())
                    .await
                    .expect("a clear");
            }
            Session(state, minutes) => teams
                .set_app_session(&user, CLIENT_ID, state, minutes.map(|m| MIN * m as u32))
                .expect("a session"),
            ClearSession => teams
                .clear_app_session(&user, CLIENT_ID)
                .expect("the session"),
            NoSession => teams.without_session(&user),
            Wait(span) => tokio::time::advance(span).await,
        }
    }
    let read = teams.read(&[user], budget()).await.expect("a read");
    pair(&read[0].availability, &read[0].activity)
}

async fn run_over_http(steps: &[Step]) -> (String, String) {
    let (ms, token) = microsoft().await;
    for step in steps {
        let answer = match *step {
            Teams(event) => {
                ms.client_event(USER, event);
                None
            }
            ByHand(presence) => {
                ms.set_user_configured(USER, presence);
                None
            }
            Preferred(presence) => Some(
                action(
                    &ms,
                    &token,
                    USER,
                    "setUserPreferredPresence",
                    json!(presence),
                )
                .await,
            ),
            ClearPreferred => {
                Some(action(&ms, &token, USER, "clearUserPreferredPresence", json!({})).await)
            }
            Session(state, minutes) => {
                let expiration = minutes.map(|m| format!("PT{m}M"));
                Some(set_session(&ms, &token, state.shown().pair(), expiration.as_deref()).await)
            }
            ClearSession => Some(
                action(
                    &ms,
                    &token,
                    USER,
                    "clearPresence",
                    json!({"sessionId": CLIENT_ID}),
                )
                .await,
            ),
            NoSession => {
                ms.set_has_session(USER, false);
                None
            }
            Wait(span) => {
                ms.advance_clock(span);
                None
            }
        };
        if let Some(response) = answer {
            assert_eq!(response.status(), StatusCode::OK, "{step:?}");
        }
    }
    shows(&ms, &token).await
}

#[tokio::test(start_paused = true)]
async fn the_aggregation_table_holds_in_memory() {
    for (n, (steps, expected)) in TABLE.iter().enumerate() {
        let shown = run_in_memory(steps).await;
        assert_eq!(shown, pair(expected.0, expected.1), "row {n}: {steps:?}");
    }
}

#[tokio::test]
async fn the_aggregation_table_holds_over_http() {
    for (n, (steps, expected)) in TABLE.iter().enumerate() {
        let shown = run_over_http(steps).await;
        assert_eq!(shown, pair(expected.0, expected.1), "row {n}: {steps:?}");
    }
}

// --- setPresence / clearPresence over HTTP ----------------------------------------------------

#[tokio::test]
async fn set_presence_accepts_exactly_the_documented_pairs() {
    let (ms, token) = microsoft().await;
    ms.sign_out(USER);
    for state in SessionState::APP_SETTABLE {
        let response = set_session(&ms, &token, state.shown().pair(), None).await;
        assert_eq!(response.status(), StatusCode::OK, "{state:?}");
        let (availability, activity) = state.shown().pair();
        assert_eq!(shows(&ms, &token).await, pair(availability, activity));
    }
    for refused in [
        ("Busy", "InAMeeting"),
        ("Busy", "Busy"),
        ("DoNotDisturb", "DoNotDisturb"),
        ("Offline", "OffWork"),
        ("available", "available"),
    ] {
        let response = set_session(&ms, &token, refused, None).await;
        assert_eq!(
            error_code(response).await,
            (StatusCode::BAD_REQUEST, "invalidRequest".into()),
            "{refused:?}"
        );
    }
    assert_eq!(shows(&ms, &token).await, pair("DoNotDisturb", "Presenting"));
    assert_eq!(ms.set_presence_calls_for(USER).len(), 10);
}

#[tokio::test]
async fn set_presence_bounds_its_expiration_to_pt5m_through_pt4h() {
    let (ms, token) = microsoft().await;
    for refused in ["PT4M59S", "PT4H1S", "P1D", "soon", ""] {
        let response = set_session(&ms, &token, ("Busy", "InACall"), Some(refused)).await;
        assert_eq!(
            error_code(response).await,
            (StatusCode::BAD_REQUEST, "invalidRequest".into()),
            "{refused:?}"
        );
    }
    assert_eq!(ms.app_session(USER, CLIENT_ID), None, "nothing was set");
    for accepted in ["PT5M", "PT4H", "PT240M"] {
        let response = set_session(&ms, &token, ("Busy", "InACall"), Some(accepted)).await;
        assert_eq!(response.status(), StatusCode::OK, "{accepted}");
    }
    ms.advance_clock(4 * 60 * MIN - Duration::from_secs(1));
    assert_eq!(
        ms.app_session(USER, CLIENT_ID),
        Some(pair("Busy", "InACall"))
    );
    ms.advance_clock(Duration::from_secs(1));
    assert_eq!(ms.app_session(USER, CLIENT_ID), None, "PT4H is the last");
}

#[tokio::test]
async fn the_session_id_must_be_the_calling_apps_id() {
    let (ms, token) = microsoft().await;
    let mut body = json!({"sessionId": OTHER_APP, "availability": "Busy", "activity": "InACall"});
    let response = action(&ms, &token, USER, "setPresence", body.clone()).await;
    assert_eq!(
        error_code(response).await,
        (StatusCode::BAD_REQUEST, "invalidRequest".into())
    );
    body["sessionId"] = json!(CLIENT_ID.to_ascii_uppercase());
    let response = action(&ms, &token, USER, "setPresence", body.clone()).await;
    assert_eq!(response.status(), StatusCode::OK, "a GUID in upper case");
    for bad in [
        json!({"availability": "Busy", "activity": "InACall"}),
        json!({"sessionId": 7, "availability": "Busy", "activity": "InACall"}),
        json!({"sessionId": CLIENT_ID, "availability": "Busy", "activity": "InACall", "extra": 1}),
        json!({"sessionId": CLIENT_ID, "availability": "Busy"}),
    ] {
        let response = action(&ms, &token, USER, "setPresence", bad.clone()).await;
        assert_eq!(
            error_code(response).await,
            (StatusCode::BAD_REQUEST, "invalidRequest".into()),
            "{bad}"
        );
    }
    let other = json!({"sessionId": OTHER_APP});
    let response = action(&ms, &token, USER, "clearPresence", other).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        ms.app_session(USER, CLIENT_ID),
        Some(pair("Busy", "InACall"))
    );
}

#[tokio::test]
async fn clear_presence_is_404_without_the_session() {
    let (ms, token) = microsoft().await;
    let clear = json!({"sessionId": CLIENT_ID});
    let response = action(&ms, &token, USER, "clearPresence", clear.clone()).await;
    assert_eq!(
        error_code(response).await,
        (StatusCode::NOT_FOUND, "itemNotFound".into())
    );
    let response = set_session(&ms, &token, ("Away", "Away"), None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = action(&ms, &token, USER, "clearPresence", clear.clone()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = action(&ms, &token, USER, "clearPresence", clear.clone()).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND, "cleared already");
    // An expired session no longer exists either.
    let response = set_session(&ms, &token, ("Away", "Away"), None).await;
    assert_eq!(response.status(), StatusCode::OK);
    ms.advance_clock(MIN * 5);
    let response = action(&ms, &token, USER, "clearPresence", clear).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND, "expired");
    assert_eq!(ms.clear_presence_calls_for(USER).len(), 4);
}

#[tokio::test]
async fn session_actions_share_the_presence_checks() {
    let (ms, token) = microsoft().await;
    let unknown = "66825e03-7ef5-42da-9069-724602c31f6b";
    let body = json!({"sessionId": CLIENT_ID, "availability": "Away", "activity": "Away"});
    let response = action(&ms, &token, unknown, "setPresence", body.clone()).await;
    assert_eq!(
        error_code(response).await,
        (StatusCode::NOT_FOUND, "itemNotFound".into())
    );
    let response = client()
        .post(format!(
            "{}/users/{USER}/presence/setPresence",
            ms.graph_url()
        ))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    ms.deny_permission(true);
    let response = action(&ms, &token, USER, "setPresence", body).await;
    assert_eq!(
        error_code(response).await,
        (StatusCode::FORBIDDEN, "Forbidden".into())
    );
}

#[tokio::test]
async fn the_agents_meeting_shows_once_our_preferred_presence_is_cleared() {
    let (ms, token) = microsoft().await;
    let busy = json!({"availability": "Busy", "activity": "Busy"});
    let response = action(&ms, &token, USER, "setUserPreferredPresence", busy).await;
    assert_eq!(response.status(), StatusCode::OK);
    ms.join_meeting(USER);
    assert_eq!(shows(&ms, &token).await, pair("Busy", "Busy"), "masked");
    assert_eq!(ms.preferred_by(USER), Some(PreferredBy::App));
    let response = action(&ms, &token, USER, "clearUserPreferredPresence", json!({})).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(shows(&ms, &token).await, pair("Busy", "InAMeeting"));
    ms.start_presenting(USER);
    assert_eq!(shows(&ms, &token).await, pair("DoNotDisturb", "Presenting"));
    ms.stop_presenting(USER);
    ms.leave_meeting(USER);
    assert_eq!(shows(&ms, &token).await, pair("Available", "Available"));
    ms.start_call(USER);
    ms.set_client(USER, TeamsClient::Mobile, SessionState::Away);
    assert_eq!(shows(&ms, &token).await, pair("Busy", "InACall"));
    ms.end_call(USER);
    ms.sign_out(USER);
    assert_eq!(shows(&ms, &token).await, pair("Offline", "Offline"));
    ms.sign_in(USER);
    assert_eq!(shows(&ms, &token).await, pair("Available", "Available"));
}

#[tokio::test]
async fn a_preferred_presence_expires_on_the_fakes_clock() {
    let (ms, token) = microsoft().await;
    ms.start_call(USER);
    let body = json!({"availability": "Away", "activity": "Away", "expirationDuration": "PT1H"});
    let response = action(&ms, &token, USER, "setUserPreferredPresence", body).await;
    assert_eq!(response.status(), StatusCode::OK);
    ms.advance_clock(59 * MIN);
    assert_eq!(shows(&ms, &token).await, pair("Away", "Away"));
    assert_eq!(
        ms.preferred_presence(USER),
        Some(("Away".into(), "Away".into(), Some("PT1H".into())))
    );
    ms.advance_clock(MIN);
    assert_eq!(shows(&ms, &token).await, pair("Busy", "InACall"));
    assert_eq!(ms.preferred_presence(USER), None);
}

// --- MemoryTeams beyond the table --------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn memory_teams_refuses_what_graph_refuses() {
    let teams = MemoryTeams::new();
    let user = TeamsUserId::parse(USER).unwrap();
    assert!(teams.clear_app_session(&user, CLIENT_ID).is_err(), "404");
    let too_short = teams.set_app_session(&user, CLIENT_ID, S::Away, Some(4 * MIN));
    assert!(too_short.is_err());
    teams
        .set_app_session(&user, CLIENT_ID, S::Away, None)
        .unwrap();
    tokio::time::advance(5 * MIN).await;
    assert!(
        teams.clear_app_session(&user, CLIENT_ID).is_err(),
        "expired"
    );
}

#[tokio::test(start_paused = true)]
async fn memory_teams_shown_is_what_our_writes_left_standing() {
    let teams = MemoryTeams::new();
    let user = TeamsUserId::parse(USER).unwrap();
    teams.set_preferred(&user, P::Busy, budget()).await.unwrap();
    assert_eq!(
        teams.shown(&user),
        presence_core::domain::teams::TeamsState::Preferred(P::Busy)
    );
    teams.set_by_hand(&user, P::Available);
    assert_eq!(
        teams.shown(&user),
        presence_core::domain::teams::TeamsState::Cleared,
        "the agent's choice replaced it"
    );
    teams.set_preferred(&user, P::Busy, budget()).await.unwrap();
    tokio::time::advance(DAY).await;
    assert_eq!(
        teams.shown(&user),
        presence_core::domain::teams::TeamsState::Cleared,
        "Busy lasts a day by default"
    );
    teams.set_preferred_expiration(Some(60 * MIN));
    teams.set_preferred(&user, P::Away, budget()).await.unwrap();
    tokio::time::advance(60 * MIN).await;
    assert_eq!(teams.aggregate(&user).pair(), ("Available", "Available"));
}
