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

/// What the table caches of `n`'s memberships now (expired entries included: `expires_at`).
async fn cached(org: &Org, n: u8) -> Option<crate::ports::CachedMembership> {
    use crate::ports::TeamsIdCache;
    org.store.get_membership(&user(n), 0).await.unwrap()
}

fn epoch_s() -> i64 {
    crate::service::limits::now_ms() / 1000
}

#[tokio::test]
async fn the_walk_caches_memberships_before_they_expire_so_a_shift_start_looks_up_none() {
    use crate::ports::{CachedMembership, TeamsIdCache};
    let org = Org::new(3).with_scope(&format!("division:{IN}"));
    for n in 1..=3 {
        place(&org, n, IN, &[]);
        org.event(n, "ON_QUEUE", 1_000).await;
    }
    let now = epoch_s();
    let day = 24 * 3600;
    let keep = |n: u8, expires_at: i64| {
        let membership = Membership {
            division: Some(id(IN)),
            groups: Some(vec![]),
            queues: None,
        };
        let store = org.store.clone();
        async move {
            let cached = CachedMembership {
                membership,
                expires_at,
            };
            store.put_membership(&user(n), &cached).await.unwrap();
        }
    };
    // Agent 1's answer expired (yesterday's lookup), agent 2's expires within the hour,
    // agent 3's was looked up two hours ago.
    keep(1, now - 60).await;
    keep(2, now + 3_000).await;
    keep(3, now + day - 7_200).await;
    let report = org.run(DriftPolicy::Report).await;
    assert_eq!(report.memberships_cached, 2, "{report:?}");
    for n in 1..=2 {
        let expires_at = cached(&org, n).await.unwrap().expires_at;
        assert!(
            expires_at >= now + day - 60,
            "agent {n}: {expires_at} vs {now}"
        );
    }
    assert_eq!(
        cached(&org, 3).await.unwrap().expires_at,
        now + day - 7_200,
        "not due: left as it was (no write)"
    );
    // The shift starts on new instances (nothing in memory): the agents' events ask Genesys
    // for no membership.
    let org = org.with_scope(&format!("division:{IN}"));
    let lookups = org.directory.membership_lookups();
    for n in 1..=3 {
        org.outcome(n, "AVAILABLE", 5_000 + i64::from(n))
            .await
            .unwrap();
    }
    assert_eq!(org.directory.membership_lookups(), lookups);
}

#[tokio::test]
async fn with_every_agent_in_scope_the_walk_caches_no_memberships() {
    let org = Org::new(2).with_scope("all");
    for n in 1..=2 {
        org.event(n, "ON_QUEUE", 1_000).await;
    }
    let report = org.run(DriftPolicy::Report).await;
    assert_eq!(report.memberships_cached, 0, "{report:?}");
    assert!(cached(&org, 1).await.is_none());
}

#[tokio::test]
async fn a_changed_scope_sweeps_at_the_next_run_not_at_the_next_hour() {
    let org = Org::new(3).with_scope(&format!("division:{IN}"));
    place(&org, 1, IN, &[]);
    place(&org, 2, OUT, &[]);
    place(&org, 3, OUT, &[]);
    let report = org.run(DriftPolicy::Report).await;
    assert!(report.sweep_completed, "the first run sweeps: {report:?}");
    assert_eq!(report.backfilled, 1, "{report:?}");
    let report = org.run(DriftPolicy::Report).await;
    assert!(
        !report.sweep_completed,
        "not due within the hour: {report:?}"
    );
    // The operator widens the scope: its joiners are backfilled at the next run, and the
    // memberships of everyone the sweep reads are cached for the event path.
    let org = org.with_scope(&format!("division:{IN},division:{OUT}"));
    let report = org.run(DriftPolicy::Report).await;
    assert!(report.sweep_completed, "a new scope sweeps: {report:?}");
    assert_eq!(report.backfilled, 2, "{report:?}");
    let report = org.run(DriftPolicy::Report).await;
    assert!(!report.sweep_completed, "then not again: {report:?}");
    // The same scope written otherwise (order, case) is the same scope.
    let org = org.with_scope(&format!("DIVISION:{OUT}, division:{IN}"));
    let report = org.run(DriftPolicy::Report).await;
    assert!(!report.sweep_completed, "{report:?}");
}
