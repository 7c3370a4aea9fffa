//! The Microsoft identity platform (Entra ID) token endpoint for Graph, and the warning before
//! the Azure client secret expires.

use super::answer::token_answer;
use super::{InvalidClient, IssuedToken, TokenEndpoint, secret_fields};
use crate::adapters::http::{self, Failure};
use crate::ports::{RemoteError, Service};
use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;
use tracing::warn;

/// The Microsoft identity platform (Azure AD) token endpoint for Graph.
pub struct AzureAd {
    pub login_url: Url,
    pub scope: String,
}

pub struct AzureCredentials {
    tenant: String,
    client_id: SecretString,
    client_secret: SecretString,
}

/// How long before the Azure client secret expires the function starts warning (and the
/// template's `AzureSecretExpiring` alarm, which counts these warnings, fires).
pub const SECRET_EXPIRY_WARNING_DAYS: i64 = 30;

/// The message of the expiry warning; the template's metric filter matches it exactly.
pub const SECRET_EXPIRING_MESSAGE: &str = "the Azure client secret expires soon";

/// Days until `expires_at` when that is within [`SECRET_EXPIRY_WARNING_DAYS`] of `now`
/// (negative once expired).
pub fn days_left_if_expiring(
    expires_at: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<i64> {
    let days = expires_at.signed_duration_since(now).num_days();
    (days < SECRET_EXPIRY_WARNING_DAYS).then_some(days)
}

/// Warns when the secret's optional `client_secret_expires_at` (written by infra/azure) is
/// near: Entra ID refuses an expired client secret, and every cold start would fail.
fn warn_if_expiring(secret_id: &str, secret: &SecretString, now: chrono::DateTime<chrono::Utc>) {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(secret.expose_secret()) else {
        return;
    };
    let Some(raw) = value
        .get("client_secret_expires_at")
        .and_then(|v| v.as_str())
    else {
        return;
    };
    match chrono::DateTime::parse_from_rfc3339(raw.trim()) {
        Ok(expires_at) => {
            let expires_at = expires_at.with_timezone(&chrono::Utc);
            if let Some(days_left) = days_left_if_expiring(expires_at, now) {
                warn!(
                    secretId = %secret_id,
                    expiresAt = %expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    daysLeft = days_left,
                    "{SECRET_EXPIRING_MESSAGE}"
                );
            }
        }
        Err(_) => warn!(
            secretId = %secret_id,
            "field client_secret_expires_at of the Azure secret is not an RFC 3339 timestamp; its expiry is not watched"
        ),
    }
}

impl TokenEndpoint for AzureAd {
    type Credentials = AzureCredentials;
    const SERVICE: Service = Service::EntraId;
    const URL_SETTING: &'static str = "AZURE_LOGIN_URL";

    fn credentials(
        &self,
        secret_id: &str,
        secret: &SecretString,
    ) -> Result<AzureCredentials, RemoteError> {
        let [tenant, client_id, client_secret] = secret_fields(
            secret_id,
            secret,
            ["tenant_id", "client_id", "client_secret"],
        )?;
        let tenant = tenant.expose_secret().to_owned();
        // The tenant goes into the token URL's path: a GUID or a domain name, nothing else.
        if !tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return Err(RemoteError::Configuration {
                service: Service::SecretsManager,
                detail: format!(
                    "secret {secret_id}: field tenant_id is not a tenant id (a GUID) or domain name"
                ),
            });
        }
        warn_if_expiring(secret_id, secret, chrono::Utc::now());
        Ok(AzureCredentials {
            tenant,
            client_id,
            client_secret,
        })
    }

    async fn request(
        &self,
        http: &reqwest::Client,
        timeout: Duration,
        credentials: &AzureCredentials,
    ) -> Result<Result<IssuedToken, InvalidClient>, Failure> {
        let url = format!(
            "{}/{}/oauth2/v2.0/token",
            self.login_url.as_str().trim_end_matches('/'),
            credentials.tenant
        );
        let form = [
            ("client_id", credentials.client_id.expose_secret()),
            ("client_secret", credentials.client_secret.expose_secret()),
            ("scope", self.scope.as_str()),
            ("grant_type", "client_credentials"),
        ];
        let request = http.post(url).timeout(timeout).form(&form);
        let response = http::send(Self::SERVICE, "token", request)
            .await
            .map_err(|e| Failure::transport(&e, "token endpoint"))?;
        token_answer::<Self>(response).await
    }
}
