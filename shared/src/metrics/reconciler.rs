//! The reconciler's family: what one pass scanned, settled, recovered, backfilled and kept
//! alive, the drift it found and repaired, and the pass itself.

use super::declared::{Emitter, FUNCTION, KIND, Kind, Metric, REASON, SERVICE, Unit};
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

metric!(
    AGENTS_LET_GO,
    "AgentsLetGo",
    Count,
    Counter,
    Reconciler,
    [REASON],
    [[FUNCTION, REASON], [FUNCTION]],
    "Reconciler: agents let go (what we set in Teams cleared once, then left alone), by reason."
);
metric!(
    AGENTS_REJOINED,
    "AgentsRejoined",
    Count,
    Counter,
    Reconciler,
    [],
    [[FUNCTION]],
    "Reconciler: agents let go earlier and synced again (active in Genesys again)."
);
metric!(
    BULK_READ_FAILURES,
    "BulkReadFailures",
    Count,
    Counter,
    Reconciler,
    [SERVICE],
    [[FUNCTION, SERVICE], [FUNCTION]],
    "Reconciler: bulk reads of Genesys or Graph that failed (those users were judged blind)."
);

/// A figure of one reconciler pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PassFigure {
    UsersScanned,
    DirtySettled,
    LostEventsRecovered,
    Backfilled,
    KeptAlive,
    Rejoined,
}

/// Adds `n` to one of the reconciler's pass figures.
pub fn pass_figure(figure: PassFigure, n: u64) {
    let metric = match figure {
        PassFigure::UsersScanned => &USERS_SCANNED,
        PassFigure::DirtySettled => &DIRTY_SETTLED,
        PassFigure::LostEventsRecovered => &LOST_EVENTS_RECOVERED,
        PassFigure::Backfilled => &BACKFILLED,
        PassFigure::KeptAlive => &KEPT_ALIVE,
        PassFigure::Rejoined => &AGENTS_REJOINED,
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

/// Agents let go in a pass, for one reason.
pub fn let_go(reason: &'static str, n: u64) {
    count(&AGENTS_LET_GO, &[reason], n);
}

/// A bulk read of `service` (`GenesysUsers`, `Graph`) failed.
pub fn bulk_read_failed(service: super::Remote) {
    count(&BULK_READ_FAILURES, &[service.as_str()], 1);
}
