//! The model's rules one by one, on a clock the test moves. The same rules are run against the
//! in-memory adapter and the HTTP fake in `tests/tests/suite/fakes_presence.rs`.

use super::*;
use std::time::Instant;

const APP: &str = "535FB089-9FF3-47B6-9BFB-4F1264799865";
const MIN: Duration = Duration::from_secs(60);

fn pair(user: &UserPresence<Instant>, now: Instant) -> (&'static str, &'static str) {
    user.shown(now).pair()
}

#[test]
fn no_session_is_offline_whatever_is_preferred() {
    let t0 = Instant::now();
    let mut user = UserPresence::without_session();
    assert_eq!(pair(&user, t0), ("Offline", "Offline"));
    user.set_preferred(TeamsPresence::Busy, PreferredBy::App, None, t0);
    assert_eq!(pair(&user, t0), ("Offline", "Offline"));
    user.client_event(ClientEvent::SignIn, t0);
    assert_eq!(pair(&user, t0), ("Busy", "Busy"));
}

#[test]
fn the_preferred_presence_hides_every_session_while_it_lasts() {
    let t0 = Instant::now();
    let mut user = UserPresence::signed_in(t0);
    user.set_preferred(TeamsPresence::Busy, PreferredBy::App, Some(10 * MIN), t0);
    user.client_event(ClientEvent::StartPresenting, t0);
    assert_eq!(
        pair(&user, t0),
        ("Busy", "Busy"),
        "DoNotDisturb session hidden"
    );
    assert_eq!(pair(&user, t0 + 10 * MIN), ("DoNotDisturb", "Presenting"));
    assert_eq!(user.preferred(t0 + 10 * MIN), None, "expired");
}

#[test]
fn preferred_presence_expires_after_its_documented_default() {
    let t0 = Instant::now();
    let day = 24 * 60 * MIN;
    for (presence, lasts) in [
        (TeamsPresence::Busy, day),
        (TeamsPresence::DoNotDisturb, day),
        (TeamsPresence::Available, 7 * day),
        (TeamsPresence::OffWork, 7 * day),
    ] {
        let mut user = UserPresence::signed_in(t0);
        user.set_preferred(presence, PreferredBy::User, None, t0);
        let before = t0 + lasts - Duration::from_millis(1);
        assert_eq!(
            user.shown(before),
            Shown::of_preferred(presence),
            "{presence}"
        );
        assert_eq!(
            pair(&user, t0 + lasts),
            ("Available", "Available"),
            "{presence}"
        );
    }
}

#[test]
fn the_user_configured_state_and_ours_share_one_slot() {
    let t0 = Instant::now();
    let mut user = UserPresence::signed_in(t0);
    user.set_preferred(TeamsPresence::Busy, PreferredBy::App, None, t0);
    user.set_preferred(TeamsPresence::DoNotDisturb, PreferredBy::User, None, t0);
    user.client_event(ClientEvent::JoinMeeting, t0);
    assert_eq!(pair(&user, t0), ("DoNotDisturb", "DoNotDisturb"));
    assert_eq!(user.preferred(t0).map(|p| p.by), Some(PreferredBy::User));
    user.clear_preferred();
    assert_eq!(pair(&user, t0), ("Busy", "InAMeeting"));
}

#[test]
fn sessions_aggregate_by_availability_precedence() {
    let t0 = Instant::now();
    let mut user = UserPresence::signed_in(t0);
    user.set_app_session(APP, SessionState::Away, None, t0)
        .unwrap();
    assert_eq!(
        pair(&user, t0),
        ("Available", "Available"),
        "Available > Away"
    );
    user.set_app_session(APP, SessionState::InACall, None, t0)
        .unwrap();
    assert_eq!(pair(&user, t0), ("Busy", "InACall"), "Busy > Available");
    user.client_event(ClientEvent::StartPresenting, t0);
    assert_eq!(
        pair(&user, t0),
        ("DoNotDisturb", "Presenting"),
        "DND > Busy"
    );
    user.client_event(ClientEvent::GoIdle, t0);
    assert_eq!(pair(&user, t0), ("Busy", "InACall"), "Busy > Away");
}

#[test]
fn equal_availability_shows_the_client_then_the_latest() {
    let t0 = Instant::now();
    let mut user = UserPresence::signed_in(t0);
    user.client_event(ClientEvent::JoinMeeting, t0);
    user.set_app_session(APP, SessionState::InACall, None, t0)
        .unwrap();
    assert_eq!(pair(&user, t0), ("Busy", "InAMeeting"), "the client first");
    user.set_client(TeamsClient::Mobile, SessionState::InACall, t0);
    assert_eq!(pair(&user, t0), ("Busy", "InACall"), "the latest client");
    user.set_client(TeamsClient::Desktop, SessionState::InAMeeting, t0);
    assert_eq!(
        pair(&user, t0),
        ("Busy", "InACall"),
        "no change, no new place"
    );
}

#[test]
fn an_app_session_expires_and_leaves_offline_when_alone() {
    let t0 = Instant::now();
    let mut user = UserPresence::without_session();
    user.set_app_session(APP, SessionState::InACall, None, t0)
        .unwrap();
    let default = APP_SESSION_DEFAULT_EXPIRY;
    assert_eq!(pair(&user, t0 + default - MIN), ("Busy", "InACall"));
    assert_eq!(pair(&user, t0 + default), ("Offline", "Offline"));
    assert_eq!(
        user.clear_app_session(APP, t0 + default),
        Err(SessionError::NoSuchSession)
    );
    user.set_app_session(APP, SessionState::InACall, Some(4 * 60 * MIN), t0)
        .unwrap();
    assert_eq!(pair(&user, t0 + 239 * MIN), ("Busy", "InACall"));
    assert!(!user.has_session(t0 + 240 * MIN));
}

