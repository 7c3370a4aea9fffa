//! The reconciler's pass on the in-memory adapters: each behaviour of the design from a
//! realistic situation, in milliseconds. The same pass runs against moto and the HTTP fakes
//! in `tests/tests/suite/reconcile.rs`.

use super::*;
use crate::adapters::memory::{MemoryDirectory, MemoryGenesys, MemoryStore, MemoryTeams};
use crate::domain::event::{GenesysEvent, PresenceValue, Stamped, Topic};
use crate::domain::ids::TeamsUserId;
use crate::domain::mapping::PresenceMapping;
use crate::domain::outcome::Outcome;
use crate::domain::outcome::Why;
use crate::domain::presence::SystemPresence;
use crate::domain::reconcile::DriftPolicy;
use crate::domain::state::Observation;
use crate::domain::state::{Intent, Lease};
use crate::domain::teams::{TeamsPresence, TeamsState};
use crate::domain::version::Version;
use crate::ports::{Clock, PassState, SystemClock};
use crate::service::Settings;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

type Sync = PresenceSync<
    Arc<MemoryStore>,
    Arc<MemoryStore>,
    Hinted<Arc<MemoryDirectory>>,
    Arc<MemoryTeams>,
>;

const BUSY: TeamsState = TeamsState::Preferred(TeamsPresence::Busy);
const AWAY: TeamsState = TeamsState::Preferred(TeamsPresence::Away);

fn user(n: u8) -> GenesysUserId {
    GenesysUserId::parse(&format!("3f9e6a2b-5d4c-4b1a-8e7f-1122334455{n:02}")).unwrap()
}

fn teams(n: u8) -> TeamsUserId {
    TeamsUserId::parse(&format!("a1b2c3d4-0000-4000-8000-0000000000{n:02}")).unwrap()
}

fn now_ms() -> i64 {
    SystemClock.now_ms()
}

fn observed(system: &str, ms: i64) -> Observation {
    Observation {
        presence: Some(Stamped {
            value: PresenceValue {
                system: SystemPresence::observe(system),
                definition_id: None,
            },
            version: Version::from_millis(ms),
        }),
        routing: None,
    }
}

fn invocation(secs: u64) -> Invocation {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    Invocation {
        request_id: format!("run-{}", NEXT.fetch_add(1, Ordering::Relaxed)),
        deadline: SystemTime::now() + Duration::from_secs(secs),
    }
}

fn settings(drift: DriftPolicy) -> ReconcileSettings {
    ReconcileSettings {
        rules: Rules {
            refresh_after_ms: 50 * 60_000,
            drift,
            max_skew_ms: 300_000,
        },
        page_size: 2,
        sweep_every: Duration::from_secs(3600),
        // Fast enough for a unit test; the pace itself is tested in `pace`.
        graph_per_30s: 300_000,
        genesys_per_minute: 600_000,
    }
}

/// The table, Genesys and Teams a test's runs share.
struct Org {
    store: Arc<MemoryStore>,
    directory: Arc<MemoryDirectory>,
    genesys: Arc<MemoryGenesys>,
    teams: Arc<MemoryTeams>,
    shared: Shared,
    sync: Sync,
}

impl Org {
    /// `n` agents, each with Teams id `teams(i)`, each Available at version 1 000 in Genesys.
    fn new(n: u8) -> Org {
        let store = Arc::new(MemoryStore::new());
        let directory = Arc::new(MemoryDirectory::new());
        let genesys = Arc::new(MemoryGenesys::new());
        let graph = Arc::new(MemoryTeams::new());
        for i in 1..=n {
            let id = teams(i).to_string();
            directory.add_user(&user(i), Some(&id));
            genesys.set_user(&user(i), Some(&id), observed("AVAILABLE", 1_000));
        }
        let shared = Shared::new(&settings(DriftPolicy::Report));
        let sync = PresenceSync::new(
            store.clone(),
            store.clone(),
            Hinted::new(&shared, directory.clone()),
            graph.clone(),
            PresenceMapping::default(),
            Settings::default(),
        );
        Org {
            store,
            directory,
            genesys,
            teams: graph,
            shared,
            sync,
        }
    }

