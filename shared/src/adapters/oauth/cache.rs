//! The credentials and token of one client, cached per process: the secret read once, the
//! token reused until shortly before it expires, and the secret read again once when the token
//! endpoint refuses the credentials (a rotation).

use super::{Authorized, InvalidClient, MAX_TOKEN_LIFETIME, TokenEndpoint};
use crate::adapters::http::{self, Failure, Http, ThrottleGate};
use crate::ports::{Budget, RemoteError, SecretSource, Service};
use secrecy::{ExposeSecret, SecretString};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tracing::{info, warn};

/// When to fetch a new token, `lifetime` after `now`: a tenth of the lifetime early, at most
/// a minute.
pub(super) fn refresh_at(now: Instant, lifetime: Duration) -> Instant {
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
