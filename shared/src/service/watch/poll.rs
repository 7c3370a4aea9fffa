//! The polls of one run: the roster's Teams ids in batches of Graph's largest bulk read,
//! spread evenly over the poll period on the process's schedule (each agent read once a
//! period, across runs too; the Graph share spent evenly), each batch glanced at and the
//! agents whose activity or record changed queued for a closer look ([`super::looks`]).

use super::Run;
use super::looks::{Candidate, Cause};
use super::schedule::Schedule;
use super::shared::{Seen, lock};
use crate::domain::ids::{GenesysUserId, TeamsUserId};
use crate::domain::presence::Observed;
use crate::domain::watch::look::{Glance, needs_look};
use crate::domain::watch::{Steady, TeamsActivity};
use crate::metrics;
use crate::ports::{
    Budget, GenesysBulk, GenesysPresence, PresenceReader, PresenceWriter, RecordScan, RemoteError,
    StateStore, TeamsDirectory, TeamsIdCache,
};
use crate::service::PresenceSync;
use std::collections::HashMap;
use tokio::time::Instant;
use tracing::warn;

impl<S, C, D, W> PresenceSync<S, C, D, W>
where
    S: StateStore + RecordScan,
    C: TeamsIdCache,
    D: TeamsDirectory,
    W: PresenceWriter,
{
    /// Polls the roster, a batch at a time on the process's schedule ([`Schedule`]), until
    /// the run's time is spent; while its roster finds the event path in a burst the slots
    /// pass unread. The batches of a cycle are those of the roster at its start.
    pub(super) async fn poll_until_done<G, R>(&self, run: &mut Run<'_, G, R>)
    where
        G: GenesysBulk + GenesysPresence,
        R: PresenceReader,
    {
        let period = run.settings.period;
        let mut batches = run.batches();
        let mut cycle = None;
        loop {
            let mut schedule = *lock(&run.shared.schedule)
                .get_or_insert_with(|| Schedule::anchored(Instant::now()));
            let mut slot = schedule.next(period, batches.len(), Instant::now());
            if cycle.is_some_and(|c| c != slot.cycle) {
                batches = run.batches();
                slot = schedule.next(period, batches.len(), Instant::now());
            }
            cycle = Some(slot.cycle);
            if slot.at >= run.until {
                return;
            }
            tokio::time::sleep_until(slot.at).await;
            // While the run yields Graph to the event path its slots pass unread; a later walk
            // that finds the burst over ends the yield.
            let yielding = run.shared.yielding();
            if !yielding && run.shared.graph.ready_before(run.until).await.is_err() {
                return;
            }
            schedule.polled(slot.at);
            *lock(&run.shared.schedule) = Some(schedule);
            if yielding {
                continue;
            }
            if let Some(batch) = batches.get(slot.batch) {
                self.poll_batch(run, batch.clone()).await;
            }
        }
    }

    /// One bulk read of Teams presence and what follows from it.
    async fn poll_batch<G, R>(
        &self,
        run: &mut Run<'_, G, R>,
        batch: Vec<(GenesysUserId, TeamsUserId)>,
    ) where
        G: GenesysBulk + GenesysPresence,
        R: PresenceReader,
    {
        let ids: Vec<TeamsUserId> = batch.iter().map(|(_, t)| t.clone()).collect();
        let budget = run.call_budget();
        run.report.polls += 1;
        metrics::watch_poll();
        let answers = match run.teams.read(&ids, budget).await {
            Ok(answers) => answers,
            Err(error) => return run.read_failed(&error, "graph-read"),
        };
        let seen_at = self.now_ms();
        let shown: HashMap<TeamsUserId, String> =
            answers.into_iter().map(|t| (t.user, t.activity)).collect();
        let candidates: Vec<Candidate> = batch
            .into_iter()
            .filter_map(|(user, teams)| {
                let activity = TeamsActivity::observe(shown.get(&teams)?);
                run.glance(user, activity, seen_at)
            })
            .collect();
        run.shared.looks.add(candidates);
    }
}

impl<G, R: PresenceReader> Run<'_, G, R> {
    /// The roster's Teams ids in batches of Graph's largest bulk read.
    fn batches(&mut self) -> Vec<Vec<(GenesysUserId, TeamsUserId)>> {
        let watched = self.shared.watched();
        self.report.watched = watched.len() as u64;
        watched
            .chunks(R::MAX_USERS.max(1))
            .map(<[_]>::to_vec)
            .collect()
    }
}

impl<G, R> Run<'_, G, R> {
    /// The budget of one read or write: [`crate::policy::WATCH_CALL_TIME`], within the run.
    pub(super) fn call_budget(&self) -> Budget {
        Budget {
            until: self
                .until
                .min(Instant::now() + crate::policy::WATCH_CALL_TIME),
        }
    }

    /// A read that failed: counted, and a throttled remote's wait honoured by its pace.
    pub(super) fn read_failed(&mut self, error: &RemoteError, kind: &'static str) {
        warn!(error = %error, "a watcher read failed; those agents are read again next period");
        self.report.failed += 1;
        metrics::watch_failed(kind);
        if let RemoteError::Throttled {
            retry_after_secs: Some(secs),
            service,
            ..
        } = error
        {
            let pace = match service {
                crate::ports::Service::Graph => &self.shared.graph,
                _ => &self.shared.genesys,
            };
            pace.hold(std::time::Duration::from_secs(*secs));
        }
    }

    /// Notes what Teams shows of `user` (a change, and since when it lasts) and whether the
    /// agent needs a closer look.
    fn glance(
        &mut self,
        user: GenesysUserId,
        activity: Observed<TeamsActivity>,
        now_ms: i64,
    ) -> Option<Candidate> {
        let concrete = self.shared.concrete()?;
        let rules = &concrete.rules;
        let since_ms = {
            let mut seen = lock(&self.shared.seen);
            let entry = seen.entry(user.clone()).or_insert_with(|| Seen {
                activity: activity.clone(),
                since_ms: now_ms,
            });
            if entry.activity != activity {
                self.report.changes += 1;
                metrics::teams_changes(1);
                *entry = Seen {
                    activity: activity.clone(),
                    since_ms: now_ms,
                };
            }
            entry.since_ms
        };
        let debounce = self.settings.debounce.as_millis() as i64;
        let steady = if now_ms.saturating_sub(since_ms) >= debounce {
            Steady::Yes
        } else {
            Steady::NotYet
        };
        let mapped = matches!(&activity, Observed::Known(a) if rules.take_to(*a).is_some());
        let roster = lock(&self.shared.roster);
        let member = roster.members.get(&user)?;
        let looked = lock(&self.shared.looked);
        let glance = Glance {
            activity: &activity,
            mapped,
            steady,
            rev: member.rev,
            mark: member.mark.as_ref(),
        };
        let last = looked.get(&user);
        let same = last.is_some_and(|l| l.activity == activity && l.steady == steady);
        let cause = if same {
            Cause::RecordChange
        } else {
            Cause::TeamsChange
        };
        needs_look(&glance, last).then(|| Candidate {
            user: user.clone(),
            activity: activity.clone(),
            steady,
            seen_at: now_ms,
            cause,
        })
    }
}
