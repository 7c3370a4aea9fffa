//! The Genesys Cloud presence a user's own status follows, as the reverse direction writes it:
//! `PATCH /api/v2/users/{userId}/presences/purecloud` and the organization's presence
//! definitions, `GET /api/v2/presence/definitions` (Genesys platform SDK `PresenceApi`:
//! `patchUserPresencesPurecloud`, `getPresenceDefinitions`; models `UserPresence`,
//! `PresenceDefinition`, `OrganizationPresenceDefinition`,
//! `OrganizationPresenceDefinitionEntityListing`). Each successful PATCH changes what the
//! Users API serves, is recorded, and yields the `v2.users.{id}.presence` event Genesys
//! would send ([`PresenceWrite::event`]).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::{
    SYSTEM_PRESENCE_IDS, Shared, check_token, json_response, lock, platform_error, query_pairs,
};

/// A presence definition of the organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Definition {
    pub(super) id: String,
    /// As the REST API spells it: `Available`, `On Queue`, `Busy`…
    pub(super) system_presence: String,
    pub(super) label: String,
    /// `System` (the ten of every org) or `User` (made by the org).
    pub(super) kind: &'static str,
    pub(super) deactivated: bool,
}

/// The system definitions every org starts with (ids: reference sheet; spelling as the REST
/// API serves `systemPresence`, e.g. a captured `/api/v2/presencedefinitions` answer in
/// MyPureCloud/terraform-provider-genesyscloud: "On Queue", "Available"…).
pub(super) fn system_definitions() -> Vec<Definition> {
    SYSTEM_PRESENCE_IDS
        .iter()
        .map(|(name, id)| {
            let spelled = rest_spelling(name);
            Definition {
                id: (*id).to_owned(),
                system_presence: spelled.clone(),
                label: spelled,
                kind: "System",
                deactivated: false,
            }
        })
        .collect()
}

