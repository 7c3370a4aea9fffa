//! Fault injection, call recording and the HTTP server plumbing shared by the fake
//! Genesys Cloud and Microsoft servers.
//!
//! * [`Fault`] describes one misbehaviour (an error status, a delay, a dropped connection or
//!   an arbitrary raw answer); a [`FaultPlan`] holds a FIFO queue of them per endpoint kind.
//!   Every incoming request of that kind pops at most one fault before normal handling.
//! * [`Recorder`] keeps a [`RecordedCall`] for every request a fake received, in arrival order.
//! * [`FakeServer`] runs an axum [`Router`] behind its own accept loop on `127.0.0.1:0`, so that
//!   a [`Fault::Drop`] can really close the TCP connection without writing any HTTP response
//!   (the client sees a connection error, not a status code). The server stops when its handle
//!   is dropped or [`FakeServer::shutdown`] is awaited.

use std::collections::{HashMap, VecDeque};
use std::fmt::Debug;
use std::hash::Hash;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, oneshot};
use tokio::task::{JoinHandle, JoinSet};

/// Largest request body a fake buffers (and records); larger bodies are recorded as empty.
const MAX_RECORDED_BODY: usize = 16 * 1024 * 1024;

/// One injected misbehaviour, applied to a single request before the fake's normal handling
/// (so before authentication and validation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status. `retry_after` (seconds) becomes a `Retry-After` header. When
    /// `body` is `None` the fake writes its own documented error shape for that endpoint and
    /// status (Graph error object, Entra token error, SCIM error, …); a given body is sent
    /// verbatim as `application/json`.
    Status {
        status: u16,
        retry_after: Option<u64>,
        body: Option<String>,
    },
    /// Answer normally, but only after this delay (the request is handled after the delay).
    Delay(Duration),
    /// Close the TCP connection without writing any response.
    Drop,
    /// Answer with exactly these bytes: for truncated, non-JSON or huge bodies.
    Raw {
        status: u16,
        content_type: String,
        body: Vec<u8>,
    },
}

impl Fault {
    /// An error status with the fake's default body and no `Retry-After`.
    pub fn status(status: u16) -> Self {
        Fault::Status {
            status,
            retry_after: None,
            body: None,
        }
    }

    /// `429 Too Many Requests` with `Retry-After: {secs}` and the fake's default body.
    pub fn throttled(retry_after_secs: u64) -> Self {
        Fault::Status {
            status: 429,
            retry_after: Some(retry_after_secs),
            body: None,
        }
    }

    /// An error status with an optional `Retry-After` and the fake's default body.
    pub fn status_retry_after(status: u16, retry_after: Option<u64>) -> Self {
        Fault::Status {
            status,
            retry_after,
            body: None,
        }
    }

    /// An error status with a caller-chosen JSON body.
    pub fn status_with_body(status: u16, body: impl Into<String>) -> Self {
        Fault::Status {
            status,
            retry_after: None,
            body: Some(body.into()),
        }
    }

    /// Answer normally after `delay`.
    pub fn delay(delay: Duration) -> Self {
        Fault::Delay(delay)
    }

    /// An arbitrary answer, sent byte for byte.
    pub fn raw(status: u16, content_type: impl Into<String>, body: impl Into<Vec<u8>>) -> Self {
        Fault::Raw {
            status,
            content_type: content_type.into(),
            body: body.into(),
        }
    }
}

/// What identifies an endpoint of a fake (one enum per fake). Implemented for every type
/// with these bounds.
pub trait EndpointKind: Copy + Eq + Hash + Debug + Send + Sync + 'static {}

impl<T: Copy + Eq + Hash + Debug + Send + Sync + 'static> EndpointKind for T {}

/// FIFO queues of faults, one per endpoint kind. Cloning shares the queues.
#[derive(Debug)]
pub struct FaultPlan<K> {
    queues: Arc<Mutex<HashMap<K, VecDeque<Fault>>>>,
}

impl<K> Clone for FaultPlan<K> {
    fn clone(&self) -> Self {
        FaultPlan {
            queues: Arc::clone(&self.queues),
        }
    }
}

