//! The walk over the user records and the directory sweep, page by page, each to its end or
//! the run's; the position saved after every page.

use super::{Progress, ReconcileError, Run};
use crate::metrics;
use crate::ports::{
    GenesysBulk, PassLedger, PassState, PresenceReader, PresenceWriter, RecordScan, StateStore,
    TeamsDirectory, TeamsIdCache,
};
use crate::service::PresenceSync;
use std::time::Duration;

impl<S, C, D, W> PresenceSync<S, C, D, W>
where
    S: StateStore + RecordScan + PassLedger,
    C: TeamsIdCache,
    D: TeamsDirectory,
    W: PresenceWriter,
{
    /// A sweep under way goes on first (so a walk over a large org cannot put it off for
    /// ever), then the walk, then a sweep that fell due; page by page while time is left.
    pub(super) async fn work<G: GenesysBulk, R: PresenceReader>(
        &self,
        run: &mut Run<'_, G, R>,
        state: &mut PassState,
        owner: &str,
    ) -> Result<(), ReconcileError> {
        if self.read_queue_sets(run).await == Progress::Cut {
            return Ok(());
        }
        if state.sweeping && self.sweep(run, state, owner).await? == Progress::Cut {
            return Ok(());
        }
        if self.walk(run, state, owner).await? == Progress::Cut {
            return Ok(());
        }
        let scope = self.settings.scope.canonical();
        let due = state.sweep_scope.as_deref() != Some(scope.as_str())
            || state.last_sweep_ms.is_none_or(|at| {
                self.now_ms().saturating_sub(at) >= run.settings.sweep_every.as_millis() as i64
            });
        if due && !run.report.sweep_completed {
            state.sweeping = true;
            state.sweep_scope = Some(scope);
            self.sweep(run, state, owner).await?;
        }
        Ok(())
    }

    /// The walk over the user records, from where it stands, to its end or the run's.
    async fn walk<G: GenesysBulk, R: PresenceReader>(
        &self,
        run: &mut Run<'_, G, R>,
        state: &mut PassState,
        owner: &str,
    ) -> Result<Progress, ReconcileError> {
        loop {
            if run.left() < crate::policy::RECONCILE_PAGE_RESERVE {
                run.report.cut = true;
                return Ok(Progress::Cut);
            }
            if state.records_cursor.is_none() && state.walk_started_ms.is_none() {
                state.walk_started_ms = Some(self.now_ms());
            }
            let page = self
                .store
                .scan(state.records_cursor.as_deref(), run.settings.page_size)
                .await?;
            let reads_before = run.report.reads;
            run.judged = None;
            let progress = self.reconcile_records(run, page.records).await;
            state.walk_reads = state.walk_reads.plus(tally_since(run, reads_before));
            if progress == Progress::Cut {
                // The next run goes on after the last user judged, or from the page's start
                // when none was (every action is idempotent). Not judging them again matters:
                // the writes just made would look like the event path's burst to it.
                if let Some(user) = &run.judged {
                    state.records_cursor = Some(self.store.cursor_after(user));
                }
                self.save_page(run, state, owner).await?;
                return Ok(Progress::Cut);
            }
            state.records_cursor = page.next;
            if state.records_cursor.is_none() {
                self.end_walk(run, state);
                self.save_page(run, state, owner).await?;
                return Ok(Progress::Done);
            }
            self.save_page(run, state, owner).await?;
        }
    }

    /// A walk reached the last record: complete unless it was blind (every Genesys read, or
    /// every Graph read, failed), in which case it is counted as such and not as a pass. The
    /// pass's duration runs from the walk's first page, whichever run read it.
    fn end_walk<G, R>(&self, run: &mut Run<'_, G, R>, state: &mut PassState) {
        let now = self.now_ms();
        let reads = std::mem::take(&mut state.walk_reads);
        let started = state.walk_started_ms.take().unwrap_or(now);
        state.last_pass_ms = Some(now);
        if reads.blind() {
            tracing::error!(reads = ?reads, "a walk over every record ended without reading Genesys or Teams: nobody was judged against them; not counted as a pass");
            return;
        }
        run.report.walk_completed = true;
        let took = Duration::from_millis(now.saturating_sub(started).max(0) as u64);
        metrics::pass_completed(took);
    }

    /// The directory sweep, from where it stands, to its end or the run's.
    async fn sweep<G: GenesysBulk, R: PresenceReader>(
        &self,
        run: &mut Run<'_, G, R>,
        state: &mut PassState,
        owner: &str,
    ) -> Result<Progress, ReconcileError> {
        loop {
            let shared = run.shared;
            let reserve = crate::policy::RECONCILE_READ_RESERVE;
            if run.left() < crate::policy::RECONCILE_PAGE_RESERVE
                || run.slot(&shared.genesys, reserve).await == Progress::Cut
            {
                run.report.cut = true;
                self.save_page(run, state, owner).await?;
                return Ok(Progress::Cut);
            }
            let budget = crate::ports::Budget { until: run.until };
            let page = run
                .genesys
                .directory_page(state.sweep_cursor.as_deref(), budget)
                .await?;
            if self.sweep_page(run, page.users).await? == Progress::Cut {
                self.save_page(run, state, owner).await?;
                return Ok(Progress::Cut);
            }
            state.sweep_cursor = page.next;
            if state.sweep_cursor.is_none() {
                state.sweeping = false;
                state.last_sweep_ms = Some(self.now_ms());
                run.report.sweep_completed = true;
                self.save_page(run, state, owner).await?;
                return Ok(Progress::Done);
            }
            self.save_page(run, state, owner).await?;
        }
    }

    /// Saves the position after a page, and tells the watcher.
    async fn save_page<G, R>(
        &self,
        run: &Run<'_, G, R>,
        state: &PassState,
        owner: &str,
    ) -> Result<(), ReconcileError> {
        if !self.store.save(owner, state).await? {
            return Err(ReconcileError::LeaseLost);
        }
        (run.progress)(&run.report);
        Ok(())
    }
}

/// The reads a run made since `before` (its tally then).
fn tally_since<G, R>(
    run: &Run<'_, G, R>,
    before: crate::ports::ReadTally,
) -> crate::ports::ReadTally {
    let now = run.report.reads;
    crate::ports::ReadTally {
        genesys_ok: now.genesys_ok - before.genesys_ok,
        genesys_failed: now.genesys_failed - before.genesys_failed,
        teams_ok: now.teams_ok - before.teams_ok,
        teams_failed: now.teams_failed - before.teams_failed,
    }
}
