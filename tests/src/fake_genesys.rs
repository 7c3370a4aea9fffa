//! A fake Genesys Cloud for tests: ONE local server that plays both the Genesys Cloud login
//! service (OAuth client credentials grant) and the Platform API's SCIM user lookup that the
//! presence sync uses to find a user's Microsoft Teams id.
//!
//! * `POST {login_url}/oauth/token` (HTTP Basic client credentials, form
//!   `grant_type=client_credentials`) issues opaque bearer tokens that really expire.
//! * `GET {api_url}/api/v2/scim/v2/users/{userId}` (and the unversioned
//!   `/api/v2/scim/users/{userId}`) returns the SCIM user, honouring `attributes` and
//!   `excludedAttributes`; the Teams id lives in the extension
//!   `urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User` → `externalIds`
//!   entry with `authority` `microsoftteams`.
//! * `GET {api_url}/api/v2/scim/v2/users` (and `/api/v2/scim/users`) lists the active users,
//!   paged by `startIndex` and `count` (a SCIM ListResponse); with
//!   `filter=userName eq "someone@example.com"` only the user with that e-mail.
//! * `GET {api_url}/api/v2/users` lists users (`id` repeatable, `expand`, `pageSize`,
//!   `pageNumber`) with their presence and routing status when expanded.
//! * `PATCH {api_url}/api/v2/users/{userId}/presences/purecloud` sets a user's Genesys Cloud
//!   presence (definition, message, primary), which the Users API then serves; each change is
//!   recorded ([`FakeGenesys::presence_writes`]) with the `v2.users.{id}.presence` event it
//!   produces ([`PresenceWrite::event`]). `GET {api_url}/api/v2/presence/definitions` lists
//!   the organization's presence definitions (`presence`).
//! * For the deployment (`presencectl deploy`), a second kind of client, an admin client
//!   such as Terraform's ([`FakeGenesys::register_admin_client`]):
//!   `GET /api/v2/oauth/clients/{id}` answers its `roleDivisions`, and
//!   `POST`/`DELETE /api/v2/authorization/subjects/{id}/divisions/{division}/roles/{role}?subjectType=PC_OAUTH_CLIENT`
//!   grant and take back a role.
//!
//! Every rule cites where it comes from; where public material is silent the comment says so
//! ("not documented"). Faults queued on [`FakeGenesys::faults`] apply before any check.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::fault::{
    Authorization, FakeServer, FaultPlan, Instrumentation, RecordedCall, Recorder, authorization,
    has_media_type, instant_after, instrument, lock, random_token,
};

/// Default token lifetime: "default 24 h" (OAuth client token duration, 300 to 172800 s:
/// Genesys Cloud Resource Center "Create an OAuth client").
pub const DEFAULT_TOKEN_LIFETIME_SECS: u64 = 86_400;
/// The external id authority under which the Teams integration stores the Entra object id.
pub const TEAMS_AUTHORITY: &str = "microsoftteams";
/// SCIM core user schema (RFC 7643).
pub const SCIM_CORE_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Genesys Cloud's SCIM user extension schema.
pub const GENESYS_USER_EXTENSION: &str =
    "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User";
/// SCIM error message schema (RFC 7644 §3.12).
pub const SCIM_ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

mod presence;
mod scope;

pub use presence::PresenceWrite;

/// The endpoints of [`FakeGenesys`], for faults and recorded calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GenesysEndpoint {
    /// `POST /oauth/token`
    Token,
    /// Any `/api/v2/scim/...` request.
    Scim,
    /// `GET /api/v2/users` (the Users API list).
    Users,
    /// `PATCH /api/v2/users/{userId}/presences/{sourceId}`.
    Presence,
    /// `GET /api/v2/presence/definitions`.
    PresenceDefinitions,
    /// `GET /api/v2/users/{userId}` and `/api/v2/users/{userId}/queues` (a user's
    /// memberships).
    User,
    /// `GET /api/v2/routing/queues/{queueId}/members`.
    QueueMembers,
    /// `GET` of a division, group or queue by id.
    ScopeEntity,
    /// `/api/v2/oauth/...` and `/api/v2/authorization/...` (the deployment's admin calls).
    Admin,
    /// Anything else (answered 404).
    Other,
}

/// A token the fake issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub access_token: String,
    pub client_id: String,
    pub issued_at: Instant,
    pub expires_at: Instant,
}

#[derive(Debug, Clone)]
struct User {
    id: String,
    user_name: String,
    display_name: String,
    external_ids: Vec<(String, String)>,
    active: bool,
    /// Deleted: kept for the Users API's `state=deleted|any`, gone for SCIM and the rest.
    deleted: bool,
    /// The Users API `presence` object, as served (`None`: no presence).
    presence: Option<Value>,
    /// The Users API `routingStatus` object, as served (`None`: none).
    routing: Option<Value>,
    /// The user's division (every user has one in Genesys; `None` here: not set by the test).
    division: Option<String>,
    /// The groups and queues the user is a member of.
    groups: Vec<String>,
    queues: Vec<String>,
}

#[derive(Debug)]
struct GenesysState {
    base_url: String,
    client: Option<(String, String)>,
    token_lifetime: u64,
    tokens: Vec<IssuedToken>,
    users: HashMap<String, User>,
    /// Every `(client id, client secret)` ever registered (for the log scan).
    registered: Vec<(String, String)>,
    /// The most SCIM resources one list page holds, whatever `count` asks.
    scim_page_cap: usize,
    /// The organization's presence definitions.
    definitions: Vec<presence::Definition>,
    /// Every successful presence PATCH, in order.
    presence_writes: Vec<PresenceWrite>,
    /// How many of `presence_writes` `drain_presence_events` has handed out.
    presence_events_taken: usize,
    /// The clock of `modifiedDate`: pinned by `pin_clock`, else the real one.
    pinned_now: Option<chrono::DateTime<chrono::Utc>>,
    /// The organization's divisions, groups and queues (id → name).
    named: scope::Named,
    /// Admin clients (Terraform's deployment client) by id, beside THE client.
    admin_clients: HashMap<String, AdminClient>,
}

/// An admin OAuth client: its secret and the `(roleId, divisionId)` grants it holds.
#[derive(Debug, Clone)]
struct AdminClient {
    secret: String,
    role_divisions: Vec<(String, String)>,
}

impl GenesysState {
    /// Now on the fake's clock, as Genesys writes times: RFC 3339, milliseconds, `Z`.
    fn clock_now(&self) -> String {
        self.pinned_now
            .unwrap_or_else(chrono::Utc::now)
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }
}

type Shared = Arc<Mutex<GenesysState>>;

/// The fake Genesys Cloud login + API server. Dropping it stops it.
pub struct FakeGenesys {
    server: FakeServer,
    state: Shared,
    faults: FaultPlan<GenesysEndpoint>,
    recorder: Recorder<GenesysEndpoint>,
    /// One-way network delay applied to every request (nanoseconds), see `set_latency`.
    latency: Arc<AtomicU64>,
    /// Endpoints answered with a bare 404, see `answer_bare_404`.
    bare_404: Bare404,
}

