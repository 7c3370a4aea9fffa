//! A closer look at the agents the polls picked: their records and Genesys state read in
//! bulk (at the watcher's Genesys pace, [`super::looks`]), each decided, and the decision carried out: the
//! provenance mark written before every Genesys write, so that the event the write causes is
//! recognised as ours.

use super::Run;
use super::looks::Candidate;
use super::shared::lock;
use super::write::Acted;
use crate::domain::ids::GenesysUserId;
use crate::domain::state::{Recorded, UserState};
use crate::domain::teams::TeamsState;
use crate::domain::watch::look::Looked;
use crate::domain::watch::{Action, Phase, Policy, Situation, TeamsHeld, WatchMark, decide};
use crate::metrics;
use crate::ports::{
    GenesysBulk, GenesysNow, GenesysPresence, PresenceReader, PresenceWriter, RecordScan,
    StateStore, TeamsDirectory, TeamsIdCache,
};
use crate::service::PresenceSync;
use futures_util::StreamExt;
use std::collections::HashMap;
use tracing::{info, warn};

/// Decisions carried out at once: their store and Genesys calls overlap, so that the
/// watcher's Genesys share, not the calls' latency, sets its pace.
const ACTS_AT_ONCE: usize = 8;

impl<S, C, D, W> PresenceSync<S, C, D, W>
where
    S: StateStore + RecordScan,
    C: TeamsIdCache,
    D: TeamsDirectory,
    W: PresenceWriter,
{
    /// Reads the candidates' records and Genesys state (one bulk read, at most
    /// [`GenesysBulk::MAX_USERS`], its slot of the Genesys share taken by the caller),
    /// decides for each, and acts.
    pub(super) async fn look_at<G, R>(&self, run: &mut Run<'_, G, R>, candidates: Vec<Candidate>)
    where
        G: GenesysBulk + GenesysPresence,
        R: PresenceReader,
    {
        let users: Vec<GenesysUserId> = candidates.iter().map(|c| c.user.clone()).collect();
        let records = match tokio::time::timeout_at(run.until, self.store.read_many(&users)).await {
            Ok(Ok(records)) => records,
            _ => {
                run.report.failed += 1;
                return metrics::watch_failed("store");
            }
        };
        note_records(run, &records);
        let genesys: HashMap<GenesysUserId, GenesysNow> =
            match run.genesys.current(&users, run.call_budget()).await {
                Ok(found) => found.into_iter().map(|g| (g.user.clone(), g)).collect(),
                Err(error) => return run.read_failed(&error, "genesys-read"),
            };
        let Some(concrete) = run.shared.concrete() else {
            return;
        };
        let mut decided = Vec::new();
        for candidate in candidates {
            let (Some(record), Some(now)) =
                (records.get(&candidate.user), genesys.get(&candidate.user))
            else {
                continue;
            };
            if !now.account.is_active() || record.left.is_some() {
                continue;
            }
            let situation = Situation {
                teams: &candidate.activity,
                held: held(record),
                genesys: &now.observation,
                mark: record.watch.as_ref(),
                steady: candidate.steady,
                now_ms: self.now_ms(),
            };
            let policy = Policy {
                on_queue: run.settings.on_queue,
                rules: &concrete.rules,
                in_flight_ms: crate::policy::WATCH_IN_FLIGHT.as_millis() as i64,
            };
            decided.push((decide(&situation, &policy), candidate, record));
        }
        run.report.looked += decided.len() as u64;
        self.act_on(run, decided).await;
    }

    /// Carries out the decisions, [`ACTS_AT_ONCE`] at a time (their Genesys writes still
    /// one per slot of the share), and notes each agent as looked at.
    async fn act_on<G, R>(
        &self,
        run: &mut Run<'_, G, R>,
        decided: Vec<(Action, Candidate, &UserState)>,
    ) where
        G: GenesysBulk + GenesysPresence,
        R: PresenceReader,
    {
        let base: &Run<'_, G, R> = run;
        let acts = futures_util::stream::iter(decided).map(|(action, candidate, record)| {
            let mut fork = base.fork();
            async move {
                let (user, seen_at) = (&candidate.user, candidate.seen_at);
                let acted = self
                    .watch_act(&mut fork, user, record, action, seen_at)
                    .await;
                (candidate, acted, fork.report)
            }
        });
        let done: Vec<_> = acts.buffer_unordered(ACTS_AT_ONCE).collect().await;
        for (candidate, acted, report) in done {
            run.report.absorb_looks(report);
            let rev = match acted {
                Acted::Rev(rev) => rev,
                Acted::NoSlot => {
                    run.shared.looks.put_back(candidate);
                    continue;
                }
            };
            let looked = Looked {
                activity: candidate.activity,
                steady: candidate.steady,
                rev,
            };
            lock(&run.shared.looked).insert(candidate.user, looked);
        }
    }

    /// Carries out one decision; the record's revision after it (a write of ours that was
    /// refused leaves the revision unknown: 0, so that the agent is looked at again), or no
    /// Genesys slot within the run.
    async fn watch_act<G, R>(
        &self,
        run: &mut Run<'_, G, R>,
        user: &GenesysUserId,
        record: &UserState,
        action: Action,
        seen_at: i64,
    ) -> Acted
    where
        G: GenesysBulk + GenesysPresence,
        R: PresenceReader,
    {
        let now = self.now_ms();
        let mark = record.watch.as_ref();
        let next = match action {
            Action::TakeOff {
                activity,
                to,
                restore_to,
            } => {
                let mark = WatchMark {
                    activity,
                    set_definition: to.definition_id.clone(),
                    message: to.message.clone(),
                    restore_to,
                    phase: Phase::Taking { at_ms: now },
                };
                return self.take_off(run, user, record, mark, seen_at).await;
            }
            Action::Restore(_) => return self.restore(run, user, record, seen_at).await,
            Action::Confirm(version) => {
                run.report.confirmed += 1;
                mark.map(|m| {
                    m.with_phase(Phase::Held {
                        at_ms: now,
                        version,
                    })
                })
            }
            Action::Overridden => {
                run.report.overridden += 1;
                metrics::watch_overridden();
                info!(genesysUserId = %user, "the agent's Genesys presence changed while the watcher held it: theirs wins, nothing is restored");
                mark.and_then(|m| {
                    Some(m.with_phase(Phase::Overridden {
                        at_ms: now,
                        version: m.phase.version()?,
                    }))
                })
            }
            Action::Forget => {
                run.report.forgotten += 1;
                None
            }
            Action::Hold => return Acted::Rev(record.rev),
            Action::Skip(skip) => {
                run.skipped(skip);
                return Acted::Rev(record.rev);
            }
        };
        let after = self.set_mark(run, user, record, next.as_ref()).await;
        Acted::Rev(after.map_or(0, |r| r.rev))
    }

    /// Writes `mark` on the record as read; the record after, or `None` when it changed
    /// since (the agent is looked at again next poll).
    pub(super) async fn set_mark<G, R>(
        &self,
        run: &mut Run<'_, G, R>,
        user: &GenesysUserId,
        read: &UserState,
        mark: Option<&WatchMark>,
    ) -> Option<UserState> {
        let now = self.now_ms();
        let write = self.store.set_watch(user, read, mark, now);
        match tokio::time::timeout_at(run.until, write).await {
            Ok(Ok(Recorded::Accepted { before })) => {
                let after = before.after_set_watch(before.rev, mark, now);
                if let Some(after) = &after {
                    let mut roster = lock(&run.shared.roster);
                    if let Some(member) = roster.members.get_mut(user) {
                        member.rev = after.rev;
                        member.mark = after.watch.clone();
                    }
                }
                after
            }
            Ok(Ok(Recorded::Refused { .. })) => None,
            Ok(Err(error)) => {
                warn!(genesysUserId = %user, error = %error, "the watcher could not write its mark");
                run.report.failed += 1;
                metrics::watch_failed("store");
                None
            }
            Err(_) => None,
        }
    }
}

impl<G, R> Run<'_, G, R> {
    /// An agent left alone by a rule (counted by rule; `no-activity` is not counted).
    fn skipped(&mut self, skip: crate::domain::watch::Skip) {
        if skip != crate::domain::watch::Skip::NoActivity {
            *self.report.skipped.entry(skip.as_str()).or_default() += 1;
            metrics::watch_skipped(skip.as_str());
        }
    }
}

/// The records as read into the roster, so that the polls compare what they look at with
/// them (not with the last walk's: a record the event path changed since would otherwise
/// be looked at again every poll until the next walk).
fn note_records<G, R>(run: &Run<'_, G, R>, records: &HashMap<GenesysUserId, UserState>) {
    let mut roster = lock(&run.shared.roster);
    for (user, record) in records {
        if let Some(member) = roster.members.get_mut(user) {
            member.rev = record.rev;
            member.mark = record.watch.clone();
        }
    }
}

/// Whether Teams shows something of ours for the agent: a preferred presence we hold, or a
/// write of ours that may be in flight.
fn held(record: &UserState) -> TeamsHeld {
    if record.applied() != TeamsState::Cleared || record.dirty() {
        TeamsHeld::Ours
    } else {
        TeamsHeld::Nothing
    }
}
