//! One page of the pass: Genesys and Teams read in bulk for the page's users (at each
//! remote's pace), then each user judged; the sweep's pages likewise, for users not yet in the
//! table.

use super::{DirectoryHints, Progress, ReconcileError, Run, burst};
use crate::domain::ids::{GenesysUserId, TeamsUserId};
use crate::domain::reconcile::{Shown, judge};
use crate::domain::state::{Observation, UserState};
use crate::domain::teams::TeamsState;
use crate::ports::{
    Budget, DirectoryAnswer, GenesysBulk, PassLedger, PresenceReader, PresenceWriter, RecordScan,
    RemoteError, StateStore, TeamsDirectory, TeamsIdCache, TeamsNow,
};
use crate::service::PresenceSync;
use std::collections::HashMap;
use std::time::Duration;
use tracing::warn;

impl<S, C, D, W> PresenceSync<S, C, D, W>
where
    S: StateStore + RecordScan + PassLedger,
    C: TeamsIdCache,
    D: TeamsDirectory,
    W: PresenceWriter,
{
    /// One page of records: Genesys and Teams read in bulk, then each user judged and acted on.
    pub(super) async fn reconcile_records<G: GenesysBulk, R: PresenceReader>(
        &self,
        run: &mut Run<'_, G, R>,
        records: Vec<(GenesysUserId, UserState)>,
    ) -> Progress {
        if burst(&records, self.now_ms()) {
            // The event path needs all of Graph's limit now: yield this run's share.
            run.report.yielded = true;
            return Progress::Cut;
        }
        run.report.scanned += records.len() as u64;
        let users: Vec<GenesysUserId> = records.iter().map(|(u, _)| u.clone()).collect();
        let genesys = self.read_genesys(run, &users).await;
        let applied_to: Vec<TeamsUserId> = records
            .iter()
            .filter(|(_, r)| matches!(r.applied(), TeamsState::Preferred(_)))
            .filter_map(|(_, r)| r.applied_to.clone())
            .collect();
        let teams = self.read_teams(run, &applied_to).await;
        for (user, record) in records {
            let shown = record.applied_to.as_ref().and_then(|t| teams.get(t));
            let shown = shown.map(|t| Shown {
                availability: &t.availability,
                activity: &t.activity,
            });
            let verdict = judge(
                &run.settings.rules,
                &record,
                genesys.get(&user),
                shown,
                self.now_ms(),
            );
            if verdict.calls_teams() && run.left() < crate::policy::RECONCILE_ACTION_RESERVE {
                return Progress::Cut;
            }
            self.act(run, &user, record, verdict, false).await;
        }
        Progress::Done
    }

    /// One directory page of the sweep: users with a Teams id, their Genesys state read in
    /// bulk, each judged against their record (read, since most are in the table already).
    pub(super) async fn sweep_page<G: GenesysBulk, R: PresenceReader>(
        &self,
        run: &mut Run<'_, G, R>,
        hints: &DirectoryHints,
        users: Vec<(GenesysUserId, DirectoryAnswer)>,
    ) -> Result<Progress, ReconcileError> {
        // Users with a record are the walk's; the sweep reads Genesys only for the others.
        // Their records in one batched read (a record that does not parse is left out).
        let users: Vec<_> = users
            .into_iter()
            .filter(|(_, answer)| matches!(answer, DirectoryAnswer::TeamsId(_)))
            .collect();
        let ids: Vec<GenesysUserId> = users.iter().map(|(u, _)| u.clone()).collect();
        let mut records = self.store.read_many(&ids).await?;
        let mut unseen = Vec::new();
        for (user, answer) in users {
            if let Some(record) = records.remove(&user).filter(|r| r.rev == 0) {
                hints.put(user.clone(), answer);
                unseen.push((user, record));
            }
        }
        let ids: Vec<GenesysUserId> = unseen.iter().map(|(u, _)| u.clone()).collect();
        let genesys = self.read_genesys(run, &ids).await;
        let mut progress = Progress::Done;
        for (user, record) in unseen {
            let current = genesys.get(&user);
            if progress == Progress::Done
                && let Some(current) = current
            {
                let verdict = judge(
                    &run.settings.rules,
                    &record,
                    Some(current),
                    None,
                    self.now_ms(),
                );
                if verdict.calls_teams() && run.left() < crate::policy::RECONCILE_ACTION_RESERVE {
                    progress = Progress::Cut;
                } else {
                    self.act(run, &user, record, verdict, true).await;
                }
            }
            hints.take(&user);
        }
        Ok(progress)
    }

    /// The current Genesys state of `users`, in bulk reads at the Genesys pace. A failed read
    /// leaves those users without a Genesys state this pass (the other rules still apply).
    async fn read_genesys<G: GenesysBulk, R: PresenceReader>(
        &self,
        run: &Run<'_, G, R>,
        users: &[GenesysUserId],
    ) -> HashMap<GenesysUserId, Observation> {
        let mut found = HashMap::new();
        for chunk in users.chunks(G::MAX_USERS.max(1)) {
            run.genesys_pace.ready().await;
            match run
                .genesys
                .current(chunk, Budget { until: run.until })
                .await
            {
                Ok(now) => found.extend(now.into_iter().map(|n| (n.user, n.observation))),
                Err(error) => {
                    if let RemoteError::Throttled {
                        retry_after_secs: Some(secs),
                        ..
                    } = &error
                    {
                        run.genesys_pace.hold(Duration::from_secs(*secs));
                    }
                    warn!(error = %error, errorType = error.error_type(), users = chunk.len(), "could not read Genesys state in bulk; those users are judged without it");
                }
            }
        }
        found
    }

    /// What Teams shows for `users`, in bulk reads at the Graph pace.
    async fn read_teams<G: GenesysBulk, R: PresenceReader>(
        &self,
        run: &Run<'_, G, R>,
        users: &[TeamsUserId],
    ) -> HashMap<TeamsUserId, TeamsNow> {
        let mut found = HashMap::new();
        for chunk in users.chunks(R::MAX_USERS.max(1)) {
            run.graph.ready().await;
            match run.teams.read(chunk, Budget { until: run.until }).await {
                Ok(now) => found.extend(now.into_iter().map(|n| (n.user.clone(), n))),
                Err(error) => {
                    if let RemoteError::Throttled {
                        retry_after_secs: Some(secs),
                        ..
                    } = &error
                    {
                        run.graph.hold(Duration::from_secs(*secs));
                    }
                    warn!(error = %error, errorType = error.error_type(), users = chunk.len(), "could not read Teams presence in bulk; drift is not checked for those users this pass");
                }
            }
        }
        found
    }
}
