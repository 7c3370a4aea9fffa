//! A small HTTP reverse proxy in front of moto that counts AWS calls by operation, can add a
//! delay to every request, and can play an outage.
//!
//! * Counting: DynamoDB and Secrets Manager speak the AWS JSON protocol, whose operation is
//!   the `X-Amz-Target` header (`DynamoDB_20120810.UpdateItem`,
//!   `secretsmanager.GetSecretValue`). [`AwsProxy::counts`] is keyed by the operation name
//!   after the dot (`UpdateItem`, `GetItem`, `GetSecretValue`, …); requests without the
//!   header count as `(none)`. Every request received is counted, answered or not.
//! * Delay: [`AwsProxy::set_delay`] holds every request that long before forwarding it (a
//!   one-way network delay, applied once per request).
//! * Outage: [`AwsProxy::set_down`]`(true)` closes every open connection and answers no
//!   request (connections are accepted and closed without a response, so the SDK sees an I/O
//!   error) until `set_down(false)`.
//! * Timing: the time spent waiting for moto is summed per operation
//!   ([`AwsProxy::upstream_time`]), so a benchmark can tell the emulator's share of a latency.
//! * Canned answers: [`AwsProxy::answer_once`] answers the next request whose path, target or
//!   body contains a needle with a given status and body instead of forwarding it (a Lambda
//!   `Invoke` throttled with 429, an event source moto cannot make `PENDING`), once.
//!
//! Point a function at it with [`crate::aws::env_for`]`(&proxy.endpoint())` (a child process)
//! or [`crate::aws::sdk_config`]`(&proxy.endpoint())` (in-process instances).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::{JoinHandle, JoinSet};

/// Largest request or response body forwarded (DynamoDB items are at most 400 KB).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// The key under which requests without `X-Amz-Target` are counted.
pub const NO_TARGET: &str = "(none)";

#[derive(Default)]
struct Stats {
    /// By operation (`UpdateItem`).
    by_operation: HashMap<String, usize>,
    /// By service prefix of the target (`DynamoDB_20120810`, `secretsmanager`).
    by_service: HashMap<String, usize>,
    /// Time spent waiting for the upstream, by operation.
    upstream: HashMap<String, Duration>,
}

/// What happens to a request picked out by a [`HoldSlot`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum HoldMode {
    /// Forward it, and hold its answer until released.
    Hold,
    /// Hold it before it reaches moto, and never forward it.
    Swallow,
    /// Forward it (so it takes effect), then close the connection instead of answering.
    LoseAnswer,
}

/// A request whose answer is to be held back (see [`AwsProxy::hold`]).
struct HoldSlot {
    operation: String,
    needle: String,
    mode: HoldMode,
    reached: Option<tokio::sync::oneshot::Sender<()>>,
    release: watch::Receiver<bool>,
}

/// An answer given instead of moto's (see [`AwsProxy::answer_once`]).
struct Canned {
    needle: String,
    status: StatusCode,
    headers: HeaderMap,
    body: String,
    answered: Arc<AtomicBool>,
}

struct Shared {
    holds: Mutex<Vec<HoldSlot>>,
    canned: Mutex<Vec<Canned>>,
    upstream: String,
    client: reqwest::Client,
    stats: Mutex<Stats>,
    delay_ns: AtomicU64,
    down: watch::Sender<bool>,
}

