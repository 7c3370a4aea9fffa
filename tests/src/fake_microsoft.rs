//! A fake Microsoft cloud for tests: ONE local server that plays both the Microsoft identity
//! platform token endpoint (client credentials grant) and the Microsoft Graph v1.0 presence
//! actions `setUserPreferredPresence`, `clearUserPreferredPresence`, `setPresence` and
//! `clearPresence`, with `getPresencesByUserId` answering the aggregate.
//!
//! * `POST {login_url}/{tenant}/oauth2/v2.0/token` issues bearer tokens that really expire
//!   after the configured lifetime. Each is shaped as an app-only access token: a JWT whose
//!   payload carries `aud`, `iss`, `iat`, `nbf`, `exp`, `appid`, `tid`, `idtyp` and, when
//!   the app holds application permissions, `roles` (see [`decode_token_claims`]); the
//!   signature is random bytes (nothing verifies it: the fake looks tokens up by their exact
//!   string).
//! * `POST {graph_url}/users/{id}/presence/setUserPreferredPresence` and
//!   `.../clearUserPreferredPresence` check the bearer token, the permission switch, the user,
//!   the content type and the body, then store the user's preferred presence.
//! * `POST {graph_url}/users/{id}/presence/setPresence` and `.../clearPresence` keep the
//!   calling app's presence session for the user (`app_sessions`).
//! * `POST {graph_url}/communications/getPresencesByUserId` `{"ids": [...]}` (at most 650)
//!   answers each known user's aggregated presence, by the ONE model of how Graph aggregates
//!   that the in-memory adapter follows too
//!   (`presence_core::adapters::memory::graph_presence`): no session → Offline; else the
//!   preferred presence (ours or the user's own choice in Teams, one slot); else the sessions
//!   by precedence (the user's Teams clients, which a test scripts with `join_meeting`,
//!   `start_call`…, and app sessions). Its clock is the real one plus what `advance_clock`
//!   added, so expiry and fading are tested without sleeping.
//!
//! Every rule below cites the page it comes from. Where the documentation is silent and a
//! choice had to be made, the comment says so ("not documented"). Faults queued on
//! [`FakeMicrosoft::faults`] are applied before any of these checks.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};

use presence_core::adapters::memory::graph_presence::UserPresence;
use presence_core::domain::teams::TeamsPresence;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::fault::{
    Authorization, FakeServer, FaultPlan, Instrumentation, RecordedCall, Recorder, authorization,
    has_media_type, header_str, instant_after, instrument, is_hyphenated_guid, lock,
};

/// Default `expires_in` of issued tokens; the value the client credentials page shows.
pub const DEFAULT_TOKEN_LIFETIME_SECS: u64 = 3599;

/// The application permission that presence writes need (presence:
/// setUserPreferredPresence, Permissions), granted by default.
pub const PRESENCE_READ_WRITE_ALL: &str = "Presence.ReadWrite.All";
/// The least privileged application permission of `getPresencesByUserId`
/// (cloudCommunications: getPresencesByUserId, Permissions).
pub const PRESENCE_READ_ALL: &str = "Presence.Read.All";

/// The endpoints of [`FakeMicrosoft`], for faults and recorded calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MsEndpoint {
    /// `POST /{tenant}/oauth2/v2.0/token`
    Token,
    /// Any `/v1.0/users/{id}/presence/...` request.
    Presence,
    /// `POST /v1.0/communications/getPresencesByUserId`
    GetPresences,
    /// Anything else (answered 404).
    Other,
}

/// A token the fake issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub access_token: String,
    pub tenant_id: String,
    pub client_id: String,
    pub issued_at: Instant,
    pub expires_at: Instant,
    /// The token's `roles` claim (`None`: the token has none, as without admin consent).
    pub roles: Option<Vec<String>>,
}

/// One successful change of a user's preferred presence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PresenceChange {
    Set {
        at: Instant,
        availability: String,
        activity: String,
        /// `expirationDuration` exactly as sent, if it was sent.
        expiration: Option<String>,
    },
    Cleared {
        at: Instant,
    },
}

impl PresenceChange {
    /// When the change was applied.
    pub fn at(&self) -> Instant {
        match self {
            PresenceChange::Set { at, .. } | PresenceChange::Cleared { at } => *at,
        }
    }
}

#[derive(Debug, Clone)]
struct App {
    tenant_id: String,
    client_id: String,
    client_secret: String,
    /// The object id of the app's service principal in the tenant (`oid` and `sub`).
    service_principal_id: String,
}

mod app_sessions;
mod scripting;

pub use presence_core::adapters::memory::graph_presence::{
    ClientEvent, PreferredBy, SessionState, TeamsClient,
};

#[derive(Debug)]
struct MsState {
    /// `http://127.0.0.1:PORT/.default`
    expected_scope: String,
    app: Option<App>,
    token_lifetime: u64,
    tokens: Vec<IssuedToken>,
    users: HashSet<String>,
    /// Each user's presence as Graph aggregates it (created on first use: signed in to Teams
    /// on the desktop, Available), by normalised id.
    presence: HashMap<String, UserPresence<Instant>>,
    /// The `expirationDuration` text of the last successful `setUserPreferredPresence`.
    sent_expiration: HashMap<String, Option<String>>,
    history: HashMap<String, Vec<PresenceChange>>,
    /// An answer outside Graph's contract a read gives for the user until the next preferred
    /// presence write (see `set_teams_presence_by_hand`): `(availability, activity)`.
    out_of_contract: HashMap<String, (String, String)>,
    /// What `advance_clock` added to the real clock for presence expiry and fading.
    clock_offset: Duration,
    deny_permission: bool,
    /// The application permissions granted with admin consent: the `roles` claim of tokens
    /// issued while `deny_permission` is off (none: no `roles` claim).
    granted_roles: Vec<String>,
    /// Every client secret ever registered (for the log scan).
    registered_secrets: Vec<String>,
}

type Shared = Arc<Mutex<MsState>>;

/// The fake Microsoft identity platform + Graph presence server. Dropping it stops it.
pub struct FakeMicrosoft {
    server: FakeServer,
    state: Shared,
    faults: FaultPlan<MsEndpoint>,
    recorder: Recorder<MsEndpoint>,
    /// One-way network delay applied to every request (nanoseconds), see `set_latency`.
    latency: Arc<AtomicU64>,
    /// Endpoints answered with a bare 404, see `answer_bare_404`.
    bare_404: Bare404,
}