/// The endpoint kinds answered with a bare `404` (no body), as a host that is not this
/// service answers a wrong base URL.
type Bare404 = Arc<Mutex<HashSet<GenesysEndpoint>>>;

impl FakeGenesys {
    /// Start on `127.0.0.1:<ephemeral port>` with no client, no users and no faults.
    pub async fn start() -> FakeGenesys {
        let faults = FaultPlan::new();
        let recorder = Recorder::new();
        let state: Shared = Arc::new(Mutex::new(GenesysState {
            base_url: String::new(),
            client: None,
            token_lifetime: DEFAULT_TOKEN_LIFETIME_SECS,
            tokens: Vec::new(),
            users: HashMap::new(),
            registered: Vec::new(),
            scim_page_cap: DEFAULT_SCIM_PAGE_CAP,
            definitions: presence::system_definitions(),
            presence_writes: Vec::new(),
            presence_events_taken: 0,
            pinned_now: None,
            named: scope::Named::default(),
            admin_clients: HashMap::new(),
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
            lock(&router_state).base_url = base_url.to_owned();
            let router = Router::new()
                .route("/oauth/token", post(token))
                .route("/api/v2/scim/v2/users/{id}", get(scim_user))
                .route("/api/v2/scim/users/{id}", get(scim_user))
                .route("/api/v2/scim/v2/users", get(scim_users))
                .route("/api/v2/scim/users", get(scim_users))
                .route("/api/v2/users", get(users_list))
                .route(
                    "/api/v2/users/{id}/presences/{source}",
                    patch(presence::patch_user_presence),
                )
                .route(
                    "/api/v2/presence/definitions",
                    get(presence::presence_definitions),
                )
                .route("/api/v2/users/{id}", get(scope::get_user))
                .route("/api/v2/users/{id}/queues", get(scope::user_queues))
                .route("/api/v2/routing/queues/{id}", get(scope::get_queue))
                .route(
                    "/api/v2/routing/queues/{id}/members",
                    get(scope::queue_members),
                )
                .route("/api/v2/groups/{id}", get(scope::get_group))
                .route(
                    "/api/v2/authorization/divisions/{id}",
                    get(scope::get_division),
                )
                .route("/api/v2/oauth/clients/{id}", get(admin::oauth_client))
                .route(
                    "/api/v2/authorization/subjects/{subject}/divisions/{division}/roles/{role}",
                    post(admin::grant).delete(admin::revoke),
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
        .expect("bind the fake Genesys server on 127.0.0.1");
        FakeGenesys {
            server,
            state,
            faults,
            recorder,
            latency,
            bare_404,
        }
    }

    /// While on, requests to `endpoint` are answered `404 Not Found` with no body and no
    /// checks, as a host that is not Genesys Cloud answers when `GENESYS_API_URL` or
    /// `GENESYS_LOGIN_URL` points at the wrong place (a proxy, a removed path). Faults still
    /// apply first, and the calls are recorded.
    pub fn answer_bare_404(&self, endpoint: GenesysEndpoint, on: bool) {
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

    /// `http://127.0.0.1:PORT`: the function calls `{login_url}/oauth/token`.
    pub fn login_url(&self) -> String {
        self.server.base_url()
    }

    /// `http://127.0.0.1:PORT`: the function calls `{api_url}/api/v2/scim/v2/users/{id}?...`.
    pub fn api_url(&self) -> String {
        self.server.base_url()
    }

    /// `{login_url}/oauth/token`
    pub fn token_url(&self) -> String {
        format!("{}/oauth/token", self.server.base_url())
    }

    /// The lookup the presence sync makes:
    /// `{api_url}/api/v2/scim/v2/users/{id}?attributes=<extension>:externalIds`.
    pub fn scim_user_url(&self, user_id: &str) -> String {
        format!(
            "{}/api/v2/scim/v2/users/{user_id}?attributes={GENESYS_USER_EXTENSION}:externalIds",
            self.server.base_url()
        )
    }

    /// Register THE OAuth client (one at a time). Calling again replaces it; with the same id
    /// and a new secret this is a secret rotation after which the old secret fails. Tokens
    /// already issued stay valid until they expire.
    pub fn register_client(&self, client_id: &str, client_secret: &str) {
        let mut state = lock(&self.state);
        let client = (client_id.to_owned(), client_secret.to_owned());
        state.registered.push(client.clone());
        state.client = Some(client);
    }

    /// Register an admin client (the deployment client Terraform runs as) beside THE client:
    /// it gets tokens too, and holds the roles granted to it (none at first).
    pub fn register_admin_client(&self, client_id: &str, client_secret: &str) {
        let mut state = lock(&self.state);
        state
            .registered
            .push((client_id.to_owned(), client_secret.to_owned()));
        state.admin_clients.insert(
            client_id.to_owned(),
            AdminClient {
                secret: client_secret.to_owned(),
                role_divisions: Vec::new(),
            },
        );
    }

    /// The `(roleId, divisionId)` grants an admin client holds.
    pub fn admin_client_roles(&self, client_id: &str) -> Vec<(String, String)> {
        lock(&self.state)
            .admin_clients
            .get(client_id)
            .map(|c| c.role_divisions.clone())
            .unwrap_or_default()
    }

    /// Every `(client id, client secret)` registered so far, rotations included.
    pub fn registered_clients(&self) -> Vec<(String, String)> {
        lock(&self.state).registered.clone()
    }

    /// `expires_in` (and real lifetime) of tokens issued from now on. Default 86400.
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

    /// Add (or replace) a user with, optionally, a `microsoftteams` external id.
    pub fn add_user(&self, genesys_user_id: &str, teams_id: Option<&str>) {
        let external_ids = teams_id
            .map(|teams| vec![(TEAMS_AUTHORITY.to_owned(), teams.to_owned())])
            .unwrap_or_default();
        self.add_user_with_external_ids(genesys_user_id, external_ids);
    }

    /// Add (or replace) a user with exactly these `(authority, value)` external ids, in this
    /// order, e.g. other authorities, several entries, or a value that is not a GUID. Users
    /// provisioned through SCIM also carry an entry whose authority starts with
    /// `x-pc:scimv2:v1` (ScimUserExtensions model, `externalIds`); add one here to model them.
    pub fn add_user_with_external_ids<A, V>(
        &self,
        genesys_user_id: &str,
        external_ids: impl IntoIterator<Item = (A, V)>,
    ) where
        A: Into<String>,
        V: Into<String>,
    {
        let id = genesys_user_id.to_owned();
        let short = id.split('-').next().unwrap_or(&id).to_owned();
        let user = User {
            user_name: format!("agent-{short}@example.com"),
            display_name: format!("Agent {short}"),
            external_ids: external_ids
                .into_iter()
                .map(|(authority, value)| (authority.into(), value.into()))
                .collect(),
            active: true,
            deleted: false,
            division: None,
            groups: Vec::new(),
            queues: Vec::new(),
            presence: Some(presence_json(
                DEFAULT_SYSTEM_PRESENCE,
                Some(DEFAULT_STATE_TIME),
            )),
            routing: Some(routing_json(
                &id,
                DEFAULT_ROUTING_STATUS,
                Some(DEFAULT_STATE_TIME),
            )),
            id,
        };
        lock(&self.state)
            .users
            .insert(genesys_user_id.to_ascii_lowercase(), user);
    }

    /// Set a user's presence (`system_presence` as the Users API spells it, e.g. `Available`
    /// or `On Queue`) and routing status (e.g. `IDLE`), with their times (RFC 3339; `None`
    /// leaves the time out of the answer). A user added with `add_user` starts `Offline` and
    /// `OFF_QUEUE` at [`DEFAULT_STATE_TIME`].
    pub fn set_state(
        &self,
        genesys_user_id: &str,
        system_presence: &str,
        modified_date: Option<&str>,
        routing_status: &str,
        start_time: Option<&str>,
    ) {
        self.set_raw_state(
            genesys_user_id,
            Some(presence_json(system_presence, modified_date)),
            Some(routing_json(genesys_user_id, routing_status, start_time)),
        );
    }

    /// Set the `presence` and `routingStatus` objects the Users API serves for a user exactly
    /// as given (`None`: left out of the answer), e.g. to serve a malformed one.
    pub fn set_raw_state(
        &self,
        genesys_user_id: &str,
        presence: Option<Value>,
        routing: Option<Value>,
    ) {
        let mut state = lock(&self.state);
        let user = state
            .users
            .get_mut(&genesys_user_id.to_ascii_lowercase())
            .expect("set_state: add the user first");
        user.presence = presence;
        user.routing = routing;
    }

    /// Set a user's SCIM `userName`, the Genesys e-mail (default `agent-<first part of the
    /// id>@example.com`). Panics if the user was not added.
    pub fn set_user_name(&self, genesys_user_id: &str, user_name: &str) {
        let mut state = lock(&self.state);
        let user = state
            .users
            .get_mut(&genesys_user_id.to_ascii_lowercase())
            .expect("set_user_name: add the user first");
        user.user_name = user_name.to_owned();
    }

    /// A user's SCIM `userName` (the Genesys e-mail), if the user exists.
    pub fn user_name(&self, genesys_user_id: &str) -> Option<String> {
        lock(&self.state)
            .users
            .get(&genesys_user_id.to_ascii_lowercase())
            .map(|user| user.user_name.clone())
    }

    /// Add a division, group or queue to the organization (`kind`: `division`, `group`,
    /// `queue`), so that lookups by id find it and memberships may name it.
    pub fn add_scope_entity(&self, kind: &str, id: &str, name: &str) {
        let mut state = lock(&self.state);
        let names = match kind {
            "division" => &mut state.named.divisions,
            "group" => &mut state.named.groups,
            _ => &mut state.named.queues,
        };
        names.insert(id.to_ascii_lowercase(), name.to_owned());
    }

    /// Set a user's division, groups and queues (ids); `None` leaves that one as it is.
    pub fn set_membership(
        &self,
        genesys_user_id: &str,
        division: Option<&str>,
        groups: Option<&[&str]>,
        queues: Option<&[&str]>,
    ) {
        let mut state = lock(&self.state);
        let Some(user) = state.users.get_mut(&genesys_user_id.to_ascii_lowercase()) else {
            return;
        };
        if let Some(division) = division {
            user.division = Some(division.to_ascii_lowercase());
        }
        let ids = |list: &[&str]| list.iter().map(|id| id.to_ascii_lowercase()).collect();
        if let Some(groups) = groups {
            user.groups = ids(groups);
        }
        if let Some(queues) = queues {
            user.queues = ids(queues);
        }
    }

    /// The membership lookups received (`GET /api/v2/users/{id}`, `.../queues`).
    pub fn user_calls(&self) -> Vec<RecordedCall<GenesysEndpoint>> {
        self.recorder.calls_of(GenesysEndpoint::User)
    }

    /// Mark a user active or inactive: the SCIM list and the Users API (default `state`)
    /// show active users only.
    pub fn set_active(&self, genesys_user_id: &str, active: bool) {
        if let Some(user) = lock(&self.state)
            .users
            .get_mut(&genesys_user_id.to_ascii_lowercase())
        {
            user.active = active;
        }
    }

    /// Delete a user: SCIM no longer knows them (404, and out of the list); the Users API
    /// lists them, as `deleted`, only for `state=deleted` or `state=any` (UsersApi getUsers
    /// `state` values: active, inactive, deleted, any).
    pub fn delete_user(&self, genesys_user_id: &str) {
        if let Some(user) = lock(&self.state)
            .users
            .get_mut(&genesys_user_id.to_ascii_lowercase())
        {
            user.deleted = true;
            user.active = false;
        }
    }

    /// The most resources one SCIM list page holds, whatever `count` asks (RFC 7644 §3.4.2.4
    /// lets a provider answer fewer). Default [`DEFAULT_SCIM_PAGE_CAP`].
    pub fn set_scim_page_cap(&self, cap: usize) {
        lock(&self.state).scim_page_cap = cap;
    }

    /// The Users API list calls (any status, faulted or not), in order.
    pub fn users_calls(&self) -> Vec<RecordedCall<GenesysEndpoint>> {
        self.recorder.calls_of(GenesysEndpoint::Users)
    }

    /// Remove a user; lookups get 404 afterwards.
    pub fn remove_user(&self, genesys_user_id: &str) {
        lock(&self.state)
            .users
            .remove(&genesys_user_id.to_ascii_lowercase());
    }

    /// The fault queues (any [`GenesysEndpoint`] kind).
    pub fn faults(&self) -> FaultPlan<GenesysEndpoint> {
        self.faults.clone()
    }

    /// The call recorder.
    pub fn recorder(&self) -> Recorder<GenesysEndpoint> {
        self.recorder.clone()
    }

    /// Every call received, in order.
    pub fn calls(&self) -> Vec<RecordedCall<GenesysEndpoint>> {
        self.recorder.calls()
    }

    /// How many SCIM requests were received (faulted ones included).
    pub fn scim_calls(&self) -> usize {
        self.recorder.count(GenesysEndpoint::Scim)
    }

    /// How many token requests were received (faulted ones included).
    pub fn token_requests(&self) -> usize {
        self.recorder.count(GenesysEndpoint::Token)
    }

    /// Every token issued, in order.
    pub fn issued_tokens(&self) -> Vec<IssuedToken> {
        lock(&self.state).tokens.clone()
    }

    /// Add a presence definition the organization made (`type` `User`), e.g. a Busy one
    /// labelled "In a Teams meeting", that PATCHes may then name.
    pub fn add_presence_definition(&self, id: &str, system_presence: &str, label: &str) {
        lock(&self.state).definitions.push(presence::Definition {
            id: id.to_owned(),
            system_presence: system_presence.to_owned(),
            label: label.to_owned(),
            kind: "User",
            deactivated: false,
        });
    }

    /// Deactivate a presence definition: listed only with `deactivated=TRUE`, and refused by
    /// the presence PATCH.
    pub fn deactivate_presence_definition(&self, id: &str) {
        for definition in &mut lock(&self.state).definitions {
            if definition.id.eq_ignore_ascii_case(id) {
                definition.deactivated = true;
            }
        }
    }

    /// Every successful presence PATCH, in order.
    pub fn presence_writes(&self) -> Vec<PresenceWrite> {
        lock(&self.state).presence_writes.clone()
    }

    /// The `v2.users.{id}.presence` events of the presence PATCHes applied since the last
    /// call, in order: what Genesys would deliver to EventBridge for them.
    pub fn drain_presence_events(&self) -> Vec<Value> {
        let mut state = lock(&self.state);
        let from = state.presence_events_taken;
        state.presence_events_taken = state.presence_writes.len();
        state.presence_writes[from..]
            .iter()
            .map(PresenceWrite::event)
            .collect()
    }

    /// The presence PATCH calls (any status, faulted or not), in order.
    pub fn presence_calls(&self) -> Vec<RecordedCall<GenesysEndpoint>> {
        self.recorder.calls_of(GenesysEndpoint::Presence)
    }

    /// The `presence` object the Users API serves for the user now, if any.
    pub fn user_presence(&self, genesys_user_id: &str) -> Option<Value> {
        lock(&self.state)
            .users
            .get(&genesys_user_id.to_ascii_lowercase())
            .and_then(|user| user.presence.clone())
    }

    /// Pin the clock that presence PATCHes stamp `modifiedDate` with (RFC 3339), e.g. to the
    /// times of the events a test sends; [`FakeGenesys::advance_clock`] moves it on. Default:
    /// the real clock.
    pub fn pin_clock(&self, rfc3339: &str) {
        let at = chrono::DateTime::parse_from_rfc3339(rfc3339)
            .unwrap_or_else(|e| panic!("pin_clock({rfc3339:?}): {e}"));
        lock(&self.state).pinned_now = Some(at.to_utc());
    }

    /// Move the pinned clock on (pins it at the real time first if it was not).
    pub fn advance_clock(&self, by: Duration) {
        let mut state = lock(&self.state);
        let from = state.pinned_now.unwrap_or_else(chrono::Utc::now);
        let by = chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
        state.pinned_now = Some(from.checked_add_signed(by).unwrap_or(from));
    }

    /// Stop the server and wait for it.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// The middleware behind [`FakeGenesys::answer_bare_404`].
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

fn classify(_method: &Method, path: &str) -> GenesysEndpoint {
    if path == "/oauth/token" {
        GenesysEndpoint::Token
    } else if path.starts_with("/api/v2/scim/") {
        GenesysEndpoint::Scim
    } else if path == "/api/v2/users" {
        GenesysEndpoint::Users
    } else if path.starts_with("/api/v2/users/") && path.contains("/presences/") {
        GenesysEndpoint::Presence
    } else if path == "/api/v2/presence/definitions" {
        GenesysEndpoint::PresenceDefinitions
    } else if path.starts_with("/api/v2/users/") {
        GenesysEndpoint::User
    } else if path.starts_with("/api/v2/routing/queues/") && path.ends_with("/members") {
        GenesysEndpoint::QueueMembers
    } else if path.starts_with("/api/v2/routing/queues/")
        || path.starts_with("/api/v2/groups/")
        || path.starts_with("/api/v2/authorization/divisions/")
    {
        GenesysEndpoint::ScopeEntity
    } else if path.starts_with("/api/v2/oauth/") || path.starts_with("/api/v2/authorization/") {
        GenesysEndpoint::Admin
    } else {
        GenesysEndpoint::Other
    }
}

fn json_response(status: StatusCode, content_type: &'static str, body: String) -> Response {
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

// ---------------------------------------------------------------------------------------
// Login: POST /oauth/token
// ---------------------------------------------------------------------------------------

/// A login error as Genesys Cloud sends it: `error`, `description` and `error_description`
/// (e.g. `{"error":"invalid_client","description":"authentication failed",
/// "error_description":"authentication failed"}`, reported by users of the Genesys .NET SDK in
/// tishige/CallFlowVisualizer#8 and asserted by gildas/go-gcloudcx's client tests).
fn oauth_error_body(error: &str, description: &str) -> String {
    json!({ "error": error, "description": description, "error_description": description })
        .to_string()
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(
        status,
        "application/json",
        oauth_error_body(error, description),
    )
}

async fn token(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let mut state = lock(&state);

    // Client credentials grant: POST /oauth/token, form-encoded body (Genesys Cloud Developer
    // Center "Client credentials grant"; reference sheet). Not documented: the status and
    // error for another content type; answered as an invalid request.
    if !has_media_type(&headers, "application/x-www-form-urlencoded") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Content-Type must be application/x-www-form-urlencoded",
        );
    }
    let Ok(form) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "malformed form body",
        );
    };

    // The client authenticates with "Authorization: Basic base64(client_id:client_secret)"
    // (client credentials grant). Unknown client → "client not found", wrong secret →
    // "authentication failed", both `invalid_client` (gildas/go-gcloudcx client tests, live
    // responses). Status 400 for both: go-gcloudcx names both cases "...ShouldBeBadRequest";
    // not on a Genesys reference page.
    let (client_id, client_secret) = match authorization(&headers) {
        Authorization::Basic { user, password } => (user, password),
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_client",
                "client not found",
            );
        }
    };
    let admin = state
        .admin_clients
        .iter()
        .find(|(id, _)| id.eq_ignore_ascii_case(&client_id))
        .map(|(id, admin)| (id.clone(), admin.secret.clone()));
    let Some((expected_id, expected_secret)) = admin.or_else(|| state.client.clone()) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "client not found",
        );
    };
    if !client_id.eq_ignore_ascii_case(&expected_id) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "client not found",
        );
    }
    if client_secret != expected_secret {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "authentication failed",
        );
    }

    // grant_type=client_credentials (client credentials grant); other values are
    // `unsupported_grant_type` (RFC 6749 §5.2).
    let grant_types: Vec<&str> = form
        .iter()
        .filter(|(name, _)| name == "grant_type")
        .map(|(_, value)| value.as_str())
        .collect();
    match grant_types.as_slice() {
        ["client_credentials"] => {}
        [] => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "missing grant_type",
            );
        }
        [other] => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("grant type '{other}' is not supported"),
            );
        }
        // "Request and response parameters MUST NOT be included more than once" (RFC 6749 §3.2).
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type given more than once",
            );
        }
    }

    // Success: access_token, token_type, expires_in (reference sheet; Genesys SDKs read
    // exactly these). "Cache-Control: no-store" on token responses (RFC 6749 §5.1).
    let lifetime = state.token_lifetime;
    let now = Instant::now();
    let access_token = random_token("fake-genesys-");
    state.tokens.push(IssuedToken {
        access_token: access_token.clone(),
        client_id: expected_id,
        issued_at: now,
        expires_at: instant_after(now, Duration::from_secs(lifetime)),
    });
    let body = json!({
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": lifetime,
    });
    let mut response = json_response(StatusCode::OK, "application/json", body.to_string());
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

