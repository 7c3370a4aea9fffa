//! Microsoft Graph's presence in memory: each Teams user's presence as Graph aggregates it
//! (the rules of [`super::graph_presence`], the same the HTTP fake follows), the writes
//! received, bulk reads, and failures on demand. Time is tokio's: a paused clock moves expiry
//! and fading on.

use super::graph_presence::{
    ClientEvent, PreferredBy, SessionError, SessionState, Shown, TeamsClient, UserPresence,
};
use super::lock;
use crate::domain::ids::TeamsUserId;
use crate::domain::teams::{TeamsPresence, TeamsState};
use crate::ports::{
    Budget, PresenceReader, PresenceWriter, RemoteError, Service, TeamsNow, WriteAnswer,
};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// One write the presence writer received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Write {
    pub user: TeamsUserId,
    pub state: TeamsState,
}

/// Microsoft Graph's presence, in memory: what each Teams user shows, every write received,
/// and failures to answer with on demand. A user nobody scripted is signed in to Teams on the
/// desktop and Available.
#[derive(Debug, Default)]
pub struct MemoryTeams {
    presence: Mutex<HashMap<TeamsUserId, UserPresence<Instant>>>,
    /// The `expirationDuration` of preferred presence writes (`None`: Graph's default).
    expiration: Mutex<Option<Duration>>,
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

    /// Only these Teams users exist (others answer "not found", and reads leave them out);
    /// by default all do.
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

    /// The `expirationDuration` preferred presence writes carry, as the Graph adapter's
    /// setting does (default `None`: Graph's own, 1 day for Busy and DoNotDisturb, else 7).
    pub fn set_preferred_expiration(&self, expiration: Option<Duration>) {
        *lock(&self.expiration) = expiration;
    }

    /// The preferred presence our writes left that still stands: `Cleared` when none was set,
    /// it was cleared or expired, or the user replaced it with their own choice.
    pub fn shown(&self, user: &TeamsUserId) -> TeamsState {
        self.with_user(user, |presence, now| match presence.preferred(now) {
            Some(preferred) if preferred.by == PreferredBy::App => {
                TeamsState::Preferred(preferred.presence)
            }
            _ => TeamsState::Cleared,
        })
    }

    /// What Graph's aggregate shows for the user now (what a read answers).
    pub fn aggregate(&self, user: &TeamsUserId) -> Shown {
        self.with_user(user, |presence, now| presence.shown(now))
    }

    /// The user has no presence session left (signed out of Teams everywhere, no app
    /// session): they show Offline whatever was set.
    pub fn without_session(&self, user: &TeamsUserId) {
        self.with_user(user, |presence, _| presence.end_every_session());
    }

    /// The user picks a state in Teams: it takes the preferred presence's place (one slot),
    /// shown over every session until the next write or its default expiry.
    pub fn set_by_hand(&self, user: &TeamsUserId, presence: TeamsPresence) {
        self.with_user(user, |slot, now| {
            slot.set_preferred(presence, PreferredBy::User, None, now);
        });
    }

    /// The user's own Teams activity on their desktop client (joins a meeting, takes a call…).
    pub fn client_event(&self, user: &TeamsUserId, event: ClientEvent) {
        self.with_user(user, |presence, now| presence.client_event(event, now));
    }

    /// One Teams client's session now shows `state` (for users on several clients).
    pub fn set_client(&self, user: &TeamsUserId, client: TeamsClient, state: SessionState) {
        self.with_user(user, |presence, now| {
            presence.set_client(client, state, now)
        });
    }

    /// `setPresence` of the app `app_id` for the user (`expiration` `None`: PT5M).
    pub fn set_app_session(
        &self,
        user: &TeamsUserId,
        app_id: &str,
        state: SessionState,
        expiration: Option<Duration>,
    ) -> Result<(), SessionError> {
        self.with_user(user, |presence, now| {
            presence.set_app_session(app_id, state, expiration, now)
        })
    }

    /// `clearPresence` of the app `app_id` for the user.
    pub fn clear_app_session(&self, user: &TeamsUserId, app_id: &str) -> Result<(), SessionError> {
        self.with_user(user, |presence, now| {
            presence.clear_app_session(app_id, now)
        })
    }

    /// Bulk presence reads received.
    pub fn reads(&self) -> usize {
        *lock(&self.reads)
    }

    /// Every write received, failed ones included.
    pub fn writes(&self) -> Vec<Write> {
        lock(&self.writes).clone()
    }

    /// Runs `f` on the user's presence (a user first met is signed in and Available).
    fn with_user<R>(
        &self,
        user: &TeamsUserId,
        f: impl FnOnce(&mut UserPresence<Instant>, Instant) -> R,
    ) -> R {
        let now = Instant::now();
        let mut presence = lock(&self.presence);
        let entry = presence
            .entry(user.clone())
            .or_insert_with(|| UserPresence::signed_in(now));
        f(entry, now)
    }

    fn is_known(&self, user: &TeamsUserId) -> bool {
        lock(&self.known)
            .as_ref()
            .is_none_or(|known| known.contains(user))
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
        if !self.is_known(user) {
            return Ok(WriteAnswer::UserNotFound);
        }
        let failure = lock(&self.failures).pop_front();
        if matches!(failure, None | Some(Failure::LandedUnanswered)) {
            let expiration = *lock(&self.expiration);
            self.with_user(user, |presence, now| match state {
                TeamsState::Preferred(p) => {
                    presence.set_preferred(p, PreferredBy::App, expiration, now);
                }
                TeamsState::Cleared => presence.clear_preferred(),
            });
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

    /// Graph's aggregate of each known user ([`super::graph_presence::UserPresence::shown`]);
    /// users Graph does not know are left out.
    async fn read(
        &self,
        users: &[TeamsUserId],
        _budget: Budget,
    ) -> Result<Vec<TeamsNow>, RemoteError> {
        *lock(&self.reads) += 1;
        if let Some(failure) = lock(&self.read_failures).pop_front() {
            return Err(failure.error());
        }
        Ok(users
            .iter()
            .filter(|user| self.is_known(user))
            .map(|user| {
                let (availability, activity) = self.aggregate(user).pair();
                TeamsNow {
                    user: user.clone(),
                    availability: availability.to_owned(),
                    activity: activity.to_owned(),
                }
            })
            .collect())
    }
}
