//! CloudWatch metrics in the embedded metric format (EMF): JSON log lines that CloudWatch
//! Logs turns into metrics, so that measuring costs no API call and no remote call per event.
//!
//! Every metric this project emits is declared here, in [`ALL`] (name, unit, dimension sets,
//! the function that emits it); `template.yaml`'s dashboard and alarms are tested against
//! that table. Code records with the small functions below ([`event_outcome`], [`lag`],
//! [`teams_id_lookup`], [`remote_call`], …), which only add to an in-memory batch; one
//! [`flush`] at the end of an invocation writes the batch to stdout as EMF lines.
//!
//! Dimensions are low-cardinality by construction: every dimension value is a `&'static str`
//! from the code's own vocabulary (an outcome, a reason, a service, a status class), so no
//! user id, Teams id or secret can become a dimension.
//!
//! # Why not `metrics` + `metrics_cloudwatch_embedded`
//!
//! That crate (0.10, with `default-features = false` it needs no `lambda_http`) is the kept
//! crate for this job and was evaluated first, from its source: it does not fit here. It
//! writes one EMF document per distinct label set, each with a single dimension set.
//! CloudWatch alarms cannot aggregate across dimension values (no `SEARCH` in alarms), so
//! "all failed events" or "every Graph 429" would need the same datum recorded again under a
//! second label set, in a document of its own: a warm applied event would write five
//! documents (events, lags, the Graph call, its latency, the Teams-id source; seven with the
//! DynamoDB calls) of a few hundred bytes each, billed as CloudWatch Logs ingestion, and
//! more again for the rollups. Its recorder is process-global
//! (`metrics::set_global_recorder`), so in-process tests of concurrent instances would share
//! one set of counters. The EMF specification allows several dimension sets per metric
//! (rollups: `[function, outcome, reason]`, `[function, outcome]`, `[function]`) and several
//! metrics with different dimensions in one document; writing the format here (the writer is
//! ≈ 150 lines, serde_json for the escaping) gives one document per invocation in the common
//! case, rollups the alarms can address, and a per-task capture for tests ([`capture`]).

use std::cell::RefCell;
use std::future::Future;
use std::io::Write;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The CloudWatch namespace when none is configured.
pub const DEFAULT_NAMESPACE: &str = "PresenceSync";
/// The variable that sets the namespace (see [`Context::from_env`]).
pub const NAMESPACE_VARIABLE: &str = "METRICS_NAMESPACE";
/// Lambda's own variable naming the function: the `function` dimension.
pub const FUNCTION_VARIABLE: &str = "AWS_LAMBDA_FUNCTION_NAME";

/// The dimension every datum carries: the Lambda function's name.
pub const FUNCTION: &str = "function";
/// `applied`, `cleared`, `skipped`, `failed` (see [`OUTCOMES`]).
pub const OUTCOME: &str = "outcome";
/// The outcome's reason (`changed`, `stale`, …) or, for `failed`, the `errorType`.
pub const REASON: &str = "reason";
/// The remote service ([`Remote::as_str`]).
pub const SERVICE: &str = "service";
/// What was asked of it (`set`, `clear`, `lookup`, `token`, `read`, `UpdateItem`, …).
pub const OPERATION: &str = "operation";
/// The answer's status class ([`StatusClass::as_str`]).
pub const STATUS: &str = "status";
/// Where a Teams id came from ([`TeamsIdSource::as_str`]).
pub const SOURCE: &str = "source";
/// The kind of drift the reconciler found or repaired.
pub const KIND: &str = "kind";

/// The values of the `outcome` dimension.
pub const OUTCOMES: [&str; 4] = ["applied", "cleared", "skipped", "failed"];
/// The `outcome` of an event that failed (its `reason` is the `errorType`).
pub const FAILED: &str = "failed";

/// A CloudWatch unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
    Seconds,
}

impl Unit {
    pub const fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
            Unit::Seconds => "Seconds",
        }
    }
}

/// How values of one flush are combined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Summed into one number per flush.
    Counter,
    /// Kept one by one (EMF value arrays), so that CloudWatch has percentiles.
    Distribution,
}

/// Which function emits a metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Emitter {
    /// `presence-sync`, once per event.
    Sync,
    /// The reconciler (a later function): declared now so that it only adds emissions.
    Reconciler,
}

