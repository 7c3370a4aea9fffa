//! One presence session: whose it is, what it announces, and how an app's Available session
//! fades (presence: setPresence, "Timeout, expiration, and keep alive").

use super::{AVAILABLE_TIMEOUT, Activity, Availability, ModelTime, Shown};

/// A Teams client the user can be signed in to: "Each Teams client has an independent
/// presence session" (setPresence, "Presence sessions").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TeamsClient {
    Desktop,
    Mobile,
    Web,
}

/// Whose session it is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum SessionOwner {
    Client(TeamsClient),
    /// An app's session, by the app's client id (lower case: GUIDs compare so).
    App(String),
}

impl SessionOwner {
    pub(super) fn app(app_id: &str) -> Self {
        SessionOwner::App(app_id.to_ascii_lowercase())
    }
}

/// What one session announces: the states Teams computes for a client session from the user's
/// activity, calendar and calls ("Manage presence state", states permutations: Available,
/// Away, In a call, In a meeting, Presenting) and those an app may set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SessionState {
    Available,
    Away,
    InACall,
    InAConferenceCall,
    InAMeeting,
    Presenting,
}

impl SessionState {
    /// What an app may announce through `setPresence`.
    pub const APP_SETTABLE: [SessionState; 5] = [
        SessionState::Available,
        SessionState::InACall,
        SessionState::InAConferenceCall,
        SessionState::Away,
        SessionState::Presenting,
    ];

    /// The pair the state shows as ("Manage presence state", states permutations).
    pub const fn shown(self) -> Shown {
        use {Activity as Ac, Availability as Av};
        match self {
            SessionState::Available => Shown::new(Av::Available, Ac::Available),
            SessionState::Away => Shown::new(Av::Away, Ac::Away),
            SessionState::InACall => Shown::new(Av::Busy, Ac::InACall),
            SessionState::InAConferenceCall => Shown::new(Av::Busy, Ac::InAConferenceCall),
            SessionState::InAMeeting => Shown::new(Av::Busy, Ac::InAMeeting),
            SessionState::Presenting => Shown::new(Av::DoNotDisturb, Ac::Presenting),
        }
    }

    /// The state of a pair `setPresence` accepts ("Supported combinations": Available/Available,
    /// Busy/InACall, Busy/InAConferenceCall, Away/Away, DoNotDisturb/Presenting; exact
    /// spelling). Busy/InAMeeting is not one: "The setPresence method doesn't support setting
    /// ... In a meeting" ("Manage presence state").
    pub fn from_app_pair(availability: &str, activity: &str) -> Option<Self> {
        Self::APP_SETTABLE
            .into_iter()
            .find(|state| state.shown().pair() == (availability, activity))
    }
}

/// The user's own Teams activity on their desktop client, as a test scripts it. Teams computes
/// such states itself; what each event leads to is this model's choice, stated per event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientEvent {
    /// Signs in to the desktop client (Available), if not signed in.
    SignIn,
    /// Signs out of every Teams client: their sessions end (app sessions stay).
    SignOut,
    /// In a meeting (signed in by it).
    JoinMeeting,
    /// Out of the meeting (presenting ends with it): Available; nothing if not in one.
    LeaveMeeting,
    /// In a one-to-one call.
    StartCall,
    /// In a call with several people.
    StartConferenceCall,
    /// Out of the call: Available; nothing if not in one.
    EndCall,
    /// Shares the screen in a meeting.
    StartPresenting,
    /// Stops sharing: back in the meeting; nothing if not presenting.
    StopPresenting,
    /// The computer locks or idles: Away ("User presence in Teams"); nothing if signed out.
    GoIdle,
    /// Back at the computer: Available; nothing if not Away.
    ComeBack,
}

impl ClientEvent {
    /// The desktop session's next state from `current` (`None`: not signed in); `None` when
    /// the event changes nothing. [`ClientEvent::SignOut`] is the caller's.
    pub(super) fn next(self, current: Option<SessionState>) -> Option<SessionState> {
        use SessionState as S;
        match (self, current) {
            (ClientEvent::SignIn, None) => Some(S::Available),
            (ClientEvent::JoinMeeting, _) => Some(S::InAMeeting),
            (ClientEvent::LeaveMeeting, Some(S::InAMeeting | S::Presenting)) => Some(S::Available),
            (ClientEvent::StartCall, _) => Some(S::InACall),
            (ClientEvent::StartConferenceCall, _) => Some(S::InAConferenceCall),
            (ClientEvent::EndCall, Some(S::InACall | S::InAConferenceCall)) => Some(S::Available),
            (ClientEvent::StartPresenting, _) => Some(S::Presenting),
            (ClientEvent::StopPresenting, Some(S::Presenting)) => Some(S::InAMeeting),
            (ClientEvent::GoIdle, Some(_)) => Some(S::Away),
            (ClientEvent::ComeBack, Some(S::Away)) => Some(S::Available),
            _ => None,
        }
    }
}

/// One presence session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Session<I> {
    pub(super) owner: SessionOwner,
    pub(super) state: SessionState,
    /// When it was last set: its timeout counts from here.
    pub(super) since: I,
    /// When it expires (app sessions); a client session lasts until sign-out.
    pub(super) expires_at: Option<I>,
    /// The change count when its state last changed (ties go to the latest).
    pub(super) changed: u64,
}

impl<I: ModelTime> Session<I> {
    /// "When a session expires it becomes Offline": gone from the aggregate.
    pub(super) fn lives_at(&self, now: I) -> bool {
        self.expires_at.is_none_or(|end| now < end)
    }

    /// What the session shows at `now`. Only an app's Available session fades: 5 minutes after
    /// it was last set it shows Available/AvailableInactive, 5 more and it shows Away/Away
    /// (setPresence). Teams keeps its own clients' sessions alive and reports the user's
    /// inactivity itself (scripted as [`ClientEvent::GoIdle`]).
    pub(super) fn shown(&self, now: I) -> Shown {
        let app = matches!(self.owner, SessionOwner::App(_));
        if app && self.state == SessionState::Available {
            let first = self.since.after(AVAILABLE_TIMEOUT);
            if now >= first.after(AVAILABLE_TIMEOUT) {
                return SessionState::Away.shown();
            }
            if now >= first {
                return Shown::new(Availability::Available, Activity::AvailableInactive);
            }
        }
        self.state.shown()
    }

    /// The key the aggregate takes the greatest of: availability precedence, then a client's
    /// session before an app's, then the latest change (see `UserPresence::shown`).
    pub(super) fn precedence(&self, now: I) -> (u8, bool, u64) {
        let client = matches!(self.owner, SessionOwner::Client(_));
        (
            self.shown(now).availability.session_rank(),
            client,
            self.changed,
        )
    }
}
