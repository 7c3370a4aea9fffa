//! What the sync's scope reads of Genesys Cloud: a user's division and groups
//! (`GET /api/v2/users/{userId}` with `expand=groups`; the bulk list serves them too), the
//! queues a user is a member of (`GET /api/v2/users/{userId}/queues`), a queue's members
//! (`GET /api/v2/routing/queues/{queueId}/members`), and the division, group and queue
//! themselves (`GET /api/v2/authorization/divisions/{divisionId}`, `GET /api/v2/groups/{groupId}`,
//! `GET /api/v2/routing/queues/{queueId}`), each as the Genesys platform SDK docs describe it
//! (UsersApi `getUser`, `getUserQueues`; RoutingApi `getRoutingQueueMembers`,
//! `getRoutingQueue`; GroupsApi `getGroup`; AuthorizationApi `getAuthorizationDivision`;
//! models `User`, `UserQueueEntityListing`, `QueueMemberEntityListing`, `Group`,
//! `AuthzDivision`, `Queue`). Paged answers follow the Users API's shape (`entities`,
//! `pageSize`, `pageNumber`, `total`, `pageCount`).

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::{
    GenesysState, Shared, User, check_token, json_response, list_values, lock, number_param,
    platform_error, query_pairs,
};

/// The largest `pageSize` of the queue and member listings. Not on a reference page (the
/// docs give the default, 25); 100 as the Routing API's listings accept.
const MAX_PAGE_SIZE: i64 = 100;

/// A division, group or queue of the organization: its id and name.
#[derive(Debug, Clone, Default)]
pub(super) struct Named {
    pub(super) divisions: std::collections::HashMap<String, String>,
    pub(super) groups: std::collections::HashMap<String, String>,
    pub(super) queues: std::collections::HashMap<String, String>,
}

/// A reference as the API serves one: `{id, name, selfUri}`.
fn reference(id: &str, name: &str, path: &str) -> Value {
    json!({"id": id, "name": name, "selfUri": format!("{path}/{id}")})
}

/// The `division` and, with `expand=groups`, the `groups` of a user entity.
pub(super) fn add_membership(entity: &mut Value, user: &User, named: &Named, groups: bool) {
    if let Some(division) = &user.division {
        let name = named.divisions.get(division).map_or("", String::as_str);
        entity["division"] = reference(division, name, "/api/v2/authorization/divisions");
    }
    if groups {
        let refs: Vec<Value> = user
            .groups
            .iter()
            .map(|id| {
                let name = named.groups.get(id).map_or("", String::as_str);
                reference(id, name, "/api/v2/groups")
            })
            .collect();
        entity["groups"] = Value::Array(refs);
    }
}

fn unauthorized() -> Response {
    platform_error(
        StatusCode::UNAUTHORIZED,
        "bad.credentials",
        "Invalid login credentials.",
    )
}

fn not_found(what: &str, id: &str) -> Response {
    platform_error(
        StatusCode::NOT_FOUND,
        "not.found",
        &format!("The {what} {id} could not be found."),
    )
}

/// A page of `all` as `pageSize` and `pageNumber` ask (default 25, first), or the 400.
fn page(query: Option<&str>, all: Vec<Value>) -> Result<Value, Box<Response>> {
    let bad = |m: String| Box::new(platform_error(StatusCode::BAD_REQUEST, "bad.request", &m));
    let pairs = query_pairs(query).ok_or_else(|| bad("Malformed query.".to_owned()))?;
    let size = match number_param(&pairs, "pageSize") {
        Ok(None) => 25,
        Ok(Some(n)) if (1..=MAX_PAGE_SIZE).contains(&n) => n,
        Ok(Some(n)) => return Err(bad(format!("Value [{n}] for pageSize is invalid."))),
        Err(raw) => return Err(bad(format!("Value [{raw}] for pageSize is not a number."))),
    };
    let number = match number_param(&pairs, "pageNumber") {
        Ok(None) => 1,
        Ok(Some(n)) if n >= 1 => n,
        Ok(Some(n)) => return Err(bad(format!("Value [{n}] for pageNumber is invalid."))),
        Err(raw) => {
            return Err(bad(format!(
                "Value [{raw}] for pageNumber is not a number."
            )));
        }
    };
    let total = all.len() as i64;
    let skip = usize::try_from((number - 1).saturating_mul(size)).unwrap_or(usize::MAX);
    let entities: Vec<Value> = all
        .into_iter()
        .skip(skip)
        .take(usize::try_from(size).unwrap_or(usize::MAX))
        .collect();
    Ok(json!({
        "entities": entities,
        "pageSize": size,
        "pageNumber": number,
        "total": total,
        "pageCount": (total + size - 1) / size,
    }))
}