/// One declared metric.
#[derive(Debug)]
pub struct Metric {
    pub name: &'static str,
    pub unit: Unit,
    pub kind: Kind,
    /// The dimensions each datum carries besides [`FUNCTION`], in this order.
    pub dimensions: &'static [&'static str],
    /// The dimension sets CloudWatch publishes the metric under (each one a metric of its
    /// own, addressable by alarms): subsets of `function` and [`Metric::dimensions`].
    pub dimension_sets: &'static [&'static [&'static str]],
    pub emitter: Emitter,
    pub meaning: &'static str,
}

macro_rules! metric {
    ($id:ident, $name:literal, $unit:ident, $kind:ident, $emitter:ident, [$($dim:expr),*], [$([$($set:expr),*]),*], $meaning:literal) => {
        #[doc = $meaning]
        pub static $id: Metric = Metric {
            name: $name,
            unit: Unit::$unit,
            kind: Kind::$kind,
            dimensions: &[$($dim),*],
            dimension_sets: &[$(&[$($set),*]),*],
            emitter: Emitter::$emitter,
            meaning: $meaning,
        };
    };
}

metric!(
    EVENTS,
    "Events",
    Count,
    Counter,
    Sync,
    [OUTCOME, REASON],
    [[FUNCTION, OUTCOME, REASON], [FUNCTION, OUTCOME], [FUNCTION]],
    "Events handled, by outcome and reason (failed: by errorType)."
);
metric!(
    END_TO_END_LAG,
    "EndToEndLag",
    Milliseconds,
    Distribution,
    Sync,
    [],
    [[FUNCTION]],
    "From the Genesys change (the event's version) to Graph accepting it, per applied or cleared event."
);
metric!(
    DELIVERY_LAG,
    "DeliveryLag",
    Milliseconds,
    Distribution,
    Sync,
    [],
    [[FUNCTION]],
    "From the event's time (EventBridge envelope) to the start of the invocation handling it."
);
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
metric!(
    TEAMS_ID_LOOKUPS,
    "TeamsIdLookups",
    Count,
    Counter,
    Sync,
    [SOURCE],
    [[FUNCTION, SOURCE]],
    "Where a Genesys user's Teams id came from: memory, table, scim, or negative (a cached \"no Teams id\")."
);
metric!(
    USERS_SCANNED,
    "UsersScanned",
    Count,
    Counter,
    Reconciler,
    [],
    [[FUNCTION]],
    "Reconciler: user records read in a pass."
);
metric!(
    DIRTY_SETTLED,
    "DirtySettled",
    Count,
    Counter,
    Reconciler,
    [],
    [[FUNCTION]],
    "Reconciler: uncertain records (a failed or dead holder) it re-applied."
);
metric!(
    LOST_EVENTS_RECOVERED,
    "LostEventsRecovered",
    Count,
    Counter,
    Reconciler,
    [],
    [[FUNCTION]],
    "Reconciler: changes Genesys shows that no event brought."
);
metric!(
    BACKFILLED,
    "Backfilled",
    Count,
    Counter,
    Reconciler,
    [],
    [[FUNCTION]],
    "Reconciler: agents it recorded for the first time."
);
metric!(
    KEPT_ALIVE,
    "KeptAlive",
    Count,
    Counter,
    Reconciler,
    [],
    [[FUNCTION]],
    "Reconciler: preferred presences written again before Graph's expiry."
);
metric!(
    DRIFT_FOUND,
    "DriftFound",
    Count,
    Counter,
    Reconciler,
    [KIND],
    [[FUNCTION, KIND], [FUNCTION]],
    "Reconciler: Teams showing something other than what is recorded, by kind."
);
metric!(
    DRIFT_REPAIRED,
    "DriftRepaired",
    Count,
    Counter,
    Reconciler,
    [KIND],
    [[FUNCTION, KIND], [FUNCTION]],
    "Reconciler: drift it repaired, by kind."
);
metric!(
    PASS_DURATION,
    "PassDuration",
    Milliseconds,
    Distribution,
    Reconciler,
    [],
    [[FUNCTION]],
    "Reconciler: how long a whole pass took."
);
metric!(
    PASS_COMPLETED,
    "PassCompleted",
    Count,
    Counter,
    Reconciler,
    [],
    [[FUNCTION]],
    "Reconciler: passes completed (the dead man's switch counts these)."
);

