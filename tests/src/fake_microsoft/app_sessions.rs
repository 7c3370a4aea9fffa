//! `setPresence` and `clearPresence`: the calling app's presence session for a user, kept in
//! the presence model (presence: setPresence; presence: clearPresence, Microsoft Graph v1.0).
//! Both share the checks of the other presence actions (token, `Presence.ReadWrite.All`, the
//! user, the JSON content type) before their own.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use presence_core::adapters::memory::graph_presence::{SessionError, SessionState};
use serde_json::{Map, Value};

use super::{
    Caller, Shared, bad_body, check_presence_request, expiration_duration, graph_error, lock,
    parse_json_object, presence_of,
};

pub(super) async fn set_presence(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    const ACTION: &str = "setPresence";
    const PARAMETERS: [&str; 4] = [
        "sessionId",
        "availability",
        "activity",
        "expirationDuration",
    ];
    let mut state = lock(&state);
    let caller = match check_presence_request(&state, &id, &headers) {
        Ok(caller) => caller,
        Err(response) => return *response,
    };
    let object = match body_with(&body, &PARAMETERS, ACTION, &headers) {
        Ok(object) => object,
        Err(response) => return *response,
    };
    if let Err(response) = check_session_id(&object, &caller, &headers) {
        return *response;
    }
    let session = match session_state(&object, &headers) {
        Ok(session) => session,
        Err(response) => return *response,
    };
    // expirationDuration: ISO 8601, default PT5M, "The valid duration range is from 5 to 240
    // minutes (PT5M to PT4H)" (setPresence). Not documented: the answer outside the range;
    // 400 `invalidRequest` as for any other bad parameter.
    let (text, expiration) = match expiration_duration(&object, &headers) {
        Ok(expiration) => expiration.unzip(),
        Err(response) => return *response,
    };
    let now = state.now();
    let user = presence_of(&mut state, &caller.user);
    match user.set_app_session(&caller.app_id, session, expiration, now) {
        // "If successful, this method returns a 200 OK response code." (no body).
        Ok(()) => StatusCode::OK.into_response(),
        Err(_) => bad_body(
            &format!(
                "The value '{}' of 'expirationDuration' is outside the valid range PT5M to PT4H.",
                text.unwrap_or_default()
            ),
            &headers,
        ),
    }
}

pub(super) async fn clear_presence(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut state = lock(&state);
    let caller = match check_presence_request(&state, &id, &headers) {
        Ok(caller) => caller,
        Err(response) => return *response,
    };
    // The request body has the one parameter sessionId (clearPresence, Request body).
    let object = match body_with(&body, &["sessionId"], "clearPresence", &headers) {
        Ok(object) => object,
        Err(response) => return *response,
    };
    if let Err(response) = check_session_id(&object, &caller, &headers) {
        return *response;
    }
    let now = state.now();
    match presence_of(&mut state, &caller.user).clear_app_session(&caller.app_id, now) {
        // "If successful, this method returns a 200 OK response code."
        Ok(()) => StatusCode::OK.into_response(),
        // "If the presence session doesn't exist, this method returns a 404 NotFound response
        // code." (clearPresence). Not documented: the error code; `itemNotFound`, the same as
        // for an unknown user, so a client cannot (and must not) tell the two 404s apart by it.
        Err(SessionError::NoSuchSession | SessionError::ExpiryOutOfRange(_)) => graph_error(
            StatusCode::NOT_FOUND,
            "itemNotFound",
            &format!(
                "The presence session '{}' does not exist for user '{id}'.",
                caller.app_id
            ),
            &headers,
        ),
    }
}

/// "Supported combinations of availability and activity" (setPresence): the five pairs of
/// `SessionState::from_app_pair`; another is refused like setUserPreferredPresence's.
fn session_state(
    object: &Map<String, Value>,
    headers: &HeaderMap,
) -> Result<SessionState, Box<Response>> {
    let availability = required_string(object, "availability", headers)?;
    let activity = required_string(object, "activity", headers)?;
    SessionState::from_app_pair(availability, activity).ok_or_else(|| {
        Box::new(bad_body(
            &format!(
                "The combination of availability '{availability}' and activity '{activity}' is not supported."
            ),
            headers,
        ))
    })
}

/// The body as a JSON object with no parameter outside `allowed` (the request body tables
/// list no others: a strictness choice, as for setUserPreferredPresence).
fn body_with(
    body: &[u8],
    allowed: &[&str],
    action: &str,
    headers: &HeaderMap,
) -> Result<Map<String, Value>, Box<Response>> {
    let Some(object) = parse_json_object(body) else {
        return Err(Box::new(bad_body(
            "Empty Payload or invalid JSON. A JSON object is expected.",
            headers,
        )));
    };
    if let Some(unknown) = object.keys().find(|name| !allowed.contains(&name.as_str())) {
        return Err(Box::new(bad_body(
            &format!(
                "The parameter '{unknown}' in the request payload is not a valid parameter for the operation '{action}'."
            ),
            headers,
        )));
    }
    Ok(object)
}

fn required_string<'a>(
    object: &'a Map<String, Value>,
    name: &str,
    headers: &HeaderMap,
) -> Result<&'a str, Box<Response>> {
    match object.get(name) {
        Some(Value::String(value)) => Ok(value),
        _ => Err(Box::new(bad_body(
            &format!("The parameter '{name}' is required and must be a string."),
            headers,
        ))),
    }
}

/// "Provide the ID of the application as sessionId in the request." (setPresence and
/// clearPresence, Important). Not documented: the answer to another id; 400
/// `invalidRequest`, so that a client sending anything but its own client id fails here.
/// GUIDs compare case-insensitively.
fn check_session_id(
    object: &Map<String, Value>,
    caller: &Caller,
    headers: &HeaderMap,
) -> Result<(), Box<Response>> {
    let session_id = required_string(object, "sessionId", headers)?;
    if session_id.eq_ignore_ascii_case(&caller.app_id) {
        return Ok(());
    }
    Err(Box::new(bad_body(
        &format!(
            "The sessionId '{session_id}' is not the id of the calling application: provide the application's id as sessionId."
        ),
        headers,
    )))
}
