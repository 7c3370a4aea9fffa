//! Departed agents let go: a user Genesys no longer lists as active is cleared once (only what
//! we set), their claim released, then left alone; active again, they are synced again.

use super::*;
use crate::domain::left::LeftReason;
use crate::domain::outcome::SkipReason;
use crate::ports::{Account, Claim, TeamsIdCache};

/// Agent 1 On Queue (Teams Busy, applied an hour ago: keep-alive due), agent 2 likewise.
async fn two_on_queue() -> Org {
    let org = Org::new(2);
    for n in 1..=2 {
        org.event(n, "ON_QUEUE", 1_000).await;
        let mut record = org.store.record_of(&user(n));
        record.applied_at_ms = Some(now_ms() - 3_600_000);
        org.store.put_record(&user(n), record);
    }
    org
}

#[tokio::test]
async fn a_deactivated_agent_is_cleared_once_released_and_then_left_alone() {
    let org = two_on_queue().await;
    org.genesys.set_account(&user(1), Account::Inactive);
    let before = org.teams.writes();
    let report = org.run(DriftPolicy::Report).await;
    assert_eq!((report.let_go, report.kept_alive), (1, 1), "{report:?}");
    assert_eq!(org.shown(1), TeamsState::Cleared, "what we set is cleared");
    let writes = org.teams.writes();
    let to_one: Vec<_> = writes[before.len()..]
        .iter()
        .filter(|w| w.user == teams(1))
        .collect();
    assert_eq!(to_one.len(), 1, "one write, the clear: {to_one:?}");
    let record = org.store.record_of(&user(1));
    assert_eq!(record.left.map(|l| l.reason), Some(LeftReason::Departed));
    // The claim on their Teams id is released: another Genesys user may be given it.
    let now = now_ms() / 1000;
    let claim = org.store.claim(&teams(1), &user(9), now + 60, now).await;
    assert_eq!(claim.unwrap(), Claim::Granted);
    // Left alone: the next passes write nothing for them, keep-alive and drift included.
    org.teams.set_by_hand(&teams(1), TeamsPresence::Available);
    let before = org.writes();
    for _ in 0..2 {
        let report = org.run(DriftPolicy::Repair).await;
        assert_eq!(report.let_go, 0, "once: {report:?}");
    }
    assert_eq!(org.writes(), before);
    // An event Genesys still sends for them changes nothing in Teams.
    let outcome = org.outcome(1, "AVAILABLE", 5_000).await.unwrap();
    assert_eq!(
        outcome,
        Outcome::Skipped(SkipReason::Left(LeftReason::Departed))
    );
    assert_eq!(org.writes(), before);
}

#[tokio::test]
async fn a_departed_agent_we_set_nothing_for_costs_no_graph_call() {
    let org = Org::new(1);
    org.event(1, "OFFLINE", 1_000).await;
    org.genesys.set_account(&user(1), Account::Deleted);
    let before = org.writes();
    let report = org.run(DriftPolicy::Report).await;
    assert_eq!(report.let_go, 1, "{report:?}");
    assert_eq!(org.writes(), before, "nothing of ours to clear");
}

#[tokio::test]
async fn an_agent_genesys_no_longer_knows_is_let_go() {
    let org = Org::new(1);
    org.event(1, "ON_QUEUE", 1_000).await;
    let record = org.store.record_of(&user(1));
    // The agent's id no longer exists in Genesys (absent from a complete bulk answer).
    let other = Org::new(0);
    let sync = &org.sync;
    let report = sync
        .reconcile_user(
            &other.genesys,
            &org.teams,
            &org.shared,
            &settings(DriftPolicy::Report),
            &user(1),
            &invocation(30),
        )
        .await
        .unwrap();
    assert_eq!(report.let_go, 1, "{report:?} ({record:?})");
    assert_eq!(org.shown(1), TeamsState::Cleared);
}

#[tokio::test]
async fn an_agent_active_again_is_synced_from_genesys_now() {
    let org = two_on_queue().await;
    org.genesys.set_account(&user(1), Account::Inactive);
    org.run(DriftPolicy::Report).await;
    assert_eq!(org.shown(1), TeamsState::Cleared);
    // Reactivated, On Queue since before they were let go: no newer version, still synced.
    org.genesys.set_account(&user(1), Account::Active);
    let report = org.run(DriftPolicy::Report).await;
    assert_eq!(report.rejoined, 1, "{report:?}");
    assert_eq!(org.shown(1), BUSY);
    assert_eq!(org.store.record_of(&user(1)).left, None);
    // And events apply again.
    org.event(1, "BREAK", 9_000).await;
    assert_eq!(org.shown(1), AWAY);
}

#[tokio::test]
async fn an_agent_whose_read_failed_is_not_taken_for_departed() {
    let org = two_on_queue().await;
    org.genesys.fail_next_reads(1);
    let report = org.run(DriftPolicy::Report).await;
    assert_eq!(report.let_go, 0, "{report:?}");
    assert!(org.store.record_of(&user(1)).left.is_none());
    assert_eq!(org.shown(1), BUSY);
}
