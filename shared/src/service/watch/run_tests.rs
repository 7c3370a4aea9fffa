//! The watcher's runs as a warm process sees them: the roster asks what is already known
//! before it costs Genesys anything, and the poll schedule goes on across runs.

use super::tests::{Floor, settings, teams, user};
use super::*;
use crate::adapters::memory::graph_presence::ClientEvent;
use crate::domain::presence::{Observed, RoutingStatus, SystemPresence};
use crate::ports::{CachedTeamsId, Clock, TeamsIdEntry};

/// Every agent recorded On Queue and idle, their Teams id in the table's cache (an earlier
/// day's lookups), signed in to Teams.
async fn floor_on_queue(agents: u16) -> Floor {
    on_queue_with(agents, settings(OnQueuePolicy::TakeOff, "", 0)).await
}

async fn on_queue_with(agents: u16, settings: WatchSettings) -> Floor {
    floor_with_recorded(agents, agents, settings).await
}

/// The same, with only the first `recorded` agents' events recorded so far.
async fn floor_with_recorded(agents: u16, recorded: u16, settings: WatchSettings) -> Floor {
    let floor = Floor::new(agents, settings);
    let now_s = floor.clock.now_ms() / 1000;
    for n in 1..=agents {
        floor.teams(n, ClientEvent::SignIn);
        if n <= recorded {
            floor
                .genesys_event(n, SystemPresence::OnQueue, RoutingStatus::Idle)
                .await;
        }
        let cached = CachedTeamsId {
            entry: TeamsIdEntry::Teams(teams(n)),
            expires_at: now_s + 86_400,
            origin: Default::default(),
        };
        let (user, teams) = (user(n), teams(n));
        floor.store.put(&user, &cached, now_s).await.unwrap();
        let claim = floor.store.claim(&teams, &user, now_s + 86_400, now_s);
        claim.await.unwrap();
    }
    floor
}

#[tokio::test(start_paused = true)]
async fn a_new_process_takes_the_cached_teams_ids_and_reads_no_directory_page() {
    let floor = floor_on_queue(120).await;
    let report = floor.watch().await;
    assert_eq!(report.watched, 120, "{report:?}");
    assert_eq!(
        floor.genesys.calls(),
        0,
        "no directory page (and no bulk read: nothing changed in Teams)"
    );
}

#[tokio::test(start_paused = true)]
async fn a_teams_change_between_two_runs_of_a_warm_process_is_acted_on_within_the_period() {
    // Three batches of Graph's 650: the last agent alone in the third, read at 6.67 s into
    // each period (the first run's last such slot, 56.67 s, falls after its work ends).
    let floor = floor_on_queue(1_301).await;
    let start = Instant::now();
    let first = floor.watch_for(58).await;
    assert_eq!(first.watched, 1_301, "{first:?}");
    // From here the table answers in 500 ms a call: the walk of the records takes seconds,
    // as a 20,000-agent table's 200 pages do.
    floor.store.set_latency(Duration::from_millis(500));
    let (second, lag) = meeting_during_the_next_run(&floor, start, 1_301, 57).await;
    assert_eq!(second.taken_off, 1, "{second:?}");
    assert!(
        lag <= Duration::from_secs(13),
        "Teams → Genesys lag {lag:?}: more than the period and 3 s"
    );
}

#[tokio::test(start_paused = true)]
async fn agents_picked_by_several_batches_within_the_window_cost_one_genesys_bulk_read() {
    // Three batches of Graph's 650 read a third of a second apart (a period of 1 s), an agent
    // joining a meeting in each: one look reads all three in Genesys.
    let mut fast = settings(OnQueuePolicy::TakeOff, "", 0);
    fast.period = Duration::from_secs(1);
    let floor = on_queue_with(1_301, fast).await;
    for n in [1, 651, 1_301] {
        floor.teams(n, ClientEvent::JoinMeeting);
    }
    let report = floor.watch_for(10).await;
    assert_eq!(report.taken_off, 3, "{report:?}");
    assert_eq!(floor.genesys.calls(), 1, "one bulk read, not one per batch");
}

#[tokio::test(start_paused = true)]
async fn a_take_off_with_no_genesys_slot_left_in_its_run_is_made_by_the_next_run() {
    // Three Genesys requests a minute: the org's definitions take the slot at 0 s, the bulk
    // read the one at 20 s, and the next (40 s) falls after the first run's work (28.5 s).
    let mut scarce = settings(OnQueuePolicy::TakeOff, "", 0);
    scarce.genesys_per_minute = 3;
    let floor = on_queue_with(1, scarce).await;
    floor.teams(1, ClientEvent::JoinMeeting);
    let first = floor.watch_for(30).await;
    assert_eq!((first.looked, first.taken_off), (1, 0), "{first:?}");
    assert_eq!(floor.mark(1).await, None, "nothing marked without a slot");
    let second = floor.watch_for(60).await;
    assert_eq!(second.taken_off, 1, "{second:?}");
    assert_eq!(
        floor.genesys_now(1),
        Some(Observed::Known(SystemPresence::Meeting))
    );
}

