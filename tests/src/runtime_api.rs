//! A local AWS Lambda Runtime API (version 2018-06-01) to drive a Lambda binary the way
//! the Lambda service does, without cargo-lambda:
//!
//! * `GET  /2018-06-01/runtime/invocation/next`: long-poll; answers with the event and the
//!   `Lambda-Runtime-Aws-Request-Id`, `Lambda-Runtime-Deadline-Ms`,
//!   `Lambda-Runtime-Invoked-Function-Arn` and `Lambda-Runtime-Trace-Id` headers.
//! * `POST /2018-06-01/runtime/invocation/{id}/response`: 202; 400 for an unknown id,
//!   403 (`InvalidStateTransition`) for an id already answered or timed out,
//!   413 for a response over 6 MB.
//! * `POST /2018-06-01/runtime/invocation/{id}/error`: the `{"errorMessage","errorType"}`
//!   body and the `Lambda-Runtime-Function-Error-Type` header.
//! * `POST /2018-06-01/runtime/init/error`: recorded; fails every invocation that no
//!   runtime has picked up yet.
//!
//! Invocations queue up and each one is handed to exactly one `/next` poller, so several
//! processes polling the same [`RuntimeApi`] behave like several Lambda instances. A
//! poller whose connection closes (the process died) gives nothing away.
//!
//! Unlike Lambda, this server does not kill a runtime that overran its deadline, nor
//! detect a process exit: the invocation just ends as [`InvokeFailure::TimedOut`] after
//! its timeout plus [`TIMEOUT_GRACE`]. Use [`LambdaProcess`] to run the binary.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};

/// Extra time past an invocation's timeout before [`RuntimeApi::invoke`] gives up.
pub const TIMEOUT_GRACE: Duration = Duration::from_secs(5);
/// Lambda's limit for a synchronous response payload.
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;
/// Account used in the invoked function ARN.
pub const ACCOUNT_ID: &str = "123456789012";
/// Default function name for [`RuntimeApi::start`].
pub const DEFAULT_FUNCTION_NAME: &str = "presence-sync";

const API_PREFIX: &str = "/2018-06-01/runtime";

/// An error reported by the function (`/invocation/{id}/error` or `/init/error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaError {
    /// `errorType` of the body (or the header's value when the body has none).
    pub error_type: String,
    /// `errorMessage` of the body (or the raw body when it is not JSON).
    pub error_message: String,
    /// The `Lambda-Runtime-Function-Error-Type` header, as sent (lambda_runtime sends
    /// `unhandled` for invocation errors and `Runtime.InitError` for init errors).
    pub function_error_type: Option<String>,
    /// The whole body as JSON (e.g. with `stackTrace`), `Null` when it is not JSON.
    pub body: Value,
}

/// Why an invocation has no result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvokeFailure {
    /// The function posted to `/invocation/{id}/error`.
    Error(LambdaError),
    /// A runtime posted to `/init/error` before any runtime picked this invocation up.
    InitError(LambdaError),
    /// No answer within timeout + [`TIMEOUT_GRACE`]. `delivered` tells whether a runtime
    /// had fetched the event (false: nothing polled `/next`, e.g. the process is dead).
    TimedOut { delivered: bool },
    /// The response body was not JSON.
    InvalidResponse { body: String },
    /// The response body exceeded [`MAX_RESPONSE_BYTES`].
    ResponseTooLarge { bytes: usize },
}

/// The outcome of one [`RuntimeApi::invoke`].
#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: String,
    pub result: Result<Value, InvokeFailure>,
    /// From the `invoke` call to its result (queueing and cold start included).
    pub elapsed: Duration,
    /// The `Lambda-Runtime-Deadline-Ms` value sent, when the event was delivered.
    pub deadline_ms: Option<u64>,
}

impl Invocation {
    /// The response, panicking with the failure otherwise.
    pub fn unwrap_ok(self) -> Value {
        match self.result {
            Ok(value) => value,
            Err(failure) => panic!(
                "invocation {} failed after {:?}: {failure:?}",
                self.request_id, self.elapsed
            ),
        }
    }
}

type Outcome = Result<Value, InvokeFailure>;

struct Queued {
    request_id: String,
    payload: Bytes,
    timeout: Duration,
    delivered: oneshot::Sender<(Instant, u64)>,
}

struct InFlight {
    done: oneshot::Sender<Outcome>,
    delivered: bool,
}

