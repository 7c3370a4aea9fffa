//! One page of the pass: Genesys and Teams read in bulk for the page's users (at each
//! remote's pace, never waiting past the run's time), then each user judged; the sweep's
//! pages likewise, for users not yet in the table.

use super::under_way::{Judged, UnderWay};
use super::{Progress, ReconcileError, Run, burst};
use crate::domain::ids::{GenesysUserId, TeamsUserId};
use crate::domain::left::LeftReason;
use crate::domain::reconcile::{GenesysView, Shown, Verdict, judge, judge_mapped};
use crate::domain::state::UserState;
use crate::domain::teams::TeamsState;
use crate::metrics::{self, Remote};
use crate::policy::RECONCILE_READ_RESERVE;
use crate::ports::{
    Budget, DirectoryAnswer, GenesysBulk, GenesysNow, PassLedger, PresenceReader, PresenceWriter,
    RecordScan, RemoteError, StateStore, TeamsDirectory, TeamsIdCache, TeamsNow,
};
use crate::service::PresenceSync;
use std::collections::HashMap;
use std::time::Duration;
use tracing::warn;

/// What a bulk read of Genesys found for each user it could read (a user whose read failed
/// is absent: unknown this pass).
type GenesysRead = HashMap<GenesysUserId, GenesysNow>;

