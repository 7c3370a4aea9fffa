//! A page's actions side by side: a run keeps as many presences alive as its share of Graph's
//! limit allows (not as many as one action after another fits in), with no more than
//! [`RECONCILE_ACTIONS_AT_ONCE`] under way, and a run cut in the middle of a page still goes
//! on after the last user it judged: nobody skipped, nobody judged twice.

use super::limits::due;
use super::*;
use crate::policy::RECONCILE_ACTIONS_AT_ONCE;
use crate::ports::{Budget, PresenceWriter, RecordScan, RemoteError, Service, WriteAnswer};
use std::collections::HashSet;
use std::sync::atomic::AtomicUsize;
use tokio::time::Instant;

/// Graph's writes as the reconciler's actions meet them: each takes its Teams user's own time
/// (so that actions can end in another order than they started), counted while under way.
struct Timed {
    teams: Arc<MemoryTeams>,
    took: fn(&TeamsUserId) -> Duration,
    under_way: AtomicUsize,
    most: AtomicUsize,
    started: Mutex<Vec<Instant>>,
}

impl Timed {
    fn new(teams: Arc<MemoryTeams>, took: fn(&TeamsUserId) -> Duration) -> Arc<Timed> {
        Arc::new(Timed {
            teams,
            took,
            under_way: AtomicUsize::new(0),
            most: AtomicUsize::new(0),
            started: Mutex::new(Vec::new()),
        })
    }

    async fn write(
        &self,
        user: &TeamsUserId,
        budget: Budget,
        write: impl Future<Output = Result<WriteAnswer, RemoteError>>,
    ) -> Result<WriteAnswer, RemoteError> {
        self.started.lock().unwrap().push(Instant::now());
        let now = self.under_way.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        let took = tokio::time::sleep((self.took)(user));
        let answer = match tokio::time::timeout_at(budget.until, took).await {
            Ok(()) => write.await,
            Err(_) => Err(RemoteError::Unavailable {
                service: Service::Graph,
                detail: "no answer within the time budget (test)".to_owned(),
            }),
        };
        self.under_way.fetch_sub(1, Ordering::SeqCst);
        answer
    }
}

impl PresenceWriter for Timed {
    async fn set_preferred(
        &self,
        user: &TeamsUserId,
        presence: TeamsPresence,
        budget: Budget,
    ) -> Result<WriteAnswer, RemoteError> {
        let write = self.teams.set_preferred(user, presence, budget);
        self.write(user, budget, write).await
    }

    async fn clear_preferred(
        &self,
        user: &TeamsUserId,
        budget: Budget,
    ) -> Result<WriteAnswer, RemoteError> {
        let write = self.teams.clear_preferred(user, budget);
        self.write(user, budget, write).await
    }
}

/// The org's pass with Graph's writes through `timed`, at the default share of Graph's limit
/// (20 % of 1,500 per 30 s: a slot every 100 ms), in pages of 100.
struct Paced {
    sync:
        PresenceSync<Arc<MemoryStore>, Arc<MemoryStore>, Hinted<Arc<MemoryDirectory>>, Arc<Timed>>,
    shared: Shared,
    settings: ReconcileSettings,
}

impl Paced {
    fn new(org: &Org, timed: &Arc<Timed>) -> Paced {
        let settings = ReconcileSettings {
            page_size: 100,
            graph_per_30s: 300,
            ..settings(DriftPolicy::Report)
        };
        let shared = Shared::new(&settings);
        let sync = PresenceSync::new(
            org.store.clone(),
            org.store.clone(),
            Hinted::new(&shared, org.directory.clone()),
            timed.clone(),
            PresenceMapping::default(),
            Settings::default(),
        );
        Paced {
            sync,
            shared,
            settings,
        }
    }

    /// One run of `secs` (the invocation's time: its work ends 1.5 s before).
    async fn run(&self, org: &Org, secs: u64) -> PassReport {
        let invocation = invocation(secs);
        let run = self.sync.reconcile(
            &org.genesys,
            &org.teams,
            &self.shared,
            &self.settings,
            &invocation,
        );
        match run.await.unwrap() {
            PassOutcome::Worked(report) => report,
            held => panic!("the run did not work: {held:?}"),
        }
    }
}

