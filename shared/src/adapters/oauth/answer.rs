//! What a token endpoint's answer means: a token and its lifetime, a refusal of the client's
//! credentials, or a failure (transient, or a login URL that reaches no token endpoint).

use super::{InvalidClient, IssuedToken, MAX_TOKEN_LIFETIME, TokenEndpoint};
use crate::adapters::http::{self, Failure, read_capped};
use crate::domain::excerpt::cut;
use crate::policy::DEFAULT_TOKEN_LIFETIME as DEFAULT_LIFETIME;
use crate::ports::RemoteError;
use secrecy::SecretString;
use serde::Deserialize;
use std::time::Duration;
use tracing::warn;

/// The token lifetime an `expires_in` value gives: positive whole seconds (a number or a
/// numeric string), clamped to [`MAX_TOKEN_LIFETIME`]; `None` when there is no usable value.
pub(super) fn token_lifetime(expires_in: Option<&serde_json::Value>) -> Option<Duration> {
    let secs = match expires_in? {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => {
            let s = s.trim();
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                None
            } else {
                // Digits too many for u64 are a lifetime beyond any clamp.
                Some(s.parse().unwrap_or(u64::MAX))
            }
        }
        _ => None,
    }
    .filter(|secs| *secs > 0)?;
    Some(Duration::from_secs(secs.min(MAX_TOKEN_LIFETIME.as_secs())))
}

#[derive(Deserialize)]
struct TokenBody {
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

/// Turns a token endpoint's answer into a token, an `invalid_client`, or a failure.
pub(super) async fn token_answer<E: TokenEndpoint>(
    response: reqwest::Response,
) -> Result<Result<IssuedToken, InvalidClient>, Failure> {
    let service = E::SERVICE;
    let status = response.status();
    let headers = response.headers().clone();
    // Only the path: the query and any user info of the URL stay out of errors.
    let path = response.url().path().to_owned();
    let body = read_capped(response, service, "token endpoint").await?;
    if status.is_success() {
        return issued::<E>(status, &body).map(Ok);
    }
    if http::is_transient(status) {
        return Err(Failure::transient_status(
            status,
            &headers,
            "token endpoint",
        ));
    }
    refused::<E>(status, &path, &body)
}

/// The token of a successful answer, with its lifetime ([`DEFAULT_LIFETIME`] when the answer
/// gives none that is usable).
fn issued<E: TokenEndpoint>(
    status: reqwest::StatusCode,
    body: &[u8],
) -> Result<IssuedToken, Failure> {
    let service = E::SERVICE;
    let parsed: TokenBody = serde_json::from_slice(body).map_err(|_| {
        Failure::Final(RemoteError::BadResponse {
            service,
            detail: format!(
                "token endpoint answered {status} with a body that is not a token response"
            ),
        })
    })?;
    let Some(access_token) = parsed.access_token.filter(|t| !t.is_empty()) else {
        return Err(Failure::Final(RemoteError::BadResponse {
            service,
            detail: "token response has no access_token".to_owned(),
        }));
    };
    let lifetime = token_lifetime(parsed.expires_in.as_ref()).unwrap_or_else(|| {
        warn!(
            service = %service,
            "token response has no usable expires_in; assuming {} s",
            DEFAULT_LIFETIME.as_secs()
        );
        DEFAULT_LIFETIME
    });
    Ok(IssuedToken {
        access_token: SecretString::from(access_token),
        lifetime,
    })
}

/// A refusal that is not transient: a login URL that reaches no token endpoint, or the
/// endpoint refusing the client (what it said, cut).
fn refused<E: TokenEndpoint>(
    status: reqwest::StatusCode,
    path: &str,
    body: &[u8],
) -> Result<Result<IssuedToken, InvalidClient>, Failure> {
    let service = E::SERVICE;
    let error: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    // A token endpoint answers a refusal 400 or 401 with an OAuth error; a 404 without one
    // comes from something that is not the token endpoint: the login URL is wrong.
    if status == reqwest::StatusCode::NOT_FOUND && error.error.is_none() {
        return Err(Failure::Final(RemoteError::Configuration {
            service,
            detail: format!(
                "the token endpoint answered {status} at path {path}: nothing there issues tokens; check {}",
                E::URL_SETTING
            ),
        }));
    }
    let code = error
        .error
        .as_deref()
        .map_or_else(|| "no error code".to_owned(), |c| cut(first_line(c)));
    let description = error
        .error_description
        .or(error.description)
        .map(|d| cut(first_line(&d)))
        .unwrap_or_default();
    // Any refusal can come from stale credentials: `invalid_client` after a secret rotation,
    // but also `invalid_request` for a tenant that a placeholder secret named. The caller
    // re-reads the secret once before giving up, so a fixed secret is picked up without a
    // restart.
    Ok(Err(InvalidClient(format!(
        "{status} {code}: {description}"
    ))))
}

/// The first line of a remote text: one log line stays one line.
fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}
