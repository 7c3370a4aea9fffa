//! The roster: the agents the watcher watches, found by walking the user records (every
//! recorded agent the sync has not let go: in scope and active) and given their Teams id
//! through the same layered lookup as the event path (memory, the table's cache, the claim,
//! Genesys at the watcher's pace); memory and the table are asked for every missing id before
//! the org's directory is read in pages. The walk and the lookups take at most
//! [`crate::policy::WATCH_ROSTER_TIME`] (a directory page's answers, once read, up to a
//! call's time more); a cold start goes on at the next walk.

use super::shared::{Member, lock};
use super::{Run, WatchError};
use crate::domain::ids::{GenesysUserId, TeamsUserId};
use crate::domain::state::UserState;
use crate::ports::{
    Budget, GenesysBulk, PresenceWriter, RecordScan, RemoteError, StateStore, TeamsDirectory,
    TeamsIdCache, TeamsIdEntry,
};
use crate::service::PresenceSync;
use crate::service::SyncError;
use crate::service::teams_ids::TeamsIds;
use futures_util::StreamExt;
use std::collections::HashSet;
use tokio::time::Instant;
use tracing::warn;

/// Records per page of the walk.
const PAGE: u32 = 100;
/// Teams-id lookups in flight at once (most are answered by the memory or the table).
const LOOKUPS_AT_ONCE: usize = 8;
/// Reads of the table's Teams-id cache in flight at once (a new process with 20,000 agents
/// cached: a few seconds of the roster's time, no Genesys request).
const KNOWN_AT_ONCE: usize = 32;
/// Missing Teams ids from which the org's directory is read in pages (100 users a request)
/// rather than one Genesys request each: a page's worth.
const DIRECTORY_FROM: usize = 100;

