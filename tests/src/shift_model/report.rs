//! A run's figures: the lag from each Genesys change to Teams showing what it asks for (or
//! what a newer change asks for, while that is the newest), the ideal writer's lag for the
//! same changes, Graph's 429s, Lambda's counts, DynamoDB calls and billed time; whether every
//! agent ends showing what it should; and what the reconciler did, when it ran.

use super::figures::Figures;
use super::genesys_calls::GenesysCalls;
use super::graph::GraphTenant;
use super::ideal::burst_over_rate_s;
pub use super::lag::Lags;
use super::lag::{expected, ideal_per_agent, measure, shown_per_agent};
use super::lambda::LambdaCounts;
use super::lapse::lapsed;
use super::prior::Before;
use super::run::Params;
use super::scoped::ScopeFigures;
use super::workload::{Change, Workload};
use presence_core::domain::ids::TeamsUserId;
use std::time::Duration;
use tokio::time::Instant;

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
    /// The event path's Graph requests, and of those the 429s.
    pub graph_calls: u64,
    pub graph_429: u64,
    /// What the reconciler did, when it ran.
    pub reconciler: Option<Figures>,
    /// The scoped case's figures (issue 21); the lag, lapse and end figures above are then the
    /// agents' in scope.
    pub scope: Option<ScopeFigures>,
    /// What the watcher did, when it ran.
    pub watcher: Option<super::watch_figures::WatchFigures>,
    /// Agents whose preferred presence went longer than `PRESENCE_EXPIRATION` without a write
    /// before `Params::watched_until_s` (Graph let it lapse: Teams showed their own presence
    /// until the next).
    pub lapsed: usize,
    pub lambda: LambdaCounts,
    pub dynamo_calls: usize,
    pub directory_lookups: usize,
    /// Agents whose Teams presence at the end is not what their last change maps to.
    pub wrong_at_end: usize,
    /// Virtual time when the last event was done, seconds after 07:50.
    pub drained_s: f64,
    pub wall: Duration,
}

/// What a run leaves to be measured.
pub struct Observed<'a> {
    pub params: Params,
    pub workload: &'a Workload,
    pub tenant: &'a GraphTenant,
    pub lambda: &'a LambdaCounts,
    pub dynamo_calls: usize,
    pub directory_lookups: usize,
    pub zero: Instant,
    pub wall: Duration,
    /// The floor before the hour.
    pub before: &'a Before,
    pub reconciler: Option<Figures>,
    pub genesys_calls: &'a GenesysCalls,
    pub watcher: Option<super::watch_figures::WatchFigures>,
}

impl Report {
    pub fn new(observed: Observed<'_>) -> Report {
        let Observed {
            params,
            workload,
            tenant,
            lambda,
            dynamo_calls,
            directory_lookups,
            zero,
            wall,
            before,
            reconciler,
            genesys_calls,
            watcher,
        } = observed;
        let scope =
            (params.scope).map(|s| ScopeFigures::measure(s, workload, genesys_calls, tenant));
        let events = workload.changes.len();
        // Scoped, what Teams shows is measured for the agents in scope.
        let in_scope = params.scope.map_or(workload.agents.len(), |s| s.in_scope);
        let workload = &workload.first(in_scope);
        let before = &before.first(in_scope);
        let teams: Vec<TeamsUserId> = workload
            .agents
            .iter()
            .map(|a| TeamsUserId::parse(&a.teams).expect("a UUID"))
            .collect();
        let shown_from = shown_per_agent(&teams, tenant, params.prior, before, zero);
        let (ideal_from, needed_times) = ideal_per_agent(workload, &params.graph);
        let measured = measure(workload, &shown_from, &ideal_from);
        let in_burst = needed_times.iter().filter(|t| **t <= 15 * 60_000).count();
        let limit = params.graph.limit;
        let final_shown = workload.final_shown();
        let wrong_at_end = teams
            .iter()
            .zip(&final_shown)
            .filter(|(t, s)| tenant.shown(t) != expected(**s))
            .count();
        let counts = tenant.counts();
        let watched_s = params.watched_until_s();
        let watched_ms = (watched_s * 1000.0) as i64;
        let lapsed = lapsed(&shown_from, params.expiry.as_millis() as i64, watched_ms);
        let reconciler = reconciler.map(|f| f.measure_floor(&shown_from, watched_s));
        Report {
            params,
            events,
            writes_needed: needed_times.len(),
            lag: measured.lag,
            never_shown: measured.never_shown,
            worst: measured.worst,
            ideal: measured.ideal,
            burst_over_rate_s: burst_over_rate_s(
                in_burst,
                limit,
                params.graph.window.as_secs_f64(),
            ),
            graph_calls: counts.calls,
            graph_429: counts.throttled,
            reconciler,
            scope,
            watcher,
            lapsed,
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
