//! How Microsoft Graph aggregates one user's presence from their presence sessions and their
//! preferred presence: the rules stated once, for the in-memory adapter ([`super::MemoryTeams`])
//! and the contract fake of the test tree (`tests/src/fake_microsoft.rs`). Pure: every question
//! takes the caller's `now`, so expiry and fading are tested without sleeping.
//!
//! Sources (Microsoft Graph v1.0 reference unless named otherwise):
//! * presence: setPresence, "Presence sessions" and "Timeout, expiration, and keep alive";
//! * "Manage presence state using the Microsoft Graph API" (cloud-communications-manage-presence-state):
//!   "User-preferred state > session-level states (user-preferred state overrides session-level
//!   states)", "Among session-level states: DoNotDisturb > Busy > Available > Away", and the
//!   table of Teams states as availability/activity pairs;
//! * presence: setUserPreferredPresence: "If the preferred presence of a user is set, the user's
//!   presence shows as the preferred status. Preferred presence takes effect only when at least
//!   one presence session exists for the user. Otherwise, the user's presence shows as Offline";
//! * presence: clearPresence: "If it is the user's only presence session, the user's presence
//!   will change to Offline/Offline", and 404 when the session does not exist;
//! * Microsoft Teams admin documentation, "User presence in Teams": the states a user picks by
//!   hand ("user configured") take "precedence over any app activity update" and expire by
//!   default after 1 day (Busy, Do not disturb) or 7 days (others), the very defaults of
//!   `setUserPreferredPresence`. The model therefore keeps ONE preferred slot, written by
//!   `setUserPreferredPresence` or by the user's own choice in Teams, the last write winning.

use crate::domain::teams::TeamsPresence;
use std::time::Duration;

mod session;
mod shown;

pub use session::{ClientEvent, SessionState, TeamsClient};
use session::{Session, SessionOwner};
pub use shown::{Activity, Availability, Shown};

/// A point on the caller's clock. Implemented for `std::time::Instant` (the HTTP fake, whose
/// clock a test moves on) and `tokio::time::Instant` (the in-memory adapter, which a paused
/// tokio clock moves on).
pub trait ModelTime: Copy + Ord {
    /// `self + span`, or a point far beyond any test when that overflows: an absurd
    /// `expirationDuration` must not panic.
    fn after(self, span: Duration) -> Self;
}

/// Beyond every test's horizon: what an overflowing expiry becomes.
const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

impl ModelTime for std::time::Instant {
    fn after(self, span: Duration) -> Self {
        self.checked_add(span)
            .or_else(|| self.checked_add(FAR))
            .unwrap_or(self)
    }
}

impl ModelTime for tokio::time::Instant {
    fn after(self, span: Duration) -> Self {
        self.checked_add(span)
            .or_else(|| self.checked_add(FAR))
            .unwrap_or(self)
    }
}

/// Who wrote the preferred presence: an app through `setUserPreferredPresence`, or the user
/// choosing a state in Teams. Graph does not tell them apart (one slot); the fakes record it
/// so tests can tell what the sync wrote from what the agent chose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PreferredBy {
    App,
    User,
}

/// The preferred presence and when it lapses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preferred<I> {
    pub presence: TeamsPresence,
    pub by: PreferredBy,
    pub expires_at: I,
}

/// "DoNotDisturb or Busy: Expiration in 1 day; All others: Expiration in 7 days"
/// (setUserPreferredPresence, `expirationDuration`; the same defaults for states a user picks,
/// "User presence in Teams").
pub const fn preferred_default_expiry(presence: TeamsPresence) -> Duration {
    const DAY: u64 = 24 * 3600;
    match presence {
        TeamsPresence::DoNotDisturb | TeamsPresence::Busy => Duration::from_secs(DAY),
        _ => Duration::from_secs(7 * DAY),
    }
}