impl<S, C, D, W> PresenceSync<S, C, D, W>
where
    S: StateStore + RecordScan,
    C: TeamsIdCache,
    D: TeamsDirectory,
    W: PresenceWriter,
{
    /// Walks the records again while the run has time for a walk:
    /// [`crate::policy::WATCH_GROWING_WALK`] after a walk that found agents new to the roster
    /// (a shift start) or a burst of the event path's writes (to see it end), else
    /// [`crate::policy::WATCH_WALK_EVERY`] after the last (a run of several minutes sees the
    /// Genesys changes the event path recorded during it); how many walks it made.
    pub(super) async fn keep_walking<G: GenesysBulk, R>(
        &self,
        run: &mut Run<'_, G, R>,
        mut growth: Growth,
    ) -> Result<u32, WatchError> {
        let mut walks = 0;
        loop {
            let soon = growth == Growth::Grew || run.shared.yielding();
            let wait = match soon {
                true => crate::policy::WATCH_GROWING_WALK,
                false => crate::policy::WATCH_WALK_EVERY,
            };
            let next = Instant::now() + wait;
            if next + crate::policy::WATCH_ROSTER_TIME > run.until {
                break;
            }
            tokio::time::sleep_until(next).await;
            growth = self.refresh_roster(run).await?;
            walks += 1;
        }
        Ok(walks)
    }

    /// Walks the records from where the last run stopped, then looks up the Teams ids the
    /// roster lacks, within the roster's share of the run.
    pub(super) async fn refresh_roster<G: GenesysBulk, R>(
        &self,
        run: &mut Run<'_, G, R>,
    ) -> Result<Growth, WatchError> {
        let stop = run
            .until
            .min(Instant::now() + crate::policy::WATCH_ROSTER_TIME);
        let shared = run.shared;
        let mut cursor = lock(&shared.roster).cursor.clone();
        let (mut sampled, mut recent, mut growth) = (0usize, 0usize, Growth::Same);
        run.report.walks += 1;
        let window = crate::policy::RECONCILE_BURST_WINDOW.as_millis() as i64;
        let now_ms = self.now_ms();
        while Instant::now() < stop {
            let Ok(page) =
                tokio::time::timeout_at(stop, self.store.scan(cursor.as_deref(), PAGE)).await
            else {
                break;
            };
            let page = page?;
            let mut roster = lock(&shared.roster);
            for (user, record) in page.records {
                sampled += 1;
                if record
                    .applied_at_ms
                    .is_some_and(|at| now_ms.saturating_sub(at) < window)
                {
                    recent += 1;
                }
                if merge(&mut roster.members, user, &record) == Growth::Grew {
                    growth = Growth::Grew;
                }
            }
            roster.cursor = page.next.clone();
            if page.next.is_none() {
                roster.complete = true;
                break;
            }
            cursor = page.next;
        }
        run.report.roster_complete = lock(&shared.roster).complete;
        // The event path needs all of Graph's limit now (a shift start): this run yields.
        let burst = crate::policy::is_burst(sampled, recent);
        run.report.yielded |= burst;
        shared.set_yielding(burst);
        let unknown = self.known_teams_ids(run, stop).await;
        self.hint_from_directory(run, stop, unknown).await;
        self.look_up_teams_ids(run, stop).await;
        Ok(growth)
    }

    /// The Teams ids of the members without one that this process's memory or the table's
    /// cache holds (an earlier day's lookups: no Genesys request); the members neither knows,
    /// which only Genesys can tell.
    async fn known_teams_ids<G, R>(
        &self,
        run: &mut Run<'_, G, R>,
        stop: Instant,
    ) -> HashSet<GenesysUserId> {
        let missing: Vec<GenesysUserId> = without_teams_id(run);
        let budget = Budget { until: stop };
        let now = self.now_ms() / 1000;
        let mut unknown: HashSet<GenesysUserId> = missing.iter().cloned().collect();
        let reads = futures_util::stream::iter(missing).map(|user| async move {
            let known = self.teams_ids.known(&user, budget, now).await;
            (user, known)
        });
        let mut answers = reads.buffer_unordered(KNOWN_AT_ONCE);
        while Instant::now() < stop {
            let Ok(Some((user, known))) = tokio::time::timeout_at(stop, answers.next()).await
            else {
                break;
            };
            let Ok(Some(cached)) = known else {
                continue;
            };
            unknown.remove(&user);
            if let (TeamsIdEntry::Teams(teams), Some(member)) = (
                cached.entry,
                lock(&run.shared.roster).members.get_mut(&user),
            ) {
                member.teams = Some(teams);
            }
        }
        unknown
    }

    /// Many Teams ids that neither memory nor the table knows (a cold start in two-way mode, where the event path looks up
    /// none for agents On Queue or Available, as it writes nothing for them): the org's
    /// directory read in pages at the watcher's Genesys pace, its answers left as hints for
    /// the lookups below (which still cache and claim them). 20,000 agents cost 200 requests,
    /// not 20,000.
    async fn hint_from_directory<G: GenesysBulk, R>(
        &self,
        run: &mut Run<'_, G, R>,
        stop: Instant,
        mut missing: HashSet<GenesysUserId>,
    ) {
        loop {
            // A walk begins for many missing ids and, once begun, goes on while any is.
            let cursor = lock(&run.shared.roster).directory.clone();
            if missing.is_empty() || (cursor.is_none() && missing.len() < DIRECTORY_FROM) {
                return;
            }
            if run.shared.genesys.ready_before(stop).await.is_err() {
                return;
            }
            let budget = Budget { until: stop };
            let page = match run.genesys.directory_page(cursor.as_deref(), budget).await {
                Ok(page) => page,
                Err(error) => return run.read_failed(&error, "directory"),
            };
            let mut hinted = Vec::new();
            for (user, answer) in page.users {
                if missing.remove(&user) {
                    run.shared.hints.put(user.clone(), answer);
                    hinted.push(user);
                }
            }
            // The page's answers become Teams ids now (the table's claim and cache, no
            // Genesys request): a pass longer than the roster's time would otherwise leave
            // them for lookups that get no time, and read the directory again.
            let settle = (Instant::now() + crate::policy::WATCH_CALL_TIME).min(run.until);
            self.resolve_teams_ids(run, hinted, settle.max(stop)).await;
            lock(&run.shared.roster).directory = page.next.clone();
            if page.next.is_none() {
                return;
            }
        }
    }

    /// Teams ids for the members without one, several at once, until `stop`.
    async fn look_up_teams_ids<G, R>(&self, run: &mut Run<'_, G, R>, stop: Instant) {
        let missing = without_teams_id(run);
        self.resolve_teams_ids(run, missing, stop).await;
    }

    /// Teams ids for `missing`, several at once, until `stop`.
    async fn resolve_teams_ids<G, R>(
        &self,
        run: &mut Run<'_, G, R>,
        missing: Vec<GenesysUserId>,
        stop: Instant,
    ) {
        let budget = Budget { until: stop };
        let now = self.now_ms() / 1000;
        let lookups = futures_util::stream::iter(missing).map(|user| async move {
            let found = self.teams_ids.resolve(&user, budget, now).await;
            (user, found)
        });
        let mut answers = lookups.buffer_unordered(LOOKUPS_AT_ONCE);
        let mut failures = Failures::default();
        // `timeout_at` polls before it looks at the clock: past `stop`, every lookup still
        // to start would fail at once on its spent budget (thousands a run at 20,000 agents).
        while Instant::now() < stop {
            let Ok(Some((user, found))) = tokio::time::timeout_at(stop, answers.next()).await
            else {
                break;
            };
            let teams: Option<TeamsUserId> = match found {
                Ok(cached) => match cached.entry {
                    TeamsIdEntry::Teams(teams) => Some(teams),
                    TeamsIdEntry::NoTeamsId | TeamsIdEntry::ClaimedBy { .. } => None,
                },
                Err(error) => {
                    let cut = Instant::now() >= stop;
                    failures.note(&mut run.report, &error, cut);
                    None
                }
            };
            if let Some(member) = lock(&run.shared.roster).members.get_mut(&user) {
                member.teams = teams;
            }
        }
        failures.log();
    }
}