struct Inner {
    function_arn: String,
    queue_tx: mpsc::UnboundedSender<Queued>,
    /// Pollers take turns on the receiver, so each event goes to exactly one of them.
    queue_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Queued>>,
    inflight: Mutex<HashMap<String, InFlight>>,
    /// Ids answered or given up on: a second answer is an invalid state transition.
    finished: Mutex<HashSet<String>>,
    polls: AtomicUsize,
    first_poll_at: OnceLock<Instant>,
    init_errors: Mutex<Vec<LambdaError>>,
}

impl Inner {
    /// Complete `request_id` with `outcome`; false when it is not in flight.
    fn finish(&self, request_id: &str, outcome: Outcome) -> Result<(), StatusCode> {
        let entry = self.inflight.lock().unwrap().remove(request_id);
        match entry {
            Some(entry) => {
                self.finished.lock().unwrap().insert(request_id.to_string());
                let _ = entry.done.send(outcome);
                Ok(())
            }
            None if self.finished.lock().unwrap().contains(request_id) => {
                Err(StatusCode::FORBIDDEN)
            }
            None => Err(StatusCode::BAD_REQUEST),
        }
    }

    fn give_up(&self, request_id: &str) {
        self.inflight.lock().unwrap().remove(request_id);
        self.finished.lock().unwrap().insert(request_id.to_string());
    }
}

/// The Runtime API server, on `127.0.0.1:<random port>` until dropped.
pub struct RuntimeApi {
    address: String,
    inner: Arc<Inner>,
    server: JoinHandle<()>,
    grace: Mutex<Duration>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every connection.
        self.server.abort();
    }
}

impl RuntimeApi {
    /// Start a server for a function named [`DEFAULT_FUNCTION_NAME`].
    pub async fn start() -> RuntimeApi {
        Self::start_for(DEFAULT_FUNCTION_NAME).await
    }

