//! The remote calls' family: every attempt to a remote service with its status class and
//! latency, throttles, the time waited for them, and retries.

use super::declared::{Emitter, FUNCTION, Kind, Metric, OPERATION, SERVICE, STATUS, Unit};
use super::flush::{count, value};
use std::time::Duration;

metric!(
    REMOTE_CALLS,
    "RemoteCalls",
    Count,
    Counter,
    Sync,
    [SERVICE, OPERATION, STATUS],
    [
        [FUNCTION, SERVICE, OPERATION, STATUS],
        [FUNCTION, SERVICE, STATUS],
        [FUNCTION, SERVICE]
    ],
    "Requests to a remote service (every attempt, retries included), by service, operation and status class."
);
metric!(
    REMOTE_LATENCY,
    "RemoteLatency",
    Milliseconds,
    Distribution,
    Sync,
    [SERVICE, OPERATION],
    [[FUNCTION, SERVICE, OPERATION], [FUNCTION, SERVICE]],
    "Time to the answer of one attempt (its headers), by service and operation."
);
metric!(
    THROTTLES,
    "Throttles",
    Count,
    Counter,
    Sync,
    [SERVICE],
    [[FUNCTION, SERVICE]],
    "429 answers, by service."
);
metric!(
    THROTTLE_WAIT,
    "ThrottleWait",
    Seconds,
    Distribution,
    Sync,
    [SERVICE],
    [[FUNCTION, SERVICE]],
    "Seconds waited because a service throttled (its Retry-After, or this process's throttle gate), by service."
);
metric!(
    RETRIES,
    "Retries",
    Count,
    Counter,
    Sync,
    [SERVICE],
    [[FUNCTION, SERVICE]],
    "Attempts made again after a throttle, a server error, a timeout or a dropped connection, by service."
);

/// A remote service, as the `service` dimension names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Remote {
    SecretsManager,
    EntraId,
    Graph,
    GenesysLogin,
    GenesysScim,
    GenesysUsers,
    DynamoDB,
}

impl Remote {
    pub const fn as_str(self) -> &'static str {
        match self {
            Remote::SecretsManager => "SecretsManager",
            Remote::EntraId => "EntraId",
            Remote::Graph => "Graph",
            Remote::GenesysLogin => "GenesysLogin",
            Remote::GenesysScim => "GenesysScim",
            Remote::GenesysUsers => "GenesysUsers",
            Remote::DynamoDB => "DynamoDB",
        }
    }
}

impl From<crate::ports::Service> for Remote {
    fn from(service: crate::ports::Service) -> Self {
        use crate::ports::Service as S;
        match service {
            S::SecretsManager => Remote::SecretsManager,
            S::EntraId => Remote::EntraId,
            S::Graph => Remote::Graph,
            S::GenesysLogin => Remote::GenesysLogin,
            S::GenesysScim => Remote::GenesysScim,
            S::GenesysUsers => Remote::GenesysUsers,
        }
    }
}

/// How a remote answered one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusClass {
    Success,
    Redirect,
    ClientError,
    Throttled,
    ServerError,
    /// No answer in time.
    Timeout,
    /// No answer: the connection failed or dropped.
    Transport,
}

impl StatusClass {
    /// The class of an HTTP status code.
    pub const fn of(status: u16) -> Self {
        match status {
            429 => StatusClass::Throttled,
            200..=299 => StatusClass::Success,
            300..=399 => StatusClass::Redirect,
            500..=599 => StatusClass::ServerError,
            _ => StatusClass::ClientError,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            StatusClass::Success => "2xx",
            StatusClass::Redirect => "3xx",
            StatusClass::ClientError => "4xx",
            StatusClass::Throttled => "429",
            StatusClass::ServerError => "5xx",
            StatusClass::Timeout => "timeout",
            StatusClass::Transport => "transport",
        }
    }
}

/// One attempt of a remote call, answered (or not) after `latency`. A 429 is also counted in
/// [`THROTTLES`].
pub fn remote_call(
    remote: Remote,
    operation: &'static str,
    status: StatusClass,
    latency: Duration,
) {
    let service = remote.as_str();
    count(&REMOTE_CALLS, &[service, operation, status.as_str()], 1);
    value(
        &REMOTE_LATENCY,
        &[service, operation],
        latency.as_secs_f64() * 1000.0,
    );
    if status == StatusClass::Throttled {
        count(&THROTTLES, &[service], 1);
    }
}

/// One attempt made again.
pub fn retry(remote: Remote) {
    count(&RETRIES, &[remote.as_str()], 1);
}

/// Time waited because `remote` throttled.
pub fn throttle_wait(remote: Remote, waited: Duration) {
    value(&THROTTLE_WAIT, &[remote.as_str()], waited.as_secs_f64());
}

/// Times an AWS SDK call and records it as one attempt of `remote`'s `operation` (the SDK's
/// own retries inside it are not seen).
#[cfg(feature = "adapters")]
pub async fn time_sdk<T, E>(
    remote: Remote,
    operation: &'static str,
    call: impl Future<Output = Result<T, aws_sdk_secretsmanager::error::SdkError<E>>>,
) -> Result<T, aws_sdk_secretsmanager::error::SdkError<E>> {
    let started = std::time::Instant::now();
    let result = call.await;
    let status = match &result {
        Ok(_) => StatusClass::Success,
        Err(error) => sdk_status(error),
    };
    remote_call(remote, operation, status, started.elapsed());
    result
}

/// The status class of an AWS SDK error (the SDKs of DynamoDB and Secrets Manager share the
/// error type).
#[cfg(feature = "adapters")]
pub fn sdk_status<E>(error: &aws_sdk_secretsmanager::error::SdkError<E>) -> StatusClass {
    use aws_sdk_secretsmanager::error::SdkError;
    match error {
        SdkError::ServiceError(e) => StatusClass::of(e.raw().status().as_u16()),
        SdkError::ResponseError(e) => StatusClass::of(e.raw().status().as_u16()),
        SdkError::TimeoutError(_) => StatusClass::Timeout,
        SdkError::DispatchFailure(e) if e.is_timeout() => StatusClass::Timeout,
        _ => StatusClass::Transport,
    }
}