// ---------------------------------------------------------------------------------------
// Platform API: SCIM users
// ---------------------------------------------------------------------------------------

/// A SCIM error: `schemas`, `status` (a string), optional `scimType`, `detail` (Genesys Cloud
/// Platform API "ScimError" model; RFC 7644 §3.12).
fn scim_error_body(status: u16, scim_type: Option<&str>, detail: &str) -> String {
    let mut body = json!({
        "schemas": [SCIM_ERROR_SCHEMA],
        "status": status.to_string(),
        "detail": detail,
    });
    if let Some(scim_type) = scim_type {
        body["scimType"] = Value::from(scim_type);
    }
    body.to_string()
}

/// SCIM responses use `application/scim+json` (RFC 7644 §3.1); the Genesys SDKs accept it
/// and `application/json` ("Accept: application/scim+json, application/json", SCIMApi docs).
const SCIM_CONTENT_TYPE: &str = "application/scim+json; charset=utf-8";

fn scim_error(status: StatusCode, scim_type: Option<&str>, detail: &str) -> Response {
    json_response(
        status,
        SCIM_CONTENT_TYPE,
        scim_error_body(status.as_u16(), scim_type, detail),
    )
}

async fn scim_user(
    State(state): State<Shared>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let state = lock(&state);

    // The SCIM API requires a Platform API bearer token ("Authorization: PureCloud OAuth",
    // SCIMApi docs). Not documented for these endpoints: the 401 body; answered in the SCIM
    // error shape, with Genesys's usual wording.
    if let Err(message) = check_token(&state, &headers) {
        return scim_error(StatusCode::UNAUTHORIZED, None, message);
    }

    // userId is a Genesys user id, a UUID ("The ID of a user", SCIMApi get_scim_v2_user). Not
    // documented: the answer for a non-UUID id; answered 400 with scimType invalidValue
    // (RFC 7644 §3.12).
    if !crate::fault::is_hyphenated_guid(&id) {
        return scim_error(
            StatusCode::BAD_REQUEST,
            Some("invalidValue"),
            &format!("The user id '{id}' is not a valid UUID."),
        );
    }
    // An unknown user is 404 with the SCIM error (RFC 7644 §3.12 "404 Not found - Specified
    // resource ... does not exist").
    let found = state.users.get(&id.to_ascii_lowercase());
    let Some(user) = found.filter(|user| !user.deleted) else {
        return scim_error(
            StatusCode::NOT_FOUND,
            None,
            &format!("Resource {id} not found."),
        );
    };

    let (attributes, excluded) = parse_attribute_lists(query.as_deref());
    let document = select_attributes(user_document(user, &state.base_url), &attributes, &excluded);
    let mut response = json_response(StatusCode::OK, SCIM_CONTENT_TYPE, document.to_string());
    response
        .headers_mut()
        .insert(header::ETAG, HeaderValue::from_static("W/\"1\""));
    response
}

