//! The agents the polls picked for a closer look, gathered across batches: one Genesys bulk
//! read (up to its id limit) serves every agent picked while the last look was carried out
//! or the Genesys share had no slot, and within [`crate::policy::WATCH_LOOK_WINDOW`] of the
//! first; Teams changes are looked at before the records a walk found changed. The polls never wait for Genesys: they keep their schedule while the looks queue.

use super::Run;
use super::shared::lock;
use crate::domain::ids::GenesysUserId;
use crate::domain::presence::Observed;
use crate::domain::watch::{Steady, TeamsActivity};
use crate::ports::{
    GenesysBulk, GenesysPresence, PresenceReader, PresenceWriter, RecordScan, StateStore,
    TeamsDirectory, TeamsIdCache,
};
use crate::service::PresenceSync;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::Notify;
use tokio::time::Instant;

/// An agent a poll picked: what Teams showed, whether it lasted the debounce, when the poll
/// saw it (ms since the epoch), and why it is looked at.
#[derive(Clone, Debug)]
pub(super) struct Candidate {
    pub user: GenesysUserId,
    pub activity: Observed<TeamsActivity>,
    pub steady: Steady,
    pub seen_at: i64,
    pub cause: Cause,
}

/// Why an agent is looked at, in the order they are looked at: a Teams change first (its lag
/// is the watcher's target), then what a walk of the records found changed (a minute's
/// worth of Genesys changes at once, which would otherwise hold the Teams changes back).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Cause {
    TeamsChange,
    RecordChange,
}

/// The candidates waiting for a look, one per agent (the latest glance), and whether the
/// run's polls are over.
#[derive(Debug, Default)]
pub(super) struct Looks {
    waiting: Mutex<Waiting>,
    arrived: Notify,
    polls_over: AtomicBool,
}

#[derive(Debug, Default)]
struct Waiting {
    candidates: BTreeMap<GenesysUserId, Candidate>,
    /// When the first of them arrived.
    since: Option<Instant>,
    /// The agents being looked at now, as they were picked: a poll that sees them the same
    /// meanwhile adds nothing (the look under way decides for it).
    acting: HashMap<GenesysUserId, (Observed<TeamsActivity>, Steady)>,
}

impl Looks {
    /// A new run's: what an earlier run of the process left waiting (its time or its
    /// Genesys share ran out) is looked at first.
    pub fn start(&self) {
        lock(&self.waiting).acting.clear();
        self.polls_over.store(false, Ordering::Relaxed);
    }

    /// A candidate taken but not acted on for want of a Genesys slot: it waits again, due at
    /// once, unless a poll has seen the agent since.
    pub fn put_back(&self, candidate: Candidate) {
        let mut waiting = lock(&self.waiting);
        waiting.since.get_or_insert_with(Instant::now);
        if !waiting.candidates.contains_key(&candidate.user) {
            waiting.candidates.insert(candidate.user.clone(), candidate);
        }
    }

    /// Adds a poll's candidates; an agent already waiting keeps the moment it was first seen
    /// in the same activity.
    pub fn add(&self, candidates: Vec<Candidate>) {
        if candidates.is_empty() {
            return;
        }
        let mut waiting = lock(&self.waiting);
        waiting.since.get_or_insert_with(Instant::now);
        for candidate in candidates {
            let picked = (candidate.activity.clone(), candidate.steady);
            if waiting.acting.get(&candidate.user) == Some(&picked) {
                continue;
            }
            let (seen_at, cause) = match waiting.candidates.get(&candidate.user) {
                Some(before) if before.activity == candidate.activity => {
                    (before.seen_at, before.cause.min(candidate.cause))
                }
                _ => (candidate.seen_at, candidate.cause),
            };
            let candidate = Candidate {
                seen_at,
                cause,
                ..candidate
            };
            waiting.candidates.insert(candidate.user.clone(), candidate);
        }
        drop(waiting);
        self.arrived.notify_one();
    }

    /// The run's polls are over: the looks end once nothing waits.
    pub fn polls_over(&self) {
        self.polls_over.store(true, Ordering::Relaxed);
        self.arrived.notify_one();
    }

    /// The look at the last candidates taken is over.
    fn looked(&self) {
        lock(&self.waiting).acting.clear();
    }

    /// When the first waiting candidate arrived, if any waits.
    fn first_since(&self) -> Option<Instant> {
        lock(&self.waiting).since
    }