/// The endpoint kinds answered with a bare `404` (no body), as a host that is not this
/// service answers a wrong base URL.
type Bare404 = Arc<Mutex<HashSet<MsEndpoint>>>;

impl FakeMicrosoft {
    /// Start on `127.0.0.1:<ephemeral port>` with no app, no users and no faults.
    pub async fn start() -> FakeMicrosoft {
        let faults = FaultPlan::new();
        let recorder = Recorder::new();
        let state: Shared = Arc::new(Mutex::new(MsState {
            expected_scope: String::new(),
            app: None,
            token_lifetime: DEFAULT_TOKEN_LIFETIME_SECS,
            tokens: Vec::new(),
            users: HashSet::new(),
            presence: HashMap::new(),
            sent_expiration: HashMap::new(),
            history: HashMap::new(),
            out_of_contract: HashMap::new(),
            clock_offset: Duration::ZERO,
            deny_permission: false,
            granted_roles: vec![PRESENCE_READ_WRITE_ALL.to_owned()],
            registered_secrets: Vec::new(),
        }));
        let inst = Instrumentation {
            plan: faults.clone(),
            recorder: recorder.clone(),
            classify,
            default_body: default_fault_body,
        };
        let latency = Arc::new(AtomicU64::new(0));
        let router_latency = Arc::clone(&latency);
        let bare_404: Bare404 = Arc::default();
        let router_bare_404 = Arc::clone(&bare_404);
        let router_state = Arc::clone(&state);
        let server = FakeServer::start(move |base_url| {
            // The scope is the resource identifier (the origin of graph_url) affixed with
            // ".default" (Microsoft identity platform and the OAuth 2.0 client credentials
            // flow, "scope" parameter).
            lock(&router_state).expected_scope = format!("{base_url}/.default");
            let router = Router::new()
                .route("/{tenant}/oauth2/v2.0/token", post(token))
                .route(
                    "/v1.0/users/{id}/presence/setUserPreferredPresence",
                    post(set_user_preferred_presence),
                )
                .route(
                    "/v1.0/users/{id}/presence/clearUserPreferredPresence",
                    post(clear_user_preferred_presence),
                )
                .route(
                    "/v1.0/users/{id}/presence/setPresence",
                    post(app_sessions::set_presence),
                )
                .route(
                    "/v1.0/users/{id}/presence/clearPresence",
                    post(app_sessions::clear_presence),
                )
                .route(
                    "/v1.0/communications/getPresencesByUserId",
                    post(get_presences_by_user_id),
                )
                .fallback(not_implemented)
                .with_state(router_state)
                .layer(axum::middleware::from_fn_with_state(
                    router_bare_404,
                    answer_bare_404,
                ));
            instrument(router, inst).layer(axum::middleware::from_fn_with_state(
                router_latency,
                crate::fault::one_way_latency,
            ))
        })
        .await
        .expect("bind the fake Microsoft server on 127.0.0.1");
        FakeMicrosoft {
            server,
            state,
            faults,
            recorder,
            latency,
            bare_404,
        }
    }

    /// While on, requests to `endpoint` are answered `404 Not Found` with no body and no
    /// checks, as a host that is not Microsoft's answers when `GRAPH_API_URL` or
    /// `AZURE_LOGIN_URL` points at the wrong place (a proxy, a removed path). Faults still
    /// apply first, and the calls are recorded.
    pub fn answer_bare_404(&self, endpoint: MsEndpoint, on: bool) {
        let mut modes = lock(&self.bare_404);
        if on {
            modes.insert(endpoint);
        } else {
            modes.remove(&endpoint);
        }
    }

    /// Delay every request by `delay` before it is handled (faults and recording included),
    /// as a network between the function and this service would. Default: none.
    pub fn set_latency(&self, delay: Duration) {
        self.latency.store(
            delay.as_nanos().min(u64::MAX as u128) as u64,
            Ordering::Relaxed,
        );
    }

    /// `http://127.0.0.1:PORT`: the function calls `{login_url}/{tenant}/oauth2/v2.0/token`.
    pub fn login_url(&self) -> String {
        self.server.base_url()
    }

    /// `http://127.0.0.1:PORT/v1.0`: the function calls `{graph_url}/users/{id}/presence/...`.
    pub fn graph_url(&self) -> String {
        format!("{}/v1.0", self.server.base_url())
    }

    /// The only scope the token endpoint accepts: `http://127.0.0.1:PORT/.default`.
    pub fn scope(&self) -> String {
        format!("{}/.default", self.server.base_url())
    }

    /// `{login_url}/{tenant_id}/oauth2/v2.0/token`
    pub fn token_url(&self, tenant_id: &str) -> String {
        format!("{}/{tenant_id}/oauth2/v2.0/token", self.server.base_url())
    }

    /// Register THE app (one at a time). Calling again replaces it: with the same ids and a
    /// new secret this is a secret rotation, after which the old secret gets
    /// `invalid_client`. Tokens already issued stay valid until they expire.
    pub fn register_app(&self, tenant_id: &str, client_id: &str, client_secret: &str) {
        let mut state = lock(&self.state);
        state.registered_secrets.push(client_secret.to_owned());
        // A rotation keeps the app's service principal.
        let service_principal_id = state
            .app
            .as_ref()
            .filter(|app| app.client_id.eq_ignore_ascii_case(client_id))
            .map_or_else(
                || uuid::Uuid::new_v4().to_string(),
                |app| app.service_principal_id.clone(),
            );
        state.app = Some(App {
            tenant_id: tenant_id.to_owned(),
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            service_principal_id,
        });
    }

    /// Every client secret registered so far, rotations included.
    pub fn registered_secrets(&self) -> Vec<String> {
        lock(&self.state).registered_secrets.clone()
    }

    /// `expires_in` (and real lifetime) of tokens issued from now on. Default 3599.
    pub fn set_token_lifetime(&self, secs: u64) {
        lock(&self.state).token_lifetime = secs;
    }

    /// Make every token issued so far expired (instead of waiting for it).
    pub fn expire_tokens(&self) {
        let now = Instant::now();
        for token in &mut lock(&self.state).tokens {
            token.expires_at = now;
        }
    }

