//! A run's figures: the lag from each Genesys change to Teams showing what it asks for (or
//! what a newer change asks for, while that is the newest), the ideal writer's lag for the same changes, Graph's 429s, Lambda's counts,
//! DynamoDB calls and billed time; and whether every agent ends showing what it should.

use super::graph::GraphTenant;
use super::ideal::{burst_over_rate_s, ideal_lags};
use super::lambda::LambdaCounts;
use super::run::Params;
use super::workload::{Change, Shown, Workload};
use presence_core::domain::ids::TeamsUserId;
use presence_core::domain::teams::{TeamsPresence, TeamsState};
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

/// Percentiles of a set of lags, in seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Lags {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

impl Lags {
    pub fn of(mut ms: Vec<i64>) -> Lags {
        if ms.is_empty() {
            return Lags::default();
        }
        ms.sort_unstable();
        let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize] as f64 / 1000.0;
        Lags {
            p50: at(0.5),
            p99: at(0.99),
            max: at(1.0),
        }
    }
}

/// Everything a run measured.
#[derive(Clone, Debug)]
pub struct Report {
    pub params: Params,
    pub events: usize,
    /// Changes that change what Teams should show.
    pub writes_needed: usize,
    pub lag: Lags,
    /// Changes never shown in Teams (neither they nor a newer change of the agent).
    pub never_shown: usize,
    /// The change with the largest lag, for looking into: (lag ms, the change).
    pub worst: Option<(i64, Change)>,
    pub ideal: Lags,
    /// The bound: writes needed in the first 15 minutes ÷ Graph's rate, seconds.
    pub burst_over_rate_s: f64,
    pub graph_calls: u64,
    pub graph_429: u64,
    pub reconciler_calls: u64,
    pub reconciler_429: u64,
    pub lambda: LambdaCounts,
    pub dynamo_calls: usize,
    pub directory_lookups: usize,
    /// Agents whose Teams presence at the end is not what their last change maps to.
    pub wrong_at_end: usize,
    /// Virtual time when the last event was done, seconds after 07:50.
    pub drained_s: f64,
    pub wall: Duration,
}

/// When Teams first shows what a change asks for, or what a later change of the same agent
/// asks for, while that is still the agent's newest state: `changes` from the change on,
/// `writes` the agent's accepted writes in time order (Teams shows nothing set before the
/// first). A state Teams already showed when the change happened counts at once.
fn first_shown(changes: &[Change], writes: &[(i64, TeamsState)]) -> Option<i64> {
    for (j, change) in changes.iter().enumerate() {
        let want = expected(change.shown);
        let until = changes.get(j + 1).map_or(i64::MAX, |next| next.at_ms);
        let before = writes.partition_point(|(at, _)| *at <= change.at_ms);
        let showing = before
            .checked_sub(1)
            .map_or(TeamsState::Cleared, |k| writes[k].1);
        if showing == want {
            return Some(change.at_ms);
        }
        let later = writes[before..]
            .iter()
            .take_while(|(at, _)| *at < until)
            .find(|(_, state)| *state == want);
        if let Some((at, _)) = later {
            return Some(*at);
        }
    }
    None
}

fn expected(shown: Option<Shown>) -> TeamsState {
    match shown {
        None | Some(Shown::Cleared) => TeamsState::Cleared,
        Some(Shown::Available) => TeamsState::Preferred(TeamsPresence::Available),
        Some(Shown::Busy) => TeamsState::Preferred(TeamsPresence::Busy),
        Some(Shown::Away) => TeamsState::Preferred(TeamsPresence::Away),
    }
}