impl Shared {
    fn stats(&self) -> std::sync::MutexGuard<'_, Stats> {
        self.stats.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The proxy, on `127.0.0.1:<random port>` until dropped.
pub struct AwsProxy {
    endpoint: String,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for AwsProxy {
    fn drop(&mut self) {
        // Dropping the accept loop drops its JoinSet, which closes every connection.
        self.task.abort();
    }
}

impl AwsProxy {
    /// Start a proxy forwarding to `upstream` (e.g. moto's `http://127.0.0.1:PORT`).
    /// Must be called inside a tokio runtime.
    pub async fn start(upstream: &str) -> AwsProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the AWS proxy on loopback");
        let endpoint = format!("http://{}", listener.local_addr().expect("local address"));
        let (down, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("the proxy's HTTP client initialises"),
            stats: Mutex::new(Stats::default()),
            delay_ns: AtomicU64::new(0),
            down,
            holds: Mutex::new(Vec::new()),
            canned: Mutex::new(Vec::new()),
        });
        let router = Router::new()
            .fallback(forward)
            .with_state(Arc::clone(&shared));
        let task = tokio::spawn(accept_loop(listener, router, Arc::clone(&shared)));
        AwsProxy {
            endpoint,
            shared,
            task,
        }
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL_*` or an SDK `endpoint_url`.
    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    /// Requests received so far, by operation (`UpdateItem`, `GetSecretValue`, …).
    pub fn counts(&self) -> HashMap<String, usize> {
        self.shared.stats().by_operation.clone()
    }

    /// Requests received so far for one operation.
    pub fn count(&self, operation: &str) -> usize {
        self.shared
            .stats()
            .by_operation
            .get(operation)
            .copied()
            .unwrap_or(0)
    }

    /// DynamoDB requests received so far (any operation).
    pub fn dynamodb_calls(&self) -> usize {
        self.service_calls("DynamoDB_")
    }

    /// Secrets Manager requests received so far (any operation).
    pub fn secrets_manager_calls(&self) -> usize {
        self.service_calls("secretsmanager")
    }

    fn service_calls(&self, prefix: &str) -> usize {
        self.shared
            .stats()
            .by_service
            .iter()
            .filter(|(service, _)| service.starts_with(prefix))
            .map(|(_, n)| n)
            .sum()
    }

    /// Time spent waiting for the upstream, summed over every forwarded request.
    pub fn upstream_time(&self) -> Duration {
        self.shared.stats().upstream.values().sum()
    }

    /// Time spent waiting for the upstream for one operation.
    pub fn upstream_time_of(&self, operation: &str) -> Duration {
        self.shared
            .stats()
            .upstream
            .get(operation)
            .copied()
            .unwrap_or_default()
    }

    /// Forget every count and time.
    pub fn reset(&self) {
        *self.shared.stats() = Stats::default();
    }

    /// Hold every request this long before forwarding it. Default: none.
    pub fn set_delay(&self, delay: Duration) {
        self.shared.delay_ns.store(
            delay.as_nanos().min(u64::MAX as u128) as u64,
            Ordering::Relaxed,
        );
    }

    /// While down, every open connection is closed and no request is answered.
    pub fn set_down(&self, down: bool) {
        self.shared.down.send_replace(down);
    }

    /// Whether [`AwsProxy::set_down`] last said down.
    pub fn is_down(&self) -> bool {
        *self.shared.down.borrow()
    }

    /// Holds back the answer to the next `operation` request whose body contains `needle`:
    /// the request reaches moto (and takes effect there), but its answer waits until the
    /// [`Hold`] is released or dropped. Crash tests kill the function in that window.
    pub fn hold(&self, operation: &str, needle: &str) -> Hold {
        self.add_slot(operation, needle, HoldMode::Hold)
    }

    /// Holds the next `operation` request whose body contains `needle` *before* it reaches
    /// moto, and never forwards it: the write is lost with the process that sent it.
    pub fn swallow(&self, operation: &str, needle: &str) -> Hold {
        self.add_slot(operation, needle, HoldMode::Swallow)
    }

    /// Forwards the next `operation` request whose body contains `needle` to moto (so the write
    /// takes effect), then closes the connection instead of answering: the client sees a
    /// connection error for a write that landed, and its SDK retries it.
    pub fn lose_answer(&self, operation: &str, needle: &str) {
        // Nothing waits on the answer: it is never sent.
        drop(self.add_slot(operation, needle, HoldMode::LoseAnswer));
    }

    /// Answers the next request whose URI path (as sent or percent-decoded), `X-Amz-Target`
    /// header or body contains `needle` with `status`, `content_type` and `body` instead of
    /// forwarding it to moto; later requests are forwarded as usual. Canned answers are
    /// matched in the order they were added, each one once. The request is still counted.
    ///
    /// An error answer (`status` 400 or more) whose body is a JSON object with `__type` also
    /// carries that type in `x-amzn-ErrorType`, as AWS's REST-JSON services (Lambda) send it
    /// and the SDKs read it: e.g. `answer_once("/functions/NAME/invocations", 429,
    /// "application/json", r#"{"Type":"User","message":"Rate exceeded","__type":"TooManyRequestsException"}"#)`
    /// is Lambda's throttling error. Every answer carries an `x-amzn-RequestId`.
    ///
    /// The needle can be an operation for the AWS JSON protocol (`DescribeEventSource` matches
    /// the target `AWSEvents.DescribeEventSource`), a path for REST APIs, or a name in the body.
    pub fn answer_once(
        &self,
        needle: &str,
        status: u16,
        content_type: &str,
        body: &str,
    ) -> CannedAnswer {
        let mut headers = vec![("content-type", content_type)];
        let error_type = (status >= 400)
            .then(|| serde_json::from_str::<serde_json::Value>(body).ok())
            .flatten()
            .and_then(|value| value.get("__type")?.as_str().map(str::to_owned));
        if let Some(error_type) = &error_type {
            headers.push(("x-amzn-ErrorType", error_type));
        }
        self.answer_once_with_headers(needle, status, &headers, body)
    }

    /// [`AwsProxy::answer_once`] with exactly these response headers (plus an
    /// `x-amzn-RequestId` unless given), e.g. a `Retry-After`. Panics on an invalid status or
    /// header.
    pub fn answer_once_with_headers(
        &self,
        needle: &str,
        status: u16,
        headers: &[(&str, &str)],
        body: &str,
    ) -> CannedAnswer {
        let status = StatusCode::from_u16(status).expect("a valid HTTP status");
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).expect("a valid header name"),
                HeaderValue::from_str(value).expect("a valid header value"),
            );
        }
        if !map.contains_key("x-amzn-requestid") {
            map.insert(
                "x-amzn-requestid",
                HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
                    .expect("a UUID is a header value"),
            );
        }
        let answered = Arc::new(AtomicBool::new(false));
        self.shared
            .canned
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Canned {
                needle: needle.to_owned(),
                status,
                headers: map,
                body: body.to_owned(),
                answered: Arc::clone(&answered),
            });
        CannedAnswer { answered }
    }

    /// Canned answers added with [`AwsProxy::answer_once`] and not given yet.
    pub fn pending_answers(&self) -> usize {
        self.shared
            .canned
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Waits until `operation` has been requested at least `count` times in all.
    pub async fn wait_for_count(&self, operation: &str, count: usize) {
        while self.count(operation) < count {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn add_slot(&self, operation: &str, needle: &str, mode: HoldMode) -> Hold {
        let (reached_tx, reached_rx) = tokio::sync::oneshot::channel();
        let (release_tx, release_rx) = watch::channel(false);
        self.shared
            .holds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(HoldSlot {
                operation: operation.to_owned(),
                needle: needle.to_owned(),
                mode,
                reached: Some(reached_tx),
                release: release_rx,
            });
        Hold {
            reached: Some(reached_rx),
            release: release_tx,
        }
    }
}

/// Tells whether a canned answer of [`AwsProxy::answer_once`] was given. Dropping it keeps
/// the answer armed.
#[derive(Clone, Debug)]
pub struct CannedAnswer {
    answered: Arc<AtomicBool>,
}

impl CannedAnswer {
    /// Whether a request got this answer.
    pub fn answered(&self) -> bool {
        self.answered.load(Ordering::SeqCst)
    }
}

/// An answer held back by [`AwsProxy::hold`]; dropping it releases the answer.
pub struct Hold {
    reached: Option<tokio::sync::oneshot::Receiver<()>>,
    release: watch::Sender<bool>,
}

impl Hold {
    /// Waits until the held request has been answered by moto (and is being held).
    pub async fn reached(&mut self, timeout: Duration) -> bool {
        let Some(reached) = self.reached.take() else {
            return true;
        };
        matches!(tokio::time::timeout(timeout, reached).await, Ok(Ok(())))
    }

    pub fn release(&self) {
        self.release.send_replace(true);
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.release.send_replace(true);
    }
}

async fn accept_loop(listener: TcpListener, router: Router, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    if *shared.down.borrow() {
                        drop(stream);
                        continue;
                    }
                    let _ = stream.set_nodelay(true);
                    connections.spawn(serve_connection(stream, router.clone(), shared.down.subscribe()));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Put into every request's extensions: notifying it closes the connection unanswered.
#[derive(Clone)]
struct ConnectionKill(Arc<Notify>);

async fn serve_connection(stream: TcpStream, router: Router, mut down: watch::Receiver<bool>) {
    let kill = Arc::new(Notify::new());
    let marker = ConnectionKill(Arc::clone(&kill));
    let tower_service = TowerToHyperService::new(router);
    let service = hyper::service::service_fn(move |mut request: hyper::Request<_>| {
        request.extensions_mut().insert(marker.clone());
        hyper::service::Service::call(&tower_service, request)
    });
    let connection =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        // An outage wins over a request that arrived at the same time.
        biased;
        _ = down.wait_for(|down| *down) => {}
        _ = kill.notified() => {}
        _ = connection => {}
    }
}

/// Hop-by-hop headers (RFC 9110 §7.6.1) and the ones the client recomputes.
fn forwardable(name: &HeaderName) -> bool {
    !matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "host"
            | "content-length"
    )
}

fn copy_headers(from: &HeaderMap) -> HeaderMap {
    from.iter()
        .filter(|(name, _)| forwardable(name))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// `(service, operation)` from `X-Amz-Target`.
fn target(headers: &HeaderMap) -> (String, String) {
    match headers
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
    {
        Some(target) => match target.split_once('.') {
            Some((service, operation)) => (service.to_owned(), operation.to_owned()),
            None => (target.to_owned(), target.to_owned()),
        },
        None => (NO_TARGET.to_owned(), NO_TARGET.to_owned()),
    }
}

async fn forward(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let (service, operation) = target(&parts.headers);
    {
        let mut stats = shared.stats();
        *stats.by_operation.entry(operation.clone()).or_default() += 1;
        *stats.by_service.entry(service).or_default() += 1;
    }
    let kill = parts.extensions.get::<ConnectionKill>().cloned();
    if *shared.down.borrow() {
        return unanswered(kill).await;
    }
    let delay = Duration::from_nanos(shared.delay_ns.load(Ordering::Relaxed));
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
        if *shared.down.borrow() {
            return unanswered(kill).await;
        }
    }
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(body) => body,
        Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response(),
    };
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |path| path.as_str())
        .to_owned();
    if let Some(canned) = take_canned(&shared, &parts.headers, &path, &body) {
        canned.answered.store(true, Ordering::SeqCst);
        let mut response = Response::new(Body::from(canned.body));
        *response.status_mut() = canned.status;
        *response.headers_mut() = canned.headers;
        return response;
    }
    let held = {
        let text = String::from_utf8_lossy(&body);
        let mut holds = shared.holds.lock().unwrap_or_else(PoisonError::into_inner);
        let found = holds
            .iter()
            .position(|h| h.operation == operation && text.contains(&h.needle));
        found.map(|i| holds.remove(i))
    };
    let held = match held {
        Some(mut swallowed) if swallowed.mode == HoldMode::Swallow => {
            if let Some(reached) = swallowed.reached.take() {
                let _ = reached.send(());
            }
            let _ = swallowed.release.wait_for(|released| *released).await;
            return unanswered(kill).await;
        }
        other => other,
    };
    let started = Instant::now();
    let answer = shared
        .client
        .request(parts.method, format!("{}{path}", shared.upstream))
        .headers(copy_headers(&parts.headers))
        .body(body)
        .send()
        .await;
    let response = match answer {
        Ok(answer) => {
            let status = answer.status();
            let headers = copy_headers(answer.headers());
            match answer.bytes().await {
                Ok(bytes) => {
                    let mut response = Response::new(Body::from(bytes));
                    *response.status_mut() = status;
                    *response.headers_mut() = headers;
                    response
                }
                Err(error) => bad_gateway(&error),
            }
        }
        Err(error) => bad_gateway(&error),
    };
    *shared.stats().upstream.entry(operation).or_default() += started.elapsed();
    if held
        .as_ref()
        .is_some_and(|h| h.mode == HoldMode::LoseAnswer)
    {
        return unanswered(kill).await;
    }
    if let Some(mut held) = held {
        if let Some(reached) = held.reached.take() {
            let _ = reached.send(());
        }
        let _ = held.release.wait_for(|released| *released).await;
    }
    response
}

