//! Microsoft Graph presence writes: `setUserPreferredPresence` and
//! `clearUserPreferredPresence`, with the app's token, retries of throttling and server
//! errors, and Graph's error codes turned into specific errors.

use super::http::{self, Failure, Http, ThrottleGate, read_capped};
use super::oauth::{Authorized, AzureAd, TokenCache};
use crate::domain::excerpt::cut;
use crate::domain::ids::TeamsUserId;
use crate::domain::teams::TeamsPresence;
use crate::ports::{Budget, PresenceWriter, RemoteError, SecretSource, WriteAnswer};
use reqwest::{StatusCode, Url};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

const SERVICE: &str = "Microsoft Graph";

pub struct GraphPresence<S> {
    http: Http,
    base: String,
    tokens: TokenCache<S, AzureAd>,
    expiration: Option<String>,
    gate: ThrottleGate,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PreferredPresenceBody<'a> {
    availability: &'a str,
    activity: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration_duration: Option<&'a str>,
}

#[derive(Deserialize, Default)]
struct GraphErrorBody {
    #[serde(default)]
    error: GraphError,
}

#[derive(Deserialize, Default)]
struct GraphError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

impl<S: SecretSource> GraphPresence<S> {
    pub fn new(
        http: Http,
        graph_api_url: &Url,
        tokens: TokenCache<S, AzureAd>,
        expiration: Option<String>,
    ) -> Self {
        GraphPresence {
            http,
            base: graph_api_url.as_str().trim_end_matches('/').to_owned(),
            tokens,
            expiration,
            gate: ThrottleGate::default(),
        }
    }

    async fn post(
        &self,
        user: &TeamsUserId,
        action: &'static str,
        body: serde_json::Value,
        budget: Budget,
    ) -> Result<WriteAnswer, RemoteError> {
        // The id is a validated GUID, so it cannot change the path.
        let url = format!("{}/users/{}/presence/{action}", self.base, user.as_str());
        self.tokens
            .authorized(SERVICE, &self.gate, budget, |token| {
                let (url, body) = (&url, &body);
                async move {
                    // Built when the attempt starts, after any Retry-After wait.
                    let response = self
                        .http
                        .client
                        .post(url)
                        .timeout(self.http.attempt_timeout(budget))
                        .bearer_auth(token.expose_secret())
                        .json(body)
                        .send()
                        .await
                        .map_err(|e| Failure::transport(&e, action))?;
                    classify(action, response).await
                }
            })
            .await
    }
}

async fn classify(
    action: &'static str,
    response: reqwest::Response,
) -> Result<Authorized<WriteAnswer>, Failure> {
    let status = response.status();
    if status.is_success() {
        return Ok(Authorized::Done(WriteAnswer::Accepted));
    }
    let headers = response.headers().clone();
    if http::is_transient(status) {
        return Err(Failure::transient_status(status, &headers, action));
    }
    // The error body only adds Graph's code and message: without it the status still decides.
    let body = read_capped(response, SERVICE, action)
        .await
        .unwrap_or_default();
    let error = serde_json::from_slice::<GraphErrorBody>(&body)
        .unwrap_or_default()
        .error;
    let code = error.code.unwrap_or_else(|| "no error code".to_owned());
    let message = error.message.map(|m| cut(&m)).unwrap_or_default();
    let detail = format!("{status} {code}: {message}");
    match status {
        StatusCode::NOT_FOUND => Ok(Authorized::Done(WriteAnswer::UserNotFound)),
        StatusCode::UNAUTHORIZED => Ok(Authorized::Unauthorized(detail)),
        StatusCode::FORBIDDEN => Err(Failure::Final(RemoteError::Denied {
            service: SERVICE,
            detail: format!(
                "{action} answered {detail} — the app registration most likely lacks the Microsoft Graph application permission Presence.ReadWrite.All with admin consent"
            ),
        })),
        _ => Err(Failure::Final(RemoteError::Refused {
            service: SERVICE,
            detail: format!("{action} answered {detail}"),
        })),
    }
}

impl<S: SecretSource> PresenceWriter for GraphPresence<S> {
    async fn set_preferred(
        &self,
        user: &TeamsUserId,
        presence: TeamsPresence,
        budget: Budget,
    ) -> Result<WriteAnswer, RemoteError> {
        let body = serde_json::to_value(PreferredPresenceBody {
            availability: presence.availability(),
            activity: presence.activity(),
            expiration_duration: self.expiration.as_deref(),
        })
        .unwrap_or_else(|_| unreachable!("plain strings serialise"));
        self.post(user, "setUserPreferredPresence", body, budget)
            .await
    }

    async fn clear_preferred(
        &self,
        user: &TeamsUserId,
        budget: Budget,
    ) -> Result<WriteAnswer, RemoteError> {
        self.post(
            user,
            "clearUserPreferredPresence",
            serde_json::json!({}),
            budget,
        )
        .await
    }
}
