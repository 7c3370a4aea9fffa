//! What the reconciler did over a run of the model: its runs (which yielded to the event
//! path, which were cut), what they did added up, the pages its walks judged the burst by, and
//! its Graph and Genesys calls; and the lines the bench prints of them.

use super::reconciler::RunRecord;
use super::sampled::PageSample;
use presence_core::domain::teams::TeamsState;
use presence_core::policy::RECONCILE_BURST_WINDOW;
use presence_core::service::reconcile::PassReport;

/// What the reconciler did over the model, for the report.
#[derive(Clone, Debug, Default)]
pub struct Figures {
    pub runs: Vec<RunRecord>,
    /// Every page its walks scanned, in order.
    pub pages: Vec<PageSample>,
    /// The runs' reports added up.
    pub total: PassReport,
    /// Its `getPresencesByUserId` requests and writes, and of those the 429s.
    pub graph_reads: u64,
    pub graph_writes: u64,
    pub graph_429: u64,
    /// Its Graph requests in each 30-s window from model time zero.
    pub per_30s: Vec<u32>,
    pub genesys_calls: usize,
    /// The share of the whole floor with a write landed in the burst rule's window before
    /// each run's start and end (what the rule's page samples estimate), and its peak until
    /// the reconciler stops (sampled every 10 s): (s after model time zero, share).
    pub floor_recent: Vec<(f64, f64)>,
    pub floor_recent_peak: (f64, f64),
}

/// The share of agents (of `shown_from`: per agent, the times in ms after model time zero of
/// the writes that landed, in order) with a write in the `window_ms` before `at_ms`.
pub fn floor_share(shown_from: &[Vec<(i64, TeamsState)>], at_ms: i64, window_ms: i64) -> f64 {
    let recent = shown_from
        .iter()
        .filter(|writes| {
            let upto = writes.partition_point(|(t, _)| *t <= at_ms);
            upto > 0 && at_ms - writes[upto - 1].0 < window_ms
        })
        .count();
    recent as f64 / shown_from.len().max(1) as f64
}

impl Figures {
    /// Fills in the floor-wide shares from what Teams was set to (see [`floor_share`]).
    pub fn measure_floor(mut self, shown_from: &[Vec<(i64, TeamsState)>], until_s: f64) -> Self {
        let window = RECONCILE_BURST_WINDOW.as_millis() as i64;
        let share = |s: f64| floor_share(shown_from, (s * 1000.0) as i64, window);
        self.floor_recent = self
            .runs
            .iter()
            .map(|r| (share(r.at_s), share(r.ended_s)))
            .collect();
        self.floor_recent_peak = (0..=(until_s / 10.0) as u32)
            .map(|k| (f64::from(k) * 10.0, share(f64::from(k) * 10.0)))
            .fold((0.0, 0.0), |peak, at| if at.1 > peak.1 { at } else { peak });
        self
    }

    /// Start times (s) of the runs that yielded to the event path.
    pub fn yielded_at(&self) -> Vec<f64> {
        self.runs
            .iter()
            .filter(|r| r.report.as_ref().is_ok_and(|r| r.yielded))
            .map(|r| r.at_s)
            .collect()
    }

    /// The most Graph requests it made in one 30-s window from `from_s` to `to_s`, and their
    /// mean per window there.
    pub fn per_30s_between(&self, from_s: f64, to_s: f64) -> (u32, f64) {
        let (from, to) = ((from_s / 30.0) as usize, (to_s / 30.0).ceil() as usize);
        let windows: Vec<u32> = (from..to)
            .map(|w| self.per_30s.get(w).copied().unwrap_or(0))
            .collect();
        let max = windows.iter().copied().max().unwrap_or(0);
        let mean = windows.iter().map(|&n| f64::from(n)).sum::<f64>() / windows.len().max(1) as f64;
        (max, mean)
    }

