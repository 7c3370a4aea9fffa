//! The reconciler's family: what one pass scanned, settled, recovered, backfilled and kept
//! alive, the drift it found and repaired, and the pass itself.

use super::declared::{Emitter, FUNCTION, KIND, Kind, Metric, Unit};
use super::flush::{count, value};
use std::time::Duration;

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
