//! What a test scripts on the fake beyond Graph's HTTP API: the agent's own Teams activity
//! (Teams computes it from calls, meetings and screen sharing; a test says what happens), the
//! state the agent picks by hand, and the presence clock that expiry and fading follow.

use std::time::{Duration, Instant};

use presence_core::adapters::memory::graph_presence::UserPresence;
use presence_core::domain::teams::TeamsPresence;

use super::{
    ClientEvent, FakeMicrosoft, MsEndpoint, PreferredBy, RecordedCall, SessionState, TeamsClient,
    lock, presence_of,
};

impl FakeMicrosoft {
    /// Moves the fake's presence clock on by `by`: preferred presences and app sessions
    /// expire, Available app sessions fade, as if that much time had passed. Tokens keep the
    /// real clock.
    pub fn advance_clock(&self, by: Duration) {
        let mut state = lock(&self.state);
        state.clock_offset = state.clock_offset.saturating_add(by);
    }

    /// The user picks `presence` in Teams: the user-configured state, which takes the
    /// preferred presence's place until the next write of it or its default expiry.
    pub fn set_user_configured(&self, teams_id: &str, presence: TeamsPresence) {
        lock(&self.state)
            .out_of_contract
            .remove(&teams_id.to_ascii_lowercase());
        self.with_presence(teams_id, |user, now| {
            user.set_preferred(presence, PreferredBy::User, None, now);
        });
    }

    /// The user's own Teams activity on the desktop client (see [`ClientEvent`]).
    pub fn client_event(&self, teams_id: &str, event: ClientEvent) {
        self.with_presence(teams_id, |user, now| user.client_event(event, now));
    }

    /// The user joins a Teams meeting: Busy/InAMeeting.
    pub fn join_meeting(&self, teams_id: &str) {
        self.client_event(teams_id, ClientEvent::JoinMeeting);
    }

    /// The user leaves the meeting: Available.
    pub fn leave_meeting(&self, teams_id: &str) {
        self.client_event(teams_id, ClientEvent::LeaveMeeting);
    }

    /// The user takes a Teams call: Busy/InACall.
    pub fn start_call(&self, teams_id: &str) {
        self.client_event(teams_id, ClientEvent::StartCall);
    }

    /// The call ends: Available.
    pub fn end_call(&self, teams_id: &str) {
        self.client_event(teams_id, ClientEvent::EndCall);
    }

    /// The user shares their screen: DoNotDisturb/Presenting.
    pub fn start_presenting(&self, teams_id: &str) {
        self.client_event(teams_id, ClientEvent::StartPresenting);
    }

    /// The user stops sharing: back in the meeting.
    pub fn stop_presenting(&self, teams_id: &str) {
        self.client_event(teams_id, ClientEvent::StopPresenting);
    }

    /// The user signs out of every Teams client (app sessions stay).
    pub fn sign_out(&self, teams_id: &str) {
        self.client_event(teams_id, ClientEvent::SignOut);
    }

    /// The user signs in to Teams on the desktop: Available.
    pub fn sign_in(&self, teams_id: &str) {
        self.client_event(teams_id, ClientEvent::SignIn);
    }

    /// One Teams client's session shows `state` (for users on several clients).
    pub fn set_client(&self, teams_id: &str, client: TeamsClient, state: SessionState) {
        self.with_presence(teams_id, |user, now| user.set_client(client, state, now));
    }

    /// What the app's session for the user shows now (faded as it shows), while it lasts.
    pub fn app_session(&self, teams_id: &str, app_id: &str) -> Option<(String, String)> {
        self.with_presence(teams_id, |user, now| {
            user.app_session(app_id, now).map(|shown| {
                let (availability, activity) = shown.pair();
                (availability.to_owned(), activity.to_owned())
            })
        })
    }

    /// The `setPresence` calls for one user (any status), in order.
    pub fn set_presence_calls_for(&self, teams_id: &str) -> Vec<RecordedCall<MsEndpoint>> {
        self.action_calls_for(teams_id, "setPresence")
    }

    /// The `clearPresence` calls for one user (any status), in order.
    pub fn clear_presence_calls_for(&self, teams_id: &str) -> Vec<RecordedCall<MsEndpoint>> {
        self.action_calls_for(teams_id, "clearPresence")
    }

    /// Runs `f` on the user's presence at the fake's clock.
    pub(super) fn with_presence<R>(
        &self,
        teams_id: &str,
        f: impl FnOnce(&mut UserPresence<Instant>, Instant) -> R,
    ) -> R {
        let mut state = lock(&self.state);
        let now = state.now();
        f(presence_of(&mut state, &teams_id.to_ascii_lowercase()), now)
    }
}