    /// Pages of the walk scanned from `from_s` to `to_s` (s after model time zero).
    pub fn pages_between(&self, from_s: f64, to_s: f64) -> Vec<PageSample> {
        let (from, to) = ((from_s * 1000.0) as i64, (to_s * 1000.0) as i64);
        self.pages
            .iter()
            .filter(|p| (from..to).contains(&p.at_ms))
            .copied()
            .collect()
    }
}

/// Seconds after model time zero as the wall clock reads them (zero is 07:50:00).
pub fn clock_time(s: f64) -> String {
    let t = 7 * 3600 + 50 * 60 + s.max(0.0) as u64;
    format!("{:02}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60)
}

impl Figures {
    /// One line per run, then the totals; the burst is `burst_s` (from, to) in seconds
    /// after model time zero.
    pub fn lines(&self, burst_s: (f64, f64)) -> Vec<String> {
        let mut lines: Vec<String> = self
            .runs
            .iter()
            .enumerate()
            .map(|(i, run)| self.run_line(run, self.floor_recent.get(i).copied()))
            .collect();
        let t = &self.total;
        let yielded: Vec<String> = self.yielded_at().into_iter().map(clock_time).collect();
        lines.push(format!(
            "reconciler: {} runs, {} yielded ({}); kept alive {}, recovered {}, settled {}, drift reported {}, no session {}, failed {}; {} users judged, walk completed: {}, sweep completed: {}",
            self.runs.len(),
            yielded.len(),
            yielded.join(", "),
            t.kept_alive,
            t.recovered,
            t.settled,
            t.drift_found,
            t.no_session,
            t.failed,
            t.scanned,
            t.walk_completed,
            t.sweep_completed,
        ));
        let end_s = self.runs.last().map_or(0.0, |r| r.ended_s);
        let (all_max, all_mean) = self.per_30s_between(0.0, end_s);
        let (burst_max, burst_mean) = self.per_30s_between(burst_s.0, burst_s.1);
        lines.push(format!(
            "reconciler Graph: {} getPresencesByUserId + {} writes, {} answered 429; per 30 s: mean {:.1}, max {} from 07:50:00 to its last run's end; mean {:.1}, max {} from {} to {}; Genesys calls {}",
            self.graph_reads,
            self.graph_writes,
            self.graph_429,
            all_mean,
            all_max,
            burst_mean,
            burst_max,
            clock_time(burst_s.0),
            clock_time(burst_s.1),
            self.genesys_calls,
        ));
        lines.push(format!(
            "whole floor with a write in the last minute: peak {:.1} % at {}",
            self.floor_recent_peak.1 * 100.0,
            clock_time(self.floor_recent_peak.0)
        ));
        lines
    }

    fn run_line(&self, run: &RunRecord, floor: Option<(f64, f64)>) -> String {
        let pages = self.pages_between(run.at_s, run.ended_s + 0.001);
        let sample = |p: &PageSample| format!("{} of {} users", p.recent, p.users);
        let last = match (pages.first(), pages.last()) {
            (Some(first), Some(last)) => format!(
                "applied in the last minute: first page {}, last {}",
                sample(first),
                sample(last)
            ),
            _ => "no page".to_owned(),
        };
        let what = match &run.report {
            Err(error) => format!("failed: {error}"),
            Ok(r) => format!(
                "{}; judged {}, kept alive {}, recovered {}, failed {}",
                if r.yielded {
                    "yielded"
                } else if r.cut {
                    "cut"
                } else {
                    "done"
                },
                r.scanned,
                r.kept_alive,
                r.recovered,
                r.failed
            ),
        };
        let floor = floor.map_or(String::new(), |(start, end)| {
            format!(
                "; whole floor {:.1} % at the start, {:.1} % at the end",
                start * 100.0,
                end * 100.0
            )
        });
        format!(
            "  run at {} to {}: {what}; {} pages ({last}{floor})",
            clock_time(run.at_s),
            clock_time(run.ended_s),
            pages.len(),
        )
    }
}
