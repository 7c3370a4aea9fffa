//! What the watcher did in the model: its runs, the lag from each Teams change of an agent's
//! own session (a meeting or call starting, ending) to the Genesys write that acts on it, and
//! the requests it spent, against its shares.

use super::figures::clock_time;
use super::genesys_calls::{GenesysCalls, Request};
use super::graph::{Caller, GraphTenant};
use super::watcher::{Session, WatchRun, WatcherParams};
use super::workload::Workload;
use presence_core::domain::presence::SystemPresence;

/// The watcher's figures.
#[derive(Clone, Debug)]
pub struct WatchFigures {
    pub params: WatcherParams,
    pub runs: Vec<WatchRun>,
    pub sessions: usize,
    /// Teams changes (starts and ends) and, of them, the ones a Genesys write acted on, with
    /// the lag of each (ms).
    pub changes: usize,
    pub lags_ms: Vec<i64>,
    /// The same from when the write was due: the later of the Teams change and the agent's
    /// last Genesys change before the write (an interaction that ended, a return from
    /// break: until then the rules leave the agent alone).
    pub due_lags_ms: Vec<i64>,
    /// Of those, the ones due at the Teams change (the agent's Genesys state allowed the
    /// write then), and the ones due at a later Genesys change.
    pub teams_due_ms: Vec<i64>,
    pub genesys_due_ms: Vec<i64>,
    /// Its Genesys writes (take-offs and restores).
    pub writes: usize,
    pub graph_per_30s: Vec<u32>,
    pub graph_429: u64,
    pub genesys_per_minute: Vec<u32>,
    pub graph_share: u32,
    pub genesys_share: u32,
    /// Its Genesys requests by kind: Teams-id lookups, directory pages, bulk reads, presence
    /// writes.
    pub genesys_by_kind: (usize, usize, usize, usize),
}

/// The first write for `agent` in `[from, to)`.
fn first_write(
    writes: &[(usize, i64, SystemPresence)],
    agent: usize,
    from: i64,
    to: i64,
) -> Option<i64> {
    (writes.iter())
        .filter(|(a, at, _)| *a == agent && *at >= from && *at < to)
        .map(|(_, at, _)| *at)
        .min()
}

impl WatchFigures {
    #[allow(clippy::too_many_arguments)]
    pub fn measure(
        workload: &Workload,
        params: WatcherParams,
        runs: Vec<WatchRun>,
        sessions: &[Session],
        writes: &[(usize, i64, SystemPresence)],
        tenant: &GraphTenant,
        calls: &GenesysCalls,
        graph_share: u32,
        genesys_share: u32,
    ) -> WatchFigures {
        let mut changed: Vec<Vec<i64>> = vec![Vec::new(); workload.agents.len()];
        for change in &workload.changes {
            changed[change.agent as usize].push(change.at_ms);
        }
        let (mut lags_ms, mut due_lags_ms) = (Vec::new(), Vec::new());
        let (mut teams_due_ms, mut genesys_due_ms) = (Vec::new(), Vec::new());
        for s in sessions {
            let acted = [
                (
                    s.start_ms,
                    first_write(writes, s.agent, s.start_ms, s.end_ms),
                ),
                (s.end_ms, first_write(writes, s.agent, s.end_ms, i64::MAX)),
            ];
            for (moment, write) in acted {
                let Some(at) = write else { continue };
                let last = changed[s.agent].iter().copied().filter(|c| *c <= at).max();
                lags_ms.push(at - moment);
                let due = moment.max(last.unwrap_or(moment));
                due_lags_ms.push(at - due);
                match due == moment {
                    true => teams_due_ms.push(at - due),
                    false => genesys_due_ms.push(at - due),
                }
            }
        }
        lags_ms.sort_unstable();
        due_lags_ms.sort_unstable();
        teams_due_ms.sort_unstable();
        genesys_due_ms.sort_unstable();
        let counts = tenant.counts();
        WatchFigures {
            params,
            runs,
            sessions: sessions.len(),
            changes: 2 * sessions.len(),
            lags_ms,
            due_lags_ms,
            teams_due_ms,
            genesys_due_ms,
            writes: writes.len(),
            graph_per_30s: counts.watcher_per_30s,
            graph_429: counts.watcher_throttled,
            genesys_per_minute: calls.per_minute(Some(Caller::Watcher)),
            graph_share,
            genesys_share,
            genesys_by_kind: (
                calls.count(Some(Caller::Watcher), Request::TeamsIdLookup),
                calls.count(Some(Caller::Watcher), Request::DirectoryPage),
                calls.count(Some(Caller::Watcher), Request::BulkRead),
                calls.count(Some(Caller::Watcher), Request::PresenceWrite),
            ),
        }
    }