    /// Add a user (a Microsoft Entra user object id, a GUID). Unknown ids get 404.
    pub fn add_user(&self, teams_id: &str) {
        lock(&self.state)
            .users
            .insert(teams_id.to_ascii_lowercase());
    }

    /// Remove a user; presence calls for it get 404 afterwards.
    pub fn remove_user(&self, teams_id: &str) {
        lock(&self.state)
            .users
            .remove(&teams_id.to_ascii_lowercase());
    }

    /// When on, presence calls answer 403 `Forbidden` (as without `Presence.ReadWrite.All`),
    /// and tokens issued meanwhile carry no `roles` claim (as without admin consent).
    pub fn deny_permission(&self, deny: bool) {
        lock(&self.state).deny_permission = deny;
    }

    /// The application permissions the app holds: the `roles` claim of tokens issued from now
    /// on (an empty list: no `roles` claim, as without admin consent). Default
    /// `["Presence.ReadWrite.All"]`. Graph checks the token's roles: presence writes need
    /// `Presence.ReadWrite.All`, `getPresencesByUserId` `Presence.Read.All` or
    /// `Presence.ReadWrite.All`; without them it answers 403 `Forbidden`.
    pub fn set_granted_roles(&self, roles: &[&str]) {
        lock(&self.state).granted_roles = roles.iter().map(|role| (*role).to_owned()).collect();
    }

    /// Whether the user has a presence session (a signed-in Teams client or an app session).
    /// Default: true (signed in to Teams on the desktop). Off ends every session (Teams and
    /// app); on signs the user back in to Teams if no session is left. Without one the user
    /// shows Offline whatever preferred presence is set: the preferred presence shows only
    /// while at least one presence session exists (presence: setUserPreferredPresence).
    pub fn set_has_session(&self, teams_id: &str, has_session: bool) {
        self.with_presence(teams_id, |presence, now| {
            if !has_session {
                presence.end_every_session();
            } else if !presence.has_session(now) {
                presence.client_event(ClientEvent::SignIn, now);
            }
        });
    }

    /// The user changes their Teams presence by hand. A pair `setUserPreferredPresence`
    /// accepts is the user-configured state, which takes the preferred presence's place (one
    /// slot: "User presence in Teams"; the model's module doc) until the next write of it.
    /// Any other strings are an answer outside Graph's contract, given by reads until the next
    /// preferred presence write: for tests of hostile remote values.
    pub fn set_teams_presence_by_hand(&self, teams_id: &str, availability: &str, activity: &str) {
        match TeamsPresence::from_pair(availability, activity) {
            Some(presence) => self.set_user_configured(teams_id, presence),
            None => {
                lock(&self.state).out_of_contract.insert(
                    teams_id.to_ascii_lowercase(),
                    (availability.to_owned(), activity.to_owned()),
                );
            }
        }
    }

    /// What `getPresencesByUserId` answers for the user now, as `(availability, activity)`.
    pub fn shown_presence(&self, teams_id: &str) -> (String, String) {
        let mut state = lock(&self.state);
        shown(&mut state, &teams_id.to_ascii_lowercase())
    }

    /// The `getPresencesByUserId` calls (any status, faulted or not), in order.
    pub fn get_presences_calls(&self) -> Vec<RecordedCall<MsEndpoint>> {
        self.recorder.calls_of(MsEndpoint::GetPresences)
    }

    /// The fault queues (kinds [`MsEndpoint::Token`] and [`MsEndpoint::Presence`]).
    pub fn faults(&self) -> FaultPlan<MsEndpoint> {
        self.faults.clone()
    }

    /// The call recorder.
    pub fn recorder(&self) -> Recorder<MsEndpoint> {
        self.recorder.clone()
    }

    /// Every call received, in order.
    pub fn calls(&self) -> Vec<RecordedCall<MsEndpoint>> {
        self.recorder.calls()
    }

    /// Every token issued, in order.
    pub fn issued_tokens(&self) -> Vec<IssuedToken> {
        lock(&self.state).tokens.clone()
    }

    /// How many token requests were received (faulted ones included).
    pub fn token_requests(&self) -> usize {
        self.recorder.count(MsEndpoint::Token)
    }

    /// The user's current preferred presence `(availability, activity, expirationDuration)`,
    /// or `None` when never set, cleared, or past its expiration. The slot is shared with the
    /// user's own choice in Teams (see `preferred_by`); `expirationDuration` is as our last
    /// `setUserPreferredPresence` sent it, `None` for the user's choice.
    pub fn preferred_presence(&self, teams_id: &str) -> Option<(String, String, Option<String>)> {
        let user = teams_id.to_ascii_lowercase();
        let mut state = lock(&self.state);
        let now = state.now();
        let preferred = presence_of(&mut state, &user).preferred(now)?;
        let (availability, activity) = (
            preferred.presence.availability().to_owned(),
            preferred.presence.activity().to_owned(),
        );
        let expiration = match preferred.by {
            PreferredBy::App => state.sent_expiration.get(&user).cloned().flatten(),
            PreferredBy::User => None,
        };
        Some((availability, activity, expiration))
    }

    /// Who wrote the preferred presence that stands: an app, or the user in Teams.
    pub fn preferred_by(&self, teams_id: &str) -> Option<PreferredBy> {
        self.with_presence(teams_id, |presence, now| {
            presence.preferred(now).map(|p| p.by)
        })
    }

    /// Every presence call (any status, faulted or not), in order; `call.json()` parses the
    /// body.
    pub fn presence_calls(&self) -> Vec<RecordedCall<MsEndpoint>> {
        self.recorder.calls_of(MsEndpoint::Presence)
    }

    /// The `setUserPreferredPresence` calls for one user (any status), in order.
    pub fn set_calls_for(&self, teams_id: &str) -> Vec<RecordedCall<MsEndpoint>> {
        self.action_calls_for(teams_id, "setUserPreferredPresence")
    }

    /// The `clearUserPreferredPresence` calls for one user (any status), in order.
    pub fn clear_calls_for(&self, teams_id: &str) -> Vec<RecordedCall<MsEndpoint>> {
        self.action_calls_for(teams_id, "clearUserPreferredPresence")
    }

