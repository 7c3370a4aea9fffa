//! The event path's scope on the in-memory adapters: out-of-scope events cost no Graph call,
//! an agent who leaves is cleared once, one who comes back is synced again, an operator's
//! exception wins, and memberships are looked up once, not per event.

use super::*;
use crate::domain::scope::{Exception, ExceptionMark, Membership, Scope, ScopeId};
use crate::ports::TeamsIdCache;

const DIVISION: &str = "0a0a0a0a-0000-4000-8000-00000000000a";
const QUEUE: &str = "0c0c0c0c-0000-4000-8000-00000000000c";
/// Another division (every Genesys user is in one).
const ELSEWHERE: &str = "0e0e0e0e-0000-4000-8000-00000000000e";

fn id(raw: &str) -> ScopeId {
    ScopeId::parse(raw).unwrap()
}

impl Floor {
    /// An instance with this `SYNC_SCOPE`.
    fn scoped(&self, scope: &str) -> MemorySync {
        let settings = Settings {
            scope: Scope::parse(scope).unwrap(),
            ..Settings::default()
        };
        PresenceSync::new(
            self.store.clone(),
            self.store.clone(),
            self.directory.clone(),
            self.teams.clone(),
            PresenceMapping::default(),
            settings,
        )
    }

    fn in_division(&self, division: Option<&str>) {
        self.directory.set_membership(
            &user(),
            Membership {
                division: division.map(id),
                groups: Some(vec![]),
                queues: Some(vec![]),
            },
        );
    }
}

/// The user's activity event, active in `queues`.
fn activity(system: &str, ms: i64, queues: &[&str]) -> GenesysEvent {
    GenesysEvent {
        topic: Topic::Activity,
        queues: Some(queues.iter().map(|q| id(q)).collect()),
        ..event(system, ms)
    }
}

#[tokio::test]
async fn an_agent_out_of_scope_costs_no_graph_call_and_one_who_leaves_is_cleared_once() {
    let floor = Floor::new();
    floor.in_division(Some(DIVISION));
    let sync = floor.scoped(&format!("division:{DIVISION}"));
    let applied = sync.sync(&event("ON_QUEUE", 1_000), &invocation()).await;
    assert_eq!(
        applied.unwrap(),
        Outcome::Applied(TeamsPresence::Busy, Why::Changed)
    );
    // Moved to another division; once the cached memberships say so (they expired, or the
    // reconciler's walk saw the move and cached it), an instance reading them sees it.
    floor.in_division(Some(ELSEWHERE));
    let moved_on = crate::ports::CachedMembership {
        membership: Membership {
            division: Some(id(ELSEWHERE)),
            groups: Some(vec![]),
            queues: None,
        },
        expires_at: i64::MAX,
    };
    floor
        .store
        .put_membership(&user(), &moved_on)
        .await
        .unwrap();
    let moved = floor.scoped(&format!("division:{DIVISION}"));
    let writes = floor.teams.writes().len();
    let left = moved
        .sync(&event("BREAK", 2_000), &invocation())
        .await
        .unwrap();
    assert!(matches!(left, Outcome::Cleared(_)), "{left:?}");
    assert_eq!(floor.shown(), TeamsState::Cleared, "what we set is cleared");
    assert_eq!(floor.teams.writes().len(), writes + 1, "once");
    let record = floor.record();
    assert_eq!(record.left.map(|l| l.reason), Some(LeftReason::OutOfScope));
    for ms in [3_000, 4_000] {
        let skipped = moved.sync(&event("AVAILABLE", ms), &invocation()).await;
        assert_eq!(
            skipped.unwrap(),
            Outcome::Skipped(SkipReason::Left(LeftReason::OutOfScope))
        );
        assert_eq!(
            SkipReason::Left(LeftReason::OutOfScope).as_str(),
            "out-of-scope"
        );
    }
    assert_eq!(
        floor.teams.writes().len(),
        writes + 1,
        "no Graph call after"
    );
}