/// The lookups of one roster refresh that found nothing, told once per run (one line per
/// agent flooded the log: 160,000 lines in 90 runs of the 20,000-agent model).
#[derive(Default)]
struct Failures {
    count: u64,
    first: Option<String>,
}

impl Failures {
    /// A lookup refused for want of a Genesys slot (or throttled), or cut by the roster's
    /// time (`cut`), is deferred to a later run; anything else failed.
    fn note(&mut self, report: &mut super::WatchReport, error: &SyncError, cut: bool) {
        let throttled = matches!(
            error,
            SyncError::Directory {
                source: RemoteError::Throttled {
                    may_have_landed: false,
                    ..
                },
                ..
            }
        );
        let deferred = cut || throttled;
        if deferred {
            report.deferred += 1;
            return;
        }
        report.failed += 1;
        crate::metrics::watch_failed("teams-id");
        self.count += 1;
        self.first.get_or_insert_with(|| error.to_string());
    }

    fn log(self) {
        if let Some(first) = self.first {
            warn!(failed = self.count, first = %first, "the watcher could not look up some Teams ids; those agents are not watched until it can");
        }
    }
}

/// The members without a Teams id yet.
fn without_teams_id<G, R>(run: &Run<'_, G, R>) -> Vec<GenesysUserId> {
    (lock(&run.shared.roster).members.iter())
        .filter(|(_, m)| m.teams.is_none())
        .map(|(user, _)| user.clone())
        .collect()
}

/// Whether a walk found agents new to the roster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Growth {
    Grew,
    Same,
}

/// One walked record into the roster: a let-go agent leaves it; the others keep their Teams id
/// and take the record's revision and mark. Whether the agent is new to the roster.
fn merge(
    members: &mut std::collections::BTreeMap<GenesysUserId, Member>,
    user: GenesysUserId,
    record: &UserState,
) -> Growth {
    if record.left.is_some() {
        members.remove(&user);
        return Growth::Same;
    }
    let new = !members.contains_key(&user);
    let member = members.entry(user).or_default();
    member.rev = record.rev;
    member.mark = record.watch.clone();
    match new {
        true => Growth::Grew,
        false => Growth::Same,
    }
}
