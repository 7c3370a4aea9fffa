//! What a metric is: its name, unit, kind, dimensions and emitter, the dimension names every
//! family shares, and [`ALL`], the table `template.yaml`'s dashboard and alarms are tested against.

use super::events::{DELIVERY_LAG, END_TO_END_LAG, EVENTS, LATE_EVENTS, TEAMS_ID_LOOKUPS};
use super::reconciler::{
    AGENTS_LET_GO, AGENTS_REJOINED, BACKFILLED, BULK_READ_FAILURES, DIRTY_SETTLED, DRIFT_FOUND,
    DRIFT_REPAIRED, KEPT_ALIVE, LOST_EVENTS_RECOVERED, PASS_COMPLETED, PASS_DURATION,
    USERS_SCANNED,
};
use super::remote::{REMOTE_CALLS, REMOTE_LATENCY, RETRIES, THROTTLE_WAIT, THROTTLES};
use super::watcher::{
    ECHOES_SUPPRESSED, GENESYS_SET, TEAMS_CHANGES, WATCH_FAILURES, WATCH_LAG, WATCH_OVERRIDDEN,
    WATCH_POLLS, WATCH_SKIPPED,
};

/// The CloudWatch namespace when none is configured.
pub const DEFAULT_NAMESPACE: &str = "PresenceSync";
/// The variable that sets the namespace (see [`Context::from_env`](super::Context::from_env)).
pub const NAMESPACE_VARIABLE: &str = "METRICS_NAMESPACE";
/// Lambda's own variable naming the function: the `function` dimension.
pub const FUNCTION_VARIABLE: &str = "AWS_LAMBDA_FUNCTION_NAME";

/// The dimension every datum carries: the Lambda function's name.
pub const FUNCTION: &str = "function";
/// `applied`, `cleared`, `skipped`, `failed` (see [`OUTCOMES`]).
pub const OUTCOME: &str = "outcome";
/// The outcome's reason (`changed`, `stale`, …) or, for `failed`, the `errorType`.
pub const REASON: &str = "reason";
/// The remote service ([`Remote::as_str`](super::Remote::as_str)).
pub const SERVICE: &str = "service";
/// What was asked of it (`set`, `clear`, `lookup`, `token`, `read`, `UpdateItem`, …).
pub const OPERATION: &str = "operation";
/// The answer's status class ([`StatusClass::as_str`](super::StatusClass::as_str)).
pub const STATUS: &str = "status";
/// Where a Teams id came from ([`TeamsIdSource::as_str`](super::TeamsIdSource::as_str)).
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
    /// The reconciler.
    Reconciler,
    /// Both: the event function for its events, the reconciler for the changes it applied
    /// before their event arrived.
    Both,
    /// The watcher (`presence-watch`, the reverse direction).
    Watcher,
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

/// Every metric the project emits.
pub static ALL: [&Metric; 30] = [
    &EVENTS,
    &END_TO_END_LAG,
    &DELIVERY_LAG,
    &LATE_EVENTS,
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
    &AGENTS_LET_GO,
    &AGENTS_REJOINED,
    &BULK_READ_FAILURES,
    &TEAMS_CHANGES,
    &GENESYS_SET,
    &WATCH_SKIPPED,
    &WATCH_OVERRIDDEN,
    &WATCH_FAILURES,
    &WATCH_LAG,
    &WATCH_POLLS,
    &ECHOES_SUPPRESSED,
];

/// The declared metric of this name.
pub fn declared(name: &str) -> Option<&'static Metric> {
    ALL.iter().copied().find(|m| m.name == name)
}