    /// The successful presence changes of one user, in the order they were applied.
    pub fn presence_history(&self, teams_id: &str) -> Vec<PresenceChange> {
        lock(&self.state)
            .history
            .get(&teams_id.to_ascii_lowercase())
            .cloned()
            .unwrap_or_default()
    }

    /// Stop the server and wait for it.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }

    fn action_calls_for(&self, teams_id: &str, action: &str) -> Vec<RecordedCall<MsEndpoint>> {
        let path = format!("/v1.0/users/{teams_id}/presence/{action}");
        self.presence_calls()
            .into_iter()
            .filter(|call| call.path.eq_ignore_ascii_case(&path))
            .collect()
    }
}

/// The middleware behind [`FakeMicrosoft::answer_bare_404`].
async fn answer_bare_404(
    State(modes): State<Bare404>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let kind = classify(request.method(), request.uri().path());
    if lock(&modes).contains(&kind) {
        return StatusCode::NOT_FOUND.into_response();
    }
    next.run(request).await
}

fn classify(_method: &Method, path: &str) -> MsEndpoint {
    if path.ends_with("/oauth2/v2.0/token") {
        MsEndpoint::Token
    } else if path.starts_with("/v1.0/users/") && path.contains("/presence/") {
        MsEndpoint::Presence
    } else if path == "/v1.0/communications/getPresencesByUserId" {
        MsEndpoint::GetPresences
    } else {
        MsEndpoint::Other
    }
}

// ---------------------------------------------------------------------------------------
// Microsoft identity platform token endpoint
// ---------------------------------------------------------------------------------------

/// An error from the token endpoint, in the shape of "Microsoft identity platform and the
/// OAuth 2.0 client credentials flow" (Error response) and "Microsoft Entra authentication and
/// authorization error codes": `error`, `error_description` starting with `AADSTS<code>:` and
/// ending with trace id, correlation id and timestamp lines, `error_codes`, `timestamp`,
/// `trace_id`, `correlation_id`, `error_uri`.
fn aad_error_body(error: &str, code: u32, description: &str) -> String {
    let now = OffsetDateTime::now_utc();
    // "2016-01-09 02:02:12Z" as in the documented sample.
    let timestamp = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let trace_id = uuid::Uuid::new_v4().to_string();
    let correlation_id = uuid::Uuid::new_v4().to_string();
    json!({
        "error": error,
        "error_description": format!(
            "AADSTS{code}: {description}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}"
        ),
        "error_codes": [code],
        "timestamp": timestamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    })
    .to_string()
}

fn aad_error(status: StatusCode, error: &str, code: u32, description: &str) -> Response {
    let mut response = (status, aad_error_body(error, code, description)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    response
}

fn missing_parameter(name: &str) -> Response {
    // AADSTS900144 "The request body must contain the following parameter: '{name}'."
    // (Microsoft Entra authentication and authorization error codes); `invalid_request` is
    // "Protocol error, such as a missing required parameter" (same page).
    aad_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        900144,
        &format!("The request body must contain the following parameter: '{name}'."),
    )
}

fn malformed_request() -> Response {
    // AADSTS9002313 "InvalidRequest - Request is malformed or invalid." (Microsoft Entra
    // authentication and authorization error codes).
    aad_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        9002313,
        "Invalid request. Request is malformed or invalid.",
    )
}

/// Decode an `application/x-www-form-urlencoded` component (RFC 6749 §2.3.1 requires the
/// client id and secret in HTTP Basic to be form-encoded first).
fn form_decode(component: &str) -> String {
    serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={component}"))
        .ok()
        .and_then(|mut pairs| pairs.pop())
        .map_or_else(|| component.to_owned(), |(_, value)| value)
}