/// Every metric the project emits.
pub static ALL: [&Metric; 18] = [
    &EVENTS,
    &END_TO_END_LAG,
    &DELIVERY_LAG,
    &REMOTE_CALLS,
    &REMOTE_LATENCY,
    &THROTTLES,
    &THROTTLE_WAIT,
    &RETRIES,
    &TEAMS_ID_LOOKUPS,
    &USERS_SCANNED,
    &DIRTY_SETTLED,
    &LOST_EVENTS_RECOVERED,
    &BACKFILLED,
    &KEPT_ALIVE,
    &DRIFT_FOUND,
    &DRIFT_REPAIRED,
    &PASS_DURATION,
    &PASS_COMPLETED,
];

/// The declared metric of this name.
pub fn declared(name: &str) -> Option<&'static Metric> {
    ALL.iter().copied().find(|m| m.name == name)
}

// ---------------------------------------------------------------------------------------
// What is recorded
// ---------------------------------------------------------------------------------------

/// The two lags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lag {
    /// [`END_TO_END_LAG`]: the Genesys change (the event's version) → Graph accepted.
    EndToEnd,
    /// [`DELIVERY_LAG`]: the event's envelope `time` → the invocation's start.
    Delivery,
}

/// Where a Teams id came from ([`TEAMS_ID_LOOKUPS`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TeamsIdSource {
    /// This instance's memory had a Teams id.
    Memory,
    /// The state table's cache had a Teams id.
    Table,
    /// Genesys SCIM was asked (whatever it answered).
    Scim,
    /// Memory or the table held a cached "no Teams id" (or "claimed by another user").
    Negative,
}

impl TeamsIdSource {
    pub const fn as_str(self) -> &'static str {
        match self {
            TeamsIdSource::Memory => "memory",
            TeamsIdSource::Table => "table",
            TeamsIdSource::Scim => "scim",
            TeamsIdSource::Negative => "negative",
        }
    }
}

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

/// One event's outcome: `event_outcome("applied", "changed")`, `event_outcome("skipped",
/// "stale")`, `event_outcome(FAILED, error.kind())`.
pub fn event_outcome(outcome: &'static str, reason: &'static str) {
    count(&EVENTS, &[outcome, reason], 1);
}

/// A lag in milliseconds (a negative one, from clock skew, counts as 0).
pub fn lag(kind: Lag, millis: i64) {
    let metric = match kind {
        Lag::EndToEnd => &END_TO_END_LAG,
        Lag::Delivery => &DELIVERY_LAG,
    };
    value(metric, &[], millis.max(0) as f64);
}

/// Where a Teams id came from, once per lookup.
pub fn teams_id_lookup(source: TeamsIdSource) {
    count(&TEAMS_ID_LOOKUPS, &[source.as_str()], 1);
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

/// A figure of one reconciler pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PassFigure {
    UsersScanned,
    DirtySettled,
    LostEventsRecovered,
    Backfilled,
    KeptAlive,
}

/// Adds `n` to one of the reconciler's pass figures.
pub fn pass_figure(figure: PassFigure, n: u64) {
    let metric = match figure {
        PassFigure::UsersScanned => &USERS_SCANNED,
        PassFigure::DirtySettled => &DIRTY_SETTLED,
        PassFigure::LostEventsRecovered => &LOST_EVENTS_RECOVERED,
        PassFigure::Backfilled => &BACKFILLED,
        PassFigure::KeptAlive => &KEPT_ALIVE,
    };
    count(metric, &[], n);
}

/// Drift the reconciler found, or repaired, of one kind.
pub fn drift(repaired: bool, kind: &'static str, n: u64) {
    let metric = if repaired {
        &DRIFT_REPAIRED
    } else {
        &DRIFT_FOUND
    };
    count(metric, &[kind], n);
}

/// A reconciler pass completed, after `took`.
pub fn pass_completed(took: Duration) {
    count(&PASS_COMPLETED, &[], 1);
    value(&PASS_DURATION, &[], took.as_secs_f64() * 1000.0);
}

// ---------------------------------------------------------------------------------------
// The batch
// ---------------------------------------------------------------------------------------

/// The most values one distribution keeps between flushes: one EMF document's limit. An
/// invocation records far fewer (a few per remote call); the cap bounds memory when nothing
/// flushes.
pub const MAX_VALUES: usize = 100;

