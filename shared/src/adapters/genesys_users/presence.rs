//! Genesys Cloud presence written, for the reverse direction, with the same token, retries,
//! throttle gate and error classification as the bulk reads:
//! `PATCH /api/v2/users/{userId}/presences/purecloud` with `presenceDefinition.id` and
//! `message` ("Option 2 … Option 3", PresenceApi `patchUserPresencesPurecloud`; answers the
//! `UserPresence`), and `GET /api/v2/presence/definitions` (PresenceApi
//! `getPresenceDefinitions0`; an `OrganizationPresenceDefinitionEntityListing`). Setting
//! another user's presence needs `presence:userPresence:edit` (PresenceApi,
//! `putUsersPresencesBulk`: "Requires ANY permissions: presence:userPresence:edit").

use super::users_api::presence_of;
use super::{GenesysUsers, text};
use crate::adapters::genesys::{error_text, is_not_found, refusal};
use crate::adapters::http::{self, Failure, MAX_BULK_BODY_BYTES, read_capped_to};
use crate::adapters::oauth::Authorized;
use crate::domain::event::{PresenceValue, Stamped};
use crate::domain::excerpt::excerpt;
use crate::domain::ids::{GenesysUserId, is_uuid};
use crate::domain::presence::SystemPresence;
use crate::domain::watch::{DefinitionKind, OrgDefinition};
use crate::ports::{Budget, GenesysPresence, PresenceChange, RemoteError, SecretSource, Service};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tracing::warn;

const SERVICE: Service = Service::GenesysUsers;
const WRITE_WHAT: &str = "presence write";
const DEFINITIONS_WHAT: &str = "presence definitions";
const DENIED_WRITE: &str = "the OAuth client's role needs presence:userPresence:edit";
/// The most definitions read: orgs have tens; more is a broken answer.
const MAX_DEFINITIONS: usize = 1_000;

impl<S: SecretSource> GenesysPresence for GenesysUsers<S> {
    async fn definitions(&self, budget: Budget) -> Result<Vec<OrgDefinition>, RemoteError> {
        let url = format!(
            "{}/api/v2/presence/definitions?deactivated=false",
            self.base
        );
        let listing = self
            .get_object(
                SERVICE,
                DEFINITIONS_WHAT,
                "definitions",
                "the OAuth client's role needs to view presence definitions",
                &url,
                budget,
            )
            .await?;
        definitions_in(&Value::Object(listing))
    }

    async fn set_presence(
        &self,
        user: &GenesysUserId,
        change: PresenceChange<'_>,
        budget: Budget,
    ) -> Result<Stamped<PresenceValue>, RemoteError> {
        if !is_uuid(change.definition_id) {
            return Err(RemoteError::Refused {
                service: SERVICE,
                detail: format!(
                    "not sent: presence definition {} is not a UUID",
                    excerpt(change.definition_id)
                ),
            });
        }
        let url = format!(
            "{}/api/v2/users/{}/presences/purecloud",
            self.base,
            user.as_str()
        );
        let body = json!({
            "presenceDefinition": { "id": change.definition_id },
            "message": change.message,
        });
        let answer = self.patch(user, &url, &body, budget).await?;
        match presence_of(&json!({ "presence": answer })) {
            Ok(Some(presence)) => Ok(presence),
            Ok(None) => Err(bad_answer(user, "no presence")),
            Err(why) => Err(bad_answer(user, &why)),
        }
    }
}

fn bad_answer(user: &GenesysUserId, why: &str) -> RemoteError {
    RemoteError::BadResponse {
        service: SERVICE,
        detail: format!(
            "the {WRITE_WHAT} of user {user} answered a presence without a usable value: {why}"
        ),
    }
}

impl<S: SecretSource> GenesysUsers<S> {
    /// PATCHes `body` to `url`: the answer's JSON object; Genesys's "not found" (the user is
    /// gone) is a refusal naming the user.
    async fn patch(
        &self,
        user: &GenesysUserId,
        url: &str,
        body: &Value,
        budget: Budget,
    ) -> Result<Value, RemoteError> {
        self.tokens
            .authorized(SERVICE, &self.gate, budget, |token| async move {
                let request = (self.http.client.patch(url))
                    .timeout(self.http.attempt_timeout(budget))
                    .bearer_auth(token.expose_secret())
                    .json(body);
                let response = http::send(SERVICE, "set_presence", request)
                    .await
                    .map_err(|e| Failure::transport(&e, WRITE_WHAT))?;
                let status = response.status();
                if http::is_transient(status) {
                    let headers = response.headers().clone();
                    return Err(Failure::transient_status(status, &headers, WRITE_WHAT));
                }
                let path = response.url().path().to_owned();
                let body =
                    read_capped_to(response, SERVICE, WRITE_WHAT, MAX_BULK_BODY_BYTES).await?;
                if status.is_success() {
                    let object = http::json_object(&body, SERVICE, WRITE_WHAT, "a UserPresence")?;
                    return Ok(Authorized::Done(Value::Object(object)));
                }
                if status == reqwest::StatusCode::NOT_FOUND && is_not_found(&body) {
                    return Err(Failure::Final(RemoteError::Refused {
                        service: SERVICE,
                        detail: format!(
                            "{WRITE_WHAT} answered {status}: Genesys does not know user {user}"
                        ),
                    }));
                }
                refusal(
                    SERVICE,
                    WRITE_WHAT,
                    status,
                    &error_text(&body),
                    &path,
                    DENIED_WRITE,
                )
            })
            .await
    }
}

/// The active definitions of a listing (`entities[]` with `id`, `systemPresence`, `type`); an
/// entry without a UUID id or a system presence is logged (cut) and left out.
fn definitions_in(listing: &Value) -> Result<Vec<OrgDefinition>, RemoteError> {
    let Some(entities) = listing.get("entities").and_then(Value::as_array) else {
        return Err(RemoteError::BadResponse {
            service: SERVICE,
            detail: format!("{DEFINITIONS_WHAT} answered without the list `entities`"),
        });
    };
    let mut found = Vec::new();
    for entity in entities.iter().take(MAX_DEFINITIONS) {
        let id = text(entity, "id").filter(|id| is_uuid(id));
        let system = text(entity, "systemPresence").filter(|s| s.len() <= 64);
        let deactivated = entity.get("deactivated").and_then(Value::as_bool) == Some(true);
        match (id, system) {
            (Some(id), Some(system)) if !deactivated => found.push(OrgDefinition {
                id: id.to_ascii_lowercase(),
                system: SystemPresence::observe(system),
                kind: if text(entity, "type") == Some("System") {
                    DefinitionKind::System
                } else {
                    DefinitionKind::User
                },
            }),
            (Some(_), Some(_)) => {}
            _ => {
                warn!(entry = %excerpt(&entity.to_string()), "a presence definition without a usable id or system presence is left out")
            }
        }
    }
    Ok(found)
}