/// "If not provided, a default expiration of 5 minutes is applied" (setPresence).
pub const APP_SESSION_DEFAULT_EXPIRY: Duration = Duration::from_secs(5 * 60);
/// "The valid duration range is from 5 to 240 minutes (PT5M to PT4H)" (setPresence).
pub const APP_SESSION_MIN_EXPIRY: Duration = Duration::from_secs(5 * 60);
/// See [`APP_SESSION_MIN_EXPIRY`].
pub const APP_SESSION_MAX_EXPIRY: Duration = Duration::from_secs(4 * 3600);
/// "A presence session can time out if the availability is Available and the timeout is 5
/// minutes ... Available/AvailableInactive in 5 minutes with the first timeout, then Away/Away
/// in another 5 minutes with the second timeout" (setPresence).
pub const AVAILABLE_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// Why an app session call is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionError {
    /// `expirationDuration` outside PT5M..=PT4H.
    ExpiryOutOfRange(Duration),
    /// clearPresence of a session that does not exist ("returns a 404 NotFound"); a session
    /// past its expiration no longer exists ("When a session expires it becomes Offline").
    NoSuchSession,
}

/// One user's presence as Graph holds it: the preferred slot and the presence sessions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserPresence<I> {
    preferred: Option<Preferred<I>>,
    sessions: Vec<Session<I>>,
    /// Counts state changes, so that ties can go to the latest (see [`UserPresence::shown`]).
    changes: u64,
}

impl<I: ModelTime> UserPresence<I> {
    /// A user signed in to Teams on the desktop and active: one client session, Available.
    pub fn signed_in(now: I) -> Self {
        let mut user = Self::without_session();
        user.set_client(TeamsClient::Desktop, SessionState::Available, now);
        user
    }

    /// A user with no presence session: not signed in to Teams, no app session.
    pub fn without_session() -> Self {
        UserPresence {
            preferred: None,
            sessions: Vec::new(),
            changes: 0,
        }
    }

    /// `setUserPreferredPresence` (by an app) or the user's own choice in Teams: replaces the
    /// preferred presence, whoever wrote it; `expiration` `None` takes the documented default.
    pub fn set_preferred(
        &mut self,
        presence: TeamsPresence,
        by: PreferredBy,
        expiration: Option<Duration>,
        now: I,
    ) {
        let lasts = expiration.unwrap_or(preferred_default_expiry(presence));
        self.preferred = Some(Preferred {
            presence,
            by,
            expires_at: now.after(lasts),
        });
    }

    /// `clearUserPreferredPresence`: the user's own choice is cleared with it (one slot).
    pub fn clear_preferred(&mut self) {
        self.preferred = None;
    }

    /// The preferred presence while it lasts (shown or not).
    pub fn preferred(&self, now: I) -> Option<Preferred<I>> {
        self.preferred.filter(|p| now < p.expires_at)
    }

    /// `setPresence` of the app `app_id` (its client id: "Provide the ID of the application as
    /// sessionId"). Setting it again restarts its timeout and its expiration ("call this API
    /// before the timeout, to maintain the state for the session; or before the expiration,
    /// to keep the session alive").
    pub fn set_app_session(
        &mut self,
        app_id: &str,
        state: SessionState,
        expiration: Option<Duration>,
        now: I,
    ) -> Result<(), SessionError> {
        let lasts = expiration.unwrap_or(APP_SESSION_DEFAULT_EXPIRY);
        if !(APP_SESSION_MIN_EXPIRY..=APP_SESSION_MAX_EXPIRY).contains(&lasts) {
            return Err(SessionError::ExpiryOutOfRange(lasts));
        }
        self.drop_expired(now);
        let owner = SessionOwner::app(app_id);
        self.put(owner, state, Some(now.after(lasts)), now);
        Ok(())
    }

