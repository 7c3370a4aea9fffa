//! OAuth 2.0 client-credentials tokens for Microsoft Graph and Genesys Cloud: credentials
//! read from a secret once per process, a token reused until shortly before it expires, and
//! one re-read of the secret when the token endpoint refuses them (`invalid_client` after a
//! rotation, or an unknown tenant while the secret still holds a placeholder).
//!
//! One file per concept: `cache` (the credentials and token of one client), `answer` (what a
//! token endpoint's answer means), and the two providers, `azure` and `genesys`.

use super::http::Failure;
use crate::ports::{RemoteError, Service};
use secrecy::{ExposeSecret, SecretString};
use std::future::Future;
use std::time::Duration;

mod answer;
mod azure;
mod cache;
mod genesys;

pub use crate::policy::MAX_TOKEN_LIFETIME;
pub use azure::{
    AzureAd, AzureCredentials, SECRET_EXPIRING_MESSAGE, SECRET_EXPIRY_WARNING_DAYS,
    days_left_if_expiring,
};
pub use cache::TokenCache;
pub use genesys::{GenesysCredentials, GenesysLogin};

/// A token as the endpoint issued it.
pub struct IssuedToken {
    pub access_token: SecretString,
    pub lifetime: Duration,
}

/// An API's answer to a call made with a token.
pub enum Authorized<T> {
    Done(T),
    /// 401: the token was refused (what the API said).
    Unauthorized(String),
}

/// The endpoint refused the client's credentials (`invalid_client`, an unknown tenant, …).
#[derive(Debug)]
pub struct InvalidClient(pub String);

/// One identity provider's client-credentials grant.
pub trait TokenEndpoint: Send + Sync {
    type Credentials: Send + Sync;
    /// The service that issues the token, named in its errors.
    const SERVICE: Service;
    /// The setting that chooses the endpoint's base URL, named when it answers 404.
    const URL_SETTING: &'static str;

    /// Reads the credentials out of the secret's JSON. Errors name fields, never values.
    fn credentials(
        &self,
        secret_id: &str,
        secret: &SecretString,
    ) -> Result<Self::Credentials, RemoteError>;

    /// One token request. `Ok(Err(_))` when the endpoint rejects the client.
    fn request(
        &self,
        http: &reqwest::Client,
        timeout: Duration,
        credentials: &Self::Credentials,
    ) -> impl Future<Output = Result<Result<IssuedToken, InvalidClient>, Failure>> + Send;
}

/// Reads named, non-empty string fields out of a secret's JSON. Errors name the secret and
/// the field and never quote the secret's content.
pub fn secret_fields<const N: usize>(
    secret_id: &str,
    secret: &SecretString,
    names: [&str; N],
) -> Result<[SecretString; N], RemoteError> {
    let expected = names.join(", ");
    let value: serde_json::Value =
        serde_json::from_str(secret.expose_secret()).map_err(|_| RemoteError::Configuration {
            service: Service::SecretsManager,
            detail: format!("secret {secret_id} is not a JSON object with the fields {expected}"),
        })?;
    let mut out = Vec::with_capacity(N);
    for name in names {
        match value.get(name).and_then(|v| v.as_str()) {
            Some(field) if !field.trim().is_empty() => {
                out.push(SecretString::from(field.trim().to_owned()))
            }
            _ => {
                return Err(RemoteError::Configuration {
                    service: Service::SecretsManager,
                    detail: format!(
                        "secret {secret_id}: field {name} is missing or not a non-empty string (expected fields: {expected})"
                    ),
                });
            }
        }
    }
    Ok(out
        .try_into()
        .unwrap_or_else(|_| unreachable!("one value per name")))
}

#[cfg(test)]
mod tests;
