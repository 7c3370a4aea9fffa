//! Genesys Cloud: the Teams id the Microsoft Teams SCIM integration stores on a user, read
//! through the SCIM API with the app's client-credentials token.

use super::http::{self, Failure, Http, ThrottleGate, read_capped};
use super::oauth::{Authorized, GenesysLogin, TokenCache};
use crate::domain::excerpt::cut;
use crate::domain::ids::GenesysUserId;
use crate::ports::{Budget, DirectoryAnswer, RemoteError, SecretSource, Service, TeamsDirectory};
use reqwest::{StatusCode, Url};
use secrecy::ExposeSecret;
use std::sync::Arc;

const SERVICE: Service = Service::GenesysScim;
/// The SCIM error message schema (RFC 7644 §3.12).
const SCIM_ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// The codes of the Platform API's error body (`ErrorBody`: `message`, `code`, `status`, …)
/// that say the resource does not exist.
const NOT_FOUND_CODES: [&str; 2] = ["not.found", "resource.not.found"];
pub(super) const EXTENSION: &str =
    "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User";
const TEAMS_AUTHORITY: &str = "microsoftteams";

pub struct GenesysScim<S> {
    http: Http,
    base: String,
    /// Shared with the process's other Genesys clients: one token per OAuth client.
    tokens: Arc<TokenCache<S, GenesysLogin>>,
    gate: ThrottleGate,
    /// The Users API on the same token: a user's memberships (the scope).
    users: super::genesys_users::GenesysUsers<S>,
}

impl<S: SecretSource> GenesysScim<S> {
    /// `tokens` may be shared with the process's other Genesys clients (an `Arc`), or its own.
    pub fn new(
        http: Http,
        api_url: &Url,
        tokens: impl Into<Arc<TokenCache<S, GenesysLogin>>>,
    ) -> Self {
        let tokens = tokens.into();
        GenesysScim {
            users: super::genesys_users::GenesysUsers::new(http.clone(), api_url, tokens.clone()),
            http,
            base: api_url.as_str().trim_end_matches('/').to_owned(),
            tokens,
            gate: ThrottleGate::default(),
        }
    }
}

/// The `microsoftteams` external id in a SCIM user, if any.
pub fn teams_external_id(user: &serde_json::Value) -> Option<String> {
    user.get(EXTENSION)?
        .get("externalIds")?
        .as_array()?
        .iter()
        .find(|id| id.get("authority").and_then(|a| a.as_str()) == Some(TEAMS_AUTHORITY))?
        .get("value")?
        .as_str()
        .map(str::to_owned)
}

/// Whether a 404 body is Genesys saying the user does not exist: a SCIM error (RFC 7644
/// §3.12, status 404) or a Platform API error with a "not found" code. A 404 without one
/// (no body, HTML, another code) did not come from the SCIM API: the base URL is wrong.
/// Whether a 404 answer's body is Genesys saying the resource does not exist.
pub(super) fn is_not_found(body: &[u8]) -> bool {
    is_unknown_user(&serde_json::from_slice(body).unwrap_or_default())
}

fn is_unknown_user(body: &serde_json::Value) -> bool {
    let scim_404 = body
        .get("schemas")
        .and_then(|s| s.as_array())
        .is_some_and(|schemas| {
            schemas
                .iter()
                .any(|s| s.as_str() == Some(SCIM_ERROR_SCHEMA))
        })
        && match body.get("status") {
            Some(serde_json::Value::String(s)) => s.trim() == "404",
            Some(serde_json::Value::Number(n)) => n.as_u64() == Some(404),
            _ => false,
        };
    let not_found_code = body
        .get("code")
        .and_then(|c| c.as_str())
        .is_some_and(|code| NOT_FOUND_CODES.contains(&code));
    scim_404 || not_found_code
}

/// What an error body says, cut: a Platform API error's code and message, a SCIM error's
/// detail, or the body's first line.
pub(super) fn error_text(body: &[u8]) -> String {
    let first_line = |text: &str| cut(text.lines().next().unwrap_or(""));
    let json = serde_json::from_slice::<serde_json::Value>(body).unwrap_or_default();
    let field = |name: &str| json.get(name).and_then(|v| v.as_str()).map(first_line);
    match (field("code"), field("message").or_else(|| field("detail"))) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(text), None) | (None, Some(text)) => text,
        (None, None) => first_line(&String::from_utf8_lossy(body)),
    }
}

async fn classify(response: reqwest::Response) -> Result<Authorized<DirectoryAnswer>, Failure> {
    let status = response.status();
    let headers = response.headers().clone();
    if http::is_transient(status) {
        return Err(Failure::transient_status(
            status,
            &headers,
            "SCIM user lookup",
        ));
    }
    // Only the path: the query and any user info of the URL stay out of errors.
    let path = response.url().path().to_owned();
    let body = read_capped(response, SERVICE, "SCIM user lookup").await?;
    let text = || error_text(&body);
    match status {
        s if s.is_success() => {
            let user = serde_json::Value::Object(http::json_object(
                &body,
                SERVICE,
                "SCIM user lookup",
                "a user",
            )?);
            // SCIM's `active` (RFC 7643 §4.1.1): a deactivated user's Teams is not ours to
            // drive, whatever external id they keep.
            if user.get("active") == Some(&serde_json::Value::Bool(false)) {
                return Ok(Authorized::Done(DirectoryAnswer::Inactive));
            }
            Ok(Authorized::Done(match teams_external_id(&user) {
                Some(id) => DirectoryAnswer::TeamsId(id),
                None => DirectoryAnswer::NoTeamsId,
            }))
        }
        StatusCode::NOT_FOUND
            if is_unknown_user(&serde_json::from_slice(&body).unwrap_or_default()) =>
        {
            Ok(Authorized::Done(DirectoryAnswer::UnknownUser))
        }
        _ => refusal(
            SERVICE,
            "SCIM user lookup",
            status,
            &text(),
            &path,
            "the OAuth client's role needs permission to read users through SCIM",
        ),
    }
}

