//! The contract of [`StateStore`]: the conditional writes of `domain::state`, reads one and
//! many, and what a hand-edited record does to them.

use super::{HandEdit, Table, observed, teams, user};
use crate::adapters::keys::user_key;
use crate::domain::ids::GenesysUserId;
use crate::domain::left::LeftReason;
use crate::domain::scope::{Exception, ExceptionMark};
use crate::domain::state::{Intent, Lease, UserState};
use crate::domain::teams::{TeamsPresence, TeamsState};
use crate::ports::{Finish, Recorded, StateStore};

pub(super) const NOW: i64 = 1_900_000_000_000;

pub(super) fn lease(owner: &str) -> Lease {
    Lease {
        owner: owner.to_owned(),
        until_ms: NOW + 10_000,
    }
}

/// Records Genesys reporting `system` at `ms` for `u`, claiming the lease with `claim`.
pub(super) async fn record<T: StateStore>(
    table: &T,
    u: &GenesysUserId,
    event: &str,
    (system, ms): (&str, i64),
    claim: Option<&Lease>,
) -> Recorded {
    let observation = observed(system, ms);
    let claim = claim.map(|lease| (Intent::Pending, lease));
    table
        .record(u, event, &observation, claim, NOW)
        .await
        .unwrap()
}

pub(super) fn accepted(answer: Recorded) -> UserState {
    match answer {
        Recorded::Accepted { before } => before,
        refused => panic!("expected the write to be accepted: {refused:?}"),
    }
}

pub(super) fn refused(answer: Recorded) -> UserState {
    match answer {
        Recorded::Refused { current } => current,
        accepted => panic!("expected the write to be refused: {accepted:?}"),
    }
}

pub async fn a_missing_record_reads_empty_and_a_recorded_one_reads_back<T: Table>(table: &T) {
    let u = user(1);
    assert_eq!(table.read(&u).await.unwrap(), UserState::default());
    let before = record(table, &u, "e1", ("ON_QUEUE", 1_000), None).await;
    assert_eq!(accepted(before), UserState::default());
    let record = table.read(&u).await.unwrap();
    assert_eq!(record.presence, observed("ON_QUEUE", 1_000).presence);
    assert_eq!((record.rev, record.last_event.as_deref()), (1, Some("e1")));
    assert_eq!(record.applied(), TeamsState::Cleared);
}

pub async fn an_older_observation_is_refused_with_the_record_as_it_is<T: Table>(table: &T) {
    let u = user(2);
    accepted(record(table, &u, "e2", ("BREAK", 2_000), None).await);
    let current = refused(record(table, &u, "e1", ("ON_QUEUE", 1_000), None).await);
    assert_eq!(current.presence, observed("BREAK", 2_000).presence);
    // The same version again is not newer either.
    refused(record(table, &u, "e3", ("BREAK", 2_000), None).await);
}

pub async fn a_lease_is_taken_as_the_claim_rule_allows_and_used_only_by_its_holder<T: Table>(
    table: &T,
) {
    let (u, a, b) = (user(3), lease("a"), lease("b"));
    accepted(record(table, &u, "e1", ("ON_QUEUE", 1_000), Some(&a)).await);
    // Dirty and leased by a: a write claiming the lease for b is refused whole.
    let second = record(table, &u, "e2", ("BREAK", 2_000), Some(&b)).await;
    assert_eq!(refused(second).lease, Some(a.clone()));
    assert!(!table.mark_pending(&u, "b", NOW).await.unwrap());
    assert!(table.mark_pending(&u, "a", NOW).await.unwrap());
    let busy = TeamsState::Preferred(TeamsPresence::Busy);
    let done = table.finish(&u, "a", Finish::Applied(busy, teams(3)), NOW);
    assert!(done.await.unwrap());
    assert!(
        !table.finish(&u, "a", Finish::Untouched, NOW).await.unwrap(),
        "released"
    );
    let after = table.read(&u).await.unwrap();
    assert_eq!((after.applied(), after.dirty()), (busy, false));
    assert_eq!((after.lease, after.applied_to), (None, Some(teams(3))));
    // Clean again: anyone may claim it.
    accepted(record(table, &u, "e3", ("BREAK", 3_000), Some(&b)).await);
}

