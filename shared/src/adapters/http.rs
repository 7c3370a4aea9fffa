//! What every HTTP call to Genesys and Microsoft shares: one client with connect and total
//! timeouts, bounded body reads, and retries of throttling and server errors that honour
//! `Retry-After` and stay inside the invocation's time budget. Every attempt is counted in the
//! metrics ([`send`]), with the retries and the time waited for a throttling service.

use crate::metrics;
use crate::policy::{
    BACKOFF_MAX, BACKOFF_MIN, BACKOFF_TIMES, HttpTimeouts, MAX_RETRY_AFTER, MAX_SHARED_THROTTLE,
};
use crate::ports::{Budget, RemoteError, Service};
use backon::{ExponentialBuilder, Retryable};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Response, StatusCode};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::time::Instant;
use tracing::warn;

/// The largest response body read from Genesys or Microsoft; their real answers here are a
/// few kilobytes, so anything bigger is a fault, not data.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

pub fn client(timeouts: HttpTimeouts) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(timeouts.connect)
        .timeout(timeouts.total)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        // Building fails only when the TLS backend cannot initialise, which no input causes.
        .expect("the HTTP client (rustls) initialises")
}

/// The HTTP client with its total timeout, so that each attempt can also be cut to the
/// invocation's remaining time budget: no request outlives the invocation that made it.
#[derive(Clone, Debug)]
pub struct Http {
    pub client: reqwest::Client,
    total: Duration,
}

impl Http {
    pub fn new(timeouts: HttpTimeouts) -> Self {
        Http {
            client: client(timeouts),
            total: timeouts.total,
        }
    }

    /// The total timeout for one attempt: the configured one, or less if the budget is short.
    pub fn attempt_timeout(&self, budget: Budget) -> Duration {
        budget.remaining().min(self.total)
    }
}

/// Sends one attempt and records it in the metrics: the service, what was asked
/// (`operation`), the answer's status class (or timeout, or transport failure) and the time
/// to the answer's headers. Every request to Genesys and Microsoft goes through here.
pub async fn send(
    service: Service,
    operation: &'static str,
    request: reqwest::RequestBuilder,
) -> Result<Response, reqwest::Error> {
    let started = std::time::Instant::now();
    let sent = request.send().await;
    let status = match &sent {
        Ok(response) => metrics::StatusClass::of(response.status().as_u16()),
        Err(error) if error.is_timeout() => metrics::StatusClass::Timeout,
        Err(_) => metrics::StatusClass::Transport,
    };
    metrics::remote_call(service.into(), operation, status, started.elapsed());
    sent
}

/// The largest response body of a bulk read (many users in one answer): a Graph presence is
/// a few hundred bytes (650 of them ≈ 200 KB), a Genesys user with its presence and routing
/// status one to two kilobytes (100 of them ≈ 200 KB), so [`MAX_BODY_BYTES`] is too tight.
pub const MAX_BULK_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Reads a response body, refusing more than `MAX_BODY_BYTES`: an oversized body breaks the
/// contract (final), a body cut off by the connection is worth another try (transient).
pub async fn read_capped(
    response: Response,
    service: Service,
    what: &str,
) -> Result<Vec<u8>, Failure> {
    read_capped_to(response, service, what, MAX_BODY_BYTES).await
}

/// [`read_capped`] with another cap (bulk reads: [`MAX_BULK_BODY_BYTES`]).
pub async fn read_capped_to(
    mut response: Response,
    service: Service,
    what: &str,
    max: usize,
) -> Result<Vec<u8>, Failure> {
    let too_large = || {
        Failure::Final(RemoteError::BadResponse {
            service,
            detail: format!("{what} answered with a body larger than {max} bytes"),
        })
    };
    if response
        .content_length()
        .is_some_and(|len| len > max as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| Failure::transport(&e, what))?
    {
        if body.len() + chunk.len() > max {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A success body that must be a JSON object (`what` answered it; `expected` names what the
/// object should have been): anything else breaks the contract.
pub fn json_object(
    body: &[u8],
    service: Service,
    what: &str,
    expected: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, Failure> {
    let bad = |detail: String| Failure::Final(RemoteError::BadResponse { service, detail });
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(object)) => Ok(object),
        Ok(_) => Err(bad(format!(
            "{what} answered with JSON that is not {expected}"
        ))),
        Err(_) => Err(bad(format!("{what} answered with a body that is not JSON"))),
    }
}

/// `Retry-After` in seconds (the form Graph and Genesys use), clamped to
/// [`MAX_RETRY_AFTER`] (a number too large for `u64` is the clamp too); an HTTP date is
/// ignored.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs = text.parse::<u64>().unwrap_or(u64::MAX);
    Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER))
}

