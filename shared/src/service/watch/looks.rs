//! The agents the polls picked for a closer look, gathered across batches: one Genesys bulk
//! read (up to its id limit) serves every agent picked while the last look was carried out
//! or the Genesys share had no slot, and within [`crate::policy::WATCH_LOOK_WINDOW`] of the
//! first. The polls never wait for Genesys: they keep their schedule while the looks queue.

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

/// An agent a poll picked: what Teams showed, whether it lasted the debounce, and when the
/// poll saw it (ms since the epoch).
#[derive(Clone, Debug)]
pub(super) struct Candidate {
    pub user: GenesysUserId,
    pub activity: Observed<TeamsActivity>,
    pub steady: Steady,
    pub seen_at: i64,
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
            let seen_at = match waiting.candidates.get(&candidate.user) {
                Some(before) if before.activity == candidate.activity => before.seen_at,
                _ => candidate.seen_at,
            };
            let candidate = Candidate {
                seen_at,
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

    /// Up to `limit` waiting candidates, those seen first first.
    fn take(&self, limit: usize) -> Vec<Candidate> {
        let mut waiting = lock(&self.waiting);
        let mut oldest: Vec<(i64, &GenesysUserId)> = (waiting.candidates.values())
            .map(|c| (c.seen_at, &c.user))
            .collect();
        oldest.sort_unstable();
        let users: Vec<GenesysUserId> = (oldest.into_iter().take(limit))
            .map(|(_, user)| user.clone())
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
            let candidates = looks.take(G::MAX_USERS.max(1));
            if !candidates.is_empty() {
                self.look_at(run, candidates).await;
            }
            looks.looked();
        }
    }
}