const MAX_DIMENSIONS: usize = 3;

#[derive(Clone, Debug)]
enum Data {
    Count(u64),
    Values(Vec<f64>),
}

#[derive(Clone, Debug)]
struct Datum {
    metric: &'static Metric,
    /// Values of `metric.dimensions`, in order.
    values: [&'static str; MAX_DIMENSIONS],
    data: Data,
}

impl Datum {
    fn dimensions(&self) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
        self.metric
            .dimensions
            .iter()
            .copied()
            .zip(self.values.iter().copied())
    }
}

/// What was recorded since the last flush.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    data: Vec<Datum>,
}

impl Batch {
    fn add(&mut self, metric: &'static Metric, dims: &[&'static str], add: Add) {
        debug_assert_eq!(dims.len(), metric.dimensions.len(), "{}", metric.name);
        let mut values = [""; MAX_DIMENSIONS];
        for (slot, value) in values.iter_mut().zip(dims) {
            *slot = value;
        }
        let found = self
            .data
            .iter_mut()
            .find(|d| std::ptr::eq(d.metric, metric) && d.values == values);
        match (found, add) {
            (
                Some(Datum {
                    data: Data::Count(n),
                    ..
                }),
                Add::Count(m),
            ) => *n = n.saturating_add(m),
            (
                Some(Datum {
                    data: Data::Values(v),
                    ..
                }),
                Add::Value(x),
            ) => {
                if v.len() < MAX_VALUES {
                    v.push(x);
                }
            }
            (Some(_), _) => debug_assert!(false, "{} recorded as the wrong kind", metric.name),
            (None, add) => self.data.push(Datum {
                metric,
                values,
                data: match add {
                    Add::Count(n) => Data::Count(n),
                    Add::Value(x) => Data::Values(vec![x]),
                },
            }),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The count recorded for `metric` with these dimension values (0 if none).
    pub fn count(&self, metric: &Metric, dims: &[&str]) -> u64 {
        self.find(metric, dims).map_or(0, |d| match &d.data {
            Data::Count(n) => *n,
            Data::Values(v) => v.len() as u64,
        })
    }

    /// The values recorded for `metric` with these dimension values.
    pub fn values(&self, metric: &Metric, dims: &[&str]) -> Vec<f64> {
        self.find(metric, dims)
            .map_or_else(Vec::new, |d| match &d.data {
                Data::Count(n) => vec![*n as f64],
                Data::Values(v) => v.clone(),
            })
    }

    fn find(&self, metric: &Metric, dims: &[&str]) -> Option<&Datum> {
        self.data
            .iter()
            .find(|d| d.metric.name == metric.name && d.values[..dims.len()] == *dims)
    }

    /// The batch as EMF documents, one JSON object per line. Data go into as few documents
    /// as possible: a datum joins a document unless the document already has its metric
    /// (under other dimension values) or gives one of its dimensions another value.
    pub fn write_emf(
        &self,
        context: &Context,
        timestamp_ms: u64,
        out: &mut impl Write,
    ) -> std::io::Result<()> {
        let mut documents: Vec<Vec<&Datum>> = Vec::new();
        for datum in &self.data {
            let fits = |doc: &Vec<&Datum>| {
                doc.iter().all(|other| {
                    other.metric.name != datum.metric.name
                        && datum.dimensions().all(|(key, value)| {
                            other.dimensions().all(|(k, v)| k != key || v == value)
                        })
                })
            };
            match documents.iter_mut().find(|doc| fits(doc)) {
                Some(doc) => doc.push(datum),
                None => documents.push(vec![datum]),
            }
        }
        let mut line = Vec::with_capacity(512);
        for doc in documents {
            line.clear();
            write_document(&doc, context, timestamp_ms, &mut line)?;
            line.push(b'\n');
            out.write_all(&line)?;
        }
        Ok(())
    }

    /// [`Batch::write_emf`] into lines.
    pub fn emf_lines(&self, context: &Context, timestamp_ms: u64) -> Vec<String> {
        let mut out = Vec::new();
        self.write_emf(context, timestamp_ms, &mut out)
            .unwrap_or_else(|_| unreachable!("writing to a Vec cannot fail"));
        String::from_utf8(out)
            .unwrap_or_else(|_| unreachable!("serde_json writes UTF-8"))
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

enum Add {
    Count(u64),
    Value(f64),
}

fn json_str(out: &mut Vec<u8>, text: &str) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, text).map_err(std::io::Error::other)
}

/// One EMF document: `_aws` with one directive per distinct list of dimension sets, the
/// dimension values, then each metric's value (a number, or an array of up to 100).
fn write_document(
    doc: &[&Datum],
    context: &Context,
    timestamp_ms: u64,
    out: &mut Vec<u8>,
) -> std::io::Result<()> {
    write!(
        out,
        "{{\"_aws\":{{\"Timestamp\":{timestamp_ms},\"CloudWatchMetrics\":["
    )?;
    let mut directives: Vec<&'static [&'static [&'static str]]> = Vec::new();
    for datum in doc {
        if !directives.contains(&datum.metric.dimension_sets) {
            directives.push(datum.metric.dimension_sets);
        }
    }
    for (i, sets) in directives.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"Namespace\":");
        json_str(out, &context.namespace)?;
        out.extend_from_slice(b",\"Dimensions\":[");
        for (j, set) in sets.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            out.push(b'[');
            for (k, name) in set.iter().enumerate() {
                if k > 0 {
                    out.push(b',');
                }
                json_str(out, name)?;
            }
            out.push(b']');
        }
        out.extend_from_slice(b"],\"Metrics\":[");
        let members = doc.iter().filter(|d| d.metric.dimension_sets == *sets);
        for (j, datum) in members.enumerate() {
            if j > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"Name\":");
            json_str(out, datum.metric.name)?;
            write!(out, ",\"Unit\":\"{}\"}}", datum.metric.unit.as_str())?;
        }
        out.extend_from_slice(b"]}");
    }
    out.extend_from_slice(b"]},\"");
    out.extend_from_slice(FUNCTION.as_bytes());
    out.extend_from_slice(b"\":");
    json_str(out, &context.function)?;
    let mut written: Vec<&str> = Vec::new();
    for datum in doc {
        for (key, value) in datum.dimensions() {
            if !written.contains(&key) {
                written.push(key);
                out.push(b',');
                json_str(out, key)?;
                out.push(b':');
                json_str(out, value)?;
            }
        }
    }
    for datum in doc {
        out.push(b',');
        json_str(out, datum.metric.name)?;
        out.push(b':');
        match &datum.data {
            Data::Count(n) => write!(out, "{n}")?,
            Data::Values(values) => {
                out.push(b'[');
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    // Whole milliseconds and seconds to the millisecond: enough for any
                    // dashboard, and shorter lines.
                    write!(out, "{}", (v * 1000.0).round() / 1000.0)?;
                }
                out.push(b']');
            }
        }
    }
    out.push(b'}');
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Where the batch lives, and the flush
// ---------------------------------------------------------------------------------------

