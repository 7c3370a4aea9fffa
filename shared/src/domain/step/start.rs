//! How the sync of one user starts: from an event, from an observation read in Genesys, from
//! a clean record to re-send (keep-alive, repair), or from a dirty record to settle.

use super::{Phase, Step, UserSync};
use crate::domain::event::GenesysEvent;
use crate::domain::mapping::{PresenceMapping, Target};
use crate::domain::outcome::{Outcome, SkipReason};
use crate::domain::state::{Intent, Lease, Observation, UserState};

impl<'a> UserSync<'a> {
    /// Starts the sync of an event: record it, with the claim the event alone predicts.
    pub fn for_event(
        mapping: &'a PresenceMapping,
        event: &'a GenesysEvent,
        lease: &'a Lease,
    ) -> (Self, Step) {
        Self::for_observation(mapping, Observation::from(event), &event.event_id, lease)
    }

    /// Starts the sync of an observation under `event_id`, exactly as an event's: what the
    /// reconciler does with a state read from Genesys that is newer than the record (a lost
    /// event, a backfill).
    pub fn for_observation(
        mapping: &'a PresenceMapping,
        observation: Observation,
        event_id: &'a str,
        lease: &'a Lease,
    ) -> (Self, Step) {
        let mut sync = UserSync {
            mapping,
            event_id,
            lease,
            phase: Phase::Done,
            attempts: 0,
        };
        let step = sync.record(observation, None);
        (sync, step)
    }

    /// Starts re-sending what a record maps to (the reconciler's keep-alive before a preferred
    /// presence expires, and its repair of a drifted Teams): a dirty record is settled as by
    /// [`UserSync::for_record`]; a clean one is claimed at its revision announcing `pending`
    /// (a call is in flight, for everyone to see), then Teams is called. A record changed
    /// meanwhile is left to whoever changed it.
    pub fn for_refresh(
        mapping: &'a PresenceMapping,
        record: UserState,
        lease: &'a Lease,
        now_ms: i64,
    ) -> (Self, Step) {
        let own = Outcome::Skipped(SkipReason::Superseded);
        if record.dirty() {
            return Self::for_record(mapping, record, lease, own, now_ms);
        }
        let mut sync = UserSync {
            mapping,
            event_id: "",
            lease,
            phase: Phase::Done,
            attempts: 0,
        };
        let Target::Teams(state) = record.target(mapping).0 else {
            return (
                sync.clone(),
                sync.answer(Outcome::Skipped(SkipReason::Unchanged)),
            );
        };
        sync.phase = Phase::Refreshing { state };
        let step = Step::Reclaim {
            rev: record.rev,
            intent: Intent::Pending,
        };
        (sync, step)
    }

    /// Starts settling a record from the record alone (a redelivery's or a reconciler's
    /// work): re-apply its newest state if it is dirty and nobody holds it. `own` is the
    /// answer when no call turns out to be needed.
    pub fn for_record(
        mapping: &'a PresenceMapping,
        record: UserState,
        lease: &'a Lease,
        own: Outcome,
        now_ms: i64,
    ) -> (Self, Step) {
        let mut sync = UserSync {
            mapping,
            event_id: "",
            lease,
            phase: Phase::Done,
            attempts: 0,
        };
        let step = sync.settle_if_unsettled(record, Observation::default(), own, now_ms);
        (sync, step)
    }
}