/// The number at the end of a test's Teams id.
fn number(user: &TeamsUserId) -> u64 {
    let id = user.to_string();
    id[id.len() - 2..].parse().unwrap()
}

#[tokio::test(start_paused = true)]
async fn one_run_keeps_alive_as_many_as_its_graph_share_allows() {
    let org = due(99).await;
    // Each write takes 400 ms. One action after another, a 20 s run (actions start until
    // 15 s: the run's work ends 1.5 s before its deadline, an action needs 3.5 s) keeps about
    // 37 alive; its share has a slot every 100 ms, enough for all 99 in 10 s.
    let timed = Timed::new(org.teams.clone(), |_| Duration::from_millis(400));
    let paced = Paced::new(&org, &timed);
    let report = paced.run(&org, 20).await;
    assert!(
        report.walk_completed && report.kept_alive == 99,
        "{report:?}"
    );
    // Still within the share: no two writes less than a slot apart.
    let started = timed.started.lock().unwrap().clone();
    let closest = started.windows(2).map(|w| w[1] - w[0]).min().unwrap();
    assert!(closest >= Duration::from_millis(100), "{closest:?}");
}

#[tokio::test(start_paused = true)]
async fn no_more_actions_than_the_bound_are_under_way_at_once() {
    let org = due(99).await;
    // Each write takes 1.6 s: the share's slots alone would have 16 under way.
    let timed = Timed::new(org.teams.clone(), |_| Duration::from_millis(1_600));
    let paced = Paced::new(&org, &timed);
    let report = paced.run(&org, 30).await;
    assert_eq!(
        timed.most.load(Ordering::SeqCst),
        RECONCILE_ACTIONS_AT_ONCE,
        "{report:?}"
    );
    assert!(
        report.walk_completed && report.kept_alive == 99,
        "{report:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_run_cut_with_actions_under_way_goes_on_after_the_last_user_it_judged() {
    let org = due(60).await;
    // Writes of 50 ms to 1.55 s by user: actions end in another order than they started.
    let timed = Timed::new(org.teams.clone(), |user| {
        Duration::from_millis(50 + number(user) % 7 * 250)
    });
    let paced = Paced::new(&org, &timed);
    // The walk's order: the table's scan order (a hash order, as DynamoDB's).
    let page = org.store.scan(None, 100).await.unwrap();
    let order: Vec<TeamsUserId> = page
        .records
        .iter()
        .map(|(_, record)| record.applied_to.clone().unwrap())
        .collect();
    // The writes of the events that set the agents up come first.
    let set_up = org.teams.writes().len();
    let mut runs = Vec::new();
    while runs.last().is_none_or(|r: &PassReport| !r.walk_completed) && runs.len() < 10 {
        let before = org.teams.writes().len() - set_up;
        // 8 s: actions start for 3 s, about 30 of them, then the run is cut.
        let report = paced.run(&org, 8).await;
        let written: HashSet<TeamsUserId> = org.teams.writes()[set_up + before..]
            .iter()
            .map(|w| w.user.clone())
            .collect();
        // The run's page began just after the last user the previous run judged, and it
        // kept alive the users of the walk's order from there, none left out.
        assert_eq!(report.scanned as usize, 60 - before, "{report:?}");
        let next: HashSet<TeamsUserId> = order[before..before + written.len()]
            .iter()
            .cloned()
            .collect();
        assert_eq!(written, next, "run {}: {report:?}", runs.len() + 1);
        assert_eq!(report.kept_alive as usize, written.len(), "{report:?}");
        runs.push(report);
    }
    assert!(runs[0].cut && runs.len() > 1, "{runs:?}");
    assert!(runs.last().unwrap().walk_completed, "{runs:?}");
    let writes = org.teams.writes().split_off(set_up);
    let users: HashSet<_> = writes.iter().map(|w| w.user.clone()).collect();
    assert_eq!(
        (writes.len(), users.len()),
        (60, 60),
        "each kept alive once"
    );
}