/// The full SCIM user (ScimV2User model: id, schemas, active, userName (the Genesys e-mail),
/// displayName, emails, the Genesys extension, meta).
fn user_document(user: &User, base_url: &str) -> Map<String, Value> {
    let mut document = Map::new();
    document.insert(
        "schemas".into(),
        json!([SCIM_CORE_USER_SCHEMA, GENESYS_USER_EXTENSION]),
    );
    document.insert("id".into(), Value::from(user.id.clone()));
    document.insert("active".into(), Value::from(user.active));
    document.insert("userName".into(), Value::from(user.user_name.clone()));
    document.insert("displayName".into(), Value::from(user.display_name.clone()));
    document.insert(
        "emails".into(),
        json!([{ "value": user.user_name, "type": "work", "primary": true }]),
    );
    // Not documented whether an empty list is sent: the Genesys models mark `externalIds`
    // optional and the Go SDK serialises it with `omitempty`, so a user without external ids
    // has no extension object at all.
    if !user.external_ids.is_empty() {
        let external_ids: Vec<Value> = user
            .external_ids
            .iter()
            .map(|(authority, value)| json!({ "authority": authority, "value": value }))
            .collect();
        document.insert(
            GENESYS_USER_EXTENSION.into(),
            json!({ "externalIds": external_ids }),
        );
    }
    let last_modified = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|now| now.format(&Rfc3339).ok())
        .unwrap_or_default();
    document.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "lastModified": last_modified,
            "location": format!("{base_url}/api/v2/scim/v2/users/{}", user.id),
            "version": "W/\"1\"",
        }),
    );
    document
}