async fn token(
    State(state): State<Shared>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut state = lock(&state);

    // The tenant in the path must exist: AADSTS90002 "InvalidTenantName - The tenant name
    // wasn't found in the data store." (Microsoft Entra authentication and authorization
    // error codes). `invalid_request` 400 as for the other protocol errors.
    let Some(app) = state.app.clone() else {
        return unknown_tenant(&tenant);
    };
    if !tenant.eq_ignore_ascii_case(&app.tenant_id) {
        return unknown_tenant(&tenant);
    }

    // "Content-Type: application/x-www-form-urlencoded" (Microsoft identity platform and the
    // OAuth 2.0 client credentials flow, "First case: Access token request with a shared
    // secret"). Another body cannot be read as the
    // form, so the first required parameter is reported missing.
    if !has_media_type(&headers, "application/x-www-form-urlencoded") {
        return missing_parameter("grant_type");
    }
    let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return malformed_request();
    };
    // "Request and response parameters MUST NOT be included more than once" (RFC 6749 §3.2).
    let mut form: HashMap<String, String> = HashMap::new();
    for (name, value) in pairs {
        if form.insert(name, value).is_some() {
            return malformed_request();
        }
    }

    // grant_type: "Must be set to client_credentials" (Microsoft identity platform and the OAuth
    // 2.0 client credentials flow); another value is `unsupported_grant_type` (Microsoft Entra
    // authentication and authorization error codes, "The authorization server doesn't support the
    // authorization grant type"), AADSTS70003 UnsupportedGrantType.
    match form.get("grant_type").map(String::as_str) {
        None | Some("") => return missing_parameter("grant_type"),
        Some("client_credentials") => {}
        Some(other) => {
            return aad_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                70003,
                &format!("The app requested an unsupported grant type '{other}'."),
            );
        }
    }

    // Client credentials: form `client_id` + `client_secret`, or "The Basic auth pattern of
    // instead providing credentials in the Authorization header, per RFC 6749 is also
    // supported" (Microsoft identity platform and the OAuth 2.0 client credentials flow,
    // `client_secret` row). Using both is "more than one
    // mechanism for authenticating the client" (RFC 6749 §2.3, §5.2 invalid_request).
    let basic = match authorization(&headers) {
        Authorization::Basic { user, password } => {
            Some((form_decode(&user), form_decode(&password)))
        }
        _ => None,
    };
    let (client_id, client_secret) = match (&basic, form.get("client_secret")) {
        (Some(_), Some(_)) => return malformed_request(),
        (Some((user, password)), None) => {
            if form.get("client_id").is_some_and(|id| id != user) {
                return malformed_request();
            }
            (Some(user.clone()), Some(password.clone()))
        }
        (None, secret) => (form.get("client_id").cloned(), secret.cloned()),
    };
    let Some(client_id) = client_id.filter(|id| !id.is_empty()) else {
        return missing_parameter("client_id");
    };
    // An unknown application: AADSTS700016 "UnauthorizedClient_DoesNotMatchRequest - The
    // application wasn't found in the directory/tenant." (Microsoft Entra authentication and
    // authorization error codes); `unauthorized_client` "usually occurs when the client application
    // isn't registered in Microsoft Entra ID or isn't added to the user's Microsoft Entra tenant"
    // (same page).
    if !client_id.eq_ignore_ascii_case(&app.client_id) {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
            ),
        );
    }
    // A missing or wrong secret is `invalid_client` ("Client authentication failed", error
    // codes page): AADSTS7000218 "The request body must contain the following parameter:
    // 'client_assertion' or 'client_secret'." and AADSTS7000215 "Invalid client secret is
    // provided." Status 401 (RFC 6749 §5.2 allows 401 for invalid_client and requires it when
    // the client authenticated through the Authorization header).
    let Some(client_secret) = client_secret.filter(|secret| !secret.is_empty()) else {
        return aad_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        );
    };
    if client_secret != app.client_secret {
        return aad_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            &format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.",
                app.client_id
            ),
        );
    }
    // scope: "the resource identifier (application ID URI) of the resource you want, affixed
    // with the .default suffix" (Microsoft identity platform and the OAuth 2.0 client
    // credentials flow). Anything else is `invalid_scope`
    // AADSTS70011, exactly the documented error-response example of that page.
    let scope = match form.get("scope") {
        None => return missing_parameter("scope"),
        Some(scope) => scope.clone(),
    };
    if scope != state.expected_scope {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
            &format!(
                "The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid."
            ),
        );
    }

    // Success: {"token_type":"Bearer","expires_in":3599,"access_token":...} (Microsoft identity
    // platform and the OAuth 2.0 client credentials flow, Successful response); `ext_expires_in` is
    // also sent by the service. Token responses carry "Cache-Control: no-store" (RFC 6749 §5.1).
    let lifetime = state.token_lifetime;
    let now = Instant::now();
    // Without admin consent the app holds no application permission and the token carries no
    // `roles` claim ("Claims are present only if a value exists to fill it", Access token
    // claims reference).
    let roles = (!state.deny_permission && !state.granted_roles.is_empty())
        .then(|| state.granted_roles.clone());
    let resource = state
        .expected_scope
        .strip_suffix("/.default")
        .unwrap_or(&state.expected_scope)
        .to_owned();
    let access_token = app_only_jwt(&app, &resource, lifetime, roles.as_deref());
    state.tokens.push(IssuedToken {
        access_token: access_token.clone(),
        tenant_id: app.tenant_id.clone(),
        client_id: app.client_id.clone(),
        issued_at: now,
        expires_at: instant_after(now, Duration::from_secs(lifetime)),
        roles,
    });
    let body = json!({
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": access_token,
    });
    let mut response = (StatusCode::OK, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// An app-only access token as the Microsoft identity platform issues it for the client
/// credentials grant: a JWT (header, payload and signature, each base64url-encoded and joined
/// by `.`), v1.0 claims as Microsoft Graph receives them ("Access token claims reference":
/// `aud` the resource, `iss` and `idp` `https://sts.windows.net/{tid}/`, `iat`/`nbf`/`exp` in
/// seconds since the epoch, `appid` the client id, `appidacr` `1` for a client secret,
/// `idtyp` `app`, `oid`/`sub` the service principal, `roles` the application permissions
/// granted, `tid`, `uti`, `ver`). The signature is random: nothing here verifies it.
fn app_only_jwt(app: &App, resource: &str, lifetime: u64, roles: Option<&[String]>) -> String {
    use base64::Engine as _;
    let encode = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let issuer = format!("https://sts.windows.net/{}/", app.tenant_id);
    let mut payload = json!({
        "aud": resource,
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": now.saturating_add(i64::try_from(lifetime).unwrap_or(i64::MAX)),
        "appid": app.client_id,
        "appidacr": "1",
        "idp": issuer,
        "idtyp": "app",
        "oid": app.service_principal_id,
        "sub": app.service_principal_id,
        "tid": app.tenant_id,
        "uti": uuid::Uuid::new_v4().simple().to_string(),
        "ver": "1.0",
    });
    if let Some(roles) = roles {
        payload["roles"] = json!(roles);
    }
    let header = json!({"typ": "JWT", "alg": "RS256"});
    // An RS256 signature with a 2048-bit key is 256 bytes.
    let signature: Vec<u8> = (0..16)
        .flat_map(|_| *uuid::Uuid::new_v4().as_bytes())
        .collect();
    format!(
        "{}.{}.{}",
        encode(header.to_string().as_bytes()),
        encode(payload.to_string().as_bytes()),
        encode(&signature)
    )
}

/// The payload of a JWT-shaped access token (the second `.`-separated part, base64url
/// without padding) as JSON, or `None` when `token` is not shaped so.
pub fn decode_token_claims(token: &str) -> Option<Value> {
    use base64::Engine as _;
    let mut parts = token.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn unknown_tenant(tenant: &str) -> Response {
    aad_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        90002,
        &format!(
            "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
        ),
    )
}

// ---------------------------------------------------------------------------------------
// Microsoft Graph presence
// ---------------------------------------------------------------------------------------

/// A Graph error in the shape of "Microsoft Graph error responses and resource types":
/// `{"error":{"code","message","innerError":{"request-id","date"}}}` (the examples there use
/// `innerError`), plus `client-request-id` echoed when the request carried one.
fn graph_error_body(
    code: &str,
    message: &str,
    client_request_id: Option<&str>,
) -> (String, String) {
    let request_id = uuid::Uuid::new_v4().to_string();
    let date = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|now| now.format(&Rfc3339).ok())
        .unwrap_or_default();
    let client_request_id = client_request_id.unwrap_or(&request_id).to_owned();
    let body = json!({
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": date,
                "request-id": request_id,
                "client-request-id": client_request_id,
            }
        }
    });
    (request_id, body.to_string())
}

