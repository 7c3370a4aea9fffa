//! The watcher on the in-memory adapters, in virtual time: each rule of the reverse direction
//! from a realistic situation, with Graph's aggregation (a preferred presence hides every
//! session) and the event path taking our own Genesys writes back. The same rules run against
//! moto and the HTTP fakes in `tests/tests/suite/watch.rs`.

use super::*;
use crate::adapters::memory::graph_presence::ClientEvent;
use crate::adapters::memory::{
    MemoryDirectory, MemoryGenesys, MemoryStore, MemoryTeams, definition_of,
};
use crate::domain::event::{GenesysEvent, PresenceValue, Stamped, Topic};
use crate::domain::ids::{GenesysUserId, TeamsUserId};
use crate::domain::outcome::{Outcome, SkipReason};
use crate::domain::presence::{Observed, RoutingStatus, SystemPresence};
use crate::domain::state::Observation;
use crate::domain::version::Version;
use crate::domain::watch::{Phase, PresenceMode};
use crate::ports::{Clock, StateStore};
use crate::service::Settings;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::UNIX_EPOCH;

pub(super) type Sync =
    PresenceSync<Arc<MemoryStore>, Arc<MemoryStore>, Arc<MemoryDirectory>, Arc<MemoryTeams>>;

/// Wall time on tokio's (paused) clock.
#[derive(Clone, Copy)]
pub(super) struct Virtual(Instant);

impl Clock for Virtual {
    fn now_ms(&self) -> i64 {
        1_800_000_000_000 + self.0.elapsed().as_millis() as i64
    }
}

pub(super) fn user(n: u16) -> GenesysUserId {
    GenesysUserId::parse(&format!("3f9e6a2b-5d4c-4b1a-8e7f-11223344{n:04x}")).unwrap()
}

pub(super) fn teams(n: u16) -> TeamsUserId {
    TeamsUserId::parse(&format!("a1b2c3d4-0000-4000-8000-00000000{n:04x}")).unwrap()
}

fn presence(system: SystemPresence, ms: i64) -> Stamped<PresenceValue> {
    Stamped {
        value: PresenceValue {
            system: Observed::Known(system),
            definition_id: Some(definition_of(system).to_owned()),
        },
        version: Version::from_millis(ms),
    }
}

pub(super) fn settings(on_queue: OnQueuePolicy, rules: &str, debounce: u64) -> WatchSettings {
    WatchSettings {
        on_queue,
        rules: TeamsToGenesys::from_json(rules).unwrap(),
        period: Duration::from_secs(10),
        debounce: Duration::from_secs(debounce),
        graph_per_30s: 150,
        genesys_per_minute: 60,
    }
}

/// A floor of agents, the event path and the watcher sharing one table.
pub(super) struct Floor {
    pub(super) clock: Virtual,
    pub(super) store: Arc<MemoryStore>,
    pub(super) genesys: Arc<MemoryGenesys>,
    pub(super) teams: Arc<MemoryTeams>,
    sync: Sync,
    settings: WatchSettings,
    shared: WatchShared,
}

impl Floor {
    pub(super) fn new(n: u16, settings: WatchSettings) -> Floor {
        let clock = Virtual(Instant::now());
        let store = Arc::new(MemoryStore::new());
        let directory = Arc::new(MemoryDirectory::new());
        let genesys = Arc::new(MemoryGenesys::new());
        let teams_api = Arc::new(MemoryTeams::new());
        for i in 1..=n {
            directory.add_user(&user(i), Some(&teams(i).to_string()));
            genesys.set_user(
                &user(i),
                Some(&teams(i).to_string()),
                Observation::default(),
            );
        }
        let mapping = PresenceMode::TwoWay.mapping("").unwrap();
        let sync = PresenceSync::new(
            store.clone(),
            store.clone(),
            directory,
            teams_api.clone(),
            mapping,
            Settings::default(),
        )
        .with_clock(clock);
        let shared = WatchShared::new(&settings);
        Floor {
            clock,
            store,
            genesys,
            teams: teams_api,
            sync,
            settings,
            shared,
        }
    }

