//! The read-only explanation of an event against a record: the steps the sync would take,
//! worked out with the store's rules as pure functions, with no write and no call.

use super::PresenceSync;
use super::limits::LEASE_GRACE_MS;
use crate::domain::event::GenesysEvent;
use crate::domain::mapping::{MatchedKey, Target};
use crate::domain::state::{Lease, Recorded, UserState};
use crate::domain::step::{Step, UserSync};
use crate::ports::{PresenceWriter, StateStore, TeamsDirectory, TeamsIdCache};

/// What the sync would do with an event, and why (see [`PresenceSync::explain`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// The steps, up to the first that needs another service or instance, or the answer.
    pub steps: Vec<Step>,
    /// What the record would map to afterwards, and which mapping entry decided it.
    pub target: Target,
    pub matched: MatchedKey,
}

impl<S, C, D, W> PresenceSync<S, C, D, W>
where
    S: StateStore,
    C: TeamsIdCache,
    D: TeamsDirectory,
    W: PresenceWriter,
{
    /// What the sync would do with `event` against `record`, and why: the steps it would take
    /// up to its first remote call or its answer, with no write and no call. The store's
    /// answers are worked out with the same rules its conditional writes enforce.
    pub fn explain(&self, event: &GenesysEvent, record: &UserState, now_ms: i64) -> Explanation {
        let lease = Lease {
            owner: "explain".to_owned(),
            until_ms: now_ms.saturating_add(LEASE_GRACE_MS),
        };
        let (mut machine, mut step) = UserSync::for_event(&self.mapping, event, &lease);
        let mut record = record.clone();
        let mut steps = Vec::new();
        // Each answer either ends the walk or moves the record forward; a handful of steps is
        // the most any event takes without another instance involved.
        for _ in 0..8 {
            steps.push(step.clone());
            step = match step {
                Step::Record { observation, claim } => {
                    let claim = claim.map(|intent| (intent, &lease));
                    let next = record.after_record(&event.event_id, &observation, claim, now_ms);
                    machine.recorded(store_answer(&mut record, next), now_ms)
                }
                Step::Reclaim { rev, intent } => {
                    let next = record.after_reclaim(rev, intent, &lease, now_ms);
                    machine.reclaimed(store_answer(&mut record, next), now_ms)
                }
                Step::ReleaseOwn | Step::Wait { .. } | Step::CarryOut(_) | Step::Answer(_) => break,
            };
        }
        let (target, matched) = record.target(&self.mapping);
        Explanation {
            steps,
            target,
            matched,
        }
    }
}

/// What the store answers a conditional write that leaves `next` (or is refused), applied
/// to `record`.
fn store_answer(record: &mut UserState, next: Option<UserState>) -> Recorded {
    match next {
        Some(next) => Recorded::Accepted {
            before: std::mem::replace(record, next),
        },
        None => Recorded::Refused {
            current: record.clone(),
        },
    }
}
