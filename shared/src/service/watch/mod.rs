//! The reverse direction, Teams → Genesys: one scheduled run polls the Teams presence of the
//! agents it watches (every recorded, in-scope agent with a Teams id), batch by batch spread
//! over the poll period on a schedule kept across the runs of a process, and for an agent whose Teams activity (or record) changed reads
//! Genesys and decides ([`crate::domain::watch::decide`]): take them off to the mapped
//! presence, restore what it replaced, or leave them. Every Genesys write is preceded by the
//! provenance mark on the agent's record, so the event it causes is recognised as ours.
//! docs/design.md, "The reverse direction" and "Why the two directions cannot loop".

mod act;
mod looks;
mod poll;
mod roster;
mod schedule;
mod shared;
mod write;

pub use shared::WatchShared;

use super::{Invocation, PresenceSync};
use crate::domain::watch::resolve::ResolveError;
use crate::domain::watch::{OnQueuePolicy, TeamsToGenesys};
use crate::ports::{
    GenesysBulk, GenesysPresence, PresenceReader, PresenceWriter, RecordScan, RemoteError,
    StateStore, StoreError, TeamsDirectory, TeamsIdCache,
};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;
use tracing::info;

/// The watcher's settings, from configuration.
#[derive(Clone, Debug)]
pub struct WatchSettings {
    pub on_queue: OnQueuePolicy,
    pub rules: TeamsToGenesys,
    /// How often each agent's Teams presence is read.
    pub period: Duration,
    /// How long a Teams activity must last before it takes an agent off.
    pub debounce: Duration,
    /// Its share of Graph's presence limit, in requests per 30 s.
    pub graph_per_30s: u32,
    /// Its share of the Genesys client's limit, in requests per minute.
    pub genesys_per_minute: u32,
}

/// What one run did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WatchReport {
    /// Bulk reads of Teams presence.
    pub polls: u64,
    /// Agents in the roster with a Teams id at the end of the run.
    pub watched: u64,
    /// Whether the roster was walked to the end (a cold start may take several runs).
    pub roster_complete: bool,
    /// Walks of the records: one a minute of the run, more while they find agents new to
    /// the roster or the event path in a burst.
    pub walks: u64,
    /// Whether the run yielded Graph to the event path (a shift-start burst): its polls
    /// waited until a walk found the burst over.
    pub yielded: bool,
    /// Teams activity changes seen.
    pub changes: u64,
    /// Agents whose record and Genesys state were read to decide.
    pub looked: u64,
    pub taken_off: u64,
    pub restored: u64,
    pub confirmed: u64,
    pub overridden: u64,
    pub forgotten: u64,
    /// Agents left alone, by rule (`no-activity` not counted).
    pub skipped: BTreeMap<&'static str, u64>,
    /// Reads and writes that failed.
    pub failed: u64,
    /// Teams-id lookups left for a later run: no slot of the Genesys share (or a 429) within
    /// the roster's time. Not failures: the roster fills at the share's pace.
    pub deferred: u64,
}

/// Why a watcher run could not work.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("state table: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Remote(#[from] RemoteError),
    /// `TEAMS_TO_GENESYS` names a presence the org does not have (or one that keeps the agent
    /// reachable): a configuration error.
    #[error("{0}")]
    Rules(#[from] ResolveError),
}

impl WatchError {
    /// The error type reported to Lambda and in logs.
    pub fn kind(&self) -> &'static str {
        match self {
            WatchError::Store(_) => "StateTableError",
            WatchError::Remote(error) => error.error_type(),
            WatchError::Rules(_) => "ConfigurationError",
        }
    }
}

/// One run's working parts.
pub(super) struct Run<'a, G, R> {
    genesys: &'a G,
    teams: &'a R,
    shared: &'a WatchShared,
    settings: &'a WatchSettings,
    until: Instant,
    report: WatchReport,
}