    /// The agent's change reaches us as an event (and Genesys reports it from then on).
    async fn event(&self, n: u8, system: &str, ms: i64) {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let observation = observed(system, ms);
        self.genesys
            .set_user(&user(n), Some(&teams(n).to_string()), observation.clone());
        let event = GenesysEvent {
            event_id: format!("event-{}", NEXT.fetch_add(1, Ordering::Relaxed)),
            source: "aws.partner/genesys.com/cloud/org/presence-sync".to_owned(),
            account: None,
            topic: Topic::Presence,
            user: user(n),
            presence: observation.presence,
            routing: None,
            queues: None,
        };
        self.sync.sync(&event, &invocation(3)).await.unwrap();
    }

    /// The agent's change as an event, answered with its outcome (Genesys not told).
    async fn outcome(
        &self,
        n: u8,
        system: &str,
        ms: i64,
    ) -> Result<Outcome, crate::service::SyncError> {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let observation = observed(system, ms);
        let event = GenesysEvent {
            event_id: format!("late-{}", NEXT.fetch_add(1, Ordering::Relaxed)),
            source: "aws.partner/genesys.com/cloud/org/presence-sync".to_owned(),
            account: None,
            topic: Topic::Presence,
            user: user(n),
            presence: observation.presence,
            routing: None,
            queues: None,
        };
        self.sync.sync(&event, &invocation(30)).await
    }

    /// The agent's change never reaches us: only Genesys knows it.
    fn lost_event(&self, n: u8, system: &str, ms: i64) {
        self.genesys
            .set_user(&user(n), Some(&teams(n).to_string()), observed(system, ms));
    }

    async fn run(&self, drift: DriftPolicy) -> PassReport {
        self.run_with(&settings(drift)).await
    }

    async fn run_with(&self, settings: &ReconcileSettings) -> PassReport {
        let outcome = self
            .sync
            .reconcile(
                &self.genesys,
                &self.teams,
                &self.shared,
                settings,
                &invocation(30),
            )
            .await
            .unwrap();
        match outcome {
            PassOutcome::Worked(report) => report,
            held => panic!("the run did not work: {held:?}"),
        }
    }

    fn shown(&self, n: u8) -> TeamsState {
        self.teams.shown(&teams(n))
    }

    /// The same org with its functions running under `SYNC_SCOPE=scope`.
    fn with_scope(mut self, scope: &str) -> Org {
        let settings = Settings {
            scope: crate::domain::scope::Scope::parse(scope).unwrap(),
            ..Settings::default()
        };
        self.sync = PresenceSync::new(
            self.store.clone(),
            self.store.clone(),
            Hinted::new(&self.shared, self.directory.clone()),
            self.teams.clone(),
            PresenceMapping::default(),
            settings,
        );
        self
    }

    fn writes(&self) -> usize {
        self.teams.writes().len()
    }
}

#[tokio::test]
async fn a_lost_event_is_recovered_with_genesys_timestamps_as_versions() {
    let org = Org::new(1);
    org.event(1, "ON_QUEUE", 1_000).await;
    org.lost_event(1, "BREAK", 2_000);
    let report = org.run(DriftPolicy::Report).await;
    assert_eq!(report.recovered, 1, "{report:?}");
    assert_eq!(org.shown(1), AWAY);
    let record = org.store.record_of(&user(1));
    assert_eq!(
        record.presence.unwrap().version,
        Version::from_millis(2_000)
    );
    // The late event of the same change is then a duplicate, and an older one stale.
    assert_eq!(org.writes(), 2);
}

#[tokio::test]
async fn a_dirty_record_left_by_a_dead_holder_is_settled() {
    let org = Org::new(1);
    org.event(1, "ON_QUEUE", 1_000).await;
    let mut record = org.store.record_of(&user(1));
    // A holder recorded BREAK, marked the record pending, and died before Graph answered.
    record.presence = observed("BREAK", 2_000).presence;
    record.intent = Some(Intent::Pending);
    record.lease = Some(Lease {
        owner: "dead".into(),
        until_ms: now_ms() - 1,
    });
    org.store.put_record(&user(1), record);
    org.genesys.set_user(
        &user(1),
        Some(&teams(1).to_string()),
        observed("BREAK", 2_000),
    );
    let report = org.run(DriftPolicy::Report).await;
    assert_eq!(report.settled, 1, "{report:?}");
    assert_eq!(org.shown(1), AWAY);
    assert!(!org.store.record_of(&user(1)).dirty());
}