/// A transport error described without the URL (which can carry ids but never secrets;
/// still, the caller names what it was doing).
pub fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "broken response body"
    } else if error.is_request() {
        "request failed"
    } else {
        "transport error"
    };
    let mut source = std::error::Error::source(error);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {detail}")
    }
}

/// One failed attempt.
#[derive(Debug)]
pub enum Failure {
    /// Worth trying again: throttling, a server error, a timeout, a dropped connection.
    Transient {
        detail: String,
        retry_after: Option<Duration>,
        /// Refused with 429: the request did not take effect.
        throttled: bool,
    },
    /// Trying again will not help.
    Final(RemoteError),
}

impl Failure {
    pub fn transient_status(status: StatusCode, headers: &HeaderMap, what: &str) -> Self {
        Failure::Transient {
            detail: format!("{what} answered {status}"),
            retry_after: retry_after(headers),
            throttled: status == StatusCode::TOO_MANY_REQUESTS,
        }
    }

    pub fn transport(error: &reqwest::Error, what: &str) -> Self {
        Failure::Transient {
            detail: format!("{what}: {}", describe(error)),
            retry_after: None,
            throttled: false,
        }
    }
}

/// Whether a status is worth retrying: throttling and server errors.
pub fn is_transient(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// Calls after a `Retry-After` must wait, shared by every request to one service from this
/// process: a throttled app gains nothing by having other requests hit the limit meanwhile.
#[derive(Debug, Default)]
pub struct ThrottleGate {
    until: Mutex<Option<Instant>>,
}

impl ThrottleGate {
    /// Holds this process's calls back for `wait`, at most [`MAX_SHARED_THROTTLE`].
    fn close_for(&self, wait: Duration) {
        let now = Instant::now();
        let until = now
            .checked_add(wait.min(MAX_SHARED_THROTTLE))
            .unwrap_or(now);
        let mut guard = self.until.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none_or(|current| current < until) {
            *guard = Some(until);
        }
    }

    fn opens_at(&self) -> Option<Instant> {
        let guard = self.until.lock().unwrap_or_else(|p| p.into_inner());
        guard.filter(|until| *until > Instant::now())
    }
}

/// The backoff between attempts without `Retry-After`: 100 ms doubling to 4 s, each wait plus
/// a random share of itself, so that instances failing together do not retry in lockstep.
fn backoff() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(BACKOFF_MIN)
        .with_max_delay(BACKOFF_MAX)
        .with_jitter()
        .with_max_times(BACKOFF_TIMES)
}

/// Runs `attempt` until it succeeds, fails for good, or the budget leaves no room for the
/// next wait. Waits honour `Retry-After`; without it, exponential backoff with jitter. An
/// attempt's future may wait for the throttle gate before it is first polled, so it must cut
/// its timeout to the budget when polled ([`Http::attempt_timeout`] inside its `async`
/// block), not when created. Throttling that outlasts the budget fails as
/// [`RemoteError::Throttled`], other failures past the budget as
/// [`RemoteError::Unavailable`].
pub async fn with_retries<T, F, Fut>(
    service: Service,
    gate: &ThrottleGate,
    budget: Budget,
    mut attempt: F,
) -> Result<T, RemoteError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Failure>>,
{
    // Whether an attempt so far failed in a way that may have let the request take effect
    // (a timeout, a 5xx, a dropped connection): a 429 refusal did not.
    let uncertain = AtomicBool::new(false);
    let gated = || {
        // Futures are lazy: creating the attempt here starts nothing before the gate opens.
        // An attempt must compute its timeout when first polled, not when created.
        let next = attempt();
        let uncertain = &uncertain;
        async move {
            if let Some(opens) = through_gate(service, gate, budget, uncertain)? {
                tokio::time::sleep_until(opens).await;
            }
            if budget.is_spent() {
                return Err(Failure::Final(RemoteError::Unavailable {
                    service,
                    detail: "no time left in this invocation's budget".to_owned(),
                }));
            }
            next.await
        }
    };
    let result = gated
        .retry(backoff())
        .sleep(tokio::time::sleep)
        .when(|failure| matches!(failure, Failure::Transient { .. }))
        .adjust(|failure, backoff| next_wait(failure, backoff, gate, budget, &uncertain))
        .notify(|failure, wait| notify_retry(service, failure, wait))
        .await;
    match result {
        Ok(value) => Ok(value),
        Err(Failure::Final(error)) => Err(error),
        Err(Failure::Transient {
            detail,
            retry_after,
            throttled,
        }) => {
            let landed = uncertain.load(Ordering::Relaxed);
            Err(given_up(service, detail, retry_after, throttled, landed))
        }
    }
}