/// What a Genesys API answer that is neither a success, nor worth retrying, nor a case the
/// caller recognises (an unknown user) means: 401 asks for a new token, 403 is a missing
/// permission (`denied_hint` says which), 404 a base URL that does not reach the API (a
/// Genesys API path that exists does not answer 404 for a query), anything else a refusal.
/// `text` is the error body's cut excerpt ([`error_text`]), `path` the URL path only.
pub(super) fn refusal<T>(
    service: Service,
    what: &str,
    status: StatusCode,
    text: &str,
    path: &str,
    denied_hint: &str,
) -> Result<Authorized<T>, Failure> {
    match status {
        StatusCode::NOT_FOUND => Err(Failure::Final(RemoteError::Configuration {
            service,
            detail: format!(
                "{what} answered {status} ({text}) at path {path}, which is not how Genesys answers for an unknown user: the URL does not reach {service}; check GENESYS_API_URL or GENESYS_ENVIRONMENT"
            ),
        })),
        StatusCode::UNAUTHORIZED => Ok(Authorized::Unauthorized(format!("{status}: {text}"))),
        StatusCode::FORBIDDEN => Err(Failure::Final(RemoteError::Denied {
            service,
            detail: format!("{what} answered {status}: {text} — {denied_hint}"),
        })),
        _ => Err(Failure::Final(RemoteError::Refused {
            service,
            detail: format!("{what} answered {status}: {text}"),
        })),
    }
}

impl<S: SecretSource> TeamsDirectory for GenesysScim<S> {
    async fn lookup(
        &self,
        user: &GenesysUserId,
        budget: Budget,
    ) -> Result<DirectoryAnswer, RemoteError> {
        // The id is a validated UUID, so it cannot change the path or the query.
        let url = format!(
            "{}/api/v2/scim/v2/users/{}?attributes=active,{EXTENSION}:externalIds",
            self.base,
            user.as_str()
        );
        crate::metrics::teams_id_lookup(crate::metrics::TeamsIdSource::Scim);
        self.tokens
            .authorized(SERVICE, &self.gate, budget, |token| {
                let url = &url;
                async move {
                    // Built when the attempt starts, after any Retry-After wait.
                    let request = self
                        .http
                        .client
                        .get(url)
                        .timeout(self.http.attempt_timeout(budget))
                        .bearer_auth(token.expose_secret());
                    let response = http::send(SERVICE, "lookup", request)
                        .await
                        .map_err(|e| Failure::transport(&e, "SCIM user lookup"))?;
                    classify(response).await
                }
            })
            .await
    }

    async fn membership(
        &self,
        user: &GenesysUserId,
        queues: bool,
        budget: Budget,
    ) -> Result<crate::domain::scope::Membership, RemoteError> {
        self.users.membership(user, queues, budget).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_the_microsoftteams_external_id_among_others() {
        let user = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", EXTENSION],
            "id": "3f9e6a2b-5d4c-4b1a-8e7f-112233445566",
            EXTENSION: {"externalIds": [
                {"authority": "salesforce", "value": "005xx"},
                {"authority": "microsoftteams", "value": "8d1f3c2a-0000-4000-8000-000000000001"}
            ]}
        });
        assert_eq!(
            teams_external_id(&user).as_deref(),
            Some("8d1f3c2a-0000-4000-8000-000000000001")
        );
    }

    #[test]
    fn only_genesys_not_found_answers_mean_an_unknown_user() {
        for body in [
            json!({"schemas": [SCIM_ERROR_SCHEMA], "status": "404", "detail": "Resource x not found."}),
            json!({"schemas": [SCIM_ERROR_SCHEMA], "status": 404}),
            json!({"message": "The user could not be found.", "code": "not.found", "status": 404}),
            json!({"message": "Not found", "code": "resource.not.found", "status": 404}),
        ] {
            assert!(is_unknown_user(&body), "{body}");
        }
        for body in [
            serde_json::Value::Null,
            json!({}),
            json!({"code": "bad.request", "status": 404}),
            json!({"schemas": ["urn:other"], "status": "404"}),
            json!({"schemas": [SCIM_ERROR_SCHEMA], "status": "400"}),
        ] {
            assert!(!is_unknown_user(&body), "{body}");
        }
    }

    #[test]
    fn error_text_is_cut_whatever_the_shape() {
        let huge = "x".repeat(100_000);
        for body in [
            json!({"code": huge, "message": huge}).to_string(),
            json!({"schemas": [SCIM_ERROR_SCHEMA], "detail": huge}).to_string(),
            huge.clone(),
        ] {
            let text = error_text(body.as_bytes());
            assert!(text.len() < 400, "{} bytes", text.len());
        }
        assert_eq!(
            error_text(br#"{"code":"not.found","message":"gone"}"#),
            "not.found: gone"
        );
    }

    #[test]
    fn a_user_without_the_extension_or_the_authority_has_none() {
        assert_eq!(teams_external_id(&json!({"id": "x"})), None);
        assert_eq!(
            teams_external_id(&json!({EXTENSION: {"externalIds": []}})),
            None
        );
        assert_eq!(
            teams_external_id(
                &json!({EXTENSION: {"externalIds": [{"authority": "microsoftteams"}]}})
            ),
            None
        );
        assert_eq!(
            teams_external_id(&json!({EXTENSION: {"externalIds": "nope"}})),
            None
        );
    }
}
