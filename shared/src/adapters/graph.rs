//! Microsoft Graph presence writes: `setUserPreferredPresence` and
//! `clearUserPreferredPresence`, with the app's token, retries of throttling and server
//! errors, and Graph's error codes turned into specific errors.

use super::http::{self, Failure, Http, ThrottleGate, read_capped};
use super::oauth::{Authorized, AzureAd, TokenCache};
use crate::domain::excerpt::cut;
use crate::domain::ids::TeamsUserId;
use crate::domain::teams::TeamsPresence;
use crate::ports::{Budget, PresenceWriter, RemoteError, SecretSource, Service, WriteAnswer};
use reqwest::{StatusCode, Url};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

const SERVICE: Service = Service::Graph;

/// The error codes with which Graph answers 404 for a user it does not know. Graph's basic
/// code is `itemNotFound`; directory objects answer `Request_ResourceNotFound`; which one the
/// presence actions use is not documented, so any of these "not found" codes counts. A 404
/// without one of them (no body, HTML, another code) did not come from Graph's presence
/// actions: the base URL is wrong, and that is a configuration error, not a missing user.
const USER_NOT_FOUND_CODES: [&str; 5] = [
    "Request_ResourceNotFound",
    "ResourceNotFound",
    "itemNotFound",
    "NotFound",
    "UserNotFound",
];

/// Whether a Graph error code says the user does not exist.
fn is_user_not_found(code: Option<&str>) -> bool {
    code.is_some_and(|code| {
        USER_NOT_FOUND_CODES
            .iter()
            .any(|known| known.eq_ignore_ascii_case(code))
    })
}

/// Microsoft Graph presence: the writes here, the bulk read in `graph_read` — one token cache
/// and one throttle gate, so that reads and writes of one process back off together.
pub struct GraphPresence<S> {
    pub(super) http: Http,
    pub(super) base: String,
    pub(super) tokens: TokenCache<S, AzureAd>,
    expiration: Option<String>,
    pub(super) gate: ThrottleGate,
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
        operation: &'static str,
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
                    let request = self
                        .http
                        .client
                        .post(url)
                        .timeout(self.http.attempt_timeout(budget))
                        .bearer_auth(token.expose_secret())
                        .json(body);
                    let response = http::send(SERVICE, operation, request)
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
    // Only the path: the query and any user info of the URL stay out of errors.
    let path = response.url().path().to_owned();
    let (code, detail) = error_detail(status, action, response).await;
    if status == StatusCode::NOT_FOUND && is_user_not_found(code.as_deref()) {
        return Ok(Authorized::Done(WriteAnswer::UserNotFound));
    }
    refusal(
        action,
        status,
        detail,
        &path,
        "the app registration most likely lacks the Microsoft Graph application permission Presence.ReadWrite.All with admin consent",
    )
}

/// Graph's error code (as sent, for matching only) and a one-line detail of an error answer:
/// the status, the code and the message, both cut. The body only adds Graph's code and
/// message: without it the status still decides.
pub(super) async fn error_detail(
    status: StatusCode,
    action: &str,
    response: reqwest::Response,
) -> (Option<String>, String) {
    let body = read_capped(response, SERVICE, action)
        .await
        .unwrap_or_default();
    let error = serde_json::from_slice::<GraphErrorBody>(&body)
        .unwrap_or_default()
        .error;
    // Both are remote text of any length: cut, one line each.
    let code = error
        .code
        .as_deref()
        .map_or_else(|| "no error code".to_owned(), |c| cut(first_line(c)));
    let message = error
        .message
        .as_deref()
        .map(|m| cut(first_line(m)))
        .unwrap_or_default();
    (error.code, format!("{status} {code}: {message}"))
}

/// What a Graph error answer that is not worth retrying (and not a case the caller
/// recognises) means: 401 asks for a new token, 403 a missing permission (`denied_hint` says
/// which), 404 a base URL that does not reach Graph's presence API, anything else a refusal.
pub(super) fn refusal<T>(
    action: &str,
    status: StatusCode,
    detail: String,
    path: &str,
    denied_hint: &str,
) -> Result<Authorized<T>, Failure> {
    match status {
        StatusCode::NOT_FOUND => Err(Failure::Final(RemoteError::Configuration {
            service: SERVICE,
            detail: format!(
                "{action} answered {detail} at path {path}, which is not how Graph answers for an unknown user: the URL does not reach Microsoft Graph's presence API; check GRAPH_API_URL"
            ),
        })),
        StatusCode::UNAUTHORIZED => Ok(Authorized::Unauthorized(detail)),
        StatusCode::FORBIDDEN => Err(Failure::Final(RemoteError::Denied {
            service: SERVICE,
            detail: format!("{action} answered {detail} — {denied_hint}"),
        })),
        _ => Err(Failure::Final(RemoteError::Refused {
            service: SERVICE,
            detail: format!("{action} answered {detail}"),
        })),
    }
}

/// The first line of a remote text: one log line stays one line.
pub(super) fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
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
        self.post(user, "setUserPreferredPresence", "set", body, budget)
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
            "clear",
            serde_json::json!({}),
            budget,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_not_found_codes_mean_an_unknown_user() {
        for code in [
            "Request_ResourceNotFound",
            "ResourceNotFound",
            "itemNotFound",
            "ITEMNOTFOUND",
        ] {
            assert!(is_user_not_found(Some(code)), "{code}");
        }
        for code in [None, Some(""), Some("UnknownError"), Some("BadRequest")] {
            assert!(!is_user_not_found(code), "{code:?}");
        }
    }
}
