//! Microsoft Graph presence read in bulk: `POST /communications/getPresencesByUserId`, the
//! aggregated presence (`availability`, `activity`) of up to 650 users per request.
//!
//! [`GraphPresence`] implements the read as well as the writes, so that one process's reads
//! and writes share the token cache and the throttle gate: Graph limits presence calls per
//! app per tenant, and a 429 on either must hold both back.

use super::graph::{GraphPresence, error_detail, first_line, refusal};
use super::http::{self, Failure, MAX_BULK_BODY_BYTES, read_capped_to};
use super::oauth::Authorized;
use crate::domain::excerpt::cut;
use crate::domain::ids::TeamsUserId;
use crate::ports::{Budget, PresenceReader, RemoteError, SecretSource, Service, TeamsNow};
use secrecy::ExposeSecret;
use std::collections::HashSet;
use tracing::warn;

const SERVICE: Service = Service::Graph;
const ACTION: &str = "getPresencesByUserId";

/// "Maximum of 650 user IDs are supported per API request." (Microsoft Graph v1.0,
/// cloudCommunications: getPresencesByUserId, Note).
pub const MAX_USERS: usize = 650;

/// The longest `availability` or `activity` returned: Graph's values are short words
/// (`DoNotDisturb`, `InAConferenceCall`, `PresenceUnknown`); anything longer is cut here so
/// that no remote text of any length reaches a log line or the state table.
pub const MAX_VALUE_LEN: usize = 64;

/// The value cut to [`MAX_VALUE_LEN`] characters, on one line.
fn bounded(value: &str) -> String {
    let line = first_line(value);
    match line.char_indices().nth(MAX_VALUE_LEN) {
        Some((end, _)) => line[..end].to_owned(),
        None => line.to_owned(),
    }
}

/// The presences of the requested users in a success body: `{"value": [presence, …]}` with
/// each presence's `id`, `availability` and `activity` (Graph v1.0 presence resource). An
/// entry for a user not asked for, or without the three strings, is left out (and logged,
/// cut); a body without a `value` list breaks the contract.
fn presences(body: &[u8], asked: &HashSet<&str>) -> Result<Vec<TeamsNow>, Failure> {
    let object = http::json_object(body, SERVICE, ACTION, "a collection of presences")?;
    let Some(entries) = object.get("value").and_then(|v| v.as_array()) else {
        return Err(Failure::Final(RemoteError::BadResponse {
            service: SERVICE,
            detail: format!("{ACTION} answered without the list `value`"),
        }));
    };
    let mut seen = HashSet::new();
    let mut found = Vec::with_capacity(entries.len());
    let mut skipped = 0usize;
    for entry in entries {
        let text = |name: &str| entry.get(name).and_then(|v| v.as_str());
        let user = text("id").and_then(TeamsUserId::parse);
        match (user, text("availability"), text("activity")) {
            (Some(user), Some(availability), Some(activity)) if asked.contains(user.as_str()) => {
                if seen.insert(user.clone()) {
                    found.push(TeamsNow {
                        user,
                        availability: bounded(availability),
                        activity: bounded(activity),
                    });
                }
            }
            _ => skipped += 1,
        }
    }
    if skipped > 0 {
        let example = entries
            .iter()
            .find_map(|e| e.get("id").and_then(|v| v.as_str()))
            .map(cut)
            .unwrap_or_default();
        warn!(
            service = %SERVICE,
            skipped,
            example = %example,
            "getPresencesByUserId answered entries without a requested id, availability or activity; left out"
        );
    }
    Ok(found)
}

async fn classify(
    response: reqwest::Response,
    asked: &HashSet<&str>,
) -> Result<Authorized<Vec<TeamsNow>>, Failure> {
    let status = response.status();
    if status.is_success() {
        let body = read_capped_to(response, SERVICE, ACTION, MAX_BULK_BODY_BYTES).await?;
        return Ok(Authorized::Done(presences(&body, asked)?));
    }
    let headers = response.headers().clone();
    if http::is_transient(status) {
        return Err(Failure::transient_status(status, &headers, ACTION));
    }
    // Only the path: the query and any user info of the URL stay out of errors.
    let path = response.url().path().to_owned();
    let (_, detail) = error_detail(status, ACTION, response).await;
    // A bulk read has no "unknown user" answer: a 404 is a wrong base URL.
    refusal(
        ACTION,
        status,
        detail,
        &path,
        "the app registration most likely lacks the Microsoft Graph application permission Presence.Read.All (or Presence.ReadWrite.All) with admin consent",
    )
}

impl<S: SecretSource> PresenceReader for GraphPresence<S> {
    const MAX_USERS: usize = MAX_USERS;

    async fn read(
        &self,
        users: &[TeamsUserId],
        budget: Budget,
    ) -> Result<Vec<TeamsNow>, RemoteError> {
        if users.len() > MAX_USERS {
            return Err(RemoteError::Refused {
                service: SERVICE,
                detail: format!(
                    "not sent: {ACTION} takes at most {MAX_USERS} ids per request, {} were asked for",
                    users.len()
                ),
            });
        }
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let asked: HashSet<&str> = users.iter().map(TeamsUserId::as_str).collect();
        // Validated GUIDs, each once.
        let ids: Vec<&str> = asked.iter().copied().collect();
        let body = serde_json::json!({ "ids": ids });
        let url = format!("{}/communications/{ACTION}", self.base);
        self.tokens
            .authorized(SERVICE, &self.gate, budget, |token| {
                let (url, body, asked) = (&url, &body, &asked);
                async move {
                    // Built when the attempt starts, after any Retry-After wait.
                    let request = self
                        .http
                        .client
                        .post(url)
                        .timeout(self.http.attempt_timeout(budget))
                        .bearer_auth(token.expose_secret())
                        .json(body);
                    let response = http::send(SERVICE, "read", request)
                        .await
                        .map_err(|e| Failure::transport(&e, ACTION))?;
                    classify(response, asked).await
                }
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const A: &str = "8d1f3c2a-0000-4000-8000-000000000001";
    const B: &str = "8d1f3c2a-0000-4000-8000-000000000002";

    #[test]
    fn values_are_cut_to_one_bounded_line() {
        assert_eq!(bounded("Available"), "Available");
        assert_eq!(bounded(&"x".repeat(10_000)).chars().count(), MAX_VALUE_LEN);
        assert_eq!(bounded("Busy\nforged log line"), "Busy");
    }

    #[test]
    fn entries_not_asked_for_or_incomplete_are_left_out() {
        let asked: HashSet<&str> = [A].into_iter().collect();
        let body = json!({"value": [
            {"id": A.to_uppercase(), "availability": "Busy", "activity": "InACall"},
            {"id": B, "availability": "Away", "activity": "Away"},
            {"id": A, "availability": "Away"},
            {"id": "not-a-guid", "availability": "Away", "activity": "Away"},
        ]})
        .to_string();
        let found = presences(body.as_bytes(), &asked).unwrap();
        assert_eq!(
            found,
            vec![TeamsNow {
                user: TeamsUserId::parse(A).unwrap(),
                availability: "Busy".into(),
                activity: "InACall".into(),
            }]
        );
    }

    #[test]
    fn a_body_without_the_value_list_names_it() {
        let asked = HashSet::new();
        for body in [json!({}), json!({"value": {}})] {
            let Err(Failure::Final(error)) = presences(body.to_string().as_bytes(), &asked) else {
                panic!("accepted {body}");
            };
            assert!(error.to_string().contains("`value`"), "{error}");
        }
    }
}