/// When this process's throttle gate opens (the caller waits until then), or a failure at
/// once when it opens only after the budget. Not an async fn: one more future layer in every
/// remote call overflows the compiler's layout depth limit in the function crate.
fn through_gate(
    service: Service,
    gate: &ThrottleGate,
    budget: Budget,
    uncertain: &AtomicBool,
) -> Result<Option<Instant>, Failure> {
    if let Some(opens) = gate.opens_at() {
        let wait = opens.saturating_duration_since(Instant::now());
        if opens > budget.until {
            return Err(Failure::Final(RemoteError::Throttled {
                service,
                retry_after_secs: Some(wait.as_secs()),
                detail: format!(
                    "this process holds its calls for {} ms more after a Retry-After, beyond this invocation's time budget; failing early so that Lambda retries it",
                    wait.as_millis()
                ),
                may_have_landed: uncertain.load(Ordering::Relaxed),
            }));
        }
        metrics::throttle_wait(service.into(), wait);
        return Ok(Some(opens));
    }
    Ok(None)
}

/// The wait before the next attempt after a transient failure, or `None` to stop: honours
/// `Retry-After` (closing the shared gate) but never sooner than the backoff, and only while
/// the wait fits the budget.
fn next_wait(
    failure: &Failure,
    backoff: Option<Duration>,
    gate: &ThrottleGate,
    budget: Budget,
    uncertain: &AtomicBool,
) -> Option<Duration> {
    let Failure::Transient {
        retry_after,
        throttled,
        ..
    } = failure
    else {
        return None;
    };
    if !*throttled {
        uncertain.store(true, Ordering::Relaxed);
    }
    if let Some(wait) = retry_after {
        gate.close_for(*wait);
    }
    // Never sooner than the backoff: `Retry-After: 0` must not become a retry storm.
    let wait = match (*retry_after, backoff) {
        (Some(after), Some(backoff)) => after.max(backoff),
        (after, backoff) => after.or(backoff)?,
    };
    (wait < budget.remaining()).then_some(wait)
}

/// Counts and logs a retry.
fn notify_retry(service: Service, failure: &Failure, wait: Duration) {
    if let Failure::Transient {
        detail,
        retry_after,
        throttled,
    } = failure
    {
        metrics::retry(service.into());
        if *throttled {
            metrics::throttle_wait(service.into(), wait);
        }
        warn!(
            service = %service,
            detail = %detail,
            retryAfterSecs = retry_after.map(|d| d.as_secs()),
            waitMs = wait.as_millis() as u64,
            "retrying"
        );
    }
}

