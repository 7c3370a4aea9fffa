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
//!
//! One file per concept: `declared` (what a metric is, the dimension names, [`ALL`]), one per
//! family of metrics with its recording functions (`events`, `remote`, `reconciler`), the
//! `batch` they add to, the `emf` writer, and `flush` (where the batch lives, and the flush).

#[macro_use]
mod declared;
mod batch;
mod emf;
mod events;
mod flush;
mod reconciler;
mod remote;
mod watcher;

pub use batch::{Batch, MAX_VALUES};
pub use declared::{
    ALL, DEFAULT_NAMESPACE, Emitter, FAILED, FUNCTION, FUNCTION_VARIABLE, KIND, Kind, Metric,
    NAMESPACE_VARIABLE, OPERATION, OUTCOME, OUTCOMES, REASON, SERVICE, SOURCE, STATUS, Unit,
    declared,
};
pub use events::{
    DELIVERY_LAG, END_TO_END_LAG, EVENTS, LATE_EVENTS, Lag, TEAMS_ID_LOOKUPS, TeamsIdSource,
    event_outcome, lag, late_event, teams_id_lookup,
};
pub use flush::{Context, capture, check_namespace, flush, flush_to, init, take};
pub use reconciler::{
    AGENTS_LET_GO, AGENTS_REJOINED, BACKFILLED, BULK_READ_FAILURES, DIRTY_SETTLED, DRIFT_FOUND,
    DRIFT_REPAIRED, KEPT_ALIVE, LOST_EVENTS_RECOVERED, PASS_COMPLETED, PASS_DURATION, PassFigure,
    USERS_SCANNED, bulk_read_failed, drift, let_go, pass_completed, pass_figure,
};
pub use remote::{
    REMOTE_CALLS, REMOTE_LATENCY, RETRIES, Remote, StatusClass, THROTTLE_WAIT, THROTTLES,
    remote_call, retry, throttle_wait,
};
#[cfg(feature = "adapters")]
pub use remote::{sdk_status, time_sdk};
pub use watcher::{
    ECHOES_SUPPRESSED, GENESYS_SET, GenesysSet, TEAMS_CHANGES, WATCH_FAILURES, WATCH_LAG,
    WATCH_OVERRIDDEN, WATCH_POLLS, WATCH_SKIPPED, echo_suppressed, genesys_set, teams_changes,
    watch_failed, watch_overridden, watch_poll, watch_skipped,
};

#[cfg(test)]
mod tests;