    /// Start a server whose invoked function ARN names `function_name`.
    pub async fn start_for(function_name: &str) -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Runtime API on loopback");
        let address = listener.local_addr().expect("local address").to_string();
        let (queue_tx, queue_rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            function_arn: format!(
                "arn:aws:lambda:{}:{ACCOUNT_ID}:function:{function_name}",
                crate::aws::TEST_REGION
            ),
            queue_tx,
            queue_rx: tokio::sync::Mutex::new(queue_rx),
            inflight: Mutex::new(HashMap::new()),
            finished: Mutex::new(HashSet::new()),
            polls: AtomicUsize::new(0),
            first_poll_at: OnceLock::new(),
            init_errors: Mutex::new(Vec::new()),
        });

        let router = Router::new()
            .route(&format!("{API_PREFIX}/invocation/next"), get(next))
            .route(
                &format!("{API_PREFIX}/invocation/{{id}}/response"),
                post(response),
            )
            .route(
                &format!("{API_PREFIX}/invocation/{{id}}/error"),
                post(error),
            )
            .route(&format!("{API_PREFIX}/init/error"), post(init_error))
            .layer(DefaultBodyLimit::disable())
            .with_state(inner.clone());

        let server = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                let (stream, _) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let service = TowerToHyperService::new(router.clone());
                connections.spawn(async move {
                    // Default HTTP/1 settings: keep-alive on, and a closed connection
                    // cancels the pending handler (so a dead poller takes nothing).
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
                while connections.try_join_next().is_some() {}
            }
        });

        RuntimeApi {
            address,
            inner,
            server,
            grace: Mutex::new(TIMEOUT_GRACE),
        }
    }

    /// Change the grace period past an invocation's timeout (default [`TIMEOUT_GRACE`]),
    /// e.g. to test time-outs quickly.
    pub fn set_timeout_grace(&self, grace: Duration) {
        *self.grace.lock().unwrap() = grace;
    }

    /// `127.0.0.1:PORT`, the value for `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.address.clone()
    }

    /// The ARN sent in `Lambda-Runtime-Invoked-Function-Arn`.
    pub fn function_arn(&self) -> &str {
        &self.inner.function_arn
    }

    /// When the first `GET /next` arrived (the runtime finished its init), if any.
    pub fn first_poll_at(&self) -> Option<Instant> {
        self.inner.first_poll_at.get().copied()
    }

    /// How many `GET /next` requests arrived so far.
    pub fn polls(&self) -> usize {
        self.inner.polls.load(Ordering::SeqCst)
    }

    /// Errors posted to `/init/error`, in order.
    pub fn init_errors(&self) -> Vec<LambdaError> {
        self.inner.init_errors.lock().unwrap().clone()
    }

    /// Wait until at least `count` `/next` requests arrived; false on timeout.
    pub async fn wait_for_polls(&self, count: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.polls() < count {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }

    /// Queue an invocation with `payload` and wait for its outcome. The deadline sent
    /// to the runtime is delivery time + `timeout`. Gives up with
    /// [`InvokeFailure::TimedOut`] when no runtime fetches it within `timeout` + the
    /// grace period ([`TIMEOUT_GRACE`], see [`RuntimeApi::set_timeout_grace`]), or when the runtime does not answer within the same span
    /// after fetching it. Concurrent calls are fine; each event goes to one poller.
    pub async fn invoke(&self, payload: Value, timeout: Duration) -> Invocation {
        let payload = Bytes::from(serde_json::to_vec(&payload).expect("payload serializes"));
        self.invoke_bytes(payload, timeout).await
    }

    /// [`RuntimeApi::invoke`] with any bytes as the event body (for hostile-input tests:
    /// Lambda hands the function whatever the invoker sent).
    pub async fn invoke_bytes(&self, payload: Bytes, timeout: Duration) -> Invocation {
        let started = Instant::now();
        let request_id = uuid::Uuid::new_v4().to_string();
        let (done_tx, mut done_rx) = oneshot::channel();
        let (delivered_tx, delivered_rx) = oneshot::channel();
        self.inner.inflight.lock().unwrap().insert(
            request_id.clone(),
            InFlight {
                done: done_tx,
                delivered: false,
            },
        );
        self.inner
            .queue_tx
            .send(Queued {
                request_id: request_id.clone(),
                payload,
                timeout,
                delivered: delivered_tx,
            })
            .expect("the Runtime API owns its queue");

        let patience = timeout + *self.grace.lock().unwrap();
        let finish = |result, deadline_ms| Invocation {
            request_id: request_id.clone(),
            result,
            elapsed: started.elapsed(),
            deadline_ms,
        };

        // Phase 1: until a runtime fetches the event (or an init error fails it).
        let (delivered_at, deadline_ms) = tokio::select! {
            outcome = &mut done_rx => {
                return finish(outcome.unwrap_or(Err(InvokeFailure::TimedOut { delivered: false })), None);
            }
            delivered = delivered_rx => match delivered {
                Ok(delivered) => delivered,
                Err(_) => {
                    // Dropped undelivered: only happens when the server shut down.
                    self.inner.give_up(&request_id);
                    return finish(Err(InvokeFailure::TimedOut { delivered: false }), None);
                }
            },
            _ = tokio::time::sleep(patience) => {
                self.inner.give_up(&request_id);
                // A late answer may have raced with the timer.
                if let Ok(outcome) = done_rx.try_recv() {
                    return finish(outcome, None);
                }
                return finish(Err(InvokeFailure::TimedOut { delivered: false }), None);
            }
        };

        // Phase 2: until the runtime answers.
        let remaining = (delivered_at + patience).saturating_duration_since(Instant::now());
        match tokio::time::timeout(remaining, &mut done_rx).await {
            Ok(Ok(outcome)) => finish(outcome, Some(deadline_ms)),
            Ok(Err(_)) | Err(_) => {
                self.inner.give_up(&request_id);
                let outcome = done_rx
                    .try_recv()
                    .unwrap_or(Err(InvokeFailure::TimedOut { delivered: true }));
                finish(outcome, Some(deadline_ms))
            }
        }
    }

    /// Environment for a Lambda binary polling this server, with what `lambda_runtime`
    /// 1.5 reads (`Config::from_env`: function name, memory size, version, log stream and
    /// group; the client: `AWS_LAMBDA_RUNTIME_API`) and what Lambda also sets for an
    /// on-demand function. Combine with [`crate::aws::env_for`].
    pub fn lambda_env(&self, function_name: &str) -> Vec<(String, String)> {
        let log_stream = format!("2026/01/01/[$LATEST]{}", uuid::Uuid::new_v4().simple());
        [
            ("AWS_LAMBDA_RUNTIME_API", self.address()),
            ("AWS_LAMBDA_FUNCTION_NAME", function_name.to_string()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_string()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_string()),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{function_name}"),
            ),
            ("AWS_LAMBDA_LOG_STREAM_NAME", log_stream),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_string()),
            (
                "AWS_EXECUTION_ENV",
                "AWS_Lambda_provided.al2023".to_string(),
            ),
            ("TZ", ":UTC".to_string()),
            ("LANG", "en_US.UTF-8".to_string()),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_string(), value))
        .collect()
    }
}

fn api_error(status: StatusCode, error_type: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "errorType": error_type, "errorMessage": message })),
    )
        .into_response()
}