#[tokio::test(start_paused = true)]
async fn an_agent_first_recorded_during_a_run_is_watched_within_it() {
    // A shift start: the run's walk finds agent 1, who is new; agent 2's first Genesys event
    // is recorded 5 s into the run and their meeting starts at once. A walk that found the
    // roster growing is made again within the run, so agent 2 is taken off in it, not a
    // minute later.
    let floor = floor_with_recorded(2, 1, settings(OnQueuePolicy::TakeOff, "", 0)).await;
    let start = Instant::now();
    let run = floor.watch_for(58);
    let joins = async {
        tokio::time::sleep_until(start + Duration::from_secs(5)).await;
        floor
            .genesys_event(2, SystemPresence::OnQueue, RoutingStatus::Idle)
            .await;
        floor.teams(2, ClientEvent::JoinMeeting);
        let end = start + Duration::from_secs(58);
        while floor.genesys_now(2) != Some(Observed::Known(SystemPresence::Meeting))
            && Instant::now() < end
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Instant::now() - start
    };
    let (report, taken_off_at) = tokio::join!(run, joins);
    assert_eq!(report.taken_off, 1, "{report:?}");
    assert!(
        taken_off_at
            <= Duration::from_secs(5) + crate::policy::WATCH_GROWING_WALK + Duration::from_secs(13),
        "taken off {taken_off_at:?} into the run"
    );
}

#[tokio::test(start_paused = true)]
async fn a_run_in_which_no_one_is_new_walks_the_records_once() {
    // A new process: its first walk finds everyone new, so it walks once more 15 s later and
    // finds no one; the next run of the warm process finds no one new and walks once.
    let floor = floor_on_queue(3).await;
    let first = floor.watch_for(58).await;
    assert_eq!((first.watched, first.walks), (3, 2), "{first:?}");
    let second = floor.watch_for(58).await;
    assert_eq!(second.walks, 1, "{second:?}");
}

#[tokio::test(start_paused = true)]
async fn a_teams_change_is_not_held_behind_the_take_offs_a_walk_found() {
    // 100 agents in a meeting while interacting: left alone. Between two runs their
    // interactions end, so the next run's walk finds 100 records changed, each a take-off
    // due (22 s of writes at 270 a minute, a client of the watcher's own). Agent 101 joins a
    // meeting 4 s into that run: its take-off must not wait for all of them.
    let mut own_client = settings(OnQueuePolicy::TakeOff, "", 0);
    own_client.genesys_per_minute = 270;
    let floor = floor_with_recorded(101, 101, own_client).await;
    for n in 1..=100 {
        (floor.genesys_event(n, SystemPresence::OnQueue, RoutingStatus::Interacting)).await;
        floor.teams(n, ClientEvent::JoinMeeting);
    }
    let start = Instant::now();
    let first = floor.watch_for(58).await;
    assert_eq!(first.taken_off, 0, "{first:?}");
    tokio::time::sleep_until(start + Duration::from_secs(59)).await;
    for n in 1..=100 {
        (floor.genesys_event(n, SystemPresence::OnQueue, RoutingStatus::Idle)).await;
    }
    let (second, lag) = meeting_during_the_next_run(&floor, start, 101, 64).await;
    assert_eq!(second.taken_off, 101, "{second:?}");
    assert!(
        lag <= Duration::from_secs(13),
        "Teams → Genesys lag {lag:?} behind the walk's take-offs: more than the period and 3 s"
    );
}

/// A second run 60 s after `start`, of 58 s, and agent `n` joining a meeting `joined_s` after
/// `start`: the run's report, and how long after joining the agent was taken off.
async fn meeting_during_the_next_run(
    floor: &Floor,
    start: Instant,
    n: u16,
    joined_s: u64,
) -> (WatchReport, Duration) {
    let joined = start + Duration::from_secs(joined_s);
    let second_run = async {
        tokio::time::sleep_until(start + Duration::from_secs(60)).await;
        floor.watch_for(58).await
    };
    let meeting = async {
        tokio::time::sleep_until(joined).await;
        floor.teams(n, ClientEvent::JoinMeeting);
        let end = start + Duration::from_secs(118);
        shown_at(floor, n, SystemPresence::Meeting, end).await - joined
    };
    tokio::join!(second_run, meeting)
}