/// `attributes` and `excludedAttributes`: comma-separated attribute names (RFC 7644 §3.9),
/// possibly repeated (the SDKs send lists), compared case-insensitively (RFC 7643 §2.1).
fn parse_attribute_lists(query: Option<&str>) -> (Vec<String>, Vec<String>) {
    let pairs: Vec<(String, String)> = query
        .and_then(|query| serde_urlencoded::from_str(query).ok())
        .unwrap_or_default();
    let collect = |wanted: &str| -> Vec<String> {
        pairs
            .iter()
            .filter(|(name, _)| name == wanted)
            .flat_map(|(_, value)| value.split(','))
            .map(|name| name.trim().to_ascii_lowercase())
            .filter(|name| !name.is_empty())
            .collect()
    };
    (collect("attributes"), collect("excludedAttributes"))
}

/// The top-level key an attribute path selects, if this fake knows it.
fn top_level_key(path: &str) -> Option<&'static str> {
    let extension = GENESYS_USER_EXTENSION.to_ascii_lowercase();
    let core_prefix = format!("{}:", SCIM_CORE_USER_SCHEMA.to_ascii_lowercase());
    // The extension as a whole, or its `externalIds` (the only sub-attribute this fake has).
    if path == extension || path == format!("{extension}:externalids") {
        return Some(GENESYS_USER_EXTENSION);
    }
    let name = path.strip_prefix(&core_prefix).unwrap_or(path);
    let name = name.split('.').next().unwrap_or(name);
    [
        "displayName",
        "emails",
        "userName",
        "active",
        "id",
        "meta",
        "schemas",
    ]
    .into_iter()
    .find(|known| known.eq_ignore_ascii_case(name))
}

/// Apply `attributes` / `excludedAttributes`. With `attributes`, only those are returned plus
/// "the "id", "userName", "active", and "meta" attributes" (SCIMApi get_scim_v2_user,
/// `attributes` parameter), and `schemas`. `excludedAttributes` never removes those.
fn select_attributes(
    mut document: Map<String, Value>,
    attributes: &[String],
    excluded: &[String],
) -> Value {
    const ALWAYS: [&str; 5] = ["schemas", "id", "userName", "active", "meta"];
    if !attributes.is_empty() {
        let keep: Vec<&str> = attributes
            .iter()
            .filter_map(|path| top_level_key(path))
            .collect();
        document.retain(|key, _| ALWAYS.contains(&key.as_str()) || keep.contains(&key.as_str()));
    }
    for path in excluded {
        if let Some(key) = top_level_key(path).filter(|key| !ALWAYS.contains(key)) {
            document.remove(key);
        }
    }
    Value::Object(document)
}

async fn not_implemented(method: Method, uri: Uri) -> Response {
    scim_error(
        StatusCode::NOT_FOUND,
        None,
        &format!(
            "The fake Genesys server does not implement {method} {}.",
            uri.path()
        ),
    )
}