fn status_for(status: StatusCode, request_id: &str) -> Response {
    match status {
        StatusCode::FORBIDDEN => api_error(
            status,
            "InvalidStateTransition",
            &format!("invocation {request_id} was already answered or timed out"),
        ),
        _ => api_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            &format!("unknown invocation {request_id}"),
        ),
    }
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, axum::Json(json!({ "status": "OK" }))).into_response()
}

fn epoch_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

fn trace_id() -> String {
    let epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let parent = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "Root=1-{epoch:08x}-{};Parent={};Sampled=0",
        &id[..24],
        &parent[..16]
    )
}

async fn next(State(inner): State<Arc<Inner>>) -> Response {
    inner.polls.fetch_add(1, Ordering::SeqCst);
    inner.first_poll_at.get_or_init(Instant::now);
    loop {
        // Cancel-safe: if this poller's connection closes while waiting, the handler is
        // dropped here and the event stays queued for the next poller.
        let queued = {
            let mut rx = inner.queue_rx.lock().await;
            rx.recv().await
        };
        let Some(queued) = queued else {
            return api_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ServiceException",
                "closed",
            );
        };
        let claimed = match inner.inflight.lock().unwrap().get_mut(&queued.request_id) {
            Some(entry) if !entry.delivered => {
                entry.delivered = true;
                true
            }
            _ => false, // given up (timed out or init error) before anyone polled
        };
        if !claimed {
            continue;
        }
        let now = Instant::now();
        let deadline_ms = epoch_ms(SystemTime::now() + queued.timeout);
        let _ = queued.delivered.send((now, deadline_ms));

        let mut headers = HeaderMap::new();
        let header = |v: &str| HeaderValue::from_str(v).expect("valid header value");
        headers.insert("content-type", header("application/json"));
        headers.insert("lambda-runtime-aws-request-id", header(&queued.request_id));
        headers.insert(
            "lambda-runtime-deadline-ms",
            header(&deadline_ms.to_string()),
        );
        headers.insert(
            "lambda-runtime-invoked-function-arn",
            header(&inner.function_arn),
        );
        headers.insert("lambda-runtime-trace-id", header(&trace_id()));
        return (StatusCode::OK, headers, queued.payload).into_response();
    }
}

async fn response(
    State(inner): State<Arc<Inner>>,
    UrlPath(request_id): UrlPath<String>,
    body: Bytes,
) -> Response {
    let outcome = if body.len() > MAX_RESPONSE_BYTES {
        Err(InvokeFailure::ResponseTooLarge { bytes: body.len() })
    } else {
        serde_json::from_slice::<Value>(&body).map_err(|_| InvokeFailure::InvalidResponse {
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    };
    let too_large = matches!(outcome, Err(InvokeFailure::ResponseTooLarge { .. }));
    match inner.finish(&request_id, outcome) {
        Ok(()) if too_large => api_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            &format!("response exceeds {MAX_RESPONSE_BYTES} bytes"),
        ),
        Ok(()) => accepted(),
        Err(status) => status_for(status, &request_id),
    }
}

fn parse_error(headers: &HeaderMap, body: &Bytes) -> LambdaError {
    let function_error_type = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let json = serde_json::from_slice::<Value>(body).unwrap_or(Value::Null);
    let field = |name: &str| json.get(name).and_then(Value::as_str).map(str::to_string);
    LambdaError {
        error_type: field("errorType")
            .or_else(|| function_error_type.clone())
            .unwrap_or_else(|| "Unknown".to_string()),
        error_message: field("errorMessage")
            .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned()),
        function_error_type,
        body: json,
    }
}

async fn error(
    State(inner): State<Arc<Inner>>,
    UrlPath(request_id): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let error = parse_error(&headers, &body);
    match inner.finish(&request_id, Err(InvokeFailure::Error(error))) {
        Ok(()) => accepted(),
        Err(status) => status_for(status, &request_id),
    }
}

async fn init_error(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    let error = parse_error(&headers, &body);
    inner.init_errors.lock().unwrap().push(error.clone());
    let undelivered: Vec<String> = inner
        .inflight
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, entry)| !entry.delivered)
        .map(|(id, _)| id.clone())
        .collect();
    for id in undelivered {
        let _ = inner.finish(&id, Err(InvokeFailure::InitError(error.clone())));
    }
    accepted()
}

// ---------------------------------------------------------------------------------------
// Running the Lambda binary
// ---------------------------------------------------------------------------------------

