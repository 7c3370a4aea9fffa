//! The watcher's family (Teams → Genesys): Teams changes it saw, Genesys presences it set and
//! restored, what it skipped and why, the lag from the poll that saw a change to the Genesys
//! write, its polls (the stall alarm counts these), and our own Genesys writes recognised on
//! the way back (echoes suppressed).

use super::declared::{Emitter, FUNCTION, KIND, Kind, Metric, REASON, Unit};
use super::flush::{count, value};

metric!(
    TEAMS_CHANGES,
    "TeamsChangesSeen",
    Count,
    Counter,
    Watcher,
    [],
    [[FUNCTION]],
    "Watcher: changes of an agent's Teams activity it saw."
);
metric!(
    GENESYS_SET,
    "GenesysPresencesSet",
    Count,
    Counter,
    Watcher,
    [KIND],
    [[FUNCTION, KIND], [FUNCTION]],
    "Watcher: Genesys presences it set, by kind (take-off, restore)."
);
metric!(
    WATCH_SKIPPED,
    "WatchSkipped",
    Count,
    Counter,
    Watcher,
    [REASON],
    [[FUNCTION, REASON], [FUNCTION]],
    "Watcher: agents in a mapped Teams activity it left alone, by rule (interacting, masked…)."
);
metric!(
    WATCH_OVERRIDDEN,
    "WatchOverridden",
    Count,
    Counter,
    Watcher,
    [],
    [[FUNCTION]],
    "Watcher: take-offs the agent or a supervisor changed before the restore (they win)."
);
metric!(
    WATCH_FAILURES,
    "WatchFailures",
    Count,
    Counter,
    Watcher,
    [KIND],
    [[FUNCTION, KIND], [FUNCTION]],
    "Watcher: reads and writes that failed, by kind (graph-read, genesys-read, genesys-write, store)."
);
metric!(
    WATCH_LAG,
    "WatchLag",
    Milliseconds,
    Distribution,
    Watcher,
    [],
    [[FUNCTION]],
    "Watcher: from the poll that saw a Teams change to Genesys accepting the write."
);
metric!(
    WATCH_POLLS,
    "WatchPolls",
    Count,
    Counter,
    Watcher,
    [],
    [[FUNCTION]],
    "Watcher: bulk reads of Teams presence made (the stall alarm counts these)."
);
metric!(
    ECHOES_SUPPRESSED,
    "EchoesSuppressed",
    Count,
    Counter,
    Sync,
    [],
    [[FUNCTION]],
    "presence-sync: Genesys changes the watcher made, recognised by their provenance and not mirrored into Teams."
);

/// What the watcher set in Genesys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GenesysSet {
    TakeOff,
    Restore,
}

/// A Genesys presence the watcher set, `lag_ms` after the poll that saw the Teams change.
pub fn genesys_set(kind: GenesysSet, lag_ms: i64) {
    let kind = match kind {
        GenesysSet::TakeOff => "take-off",
        GenesysSet::Restore => "restore",
    };
    count(&GENESYS_SET, &[kind], 1);
    value(&WATCH_LAG, &[], lag_ms.max(0) as f64);
}

/// Changes of Teams activity the watcher saw.
pub fn teams_changes(n: u64) {
    count(&TEAMS_CHANGES, &[], n);
}

/// An agent the watcher left alone, by rule.
pub fn watch_skipped(reason: &'static str) {
    count(&WATCH_SKIPPED, &[reason], 1);
}

/// A take-off the agent or a supervisor overrode.
pub fn watch_overridden() {
    count(&WATCH_OVERRIDDEN, &[], 1);
}

/// A read or write of the watcher that failed.
pub fn watch_failed(kind: &'static str) {
    count(&WATCH_FAILURES, &[kind], 1);
}

/// One bulk read of Teams presence.
pub fn watch_poll() {
    count(&WATCH_POLLS, &[], 1);
}

/// One of our own Genesys writes recognised on its way back and not mirrored into Teams.
pub fn echo_suppressed() {
    count(&ECHOES_SUPPRESSED, &[], 1);
}