impl Report {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        params: Params,
        workload: &Workload,
        tenant: &GraphTenant,
        lambda: &LambdaCounts,
        dynamo_calls: usize,
        directory_lookups: usize,
        zero: Instant,
        wall: Duration,
    ) -> Report {
        let teams: Vec<TeamsUserId> = workload
            .agents
            .iter()
            .map(|a| TeamsUserId::parse(&a.teams).expect("a UUID"))
            .collect();
        let agent_of: HashMap<&TeamsUserId, usize> =
            teams.iter().enumerate().map(|(i, t)| (t, i)).collect();
        // Per agent: what Teams showed from when (ms after zero), in time order.
        let mut shown_from: Vec<Vec<(i64, TeamsState)>> = vec![Vec::new(); teams.len()];
        for write in tenant.landed() {
            let at = write.at.duration_since(zero).as_millis() as i64;
            shown_from[agent_of[&write.teams]].push((at, write.state));
        }
        let mut changes_of: Vec<Vec<Change>> = vec![Vec::new(); teams.len()];
        for change in &workload.changes {
            changes_of[change.agent as usize].push(*change);
        }
        // The ideal writer: every change that must reach Teams written in time order at the
        // first moment the tenant's window has room, measured the same way.
        let limit = params.graph.limit;
        let window_ms = params.graph.window.as_millis() as i64;
        let mut needed: Vec<Change> = workload
            .changes
            .iter()
            .filter(|c| c.needs_write)
            .copied()
            .collect();
        needed.sort_by_key(|c| (c.at_ms, c.agent));
        let needed_times: Vec<i64> = needed.iter().map(|c| c.at_ms).collect();
        let mut ideal_from: Vec<Vec<(i64, TeamsState)>> = vec![Vec::new(); teams.len()];
        for (change, wait) in needed
            .iter()
            .zip(ideal_lags(&needed_times, limit, window_ms))
        {
            ideal_from[change.agent as usize].push((change.at_ms + wait, expected(change.shown)));
        }
        let mut lags = Vec::new();
        let mut ideal = Vec::new();
        let mut never_shown = 0;
        let mut worst: Option<(i64, Change)> = None;
        for (agent, changes) in changes_of.iter().enumerate() {
            let writes = &mut shown_from[agent];
            writes.sort_by_key(|(at, _)| *at);
            ideal_from[agent].sort_by_key(|(at, _)| *at);
            for (i, change) in changes.iter().enumerate().filter(|(_, c)| c.needs_write) {
                if let Some(at) = first_shown(&changes[i..], &ideal_from[agent]) {
                    ideal.push(at - change.at_ms);
                }
                match first_shown(&changes[i..], writes) {
                    Some(at) => {
                        let lag = at - change.at_ms;
                        if worst.is_none_or(|(w, _)| lag > w) {
                            worst = Some((lag, *change));
                        }
                        lags.push(lag);
                    }
                    None => never_shown += 1,
                }
            }
        }
        let ideal = Lags::of(ideal);
        let in_burst = needed_times.iter().filter(|t| **t <= 15 * 60_000).count();
        let final_shown = workload.final_shown();
        let wrong_at_end = teams
            .iter()
            .zip(&final_shown)
            .filter(|(t, s)| tenant.shown(t) != expected(**s))
            .count();
        let counts = *tenant.counts.lock().unwrap_or_else(|p| p.into_inner());
        Report {
            params,
            events: workload.changes.len(),
            writes_needed: needed_times.len(),
            lag: Lags::of(lags),
            never_shown,
            worst,
            ideal,
            burst_over_rate_s: burst_over_rate_s(
                in_burst,
                limit,
                params.graph.window.as_secs_f64(),
            ),
            graph_calls: counts.calls,
            graph_429: counts.throttled,
            reconciler_calls: counts.reconciler_calls,
            reconciler_429: counts.reconciler_throttled,
            lambda: lambda.clone(),
            dynamo_calls,
            directory_lookups,
            wrong_at_end,
            drained_s: lambda
                .drained_at
                .map_or(0.0, |t| t.duration_since(zero).as_secs_f64()),
            wall,
        }
    }

    /// Our p99 over the ideal writer's, when Graph's limit binds at all (ideal p99 ≥ 1 s).
    pub fn ratio(&self) -> Option<f64> {
        (self.ideal.p99 >= 1.0).then(|| self.lag.p99 / self.ideal.p99)
    }

    pub fn share_429(&self) -> f64 {
        if self.graph_calls == 0 {
            return 0.0;
        }
        self.graph_429 as f64 / self.graph_calls as f64
    }

    /// Mean billed time per invocation, ms.
    pub fn billed_ms(&self) -> f64 {
        self.lambda.billed.as_secs_f64() * 1000.0 / self.lambda.invocations.max(1) as f64
    }

    pub const HEADER: &'static str = "| agents | C | paced | events | writes needed | lag p50 / p99 / max (s) | ideal p50 / p99 / max (s) | burst ÷ rate (s) | p99 ÷ ideal p99 | Graph calls | 429s | dead-lettered | never shown | invocations (failed) | DynamoDB calls | billed ms / inv. | wrong at end | run (s) |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|";

    /// One row of the markdown table.
    pub fn row(&self) -> String {
        let paced = self
            .params
            .paced_per_30s
            .map_or("no".to_owned(), |n| format!("{n}/30 s"));
        let ratio = self
            .ratio()
            .map_or("— (not bound)".to_owned(), |r| format!("{r:.2}"));
        format!(
            "| {} | {} | {} | {} | {} | {:.1} / {:.1} / {:.1} | {:.1} / {:.1} / {:.1} | {:.0} | {} | {} | {} ({:.2} %) | {} | {} | {} ({}) | {} | {:.0} | {} | {:.0} |",
            self.params.agents,
            self.params.lambda.concurrency,
            paced,
            self.events,
            self.writes_needed,
            self.lag.p50,
            self.lag.p99,
            self.lag.max,
            self.ideal.p50,
            self.ideal.p99,
            self.ideal.max,
            self.burst_over_rate_s,
            ratio,
            self.graph_calls,
            self.graph_429,
            self.share_429() * 100.0,
            self.lambda.dead_lettered,
            self.never_shown,
            self.lambda.invocations,
            self.lambda.failed,
            self.dynamo_calls,
            self.billed_ms(),
            self.wrong_at_end,
            self.wall.as_secs_f64(),
        )
    }
}