#[tokio::test]
async fn a_preferred_presence_about_to_expire_is_re_sent_and_a_fresh_one_is_not() {
    let org = Org::new(2);
    org.event(1, "ON_QUEUE", 1_000).await;
    org.event(2, "ON_QUEUE", 1_000).await;
    let mut old = org.store.record_of(&user(1));
    old.applied_at_ms = Some(now_ms() - 55 * 60_000);
    org.store.put_record(&user(1), old);
    let before = org.writes();
    let report = org.run(DriftPolicy::Report).await;
    assert_eq!(report.kept_alive, 1, "{report:?}");
    let writes = org.teams.writes();
    assert_eq!(writes.len(), before + 1);
    assert_eq!(writes.last().unwrap().user, teams(1));
    let at = org.store.record_of(&user(1)).applied_at_ms.unwrap();
    assert!(now_ms() - at < 5_000, "applied_at renewed");
}

#[tokio::test]
async fn drift_is_reported_under_report_and_repaired_under_repair() {
    let org = Org::new(1);
    org.event(1, "ON_QUEUE", 1_000).await;
    org.teams.set_by_hand(&teams(1), TeamsPresence::Available);
    let before = org.writes();
    let report = org.run(DriftPolicy::Report).await;
    assert_eq!(
        (report.drift_found, report.drift_repaired),
        (1, 0),
        "{report:?}"
    );
    assert_eq!(org.writes(), before, "report leaves Teams alone");
    let report = org.run(DriftPolicy::Repair).await;
    assert_eq!(
        (report.drift_found, report.drift_repaired),
        (1, 1),
        "{report:?}"
    );
    assert_eq!(org.writes(), before + 1);
    let last = org.teams.writes().pop().unwrap();
    assert_eq!(last.state, BUSY);
    let report = org.run(DriftPolicy::Repair).await;
    assert_eq!(report.drift_found, 0, "repaired: {report:?}");
}

#[tokio::test]
async fn a_user_without_a_teams_session_is_not_drift_and_costs_no_write() {
    let org = Org::new(1);
    org.event(1, "ON_QUEUE", 1_000).await;
    org.teams.without_session(&teams(1));
    let before = org.writes();
    let report = org.run(DriftPolicy::Repair).await;
    assert_eq!(
        (report.no_session, report.drift_found),
        (1, 0),
        "{report:?}"
    );
    assert_eq!(org.writes(), before);
}

#[tokio::test]
async fn a_poisoned_record_is_replaced_from_genesys_and_re_applied() {
    let org = Org::new(1);
    org.event(1, "ON_QUEUE", 1_000).await;
    let mut record = org.store.record_of(&user(1));
    // Recorded before the skew bound existed: every later event would be "stale".
    record.presence = observed("ON_QUEUE", 253_402_300_799_999).presence;
    org.store.put_record(&user(1), record);
    org.lost_event(1, "BREAK", now_ms() - 1_000);
    let report = org.run(DriftPolicy::Report).await;
    assert_eq!(report.poisoned_repaired, 1, "{report:?}");
    assert_eq!(org.shown(1), AWAY);
    let record = org.store.record_of(&user(1));
    assert!(record.presence.unwrap().version.millis() < now_ms());
    // Events order normally again.
    org.event(1, "ON_QUEUE", now_ms()).await;
    assert_eq!(org.shown(1), BUSY);
}

