//! The watcher's two Genesys writes, each after a slot of its Genesys share and its mark: the take-off (mark `taking`, the
//! write, then `held` with the version Genesys gave it) and the restore (mark `restoring`,
//! then the write of the presence the take-off replaced).

use super::Run;
use crate::domain::ids::GenesysUserId;
use crate::domain::state::UserState;
use crate::domain::watch::{Phase, WatchMark};
use crate::metrics::{self, GenesysSet};
use crate::ports::{
    GenesysBulk, GenesysPresence, PresenceChange, PresenceReader, PresenceWriter, RecordScan,
    RemoteError, StateStore, TeamsDirectory, TeamsIdCache,
};
use crate::service::PresenceSync;
use tracing::{info, warn};

/// What came of a decision carried out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Acted {
    /// The record's revision after (0 when unknown: the agent is looked at again).
    Rev(u64),
    /// The Genesys share had no slot within the run: nothing was marked or written, and the
    /// agent waits to be looked at first thing in the next run.
    NoSlot,
}

/// How many times the `held` mark is written again after the event path changed the record
/// in between (it records the event our own write caused).
const CONFIRM_TRIES: usize = 3;

impl<S, C, D, W> PresenceSync<S, C, D, W>
where
    S: StateStore + RecordScan,
    C: TeamsIdCache,
    D: TeamsDirectory,
    W: PresenceWriter,
{
    /// Takes the agent off: a slot of the Genesys share first (none within the run: nothing
    /// is marked, the next run looks again at once), then `mark` (phase `taking`), the
    /// Genesys write, and the mark `held` with Genesys's version of the change.
    pub(super) async fn take_off<G, R>(
        &self,
        run: &mut Run<'_, G, R>,
        user: &GenesysUserId,
        record: &UserState,
        mark: WatchMark,
        seen_at: i64,
    ) -> Acted
    where
        G: GenesysBulk + GenesysPresence,
        R: PresenceReader,
    {
        if run.shared.genesys.ready_before(run.until).await.is_err() {
            return Acted::NoSlot;
        }
        let mark = mark.with_phase(Phase::Taking {
            at_ms: self.now_ms(),
        });
        let Some(marked) = self.set_mark(run, user, record, Some(&mark)).await else {
            return Acted::Rev(0);
        };
        let change = PresenceChange {
            definition_id: &mark.set_definition,
            message: &mark.message,
        };
        match run
            .genesys
            .set_presence(user, change, run.call_budget())
            .await
        {
            Ok(presence) => {
                run.report.taken_off += 1;
                metrics::genesys_set(GenesysSet::TakeOff, self.now_ms() - seen_at);
                info!(genesysUserId = %user, activity = %mark.activity, presence = %presence.value.system, "Teams activity: the agent is taken off in Genesys");
                let held = mark.with_phase(Phase::Held {
                    at_ms: self.now_ms(),
                    version: presence.version,
                });
                Acted::Rev(self.confirm(run, user, marked, &mark, &held).await)
            }
            Err(error) => {
                self.write_failed(run, user, &error);
                if !error.may_have_landed() {
                    self.set_mark(run, user, &marked, None).await;
                }
                // Looked at again next poll: Genesys may show it (confirmed then), or the
                // take-off is decided afresh (once it is clearly not there).
                Acted::Rev(0)
            }
        }
    }

    /// Writes `held` over `taking`, reading the record again when the event path changed it
    /// in between; gives up (the next look confirms from Genesys) when the mark changed.
    async fn confirm<G, R>(
        &self,
        run: &mut Run<'_, G, R>,
        user: &GenesysUserId,
        mut current: UserState,
        taking: &WatchMark,
        held: &WatchMark,
    ) -> u64 {
        for _ in 0..CONFIRM_TRIES {
            if let Some(after) = self.set_mark(run, user, &current, Some(held)).await {
                return after.rev;
            }
            let read = tokio::time::timeout_at(run.until, self.store.read(user)).await;
            match read {
                Ok(Ok(fresh)) if fresh.watch.as_ref() == Some(taking) => current = fresh,
                _ => return 0,
            }
        }
        0
    }

    /// Puts back what the take-off replaced: a slot of the Genesys share first (as for the
    /// take-off), then the mark `restoring`, then the write.
    pub(super) async fn restore<G, R>(
        &self,
        run: &mut Run<'_, G, R>,
        user: &GenesysUserId,
        record: &UserState,
        seen_at: i64,
    ) -> Acted
    where
        G: GenesysBulk + GenesysPresence,
        R: PresenceReader,
    {
        let Some(mark) = record.watch.clone() else {
            return Acted::Rev(record.rev);
        };
        let Some(version) = mark.phase.version() else {
            return Acted::Rev(record.rev);
        };
        let concrete = run.shared.concrete();
        let by_system = concrete
            .as_ref()
            .and_then(|c| c.definition_of(&mark.restore_to.system));
        let Some(definition) = mark.restore_to.definition_id.as_deref().or(by_system) else {
            warn!(genesysUserId = %user, presence = %mark.restore_to.system, "nothing to restore the agent to: the org has no definition of the presence they had");
            return Acted::Rev(record.rev);
        };
        if run.shared.genesys.ready_before(run.until).await.is_err() {
            return Acted::NoSlot;
        }
        let restoring = mark.with_phase(Phase::Restoring {
            at_ms: self.now_ms(),
            version,
        });
        let Some(marked) = self.set_mark(run, user, record, Some(&restoring)).await else {
            return Acted::Rev(0);
        };
        let change = PresenceChange {
            definition_id: definition,
            message: "",
        };
        match run
            .genesys
            .set_presence(user, change, run.call_budget())
            .await
        {
            Ok(_) => {
                run.report.restored += 1;
                metrics::genesys_set(GenesysSet::Restore, self.now_ms() - seen_at);
                info!(genesysUserId = %user, presence = %mark.restore_to.system, "Teams activity ended: the agent's Genesys presence is restored");
            }
            Err(error) => self.write_failed(run, user, &error),
        }
        Acted::Rev(marked.rev)
    }

    fn write_failed<G, R>(
        &self,
        run: &mut Run<'_, G, R>,
        user: &GenesysUserId,
        error: &RemoteError,
    ) {
        warn!(genesysUserId = %user, error = %error, "the watcher's Genesys write failed");
        run.report.failed += 1;
        metrics::watch_failed("genesys-write");
        if let RemoteError::Throttled {
            retry_after_secs: Some(secs),
            ..
        } = error
        {
            run.shared
                .genesys
                .hold(std::time::Duration::from_secs(*secs));
        }
    }
}