/// Path of workspace binary `name` in the shared target directory: `$CARGO_TARGET_DIR`
/// (relative paths are taken from the repository root) or `<repo>/target`, then the
/// profile directory from `PRESENCE_SYNC_PROFILE` (default `debug`). Panics, telling how
/// to build it, when the file is missing. The binary is not rebuilt here: build it first
/// (`cargo build -p presence-sync`) or the tests run whatever was built last.
pub fn binary_path(name: &str) -> PathBuf {
    let root = crate::moto::repo_root();
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    };
    let profile = std::env::var("PRESENCE_SYNC_PROFILE")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "debug".to_string());
    let path = target.join(&profile).join(name);
    if !path.is_file() {
        let release = if profile == "release" {
            " --release"
        } else {
            ""
        };
        panic!(
            "Lambda binary {} not found; build it first with `cargo build -p {name}{release}` \
             (profile from PRESENCE_SYNC_PROFILE, target dir from CARGO_TARGET_DIR)",
            path.display()
        );
    }
    path
}

/// Variables passed through from the test process to a [`LambdaProcess`] (everything
/// else is cleared, as in Lambda's sealed environment, so a developer's `AWS_PROFILE`
/// or real credentials cannot leak in).
pub const INHERITED_ENV: &[&str] = &["PATH", "RUST_BACKTRACE", "RUST_LOG"];

/// A Lambda binary running against a [`RuntimeApi`]; killed when dropped.
pub struct LambdaProcess {
    child: tokio::process::Child,
    logs: Arc<Mutex<Vec<LogLine>>>,
}

impl Drop for LambdaProcess {
    /// Keeps the process's output for the log scan (`crate::logs`).
    fn drop(&mut self) {
        crate::logs::save_process_output(self.child.id(), self.logs());
    }
}

/// One line the process wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub stream: LogStream,
    pub line: String,
    pub at: Instant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    Stdout,
    Stderr,
}

impl LambdaProcess {
    /// Start `binary` with a cleared environment plus [`INHERITED_ENV`] and `env`
    /// (typically [`RuntimeApi::lambda_env`] + [`crate::aws::env_for`] + the function's
    /// own settings; later entries win). stdout and stderr are collected line by line;
    /// with `PRESENCE_SYNC_ECHO_LOGS=1` they are also echoed to the test's stderr.
    /// Must be called inside a tokio runtime.
    pub fn spawn(binary: &Path, env: Vec<(String, String)>) -> LambdaProcess {
        let mut command = tokio::process::Command::new(binary);
        command.env_clear();
        for key in INHERITED_ENV {
            if let Some(value) = std::env::var_os(key) {
                command.env(key, value);
            }
        }
        command
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", binary.display()));

        let logs = Arc::new(Mutex::new(Vec::new()));
        let echo =
            std::env::var("PRESENCE_SYNC_ECHO_LOGS").is_ok_and(|v| !v.is_empty() && v != "0");
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        tokio::spawn(collect_lines(stdout, LogStream::Stdout, logs.clone(), echo));
        tokio::spawn(collect_lines(stderr, LogStream::Stderr, logs.clone(), echo));
        LambdaProcess { child, logs }
    }

    /// The OS process id, while it has not been reaped.
    pub fn id(&self) -> Option<u32> {
        self.child.id()
    }

    /// All lines written so far to stdout and stderr, in arrival order.
    pub fn logs(&self) -> Vec<String> {
        self.logs
            .lock()
            .unwrap()
            .iter()
            .map(|l| l.line.clone())
            .collect()
    }

    /// All lines with their stream and arrival time.
    pub fn log_lines(&self) -> Vec<LogLine> {
        self.logs.lock().unwrap().clone()
    }

    /// Wait until a line containing `needle` was written; false on timeout.
    pub async fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self
                .logs
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.line.contains(needle))
            {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL the process (a crash, as far as the function can tell) and reap it.
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }

    /// Wait up to `timeout` for the process to exit by itself.
    pub async fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        tokio::time::timeout(timeout, self.child.wait())
            .await
            .ok()
            .and_then(Result::ok)
    }
}

async fn collect_lines(
    pipe: impl AsyncRead + Unpin,
    stream: LogStream,
    logs: Arc<Mutex<Vec<LogLine>>>,
    echo: bool,
) {
    let mut lines = BufReader::new(pipe).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if echo {
            let tag = match stream {
                LogStream::Stdout => "stdout",
                LogStream::Stderr => "stderr",
            };
            eprintln!("[lambda {tag}] {line}");
        }
        logs.lock().unwrap().push(LogLine {
            stream,
            line,
            at: Instant::now(),
        });
    }
}