/// Polls, 100 ms apart, until the agent shows `system` in Genesys or `end`; when it did.
async fn shown_at(floor: &Floor, n: u16, system: SystemPresence, end: Instant) -> Instant {
    while floor.genesys_now(n) != Some(Observed::Known(system)) && Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Instant::now()
}

#[tokio::test(start_paused = true)]
async fn a_run_of_five_minutes_sees_the_genesys_changes_recorded_during_it() {
    // Agent 1 is in a meeting while interacting: left alone. The interaction ends 90 s into a
    // five-minute run; a walk of the records each minute sees it within the run.
    let floor = floor_on_queue(1).await;
    (floor.genesys_event(1, SystemPresence::OnQueue, RoutingStatus::Interacting)).await;
    floor.teams(1, ClientEvent::JoinMeeting);
    let start = Instant::now();
    let run = floor.watch_for(298);
    let ends = async {
        tokio::time::sleep_until(start + Duration::from_secs(90)).await;
        (floor.genesys_event(1, SystemPresence::OnQueue, RoutingStatus::Idle)).await;
        let end = start + Duration::from_secs(298);
        shown_at(&floor, 1, SystemPresence::Meeting, end).await - start
    };
    let (report, taken_off_at) = tokio::join!(run, ends);
    assert_eq!(report.taken_off, 1, "{report:?}");
    let within = Duration::from_secs(90 + 60 + 13);
    assert!(
        taken_off_at <= within,
        "taken off {taken_off_at:?} into the run"
    );
}

#[tokio::test(start_paused = true)]
async fn a_run_that_yields_to_a_shift_start_polls_again_once_it_is_over() {
    // 59 of 60 agents go Away at once (the event path's Teams writes: a burst), so the run
    // yields Graph at its start; a minute on, the burst is over and agent 1's meeting (100 s
    // into the run) is acted on.
    let floor = floor_on_queue(60).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    for n in 2..=60 {
        (floor.genesys_event(n, SystemPresence::Away, RoutingStatus::OffQueue)).await;
    }
    let start = Instant::now();
    let run = floor.watch_for(298);
    let meeting = async {
        tokio::time::sleep_until(start + Duration::from_secs(100)).await;
        floor.teams(1, ClientEvent::JoinMeeting);
        let end = start + Duration::from_secs(298);
        shown_at(&floor, 1, SystemPresence::Meeting, end).await - start
    };
    let (report, taken_off_at) = tokio::join!(run, meeting);
    assert!(report.yielded, "{report:?}");
    assert_eq!(report.taken_off, 1, "{report:?}");
    assert!(
        taken_off_at <= Duration::from_secs(100 + 13),
        "taken off {taken_off_at:?} into the run"
    );
}

#[tokio::test(start_paused = true)]
async fn a_directory_longer_than_a_walk_still_teaches_the_teams_ids_its_pages_held() {
    // A first day in two-way mode: 3,000 agents recorded, no Teams id cached. At 60 Genesys
    // requests a minute a pass over the directory (30 pages of 100) takes 30 s, longer than a
    // walk's roster time (15 s); the table answers in 5 ms.
    let floor = Floor::new(3_000, settings(OnQueuePolicy::TakeOff, "", 0));
    for n in 1..=3_000 {
        floor.teams(n, ClientEvent::SignIn);
        (floor.genesys_event(n, SystemPresence::OnQueue, RoutingStatus::Idle)).await;
    }
    floor.store.set_latency(Duration::from_millis(5));
    let report = floor.watch_for(58).await;
    let pages = floor.genesys.calls();
    // Every id the pages read is learnt (before: 770 of the 2,800 in 28 pages).
    assert!(
        report.watched >= 2_700,
        "{report:?}, {pages} Genesys requests"
    );
}

#[tokio::test(start_paused = true)]
async fn a_run_reports_its_yield_though_a_later_walk_found_the_burst_over() {
    // The burst's writes are 50 s old when the run starts: its first walk yields, the walk
    // 15 s later finds them past the burst window and ends the yield.
    let floor = floor_on_queue(60).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    for n in 2..=60 {
        (floor.genesys_event(n, SystemPresence::Away, RoutingStatus::OffQueue)).await;
    }
    tokio::time::sleep(Duration::from_secs(50)).await;
    let report = floor.watch_for(58).await;
    assert!(report.yielded, "{report:?}");
    assert!(
        report.polls > 0,
        "polled once the burst was over: {report:?}"
    );
}