/// Default bodies for status faults without a body: the login service in its OAuth error
/// shape, the SCIM API in the SCIM error shape.
fn default_fault_body(
    kind: GenesysEndpoint,
    status: u16,
    retry_after: Option<u64>,
) -> (&'static str, String) {
    let detail = match status {
        // Genesys's rate-limit wording ("Rate limit exceeded the maximum. Retry the request in
        // [N] seconds"); not on a reference page.
        429 => format!(
            "Rate limit exceeded the maximum. Retry the request in [{}] seconds",
            retry_after.unwrap_or(1)
        ),
        500 => "The server encountered an unexpected condition.".to_owned(),
        502 => "Bad gateway.".to_owned(),
        503 => "Service unavailable.".to_owned(),
        504 => "The request timed out.".to_owned(),
        _ => format!("Injected error {status}."),
    };
    match kind {
        GenesysEndpoint::Token => {
            let error = if status == 429 || status >= 500 {
                "temporarily_unavailable"
            } else {
                "invalid_request"
            };
            ("application/json", oauth_error_body(error, &detail))
        }
        GenesysEndpoint::Scim | GenesysEndpoint::Other => {
            (SCIM_CONTENT_TYPE, scim_error_body(status, None, &detail))
        }
        GenesysEndpoint::Users
        | GenesysEndpoint::Presence
        | GenesysEndpoint::PresenceDefinitions
        | GenesysEndpoint::User
        | GenesysEndpoint::QueueMembers
        | GenesysEndpoint::ScopeEntity
        | GenesysEndpoint::Admin => {
            let code = match status {
                429 => "too.many.requests",
                401 => "bad.credentials",
                403 => "missing.permissions",
                400 => "bad.request",
                _ => "internal.server.error",
            };
            (
                "application/json",
                platform_error_body(status, code, &detail),
            )
        }
    }
}

// ---------------------------------------------------------------------------------------
// Shared by the Platform API endpoints
// ---------------------------------------------------------------------------------------

/// The bearer token check of every Platform API call: `Err` with Genesys's usual wording when
/// it is missing, unknown or expired.
fn check_token(state: &GenesysState, headers: &HeaderMap) -> Result<(), &'static str> {
    let token = match authorization(headers) {
        Authorization::Bearer(token) => token,
        _ => return Err("No authentication bearer token specified in authorization header."),
    };
    match state
        .tokens
        .iter()
        .find(|issued| issued.access_token == token)
    {
        None => Err("Invalid login credentials."),
        Some(issued) if issued.expires_at <= Instant::now() => {
            Err("Invalid login credentials: the access token has expired.")
        }
        Some(_) => Ok(()),
    }
}

/// The query's `(name, value)` pairs, repeated names kept in order.
fn query_pairs(query: Option<&str>) -> Option<Vec<(String, String)>> {
    serde_urlencoded::from_str(query.unwrap_or("")).ok()
}

/// The values of a list parameter: repeated (`id=a&id=b`, the SDKs' "multi" format) or
/// comma-separated (`id=a,b`), both accepted.
fn list_values(pairs: &[(String, String)], name: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(n, _)| n == name)
        .flat_map(|(_, value)| value.split(','))
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect()
}

/// A whole-number parameter: `Ok(None)` when absent, `Err` with the raw text when it is not
/// one (or given twice).
fn number_param(pairs: &[(String, String)], name: &str) -> Result<Option<i64>, String> {
    let values: Vec<&str> = pairs
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .collect();
    match values.as_slice() {
        [] => Ok(None),
        [one] => one
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| (*one).to_owned()),
        _ => Err(values.join(",")),
    }
}

// ---------------------------------------------------------------------------------------
// Platform API: SCIM user list
// ---------------------------------------------------------------------------------------

/// Default of [`FakeGenesys::set_scim_page_cap`]. Not documented: Genesys states no maximum
/// `count`, only that over 25 without `attributes` "may exceed internal resource limits and
/// return a 429 error" (SCIMApi docs, `count`).
pub const DEFAULT_SCIM_PAGE_CAP: usize = 100;
/// The SCIM ListResponse schema (RFC 7644 §3.4.2).
pub const SCIM_LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