impl<S, C, D, W> PresenceSync<S, C, D, W>
where
    S: StateStore + RecordScan,
    C: TeamsIdCache,
    D: TeamsDirectory,
    W: PresenceWriter,
{
    /// One watcher run: the org's presence definitions resolved (once per process), then
    /// polls until the invocation's time is nearly spent. A new process walks its roster
    /// first; a warm one polls at once, on the schedule its last run kept, and brings the
    /// roster up to date beside the polls (an agent's Teams change between two runs waits no
    /// walk of the records).
    pub async fn watch<G, R>(
        &self,
        genesys: &G,
        teams: &R,
        shared: &WatchShared,
        settings: &WatchSettings,
        invocation: &Invocation,
    ) -> Result<WatchReport, WatchError>
    where
        G: GenesysBulk + GenesysPresence,
        R: PresenceReader,
    {
        let limits =
            super::limits::Limits::of(invocation, self.settings.deadline_margin, self.now_ms());
        let until = limits.work.until;
        let mut run = Run::new(genesys, teams, shared, settings, until);
        shared
            .resolve(genesys, &settings.rules, limits.work)
            .await?;
        shared.set_yielding(false);
        shared.looks.start();
        let mut looker = Run::new(genesys, teams, shared, settings, until);
        let mut roster = Run::new(genesys, teams, shared, settings, until);
        if shared.roster_known() {
            let walks = async {
                let growth = self.refresh_roster(&mut roster).await?;
                self.keep_walking(&mut roster, growth).await.map(drop)
            };
            let (walked, ()) = tokio::join!(walks, self.poll_and_look(&mut run, &mut looker));
            run.report.absorb(roster.report);
            walked?;
        } else {
            let growth = self.refresh_roster(&mut run).await?;
            let (walked, ()) = tokio::join!(
                self.keep_walking(&mut roster, growth),
                self.poll_and_look(&mut run, &mut looker)
            );
            if walked? > 0 {
                run.report.absorb(roster.report);
            }
        }
        run.report.absorb_looks(looker.report);
        info!(report = ?run.report, "watch run done");
        Ok(run.report)
    }

    /// The polls, and beside them the looks at the agents they pick.
    async fn poll_and_look<G, R>(&self, polls: &mut Run<'_, G, R>, looker: &mut Run<'_, G, R>)
    where
        G: GenesysBulk + GenesysPresence,
        R: PresenceReader,
    {
        let polling = async {
            self.poll_until_done(polls).await;
            polls.shared.looks.polls_over();
        };
        tokio::join!(polling, self.look_until_done(looker));
    }
}

impl<'a, G, R> Run<'a, G, R> {
    /// A run of the same invocation with a report of its own (for work done beside it).
    fn fork(&self) -> Self {
        Run::new(
            self.genesys,
            self.teams,
            self.shared,
            self.settings,
            self.until,
        )
    }

    fn new(
        genesys: &'a G,
        teams: &'a R,
        shared: &'a WatchShared,
        settings: &'a WatchSettings,
        until: Instant,
    ) -> Self {
        Run {
            genesys,
            teams,
            shared,
            settings,
            until,
            report: WatchReport::default(),
        }
    }
}

impl WatchReport {
    /// Adds what the roster did beside the polls.
    fn absorb(&mut self, roster: WatchReport) {
        self.roster_complete = roster.roster_complete;
        self.yielded |= roster.yielded;
        self.walks += roster.walks;
        self.failed += roster.failed;
        self.deferred += roster.deferred;
    }

    /// Adds what the looks beside the polls did.
    fn absorb_looks(&mut self, looks: WatchReport) {
        self.looked += looks.looked;
        self.taken_off += looks.taken_off;
        self.restored += looks.restored;
        self.confirmed += looks.confirmed;
        self.overridden += looks.overridden;
        self.forgotten += looks.forgotten;
        for (rule, n) in looks.skipped {
            *self.skipped.entry(rule).or_default() += n;
        }
        self.failed += looks.failed;
    }
}

#[cfg(test)]
mod no_loop_tests;
#[cfg(test)]
mod run_tests;
#[cfg(test)]
mod tests;