fn ok(body: &Value) -> Response {
    json_response(StatusCode::OK, "application/json", body.to_string())
}

fn user_of<'a>(state: &'a GenesysState, id: &str) -> Option<&'a User> {
    (state.users.get(&id.to_ascii_lowercase())).filter(|user| !user.deleted)
}

/// `GET /api/v2/users/{userId}` (`expand=groups` adds the groups; the division is always
/// there). An unknown or deleted user: 404.
pub(super) async fn get_user(
    State(state): State<Shared>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let state = lock(&state);
    if check_token(&state, &headers).is_err() {
        return unauthorized();
    }
    let Some(user) = user_of(&state, &id) else {
        return not_found("user", &id);
    };
    let pairs = query_pairs(query.as_deref()).unwrap_or_default();
    let groups = list_values(&pairs, "expand").iter().any(|e| e == "groups");
    let mut entity = json!({
        "id": user.id,
        "name": user.display_name,
        "email": user.user_name,
        "state": if user.active { "active" } else { "inactive" },
        "selfUri": format!("/api/v2/users/{}", user.id),
    });
    add_membership(&mut entity, user, &state.named, groups);
    ok(&entity)
}

/// `GET /api/v2/users/{userId}/queues`: the queues the user is a member of (`joined`,
/// default true: the ones they joined; the fake's members are all joined).
pub(super) async fn user_queues(
    State(state): State<Shared>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let state = lock(&state);
    if check_token(&state, &headers).is_err() {
        return unauthorized();
    }
    let Some(user) = user_of(&state, &id) else {
        return not_found("user", &id);
    };
    let queues: Vec<Value> = user
        .queues
        .iter()
        .map(|q| {
            let name = state.named.queues.get(q).map_or("", String::as_str);
            let mut queue = reference(q, name, "/api/v2/routing/queues");
            queue["joined"] = Value::Bool(true);
            queue
        })
        .collect();
    match page(query.as_deref(), queues) {
        Ok(listing) => ok(&listing),
        Err(refused) => *refused,
    }
}

/// `GET /api/v2/routing/queues/{queueId}/members`: the queue's members, in user-id order.
pub(super) async fn queue_members(
    State(state): State<Shared>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let state = lock(&state);
    if check_token(&state, &headers).is_err() {
        return unauthorized();
    }
    let id = id.to_ascii_lowercase();
    if !state.named.queues.contains_key(&id) {
        return not_found("queue", &id);
    }
    let mut members: Vec<&User> = (state.users.values())
        .filter(|u| !u.deleted && u.queues.contains(&id))
        .collect();
    members.sort_by(|a, b| a.id.cmp(&b.id));
    let members: Vec<Value> = members
        .into_iter()
        .map(|u| {
            json!({
                "id": u.id,
                "name": u.display_name,
                "user": reference(&u.id, &u.display_name, "/api/v2/users"),
                "joined": true,
                "memberBy": "user",
            })
        })
        .collect();
    match page(query.as_deref(), members) {
        Ok(listing) => ok(&listing),
        Err(refused) => *refused,
    }
}

/// What a lookup by id names.
#[derive(Clone, Copy)]
enum Kind {
    Division,
    Group,
    Queue,
}

/// `GET /api/v2/authorization/divisions/{id}`.
pub(super) async fn get_division(
    state: State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    get_named(state, Kind::Division, &id, &headers)
}

/// `GET /api/v2/groups/{id}`.
pub(super) async fn get_group(
    state: State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    get_named(state, Kind::Group, &id, &headers)
}

/// `GET /api/v2/routing/queues/{id}`.
pub(super) async fn get_queue(
    state: State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    get_named(state, Kind::Queue, &id, &headers)
}

/// The named thing, or 404.
fn get_named(State(state): State<Shared>, kind: Kind, id: &str, headers: &HeaderMap) -> Response {
    let state = lock(&state);
    if check_token(&state, headers).is_err() {
        return unauthorized();
    }
    let id = id.to_ascii_lowercase();
    let (names, what, path) = match kind {
        Kind::Division => (
            &state.named.divisions,
            "division",
            "/api/v2/authorization/divisions",
        ),
        Kind::Group => (&state.named.groups, "group", "/api/v2/groups"),
        Kind::Queue => (&state.named.queues, "queue", "/api/v2/routing/queues"),
    };
    match names.get(&id) {
        Some(name) => ok(&reference(&id, name, path)),
        None => not_found(what, &id),
    }
}
