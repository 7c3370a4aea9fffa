//! The Users API's answer to a bulk read: each requested user's presence and routing status,
//! each with the Genesys timestamp that versions it; a value without one is left out, never
//! given an invented version.

use super::{USERS_WHAT, id_excerpt, text};
use crate::domain::event::{PresenceValue, Stamped};
use crate::domain::excerpt::{cut, excerpt};
use crate::domain::ids::{GenesysUserId, is_uuid};
use crate::domain::presence::{Observed, RoutingStatus, SystemPresence};
use crate::domain::scope::{Membership, ScopeId};
use crate::domain::state::Observation;
use crate::domain::version::Version;
use crate::ports::{Account, GenesysNow, RemoteError, Service};
use serde_json::{Map, Value};
use std::collections::HashSet;
use tracing::warn;

/// The longest presence or routing status value accepted, as for events.
const MAX_ENUM_LEN: usize = 64;

/// Why a dimension of a user was left out (for the log; every remote value cut).
type Skip = String;

/// The user's presence stamped with `presence.modifiedDate`, `None` when there is none.
pub(super) fn presence_of(user: &Value) -> Result<Option<Stamped<PresenceValue>>, Skip> {
    let Some(presence) = user.get("presence").filter(|p| !p.is_null()) else {
        return Ok(None);
    };
    let definition = presence.get("presenceDefinition").unwrap_or(&Value::Null);
    let system = text(definition, "systemPresence")
        .ok_or("presence.presenceDefinition.systemPresence is missing")?;
    if system.len() > MAX_ENUM_LEN {
        return Err(format!(
            "presence.presenceDefinition.systemPresence {} is too long",
            excerpt(system)
        ));
    }
    let definition_id = match definition.get("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) if is_uuid(id) => Some(id.to_ascii_lowercase()),
        Some(other) => {
            return Err(format!(
                "presence.presenceDefinition.id {} is not a UUID",
                excerpt(&other.to_string())
            ));
        }
    };
    let version = stamp(presence, "modifiedDate", "presence.modifiedDate")?;
    Ok(Some(Stamped {
        value: PresenceValue {
            system: SystemPresence::observe(system),
            definition_id,
        },
        version,
    }))
}

/// The user's routing status stamped with `routingStatus.startTime`, `None` when there is none.
fn routing_of(user: &Value) -> Result<Option<Stamped<Observed<RoutingStatus>>>, Skip> {
    let Some(routing) = user.get("routingStatus").filter(|r| !r.is_null()) else {
        return Ok(None);
    };
    let status = text(routing, "status").ok_or("routingStatus.status is missing")?;
    if status.len() > MAX_ENUM_LEN {
        return Err(format!(
            "routingStatus.status {} is too long",
            excerpt(status)
        ));
    }
    let version = stamp(routing, "startTime", "routingStatus.startTime")?;
    Ok(Some(Stamped {
        value: RoutingStatus::observe(status),
        version,
    }))
}

/// The version a timestamp field gives; never invented: missing or unparseable is a skip.
fn stamp(object: &Value, field: &str, path: &str) -> Result<Version, Skip> {
    match object.get(field) {
        None | Some(Value::Null) => Err(format!("{path} is missing")),
        Some(Value::String(raw)) => Version::parse(raw)
            .ok_or_else(|| format!("{path} {} is not an RFC 3339 time", excerpt(raw))),
        Some(other) => Err(format!(
            "{path} {} is not a string",
            excerpt(&other.to_string())
        )),
    }
}

/// The account `state` of a user (`active`, `inactive`, `deleted`; absent: active, the only
/// state a listing without `state=any` holds); `None` for a value this version does not know.
fn account_of(user: &Value) -> Option<Account> {
    match user.get("state") {
        None | Some(Value::Null) => Some(Account::Active),
        Some(Value::String(state)) => match state.as_str() {
            "active" => Some(Account::Active),
            "inactive" => Some(Account::Inactive),
            "deleted" => Some(Account::Deleted),
            _ => None,
        },
        Some(_) => None,
    }
}

/// The most groups read of one user: more is a broken answer (an agent is in a handful).
const MAX_GROUPS: usize = 1_000;

