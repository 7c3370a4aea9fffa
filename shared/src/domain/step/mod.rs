//! The sync of one user as a step machine, free of I/O: told what the state store answered,
//! it says what to do next. The service performs the steps in a flat loop; each case below is
//! one rule of `docs/design.md` ("One event"), built from the decisions of [`super::decide`].
//! How a sync starts (`UserSync::for_*`) is in `start`; what follows each answer is here.

use super::decide::{AfterClaim, ClaimPlan, Refusal, after_claim, classify_refusal, predict};
use super::mapping::{PresenceMapping, Target};
use super::outcome::{Outcome, SkipReason, Why};
use super::state::{Intent, Lease, Observation, Recorded, UserState, shares_recorded};
use super::teams::TeamsState;

mod start;

/// What to do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Write the observation; with a claim, take the lease announcing it in the same write.
    /// Answer with [`UserSync::recorded`].
    Record {
        observation: Observation,
        claim: Option<Intent>,
    },
    /// Our own recording write landed but its answer was lost, and its retry was refused by
    /// the record it wrote: what it replaced is unknown. Release the lease leaving the record
    /// dirty, then go on with [`UserSync::released`] (the next attempt settles it).
    ReleaseOwn,
    /// Another instance may be calling Graph for the user (its lease runs until
    /// `holder_until_ms`): wait a little, then go on with [`UserSync::waited`].
    Wait { holder_until_ms: i64 },
    /// Take the lease of the record as it is at `rev` (unchanged since read), announcing
    /// `intent`, to settle it. Answer with [`UserSync::reclaimed`].
    Reclaim { rev: u64, intent: Intent },
    /// Carry out the decision (release, or call Teams and record the result); then finish
    /// with [`UserSync::carried_out`].
    CarryOut(AfterClaim),
    /// Nothing more to do: the answer.
    Answer(Outcome),
}

/// What to do when the invocation's time runs out between two steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutOfTime {
    /// Fail, so that Lambda redelivers the event: it was never recorded.
    Fail { attempts: u32 },
    /// The event is recorded; only the settling of an older failure is left undone, and the
    /// record stays dirty for the next event or the reconciler.
    Answer(Outcome),
}

#[derive(Clone, Debug)]
enum Phase {
    /// Recording (what is left of) the event's observation, with `claim`. `known` is the
    /// record as the last refusal showed it.
    Recording {
        observation: Observation,
        claim: Option<Intent>,
        known: Option<UserState>,
    },
    /// Settling a dirty record. `reference` is what the event carried (a holder applying it
    /// decides the event's fate too); `own` is the event's answer when no call is needed.
    Settling {
        current: UserState,
        reference: Observation,
        own: Outcome,
    },
    /// Re-sending `state`, what a clean record maps to, once the lease is ours.
    Refreshing {
        state: TeamsState,
    },
    /// Carrying out a decision; `own` when settling, which a skip must not replace.
    CarryingOut {
        own: Option<Outcome>,
    },
    Done,
}

/// The sync of one user: one event, or one dirty record to settle.
#[derive(Clone, Debug)]
pub struct UserSync<'a> {
    mapping: &'a PresenceMapping,
    event_id: &'a str,
    lease: &'a Lease,
    phase: Phase,
    attempts: u32,
}

impl<'a> UserSync<'a> {
    /// Whether the sync is settling a dirty record (rather than recording its event).
    pub fn is_settling(&self) -> bool {
        matches!(self.phase, Phase::Settling { .. })
    }

    /// What the invocation answers if its time runs out before the next step.
    pub fn out_of_time(&self) -> OutOfTime {
        match &self.phase {
            Phase::Settling { own, .. } => OutOfTime::Answer(*own),
            _ => OutOfTime::Fail {
                attempts: self.attempts,
            },
        }
    }

