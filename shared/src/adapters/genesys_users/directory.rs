//! The directory sweep's pages of the SCIM user list: the cursor (a SCIM `startIndex`) and
//! each page's users with their Teams ids.

use super::{SCIM_WHAT, id_excerpt, text};
use crate::adapters::genesys::teams_external_id;
use crate::domain::excerpt::excerpt;
use crate::domain::ids::GenesysUserId;
use crate::ports::{DirectoryAnswer, DirectoryPage, RemoteError, Service};
use serde_json::{Map, Value};
use tracing::warn;

/// The largest `startIndex` a cursor may hold: far beyond any org, small enough for any
/// arithmetic on it.
const MAX_START_INDEX: u64 = 1 << 40;

/// The `startIndex` a cursor names: `None` is the first page (1).
pub(super) fn start_index(cursor: Option<&str>) -> Result<u64, RemoteError> {
    let Some(cursor) = cursor else {
        return Ok(1);
    };
    cursor
        .parse::<u64>()
        .ok()
        .filter(|n| (1..=MAX_START_INDEX).contains(n) && cursor.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| RemoteError::Refused {
            service: Service::GenesysScim,
            detail: format!(
                "not sent: the directory cursor {} is not a SCIM startIndex (a whole number from 1 to {MAX_START_INDEX})",
                excerpt(cursor)
            ),
        })
}

/// One page of a SCIM ListResponse that started at `start`.
pub(super) fn directory(
    list: &Map<String, Value>,
    start: u64,
) -> Result<DirectoryPage, RemoteError> {
    let bad = |detail: String| RemoteError::BadResponse {
        service: Service::GenesysScim,
        detail,
    };
    let total = list
        .get("totalResults")
        .and_then(Value::as_u64)
        .ok_or_else(|| {
            bad(format!(
                "{SCIM_WHAT} answered without the number `totalResults`"
            ))
        })?;
    // "Resources": REQUIRED if "totalResults" is non-zero (RFC 7644 §3.4.2); a page past the
    // end may leave it out.
    let resources = match list.get("Resources") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(resources)) => resources.as_slice(),
        Some(_) => {
            return Err(bad(format!(
                "{SCIM_WHAT} answered `Resources` that is not a list"
            )));
        }
    };
    let mut users = Vec::with_capacity(resources.len());
    for resource in resources {
        let Some(user) = text(resource, "id").and_then(GenesysUserId::parse) else {
            warn!(service = %Service::GenesysScim, id = %id_excerpt(resource), "SCIM user list answered a user without a valid id; left out");
            continue;
        };
        // The list holds active users only (no filter); should an inactive one appear, it
        // has no presence to mirror.
        if resource.get("active").and_then(Value::as_bool) == Some(false) {
            continue;
        }
        let answer = match teams_external_id(resource) {
            Some(teams) => DirectoryAnswer::TeamsId(teams),
            None => DirectoryAnswer::NoTeamsId,
        };
        users.push((user, answer));
    }
    // The next page starts after what this one held (the server may hold fewer than asked).
    let next = start.saturating_add(resources.len() as u64);
    let more = !resources.is_empty() && next <= total && next <= MAX_START_INDEX;
    Ok(DirectoryPage {
        users,
        next: more.then(|| next.to_string()),
    })
}