/// The first canned answer whose needle is in the request's path, target or body, removed.
fn take_canned(shared: &Shared, headers: &HeaderMap, path: &str, body: &[u8]) -> Option<Canned> {
    let mut canned = shared.canned.lock().unwrap_or_else(PoisonError::into_inner);
    if canned.is_empty() {
        return None;
    }
    let decoded = percent_decode(path);
    let target = headers
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let text = String::from_utf8_lossy(body);
    let found = canned.iter().position(|c| {
        path.contains(&c.needle)
            || decoded.contains(&c.needle)
            || target.contains(&c.needle)
            || text.contains(&c.needle)
    })?;
    Some(canned.remove(found))
}

/// `%XX` escapes decoded (an invalid one is kept as it is).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((high * 16 + low) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Closes the request's connection without an answer.
async fn unanswered(kill: Option<ConnectionKill>) -> Response {
    match kill {
        Some(kill) => {
            kill.0.notify_one();
            // The connection task drops this future together with the connection.
            std::future::pending::<Response>().await
        }
        None => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

fn bad_gateway(error: &reqwest::Error) -> Response {
    let mut response = (
        StatusCode::BAD_GATEWAY,
        format!("AWS proxy: upstream failed: {error}"),
    )
        .into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operation_comes_from_the_target_header() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-amz-target",
            "DynamoDB_20120810.UpdateItem".parse().unwrap(),
        );
        assert_eq!(
            target(&headers),
            ("DynamoDB_20120810".to_owned(), "UpdateItem".to_owned())
        );
        headers.insert(
            "x-amz-target",
            "secretsmanager.GetSecretValue".parse().unwrap(),
        );
        assert_eq!(
            target(&headers),
            ("secretsmanager".to_owned(), "GetSecretValue".to_owned())
        );
        assert_eq!(
            target(&HeaderMap::new()),
            (NO_TARGET.to_owned(), NO_TARGET.to_owned())
        );
    }

    #[test]
    fn paths_are_percent_decoded_for_needles() {
        assert_eq!(
            percent_decode("/2015-03-31/functions/arn%3Aaws%3Alambda%3Ax/invocations"),
            "/2015-03-31/functions/arn:aws:lambda:x/invocations"
        );
        assert_eq!(percent_decode("/a%2"), "/a%2");
        assert_eq!(percent_decode("/a%zz"), "/a%zz");
    }

    #[test]
    fn hop_by_hop_headers_are_not_forwarded() {
        let mut headers = HeaderMap::new();
        headers.insert("connection", "close".parse().unwrap());
        headers.insert("host", "127.0.0.1:1".parse().unwrap());
        headers.insert("x-amz-target", "x.Y".parse().unwrap());
        let copied = copy_headers(&headers);
        assert_eq!(copied.len(), 1);
        assert!(copied.contains_key("x-amz-target"));
    }
}