/// What every document carries: the namespace and the function's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Context {
    pub namespace: String,
    pub function: String,
}

impl Context {
    /// [`NAMESPACE_VARIABLE`] (default [`DEFAULT_NAMESPACE`]) and [`FUNCTION_VARIABLE`]
    /// (default `presence-sync`), read through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Context, String> {
        let namespace = lookup(NAMESPACE_VARIABLE)
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
        check_namespace(&namespace).map_err(|why| format!("{NAMESPACE_VARIABLE}: {why}"))?;
        let function = lookup(FUNCTION_VARIABLE)
            .filter(|f| !f.is_empty())
            .unwrap_or_else(|| "presence-sync".to_owned());
        Ok(Context {
            namespace,
            function,
        })
    }

    /// [`Context::from_lookup`] on the process environment.
    pub fn from_env() -> Result<Context, String> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }
}

/// Whether CloudWatch accepts `namespace`: 1 to 255 characters among letters, digits and
/// `. - _ / # :` and space, not starting with `AWS/` (AWS's own namespaces).
pub fn check_namespace(namespace: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || ".-_/#: ".contains(c);
    if namespace.is_empty() || namespace.len() > 255 {
        return Err("a CloudWatch namespace has 1 to 255 characters".to_owned());
    }
    if !namespace.chars().all(allowed) {
        return Err(
            "a CloudWatch namespace has only letters, digits, spaces and . - _ / # :".to_owned(),
        );
    }
    if namespace.starts_with("AWS/") {
        return Err("namespaces starting with AWS/ are AWS's own".to_owned());
    }
    Ok(())
}

