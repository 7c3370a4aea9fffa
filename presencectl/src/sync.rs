//! `presencectl sync`: one agent reconciled now (`PresenceSync::reconcile_user`), or a whole
//! reconcile pass run from here (`Reconciler::run`, one short run after another under the same
//! run lease as the scheduled function, so the two never work at once).

use crate::agent::resolve;
use crate::deployment::Deployment;
use crate::output::{Answer, DOCTOR_FIX, fields, with_fix};
use presence_core::app::Parts;
use presence_core::app::Reconciler;
use presence_core::domain::reconcile::DriftPolicy;
use presence_core::service::Invocation;
use presence_core::service::reconcile::{PassOutcome, PassReport};
use serde::Serialize;
use std::time::{Duration, SystemTime};

/// How long one run from here lasts: short, so an interrupt loses at most one page (the
/// position is saved after every page, and the progress line moves with each).
const RUN: Duration = Duration::from_secs(20);
/// Runs after which `--all` gives up (a pass over 100,000 users takes a few dozen).
const MAX_RUNS: u32 = 1_000;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Synced {
    /// `one` or `all`.
    pub scope: &'static str,
    pub genesys_user_id: Option<String>,
    /// What was done, counted as a reconcile pass counts it.
    pub report: PassReport,
    /// Runs made (`--all`).
    pub runs: u32,
    /// Why the pass stopped before its end (`--all`), when it did.
    pub stopped: Option<String>,
}

fn invocation() -> Invocation {
    Invocation {
        request_id: format!("presencectl-{}", uuid::Uuid::new_v4().simple()),
        deadline: SystemTime::now() + RUN,
    }
}

fn reconciler(deployment: &Deployment) -> Result<Reconciler, String> {
    let config = deployment.reconcile_config()?;
    Reconciler::build_with(config, &deployment.aws).map_err(|e| {
        with_fix(
            e,
            "correct the reconcile function's stack parameters and make deploy",
        )
    })
}

/// Reconciles one agent now.
pub async fn one(deployment: &Deployment, agent: &str) -> Result<Synced, String> {
    let config = deployment.config()?;
    let user = resolve(&Parts::new(config, &deployment.aws), config, agent).await?;
    let mut reconciler = reconciler(deployment)?;
    // An operator who asks for one agent wants Teams repaired, whatever the scheduled passes
    // do with drift (DRIFT_POLICY=report only counts it).
    reconciler.settings.rules.drift = DriftPolicy::Repair;
    let report = reconciler
        .sync
        .reconcile_user(
            &reconciler.genesys,
            &reconciler.teams,
            &reconciler.shared,
            &reconciler.settings,
            &user,
            &invocation(),
        )
        .await
        .map_err(|e| {
            with_fix(
                format!("reconciling {user}: {e} ({})", e.kind()),
                DOCTOR_FIX,
            )
        })?;
    Ok(Synced {
        scope: "one",
        genesys_user_id: Some(user.to_string()),
        report,
        runs: 1,
        stopped: None,
    })
}

/// Runs a reconcile pass to its end.
pub async fn all(deployment: &Deployment, json: bool) -> Result<Synced, String> {
    let reconciler = reconciler(deployment)?;
    let bar = if json {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new_spinner()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {elapsed} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let mut total = PassReport::default();
    let mut runs = 0;
    let mut stopped = None;
    while runs < MAX_RUNS {
        runs += 1;
        let before = total.scanned;
        let watch = |report: &PassReport| {
            let users = before + report.scanned;
            bar.set_message(format!("run {runs}: {users} users reconciled so far"));
        };
        watch(&PassReport::default());
        match reconciler.run_watched(&invocation(), &watch).await {
            Ok(PassOutcome::Worked(report)) => {
                add(&mut total, &report);
                if report.walk_completed {
                    break;
                }
                if report.yielded {
                    stopped = Some("yielded to a burst of events (a shift start): run it again in a few minutes; the pass goes on from where it stopped".into());
                    break;
                }
            }
            Ok(PassOutcome::HeldByAnother { until_ms }) => {
                stopped = Some(format!(
                    "another reconcile run (the scheduled function) holds the run lease until {}: it goes on with the pass",
                    crate::output::instant(until_ms)
                ));
                break;
            }
            Err(error) => {
                bar.finish_and_clear();
                return Err(format!(
                    "reconcile run {runs} failed: {error} ({})",
                    error.kind()
                ));
            }
        }
    }
    if runs == MAX_RUNS && !total.walk_completed {
        stopped = Some(format!("stopped after {MAX_RUNS} runs"));
    }
    bar.finish_and_clear();
    Ok(Synced {
        scope: "all",
        genesys_user_id: None,
        report: total,
        runs,
        stopped,
    })
}

fn add(total: &mut PassReport, run: &PassReport) {
    total.scanned += run.scanned;
    total.recovered += run.recovered;
    total.backfilled += run.backfilled;
    total.settled += run.settled;
    total.kept_alive += run.kept_alive;
    total.drift_found += run.drift_found;
    total.drift_repaired += run.drift_repaired;
    total.no_session += run.no_session;
    total.poisoned_repaired += run.poisoned_repaired;
    total.poisoned_left += run.poisoned_left;
    total.failed += run.failed;
    total.walk_completed |= run.walk_completed;
    total.sweep_completed |= run.sweep_completed;
    total.yielded |= run.yielded;
}

impl Answer for Synced {
    fn text(&self) -> String {
        let r = &self.report;
        let head = match (&self.genesys_user_id, self.problem()) {
            (Some(user), false) => format!("✓ {user} reconciled\n"),
            (Some(user), true) => format!(
                "✗ {user}: the action failed (the error is logged above); the record is left for the next pass\n"
            ),
            (None, false) => format!("✓ reconcile pass done in {} runs\n", self.runs),
            (None, true) => format!(
                "✗ reconcile pass: {}\n",
                self.stopped
                    .as_deref()
                    .unwrap_or("some users failed (logged above)")
            ),
        };
        let rows = [
            ("users", r.scanned.to_string()),
            (
                "recovered",
                format!("{} (Genesys held a newer state: a lost event)", r.recovered),
            ),
            ("backfilled", r.backfilled.to_string()),
            (
                "settled",
                format!("{} (dirty records re-applied)", r.settled),
            ),
            (
                "drift",
                format!("{} found, {} repaired", r.drift_found, r.drift_repaired),
            ),
            ("kept alive", r.kept_alive.to_string()),
            ("no session", r.no_session.to_string()),
            (
                "poisoned",
                format!("{} repaired, {} left", r.poisoned_repaired, r.poisoned_left),
            ),
            ("failed", r.failed.to_string()),
        ];
        head + &fields(&rows)
    }

    fn problem(&self) -> bool {
        self.report.failed > 0 || self.stopped.is_some()
    }
}