impl<K: EndpointKind> Default for FaultPlan<K> {
    fn default() -> Self {
        FaultPlan {
            queues: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

impl<K: EndpointKind> FaultPlan<K> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Queue one fault for the next request of `kind` not already claimed by a queued fault.
    pub fn push(&self, kind: K, fault: Fault) {
        self.push_n(kind, fault, 1);
    }

    /// Queue `n` copies of `fault` for the next `n` requests of `kind`.
    pub fn push_n(&self, kind: K, fault: Fault, n: usize) {
        let mut queues = lock(&self.queues);
        let queue = queues.entry(kind).or_default();
        queue.extend(std::iter::repeat_n(fault, n));
    }

    /// Take the fault for the current request of `kind`, if any.
    pub fn pop(&self, kind: K) -> Option<Fault> {
        lock(&self.queues).get_mut(&kind)?.pop_front()
    }

    /// How many faults are still queued for `kind`.
    pub fn pending(&self, kind: K) -> usize {
        lock(&self.queues).get(&kind).map_or(0, VecDeque::len)
    }

    /// Forget every queued fault.
    pub fn clear(&self) {
        lock(&self.queues).clear();
    }
}

/// One request as a fake received it.
#[derive(Debug, Clone)]
pub struct RecordedCall<K> {
    pub kind: K,
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    /// The status answered, or 0 when the connection was dropped without a response.
    pub status: u16,
    /// When the request (head and body) had been received.
    pub started: Instant,
    /// When the response was handed to the connection (or the connection was dropped).
    pub finished: Instant,
    pub authorization_present: bool,
    /// The `Authorization` header as sent. Each function instance holds its own token, so
    /// this attributes calls to instances (the throttling checks need that).
    pub authorization: Option<String>,
    /// The `Retry-After` header answered, in seconds.
    pub retry_after: Option<u64>,
    pub content_type: Option<String>,
    /// The request body, decoded as UTF-8 (lossily).
    pub body: String,
    /// Whether a queued [`Fault`] was applied to this request.
    pub faulted: bool,
}

impl<K> RecordedCall<K> {
    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }

    /// The body parsed as an `application/x-www-form-urlencoded` form, if it is one.
    pub fn form(&self) -> Option<Vec<(String, String)>> {
        serde_urlencoded::from_str(&self.body).ok()
    }

    /// True when the connection was closed without an answer.
    pub fn dropped(&self) -> bool {
        self.status == 0
    }

    /// Time from receipt to answer.
    pub fn elapsed(&self) -> Duration {
        self.finished.saturating_duration_since(self.started)
    }
}

/// Every call a fake received, in order. Cloning shares the record.
#[derive(Debug)]
pub struct Recorder<K> {
    calls: Arc<Mutex<Vec<RecordedCall<K>>>>,
    /// The kind of every request received, as it arrived (before any fault or answer).
    arrivals: Arc<Mutex<Vec<K>>>,
}

impl<K> Clone for Recorder<K> {
    fn clone(&self) -> Self {
        Recorder {
            calls: Arc::clone(&self.calls),
            arrivals: Arc::clone(&self.arrivals),
        }
    }
}

impl<K: EndpointKind> Default for Recorder<K> {
    fn default() -> Self {
        Recorder {
            calls: Arc::new(Mutex::new(Vec::new())),
            arrivals: Arc::new(Mutex::new(Vec::new())),
        }
    }
}

impl<K: EndpointKind> Recorder<K> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn record(&self, call: RecordedCall<K>) {
        lock(&self.calls).push(call);
    }

    /// Notes a request of `kind` as it arrives.
    pub fn arrived(&self, kind: K) {
        lock(&self.arrivals).push(kind);
    }