static CONTEXT: OnceLock<Context> = OnceLock::new();
static GLOBAL: Mutex<Batch> = Mutex::new(Batch { data: Vec::new() });

tokio::task_local! {
    static SCOPE: RefCell<Batch>;
}

/// Sets the namespace and function name of every later flush, once per process (start-up).
/// Without it, [`Context::from_env`] applies, or its defaults when that fails.
pub fn init(context: Context) {
    let _ = CONTEXT.set(context);
}

fn context() -> &'static Context {
    CONTEXT.get_or_init(|| {
        Context::from_env().unwrap_or_else(|_| Context {
            namespace: DEFAULT_NAMESPACE.to_owned(),
            function: "presence-sync".to_owned(),
        })
    })
}

fn with_batch(change: impl FnOnce(&mut Batch)) {
    if SCOPE.try_with(|_| ()).is_ok() {
        SCOPE.with(|batch| change(&mut batch.borrow_mut()));
    } else {
        change(&mut GLOBAL.lock().unwrap_or_else(|p| p.into_inner()));
    }
}

fn count(metric: &'static Metric, dims: &[&'static str], n: u64) {
    with_batch(|batch| batch.add(metric, dims, Add::Count(n)));
}

fn value(metric: &'static Metric, dims: &[&'static str], x: f64) {
    with_batch(|batch| batch.add(metric, dims, Add::Value(x)));
}