    /// The store answered a [`Step::Record`].
    pub fn recorded(&mut self, answer: Recorded, now_ms: i64) -> Step {
        let Phase::Recording {
            observation, claim, ..
        } = &self.phase
        else {
            return self.misuse("recorded");
        };
        let (observation, claim) = (observation.clone(), *claim);
        match answer {
            Recorded::Accepted { before } => {
                self.after_recording(before, observation, claim, now_ms)
            }
            Recorded::Refused { current } if self.holds(&current) => {
                self.phase = Phase::Recording {
                    observation,
                    claim,
                    known: None,
                };
                Step::ReleaseOwn
            }
            Recorded::Refused { current } => {
                match classify_refusal(self.event_id, &observation, &current, now_ms) {
                    Refusal::Busy => {
                        let holder_until_ms = holder_until(&current);
                        self.phase = Phase::Recording {
                            observation,
                            claim,
                            known: Some(current),
                        };
                        Step::Wait { holder_until_ms }
                    }
                    Refusal::Retry(part) => self.record(part, Some(current)),
                    Refusal::Done(reason) => self.settle_if_unsettled(
                        current,
                        observation,
                        Outcome::Skipped(reason),
                        now_ms,
                    ),
                }
            }
        }
    }

    /// The lease of a [`Step::ReleaseOwn`] is released.
    pub fn released(&mut self) -> Step {
        match &self.phase {
            Phase::Recording { observation, .. } => self.record(observation.clone(), None),
            _ => self.misuse("released"),
        }
    }

    /// A [`Step::Wait`] is over: look again.
    pub fn waited(&mut self) -> Step {
        match &self.phase {
            Phase::Recording {
                observation, known, ..
            } => self.record(observation.clone(), known.clone()),
            Phase::Settling { current, .. } => self.reclaim(current),
            _ => self.misuse("waited"),
        }
    }

    /// The store answered a [`Step::Reclaim`].
    pub fn reclaimed(&mut self, answer: Recorded, now_ms: i64) -> Step {
        if let Phase::Refreshing { state } = self.phase {
            return self.refresh_claimed(state, answer);
        }
        let Phase::Settling { reference, own, .. } = &self.phase else {
            return self.misuse("reclaimed");
        };
        let (reference, own) = (reference.clone(), *own);
        match answer {
            Recorded::Accepted { before } => {
                let intent = reclaim_intent(self.mapping, &before);
                let after = before.clone().claimed(intent, self.lease.clone());
                let plan = after_claim(
                    self.mapping,
                    &Observation::default(),
                    &before,
                    &after,
                    true,
                    true,
                );
                self.phase = Phase::CarryingOut { own: Some(own) };
                Step::CarryOut(plan)
            }
            // Settled meanwhile.
            Recorded::Refused { current } if !current.dirty() => self.answer(own),
            Recorded::Refused { current } if current.busy(now_ms) => {
                // Someone else is settling it. If what they apply includes this event's data,
                // their failure would be ours: wait for the result rather than answer now.
                if !shares_recorded(&current, &reference) {
                    return self.answer(own);
                }
                let holder_until_ms = holder_until(&current);
                self.phase = Phase::Settling {
                    current,
                    reference,
                    own,
                };
                Step::Wait { holder_until_ms }
            }
            // Still dirty, nobody on it, but changed since: try again on the record as it is.
            Recorded::Refused { current } => {
                let step = self.reclaim(&current);
                self.phase = Phase::Settling {
                    current,
                    reference,
                    own,
                };
                step
            }
        }
    }

    /// The store answered the claim of a refresh: call Teams with `state`, what the clean
    /// record maps to, or leave the record to whoever changed it meanwhile.
    fn refresh_claimed(&mut self, state: TeamsState, answer: Recorded) -> Step {
        match answer {
            Recorded::Accepted { .. } => {
                self.phase = Phase::CarryingOut { own: None };
                Step::CarryOut(AfterClaim::Call {
                    state,
                    mark_pending: false,
                    why: Why::Refreshed,
                })
            }
            Recorded::Refused { .. } => self.answer(Outcome::Skipped(SkipReason::Superseded)),
        }
    }