#[tokio::test]
async fn memberships_are_looked_up_once_not_per_event() {
    let floor = Floor::new();
    floor.in_division(Some(DIVISION));
    let sync = floor.scoped(&format!("division:{DIVISION}"));
    for (n, system) in ["ON_QUEUE", "BREAK", "AVAILABLE"].iter().enumerate() {
        sync.sync(&event(system, 1_000 * (n as i64 + 1)), &invocation())
            .await
            .unwrap();
    }
    assert_eq!(floor.directory.membership_lookups(), 1);
    // Another instance reads them from the table.
    let other = floor.scoped(&format!("division:{DIVISION}"));
    other
        .sync(&event("ON_QUEUE", 9_000), &invocation())
        .await
        .unwrap();
    assert_eq!(floor.directory.membership_lookups(), 1);
}

#[tokio::test]
async fn a_queue_scope_reads_the_events_own_queues_and_takes_an_agent_back() {
    let floor = Floor::new();
    let sync = floor.scoped(&format!("queue:{QUEUE}"));
    let on = sync
        .sync(&activity("ON_QUEUE", 1_000, &[QUEUE]), &invocation())
        .await;
    assert_eq!(
        on.unwrap(),
        Outcome::Applied(TeamsPresence::Busy, Why::Changed)
    );
    assert_eq!(floor.directory.membership_lookups(), 0, "the event said");
    // Left the queue: cleared once.
    let off = sync
        .sync(&activity("ON_QUEUE", 2_000, &[]), &invocation())
        .await;
    assert!(matches!(off.unwrap(), Outcome::Cleared(_)));
    assert_eq!(floor.shown(), TeamsState::Cleared);
    // Joined it again: synced from the event's state.
    let back = sync
        .sync(&activity("ON_QUEUE", 3_000, &[QUEUE]), &invocation())
        .await;
    assert!(matches!(
        back.unwrap(),
        Outcome::Applied(TeamsPresence::Busy, _)
    ));
    assert_eq!(floor.shown(), BUSY);
    assert_eq!(floor.record().left, None);
}

#[tokio::test]
async fn an_operators_exception_wins_over_the_scope() {
    let floor = Floor::new();
    floor.in_division(Some(ELSEWHERE));
    let sync = floor.scoped(&format!("division:{DIVISION}"));
    let include = ExceptionMark::new(Exception::Include, "arn:aws:iam::1:user/ops", 1);
    floor
        .store
        .set_exception(&user(), Some(&include), 1)
        .await
        .unwrap();
    let applied = sync.sync(&event("ON_QUEUE", 1_000), &invocation()).await;
    assert_eq!(
        applied.unwrap(),
        Outcome::Applied(TeamsPresence::Busy, Why::Changed)
    );
    // An exclusion lets the agent go; a member of the scope stays out while it holds.
    floor.in_division(Some(DIVISION));
    let exclude = ExceptionMark::new(Exception::Exclude, "arn:aws:iam::1:user/ops", 2);
    floor
        .store
        .set_exception(&user(), Some(&exclude), 2)
        .await
        .unwrap();
    let record = floor.record();
    sync.let_go(&user(), &record, LeftReason::Excluded, &invocation())
        .await
        .unwrap();
    assert_eq!(floor.shown(), TeamsState::Cleared);
    let member = floor.scoped(&format!("division:{DIVISION}"));
    let skipped = member.sync(&event("AVAILABLE", 2_000), &invocation()).await;
    assert_eq!(
        skipped.unwrap(),
        Outcome::Skipped(SkipReason::Left(LeftReason::Excluded))
    );
    assert_eq!(floor.shown(), TeamsState::Cleared);
}

#[tokio::test]
async fn everyone_is_in_with_all_and_no_membership_is_looked_up() {
    let floor = Floor::new();
    let sync = floor.scoped("all");
    sync.sync(&event("ON_QUEUE", 1_000), &invocation())
        .await
        .unwrap();
    assert_eq!(floor.directory.membership_lookups(), 0);
    assert_eq!(floor.shown(), BUSY);
}