fn graph_error(status: StatusCode, code: &str, message: &str, headers: &HeaderMap) -> Response {
    let client_request_id = header_str(headers, "client-request-id");
    let (request_id, body) = graph_error_body(code, message, client_request_id);
    let mut response = (status, body).into_response();
    let out = response.headers_mut();
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        out.insert("request-id", value.clone());
        let echoed = client_request_id
            .and_then(|id| HeaderValue::from_str(id).ok())
            .unwrap_or(value);
        out.insert("client-request-id", echoed);
    }
    response
}

/// Default bodies for status faults without a body: the token endpoint answers in the Entra
/// error shape, Graph in the Graph error shape (the 429 one is the example of "Microsoft Graph
/// throttling guidance").
fn default_fault_body(
    kind: MsEndpoint,
    status: u16,
    _retry_after: Option<u64>,
) -> (&'static str, String) {
    match kind {
        MsEndpoint::Token => {
            // `temporarily_unavailable`: "The server is temporarily too busy to handle the
            // request." AADSTS50000 TokenIssuanceError (Microsoft Entra authentication and
            // authorization error codes).
            let (error, code, description) = if status == 429 || status >= 500 {
                (
                    "temporarily_unavailable",
                    50000,
                    "There was an error issuing a token or an issue with our sign-in service.",
                )
            } else {
                (
                    "invalid_request",
                    9002313,
                    "Invalid request. Request is malformed or invalid.",
                )
            };
            (
                "application/json; charset=utf-8",
                aad_error_body(error, code, description),
            )
        }
        MsEndpoint::Presence | MsEndpoint::GetPresences | MsEndpoint::Other => {
            if status == 429 {
                let body = json!({
                    "error": {
                        "code": "TooManyRequests",
                        "innerError": {
                            "code": "429",
                            "date": OffsetDateTime::now_utc().replace_nanosecond(0).ok()
                                .and_then(|now| now.format(&Rfc3339).ok()).unwrap_or_default(),
                            "message": "Please retry after",
                            "request-id": uuid::Uuid::new_v4().to_string(),
                            "status": "429"
                        },
                        "message": "Please retry again later."
                    }
                });
                return ("application/json", body.to_string());
            }
            // Basic codes of "Microsoft Graph error responses and resource types".
            let (code, message) = match status {
                400 => ("invalidRequest", "The request is malformed or incorrect."),
                401 => (
                    "InvalidAuthenticationToken",
                    "Access token validation failure.",
                ),
                403 => ("Forbidden", ""),
                404 => ("itemNotFound", "The resource could not be found."),
                503 => (
                    "serviceNotAvailable",
                    "The service is not available. Try the request again after a delay.",
                ),
                _ => ("generalException", "An unspecified error has occurred."),
            };
            ("application/json", graph_error_body(code, message, None).1)
        }
    }
}

/// Who called, for a presence action on a user.
struct Caller {
    /// The user's normalised id.
    user: String,
    /// The calling app's client id (the token's `appid`).
    app_id: String,
}

/// Checks shared by the presence actions, in the order a request meets them.
fn check_presence_request(
    state: &MsState,
    id: &str,
    headers: &HeaderMap,
) -> Result<Caller, Box<Response>> {
    let app_id = check_caller(state, headers, &[PRESENCE_READ_WRITE_ALL])?;
    // `{id}` is the user's object id. Not documented: a value that is not a GUID is answered
    // 400 `invalidRequest` ("The request is malformed or incorrect", Microsoft Graph
    // error responses and resource types).
    if !is_hyphenated_guid(id) {
        return reject(graph_error(
            StatusCode::BAD_REQUEST,
            "invalidRequest",
            &format!("Invalid user id '{id}': expected the user's object id (a GUID)."),
            headers,
        ));
    }
    // 404 "The requested resource doesn't exist" (Microsoft Graph error responses and resource
    // types); `itemNotFound` is the basic code "The resource could not be found" of the same page.
    let user = id.to_ascii_lowercase();
    if !state.users.contains(&user) {
        return reject(graph_error(
            StatusCode::NOT_FOUND,
            "itemNotFound",
            &format!("User '{id}' was not found."),
            headers,
        ));
    }
    Ok(Caller { user, app_id })
}

/// The checks of every presence call before its own: the bearer token, the permission
/// switch and the token's roles (one of `accepted`), and the JSON content type, in the order
/// a request meets them. Returns the calling app's client id.
fn check_caller(
    state: &MsState,
    headers: &HeaderMap,
    accepted: &[&str],
) -> Result<String, Box<Response>> {
    // "Authorization: Bearer {token}. Required." (presence: setUserPreferredPresence /
    // clearUserPreferredPresence, Request headers). 401 "Required authentication information is
    // either missing or not valid" (Microsoft Graph error responses and resource types). Code and
    // messages as Graph sends them: `InvalidAuthenticationToken`, "Access token is empty." /
    // "Access token has expired or is not yet valid." (not on a reference page: as observed in
    // public reports, e.g. microsoftgraph/python-sample-auth#10, microsofthackathons/tdi#24, which
    // also show the WWW-Authenticate header).
    let token = match authorization(headers) {
        Authorization::Bearer(token) => token,
        Authorization::Absent => return reject(unauthenticated("Access token is empty.", headers)),
        _ => return reject(unauthenticated("Access token validation failure.", headers)),
    };
    let app_id = match state
        .tokens
        .iter()
        .find(|issued| issued.access_token == token)
    {
        None => {
            return reject(unauthenticated(
                "Access token validation failure. Invalid audience.",
                headers,
            ));
        }
        Some(issued) if issued.expires_at <= Instant::now() => {
            return reject(unauthenticated(
                "Access token has expired or is not yet valid.",
                headers,
            ));
        }
        Some(issued) => {
            // The application permissions of an app-only token are its `roles` (Access token
            // claims reference); a token without an accepted one is refused like the
            // permission switch below (same 403).
            let holds = issued
                .roles
                .iter()
                .flatten()
                .any(|role| accepted.contains(&role.as_str()));
            if !holds {
                return reject(graph_error(StatusCode::FORBIDDEN, "Forbidden", "", headers));
            }
            issued.client_id.clone()
        }
    };
    // Without the application permission Presence.ReadWrite.All (presence: setUserPreferredPresence
    // and presence: clearUserPreferredPresence, Permissions) Graph answers 403 "Access is denied to
    // the requested resource. The user might not have enough permission or might not have a
    // required license." (Microsoft Graph error responses and resource types). Code `Forbidden`
    // with an empty message, as observed (osodevops/ms-teams-cli#70).
    if state.deny_permission {
        return reject(graph_error(StatusCode::FORBIDDEN, "Forbidden", "", headers));
    }
    // "Content-Type: application/json. Required." (presence: setUserPreferredPresence and presence:
    // clearUserPreferredPresence, Request headers). 415 "The content type
    // of the request is a format that is not supported by the service" (Microsoft Graph
    // error responses and resource types); the code string is not documented.
    if !has_media_type(headers, "application/json") {
        return reject(graph_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            "A supported MIME type could not be found that matches the content type of the request. Content-Type must be application/json.",
            headers,
        ));
    }
    Ok(app_id)
}