    /// A [`Step::CarryOut`] ended with `outcome`: the answer. While settling, a skip keeps the
    /// event's own answer.
    pub fn carried_out(&mut self, outcome: Outcome) -> Outcome {
        let own = match &self.phase {
            Phase::CarryingOut { own } => *own,
            _ => None,
        };
        self.phase = Phase::Done;
        match (own, outcome) {
            (Some(own), Outcome::Skipped(_)) => own,
            (_, done) => done,
        }
    }

    /// Records `observation`, claiming what the record (when known) or the event predicts.
    fn record(&mut self, observation: Observation, known: Option<UserState>) -> Step {
        self.attempts += 1;
        let claim = match predict(self.mapping, &observation, known.as_ref()) {
            ClaimPlan::Take(intent) => Some(intent),
            ClaimPlan::RecordOnly => None,
        };
        self.phase = Phase::Recording {
            observation: observation.clone(),
            claim,
            known,
        };
        Step::Record { observation, claim }
    }

    /// The recording write landed: decide from the record as it now is.
    fn after_recording(
        &mut self,
        before: UserState,
        observation: Observation,
        claim: Option<Intent>,
        now_ms: i64,
    ) -> Step {
        let mut after = before.merged(&observation, self.event_id);
        if let Some(intent) = claim {
            after = after.claimed(intent, self.lease.clone());
        }
        let plan = after_claim(
            self.mapping,
            &observation,
            &before,
            &after,
            claim.is_some(),
            false,
        );
        match (claim, plan) {
            (Some(_), plan) => {
                self.phase = Phase::CarryingOut { own: None };
                Step::CarryOut(plan)
            }
            // Recorded without the lease: nothing to release. If an earlier holder left the
            // record dirty and is gone, this event settles it.
            (None, AfterClaim::NoCall { reason, .. }) => {
                self.settle_if_unsettled(after, observation, Outcome::Skipped(reason), now_ms)
            }
            (None, call @ AfterClaim::Call { .. }) => {
                unreachable!("a write without the lease never plans a call: {call:?}")
            }
        }
    }

    /// Settles `current` if an earlier attempt left it dirty and nobody holds it now;
    /// otherwise answers `own`.
    fn settle_if_unsettled(
        &mut self,
        current: UserState,
        reference: Observation,
        own: Outcome,
        now_ms: i64,
    ) -> Step {
        if !current.dirty() || current.busy(now_ms) {
            return self.answer(own);
        }
        let step = self.reclaim(&current);
        self.phase = Phase::Settling {
            current,
            reference,
            own,
        };
        step
    }

    fn reclaim(&self, current: &UserState) -> Step {
        Step::Reclaim {
            rev: current.rev,
            intent: reclaim_intent(self.mapping, current),
        }
    }

    fn holds(&self, current: &UserState) -> bool {
        current
            .lease
            .as_ref()
            .is_some_and(|held| held.owner == self.lease.owner)
    }

    fn answer(&mut self, outcome: Outcome) -> Step {
        self.phase = Phase::Done;
        Step::Answer(outcome)
    }

    /// A step answered out of order is a bug in the caller; end without touching anything.
    fn misuse(&mut self, what: &str) -> Step {
        debug_assert!(false, "UserSync::{what} called in phase {:?}", self.phase);
        self.answer(Outcome::Skipped(SkipReason::Unchanged))
    }
}

/// What a settling claim announces: the record's target when it differs from what is applied;
/// otherwise `pending`, since announcing what is applied would make the uncertain record look
/// settled to everyone else.
fn reclaim_intent(mapping: &PresenceMapping, record: &UserState) -> Intent {
    match record.target(mapping).0 {
        Target::Teams(state) if state != record.applied() => Intent::Teams(state),
        _ => Intent::Pending,
    }
}

fn holder_until(record: &UserState) -> i64 {
    record.lease.as_ref().map_or(0, |l| l.until_ms)
}

#[cfg(test)]
mod tests;