#[tokio::test]
async fn the_first_run_sweeps_the_directory_and_backfills_agents_never_seen() {
    let org = Org::new(3);
    org.lost_event(2, "ON_QUEUE", 5_000);
    // Agent 3 has no Teams id: left alone.
    org.genesys
        .set_user(&user(3), None, observed("ON_QUEUE", 5_000));
    let report = org.run(DriftPolicy::Report).await;
    assert!(report.sweep_completed, "{report:?}");
    assert_eq!(report.backfilled, 2, "{report:?}");
    assert_eq!(
        org.shown(1),
        TeamsState::Preferred(TeamsPresence::Available)
    );
    assert_eq!(org.shown(2), BUSY);
    assert_eq!(org.shown(3), TeamsState::Cleared);
    assert_eq!(
        org.directory.lookups(),
        0,
        "the sweep's directory answers are used"
    );
    // The next run within the hour does not sweep again.
    let report = org.run(DriftPolicy::Report).await;
    assert!(
        !report.sweep_completed && report.backfilled == 0,
        "{report:?}"
    );
}

#[tokio::test]
async fn two_runs_at_once_never_both_work() {
    let org = Org::new(1);
    let first = org
        .store
        .begin("other-run", now_ms() + 60_000, now_ms())
        .await
        .unwrap();
    assert!(matches!(first, RunClaim::Granted(_)));
    let outcome = org
        .sync
        .reconcile(
            &org.genesys,
            &org.teams,
            &org.shared,
            &settings(DriftPolicy::Report),
            &invocation(30),
        )
        .await
        .unwrap();
    assert!(
        matches!(outcome, PassOutcome::HeldByAnother { .. }),
        "{outcome:?}"
    );
    assert_eq!(org.genesys.calls(), 0);
}

#[tokio::test]
async fn a_run_killed_midway_is_resumed_from_its_saved_position() {
    let org = Org::new(5);
    for n in 1..=5 {
        org.event(n, "ON_QUEUE", 1_000).await;
        org.lost_event(n, "BREAK", 2_000);
    }
    // A run that saved after its first page (two users, in the table's scan order: not user
    // id order, as in DynamoDB) and died holding the lease.
    let first = org.store.scan(None, 2).await.unwrap();
    let done: Vec<u8> = (1..=5)
        .filter(|n| first.records.iter().any(|(u, _)| *u == user(*n)))
        .collect();
    assert_eq!(done.len(), 2, "{first:?}");
    let state = PassState {
        records_cursor: first.next,
        last_sweep_ms: Some(now_ms()),
        ..PassState::default()
    };
    org.store
        .begin("killed", now_ms() - 1, now_ms() - 10)
        .await
        .unwrap();
    assert!(org.store.save("killed", &state).await.unwrap());
    let report = org.run(DriftPolicy::Report).await;
    assert_eq!((report.scanned, report.recovered), (3, 3), "{report:?}");
    assert!(report.walk_completed);
    for n in 1..=5 {
        let expected = if done.contains(&n) { BUSY } else { AWAY };
        assert_eq!(
            org.shown(n),
            expected,
            "user {n}: before the cursor is the next walk's"
        );
    }
    let report = org.run(DriftPolicy::Report).await;
    assert_eq!((report.scanned, report.recovered), (5, 2), "{report:?}");
    assert!((1..=5).all(|n| org.shown(n) == AWAY));
}

/// Genesys read in bulk, with the agent's next change arriving as an event right after the
/// read: between the pass's reads (the record, then Genesys) and its write.
struct EventDuringRead<'a> {
    org: &'a Org,
    event: Mutex<Option<(u8, &'static str, i64)>>,
}

impl crate::ports::GenesysBulk for EventDuringRead<'_> {
    const MAX_USERS: usize = 100;

    async fn current(
        &self,
        users: &[GenesysUserId],
        budget: crate::ports::Budget,
    ) -> Result<Vec<crate::ports::GenesysNow>, crate::ports::RemoteError> {
        let read = self.org.genesys.current(users, budget).await;
        let event = self.event.lock().unwrap().take();
        if let Some((n, system, ms)) = event {
            let outcome = Box::pin(self.org.outcome(n, system, ms)).await;
            assert!(matches!(outcome, Ok(Outcome::Applied(..))), "{outcome:?}");
        }
        read
    }

    async fn directory_page(
        &self,
        cursor: Option<&str>,
        budget: crate::ports::Budget,
    ) -> Result<crate::ports::DirectoryPage, crate::ports::RemoteError> {
        self.org.genesys.directory_page(cursor, budget).await
    }

    async fn queue_members(
        &self,
        queue: &crate::domain::scope::ScopeId,
        number: u32,
        budget: crate::ports::Budget,
    ) -> Result<crate::ports::QueueMembersPage, crate::ports::RemoteError> {
        self.org.genesys.queue_members(queue, number, budget).await
    }
}

