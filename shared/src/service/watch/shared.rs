//! What a watcher's runs share for the life of the process: its two paces (its shares of
//! Graph's and Genesys's limits), the rules resolved against the org's definitions, the
//! roster of watched agents, and what it last saw of each (for the debounce and to look only
//! at what changed).

use super::WatchSettings;
use super::looks::Looks;
use super::schedule::Schedule;
use crate::domain::ids::{GenesysUserId, TeamsUserId};
use crate::domain::presence::{Observed, SystemPresence};
use crate::domain::watch::look::Looked;
use crate::domain::watch::{OrgDefinition, Resolved, TeamsActivity, TeamsToGenesys, WatchMark};
use crate::pace::Pace;
use crate::ports::{Budget, GenesysPresence, RemoteError};
use crate::service::reconcile::DirectoryHints;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// One watched agent, as the roster knows them.
#[derive(Clone, Debug, Default)]
pub(super) struct Member {
    pub teams: Option<TeamsUserId>,
    /// The record's revision and mark as last read or written.
    pub rev: u64,
    pub mark: Option<WatchMark>,
}

/// The agents the watcher watches, and where the walk that finds them stands.
#[derive(Debug, Default)]
pub(super) struct Roster {
    pub members: BTreeMap<GenesysUserId, Member>,
    /// Where the walk of the records goes on (`None`: from the start).
    pub cursor: Option<String>,
    /// Whether a walk has reached the end at least once.
    pub complete: bool,
    /// Where the walk of the org's directory goes on, when many Teams ids are missing.
    pub directory: Option<String>,
}

/// When an agent's current Teams activity was first seen.
#[derive(Clone, Debug)]
pub(super) struct Seen {
    pub activity: Observed<TeamsActivity>,
    pub since_ms: i64,
}

/// The rules made concrete for this org.
#[derive(Debug)]
pub(super) struct Concrete {
    pub rules: Resolved,
    pub definitions: Vec<OrgDefinition>,
}

impl Concrete {
    /// The definition id to restore `system` by, when the mark kept no id.
    pub fn definition_of(&self, system: &Observed<SystemPresence>) -> Option<&str> {
        let found = self.definitions.iter().find(|d| &d.system == system);
        found.map(|d| d.id.as_str())
    }
}

/// The watcher's state for the life of the process.
#[derive(Debug)]
pub struct WatchShared {
    pub(super) graph: Arc<Pace>,
    pub(super) genesys: Arc<Pace>,
    concrete: Mutex<Option<Arc<Concrete>>>,
    pub(super) roster: Mutex<Roster>,
    pub(super) seen: Mutex<HashMap<GenesysUserId, Seen>>,
    pub(super) looked: Mutex<HashMap<GenesysUserId, Looked>>,
    /// Teams ids read from the directory in bulk, for the Teams-id lookups to take.
    pub(super) hints: DirectoryHints,
    /// The poll schedule, anchored at the process's first poll.
    pub(super) schedule: Mutex<Option<Schedule>>,
    /// The agents the polls picked, waiting for a closer look.
    pub(super) looks: Looks,
    /// Set by a run's roster when the event path is in a burst: the run's polls stop.
    yielding: AtomicBool,
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl WatchShared {
    pub fn new(settings: &WatchSettings) -> Self {
        WatchShared {
            graph: Arc::new(Pace::new(settings.graph_per_30s, Duration::from_secs(30))),
            genesys: Arc::new(Pace::new(
                settings.genesys_per_minute,
                Duration::from_secs(60),
            )),
            concrete: Mutex::new(None),
            roster: Mutex::new(Roster::default()),
            seen: Mutex::new(HashMap::new()),
            looked: Mutex::new(HashMap::new()),
            hints: DirectoryHints::default(),
            schedule: Mutex::new(None),
            looks: Looks::default(),
            yielding: AtomicBool::new(false),
        }
    }

    /// The rules resolved against the org's presence definitions (read once per process).
    pub(super) async fn resolve<G: GenesysPresence>(
        &self,
        genesys: &G,
        rules: &TeamsToGenesys,
        budget: Budget,
    ) -> Result<Arc<Concrete>, super::WatchError> {
        if let Some(concrete) = lock(&self.concrete).clone() {
            return Ok(concrete);
        }
        if let Err(wait) = self.genesys.ready_before(budget.until).await {
            return Err(super::WatchError::Remote(RemoteError::Throttled {
                service: crate::ports::Service::GenesysUsers,
                retry_after_secs: Some(wait.as_secs().max(1)),
                detail: "not sent: the watcher's Genesys share has no slot within this run"
                    .to_owned(),
                may_have_landed: false,
            }));
        }
        let definitions = genesys.definitions(budget).await?;
        let concrete = Arc::new(Concrete {
            rules: rules.resolve(&definitions)?,
            definitions,
        });
        *lock(&self.concrete) = Some(concrete.clone());
        Ok(concrete)
    }

    /// Its share of Graph's limit (for the parts that spend it with it).
    pub fn graph_pace(&self) -> Arc<Pace> {
        self.graph.clone()
    }

    /// Its share of the Genesys client's limit (its Teams-id lookups spend it too).
    pub fn genesys_pace(&self) -> Arc<Pace> {
        self.genesys.clone()
    }

    /// The hints its Teams-id lookups answer from first (the lookups' directory layer is
    /// built with them: [`crate::service::reconcile::Hinted`]).
    pub fn hints(&self) -> DirectoryHints {
        self.hints.clone()
    }

    /// The resolved rules (after [`WatchShared::resolve`]).
    pub(super) fn concrete(&self) -> Option<Arc<Concrete>> {
        lock(&self.concrete).clone()
    }

    /// Whether this run yields Graph to the event path (set by its roster).
    pub(super) fn yielding(&self) -> bool {
        self.yielding.load(Ordering::Relaxed)
    }

    pub(super) fn set_yielding(&self, yielding: bool) {
        self.yielding.store(yielding, Ordering::Relaxed);
    }

    /// Whether a walk of the records reached the end once: the roster is known, and a run
    /// polls at once while its roster is brought up to date beside the polls.
    pub(super) fn roster_known(&self) -> bool {
        lock(&self.roster).complete
    }

    /// The watched agents with a Teams id, in user order.
    pub(super) fn watched(&self) -> Vec<(GenesysUserId, TeamsUserId)> {
        let roster = lock(&self.roster);
        (roster.members.iter())
            .filter_map(|(user, m)| m.teams.clone().map(|t| (user.clone(), t)))
            .collect()
    }
}
