//! The reconciler's limits: no wait outlives the run, no action holds an agent's lease long
//! enough to fail their event, a blind walk is not a pass.

use super::*;
use crate::adapters::memory::Failure;
use crate::metrics::{self, BULK_READ_FAILURES, PASS_COMPLETED};

/// `n` agents On Queue, each keep-alive due.
pub(super) async fn due(n: u8) -> Org {
    let org = Org::new(n);
    for i in 1..=n {
        org.event(i, "ON_QUEUE", 1_000).await;
        let mut record = org.store.record_of(&user(i));
        record.applied_at_ms = Some(now_ms() - 3_600_000);
        org.store.put_record(&user(i), record);
    }
    org
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_longer_than_the_run_ends_the_run_in_time_and_keeps_its_place() {
    let org = due(4).await;
    // Graph answers the run's first bulk read with 429, Retry-After 200 s; the run has 30 s.
    org.teams.fail_next_reads([Failure::Throttled(200)]);
    let started = tokio::time::Instant::now();
    let report = org.run(DriftPolicy::Report).await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(30),
        "the run waited {took:?}, past its deadline"
    );
    assert!(report.cut && !report.walk_completed, "{report:?}");
    // Its place is kept: a run after the Retry-After finishes the walk, nobody skipped.
    tokio::time::sleep(Duration::from_secs(200)).await;
    let report = org.run(DriftPolicy::Report).await;
    assert!(report.walk_completed, "{report:?}");
    assert_eq!(report.kept_alive, 4, "{report:?}");
}

#[tokio::test(start_paused = true)]
async fn an_event_that_meets_a_slow_keep_alive_is_applied_after_it() {
    let org = due(1).await;
    // Graph is slow: 6 s per write (an attempt of the HTTP adapter may take 8 s).
    org.teams.set_latency(Duration::from_secs(6));
    let pass = org.run(DriftPolicy::Report);
    let event = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        org.outcome(1, "BREAK", 2_000).await
    };
    let (_, event) = tokio::join!(pass, event);
    assert_eq!(
        event.expect("the event is applied, not failed UserBusy"),
        Outcome::Applied(TeamsPresence::Away, Why::Changed)
    );
    assert_eq!(org.shown(1), AWAY, "the event's state is the last one");
}

#[tokio::test]
async fn a_walk_whose_reads_all_failed_is_not_a_pass_and_says_so() {
    let org = due(3).await;
    org.genesys.fail_next_reads(10);
    let (report, batch) = metrics::capture(org.run(DriftPolicy::Report)).await;
    assert!(!report.walk_completed, "{report:?}");
    assert_eq!(report.reads.genesys_failed, 2, "pages of two: {report:?}");
    assert_eq!(batch.count(&PASS_COMPLETED, &[]), 0);
    assert_eq!(batch.count(&BULK_READ_FAILURES, &["GenesysUsers"]), 2);
    // Genesys answers again: the next walk is a pass.
    org.genesys.fail_next_reads(0);
    let (report, batch) = metrics::capture(org.run(DriftPolicy::Report)).await;
    assert!(report.walk_completed, "{report:?}");
    assert_eq!(batch.count(&PASS_COMPLETED, &[]), 1);
}

#[tokio::test]
async fn a_walk_with_some_reads_failed_is_a_pass_with_its_failures_counted() {
    let org = due(4).await;
    org.genesys.fail_next_reads(1);
    let (report, batch) = metrics::capture(org.run(DriftPolicy::Report)).await;
    assert!(report.walk_completed, "{report:?}");
    assert_eq!(
        (report.reads.genesys_failed, report.reads.genesys_ok),
        (1, 1)
    );
    assert_eq!(batch.count(&PASS_COMPLETED, &[]), 1);
    assert_eq!(batch.count(&BULK_READ_FAILURES, &["GenesysUsers"]), 1);
}

#[tokio::test(start_paused = true)]
async fn a_run_cut_in_the_middle_of_a_page_goes_on_after_the_last_user_it_judged() {
    let org = due(60).await;
    let mut slow = ReconcileSettings {
        page_size: 100,
        ..settings(DriftPolicy::Report)
    };
    // One Graph call a second: the 30 s run has time for about 25 keep-alives.
    slow.graph_per_30s = 30;
    let shared = Shared::new(&slow);
    let sync = PresenceSync::new(
        org.store.clone(),
        org.store.clone(),
        Hinted::new(&shared, org.directory.clone()),
        org.teams.clone(),
        PresenceMapping::default(),
        Settings::default(),
    );
    let run = || async {
        let outcome = sync
            .reconcile(&org.genesys, &org.teams, &shared, &slow, &invocation(30))
            .await
            .unwrap();
        let PassOutcome::Worked(report) = outcome else {
            panic!("{outcome:?}")
        };
        report
    };
    let before = org.teams.writes().len();
    let first = run().await;
    assert!(
        first.cut && (10..60).contains(&first.kept_alive),
        "{first:?}"
    );
    // The next run does not judge again the users just kept alive (whose fresh writes would
    // look like the event path's burst and make it yield): it goes on after them.
    let second = run().await;
    assert!(!second.yielded && second.kept_alive > 0, "{second:?}");
    let writes = org.teams.writes().split_off(before);
    let mut users: Vec<_> = writes.iter().map(|w| w.user.clone()).collect();
    users.sort();
    users.dedup();
    assert_eq!(users.len(), writes.len(), "nobody kept alive twice");
}