/// The error side of the checks (boxed: a `Response` is large).
fn reject<T>(response: Response) -> Result<T, Box<Response>> {
    Err(Box::new(response))
}

fn unauthenticated(message: &str, headers: &HeaderMap) -> Response {
    let mut response = graph_error(
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
        message,
        headers,
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(
            "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"",
        ),
    );
    response
}

fn bad_body(message: &str, headers: &HeaderMap) -> Response {
    graph_error(StatusCode::BAD_REQUEST, "invalidRequest", message, headers)
}

/// The supported combinations of availability and activity for preferred presence (presence:
/// setUserPreferredPresence, table under Request body).
const PREFERRED_PAIRS: [(&str, &str); 6] = [
    ("Available", "Available"),
    ("Busy", "Busy"),
    ("DoNotDisturb", "DoNotDisturb"),
    ("BeRightBack", "BeRightBack"),
    ("Away", "Away"),
    ("Offline", "OffWork"),
];

async fn set_user_preferred_presence(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    const ACTION: &str = "setUserPreferredPresence";
    let mut state = lock(&state);
    let user = match check_presence_request(&state, &id, &headers) {
        Ok(caller) => caller.user,
        Err(response) => return *response,
    };
    let Some(object) = parse_json_object(&body) else {
        return bad_body(
            "Empty Payload or invalid JSON. A JSON object is expected.",
            &headers,
        );
    };
    // The request body has exactly the parameters activity, availability, expirationDuration
    // (presence: setUserPreferredPresence, Request body); other names are rejected (strictness
    // choice: the page lists no others).
    if let Some(unknown) = object
        .keys()
        .find(|name| !["availability", "activity", "expirationDuration"].contains(&name.as_str()))
    {
        return bad_body(
            &format!(
                "The parameter '{unknown}' in the request payload is not a valid parameter for the operation '{ACTION}'."
            ),
            &headers,
        );
    }
    let availability = match object.get("availability") {
        Some(Value::String(value)) => value.clone(),
        _ => {
            return bad_body(
                "The parameter 'availability' is required and must be a string.",
                &headers,
            );
        }
    };
    let activity = match object.get("activity") {
        Some(Value::String(value)) => value.clone(),
        _ => {
            return bad_body(
                "The parameter 'activity' is required and must be a string.",
                &headers,
            );
        }
    };
    if !PREFERRED_PAIRS.contains(&(availability.as_str(), activity.as_str())) {
        return bad_body(
            &format!(
                "The combination of availability '{availability}' and activity '{activity}' is not supported."
            ),
            &headers,
        );
    }
    // expirationDuration: type Duration, "represented in ISO 8601 format for durations";
    // when absent "DoNotDisturb or Busy: Expiration in 1 day; All others: Expiration in 7
    // days" (presence: setUserPreferredPresence, Request body): the model's default.
    let expiration = match expiration_duration(&object, &headers) {
        Ok(expiration) => expiration,
        Err(response) => return *response,
    };
    // PREFERRED_PAIRS states the accepted pairs independently of the domain's type; should
    // they ever disagree, the fake says so instead of guessing.
    let Some(presence) = TeamsPresence::from_pair(&availability, &activity) else {
        return graph_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "generalException",
            "The fake's presence model has no such preferred presence.",
            &headers,
        );
    };
    let now = Instant::now();
    let graph_now = state.now();
    state.out_of_contract.remove(&user);
    let (expiration, lifetime) = expiration.unzip();
    state
        .sent_expiration
        .insert(user.clone(), expiration.clone());
    presence_of(&mut state, &user).set_preferred(presence, PreferredBy::App, lifetime, graph_now);
    state
        .history
        .entry(user)
        .or_default()
        .push(PresenceChange::Set {
            at: now,
            availability,
            activity,
            expiration,
        });
    // "If successful, this method returns a 200 OK response code." (no body).
    StatusCode::OK.into_response()
}

/// The `expirationDuration` parameter of setUserPreferredPresence and setPresence: absent or
/// `null` (`None`), else an ISO 8601 duration as text and as a span; anything else is 400.
fn expiration_duration(
    object: &serde_json::Map<String, Value>,
    headers: &HeaderMap,
) -> Result<Option<(String, Duration)>, Box<Response>> {
    match object.get("expirationDuration") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => match parse_edm_duration(text) {
            Some(duration) => Ok(Some((text.clone(), duration))),
            None => reject(bad_body(
                &format!(
                    "The value '{text}' of 'expirationDuration' is not a valid ISO 8601 duration."
                ),
                headers,
            )),
        },
        Some(_) => reject(bad_body(
            "The parameter 'expirationDuration' must be a string.",
            headers,
        )),
    }
}

async fn clear_user_preferred_presence(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut state = lock(&state);
    let user = match check_presence_request(&state, &id, &headers) {
        Ok(caller) => caller.user,
        Err(response) => return *response,
    };
    // "In the request body, supply an empty JSON object {} for this method." (presence:
    // clearUserPreferredPresence, Request body).
    match parse_json_object(&body) {
        Some(object) if object.is_empty() => {}
        _ => {
            return bad_body(
                "The request body of clearUserPreferredPresence must be an empty JSON object {}.",
                &headers,
            );
        }
    }
    // Clearing when nothing is set also answers 200 (observed: osodevops/ms-teams-cli#92).
    // The user's own choice goes with it: one slot (the model's module doc).
    let now = Instant::now();
    state.out_of_contract.remove(&user);
    state.sent_expiration.remove(&user);
    presence_of(&mut state, &user).clear_preferred();
    state
        .history
        .entry(user)
        .or_default()
        .push(PresenceChange::Cleared { at: now });
    // "If successful, this method returns a 200 OK response code."
    StatusCode::OK.into_response()
}