    /// Genesys shows the agent in `system` (and `routing`), and the event reaches the sync.
    pub(super) async fn genesys_event(
        &self,
        n: u16,
        system: SystemPresence,
        routing: RoutingStatus,
    ) -> Outcome {
        let now = self.clock.now_ms();
        let observation = Observation {
            presence: Some(presence(system, now)),
            routing: Some(Stamped {
                value: Observed::Known(routing),
                version: Version::from_millis(now),
            }),
        };
        self.genesys
            .set_user(&user(n), Some(&teams(n).to_string()), observation.clone());
        self.deliver(n, observation).await
    }

    pub(super) async fn deliver(&self, n: u16, observation: Observation) -> Outcome {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let event = GenesysEvent {
            event_id: format!("event-{}", NEXT.fetch_add(1, Ordering::Relaxed)),
            source: "aws.partner/genesys.com/cloud/org/presence-sync".to_owned(),
            account: None,
            topic: Topic::Activity,
            user: user(n),
            presence: observation.presence,
            routing: observation.routing,
            queues: None,
        };
        self.sync.sync(&event, &self.invocation(10)).await.unwrap()
    }

    /// The watcher's writes so far come back as Genesys events: each one's outcome.
    pub(super) async fn echoes(&self, from: usize) -> Vec<Outcome> {
        let mut outcomes = Vec::new();
        for write in self.genesys.presence_writes().into_iter().skip(from) {
            let n = (1..=99).find(|n| user(*n) == write.user).unwrap();
            let observation = Observation {
                presence: Some(write.presence),
                routing: None,
            };
            outcomes.push(self.deliver(n, observation).await);
        }
        outcomes
    }

    pub(super) fn invocation(&self, secs: u64) -> Invocation {
        let ms = self.clock.now_ms() as u64 + secs * 1000;
        Invocation {
            request_id: "watch".to_owned(),
            deadline: UNIX_EPOCH + Duration::from_millis(ms),
        }
    }

    pub(super) async fn watch(&self) -> WatchReport {
        self.watch_for(30).await
    }

    /// One run with `secs` until Lambda's deadline.
    pub(super) async fn watch_for(&self, secs: u64) -> WatchReport {
        let invocation = self.invocation(secs);
        (self
            .sync
            .watch(
                &*self.genesys,
                &*self.teams,
                &self.shared,
                &self.settings,
                &invocation,
            )
            .await)
            .unwrap()
    }

    pub(super) fn teams(&self, n: u16, event: ClientEvent) {
        self.teams.client_event(&teams(n), event);
    }

    pub(super) fn genesys_now(&self, n: u16) -> Option<Observed<SystemPresence>> {
        self.genesys.now(&user(n))?.presence.map(|p| p.value.system)
    }

    pub(super) async fn mark(&self, n: u16) -> Option<&'static str> {
        self.store
            .read(&user(n))
            .await
            .unwrap()
            .watch
            .map(|m| m.phase.as_str())
    }
}

const ON_QUEUE: SystemPresence = SystemPresence::OnQueue;
use RoutingStatus::{Idle, Interacting, OffQueue};

#[tokio::test(start_paused = true)]
async fn a_meeting_takes_an_on_queue_agent_off_and_its_end_puts_them_back_with_no_echo() {
    let floor = Floor::new(1, settings(OnQueuePolicy::TakeOff, "", 0));
    floor.teams(1, ClientEvent::SignIn);
    let outcome = floor.genesys_event(1, ON_QUEUE, Idle).await;
    assert_eq!(
        outcome,
        Outcome::Skipped(SkipReason::Unchanged),
        "two-way: On Queue writes nothing to Teams"
    );
    floor.teams(1, ClientEvent::JoinMeeting);
    let report = floor.watch().await;
    assert_eq!(report.taken_off, 1, "{report:?}");
    assert_eq!(
        floor.genesys_now(1),
        Some(Observed::Known(SystemPresence::Meeting))
    );
    let writes = floor.genesys.presence_writes();
    assert_eq!(writes[0].message, "In a Teams meeting");
    assert_eq!(floor.mark(1).await, Some("held"));
    assert_eq!(floor.echoes(0).await, [Outcome::Skipped(SkipReason::Echo)]);
    floor.teams(1, ClientEvent::LeaveMeeting);
    let report = floor.watch().await;
    assert_eq!((report.restored, report.taken_off), (1, 0), "{report:?}");
    assert_eq!(floor.genesys_now(1), Some(Observed::Known(ON_QUEUE)));
    assert_eq!(
        floor.echoes(1).await,
        [Outcome::Skipped(SkipReason::Unchanged)]
    );
    assert!(
        floor.teams.writes().is_empty(),
        "no Graph write in either direction's echo"
    );
    let report = floor.watch().await;
    assert_eq!(
        (report.restored, report.taken_off),
        (0, 0),
        "a restore never happens twice"
    );
}