/// Takes what was recorded since the last flush (in this [`capture`], or in the process).
pub fn take() -> Batch {
    if SCOPE.try_with(|_| ()).is_ok() {
        SCOPE.with(|batch| std::mem::take(&mut *batch.borrow_mut()))
    } else {
        std::mem::take(&mut *GLOBAL.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Writes what was recorded since the last flush as EMF lines to `out`.
pub fn flush_to(out: &mut impl Write) -> std::io::Result<()> {
    let batch = take();
    if batch.is_empty() {
        return Ok(());
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut buffer = Vec::with_capacity(1024);
    batch.write_emf(context(), now, &mut buffer)?;
    out.write_all(&buffer)?;
    out.flush()
}

/// Writes what was recorded since the last flush to stdout, where Lambda's log capture picks
/// it up: once per invocation, before its answer. A write error is ignored (there is nobody
/// to tell: stdout is the log).
pub fn flush() {
    let _ = flush_to(&mut std::io::stdout().lock());
}

/// Runs `work` with a batch of its own: what it records is returned beside its output and
/// never reaches the process's batch. For tests, where instances share a process.
pub async fn capture<F: Future>(work: F) -> (F::Output, Batch) {
    SCOPE
        .scope(RefCell::new(Batch::default()), async move {
            let output = work.await;
            (output, take())
        })
        .await
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn context() -> Context {
        Context {
            namespace: "PresenceSync".into(),
            function: "presence-sync-prod".into(),
        }
    }

    fn documents(batch: &Batch) -> Vec<Value> {
        batch
            .emf_lines(&context(), 1_700_000_000_000)
            .iter()
            .map(|line| serde_json::from_str(line).expect("each line is one JSON object"))
            .collect()
    }

    fn numbers(value: &Value) -> Vec<f64> {
        value
            .as_array()
            .unwrap_or_else(|| panic!("not an array: {value}"))
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    }

    async fn recorded(work: impl FnOnce()) -> Batch {
        capture(async { work() }).await.1
    }

    #[test]
    fn the_table_is_consistent() {
        let mut names = std::collections::BTreeSet::new();
        for metric in ALL {
            assert!(names.insert(metric.name), "{} declared twice", metric.name);
            assert!(metric.dimensions.len() <= MAX_DIMENSIONS, "{}", metric.name);
            assert!(!metric.dimension_sets.is_empty(), "{}", metric.name);
            for set in metric.dimension_sets {
                assert_eq!(set.first(), Some(&FUNCTION), "{}: {set:?}", metric.name);
                for dim in &set[1..] {
                    assert!(metric.dimensions.contains(dim), "{}: {dim}", metric.name);
                }
            }
            // Dimension names and metric names share the document's top level.
            assert!(
                metric.name.starts_with(char::is_uppercase),
                "{}",
                metric.name
            );
            assert!(declared(metric.name).is_some_and(|m| std::ptr::eq(m, metric)));
        }
        assert!(declared("Nope").is_none());
    }

    #[tokio::test]
    async fn an_applied_event_is_one_document_with_rollups() {
        let batch = recorded(|| {
            event_outcome("applied", "changed");
            lag(Lag::EndToEnd, 1234);
            lag(Lag::Delivery, 560);
            remote_call(
                Remote::Graph,
                "set",
                StatusClass::of(204),
                Duration::from_millis(31),
            );
            teams_id_lookup(TeamsIdSource::Memory);
        })
        .await;
        let docs = documents(&batch);
        assert_eq!(docs.len(), 1, "{docs:#?}");
        let doc = &docs[0];
        assert_eq!(doc["_aws"]["Timestamp"], 1_700_000_000_000u64);
        assert_eq!(doc["function"], "presence-sync-prod");
        assert_eq!(doc["outcome"], "applied");
        assert_eq!(doc["reason"], "changed");
        assert_eq!(doc["service"], "Graph");
        assert_eq!(doc["operation"], "set");
        assert_eq!(doc["status"], "2xx");
        assert_eq!(doc["source"], "memory");
        assert_eq!(doc["Events"], 1);
        assert_eq!(numbers(&doc["EndToEndLag"]), [1234.0]);
        assert_eq!(numbers(&doc["DeliveryLag"]), [560.0]);
        assert_eq!(doc["RemoteCalls"], 1);
        assert_eq!(numbers(&doc["RemoteLatency"]), [31.0]);
        assert_eq!(doc["TeamsIdLookups"], 1);
        assert!(doc.get("Throttles").is_none());
        let directives = doc["_aws"]["CloudWatchMetrics"].as_array().unwrap();
        let events = directives
            .iter()
            .find(|d| {
                d["Metrics"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|m| m["Name"] == "Events")
            })
            .unwrap();
        assert_eq!(events["Namespace"], "PresenceSync");
        assert_eq!(
            events["Dimensions"],
            json!([
                ["function", "outcome", "reason"],
                ["function", "outcome"],
                ["function"]
            ])
        );
        // The two lags share one directive ([[function]]), each metric listed once.
        let lags = directives
            .iter()
            .find(|d| d["Dimensions"] == json!([["function"]]))
            .unwrap();
        assert_eq!(
            lags["Metrics"],
            json!([{"Name":"EndToEndLag","Unit":"Milliseconds"},{"Name":"DeliveryLag","Unit":"Milliseconds"}])
        );
    }

    #[tokio::test]
    async fn counts_add_up_and_conflicting_dimensions_get_their_own_document() {
        let batch = recorded(|| {
            for _ in 0..3 {
                remote_call(
                    Remote::Graph,
                    "set",
                    StatusClass::of(429),
                    Duration::from_millis(5),
                );
                retry(Remote::Graph);
                throttle_wait(Remote::Graph, Duration::from_millis(1500));
            }
            remote_call(
                Remote::Graph,
                "set",
                StatusClass::of(204),
                Duration::from_millis(7),
            );
            remote_call(
                Remote::GenesysScim,
                "lookup",
                StatusClass::of(200),
                Duration::from_millis(9),
            );
        })
        .await;
        assert_eq!(batch.count(&REMOTE_CALLS, &["Graph", "set", "429"]), 3);
        assert_eq!(batch.count(&THROTTLES, &["Graph"]), 3);
        assert_eq!(batch.values(&THROTTLE_WAIT, &["Graph"]), vec![1.5; 3]);
        let docs = documents(&batch);
        // Graph 429, Graph 2xx and SCIM each need their own values of service or status.
        assert_eq!(docs.len(), 3, "{docs:#?}");
        let graph_429 = docs.iter().find(|d| d["status"] == "429").unwrap();
        assert_eq!(graph_429["RemoteCalls"], 3);
        assert_eq!(graph_429["Throttles"], 3);
        assert_eq!(graph_429["Retries"], 3);
        assert_eq!(numbers(&graph_429["RemoteLatency"]), [5.0, 5.0, 5.0, 7.0]);
        let scim = docs.iter().find(|d| d["service"] == "GenesysScim").unwrap();
        assert_eq!(scim["RemoteCalls"], 1);
        assert_eq!(scim["status"], "2xx");
        // Each value is read under its own dimensions: SCIM's latency under GenesysScim,
        // never under a document that says Graph.
        assert_eq!(numbers(&scim["RemoteLatency"]), [9.0]);
        let graph_latencies: usize = docs
            .iter()
            .filter(|d| d["service"] == "Graph")
            .filter_map(|d| d["RemoteLatency"].as_array())
            .map(Vec::len)
            .sum();
        assert_eq!(graph_latencies, 4);
        // No document gives a metric two values, nor a dimension two values.
        for doc in &docs {
            let names: Vec<_> = doc["_aws"]["CloudWatchMetrics"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|d| {
                    d["Metrics"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|m| m["Name"].clone())
                })
                .collect();
            let unique: std::collections::BTreeSet<_> =
                names.iter().map(|n| n.to_string()).collect();
            assert_eq!(unique.len(), names.len(), "{doc}");
        }
    }

    #[tokio::test]
    async fn a_flush_empties_the_batch_and_nothing_recorded_writes_nothing() {
        let ((), _) = capture(async {
            event_outcome("skipped", "stale");
            let mut first = Vec::new();
            flush_to(&mut first).unwrap();
            assert_eq!(String::from_utf8(first).unwrap().lines().count(), 1);
            let mut second = Vec::new();
            flush_to(&mut second).unwrap();
            assert!(second.is_empty(), "a second flush wrote again");
        })
        .await;
    }

    #[tokio::test]
    async fn distributions_keep_at_most_one_documents_worth() {
        let batch = recorded(|| {
            for i in 0..(MAX_VALUES + 50) {
                lag(Lag::Delivery, i as i64);
            }
            lag(Lag::EndToEnd, -40);
        })
        .await;
        assert_eq!(batch.values(&DELIVERY_LAG, &[]).len(), MAX_VALUES);
        assert_eq!(batch.values(&END_TO_END_LAG, &[]), vec![0.0]);
    }

    #[tokio::test]
    async fn captures_do_not_leak_into_each_other_or_the_process() {
        let (_, a) = capture(async { event_outcome("applied", "changed") }).await;
        let (_, b) = capture(async { event_outcome("skipped", "stale") }).await;
        assert_eq!(a.count(&EVENTS, &["applied", "changed"]), 1);
        assert_eq!(a.count(&EVENTS, &["skipped", "stale"]), 0);
        assert_eq!(b.count(&EVENTS, &["skipped", "stale"]), 1);
        assert_eq!(b.count(&EVENTS, &["applied", "changed"]), 0);
    }

    #[test]
    fn status_classes() {
        let cases = [
            (200, "2xx"),
            (204, "2xx"),
            (301, "3xx"),
            (400, "4xx"),
            (401, "4xx"),
            (404, "4xx"),
            (429, "429"),
            (500, "5xx"),
            (503, "5xx"),
            (100, "4xx"),
        ];
        for (status, class) in cases {
            assert_eq!(StatusClass::of(status).as_str(), class, "{status}");
        }
    }

    #[test]
    fn the_namespace_comes_from_the_environment_and_is_checked() {
        let ctx = |vars: &[(&str, &str)]| {
            let vars: Vec<(String, String)> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Context::from_lookup(|name| {
                vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
            })
        };
        assert_eq!(
            ctx(&[]).unwrap(),
            Context {
                namespace: DEFAULT_NAMESPACE.into(),
                function: "presence-sync".into()
            }
        );
        let custom = ctx(&[
            ("METRICS_NAMESPACE", "Contoso/Presence"),
            ("AWS_LAMBDA_FUNCTION_NAME", "stack-PresenceSync-1"),
        ])
        .unwrap();
        assert_eq!(custom.namespace, "Contoso/Presence");
        assert_eq!(custom.function, "stack-PresenceSync-1");
        for bad in ["AWS/Lambda", "a\"b", "é", &"x".repeat(256)] {
            let error = ctx(&[("METRICS_NAMESPACE", bad)]).unwrap_err();
            assert!(error.starts_with("METRICS_NAMESPACE"), "{error}");
        }
    }

    #[tokio::test]
    async fn names_and_values_are_escaped() {
        let batch = recorded(|| event_outcome("failed", "GraphThrottled")).await;
        let context = Context {
            namespace: "Name space".into(),
            function: "quote\"and\\back".into(),
        };
        let lines = batch.emf_lines(&context, 0);
        let doc: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(doc["function"], "quote\"and\\back");
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "Name space"
        );
    }
}