    /// Up to `limit` waiting candidates, of them at most `records` record changes: Teams
    /// changes first, each kind the oldest first.
    fn take(&self, limit: usize, records: usize) -> Vec<Candidate> {
        let mut waiting = lock(&self.waiting);
        let mut oldest: Vec<(Cause, i64, &GenesysUserId)> = (waiting.candidates.values())
            .map(|c| (c.cause, c.seen_at, &c.user))
            .collect();
        oldest.sort_unstable();
        let teams = oldest.partition_point(|(cause, _, _)| *cause == Cause::TeamsChange);
        let users: Vec<GenesysUserId> = (oldest.into_iter().take(limit.min(teams + records)))
            .map(|(_, _, user)| user.clone())
            .collect();
        let taken: Vec<Candidate> = (users.iter())
            .filter_map(|user| waiting.candidates.remove(user))
            .collect();
        waiting.acting = (taken.iter())
            .map(|c| (c.user.clone(), (c.activity.clone(), c.steady)))
            .collect();
        // Those left (more than a bulk read holds) are due at once, as they were.
        if waiting.candidates.is_empty() {
            waiting.since = None;
        }
        taken
    }
}

impl<S, C, D, W> PresenceSync<S, C, D, W>
where
    S: StateStore + RecordScan,
    C: TeamsIdCache,
    D: TeamsDirectory,
    W: PresenceWriter,
{
    /// Looks at the waiting candidates, a bulk read's worth at a time, until the polls are
    /// over and nothing waits, or the run's time is spent.
    pub(super) async fn look_until_done<G, R>(&self, run: &mut Run<'_, G, R>)
    where
        G: GenesysBulk + GenesysPresence,
        R: PresenceReader,
    {
        let looks = &run.shared.looks;
        loop {
            let Some(since) = looks.first_since() else {
                if looks.polls_over.load(Ordering::Relaxed) {
                    return;
                }
                let wait = tokio::time::timeout_at(run.until, looks.arrived.notified());
                if wait.await.is_err() {
                    return;
                }
                continue;
            };
            let window = (since + crate::policy::WATCH_LOOK_WINDOW).min(run.until);
            tokio::time::sleep_until(window).await;
            if run.shared.genesys.ready_before(run.until).await.is_err() {
                return;
            }
            let records = record_changes_per_look(run.settings.genesys_per_minute);
            let candidates = looks.take(G::MAX_USERS.max(1), records);
            if !candidates.is_empty() {
                self.look_at(run, candidates).await;
            }
            looks.looked();
        }
    }
}

/// How many of the records a walk found changed one look takes: the writes the share makes in
/// [`crate::policy::WATCH_RECORD_LOOK`], at least one.
fn record_changes_per_look(genesys_per_minute: u32) -> usize {
    let per_look = u64::from(genesys_per_minute) * crate::policy::WATCH_RECORD_LOOK.as_secs() / 60;
    usize::try_from(per_look.max(1)).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(n: u8, cause: Cause, seen_at: i64) -> Candidate {
        let raw = format!("3f9e6a2b-5d4c-4b1a-8e7f-1122334455{n:02}");
        Candidate {
            user: GenesysUserId::parse(&raw).unwrap(),
            activity: Observed::Known(TeamsActivity::InAMeeting),
            steady: Steady::Yes,
            seen_at,
            cause,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn teams_changes_are_looked_at_before_records_the_walk_found_changed() {
        let looks = Looks::default();
        looks.add(vec![
            candidate(1, Cause::RecordChange, 100),
            candidate(2, Cause::RecordChange, 200),
            candidate(3, Cause::TeamsChange, 300),
            candidate(4, Cause::TeamsChange, 250),
        ]);
        let order =
            |taken: Vec<Candidate>| -> Vec<i64> { taken.iter().map(|c| c.seen_at).collect() };
        assert_eq!(order(looks.take(3, 3)), [250, 300, 100]);
        assert_eq!(order(looks.take(3, 3)), [200]);
        assert_eq!(looks.first_since(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_look_takes_every_teams_change_but_only_a_few_of_the_records_a_walk_found() {
        let looks = Looks::default();
        looks.add(
            (1..=5)
                .map(|n| candidate(n, Cause::RecordChange, i64::from(n)))
                .collect(),
        );
        looks.add(vec![
            candidate(9, Cause::TeamsChange, 900),
            candidate(8, Cause::TeamsChange, 800),
        ]);
        let order =
            |taken: Vec<Candidate>| -> Vec<i64> { taken.iter().map(|c| c.seen_at).collect() };
        assert_eq!(order(looks.take(100, 2)), [800, 900, 1, 2]);
        assert_eq!(order(looks.take(100, 2)), [3, 4]);
        assert_eq!(order(looks.take(100, 2)), [5]);
        assert_eq!(looks.first_since(), None);
        // 270 requests a minute write 9 in 2 s; a share of a few a minute still takes one.
        assert_eq!(record_changes_per_look(270), 9);
        assert_eq!(record_changes_per_look(3), 1);
    }
}