    fn quantile_s(lags: &[i64], q: f64) -> f64 {
        if lags.is_empty() {
            return 0.0;
        }
        let i = ((lags.len() as f64 * q).ceil() as usize).clamp(1, lags.len());
        lags[i - 1] as f64 / 1000.0
    }

    /// The lines the bench prints; `hour` windows of the requests: the first `n` minutes.
    pub fn lines(&self, minutes: usize) -> Vec<String> {
        let mean_max = |v: &[u32], n: usize| {
            let v = &v[..n.min(v.len())];
            let mean = v.iter().map(|x| f64::from(*x)).sum::<f64>() / n.max(1) as f64;
            (mean, v.iter().copied().max().unwrap_or(0))
        };
        let (g_mean, g_max) = mean_max(&self.graph_per_30s, 2 * minutes);
        let (b_mean, b_max) = mean_max(&self.genesys_per_minute, 30);
        let (h_mean, h_max) = mean_max(&self.genesys_per_minute, minutes);
        let reports: Vec<_> = self
            .runs
            .iter()
            .filter_map(|r| r.report.as_ref().ok())
            .collect();
        let sum = |f: fn(&presence_core::service::watch::WatchReport) -> u64| -> u64 {
            reports.iter().map(|r| f(r)).sum()
        };
        let yielded: Vec<String> = (self.runs.iter())
            .filter(|r| r.report.as_ref().is_ok_and(|r| r.yielded))
            .map(|r| clock_time(r.at_s))
            .collect();
        let failed = self.runs.iter().filter(|r| r.report.is_err()).count();
        let q = |v: &[i64]| {
            format!(
                "{} writes: {:.1} / {:.1} / {:.1} s",
                v.len(),
                Self::quantile_s(v, 0.5),
                Self::quantile_s(v, 0.99),
                Self::quantile_s(v, 1.0)
            )
        };
        vec![
            format!(
                "watcher: {} runs ({} failed), yielded {} ({}); {} walks of the records; {} polls; Teams changes seen {}, looked at {}, taken off {}, restored {}, confirmed {}, overridden {}, forgotten {}, failed {}",
                self.runs.len(),
                failed,
                yielded.len(),
                yielded.join(", "),
                sum(|r| r.walks),
                sum(|r| r.polls),
                sum(|r| r.changes),
                sum(|r| r.looked),
                sum(|r| r.taken_off),
                sum(|r| r.restored),
                sum(|r| r.confirmed),
                sum(|r| r.overridden),
                sum(|r| r.forgotten),
                sum(|r| r.failed),
            ),
            format!(
                "watcher sessions: {} agents with a meeting or call, {} Teams changes, {} acted on by a Genesys write ({} writes); Teams→Genesys lag p50 / p99 / max from the Teams change {:.1} / {:.1} / {:.1} s, from when due {:.1} / {:.1} / {:.1} s",
                self.sessions,
                self.changes,
                self.lags_ms.len(),
                self.writes,
                Self::quantile_s(&self.lags_ms, 0.5),
                Self::quantile_s(&self.lags_ms, 0.99),
                Self::quantile_s(&self.lags_ms, 1.0),
                Self::quantile_s(&self.due_lags_ms, 0.5),
                Self::quantile_s(&self.due_lags_ms, 0.99),
                Self::quantile_s(&self.due_lags_ms, 1.0),
            ),
            format!(
                "watcher lag p50 / p99 / max, due at the Teams change: {}; due at a later Genesys change (seen by the next run's roster walk): {}",
                q(&self.teams_due_ms),
                q(&self.genesys_due_ms),
            ),
            format!(
                "watcher Graph reads per 30 s over {minutes} min: mean {g_mean:.1}, max {g_max} (its share {}; 429s {}); Genesys requests per minute: 07:50–08:20 mean {b_mean:.1}, max {b_max}; over {minutes} min mean {h_mean:.1}, max {h_max} (its share {}): {} Teams-id lookups, {} directory pages, {} bulk reads, {} presence writes; Teams ids {:?} at 07:50",
                self.graph_share,
                self.graph_429,
                self.genesys_share,
                self.genesys_by_kind.0,
                self.genesys_by_kind.1,
                self.genesys_by_kind.2,
                self.genesys_by_kind.3,
                self.params.teams_ids,
            ),
        ]
    }
}