    /// `clearPresence` of the app `app_id`.
    pub fn clear_app_session(&mut self, app_id: &str, now: I) -> Result<(), SessionError> {
        self.drop_expired(now);
        let owner = SessionOwner::app(app_id);
        let before = self.sessions.len();
        self.sessions.retain(|s| s.owner != owner);
        if self.sessions.len() == before {
            return Err(SessionError::NoSuchSession);
        }
        Ok(())
    }

    /// The state of the app's session, faded as it shows, while the session lasts.
    pub fn app_session(&self, app_id: &str, now: I) -> Option<Shown> {
        let owner = SessionOwner::app(app_id);
        self.live(now)
            .find(|s| s.owner == owner)
            .map(|s| s.shown(now))
    }

    /// A Teams client's session now shows `state` (signing in to that client if needed). Teams
    /// computes these from the user's own activity; tests script them.
    pub fn set_client(&mut self, client: TeamsClient, state: SessionState, now: I) {
        self.put(SessionOwner::Client(client), state, None, now);
    }

    /// What a Teams client's session shows, if the user is signed in to it.
    pub fn client_state(&self, client: TeamsClient) -> Option<SessionState> {
        self.sessions
            .iter()
            .find(|s| s.owner == SessionOwner::Client(client))
            .map(|s| s.state)
    }

    /// The user's own Teams activity on the desktop client, scripted by a test (see
    /// [`ClientEvent`] for what each does).
    pub fn client_event(&mut self, event: ClientEvent, now: I) {
        let desktop = TeamsClient::Desktop;
        if event == ClientEvent::SignOut {
            self.sessions
                .retain(|s| !matches!(s.owner, SessionOwner::Client(_)));
            return;
        }
        if let Some(next) = event.next(self.client_state(desktop)) {
            self.set_client(desktop, next, now);
        }
    }

    /// Every session ends: Teams signed out everywhere and every app session cleared.
    pub fn end_every_session(&mut self) {
        self.sessions.clear();
    }

    /// Whether at least one presence session exists.
    pub fn has_session(&self, now: I) -> bool {
        self.live(now).next().is_some()
    }

    /// The aggregate, as `getPresencesByUserId` answers it:
    /// 1. no session: Offline/Offline, whatever preferred presence is set;
    /// 2. else the preferred presence, while it lasts;
    /// 3. else the session of highest availability, DoNotDisturb > Busy > Available > Away,
    ///    an Available app session counting as it has faded.
    ///
    /// Not documented: which session shows when several share the highest availability (a
    /// client Busy/InAMeeting and an app Busy/InACall). The model's rule: a Teams client's
    /// session before an app's (it is the user's own activity), then the latest to change.
    pub fn shown(&self, now: I) -> Shown {
        let Some(top) = self.live(now).max_by_key(|s| s.precedence(now)) else {
            return Shown::OFFLINE;
        };
        match self.preferred(now) {
            Some(preferred) => Shown::of_preferred(preferred.presence),
            None => top.shown(now),
        }
    }

    fn live(&self, now: I) -> impl Iterator<Item = &Session<I>> {
        self.sessions.iter().filter(move |s| s.lives_at(now))
    }

    fn drop_expired(&mut self, now: I) {
        self.sessions.retain(|s| s.lives_at(now));
    }

    fn put(&mut self, owner: SessionOwner, state: SessionState, expires_at: Option<I>, now: I) {
        // Keeping a session alive in the same state is no change (it keeps its place in ties).
        let unchanged = self
            .sessions
            .iter()
            .find(|s| s.owner == owner && s.state == state)
            .map(|s| s.changed);
        let changed = match unchanged {
            Some(changed) => changed,
            None => self.next_change(),
        };
        self.sessions.retain(|s| s.owner != owner);
        self.sessions.push(Session {
            owner,
            state,
            since: now,
            expires_at,
            changed,
        });
    }

    fn next_change(&mut self) -> u64 {
        self.changes += 1;
        self.changes
    }
}

#[cfg(test)]
mod tests;
