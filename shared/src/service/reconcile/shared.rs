//! What a reconciler's runs share for the life of the process: its two paces (its shares of
//! Graph's and Genesys's limits: a 429's hold outlives the run that met it, and its actions'
//! Teams-id lookups spend the same Genesys share as its bulk reads) and the directory answers
//! its sweep read in bulk, which those lookups use first.

use super::ReconcileSettings;
use crate::domain::ids::GenesysUserId;
use crate::domain::scope::Membership;
use crate::metrics::{self, TeamsIdSource};
use crate::pace::Pace;
use crate::ports::{Budget, DirectoryAnswer, RemoteError, Service, TeamsDirectory};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Directory answers the sweep read in bulk, handed to the Teams-id lookup so that a
/// backfilled user costs no SCIM call of their own (the claim and cache layers still apply).
#[derive(Clone, Debug, Default)]
pub struct DirectoryHints(Arc<Mutex<HashMap<GenesysUserId, DirectoryAnswer>>>);

impl DirectoryHints {
    pub fn put(&self, user: GenesysUserId, answer: DirectoryAnswer) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(user, answer);
    }

    pub fn take(&self, user: &GenesysUserId) -> Option<DirectoryAnswer> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(user)
    }
}

/// The reconciler's paces and the sweep's hints, built once per process.
#[derive(Clone, Debug)]
pub struct Shared {
    pub hints: DirectoryHints,
    /// Its share of Graph's presence limit: bulk reads and writes alike.
    pub graph: Arc<Pace>,
    /// Its share of the Genesys client's limit: bulk reads, sweep pages and Teams-id lookups.
    pub genesys: Arc<Pace>,
}

impl Shared {
    /// Hints of its own over paces another part owns (the watcher's Teams-id lookups).
    pub fn with_paces(graph: Arc<Pace>, genesys: Arc<Pace>) -> Self {
        Shared {
            hints: DirectoryHints::default(),
            graph,
            genesys,
        }
    }

    pub fn new(settings: &ReconcileSettings) -> Self {
        Shared {
            hints: DirectoryHints::default(),
            graph: Arc::new(Pace::new(settings.graph_per_30s, Duration::from_secs(30))),
            genesys: Arc::new(Pace::new(
                settings.genesys_per_minute,
                Duration::from_secs(60),
            )),
        }
    }
}

/// The Teams directory of the reconciler's actions: the sweep's hints first (Teams-id source
/// `sweep`), then `next`, at the reconciler's Genesys pace and never waiting past the
/// action's budget.
pub struct Hinted<D> {
    pub hints: DirectoryHints,
    pub genesys: Arc<Pace>,
    pub next: D,
}

impl<D> Hinted<D> {
    /// `next`, answering from `shared`'s hints first and spending its Genesys pace.
    pub fn new(shared: &Shared, next: D) -> Self {
        Hinted {
            hints: shared.hints.clone(),
            genesys: shared.genesys.clone(),
            next,
        }
    }
}

impl<D: TeamsDirectory> TeamsDirectory for Hinted<D> {
    async fn lookup(
        &self,
        user: &GenesysUserId,
        budget: Budget,
    ) -> Result<DirectoryAnswer, RemoteError> {
        if let Some(answer) = self.hints.take(user) {
            metrics::teams_id_lookup(TeamsIdSource::Sweep);
            return Ok(answer);
        }
        if let Err(wait) = self.genesys.ready_before(budget.until).await {
            return Err(no_slot(Service::GenesysScim, wait));
        }
        self.next.lookup(user, budget).await
    }

    async fn membership(
        &self,
        user: &GenesysUserId,
        queues: bool,
        budget: Budget,
    ) -> Result<Membership, RemoteError> {
        if let Err(wait) = self.genesys.ready_before(budget.until).await {
            return Err(no_slot(Service::GenesysUsers, wait));
        }
        self.next.membership(user, queues, budget).await
    }
}

/// The answer when the reconciler's Genesys share has no slot within the action's time.
fn no_slot(service: Service, wait: std::time::Duration) -> RemoteError {
    RemoteError::Throttled {
        service,
        retry_after_secs: Some(wait.as_secs().max(1)),
        detail: format!(
            "not sent: this function's share of the Genesys client's limit has no slot for {} s, past this action's time",
            wait.as_secs()
        ),
        may_have_landed: false,
    }
}