/// "Maximum of 650 user IDs are supported per API request." (cloudCommunications:
/// getPresencesByUserId, Note).
pub const MAX_PRESENCE_IDS: usize = 650;

impl MsState {
    /// The fake's presence clock: the real one moved on by `advance_clock`.
    fn now(&self) -> Instant {
        instant_after(Instant::now(), self.clock_offset)
    }
}

/// The user's presence (normalised id), created on first use signed in and Available.
fn presence_of<'a>(state: &'a mut MsState, user: &str) -> &'a mut UserPresence<Instant> {
    let now = state.now();
    state
        .presence
        .entry(user.to_owned())
        .or_insert_with(|| UserPresence::signed_in(now))
}

/// The availability and activity a read shows for a user (normalised id): Graph's aggregate
/// by the model, unless an out-of-contract answer was scripted.
fn shown(state: &mut MsState, user: &str) -> (String, String) {
    if let Some((availability, activity)) = state.out_of_contract.get(user) {
        return (availability.clone(), activity.clone());
    }
    let now = state.now();
    let (availability, activity) = presence_of(state, user).shown(now).pair();
    (availability.to_owned(), activity.to_owned())
}

async fn get_presences_by_user_id(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut state = lock(&state);
    if let Err(response) = check_caller(
        &state,
        &headers,
        &[PRESENCE_READ_ALL, PRESENCE_READ_WRITE_ALL],
    ) {
        return *response;
    }
    // The request body is a JSON object with the parameter `ids`, "String collection: The
    // user object IDs." (cloudCommunications: getPresencesByUserId, Request body). Other
    // parameters, and an empty list, are rejected (strictness choice: not documented).
    let Some(object) = parse_json_object(&body) else {
        return bad_body(
            "Empty Payload or invalid JSON. A JSON object is expected.",
            &headers,
        );
    };
    if let Some(unknown) = object.keys().find(|name| name.as_str() != "ids") {
        return bad_body(
            &format!(
                "The parameter '{unknown}' in the request payload is not a valid parameter for the operation 'getPresencesByUserId'."
            ),
            &headers,
        );
    }
    let Some(ids) = object.get("ids").and_then(Value::as_array) else {
        return bad_body(
            "The parameter 'ids' is required and must be a collection of strings.",
            &headers,
        );
    };
    if ids.is_empty() {
        return bad_body("The collection 'ids' must not be empty.", &headers);
    }
    // At most 650 ids (Note on the same page); the status and code beyond it are not
    // documented: 400 `invalidRequest`.
    if ids.len() > MAX_PRESENCE_IDS {
        return bad_body(
            &format!(
                "Too many ids: {} were given, at most {MAX_PRESENCE_IDS} are supported per request.",
                ids.len()
            ),
            &headers,
        );
    }
    let mut value = Vec::with_capacity(ids.len());
    for id in ids {
        // Each id is a user object id (a GUID). Not documented: a malformed one is answered
        // 400 `invalidRequest` for the whole request.
        let Some(id) = id.as_str().filter(|id| is_hyphenated_guid(id)) else {
            return bad_body(
                &format!("Invalid user id {id}: expected a user object id (a GUID)."),
                &headers,
            );
        };
        let user = id.to_ascii_lowercase();
        // Not documented: the answer for an id that is no user of the tenant; this fake
        // leaves it out.
        if !state.users.contains(&user) {
            continue;
        }
        let (availability, activity) = shown(&mut state, &user);
        value.push(json!({
            "id": id,
            "availability": availability,
            "activity": activity,
            "statusMessage": null,
        }));
    }
    // "If successful, this method returns a 200 OK response code and a collection of presence
    // objects in the response body." (same page), as an OData collection under `value`.
    let body = json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(microsoft.graph.presence)",
        "value": value,
    });
    let mut response = (StatusCode::OK, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

async fn not_implemented(method: Method, headers: HeaderMap, uri: axum::http::Uri) -> Response {
    graph_error(
        StatusCode::NOT_FOUND,
        "itemNotFound",
        &format!(
            "The fake Microsoft server does not implement {method} {}.",
            uri.path()
        ),
        &headers,
    )
}

fn parse_json_object(body: &[u8]) -> Option<serde_json::Map<String, Value>> {
    match serde_json::from_slice::<Value>(body).ok()? {
        Value::Object(object) => Some(object),
        _ => None,
    }
}

/// Parse a Graph `Duration` (OData `Edm.Duration`, the ISO 8601 day-time duration form:
/// `P[nD][T[nH][nM][n[.n]S]]`, OData ABNF `durationValue`) into a positive duration.
/// Year, month and week designators are not part of `Edm.Duration`; a sign is rejected since
/// a negative expiration is meaningless.
pub fn parse_edm_duration(text: &str) -> Option<Duration> {
    let rest = text.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((date, time)) => (date, Some(time)),
        None => (rest, None),
    };
    let mut total = 0f64;
    let mut components = 0;
    if !date.is_empty() {
        let days = date.strip_suffix('D')?;
        total += parse_digits(days)? * 86_400.0;
        components += 1;
    }
    if let Some(mut time) = time {
        if time.is_empty() {
            return None;
        }
        for (designator, seconds) in [('H', 3_600.0), ('M', 60.0), ('S', 1.0)] {
            if let Some(end) = time.find(designator) {
                let number = &time[..end];
                let value = if designator == 'S' {
                    parse_decimal(number)?
                } else {
                    parse_digits(number)?
                };
                total += value * seconds;
                components += 1;
                time = &time[end + 1..];
            }
        }
        if !time.is_empty() {
            return None;
        }
    }
    if components == 0 {
        return None;
    }
    Duration::try_from_secs_f64(total).ok()
}

fn parse_digits(text: &str) -> Option<f64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn parse_decimal(text: &str) -> Option<f64> {
    match text.split_once('.') {
        Some((whole, fraction)) => {
            parse_digits(whole)?;
            parse_digits(fraction)?;
            text.parse().ok()
        }
        None => parse_digits(text),
    }
}