/// The error of a transient failure the budget left no room to retry.
fn given_up(
    service: Service,
    detail: String,
    retry_after: Option<Duration>,
    throttled: bool,
    may_have_landed: bool,
) -> RemoteError {
    let give_up = "giving up within this invocation's time budget so that Lambda retries it";
    let detail = match retry_after {
        Some(wait) => format!("{detail} with Retry-After {} s; {give_up}", wait.as_secs()),
        None => format!("{detail}; {give_up}"),
    };
    if throttled {
        RemoteError::Throttled {
            service,
            retry_after_secs: retry_after.map(|d| d.as_secs()),
            detail,
            may_have_landed,
        }
    } else {
        RemoteError::Unavailable { service, detail }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_reads_seconds_and_ignores_dates() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    /// With backon's `std` feature off its jitter used one fixed seed: every instance and
    /// invocation waited exactly the same times and retried in lockstep.
    #[test]
    fn backoff_jitter_differs_between_calls() {
        use backon::BackoffBuilder;
        let waits = || backoff().build().take(5).collect::<Vec<_>>();
        let (a, b) = (waits(), waits());
        assert_ne!(a, b, "two calls waited the same jittered times");
        for (n, wait) in a.iter().enumerate() {
            let base = Duration::from_millis(100) * 2u32.pow(n as u32);
            assert!(*wait >= base && *wait < base * 2, "wait {n}: {wait:?}");
        }
    }

    #[test]
    fn throttling_and_server_errors_are_transient() {
        for s in [429, 500, 502, 503, 504] {
            assert!(is_transient(StatusCode::from_u16(s).unwrap()), "{s}");
        }
        for s in [400, 401, 403, 404, 409] {
            assert!(!is_transient(StatusCode::from_u16(s).unwrap()), "{s}");
        }
    }

    fn budget(ms: u64) -> Budget {
        Budget {
            until: Instant::now() + Duration::from_millis(ms),
        }
    }

    #[tokio::test]
    async fn transient_failures_are_retried_until_success() {
        let gate = ThrottleGate::default();
        let mut calls = 0;
        let result = with_retries(Service::Graph, &gate, budget(5_000), || {
            calls += 1;
            let n = calls;
            async move {
                if n < 3 {
                    Err(Failure::Transient {
                        detail: "503".into(),
                        retry_after: None,
                        throttled: false,
                    })
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(result.unwrap(), 3);
    }

    #[tokio::test]
    async fn final_failures_are_not_retried() {
        let gate = ThrottleGate::default();
        let mut calls = 0;
        let result: Result<(), _> = with_retries(Service::Graph, &gate, budget(5_000), || {
            calls += 1;
            async {
                Err(Failure::Final(RemoteError::Refused {
                    service: Service::Graph,
                    detail: "400".into(),
                }))
            }
        })
        .await;
        assert!(matches!(result, Err(RemoteError::Refused { .. })));
        assert_eq!(calls, 1);
    }

    #[tokio::test]
    async fn a_retry_after_beyond_the_budget_gives_up_at_once_and_says_why() {
        let gate = ThrottleGate::default();
        let started = Instant::now();
        let mut calls = 0;
        let result: Result<(), _> = with_retries(Service::Graph, &gate, budget(2_000), || {
            calls += 1;
            async {
                Err(Failure::Transient {
                    detail: "Graph answered 429 Too Many Requests".into(),
                    retry_after: Some(Duration::from_secs(30)),
                    throttled: true,
                })
            }
        })
        .await;
        let err = result.unwrap_err();
        assert!(
            matches!(
                err,
                RemoteError::Throttled {
                    retry_after_secs: Some(30),
                    may_have_landed: false,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("Retry-After 30 s"), "{err}");
        assert_eq!(calls, 1);
        assert!(started.elapsed() < Duration::from_millis(500));
        // The gate now holds every later call of this process back too.
        let later: Result<(), _> =
            with_retries(Service::Graph, &gate, budget(2_000), || async { Ok(()) }).await;
        assert!(
            matches!(later, Err(RemoteError::Throttled { .. })),
            "a call inside the Retry-After window must not start: {later:?}"
        );
    }

    #[test]
    fn a_retry_after_too_large_for_u64_is_clamped_not_ignored() {
        let mut h = HeaderMap::new();
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("99999999999999999999999999"),
        );
        assert_eq!(retry_after(&h), Some(MAX_RETRY_AFTER));
        h.insert(RETRY_AFTER, HeaderValue::from_static("-5"));
        assert_eq!(retry_after(&h), None);
    }

    #[tokio::test]
    async fn a_huge_retry_after_closes_the_shared_gate_for_at_most_a_minute() {
        let gate = ThrottleGate::default();
        let result: Result<(), _> = with_retries(Service::Graph, &gate, budget(2_000), || async {
            Err(Failure::Transient {
                detail: "429".into(),
                retry_after: Some(MAX_RETRY_AFTER),
                throttled: true,
            })
        })
        .await;
        assert!(matches!(result, Err(RemoteError::Throttled { .. })));
        let closed_for = gate
            .opens_at()
            .expect("the gate is closed")
            .saturating_duration_since(Instant::now());
        assert!(
            closed_for <= Duration::from_secs(60),
            "closed for {closed_for:?}"
        );
        assert!(
            closed_for > Duration::from_secs(50),
            "closed for {closed_for:?}"
        );
    }

    #[tokio::test]
    async fn throttling_after_a_failure_that_may_have_landed_says_so() {
        let gate = ThrottleGate::default();
        let mut calls = 0;
        let result: Result<(), _> = with_retries(Service::Graph, &gate, budget(2_000), || {
            calls += 1;
            let n = calls;
            async move {
                Err(if n == 1 {
                    Failure::Transient {
                        detail: "timed out".into(),
                        retry_after: None,
                        throttled: false,
                    }
                } else {
                    Failure::Transient {
                        detail: "429".into(),
                        retry_after: Some(Duration::from_secs(30)),
                        throttled: true,
                    }
                })
            }
        })
        .await;
        let err = result.unwrap_err();
        assert!(matches!(err, RemoteError::Throttled { .. }), "{err:?}");
        assert!(
            err.may_have_landed(),
            "the timed-out attempt may have landed"
        );
    }

    #[tokio::test]
    async fn server_errors_past_the_budget_are_unavailable_not_throttled() {
        let gate = ThrottleGate::default();
        let result: Result<(), _> = with_retries(Service::Graph, &gate, budget(300), || async {
            Err(Failure::Transient {
                detail: "503".into(),
                retry_after: None,
                throttled: false,
            })
        })
        .await;
        let err = result.unwrap_err();
        assert!(matches!(err, RemoteError::Unavailable { .. }), "{err:?}");
        assert!(err.may_have_landed());
    }

    #[tokio::test]
    async fn retries_and_the_waits_of_throttled_attempts_are_counted() {
        let gate = ThrottleGate::default();
        let mut calls = 0;
        let attempts = with_retries(Service::Graph, &gate, budget(5_000), || {
            calls += 1;
            let n = calls;
            async move {
                match n {
                    1 => Err(Failure::Transient {
                        detail: "429".into(),
                        retry_after: None,
                        throttled: true,
                    }),
                    2 => Err(Failure::Transient {
                        detail: "503".into(),
                        retry_after: None,
                        throttled: false,
                    }),
                    _ => Ok(()),
                }
            }
        });
        let (result, batch) = metrics::capture(attempts).await;
        assert!(result.is_ok());
        assert_eq!(batch.count(&metrics::RETRIES, &["Graph"]), 2);
        // Only the throttled attempt's wait (the backoff's first step, 100 to 200 ms).
        let waits = batch.values(&metrics::THROTTLE_WAIT, &["Graph"]);
        assert_eq!(waits.len(), 1, "{waits:?}");
        assert!((0.1..0.2).contains(&waits[0]), "{waits:?}");
    }

    #[tokio::test]
    async fn waiting_for_the_shared_throttle_gate_is_counted() {
        let gate = ThrottleGate::default();
        gate.close_for(Duration::from_millis(300));
        let call = with_retries(Service::GenesysScim, &gate, budget(5_000), || async {
            Ok::<_, Failure>(())
        });
        let (result, batch) = metrics::capture(call).await;
        assert!(result.is_ok());
        let waits = batch.values(&metrics::THROTTLE_WAIT, &["GenesysScim"]);
        assert_eq!(waits.len(), 1, "{waits:?}");
        assert!((0.25..=0.3).contains(&waits[0]), "{waits:?}");
        assert_eq!(batch.count(&metrics::RETRIES, &["GenesysScim"]), 0);
    }

    #[tokio::test]
    async fn retry_after_is_waited_before_the_next_attempt() {
        let gate = ThrottleGate::default();
        let mut starts = Vec::new();
        let result = with_retries(Service::Graph, &gate, budget(5_000), || {
            starts.push(Instant::now());
            let n = starts.len();
            async move {
                if n == 1 {
                    Err(Failure::Transient {
                        detail: "429".into(),
                        retry_after: Some(Duration::from_secs(1)),
                        throttled: true,
                    })
                } else {
                    Ok(())
                }
            }
        })
        .await;
        assert!(result.is_ok());
        assert!(starts[1] - starts[0] >= Duration::from_secs(1));
    }
}