/// The user's division (`division.id`) and, when the answer expanded them, groups
/// (`groups[].id`); ids that are not UUIDs are left out (logged, cut).
fn membership_of(user: &GenesysUserId, entity: &Value) -> Membership {
    let division = entity
        .get("division")
        .and_then(|d| d.get("id"))
        .and_then(Value::as_str)
        .and_then(ScopeId::parse);
    let groups = match entity.get("groups").and_then(Value::as_array) {
        Some(groups) if groups.len() <= MAX_GROUPS => Some(
            groups
                .iter()
                .filter_map(|g| g.get("id").and_then(Value::as_str))
                .filter_map(ScopeId::parse)
                .collect(),
        ),
        Some(groups) => {
            warn!(service = %Service::GenesysUsers, user = %user, groups = groups.len(), "bulk read answered more groups than any user has; the user's groups are taken as unknown");
            None
        }
        None => None,
    };
    Membership {
        division,
        groups,
        queues: None,
    }
}

/// Whether a listing holds every user it counts (`total`, bounded); a listing without a
/// `total` counts what it holds.
fn complete(listing: &Map<String, Value>, held: usize) -> bool {
    match listing.get("total").and_then(Value::as_u64) {
        Some(total) => total <= held as u64,
        None => true,
    }
}

/// The requested users in a `UserEntityListing`, each with its account state and the
/// dimensions it carries with a usable timestamp. Users not asked for, or answered twice, are
/// left out; a dimension without a usable value or timestamp is left out and logged (cut).
/// Asked users the listing lacks are [`Account::NotFound`] when the listing is complete, and
/// left out (with a warning) when Genesys answered fewer users than it counted.
pub(super) fn users_now(
    listing: &Map<String, Value>,
    asked: &HashSet<&str>,
) -> Result<Vec<GenesysNow>, RemoteError> {
    let mut found = answered(listing, asked)?;
    let entities = listing.get("entities").and_then(Value::as_array);
    let held = entities.map_or(0, Vec::len);
    if !complete(listing, held) {
        let total = listing.get("total").and_then(Value::as_u64).unwrap_or(0);
        warn!(service = %Service::GenesysUsers, held, total, asked = asked.len(), "the bulk read answered fewer users than it counted; the users it left out are judged on a later pass");
        return Ok(found);
    }
    let answered: HashSet<GenesysUserId> = found.iter().map(|n| n.user.clone()).collect();
    for id in asked {
        if let Some(user) = GenesysUserId::parse(id).filter(|u| !answered.contains(u)) {
            found.push(GenesysNow {
                user,
                account: Account::NotFound,
                observation: Observation::default(),
                membership: Membership::default(),
            });
        }
    }
    Ok(found)
}

/// The asked users a listing holds, each read as far as it can be.
fn answered(
    listing: &Map<String, Value>,
    asked: &HashSet<&str>,
) -> Result<Vec<GenesysNow>, RemoteError> {
    let Some(entities) = listing.get("entities").and_then(Value::as_array) else {
        return Err(RemoteError::BadResponse {
            service: Service::GenesysUsers,
            detail: format!("{USERS_WHAT} answered without the list `entities`"),
        });
    };
    let mut seen = HashSet::new();
    let mut found = Vec::with_capacity(entities.len());
    for entity in entities {
        let Some(user) = text(entity, "id").and_then(GenesysUserId::parse) else {
            warn!(service = %Service::GenesysUsers, id = %id_excerpt(entity), "bulk read answered a user without a valid id; left out");
            continue;
        };
        if !asked.contains(user.as_str()) || !seen.insert(user.clone()) {
            continue;
        }
        let Some(account) = account_of(entity) else {
            let state = excerpt(
                &entity
                    .get("state")
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            );
            warn!(service = %Service::GenesysUsers, user = %user, state = %state, "bulk read answered an account state this version does not know; the user is judged on a later pass");
            continue;
        };
        let mut observation = Observation::default();
        match presence_of(entity) {
            Ok(presence) => observation.presence = presence,
            Err(why) => {
                warn!(service = %Service::GenesysUsers, user = %user, why = %cut(&why), "presence left out")
            }
        }
        match routing_of(entity) {
            Ok(routing) => observation.routing = routing,
            Err(why) => {
                warn!(service = %Service::GenesysUsers, user = %user, why = %cut(&why), "routing status left out")
            }
        }
        found.push(GenesysNow {
            membership: membership_of(&user, entity),
            user,
            account,
            observation,
        });
    }
    Ok(found)
}