pub async fn reclaim_and_replace_insist_on_the_revision<T: Table>(table: &T) {
    let u = user(4);
    accepted(record(table, &u, "e1", ("ON_QUEUE", 1_000), None).await);
    let rev = table.read(&u).await.unwrap().rev;
    let a = lease("a");
    refused(
        table
            .reclaim(&u, rev + 1, Intent::Pending, &a, NOW)
            .await
            .unwrap(),
    );
    accepted(
        table
            .reclaim(&u, rev, Intent::Pending, &a, NOW)
            .await
            .unwrap(),
    );
    assert!(table.finish(&u, "a", Finish::Untouched, NOW).await.unwrap());
    let rev = table.read(&u).await.unwrap().rev;
    let poisoned = observed("AVAILABLE", 500);
    refused(
        table
            .replace(&u, rev - 1, &poisoned, "repair", NOW)
            .await
            .unwrap(),
    );
    accepted(
        table
            .replace(&u, rev, &poisoned, "repair", NOW)
            .await
            .unwrap(),
    );
    let record = table.read(&u).await.unwrap();
    assert_eq!(
        record.presence, poisoned.presence,
        "replaced whatever the versions"
    );
}

pub async fn letting_go_and_rejoining_insist_on_the_revision_and_read_back<T: Table>(table: &T) {
    let u = user(5);
    accepted(record(table, &u, "e1", ("ON_QUEUE", 1_000), Some(&lease("a"))).await);
    let busy = TeamsState::Preferred(TeamsPresence::Busy);
    assert!(
        table
            .finish(&u, "a", Finish::Applied(busy, teams(5)), NOW)
            .await
            .unwrap()
    );
    let read = table.read(&u).await.unwrap();
    let mut stale = read.clone();
    stale.rev -= 1;
    refused(
        table
            .let_go(&u, &stale, LeftReason::Departed, NOW)
            .await
            .unwrap(),
    );
    accepted(
        table
            .let_go(&u, &read, LeftReason::Departed, NOW)
            .await
            .unwrap(),
    );
    let gone = table.read(&u).await.unwrap();
    assert_eq!(
        gone,
        read.after_let_go(read.rev, LeftReason::Departed, NOW)
            .unwrap()
    );
    assert!(gone.dirty(), "what we set is to be cleared");
    let current = observed("BREAK", 2_000);
    refused(
        table
            .rejoin(&u, &read, &current, "reconcile", NOW)
            .await
            .unwrap(),
    );
    accepted(
        table
            .rejoin(&u, &gone, &current, "reconcile", NOW)
            .await
            .unwrap(),
    );
    let back = table.read(&u).await.unwrap();
    assert_eq!(
        back,
        gone.after_rejoin(gone.rev, &current, "reconcile", NOW)
            .unwrap()
    );
    assert_eq!((back.left, back.presence), (None, current.presence));
}

pub async fn a_scope_exception_is_kept_on_the_record_and_removed<T: Table>(table: &T) {
    let u = user(6);
    let mark = ExceptionMark::new(
        Exception::Exclude,
        "arn:aws:iam::123456789012:user/ops",
        NOW,
    );
    table.set_exception(&u, Some(&mark), NOW).await.unwrap();
    let read = table.read(&u).await.unwrap();
    assert_eq!(
        (read.exception.as_ref(), read.rev),
        (Some(&mark), 1),
        "a record made for it"
    );
    accepted(record(table, &u, "e1", ("ON_QUEUE", 1_000), None).await);
    let read = table.read(&u).await.unwrap();
    assert_eq!(
        read.exception.as_ref(),
        Some(&mark),
        "kept by the event path's writes"
    );
    table.set_exception(&u, None, NOW).await.unwrap();
    let read = table.read(&u).await.unwrap();
    assert_eq!((read.exception, read.rev), (None, 3));
    assert_eq!(read.presence, observed("ON_QUEUE", 1_000).presence);
}

pub async fn an_unreadable_record_fails_its_read_naming_it<T: Table>(table: &T) {
    for (n, edit) in [(5, HandEdit::WrongType), (6, HandEdit::UnknownValue)] {
        table.put_user_item(&user_key(&user(n)), edit).await;
        let error = table.read(&user(n)).await.unwrap_err();
        assert!(error.0.contains(user(n).as_str()), "{edit:?}: {error}");
    }
}

pub async fn read_many_reads_every_user_in_batches_and_leaves_unreadable_records_out<T: Table>(
    table: &T,
) {
    // More users than one BatchGetItem request takes (100), some without a record.
    let users: Vec<_> = (100..250).map(user).collect();
    for u in users.iter().step_by(3) {
        accepted(record(table, u, "e", ("ON_QUEUE", 1_000), None).await);
    }
    table
        .put_user_item(&user_key(&users[1]), HandEdit::WrongType)
        .await;
    let mut asked = users.clone();
    asked.push(users[0].clone());
    let read = table.read_many(&asked).await.unwrap();
    assert_eq!(
        read.len(),
        users.len() - 1,
        "every user but the unreadable one"
    );
    assert!(!read.contains_key(&users[1]));
    for (i, u) in users.iter().enumerate().filter(|(i, _)| *i != 1) {
        let expected = if i % 3 == 0 { 1 } else { 0 };
        assert_eq!(read[u].rev, expected, "user {i}");
    }
    assert!(table.read_many(&[]).await.unwrap().is_empty());
}
