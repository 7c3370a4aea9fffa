//! The lag measure, as an agent's colleagues see it: for each change that changes what Teams
//! should show, the time from the change to the first moment Teams shows what it asks for (or
//! what a newer change of the agent asks for, while that is the newest); for the run's writes
//! and for the ideal writer's.

use super::graph::{GraphParams, GraphTenant};
use super::ideal::ideal_lags;
use super::prior::{self, Before, Prior};
use super::workload::{Change, Shown, Workload};
use presence_core::domain::ids::TeamsUserId;
use presence_core::domain::teams::{TeamsPresence, TeamsState};
use std::collections::HashMap;
use tokio::time::Instant;

/// Per agent: what Teams was set to from when (ms after model time zero), in time order.
pub type ShownFrom = Vec<Vec<(i64, TeamsState)>>;

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

pub fn expected(shown: Option<Shown>) -> TeamsState {
    match shown {
        None | Some(Shown::Cleared) => TeamsState::Cleared,
        Some(Shown::Available) => TeamsState::Preferred(TeamsPresence::Available),
        Some(Shown::Busy) => TeamsState::Preferred(TeamsPresence::Busy),
        Some(Shown::Away) => TeamsState::Preferred(TeamsPresence::Away),
    }
}

/// What Teams showed from when, per agent of `teams`: what it showed before the hour, then
/// every write that landed, whoever sent it.
pub fn shown_per_agent(
    teams: &[TeamsUserId],
    tenant: &GraphTenant,
    prior: Prior,
    before: &Before,
    zero: Instant,
) -> ShownFrom {
    let agent_of: HashMap<&TeamsUserId, usize> =
        teams.iter().enumerate().map(|(i, t)| (t, i)).collect();
    let mut shown_from: ShownFrom = vec![Vec::new(); teams.len()];
    if let Some(state) = prior::shown(prior) {
        for (shown, at) in shown_from.iter_mut().zip(&before.applied_at_ms) {
            shown.extend(at.map(|at| (at, state)));
        }
    }
    // (A write to a user not among `teams`, one out of a scoped run's scope, is counted
    // apart: `scoped::ScopeFigures`.)
    for write in tenant.landed() {
        let at = write.at.duration_since(zero).as_millis() as i64;
        if let Some(agent) = agent_of.get(&write.teams) {
            shown_from[*agent].push((at, write.state));
        }
    }
    for writes in &mut shown_from {
        writes.sort_by_key(|(at, _)| *at);
    }
    shown_from
}

/// The ideal writer: every change that must reach Teams written in time order at the first
/// moment the tenant's window has room; what it shows per agent, and the needed changes'
/// times.
pub fn ideal_per_agent(workload: &Workload, graph: &GraphParams) -> (ShownFrom, Vec<i64>) {
    let mut needed: Vec<Change> = workload
        .changes
        .iter()
        .filter(|c| c.needs_write)
        .copied()
        .collect();
    needed.sort_by_key(|c| (c.at_ms, c.agent));
    let times: Vec<i64> = needed.iter().map(|c| c.at_ms).collect();
    let window_ms = graph.window.as_millis() as i64;
    let mut ideal_from: ShownFrom = vec![Vec::new(); workload.agents.len()];
    for (change, wait) in needed
        .iter()
        .zip(ideal_lags(&times, graph.limit, window_ms))
    {
        ideal_from[change.agent as usize].push((change.at_ms + wait, expected(change.shown)));
    }
    for writes in &mut ideal_from {
        writes.sort_by_key(|(at, _)| *at);
    }
    (ideal_from, times)
}

/// The lags of a run and of the ideal writer.
pub struct Measured {
    pub lag: Lags,
    pub ideal: Lags,
    pub never_shown: usize,
    /// The change with the largest lag: (lag ms, the change).
    pub worst: Option<(i64, Change)>,
}

/// Measures every change that must reach Teams against what Teams showed (`shown_from`) and
/// what the ideal writer would have shown (`ideal_from`).
pub fn measure(workload: &Workload, shown_from: &ShownFrom, ideal_from: &ShownFrom) -> Measured {
    let mut changes_of: Vec<Vec<Change>> = vec![Vec::new(); workload.agents.len()];
    for change in &workload.changes {
        changes_of[change.agent as usize].push(*change);
    }
    let (mut lags, mut ideal) = (Vec::new(), Vec::new());
    let mut never_shown = 0;
    let mut worst: Option<(i64, Change)> = None;
    for (agent, changes) in changes_of.iter().enumerate() {
        for (i, change) in changes.iter().enumerate().filter(|(_, c)| c.needs_write) {
            if let Some(at) = first_shown(&changes[i..], &ideal_from[agent]) {
                ideal.push(at - change.at_ms);
            }
            match first_shown(&changes[i..], &shown_from[agent]) {
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
    Measured {
        lag: Lags::of(lags),
        ideal: Lags::of(ideal),
        never_shown,
        worst,
    }
}
