//! The reconciler's scope: joiners in scope backfilled and those out of it left alone,
//! leavers cleared once (and the event path then agrees), agents back in scope synced again,
//! queue scopes read from the queues' members, an operator's exclusion honoured.

use super::*;
use crate::domain::left::LeftReason;
use crate::domain::outcome::SkipReason;
use crate::domain::scope::{Exception, ExceptionMark, Membership, ScopeId};
use crate::ports::StateStore;

const IN: &str = "0a0a0a0a-0000-4000-8000-00000000000a";
const OUT: &str = "0e0e0e0e-0000-4000-8000-00000000000e";
const QUEUE: &str = "0c0c0c0c-0000-4000-8000-00000000000c";

fn id(raw: &str) -> ScopeId {
    ScopeId::parse(raw).unwrap()
}

/// Places agent `n` in `division` (and, for queue scopes, in `queues`), as Genesys reports.
fn place(org: &Org, n: u8, division: &str, queues: &[&str]) {
    let membership = Membership {
        division: Some(id(division)),
        groups: Some(vec![]),
        queues: Some(queues.iter().map(|q| id(q)).collect()),
    };
    org.genesys.set_membership(&user(n), membership.clone());
    org.directory.set_membership(&user(n), membership);
}

#[tokio::test]
async fn the_sweep_backfills_joiners_in_scope_and_leaves_the_others_unrecorded() {
    let org = Org::new(3).with_scope(&format!("division:{IN}"));
    place(&org, 1, IN, &[]);
    place(&org, 2, OUT, &[]);
    place(&org, 3, IN, &[]);
    let report = org.run(DriftPolicy::Report).await;
    assert_eq!(report.backfilled, 2, "{report:?}");
    assert_eq!(
        org.store.record_of(&user(2)).rev,
        0,
        "out of scope: not recorded"
    );
    assert_eq!(org.shown(2), TeamsState::Cleared);
    assert_ne!(org.shown(1), TeamsState::Cleared);
}

#[tokio::test]
async fn a_leaver_is_cleared_once_and_the_event_path_then_agrees() {
    let org = Org::new(2).with_scope(&format!("division:{IN}"));
    for n in 1..=2 {
        place(&org, n, IN, &[]);
        org.event(n, "ON_QUEUE", 1_000).await;
    }
    assert_eq!(org.shown(1), BUSY);
    // Agent 1 moves to another division: the walk's bulk read says so.
    place(&org, 1, OUT, &[]);
    let report = org.run(DriftPolicy::Report).await;
    assert_eq!(report.let_go, 1, "{report:?}");
    assert_eq!(org.shown(1), TeamsState::Cleared);
    assert_eq!(org.shown(2), BUSY);
    let left = org.store.record_of(&user(1)).left.map(|l| l.reason);
    assert_eq!(left, Some(LeftReason::OutOfScope));
    // The event path, which cached agent 1 as a member before, now agrees: no Graph call.
    let writes = org.writes();
    let later = org.outcome(1, "AVAILABLE", 5_000).await.unwrap();
    assert_eq!(
        later,
        Outcome::Skipped(SkipReason::Left(LeftReason::OutOfScope))
    );
    assert_eq!(org.writes(), writes);
    // Back in the division: synced again from Genesys's current state.
    place(&org, 1, IN, &[]);
    let report = org.run(DriftPolicy::Report).await;
    assert_eq!(report.rejoined, 1, "{report:?}");
    assert_ne!(org.shown(1), TeamsState::Cleared);
}

#[tokio::test]
async fn a_queue_scope_reads_the_queues_members() {
    let org = Org::new(2).with_scope(&format!("queue:{QUEUE}"));
    place(&org, 1, OUT, &[QUEUE]);
    place(&org, 2, OUT, &[]);
    let report = org.run(DriftPolicy::Report).await;
    assert_eq!(report.backfilled, 1, "{report:?}");
    assert_eq!(org.store.record_of(&user(2)).rev, 0);
    // Agent 1 leaves the queue.
    place(&org, 1, OUT, &[]);
    let report = org.run(DriftPolicy::Report).await;
    assert_eq!(report.let_go, 1, "{report:?}");
    assert_eq!(org.shown(1), TeamsState::Cleared);
}

#[tokio::test]
async fn an_operators_exclusion_lets_a_member_go_and_nothing_brings_them_back() {
    let org = Org::new(1).with_scope("all");
    org.event(1, "ON_QUEUE", 1_000).await;
    let mark = ExceptionMark::new(Exception::Exclude, "arn:aws:iam::1:user/ops", 1);
    org.store
        .set_exception(&user(1), Some(&mark), 1)
        .await
        .unwrap();
    let report = org.run(DriftPolicy::Report).await;
    assert_eq!(report.let_go, 1, "{report:?}");
    assert_eq!(org.shown(1), TeamsState::Cleared);
    org.event(1, "BREAK", 2_000).await;
    let report = org.run(DriftPolicy::Report).await;
    assert_eq!((report.let_go, report.rejoined), (0, 0), "{report:?}");
    assert_eq!(org.shown(1), TeamsState::Cleared, "excluded stays out");
}