async fn scim_users(
    State(state): State<Shared>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let state = lock(&state);
    if let Err(message) = check_token(&state, &headers) {
        return scim_error(StatusCode::UNAUTHORIZED, None, message);
    }
    let Some(pairs) = query_pairs(query.as_deref()) else {
        return scim_error(
            StatusCode::BAD_REQUEST,
            Some("invalidSyntax"),
            "Malformed query.",
        );
    };
    // "If nothing is specified, returns all active users" (SCIMApi `filter`). Of the filters
    // Genesys lists ("userName eq search@sample.org", "email eq ...", "active eq false", ...,
    // SCIMApi `filter`) this fake evaluates only `userName eq "<e-mail>"`; any other is
    // answered 400 invalidFilter (RFC 7644 §3.4.2.2 "The specified filter syntax was invalid
    // ... or the specified attribute and filter comparison combination is not supported").
    let filters: Vec<&str> = pairs
        .iter()
        .filter(|(name, _)| name == "filter")
        .map(|(_, value)| value.as_str())
        .collect();
    let user_name = match filters.as_slice() {
        [] => None,
        [filter] => match parse_user_name_filter(filter) {
            Some(user_name) => Some(user_name),
            None => {
                return scim_error(
                    StatusCode::BAD_REQUEST,
                    Some("invalidFilter"),
                    &format!(
                        "The fake Genesys server implements only the SCIM filter userName eq \"<value>\", not {filter:?}."
                    ),
                );
            }
        },
        _ => {
            return scim_error(
                StatusCode::BAD_REQUEST,
                Some("invalidFilter"),
                "More than one filter parameter.",
            );
        }
    };
    // startIndex: "The 1-based index of the first query result" (default 1); "A value less
    // than 1 SHALL be interpreted as 1" (RFC 7644 §3.4.2.4). count: default 25 (SCIMApi);
    // "A negative value SHALL be interpreted as 0" (RFC 7644 §3.4.2.4). Not a number: 400
    // invalidValue (not documented).
    let (start, count) = match (
        number_param(&pairs, "startIndex"),
        number_param(&pairs, "count"),
    ) {
        (Ok(start), Ok(count)) => (start.unwrap_or(1).max(1), count.unwrap_or(25).max(0)),
        (Err(bad), _) | (_, Err(bad)) => {
            return scim_error(
                StatusCode::BAD_REQUEST,
                Some("invalidValue"),
                &format!("'{bad}' is not a valid integer."),
            );
        }
    };
    let (attributes, excluded) = parse_attribute_lists(query.as_deref());
    // userName is not case-exact ("caseExact": false, RFC 7643 §4.1.1). Not documented:
    // whether a filter on userName also finds inactive users; this fake, like the list
    // without a filter, serves active users only.
    let mut active: Vec<&User> = state
        .users
        .values()
        .filter(|u| u.active)
        .filter(|u| {
            user_name
                .as_ref()
                .is_none_or(|wanted| u.user_name.eq_ignore_ascii_case(wanted))
        })
        .collect();
    active.sort_by(|a, b| a.id.cmp(&b.id));
    let total = active.len();
    let take = usize::try_from(count)
        .unwrap_or(usize::MAX)
        .min(state.scim_page_cap);
    let skip = usize::try_from(start - 1).unwrap_or(usize::MAX);
    let resources: Vec<Value> = active
        .into_iter()
        .skip(skip)
        .take(take)
        .map(|user| select_attributes(user_document(user, &state.base_url), &attributes, &excluded))
        .collect();
    let body = json!({
        "schemas": [SCIM_LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    });
    json_response(StatusCode::OK, SCIM_CONTENT_TYPE, body.to_string())
}

/// The value of a `userName eq <value>` filter: the attribute (`userName` or its full name
/// `urn:ietf:params:scim:schemas:core:2.0:User:userName`) and the operator are
/// case-insensitive (RFC 7644 §3.4.2.2); the value is a JSON string (RFC 7644 §3.4.2.2,
/// `"someone@example.com"`) or, as the Genesys examples write it, bare
/// (`userName eq search@sample.org`, SCIMApi `filter`). `None` for any other filter.
pub fn parse_user_name_filter(filter: &str) -> Option<String> {
    let filter = filter.trim();
    let (attribute, rest) = filter.split_once(char::is_whitespace)?;
    let rest = rest.trim_start();
    let (operator, value) = rest.split_once(char::is_whitespace)?;
    let value = value.trim();
    let full_name = format!("{SCIM_CORE_USER_SCHEMA}:userName");
    if !(attribute.eq_ignore_ascii_case("userName") || attribute.eq_ignore_ascii_case(&full_name))
        || !operator.eq_ignore_ascii_case("eq")
        || value.is_empty()
    {
        return None;
    }
    if value.starts_with('"') {
        return serde_json::from_str::<String>(value).ok();
    }
    // A bare value is one token: anything more (`and`, `or`, brackets) is another filter.
    (!value.contains(char::is_whitespace) && !value.contains(['(', ')', '[', ']', '"']))
        .then(|| value.to_owned())
}

// ---------------------------------------------------------------------------------------
// Platform API: GET /api/v2/users
// ---------------------------------------------------------------------------------------

/// The presence of a user added with `add_user`.
pub const DEFAULT_SYSTEM_PRESENCE: &str = "Offline";
/// The routing status of a user added with `add_user`.
pub const DEFAULT_ROUTING_STATUS: &str = "OFF_QUEUE";
/// The time of both for a user added with `add_user`: long ago.
pub const DEFAULT_STATE_TIME: &str = "2020-01-01T00:00:00.000Z";
/// The largest `pageSize` of `GET /api/v2/users`. Not on a Genesys reference page (the SDK
/// docs give only the default, 25): 500 as third-party API guides state it.
pub const MAX_USERS_PAGE_SIZE: i64 = 500;

/// System presence definition ids (reference sheet; seen identically in two public sources).
const SYSTEM_PRESENCE_IDS: [(&str, &str); 10] = [
    ("AVAILABLE", "6a3af858-942f-489d-9700-5f9bcdcdae9b"),
    ("AWAY", "5e5c5c66-ea97-4e7f-ac41-6424784829f2"),
    ("BUSY", "31fe3bac-dea6-44b7-bed7-47f91660a1a0"),
    ("OFFLINE", "ccf3c10a-aa2c-4845-8e8d-f59fa48c58e5"),
    ("IDLE", "7ffa01cd-7866-4ad7-8faa-31e11b42f51f"),
    ("MEETING", "bbdff279-7ae1-48ea-bade-7831d7234c64"),
    ("MEAL", "3fd96123-badb-4f69-bc03-1b1ccc6d8014"),
    ("TRAINING", "d2390a99-8546-bad9-8f0a-219548e8aeb0"),
    ("ON_QUEUE", "e08eaf1b-ee47-4fa9-a231-1200e284798f"),
    ("BREAK", "227b37e2-f1d0-4dd0-8f50-badd7cf6d158"),
];

/// A `UserPresence` as the Users API serves it: `presenceDefinition{id, systemPresence}`,
/// `modifiedDate` (left out when `None`), `source`, `primary` (UserPresence model).
fn presence_json(system_presence: &str, modified_date: Option<&str>) -> Value {
    let normalised = system_presence
        .trim()
        .to_ascii_uppercase()
        .replace(' ', "_");
    let definition_id = SYSTEM_PRESENCE_IDS
        .iter()
        .find(|(name, _)| *name == normalised)
        .map_or("00000000-0000-4000-8000-000000000000", |(_, id)| id);
    let mut presence = json!({
        "source": "PURECLOUD",
        "primary": true,
        "presenceDefinition": {
            "id": definition_id,
            "systemPresence": system_presence,
            "selfUri": format!("/api/v2/presence/definitions/{definition_id}"),
        },
        "message": "",
    });
    if let Some(date) = modified_date {
        presence["modifiedDate"] = Value::from(date);
    }
    presence
}

/// A `RoutingStatus` as the Users API serves it: `userId`, `status`, `startTime` (left out
/// when `None`) (RoutingStatus model).
fn routing_json(user_id: &str, status: &str, start_time: Option<&str>) -> Value {
    let mut routing = json!({ "userId": user_id, "status": status });
    if let Some(time) = start_time {
        routing["startTime"] = Value::from(time);
    }
    routing
}

/// A Platform API error (`ErrorBody` model: `message`, `code`, `status`, `messageParams`,
/// `contextId`, `details`, `errors`).
fn platform_error_body(status: u16, code: &str, message: &str) -> String {
    json!({
        "message": message,
        "code": code,
        "status": status,
        "messageParams": {},
        "contextId": uuid::Uuid::new_v4().to_string(),
        "details": [],
        "errors": [],
    })
    .to_string()
}

fn platform_error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(
        status,
        "application/json",
        platform_error_body(status.as_u16(), code, message),
    )
}

