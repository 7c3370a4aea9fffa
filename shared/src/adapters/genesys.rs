//! Genesys Cloud: the Teams id the Microsoft Teams SCIM integration stores on a user, read
//! through the SCIM API with the app's client-credentials token.

use super::http::{self, Failure, Http, ThrottleGate, read_capped};
use super::oauth::{Authorized, GenesysLogin, TokenCache};
use crate::domain::excerpt::cut;
use crate::domain::ids::GenesysUserId;
use crate::ports::{Budget, DirectoryAnswer, RemoteError, SecretSource, TeamsDirectory};
use reqwest::{StatusCode, Url};
use secrecy::ExposeSecret;

const SERVICE: &str = "Genesys Cloud";
const EXTENSION: &str = "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User";
const TEAMS_AUTHORITY: &str = "microsoftteams";

pub struct GenesysScim<S> {
    http: Http,
    base: String,
    tokens: TokenCache<S, GenesysLogin>,
    gate: ThrottleGate,
}

impl<S: SecretSource> GenesysScim<S> {
    pub fn new(http: Http, api_url: &Url, tokens: TokenCache<S, GenesysLogin>) -> Self {
        GenesysScim {
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
    let body = read_capped(response, SERVICE, "SCIM user lookup").await?;
    let text = || cut(String::from_utf8_lossy(&body).lines().next().unwrap_or(""));
    match status {
        s if s.is_success() => {
            let user: serde_json::Value = serde_json::from_slice(&body).map_err(|_| {
                Failure::Final(RemoteError::BadResponse {
                    service: SERVICE,
                    detail: format!(
                        "SCIM user lookup answered {status} with a body that is not JSON"
                    ),
                })
            })?;
            if !user.is_object() {
                return Err(Failure::Final(RemoteError::BadResponse {
                    service: SERVICE,
                    detail: "SCIM user lookup answered with JSON that is not a user".to_owned(),
                }));
            }
            Ok(Authorized::Done(match teams_external_id(&user) {
                Some(id) => DirectoryAnswer::TeamsId(id),
                None => DirectoryAnswer::NoTeamsId,
            }))
        }
        StatusCode::NOT_FOUND => Ok(Authorized::Done(DirectoryAnswer::UnknownUser)),
        StatusCode::UNAUTHORIZED => Ok(Authorized::Unauthorized(format!("{status}: {}", text()))),
        StatusCode::FORBIDDEN => Err(Failure::Final(RemoteError::Denied {
            service: SERVICE,
            detail: format!(
                "SCIM user lookup answered {status}: {} — the OAuth client's role needs permission to read users through SCIM",
                text()
            ),
        })),
        _ => Err(Failure::Final(RemoteError::Refused {
            service: SERVICE,
            detail: format!("SCIM user lookup answered {status}: {}", text()),
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
            "{}/api/v2/scim/v2/users/{}?attributes={EXTENSION}:externalIds",
            self.base,
            user.as_str()
        );
        self.tokens
            .authorized(SERVICE, &self.gate, budget, |token| {
                let url = &url;
                async move {
                    // Built when the attempt starts, after any Retry-After wait.
                    let response = self
                        .http
                        .client
                        .get(url)
                        .timeout(self.http.attempt_timeout(budget))
                        .bearer_auth(token.expose_secret())
                        .send()
                        .await
                        .map_err(|e| Failure::transport(&e, "SCIM user lookup"))?;
                    classify(response).await
                }
            })
            .await
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
