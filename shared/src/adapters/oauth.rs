//! OAuth 2.0 client-credentials tokens for Microsoft Graph and Genesys Cloud: credentials
//! read from a secret once per process, a token reused until shortly before it expires, and
//! one re-read of the secret when the token endpoint refuses them (`invalid_client` after a
//! rotation, or an unknown tenant while the secret still holds a placeholder).

use super::http::{self, Failure, Http, ThrottleGate, read_capped};
use crate::domain::excerpt::cut;
use crate::ports::{Budget, RemoteError, SecretSource, Service};
use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tracing::{info, warn};

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

use crate::policy::DEFAULT_TOKEN_LIFETIME as DEFAULT_LIFETIME;
pub use crate::policy::MAX_TOKEN_LIFETIME;

/// The token lifetime an `expires_in` value gives: positive whole seconds (a number or a
/// numeric string), clamped to [`MAX_TOKEN_LIFETIME`]; `None` when there is no usable value.
fn token_lifetime(expires_in: Option<&serde_json::Value>) -> Option<Duration> {
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

/// When to fetch a new token, `lifetime` after `now`: a tenth of the lifetime early, at most
/// a minute.
fn refresh_at(now: Instant, lifetime: Duration) -> Instant {
    let lifetime = lifetime.min(MAX_TOKEN_LIFETIME);
    let margin = (lifetime / 10).min(Duration::from_secs(60));
    now.checked_add(lifetime.saturating_sub(margin))
        .unwrap_or(now)
}

struct Token {
    value: SecretString,
    refresh_at: Instant,
}

struct State<C> {
    credentials: Option<Arc<C>>,
    token: Option<Token>,
}

/// The cached credentials and token of one client.
pub struct TokenCache<S, E: TokenEndpoint> {
    secret_id: String,
    secrets: S,
    endpoint: E,
    http: Http,
    gate: ThrottleGate,
    state: Mutex<State<E::Credentials>>,
}

impl<S: SecretSource, E: TokenEndpoint> TokenCache<S, E> {
    pub fn new(secret_id: String, secrets: S, endpoint: E, http: Http) -> Self {
        TokenCache {
            secret_id,
            secrets,
            endpoint,
            http,
            gate: ThrottleGate::default(),
            state: Mutex::new(State {
                credentials: None,
                token: None,
            }),
        }
    }

    /// A valid token: the cached one, or a new one.
    pub async fn token(&self, budget: Budget) -> Result<SecretString, RemoteError> {
        let mut state = self.state.lock().await;
        if let Some(token) = &state.token
            && Instant::now() < token.refresh_at
        {
            return Ok(token.value.clone());
        }
        let mut fresh_secret = false;
        let credentials = match &state.credentials {
            Some(c) => c.clone(),
            None => {
                fresh_secret = true;
                self.load_credentials(&mut state, budget).await?
            }
        };
        let mut credentials = credentials;
        loop {
            let answer = http::with_retries(E::SERVICE, &self.gate, budget, || {
                let credentials = &credentials;
                async move {
                    // Cut to the budget when the attempt starts, after any wait for the
                    // throttle gate, not when the attempt is created before that wait.
                    let timeout = self.http.attempt_timeout(budget);
                    self.endpoint
                        .request(&self.http.client, timeout, credentials)
                        .await
                }
            })
            .await?;
            match answer {
                Ok(issued) => {
                    let value = issued.access_token;
                    state.token = Some(Token {
                        value: value.clone(),
                        refresh_at: refresh_at(Instant::now(), issued.lifetime),
                    });
                    return Ok(value);
                }
                Err(InvalidClient(detail)) if !fresh_secret => {
                    info!(secretId = %self.secret_id, service = %E::SERVICE, detail = %detail, "token endpoint rejected the cached client credentials; re-reading the secret once in case it was rotated");
                    fresh_secret = true;
                    credentials = self.load_credentials(&mut state, budget).await?;
                }
                Err(InvalidClient(detail)) => {
                    return Err(RemoteError::Denied {
                        service: E::SERVICE,
                        detail: format!(
                            "the token endpoint refuses the client credentials in secret {} ({detail})",
                            self.secret_id
                        ),
                    });
                }
            }
        }
    }

    /// Calls an API with the token, retrying as [`http::with_retries`] does; when the API
    /// answers 401, fetches a new token once and calls again.
    pub async fn authorized<T, F, Fut>(
        &self,
        service: Service,
        gate: &ThrottleGate,
        budget: Budget,
        mut attempt: F,
    ) -> Result<T, RemoteError>
    where
        F: FnMut(SecretString) -> Fut,
        Fut: Future<Output = Result<Authorized<T>, Failure>>,
    {
        let mut renewed = false;
        loop {
            let token = self.token(budget).await?;
            match http::with_retries(service, gate, budget, || attempt(token.clone())).await? {
                Authorized::Done(done) => return Ok(done),
                Authorized::Unauthorized(_) if !renewed => {
                    self.invalidate(&token).await;
                    renewed = true;
                }
                Authorized::Unauthorized(detail) => {
                    return Err(RemoteError::Denied {
                        service,
                        detail: format!("{detail} with a freshly issued token"),
                    });
                }
            }
        }
    }

    /// Forgets `token` if it is still the cached one (the API answered 401 with it).
    pub async fn invalidate(&self, token: &SecretString) {
        let mut state = self.state.lock().await;
        if state
            .token
            .as_ref()
            .is_some_and(|t| t.value.expose_secret() == token.expose_secret())
        {
            warn!(
                service = %E::SERVICE,
                "API rejected the cached token; fetching a new one"
            );
            state.token = None;
        }
    }

    /// Reads the secret, cut at the invocation's budget: the SDK's own timeouts (seconds)
    /// know nothing of the deadline.
    async fn load_credentials(
        &self,
        state: &mut State<E::Credentials>,
        budget: Budget,
    ) -> Result<Arc<E::Credentials>, RemoteError> {
        let secret = tokio::time::timeout_at(budget.until, self.secrets.fetch(&self.secret_id))
            .await
            .map_err(|_| RemoteError::Unavailable {
                service: Service::SecretsManager,
                detail: format!(
                    "reading secret {}: no answer within this invocation's time budget",
                    self.secret_id
                ),
            })??;
        let credentials = Arc::new(self.endpoint.credentials(&self.secret_id, &secret)?);
        state.credentials = Some(credentials.clone());
        state.token = None;
        Ok(credentials)
    }
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
async fn token_answer<E: TokenEndpoint>(
    response: reqwest::Response,
) -> Result<Result<IssuedToken, InvalidClient>, Failure> {
    let service = E::SERVICE;
    let status = response.status();
    let headers = response.headers().clone();
    // Only the path: the query and any user info of the URL stay out of errors.
    let path = response.url().path().to_owned();
    let body = read_capped(response, service, "token endpoint").await?;
    if status.is_success() {
        let parsed: TokenBody = serde_json::from_slice(&body).map_err(|_| {
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
        return Ok(Ok(IssuedToken {
            access_token: SecretString::from(access_token),
            lifetime,
        }));
    }
    if http::is_transient(status) {
        return Err(Failure::transient_status(
            status,
            &headers,
            "token endpoint",
        ));
    }
    let error: ErrorBody = serde_json::from_slice(&body).unwrap_or_default();
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

/// The Genesys Cloud login (OAuth) service.
pub struct GenesysLogin {
    pub login_url: Url,
}

pub struct GenesysCredentials {
    client_id: SecretString,
    client_secret: SecretString,
}

impl TokenEndpoint for GenesysLogin {
    type Credentials = GenesysCredentials;
    const SERVICE: Service = Service::GenesysLogin;
    const URL_SETTING: &'static str = "GENESYS_LOGIN_URL or GENESYS_ENVIRONMENT";

    fn credentials(
        &self,
        secret_id: &str,
        secret: &SecretString,
    ) -> Result<GenesysCredentials, RemoteError> {
        let [client_id, client_secret] =
            secret_fields(secret_id, secret, ["client_id", "client_secret"])?;
        Ok(GenesysCredentials {
            client_id,
            client_secret,
        })
    }

    async fn request(
        &self,
        http: &reqwest::Client,
        timeout: Duration,
        credentials: &GenesysCredentials,
    ) -> Result<Result<IssuedToken, InvalidClient>, Failure> {
        let url = format!(
            "{}/oauth/token",
            self.login_url.as_str().trim_end_matches('/')
        );
        let request = http
            .post(url)
            .timeout(timeout)
            .basic_auth(
                credentials.client_id.expose_secret(),
                Some(credentials.client_secret.expose_secret()),
            )
            .form(&[("grant_type", "client_credentials")]);
        let response = http::send(Self::SERVICE, "token", request)
            .await
            .map_err(|e| Failure::transport(&e, "token endpoint"))?;
        token_answer::<Self>(response).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_azure_secret_is_reported_expiring_from_thirty_days_before() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let at = |days: i64, hours: i64| {
            now + chrono::Duration::days(days) + chrono::Duration::hours(hours)
        };
        assert_eq!(days_left_if_expiring(at(31, 0), now), None);
        assert_eq!(days_left_if_expiring(at(30, 1), now), None);
        assert_eq!(days_left_if_expiring(at(29, 23), now), Some(29));
        assert_eq!(days_left_if_expiring(at(0, 1), now), Some(0));
        assert_eq!(days_left_if_expiring(at(-3, 0), now), Some(-3));
    }

    #[test]
    fn token_lifetimes_are_clamped_to_a_day() {
        let day = Some(MAX_TOKEN_LIFETIME);
        assert_eq!(token_lifetime(Some(&json!(u64::MAX))), day);
        assert_eq!(
            token_lifetime(Some(&json!("184467440737095516160000"))),
            day
        );
        assert_eq!(token_lifetime(Some(&json!(172_800))), day);
        assert_eq!(
            token_lifetime(Some(&json!(3599))),
            Some(Duration::from_secs(3599))
        );
        assert_eq!(
            token_lifetime(Some(&json!(" 3599 "))),
            Some(Duration::from_secs(3599))
        );
        for unusable in [json!(0), json!(-1), json!(1.5), json!("soon"), json!(null)] {
            assert_eq!(token_lifetime(Some(&unusable)), None, "{unusable}");
        }
        assert_eq!(token_lifetime(None), None);
    }

    #[test]
    fn the_refresh_time_never_overflows_the_clock() {
        let now = Instant::now();
        let at = refresh_at(now, Duration::MAX);
        assert!(at > now && at <= now + MAX_TOKEN_LIFETIME);
        assert_eq!(
            refresh_at(now, Duration::from_secs(3600)),
            now + Duration::from_secs(3540)
        );
        assert_eq!(
            refresh_at(now, Duration::from_secs(100)),
            now + Duration::from_secs(90)
        );
    }

    #[test]
    fn secret_fields_name_the_missing_field_without_quoting_the_secret() {
        let secret = SecretString::from(r#"{"client_id":"id-123","client_secret":""}"#.to_owned());
        let err = secret_fields("genesys", &secret, ["client_id", "client_secret"])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("client_secret"), "{err}");
        assert!(!err.contains("id-123"), "{err}");
    }

    #[test]
    fn a_secret_that_is_not_json_is_reported_without_its_content() {
        let secret = SecretString::from("hunter2-super-secret".to_owned());
        let err = secret_fields("azure", &secret, ["tenant_id"])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("azure") && err.contains("tenant_id"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn a_tenant_that_could_change_the_token_url_is_refused() {
        let endpoint = AzureAd {
            login_url: Url::parse("https://login.microsoftonline.com").unwrap(),
            scope: "https://graph.microsoft.com/.default".into(),
        };
        let secret = SecretString::from(
            r#"{"tenant_id":"../evil?","client_id":"a","client_secret":"b"}"#.to_owned(),
        );
        assert!(endpoint.credentials("azure", &secret).is_err());
        let secret = SecretString::from(
            r#"{"tenant_id":"contoso.onmicrosoft.com","client_id":"a","client_secret":"b"}"#
                .to_owned(),
        );
        assert!(endpoint.credentials("azure", &secret).is_ok());
    }
}
