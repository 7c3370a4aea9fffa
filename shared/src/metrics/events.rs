//! The event path's family: each event's outcome, its two lags, and where its Teams id came
//! from.

use super::declared::{Emitter, FUNCTION, Kind, Metric, OUTCOME, REASON, SOURCE, Unit};
use super::flush::{count, value};

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
    Both,
    [],
    [[FUNCTION]],
    "From the Genesys change (the event's version) to Graph accepting it, per applied or cleared event delivered live (and per lost event the reconciler applied)."
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
    TEAMS_ID_LOOKUPS,
    "TeamsIdLookups",
    Count,
    Counter,
    Sync,
    [SOURCE],
    [[FUNCTION, SOURCE]],
    "Where a Genesys user's Teams id came from: memory, table, scim, or negative (a cached \"no Teams id\")."
);

/// The two lags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lag {
    /// [`END_TO_END_LAG`]: the Genesys change (the event's version) → Graph accepted.
    EndToEnd,
    /// [`DELIVERY_LAG`]: the event's envelope `time` → the invocation's start.
    Delivery,
}

metric!(
    LATE_EVENTS,
    "LateEvents",
    Count,
    Counter,
    Sync,
    [],
    [[FUNCTION]],
    "Events delivered more than 15 minutes after their time (redriven, or held during an outage): their lag is left out of EndToEndLag."
);

/// An event delivered later than EventBridge and Lambda deliver on their own.
pub fn late_event() {
    count(&LATE_EVENTS, &[], 1);
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
    /// The reconciler's directory sweep had read it in bulk (no call of its own).
    Sweep,
    /// Memory or the table held a cached "no Teams id" (or "claimed by another user").
    Negative,
}

impl TeamsIdSource {
    pub const fn as_str(self) -> &'static str {
        match self {
            TeamsIdSource::Memory => "memory",
            TeamsIdSource::Table => "table",
            TeamsIdSource::Scim => "scim",
            TeamsIdSource::Sweep => "sweep",
            TeamsIdSource::Negative => "negative",
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