/// `ON_QUEUE` → `On Queue`.
fn rest_spelling(name: &str) -> String {
    name.split('_')
        .map(|word| {
            let lower = word.to_ascii_lowercase();
            let mut chars = lower.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One successful `PATCH .../presences/purecloud`, as Genesys applied it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceWrite {
    /// The user's id as the path gave it.
    pub user_id: String,
    pub definition_id: String,
    /// The definition's `systemPresence` (REST spelling).
    pub system_presence: String,
    /// The presence message after the change.
    pub message: String,
    /// Whether the request made PURECLOUD the primary source (`primary: true`).
    pub made_primary: bool,
    /// `modifiedDate`, RFC 3339 with milliseconds: the fake's clock at the change.
    pub modified_date: String,
    /// When the fake applied it (real clock).
    pub at: std::time::Instant,
}

impl PresenceWrite {
    /// The user's `UserPresence` after the change, as the Users API serves it and the PATCH
    /// answers it: `source`, `primary`, `presenceDefinition{id, systemPresence, selfUri}`,
    /// `message`, `modifiedDate` (UserPresence, PresenceDefinition models).
    pub fn user_presence(&self) -> Value {
        json!({
            "source": "PURECLOUD",
            "primary": true,
            "presenceDefinition": {
                "id": self.definition_id,
                "systemPresence": self.system_presence,
                "selfUri": format!("/api/v2/presence/definitions/{}", self.definition_id),
            },
            "message": self.message,
            "modifiedDate": self.modified_date,
        })
    }

    /// The `v2.users.{id}.presence` EventBridge event this change produces, built like
    /// `events::presence` builds one: body `source`, `presenceDefinition{id, systemPresence}`,
    /// `primary`, `message`, `modifiedDate` (reference sheet, Genesys Cloud → EventBridge).
    pub fn event(&self) -> Value {
        let base = chrono::DateTime::parse_from_rfc3339(&crate::events::at(0))
            .expect("events::at gives RFC 3339");
        let modified = chrono::DateTime::parse_from_rfc3339(&self.modified_date)
            .expect("the fake writes modifiedDate in RFC 3339");
        let ms = (modified - base).num_milliseconds();
        let mut event = crate::events::presence(&self.user_id, &self.system_presence, ms);
        let body = &mut event["detail"]["eventBody"];
        body["source"] = json!("PURECLOUD");
        body["presenceDefinition"]["id"] = json!(self.definition_id);
        body["message"] = json!(self.message);
        body["primary"] = json!(true);
        body["modifiedDate"] = json!(self.modified_date);
        event
    }
}

pub(super) async fn patch_user_presence(
    State(state): State<Shared>,
    Path((id, source)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut state = lock(&state);
    if let Err(message) = check_token(&state, &headers) {
        return platform_error(StatusCode::UNAUTHORIZED, "bad.credentials", message);
    }
    let bad = |message: &str| platform_error(StatusCode::BAD_REQUEST, "bad.request", message);
    // Sources other than PURECLOUD go to `patchUserPresence`, which "does not support
    // registered presence sources" (PresenceApi): not implemented by this fake.
    if !source.eq_ignore_ascii_case("purecloud") {
        return platform_error(
            StatusCode::NOT_FOUND,
            "not.found",
            &format!(
                "The fake Genesys server implements only the purecloud presence source, not '{source}'."
            ),
        );
    }
    // userId: a Genesys user id (a UUID). Not documented: a malformed one; 400 as the Users
    // API list answers a malformed id. An unknown or deleted user: 404.
    if !crate::fault::is_hyphenated_guid(&id) {
        return bad(&format!("The user id '{id}' is not a valid UUID."));
    }
    let change = match parse_change(&body, &state.definitions) {
        Ok(change) => change,
        Err(message) => return bad(&message),
    };
    let modified_date = state.clock_now();
    let Some(user) = state
        .users
        .get_mut(&id.to_ascii_lowercase())
        .filter(|user| !user.deleted)
    else {
        return platform_error(
            StatusCode::NOT_FOUND,
            "not.found",
            &format!("The user {id} was not found."),
        );
    };
    let write = change.applied_to(user.presence.as_ref(), &id, modified_date);
    let presence = write.user_presence();
    user.presence = Some(presence.clone());
    state.presence_writes.push(write);
    // The answer is the `UserPresence` (patchUserPresencesPurecloud, Return type).
    json_response(StatusCode::OK, "application/json", presence.to_string())
}

/// What a PATCH body asks for.
struct Change {
    primary: bool,
    definition: Option<Definition>,
    message: Option<String>,
}

impl Change {
    /// The change applied to the user's `current` presence (as the Users API serves it) at
    /// `modified_date`. PATCH keeps what it is not given: the definition, and the message
    /// (not documented whether a new definition without `message` keeps the message).
    fn applied_to(
        self,
        current: Option<&Value>,
        user_id: &str,
        modified_date: String,
    ) -> PresenceWrite {
        let current = current.cloned().unwrap_or(Value::Null);
        let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
        let (definition_id, system_presence) = match self.definition {
            Some(definition) => (definition.id, definition.system_presence),
            None => (
                text(&current["presenceDefinition"]["id"]),
                text(&current["presenceDefinition"]["systemPresence"]),
            ),
        };
        PresenceWrite {
            user_id: user_id.to_owned(),
            definition_id,
            system_presence,
            message: self.message.unwrap_or_else(|| text(&current["message"])),
            made_primary: self.primary,
            modified_date,
            at: std::time::Instant::now(),
        }
    }
}

/// The body: "The presence object can be patched one of three ways. Option 1: Set the
/// 'primary' property to true ... Option 2: Provide the presenceDefinition value. The 'id' is
/// the only value required within the presenceDefinition. Option 3: Provide the message value.
/// Option 1 can be combined with Option 2 and/or Option 3." (patchUserPresencesPurecloud).
/// Not said: whether 2 and 3 combine without 1; accepted (the reference sheet reads the
/// options as "any of"). A body with none of them, another field, a wrong type, or a
/// definition id the org does not have (or has deactivated): 400 (wording not documented).
fn parse_change(body: &[u8], definitions: &[Definition]) -> Result<Change, String> {
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) else {
        return Err("The request body must be a UserPresence JSON object.".to_owned());
    };
    if let Some(unknown) = object
        .keys()
        .find(|name| !["primary", "presenceDefinition", "message"].contains(&name.as_str()))
    {
        return Err(format!(
            "'{unknown}' cannot be patched: give primary, presenceDefinition.id or message."
        ));
    }
    if object.is_empty() {
        return Err("Nothing to patch: give primary, presenceDefinition.id or message.".to_owned());
    }
    let primary = match object.get("primary") {
        None => false,
        Some(Value::Bool(primary)) => *primary,
        Some(_) => return Err("'primary' must be a boolean.".to_owned()),
    };
    let message = match object.get("message") {
        None => None,
        Some(Value::String(message)) => Some(message.clone()),
        Some(_) => return Err("'message' must be a string.".to_owned()),
    };
    let definition = match object.get("presenceDefinition") {
        None => None,
        Some(Value::Object(fields)) => Some(definition_of(fields, definitions)?),
        Some(_) => return Err("'presenceDefinition' must be an object with an id.".to_owned()),
    };
    Ok(Change {
        primary,
        definition,
        message,
    })
}

fn definition_of(
    fields: &Map<String, Value>,
    definitions: &[Definition],
) -> Result<Definition, String> {
    let Some(id) = fields.get("id").and_then(Value::as_str) else {
        return Err("presenceDefinition.id is required and must be a string.".to_owned());
    };
    definitions
        .iter()
        .find(|d| d.id.eq_ignore_ascii_case(id) && !d.deactivated)
        .cloned()
        .ok_or_else(|| format!("The presence definition id '{id}' is not a valid presence definition of the organization."))
}

/// `GET /api/v2/presence/definitions`: `deactivated` ("Deactivated query can be TRUE or
/// FALSE", default false), `divisionId` and `localeCode` (accepted; this fake has one division
/// and English labels). The answer is an `OrganizationPresenceDefinitionEntityListing`:
/// `total`, `entities`, `selfUri`, with no paging (the SDK docs give the operation no page
/// parameters and the listing no page fields).
pub(super) async fn presence_definitions(
    State(state): State<Shared>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let state = lock(&state);
    if let Err(message) = check_token(&state, &headers) {
        return platform_error(StatusCode::UNAUTHORIZED, "bad.credentials", message);
    }
    let Some(pairs) = query_pairs(query.as_deref()) else {
        return platform_error(StatusCode::BAD_REQUEST, "bad.request", "Malformed query.");
    };
    let deactivated = match pairs.iter().find(|(name, _)| name == "deactivated") {
        None => false,
        Some((_, value)) if value.eq_ignore_ascii_case("true") => true,
        Some((_, value)) if value.eq_ignore_ascii_case("false") => false,
        Some((_, value)) => {
            return platform_error(
                StatusCode::BAD_REQUEST,
                "bad.request",
                &format!("Value [{value}] for deactivated must be TRUE or FALSE."),
            );
        }
    };
    let entities: Vec<Value> = state
        .definitions
        .iter()
        .filter(|d| d.deactivated == deactivated)
        .map(|d| {
            json!({
                "id": d.id,
                "type": d.kind,
                "languageLabels": { "en_US": d.label },
                "systemPresence": d.system_presence,
                "deactivated": d.deactivated,
                "selfUri": format!("/api/v2/presence/definitions/{}", d.id),
            })
        })
        .collect();
    let body = json!({
        "total": entities.len(),
        "entities": entities,
        "selfUri": "/api/v2/presence/definitions",
    });
    json_response(StatusCode::OK, "application/json", body.to_string())
}