#[tokio::test(start_paused = true)]
async fn leave_keeps_on_queue_agents_and_takes_available_ones_off() {
    let floor = Floor::new(2, settings(OnQueuePolicy::Leave, "", 0));
    floor.genesys_event(1, ON_QUEUE, Idle).await;
    floor
        .genesys_event(2, SystemPresence::Available, OffQueue)
        .await;
    floor.teams(1, ClientEvent::StartCall);
    floor.teams(2, ClientEvent::StartCall);
    let report = floor.watch().await;
    assert_eq!(report.taken_off, 1, "{report:?}");
    assert_eq!(report.skipped.get("on-queue-left"), Some(&1));
    assert_eq!(floor.genesys_now(1), Some(Observed::Known(ON_QUEUE)));
    assert_eq!(
        floor.genesys_now(2),
        Some(Observed::Known(SystemPresence::Busy))
    );
}

#[tokio::test(start_paused = true)]
async fn an_interacting_or_offline_agent_is_never_changed() {
    let floor = Floor::new(2, settings(OnQueuePolicy::TakeOff, "", 0));
    floor.genesys_event(1, ON_QUEUE, Interacting).await;
    floor
        .genesys_event(2, SystemPresence::Offline, OffQueue)
        .await;
    floor.teams(1, ClientEvent::StartCall);
    floor.teams(2, ClientEvent::JoinMeeting);
    let report = floor.watch().await;
    assert_eq!(report.taken_off, 0, "{report:?}");
    assert_eq!(report.skipped.get("interacting"), Some(&1));
    assert_eq!(report.skipped.get("offline"), Some(&1));
    assert!(floor.genesys.presence_writes().is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_agent_who_goes_back_on_queue_during_the_meeting_wins() {
    let floor = Floor::new(1, settings(OnQueuePolicy::TakeOff, "", 0));
    floor.genesys_event(1, ON_QUEUE, Idle).await;
    floor.teams(1, ClientEvent::JoinMeeting);
    floor.watch().await;
    floor.echoes(0).await;
    tokio::time::advance(Duration::from_secs(60)).await;
    floor.genesys_event(1, ON_QUEUE, Idle).await;
    let report = floor.watch().await;
    assert_eq!(
        (report.overridden, report.taken_off),
        (1, 0),
        "not taken off again: {report:?}"
    );
    floor.teams(1, ClientEvent::LeaveMeeting);
    let report = floor.watch().await;
    assert_eq!((report.restored, report.forgotten), (0, 1), "{report:?}");
    assert_eq!(floor.genesys_now(1), Some(Observed::Known(ON_QUEUE)));
    assert_eq!(floor.mark(1).await, None);
    assert_eq!(
        floor.genesys.presence_writes().len(),
        1,
        "only the take-off was written"
    );
}

#[tokio::test(start_paused = true)]
async fn an_override_to_a_masked_state_waits_until_teams_can_be_seen_again() {
    let floor = Floor::new(1, settings(OnQueuePolicy::TakeOff, "", 0));
    floor.genesys_event(1, ON_QUEUE, Idle).await;
    floor.teams(1, ClientEvent::JoinMeeting);
    floor.watch().await;
    floor.echoes(0).await;
    // Away is a preferred presence of ours: the meeting is hidden from Graph's reads.
    floor.genesys_event(1, SystemPresence::Away, OffQueue).await;
    let report = floor.watch().await;
    assert_eq!((report.overridden, report.forgotten), (1, 0), "{report:?}");
    floor.genesys_event(1, ON_QUEUE, Idle).await;
    let report = floor.watch().await;
    assert_eq!(
        report.taken_off, 0,
        "the meeting it gave way to is not taken up again: {report:?}"
    );
    floor.teams(1, ClientEvent::LeaveMeeting);
    let report = floor.watch().await;
    assert_eq!((report.restored, report.forgotten), (0, 1), "{report:?}");
    assert_eq!(floor.genesys.presence_writes().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_preferred_presence_of_ours_is_never_read_as_the_agents_own() {
    // A rule that would take an agent off for Teams `Busy`: our own preferred Busy (the
    // agent was in Genesys Busy a moment ago) must not count.
    let rules = r#"{"Busy": {"presence": "AWAY"}}"#;
    let floor = Floor::new(1, settings(OnQueuePolicy::TakeOff, rules, 0));
    floor.teams(1, ClientEvent::SignIn);
    let set = floor.genesys_event(1, SystemPresence::Busy, OffQueue).await;
    assert!(matches!(set, Outcome::Applied(..)), "{set:?}");
    // The event that clears it is late: Genesys shows On Queue, Teams still our Busy.
    floor.genesys.set_user(
        &user(1),
        Some(&teams(1).to_string()),
        Observation {
            presence: Some(presence(ON_QUEUE, floor.clock.now_ms())),
            routing: Some(Stamped {
                value: Observed::Known(Idle),
                version: Version::from_millis(floor.clock.now_ms()),
            }),
        },
    );
    let report = floor.watch().await;
    assert_eq!(report.taken_off, 0, "{report:?}");
    assert_eq!(report.skipped.get("masked"), Some(&1), "{report:?}");
}

#[tokio::test(start_paused = true)]
async fn a_call_shorter_than_the_debounce_changes_nothing() {
    let floor = Floor::new(1, settings(OnQueuePolicy::TakeOff, "", 15));
    floor.genesys_event(1, ON_QUEUE, Idle).await;
    floor.teams(1, ClientEvent::StartCall);
    let short_call = async {
        tokio::time::sleep(Duration::from_secs(12)).await;
        floor.teams(1, ClientEvent::EndCall);
    };
    let (report, ()) = tokio::join!(floor.watch(), short_call);
    assert_eq!(report.taken_off, 0, "{report:?}");
    assert!(floor.genesys.presence_writes().is_empty());
    floor.teams(1, ClientEvent::StartCall);
    // A run ends after its last poll before its deadline (20 s here): this one starts then,
    // and must outlast the debounce by a poll.
    let report = floor.watch_for(40).await;
    assert_eq!(
        report.taken_off, 1,
        "a call that lasts is acted on: {report:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_refused_genesys_write_takes_its_mark_back_and_is_tried_again() {
    let floor = Floor::new(1, settings(OnQueuePolicy::TakeOff, "", 0));
    floor.genesys_event(1, ON_QUEUE, Idle).await;
    floor.teams(1, ClientEvent::StartCall);
    floor.genesys.fail_next_presence_writes(1);
    let report = floor.watch().await;
    assert_eq!(
        report.taken_off, 1,
        "the first poll fails, a later one of the run takes off: {report:?}"
    );
    assert_eq!(report.failed, 1);
    assert_eq!(floor.mark(1).await, Some("held"));
}

#[tokio::test(start_paused = true)]
async fn our_mark_is_written_before_the_genesys_write() {
    let floor = Floor::new(1, settings(OnQueuePolicy::TakeOff, "", 0));
    floor.genesys_event(1, ON_QUEUE, Idle).await;
    floor.teams(1, ClientEvent::JoinMeeting);
    floor.watch().await;
    let record = floor.store.read(&user(1)).await.unwrap();
    let mark = record.watch.unwrap();
    let written = &floor.genesys.presence_writes()[0];
    assert!(
        matches!(mark.phase, Phase::Held { version, .. } if version == written.presence.version)
    );
    assert!(mark.phase.at_ms() <= floor.clock.now_ms());
    assert_eq!(mark.restore_to.system, Observed::Known(ON_QUEUE));
}