async fn users_list(
    State(state): State<Shared>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let state = lock(&state);
    if let Err(message) = check_token(&state, &headers) {
        return platform_error(StatusCode::UNAUTHORIZED, "bad.credentials", message);
    }
    let bad = |message: String| platform_error(StatusCode::BAD_REQUEST, "bad.request", &message);
    let Some(pairs) = query_pairs(query.as_deref()) else {
        return bad("Malformed query.".to_owned());
    };
    // pageSize (default 25) and pageNumber (default 1) (UsersApi getUsers). Beyond the
    // largest page size, or not a positive number: 400 (the wording is not documented).
    let page_size = match number_param(&pairs, "pageSize") {
        Ok(None) => 25,
        Ok(Some(n)) if (1..=MAX_USERS_PAGE_SIZE).contains(&n) => n,
        Ok(Some(n)) => {
            return bad(format!(
                "Value [{n}] for pageSize is invalid: it must be between 1 and {MAX_USERS_PAGE_SIZE}."
            ));
        }
        Err(raw) => return bad(format!("Value [{raw}] for pageSize is not a number.")),
    };
    let page_number = match number_param(&pairs, "pageNumber") {
        Ok(None) => 1,
        Ok(Some(n)) if n >= 1 => n,
        Ok(Some(n)) => return bad(format!("Value [{n}] for pageNumber is invalid.")),
        Err(raw) => return bad(format!("Value [{raw}] for pageNumber is not a number.")),
    };
    // expand: routingStatus, presence, … (UsersApi getUsers `expand` values); others are
    // ignored here ("resolved with a best effort approach").
    let expand = list_values(&pairs, "expand");
    let with_presence = expand.iter().any(|e| e == "presence");
    let with_routing = expand.iter().any(|e| e == "routingStatus");
    let with_groups = expand.iter().any(|e| e == "groups");
    // state: "Only list users of this state", default active (UsersApi getUsers).
    let wanted_state = pairs
        .iter()
        .find(|(n, _)| n == "state")
        .map_or("active", |(_, v)| v.as_str());
    let shows = |user: &User| match wanted_state {
        "any" => true,
        "inactive" => !user.active && !user.deleted,
        "deleted" => user.deleted,
        _ => user.active,
    };
    // id: "A list of user IDs to fetch by bulk". Not documented: an id that is not a UUID;
    // answered 400. Unknown ids are left out of the answer.
    let ids = list_values(&pairs, "id");
    if let Some(bad_id) = ids.iter().find(|id| !crate::fault::is_hyphenated_guid(id)) {
        return bad(format!("The user id '{bad_id}' is not a valid UUID."));
    }
    let mut matched: Vec<&User> = if ids.is_empty() {
        let mut all: Vec<&User> = state.users.values().collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    } else {
        let mut seen = HashSet::new();
        ids.iter()
            .map(|id| id.to_ascii_lowercase())
            .filter(|id| seen.insert(id.clone()))
            .filter_map(|id| state.users.get(&id))
            .collect()
    };
    matched.retain(|user| shows(user));
    let total = matched.len() as i64;
    let page_count = (total + page_size - 1) / page_size;
    let entities: Vec<Value> = matched
        .into_iter()
        .skip(usize::try_from((page_number - 1).saturating_mul(page_size)).unwrap_or(usize::MAX))
        .take(usize::try_from(page_size).unwrap_or(usize::MAX))
        .map(|user| {
            let mut entity = json!({
                "id": user.id,
                "name": user.display_name,
                "email": user.user_name,
                "username": user.user_name,
                "state": match (user.active, user.deleted) {
                    (_, true) => "deleted",
                    (true, false) => "active",
                    (false, false) => "inactive",
                },
                "version": 1,
                "selfUri": format!("/api/v2/users/{}", user.id),
            });
            if with_presence && let Some(presence) = &user.presence {
                entity["presence"] = presence.clone();
            }
            scope::add_membership(&mut entity, user, &state.named, with_groups);
            if with_routing && let Some(routing) = &user.routing {
                entity["routingStatus"] = routing.clone();
            }
            entity
        })
        .collect();
    // UserEntityListing: entities, pageSize, pageNumber, total, pageCount, selfUri, ….
    let body = json!({
        "entities": entities,
        "pageSize": page_size,
        "pageNumber": page_number,
        "total": total,
        "pageCount": page_count,
        "selfUri": format!("/api/v2/users?pageSize={page_size}&pageNumber={page_number}"),
    });
    json_response(StatusCode::OK, "application/json", body.to_string())
}

// ---------------------------------------------------------------------------------------
// Platform API: the deployment's admin calls
// ---------------------------------------------------------------------------------------

mod admin {
    //! What `presencectl deploy` asks of Genesys as the deployment client: read the client's
    //! roles (`GET /api/v2/oauth/clients/{clientId}`, its `roleDivisions`: the
    //! `OAuthClient` model the Genesys Terraform provider reads), and grant or take back a
    //! role (`POST`/`DELETE /api/v2/authorization/subjects/{subjectId}/divisions/{divisionId}/roles/{roleId}`,
    //! `subjectType` one of PC_USER (the default), PC_GROUP, PC_OAUTH_CLIENT: Genesys's
    //! platform CLI). Not documented: the answer to a grant that already exists, and to taking
    //! back one that does not; answered 204 and 404.

    use super::{Shared, check_token, lock, platform_error, query_pairs};
    use axum::extract::{Path, RawQuery, State};
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Response};
    use serde_json::json;

    pub(super) async fn oauth_client(
        State(state): State<Shared>,
        Path(id): Path<String>,
        headers: HeaderMap,
    ) -> Response {
        let state = lock(&state);
        if let Err(message) = check_token(&state, &headers) {
            return platform_error(StatusCode::UNAUTHORIZED, "bad.credentials", message);
        }
        let Some(client) = state.admin_clients.get(&id) else {
            return platform_error(
                StatusCode::NOT_FOUND,
                "not.found",
                "The OAuth client was not found.",
            );
        };
        let roles: Vec<_> = client
            .role_divisions
            .iter()
            .map(|(role, division)| json!({"roleId": role, "divisionId": division}))
            .collect();
        axum::Json(json!({
            "id": id,
            "name": "deployment client",
            "authorizedGrantType": "CLIENT-CREDENTIALS",
            "roleDivisions": roles,
        }))
        .into_response()
    }

    /// The grant's subject must be an admin client named as one (`subjectType`).
    fn subject<'a>(
        state: &'a mut super::GenesysState,
        headers: &HeaderMap,
        subject: &str,
        query: Option<&str>,
    ) -> Result<&'a mut super::AdminClient, Box<Response>> {
        check_token(state, headers).map_err(|m| {
            Box::new(platform_error(
                StatusCode::UNAUTHORIZED,
                "bad.credentials",
                m,
            ))
        })?;
        let pairs = query_pairs(query).unwrap_or_default();
        let kind = pairs
            .iter()
            .find(|(n, _)| n == "subjectType")
            .map(|(_, v)| v.as_str());
        if kind != Some("PC_OAUTH_CLIENT") {
            return Err(Box::new(platform_error(
                StatusCode::NOT_FOUND,
                "not.found",
                "The user was not found.",
            )));
        }
        state.admin_clients.get_mut(subject).ok_or_else(|| {
            Box::new(platform_error(
                StatusCode::NOT_FOUND,
                "not.found",
                "The OAuth client was not found.",
            ))
        })
    }

    pub(super) async fn grant(
        State(state): State<Shared>,
        Path((subject_id, division, role)): Path<(String, String, String)>,
        RawQuery(query): RawQuery,
        headers: HeaderMap,
    ) -> Response {
        let mut state = lock(&state);
        match subject(&mut state, &headers, &subject_id, query.as_deref()) {
            Ok(client) => {
                let grant = (role, division);
                if !client.role_divisions.contains(&grant) {
                    client.role_divisions.push(grant);
                }
                StatusCode::NO_CONTENT.into_response()
            }
            Err(response) => *response,
        }
    }

    pub(super) async fn revoke(
        State(state): State<Shared>,
        Path((subject_id, division, role)): Path<(String, String, String)>,
        RawQuery(query): RawQuery,
        headers: HeaderMap,
    ) -> Response {
        let mut state = lock(&state);
        match subject(&mut state, &headers, &subject_id, query.as_deref()) {
            Ok(client) => {
                let before = client.role_divisions.len();
                client
                    .role_divisions
                    .retain(|g| *g != (role.clone(), division.clone()));
                if client.role_divisions.len() < before {
                    StatusCode::NO_CONTENT.into_response()
                } else {
                    platform_error(
                        StatusCode::NOT_FOUND,
                        "not.found",
                        "The grant was not found.",
                    )
                }
            }
            Err(response) => *response,
        }
    }
}