#[test]
fn app_session_expiry_is_bounded_to_pt5m_through_pt4h() {
    let t0 = Instant::now();
    let mut user = UserPresence::without_session();
    for bad in [4 * MIN, 4 * 60 * MIN + Duration::from_secs(1)] {
        let answer = user.set_app_session(APP, SessionState::Available, Some(bad), t0);
        assert_eq!(answer, Err(SessionError::ExpiryOutOfRange(bad)));
    }
    assert!(!user.has_session(t0), "a refused call changes nothing");
    for good in [5 * MIN, 4 * 60 * MIN] {
        user.set_app_session(APP, SessionState::Available, Some(good), t0)
            .unwrap();
    }
}

#[test]
fn an_available_app_session_fades_at_5_and_10_minutes_unless_set_again() {
    let t0 = Instant::now();
    let mut user = UserPresence::without_session();
    user.set_app_session(APP, SessionState::Available, Some(60 * MIN), t0)
        .unwrap();
    let at = |m: u32| t0 + MIN * m;
    assert_eq!(
        pair(&user, at(5) - Duration::from_millis(1)),
        ("Available", "Available")
    );
    assert_eq!(pair(&user, at(5)), ("Available", "AvailableInactive"));
    assert_eq!(pair(&user, at(10)), ("Away", "Away"));
    user.set_app_session(APP, SessionState::Available, Some(60 * MIN), at(10))
        .unwrap();
    assert_eq!(
        pair(&user, at(14)),
        ("Available", "Available"),
        "kept alive"
    );
    // A faded session ranks as it shows: Available (inactive) over a client's Away, then Away.
    user.client_event(ClientEvent::SignIn, at(14));
    user.client_event(ClientEvent::GoIdle, at(14));
    assert_eq!(pair(&user, at(16)), ("Available", "AvailableInactive"));
    assert_eq!(pair(&user, at(21)), ("Away", "Away"));
    assert_eq!(
        user.app_session(APP, at(21)),
        Some(SessionState::Away.shown())
    );
}

#[test]
fn other_app_states_do_not_fade() {
    let t0 = Instant::now();
    let mut user = UserPresence::without_session();
    user.set_app_session(APP, SessionState::InACall, Some(60 * MIN), t0)
        .unwrap();
    assert_eq!(pair(&user, t0 + 59 * MIN), ("Busy", "InACall"));
}

#[test]
fn clear_presence_ends_the_app_session_only() {
    let t0 = Instant::now();
    let mut user = UserPresence::signed_in(t0);
    assert_eq!(
        user.clear_app_session(APP, t0),
        Err(SessionError::NoSuchSession)
    );
    user.set_app_session(APP, SessionState::Presenting, None, t0)
        .unwrap();
    assert_eq!(pair(&user, t0), ("DoNotDisturb", "Presenting"));
    // Session ids are the app's client id, a GUID: case does not matter.
    user.clear_app_session(&APP.to_ascii_lowercase(), t0)
        .unwrap();
    assert_eq!(pair(&user, t0), ("Available", "Available"));
}

#[test]
fn scripted_client_events_follow_the_stated_rules() {
    let t0 = Instant::now();
    let mut user = UserPresence::without_session();
    let steps = [
        (ClientEvent::LeaveMeeting, ("Offline", "Offline")),
        (ClientEvent::JoinMeeting, ("Busy", "InAMeeting")),
        (ClientEvent::StartPresenting, ("DoNotDisturb", "Presenting")),
        (ClientEvent::StopPresenting, ("Busy", "InAMeeting")),
        (ClientEvent::EndCall, ("Busy", "InAMeeting")),
        (ClientEvent::LeaveMeeting, ("Available", "Available")),
        (
            ClientEvent::StartConferenceCall,
            ("Busy", "InAConferenceCall"),
        ),
        (ClientEvent::EndCall, ("Available", "Available")),
        (ClientEvent::GoIdle, ("Away", "Away")),
        (ClientEvent::ComeBack, ("Available", "Available")),
        (ClientEvent::SignOut, ("Offline", "Offline")),
        (ClientEvent::GoIdle, ("Offline", "Offline")),
        (ClientEvent::SignIn, ("Available", "Available")),
    ];
    for (n, (event, expected)) in steps.into_iter().enumerate() {
        user.client_event(event, t0);
        assert_eq!(pair(&user, t0), expected, "step {n}: {event:?}");
    }
}

#[test]
fn app_pairs_are_exactly_the_documented_five() {
    let accepted = [
        ("Available", "Available"),
        ("Busy", "InACall"),
        ("Busy", "InAConferenceCall"),
        ("Away", "Away"),
        ("DoNotDisturb", "Presenting"),
    ];
    for (a, b) in accepted {
        let state = SessionState::from_app_pair(a, b).unwrap_or_else(|| panic!("{a}/{b}"));
        assert_eq!(state.shown().pair(), (a, b));
    }
    for (a, b) in [
        ("Busy", "InAMeeting"),
        ("Busy", "Busy"),
        ("DoNotDisturb", "DoNotDisturb"),
        ("Offline", "OffWork"),
        ("available", "available"),
    ] {
        assert_eq!(SessionState::from_app_pair(a, b), None, "{a}/{b}");
    }
}

#[test]
fn an_absurd_expiry_does_not_panic() {
    let t0 = Instant::now();
    let mut user = UserPresence::signed_in(t0);
    user.set_preferred(
        TeamsPresence::Away,
        PreferredBy::App,
        Some(Duration::MAX),
        t0,
    );
    assert_eq!(pair(&user, t0 + 1000 * 24 * 60 * MIN), ("Away", "Away"));
}
