//! What Graph shows of a user's presence: the `availability` and `activity` values the model
//! produces (presence resource type, Microsoft Graph v1.0) and the pair they form.

use crate::domain::teams::TeamsPresence;

/// The `availability` values this model produces (a subset of the presence resource's:
/// `AvailableIdle`, `BusyIdle` and `PresenceUnknown` come from Teams' own idle detection and
/// service states, which the model does not compute).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Availability {
    Available,
    Busy,
    DoNotDisturb,
    BeRightBack,
    Away,
    Offline,
}

impl Availability {
    pub const fn as_str(self) -> &'static str {
        match self {
            Availability::Available => "Available",
            Availability::Busy => "Busy",
            Availability::DoNotDisturb => "DoNotDisturb",
            Availability::BeRightBack => "BeRightBack",
            Availability::Away => "Away",
            Availability::Offline => "Offline",
        }
    }

    /// Precedence among session-level states: "DoNotDisturb > Busy > Available > Away"
    /// (manage presence state). Sessions hold no other availability.
    pub(super) const fn session_rank(self) -> u8 {
        match self {
            Availability::DoNotDisturb => 3,
            Availability::Busy => 2,
            Availability::Available => 1,
            Availability::Away | Availability::BeRightBack | Availability::Offline => 0,
        }
    }
}

/// The `activity` values this model produces. `AvailableInactive` is not in the presence
/// resource's list but is what setPresence's page says a faded Available session shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Activity {
    Available,
    AvailableInactive,
    Away,
    BeRightBack,
    Busy,
    DoNotDisturb,
    InACall,
    InAConferenceCall,
    InAMeeting,
    Presenting,
    Offline,
    OffWork,
}

impl Activity {
    pub const fn as_str(self) -> &'static str {
        match self {
            Activity::Available => "Available",
            Activity::AvailableInactive => "AvailableInactive",
            Activity::Away => "Away",
            Activity::BeRightBack => "BeRightBack",
            Activity::Busy => "Busy",
            Activity::DoNotDisturb => "DoNotDisturb",
            Activity::InACall => "InACall",
            Activity::InAConferenceCall => "InAConferenceCall",
            Activity::InAMeeting => "InAMeeting",
            Activity::Presenting => "Presenting",
            Activity::Offline => "Offline",
            Activity::OffWork => "OffWork",
        }
    }
}

/// What `getPresencesByUserId` answers for the user: the aggregate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shown {
    pub availability: Availability,
    pub activity: Activity,
}

impl Shown {
    /// No session at all: "Offline/Offline" (clearPresence).
    pub const OFFLINE: Shown = Shown::new(Availability::Offline, Activity::Offline);

    pub const fn new(availability: Availability, activity: Activity) -> Self {
        Shown {
            availability,
            activity,
        }
    }

    /// A preferred presence as it shows.
    pub const fn of_preferred(presence: TeamsPresence) -> Self {
        use {Activity as Ac, Availability as Av};
        match presence {
            TeamsPresence::Available => Shown::new(Av::Available, Ac::Available),
            TeamsPresence::Busy => Shown::new(Av::Busy, Ac::Busy),
            TeamsPresence::DoNotDisturb => Shown::new(Av::DoNotDisturb, Ac::DoNotDisturb),
            TeamsPresence::BeRightBack => Shown::new(Av::BeRightBack, Ac::BeRightBack),
            TeamsPresence::Away => Shown::new(Av::Away, Ac::Away),
            TeamsPresence::OffWork => Shown::new(Av::Offline, Ac::OffWork),
        }
    }

    /// `(availability, activity)` as Graph spells them.
    pub const fn pair(self) -> (&'static str, &'static str) {
        (self.availability.as_str(), self.activity.as_str())
    }
}
