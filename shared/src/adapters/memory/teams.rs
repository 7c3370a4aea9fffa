//! Microsoft Graph's presence in memory: what each Teams user shows, the writes received, bulk
//! reads, and failures on demand.

use super::lock;
use crate::domain::ids::TeamsUserId;
use crate::domain::teams::{TeamsPresence, TeamsState};
use crate::ports::{
    Budget, PresenceReader, PresenceWriter, RemoteError, Service, TeamsNow, WriteAnswer,
};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

/// One write the presence writer received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Write {
    pub user: TeamsUserId,
    pub state: TeamsState,
}

/// Microsoft Graph's preferred presence, in memory: what each Teams user shows, every write
/// received, and failures to answer with on demand.
#[derive(Debug, Default)]
pub struct MemoryTeams {
    shown: Mutex<HashMap<TeamsUserId, TeamsState>>,
    /// Users without a Teams session (they show Offline whatever was set).
    sessionless: Mutex<Vec<TeamsUserId>>,
    /// What users set by hand, shown until the next write.
    by_hand: Mutex<HashMap<TeamsUserId, TeamsPresence>>,
    reads: Mutex<usize>,
    known: Mutex<Option<Vec<TeamsUserId>>>,
    writes: Mutex<Vec<Write>>,
    failures: Mutex<VecDeque<Failure>>,
    read_failures: Mutex<VecDeque<Failure>>,
    latency: Mutex<Duration>,
}

/// How a scripted write fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Graph refuses it and nothing changes (a 5xx answered before any effect).
    Refused,
    /// The write takes effect, but the answer is lost (a timeout after Graph applied it).
    LandedUnanswered,
    /// Graph answers 429 with this `Retry-After` (seconds); nothing changes.
    Throttled(u64),
}

impl Failure {
    fn error(self) -> RemoteError {
        match self {
            Failure::Throttled(secs) => RemoteError::Throttled {
                service: Service::Graph,
                retry_after_secs: Some(secs),
                detail: format!("429 Too Many Requests, Retry-After {secs} (in memory)"),
                may_have_landed: false,
            },
            failure => RemoteError::Unavailable {
                service: Service::Graph,
                detail: format!("scripted failure (in memory): {failure:?}"),
            },
        }
    }
}

impl MemoryTeams {
    pub fn new() -> Self {
        Self::default()
    }

    /// Only these Teams users exist (others answer "not found"); by default all do.
    pub fn only_users(&self, users: impl IntoIterator<Item = TeamsUserId>) {
        *lock(&self.known) = Some(users.into_iter().collect());
    }

    /// The next writes fail this way, in order.
    pub fn fail_next(&self, failures: impl IntoIterator<Item = Failure>) {
        lock(&self.failures).extend(failures);
    }

    /// The next bulk reads fail this way, in order.
    pub fn fail_next_reads(&self, failures: impl IntoIterator<Item = Failure>) {
        lock(&self.read_failures).extend(failures);
    }

    /// Each write takes this long to be answered; one that outlasts its budget is cut, as the
    /// HTTP adapter cuts an attempt, and fails without effect.
    pub fn set_latency(&self, latency: Duration) {
        *lock(&self.latency) = latency;
    }

    /// The preferred presence the user shows (`Cleared` when none was set).
    pub fn shown(&self, user: &TeamsUserId) -> TeamsState {
        lock(&self.shown)
            .get(user)
            .copied()
            .unwrap_or(TeamsState::Cleared)
    }

    /// The user has no Teams session: they show Offline whatever was set.
    pub fn without_session(&self, user: &TeamsUserId) {
        lock(&self.sessionless).push(user.clone());
    }

    /// The user sets their own presence in Teams; it shows until the next write.
    pub fn set_by_hand(&self, user: &TeamsUserId, presence: TeamsPresence) {
        lock(&self.by_hand).insert(user.clone(), presence);
    }

    /// Bulk presence reads received.
    pub fn reads(&self) -> usize {
        *lock(&self.reads)
    }

    /// Every write received, failed ones included.
    pub fn writes(&self) -> Vec<Write> {
        lock(&self.writes).clone()
    }

    async fn write(
        &self,
        user: &TeamsUserId,
        state: TeamsState,
        budget: Budget,
    ) -> Result<WriteAnswer, RemoteError> {
        let latency = *lock(&self.latency);
        if !latency.is_zero()
            && tokio::time::timeout_at(budget.until, tokio::time::sleep(latency))
                .await
                .is_err()
        {
            return Err(RemoteError::Unavailable {
                service: Service::Graph,
                detail: "no answer within the time budget (in memory)".to_owned(),
            });
        }
        lock(&self.writes).push(Write {
            user: user.clone(),
            state,
        });
        if lock(&self.known)
            .as_ref()
            .is_some_and(|known| !known.contains(user))
        {
            return Ok(WriteAnswer::UserNotFound);
        }
        let failure = lock(&self.failures).pop_front();
        if matches!(failure, None | Some(Failure::LandedUnanswered)) {
            lock(&self.shown).insert(user.clone(), state);
            lock(&self.by_hand).remove(user);
        }
        match failure {
            None => Ok(WriteAnswer::Accepted),
            Some(failure) => Err(failure.error()),
        }
    }
}

impl PresenceWriter for MemoryTeams {
    async fn set_preferred(
        &self,
        user: &TeamsUserId,
        presence: TeamsPresence,
        budget: Budget,
    ) -> Result<WriteAnswer, RemoteError> {
        self.write(user, TeamsState::Preferred(presence), budget)
            .await
    }

    async fn clear_preferred(
        &self,
        user: &TeamsUserId,
        budget: Budget,
    ) -> Result<WriteAnswer, RemoteError> {
        self.write(user, TeamsState::Cleared, budget).await
    }
}

impl PresenceReader for MemoryTeams {
    const MAX_USERS: usize = 650;

    /// What Graph's aggregate shows: nothing but Offline without a session; else what the user
    /// set by hand, else the preferred presence set, else Available (their own session).
    async fn read(
        &self,
        users: &[TeamsUserId],
        _budget: Budget,
    ) -> Result<Vec<TeamsNow>, RemoteError> {
        *lock(&self.reads) += 1;
        if let Some(failure) = lock(&self.read_failures).pop_front() {
            return Err(failure.error());
        }
        let sessionless = lock(&self.sessionless);
        let by_hand = lock(&self.by_hand);
        Ok(users
            .iter()
            .map(|user| {
                let presence = if sessionless.contains(user) {
                    TeamsPresence::OffWork
                } else if let Some(own) = by_hand.get(user) {
                    *own
                } else {
                    match self.shown(user) {
                        TeamsState::Preferred(presence) => presence,
                        TeamsState::Cleared => TeamsPresence::Available,
                    }
                };
                TeamsNow {
                    user: user.clone(),
                    availability: presence.availability().to_owned(),
                    activity: presence.activity().to_owned(),
                }
            })
            .collect())
    }
}