    /// Waits until `n` requests of `kind` have arrived (answered or still in flight): a test
    /// synchronises on the fake's state, not on a sleep.
    pub async fn until_arrived(&self, kind: K, n: usize) {
        while lock(&self.arrivals).iter().filter(|k| **k == kind).count() < n {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    }

    /// All calls, in the order their answers were decided.
    pub fn calls(&self) -> Vec<RecordedCall<K>> {
        lock(&self.calls).clone()
    }

    /// The calls of one endpoint kind, in order.
    pub fn calls_of(&self, kind: K) -> Vec<RecordedCall<K>> {
        lock(&self.calls)
            .iter()
            .filter(|call| call.kind == kind)
            .cloned()
            .collect()
    }

    /// How many calls of one endpoint kind were received.
    pub fn count(&self, kind: K) -> usize {
        lock(&self.calls)
            .iter()
            .filter(|call| call.kind == kind)
            .count()
    }

    pub fn clear(&self) {
        lock(&self.calls).clear();
        lock(&self.arrivals).clear();
    }
}

/// Lock a mutex, ignoring poisoning (a panicking test must not cascade into the fakes).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Put into every request's extensions by [`FakeServer`]: notifying it makes the connection
/// task drop the connection, closing the socket without a response.
#[derive(Clone)]
struct ConnectionKill(Arc<Notify>);

/// An HTTP/1.1 server on `127.0.0.1:<ephemeral port>` with its own accept loop.
#[derive(Debug)]
pub struct FakeServer {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl FakeServer {
    /// Bind `127.0.0.1:0`, build the router knowing the base URL (`http://127.0.0.1:PORT`),
    /// and serve it until the handle is dropped.
    pub async fn start(build: impl FnOnce(&str) -> Router) -> io::Result<FakeServer> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let router = build(&format!("http://{addr}"));
        let (shutdown_tx, shutdown_rx) = oneshot::channel();
        let task = tokio::spawn(accept_loop(listener, router, shutdown_rx));
        Ok(FakeServer {
            addr,
            shutdown: Some(shutdown_tx),
            task: Some(task),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stop accepting, close every open connection and wait for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn accept_loop(listener: TcpListener, router: Router, mut shutdown: oneshot::Receiver<()>) {
    // Dropping the JoinSet (when this loop ends) aborts every connection task, which closes
    // their sockets.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, router.clone()));
                }
                // E.g. too many open files: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve_connection(stream: TcpStream, router: Router) {
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
        _ = connection => {}
        // Dropping the connection future (with the pending handler inside it) closes the
        // socket without writing a response.
        _ = kill.notified() => {}
    }
}

/// Builds a fake's own error body for a [`Fault::Status`] without a body:
/// `(kind, status, retry_after) -> (content type, body)`.
pub(crate) type DefaultFaultBody<K> = fn(K, u16, Option<u64>) -> (&'static str, String);

/// Everything the fault/record middleware needs from one fake.
pub(crate) struct Instrumentation<K> {
    pub plan: FaultPlan<K>,
    pub recorder: Recorder<K>,
    pub classify: fn(&Method, &str) -> K,
    pub default_body: DefaultFaultBody<K>,
}

impl<K> Clone for Instrumentation<K> {
    fn clone(&self) -> Self {
        Instrumentation {
            plan: self.plan.clone(),
            recorder: self.recorder.clone(),
            classify: self.classify,
            default_body: self.default_body,
        }
    }
}

/// Wrap every route (and the fallback) of `router` so that faults are applied and calls
/// recorded.
pub(crate) fn instrument<K: EndpointKind>(router: Router, inst: Instrumentation<K>) -> Router {
    router.layer(middleware::from_fn_with_state(inst, fault_and_record::<K>))
}

async fn fault_and_record<K: EndpointKind>(
    State(inst): State<Instrumentation<K>>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_RECORDED_BODY)
        .await
        .unwrap_or_default();
    let started = Instant::now();
    let kind = (inst.classify)(&parts.method, parts.uri.path());
    inst.recorder.arrived(kind);
    let mut call = RecordedCall {
        kind,
        method: parts.method.clone(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        status: 0,
        started,
        finished: started,
        authorization_present: parts.headers.contains_key(header::AUTHORIZATION),
        authorization: header_str(&parts.headers, header::AUTHORIZATION.as_str())
            .map(str::to_owned),
        retry_after: None,
        content_type: header_str(&parts.headers, header::CONTENT_TYPE.as_str()).map(str::to_owned),
        body: String::from_utf8_lossy(&bytes).into_owned(),
        faulted: false,
    };
    let kill = parts.extensions.get::<ConnectionKill>().cloned();
    let request = Request::from_parts(parts, Body::from(bytes));

    let fault = inst.plan.pop(kind);
    call.faulted = fault.is_some();
    let response = match fault {
        None => next.run(request).await,
        Some(Fault::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            next.run(request).await
        }
        Some(Fault::Status {
            status,
            retry_after,
            body,
        }) => {
            let (content_type, body) = match body {
                Some(body) => ("application/json", body),
                None => (inst.default_body)(kind, status, retry_after),
            };
            let mut response = raw_response(status, content_type, body.into_bytes());
            if let Some(secs) = retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            response
        }
        Some(Fault::Raw {
            status,
            content_type,
            body,
        }) => raw_response(status, &content_type, body),
        Some(Fault::Drop) => {
            call.finished = Instant::now();
            inst.recorder.record(call);
            match kill {
                Some(kill) => {
                    kill.0.notify_one();
                    // The connection task drops this future together with the connection.
                    return std::future::pending().await;
                }
                // Only reachable if the router is served by something other than FakeServer.
                None => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            }
        }
    };
    call.status = response.status().as_u16();
    call.retry_after =
        header_str(response.headers(), header::RETRY_AFTER.as_str()).and_then(|v| v.parse().ok());
    call.finished = Instant::now();
    inst.recorder.record(call);
    response
}

fn raw_response(status: u16, content_type: &str, body: Vec<u8>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, body).into_response();
    if let Ok(value) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

/// A header's value as text, if present and visible ASCII.
pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok()
}

/// Whether the `Content-Type` media type (parameters ignored, case-insensitive) is `expected`.
pub(crate) fn has_media_type(headers: &HeaderMap, expected: &str) -> bool {
    header_str(headers, header::CONTENT_TYPE.as_str())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case(expected))
}

/// How the `Authorization` header presented credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Authorization {
    Absent,
    Bearer(String),
    Basic {
        user: String,
        password: String,
    },
    /// Present but neither a usable Bearer nor a decodable Basic value.
    Malformed,
}

/// Parse the `Authorization` header (schemes are case-insensitive, RFC 7235 §2.1).
pub(crate) fn authorization(headers: &HeaderMap) -> Authorization {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Authorization::Absent;
    };
    let Ok(value) = value.to_str() else {
        return Authorization::Malformed;
    };
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        if rest.is_empty() {
            Authorization::Malformed
        } else {
            Authorization::Bearer(rest.to_owned())
        }
    } else if scheme.eq_ignore_ascii_case("basic") {
        base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| {
                text.split_once(':')
                    .map(|(user, password)| Authorization::Basic {
                        user: user.to_owned(),
                        password: password.to_owned(),
                    })
            })
            .unwrap_or(Authorization::Malformed)
    } else {
        Authorization::Malformed
    }
}

/// Whether `text` is a GUID in the canonical hyphenated 8-4-4-4-12 form.
pub(crate) fn is_hyphenated_guid(text: &str) -> bool {
    text.len() == 36 && uuid::Uuid::try_parse(text).is_ok()
}

/// `now + after`, saturating at a hundred years from now (never reached in a test run).
pub(crate) fn instant_after(now: Instant, after: Duration) -> Instant {
    let cap = Duration::from_secs(100 * 365 * 24 * 3600);
    now.checked_add(after.min(cap)).unwrap_or(now)
}

/// A random opaque token value.
pub(crate) fn random_token(prefix: &str) -> String {
    format!(
        "{prefix}{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// A fake's one-way network delay (its `set_latency`), applied to every request before
/// anything else.
pub(crate) async fn one_way_latency(
    State(latency): State<Arc<std::sync::atomic::AtomicU64>>,
    request: Request,
    next: Next,
) -> Response {
    let delay = Duration::from_nanos(latency.load(std::sync::atomic::Ordering::Relaxed));
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    next.run(request).await
}