/// How the judgement sees what Genesys said of a user: an account no longer active is gone.
pub fn view(now: &GenesysNow) -> GenesysView<'_> {
    if now.account.is_active() {
        GenesysView::Current(&now.observation)
    } else {
        GenesysView::Gone(LeftReason::Departed)
    }
}

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
        let users: Vec<GenesysUserId> = records.iter().map(|(u, _)| u.clone()).collect();
        let Some(genesys) = self.read_genesys(run, &users).await else {
            return Progress::Cut;
        };
        self.warm_memberships(run, &genesys).await;
        let applied_to: Vec<TeamsUserId> = records
            .iter()
            .filter(|(_, r)| matches!(r.applied(), TeamsState::Preferred(_)) && r.left.is_none())
            .filter_map(|(_, r)| r.applied_to.clone())
            .collect();
        let Some(teams) = self.read_teams(run, &applied_to).await else {
            return Progress::Cut;
        };
        run.report.scanned += records.len() as u64;
        let mut under_way = UnderWay::new();
        for (user, record) in records {
            let shown = record.applied_to.as_ref().and_then(|t| teams.get(t));
            let shown = shown.map(|t| Shown {
                availability: &t.availability,
                activity: &t.activity,
            });
            let now = genesys.get(&user);
            let seen = now.and_then(|now| self.scoped_view(run, now, &record));
            let target = record.target(&self.mapping).0;
            let rules = &run.settings.rules;
            let verdict = judge_mapped(rules, &record, &target, seen, shown, self.now_ms());
            let scope_moved = matches!(
                verdict,
                Verdict::Rejoin(_) | Verdict::LetGo(LeftReason::OutOfScope | LeftReason::Excluded)
            );
            let remember = now
                .filter(|_| scope_moved)
                .map(|now| self.membership_seen(run, now));
            let judged = Judged {
                user: user.clone(),
                record,
                verdict,
                sweeping: false,
                remember,
            };
            if self.act(run, &mut under_way, judged).await == Progress::Cut {
                // The users started before are the page's first ones: once they end, the
                // next run goes on after the last of them.
                self.all_end(run, &mut under_way).await;
                return Progress::Cut;
            }
            run.judged = Some(user);
        }
        self.all_end(run, &mut under_way).await;
        Progress::Done
    }

    /// One directory page of the sweep: users with a Teams id, their Genesys state read in
    /// bulk, each judged against their record (read, since most are in the table already).
    pub(super) async fn sweep_page<G: GenesysBulk, R: PresenceReader>(
        &self,
        run: &mut Run<'_, G, R>,
        users: Vec<(GenesysUserId, DirectoryAnswer)>,
    ) -> Result<Progress, ReconcileError> {
        let shared = run.shared;
        let hints = &shared.hints;
        // Users with a record are the walk's; the sweep reads Genesys only for the others.
        // Their records in one batched read (a record that does not parse is left out).
        let users: Vec<_> = users
            .into_iter()
            .filter(|(_, answer)| matches!(answer, DirectoryAnswer::TeamsId(_)))
            .collect();
        let ids: Vec<GenesysUserId> = users.iter().map(|(u, _)| u.clone()).collect();
        let mut records = self.store.read_many(&ids).await?;
        let (mut unseen, mut seen) = (Vec::new(), Vec::new());
        for (user, answer) in users {
            match records.remove(&user) {
                Some(record) if record.rev == 0 => {
                    hints.put(user.clone(), answer);
                    unseen.push((user, record));
                }
                Some(record) if record.left.is_none() => seen.push((user, answer)),
                _ => {}
            }
        }
        self.renew_teams_ids(run, seen).await;
        let ids: Vec<GenesysUserId> = unseen.iter().map(|(u, _)| u.clone()).collect();
        let Some(genesys) = self.read_genesys(run, &ids).await else {
            return Ok(Progress::Cut);
        };
        self.warm_memberships(run, &genesys).await;
        let mut under_way = UnderWay::new();
        let mut progress = Progress::Done;
        for (user, record) in unseen {
            // A joiner in scope is backfilled; one out of it (or gone) is not recorded at all.
            let seen = genesys
                .get(&user)
                .and_then(|now| self.scoped_view(run, now, &record))
                .filter(|view| matches!(view, GenesysView::Current(_)));
            if progress == Progress::Done
                && let Some(current) = seen
            {
                let verdict = judge(
                    &run.settings.rules,
                    &record,
                    Some(current),
                    None,
                    self.now_ms(),
                );
                let judged = Judged {
                    user,
                    record,
                    verdict,
                    sweeping: true,
                    remember: None,
                };
                progress = self.act(run, &mut under_way, judged).await;
            }
        }
        // The hints are the actions' until they end (their Teams-id lookups take them).
        self.all_end(run, &mut under_way).await;
        for user in &ids {
            hints.take(user);
        }
        Ok(progress)
    }

    /// What Genesys says now of `users`, in bulk reads at the reconciler's Genesys pace. A
    /// failed read leaves those users unknown this pass (and is counted); `None`: the run is
    /// cut (the next slot comes after its time).
    async fn read_genesys<G: GenesysBulk, R: PresenceReader>(
        &self,
        run: &mut Run<'_, G, R>,
        users: &[GenesysUserId],
    ) -> Option<GenesysRead> {
        let mut found = HashMap::new();
        let shared = run.shared;
        for chunk in users.chunks(G::MAX_USERS.max(1)) {
            if run.slot(&shared.genesys, RECONCILE_READ_RESERVE).await == Progress::Cut {
                return None;
            }
            match run
                .genesys
                .current(chunk, Budget { until: run.until })
                .await
            {
                Ok(now) => {
                    run.report.reads.genesys_ok += 1;
                    found.extend(now.into_iter().map(|n| (n.user.clone(), n)));
                }
                Err(error) => {
                    run.report.reads.genesys_failed += 1;
                    metrics::bulk_read_failed(Remote::GenesysUsers);
                    hold_on_throttle(&shared.genesys, &error);
                    warn!(error = %error, errorType = error.error_type(), users = chunk.len(), "could not read Genesys in bulk; those users are judged without it this pass");
                }
            }
        }
        Some(found)
    }

    /// What Teams shows for `users`, in bulk reads at the reconciler's Graph pace; `None`: the
    /// run is cut.
    async fn read_teams<G: GenesysBulk, R: PresenceReader>(
        &self,
        run: &mut Run<'_, G, R>,
        users: &[TeamsUserId],
    ) -> Option<HashMap<TeamsUserId, TeamsNow>> {
        let mut found = HashMap::new();
        let shared = run.shared;
        for chunk in users.chunks(R::MAX_USERS.max(1)) {
            if run.slot(&shared.graph, RECONCILE_READ_RESERVE).await == Progress::Cut {
                return None;
            }
            match run.teams.read(chunk, Budget { until: run.until }).await {
                Ok(now) => {
                    run.report.reads.teams_ok += 1;
                    found.extend(now.into_iter().map(|n| (n.user.clone(), n)));
                }
                Err(error) => {
                    run.report.reads.teams_failed += 1;
                    metrics::bulk_read_failed(Remote::Graph);
                    hold_on_throttle(&shared.graph, &error);
                    warn!(error = %error, errorType = error.error_type(), users = chunk.len(), "could not read Teams presence in bulk; drift is not checked for those users this pass");
                }
            }
        }
        Some(found)
    }
}

/// A 429's `Retry-After` holds the pace it was spent from.
pub(super) fn hold_on_throttle(pace: &crate::pace::Pace, error: &RemoteError) {
    if let RemoteError::Throttled {
        retry_after_secs: Some(secs),
        ..
    } = error
    {
        pace.hold(Duration::from_secs(*secs));
    }
}