#[tokio::test]
async fn an_event_newer_than_what_the_pass_read_still_wins() {
    let org = Org::new(1);
    org.event(1, "ON_QUEUE", 1_000).await;
    // A lost event: Genesys shows Break, the record On Queue.
    org.lost_event(1, "BREAK", 2_000);
    // The pass reads the record and Genesys (Break), and before it writes, the agent's next
    // change arrives as an event and is applied.
    let racing = EventDuringRead {
        org: &org,
        event: Mutex::new(Some((1, "AVAILABLE", 3_000))),
    };
    let outcome = org
        .sync
        .reconcile(
            &racing,
            &org.teams,
            &org.shared,
            &settings(DriftPolicy::Report),
            &invocation(30),
        )
        .await
        .unwrap();
    let PassOutcome::Worked(report) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(
        report.recovered, 0,
        "the pass's older write was refused: {report:?}"
    );
    assert_eq!(
        org.shown(1),
        TeamsState::Preferred(TeamsPresence::Available),
        "the event's newer state is the last one"
    );
    let record = org.store.record_of(&user(1));
    assert_eq!(
        record.presence.unwrap().version,
        Version::from_millis(3_000)
    );
}

#[tokio::test]
async fn during_a_burst_of_the_event_path_the_run_yields_graph_and_resumes_after() {
    let org = Org::new(60);
    for n in 1..=60 {
        org.event(n, "ON_QUEUE", 1_000).await;
    }
    // A page of 60 users; 7 (11 %) had a state applied within the last minute: a shift start.
    let settings = ReconcileSettings {
        page_size: 100,
        ..settings(DriftPolicy::Report)
    };
    for n in 8..=60 {
        let mut record = org.store.record_of(&user(n));
        record.applied_at_ms = Some(now_ms() - 120_000);
        org.store.put_record(&user(n), record);
    }
    for n in 1..=4 {
        org.lost_event(n, "BREAK", 2_000);
    }
    let before = org.writes();
    let report = org.run_with(&settings).await;
    assert!(report.yielded, "{report:?}");
    assert_eq!((report.scanned, report.recovered), (0, 0), "{report:?}");
    assert_eq!(org.writes(), before, "no Graph write during the burst");
    // With 5 of 60 (8 %) recent it is no burst: the run goes on from the same page.
    for n in 6..=7 {
        let mut record = org.store.record_of(&user(n));
        record.applied_at_ms = Some(now_ms() - 120_000);
        org.store.put_record(&user(n), record);
    }
    let report = org.run_with(&settings).await;
    assert!(!report.yielded && report.recovered == 4, "{report:?}");
}

#[tokio::test]
async fn a_watcher_is_told_the_report_after_every_page() {
    let org = Org::new(5);
    for n in 1..=5 {
        org.event(n, "AVAILABLE", 2_000).await;
    }
    let seen = Mutex::new(Vec::new());
    let watch = |report: &PassReport| seen.lock().unwrap().push(report.scanned);
    let outcome = org
        .sync
        .reconcile_watched(
            &org.genesys,
            &org.teams,
            &org.shared,
            &settings(DriftPolicy::Report),
            &invocation(30),
            &watch,
        )
        .await
        .unwrap();
    assert!(matches!(outcome, PassOutcome::Worked(ref r) if r.walk_completed));
    // Pages of two: 2, 4, 5 users, then the sweep's pages (nothing more scanned).
    let seen = seen.into_inner().unwrap();
    assert_eq!(&seen[..3], &[2, 4, 5], "{seen:?}");
}

mod actions;
mod departed;
mod limits;
mod renew;
mod scope;
mod shares;
