//! What the reconciler does for one user, from the record, what Genesys says now and what
//! Teams shows now: one pure decision whose cases are the rules of `docs/design.md` ("The
//! reconciler"), in the order they apply.

use super::left::LeftReason;
use super::mapping::Target;
use super::state::{Observation, UserState, newer_part};
use super::teams::{TeamsPresence, TeamsState};

/// What to do about Teams drifting from what was applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriftPolicy {
    /// Count and log it; leave Teams alone (someone may have changed it on purpose).
    Report,
    /// Re-apply what Genesys says.
    Repair,
}

impl DriftPolicy {
    /// Parses `report` or `repair`.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "report" => Some(DriftPolicy::Report),
            "repair" => Some(DriftPolicy::Repair),
            _ => None,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            DriftPolicy::Report => "report",
            DriftPolicy::Repair => "repair",
        }
    }
}

/// The reconciler's rules, from configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    /// How long after Graph accepted a preferred presence it is re-sent (well before it
    /// expires).
    pub refresh_after_ms: i64,
    pub drift: DriftPolicy,
    /// How far a recorded version may be ahead of the clock before the record counts as
    /// poisoned (the event path's skew bound).
    pub max_skew_ms: i64,
}

/// A Teams user's aggregated presence as Graph reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shown<'a> {
    pub availability: &'a str,
    pub activity: &'a str,
}

/// How Teams differs from what was applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drift {
    /// Teams shows another availability than the preferred presence we set: it expired, or
    /// the user set their own.
    Differs,
}

impl Drift {
    pub const fn as_str(self) -> &'static str {
        match self {
            Drift::Differs => "differs",
        }
    }
}

/// Why a state that holds is re-sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refresh {
    /// It would expire before the next pass or the one after.
    KeepAlive,
    /// Teams drifted from it.
    Repair(Drift),
    /// The mapping changed since it was applied (`PRESENCE_MAPPING`, or `PRESENCE_MODE` when
    /// the watcher is switched on): what the record maps to now is not what Teams was given.
    Remap,
}

/// Why nothing is done for a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quiet {
    /// Teams shows what was applied (or we applied nothing to keep).
    Clean,
    /// Another holder is on the record now; it settles it.
    Busy,
    /// Teams shows Offline: the user has no Teams session, so no preferred presence shows.
    /// Not drift: writing again changes nothing, and polling them harder only costs quota.
    /// (Keep-alive still re-sends it in time, so that it shows when the session opens.)
    NoSession,
    /// The record holds a version from the future and Genesys did not answer for the user:
    /// counted, repaired when Genesys answers.
    Poisoned,
    /// The sync let the user go and Genesys does not list them as active again.
    Left,
}

impl Quiet {
    pub const fn as_str(self) -> &'static str {
        match self {
            Quiet::Clean => "clean",
            Quiet::Busy => "busy",
            Quiet::NoSession => "no-session",
            Quiet::Poisoned => "poisoned",
            Quiet::Left => "left",
        }
    }
}

/// What Genesys says of a user now, as the reconciler read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GenesysView<'a> {
    /// The account is active: their current presence and routing status.
    Current(&'a Observation),
    /// Genesys no longer lists the account as active (deactivated, deleted, unknown).
    Gone(LeftReason),
}

/// What the reconciler does for one user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The record holds a version from the future (an event from before the skew bound
    /// existed): replace it with Genesys's current state and re-apply it.
    Repair(Observation),
    /// Genesys holds a newer state than the record (a lost event, or a user never recorded):
    /// record it as an event would be, which applies it.
    Recover(Observation),
    /// An earlier holder left the record dirty and is gone: re-apply the newest state.
    Settle,
    /// Re-send what the record maps to.
    Refresh(Refresh),
    /// Teams drifted and the policy is to report it.
    Report(Drift),
    /// Let the user go: clear what we set in Teams, once, release their Teams id, and leave
    /// them alone from then on.
    LetGo(LeftReason),
    /// A user the sync let go is active again: take them back with Genesys's current state.
    Rejoin(Observation),
    /// Nothing to do.
    Nothing(Quiet),
}

impl Verdict {
    /// Whether carrying it out may write Teams (and so needs the time of a Graph call).
    pub fn calls_teams(&self) -> bool {
        matches!(
            self,
            Verdict::Repair(_)
                | Verdict::Recover(_)
                | Verdict::Settle
                | Verdict::Refresh(_)
                | Verdict::LetGo(_)
                | Verdict::Rejoin(_)
        )
    }
}

/// The decision for one user. `genesys` is what Genesys says of the user now (when read this
/// pass), `teams` their Teams presence now (when read), `now_ms` the clock.
pub fn judge(
    rules: &Rules,
    record: &UserState,
    genesys: Option<GenesysView<'_>>,
    teams: Option<Shown<'_>>,
    now_ms: i64,
) -> Verdict {
    if record.left.is_some() {
        return match genesys {
            _ if record.busy(now_ms) => Verdict::Nothing(Quiet::Busy),
            Some(GenesysView::Current(current)) => Verdict::Rejoin(current.clone()),
            // Its clear failed before: clear it now.
            _ if record.dirty() => Verdict::Settle,
            _ => Verdict::Nothing(Quiet::Left),
        };
    }
    let current = match genesys {
        Some(GenesysView::Gone(_)) if record.busy(now_ms) => {
            return Verdict::Nothing(Quiet::Busy);
        }
        Some(GenesysView::Gone(reason)) => return Verdict::LetGo(reason),
        Some(GenesysView::Current(current)) => Some(current),
        None => None,
    };
    if poisoned(record, now_ms, rules.max_skew_ms) {
        return match current {
            Some(current) if !current.is_empty() => Verdict::Repair(current.clone()),
            _ => Verdict::Nothing(Quiet::Poisoned),
        };
    }
    if let Some(current) = current {
        let newer = newer_part(record, current);
        if !newer.is_empty() {
            return Verdict::Recover(newer);
        }
    }
    if record.busy(now_ms) {
        return Verdict::Nothing(Quiet::Busy);
    }
    if record.dirty() {
        return Verdict::Settle;
    }
    match record.applied() {
        TeamsState::Preferred(applied) => judge_applied(rules, record, applied, teams, now_ms),
        TeamsState::Cleared => Verdict::Nothing(Quiet::Clean),
    }
}

/// [`judge`], then one more rule for a clean record: when the record maps to another Teams
/// state than the one applied (`target`, from the mapping in force), it is re-sent
/// (`Refresh::Remap`) before any drift or keep-alive. Without it a changed mapping reached an
/// agent only with their next Genesys change: after switching to two-way mode, agents On Queue
/// kept our Busy, which hides the Teams meetings the watcher is there to see.
pub fn judge_mapped(
    rules: &Rules,
    record: &UserState,
    target: &Target,
    genesys: Option<GenesysView<'_>>,
    teams: Option<Shown<'_>>,
    now_ms: i64,
) -> Verdict {
    let verdict = judge(rules, record, genesys, teams, now_ms);
    let clean = matches!(
        verdict,
        Verdict::Nothing(Quiet::Clean | Quiet::NoSession)
            | Verdict::Refresh(_)
            | Verdict::Report(_)
    );
    // Only for an agent we have written Teams for: one with no Teams user stays untouched.
    let written = record.applied_to.is_some();
    match target {
        Target::Teams(state) if clean && written && *state != record.applied() => {
            Verdict::Refresh(Refresh::Remap)
        }
        _ => verdict,
    }
}

/// A clean record whose preferred presence Teams should show: drift, then keep-alive (due
/// whether or not the user has a Teams session, so that it still shows when one opens).
fn judge_applied(
    rules: &Rules,
    record: &UserState,
    applied: TeamsPresence,
    teams: Option<Shown<'_>>,
    now_ms: i64,
) -> Verdict {
    let seen = teams.map(|shown| compare(applied, shown));
    if seen == Some(Seen::Differs) {
        return match rules.drift {
            DriftPolicy::Repair => Verdict::Refresh(Refresh::Repair(Drift::Differs)),
            DriftPolicy::Report => Verdict::Report(Drift::Differs),
        };
    }
    let due = record
        .applied_at_ms
        .is_none_or(|at| now_ms.saturating_sub(at) >= rules.refresh_after_ms);
    match (due, seen) {
        (true, _) => Verdict::Refresh(Refresh::KeepAlive),
        (false, Some(Seen::NoSession)) => Verdict::Nothing(Quiet::NoSession),
        (false, _) => Verdict::Nothing(Quiet::Clean),
    }
}

/// Whether a recorded version is further ahead of the clock than the skew allows.
pub fn poisoned(record: &UserState, now_ms: i64, max_skew_ms: i64) -> bool {
    let limit = now_ms.saturating_add(max_skew_ms);
    let versions = [
        record.presence.as_ref().map(|p| p.version.millis()),
        record.routing.as_ref().map(|r| r.version.millis()),
    ];
    versions.into_iter().flatten().any(|v| v > limit)
}

/// How Teams compares with the preferred presence we applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Seen {
    Same,
    Differs,
    NoSession,
}

fn compare(applied: TeamsPresence, shown: Shown<'_>) -> Seen {
    // Graph reports an idle session as `AvailableIdle` / `BusyIdle`: the same availability.
    let availability = shown.availability.trim_end_matches("Idle");
    if availability == applied.availability() {
        return Seen::Same;
    }
    if matches!(availability, "Offline" | "PresenceUnknown") {
        return Seen::NoSession;
    }
    Seen::Differs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::{PresenceValue, Stamped};
    use crate::domain::presence::{RoutingStatus, SystemPresence};
    use crate::domain::state::{Intent, Lease};
    use crate::domain::version::Version;

    const NOW: i64 = 10_000_000;
    const HOUR: i64 = 3_600_000;
    const RULES: Rules = Rules {
        refresh_after_ms: 50 * 60_000,
        drift: DriftPolicy::Report,
        max_skew_ms: 300_000,
    };
    const BUSY: TeamsState = TeamsState::Preferred(TeamsPresence::Busy);

    fn presence(system: &str, ms: i64) -> Option<Stamped<PresenceValue>> {
        Some(Stamped {
            value: PresenceValue {
                system: SystemPresence::observe(system),
                definition_id: None,
            },
            version: Version::from_millis(ms),
        })
    }

    fn observed(system: &str, ms: i64) -> Observation {
        Observation {
            presence: presence(system, ms),
            routing: None,
        }
    }

    /// A clean record of `system` at `ms`, with `applied` accepted by Graph at `at`.
    fn clean(system: &str, ms: i64, applied: TeamsState, at: Option<i64>) -> UserState {
        UserState {
            presence: presence(system, ms),
            applied: Some(applied),
            intent: Some(Intent::Teams(applied)),
            applied_at_ms: at,
            rev: 3,
            ..UserState::default()
        }
    }

    fn shown(availability: &str) -> Option<Shown<'_>> {
        Some(Shown {
            availability,
            activity: "",
        })
    }

    /// (case, record, Genesys now, Teams now, verdict)
    type Case<'a> = (
        &'a str,
        &'a UserState,
        Option<&'a Observation>,
        Option<Shown<'a>>,
        Verdict,
    );

    #[test]
    fn each_rule_in_order() {
        let on_queue = clean("ON_QUEUE", 1_000, BUSY, Some(NOW - 60_000));
        let mut dead = on_queue.clone();
        dead.intent = Some(Intent::Pending);
        dead.lease = Some(Lease {
            owner: "gone".into(),
            until_ms: NOW - 1,
        });
        let mut live = dead.clone();
        live.lease = Some(Lease {
            owner: "here".into(),
            until_ms: NOW + 1,
        });
        let future = clean("ON_QUEUE", NOW + HOUR, BUSY, Some(NOW));
        let old = clean("ON_QUEUE", 1_000, BUSY, Some(NOW - HOUR));
        let unknown_age = clean("ON_QUEUE", 1_000, BUSY, None);
        let cleared = clean("OFFLINE", 1_000, TeamsState::Cleared, None);
        let never = UserState::default();
        let later = observed("BREAK", 2_000);
        let same = observed("ON_QUEUE", 1_000);
        let older = observed("AVAILABLE", 500);
        // (case, record, Genesys now, Teams now, verdict)
        let table: Vec<Case<'_>> = vec![
            (
                "poisoned, Genesys answered",
                &future,
                Some(&same),
                None,
                Verdict::Repair(same.clone()),
            ),
            (
                "poisoned, no answer",
                &future,
                None,
                None,
                Verdict::Nothing(Quiet::Poisoned),
            ),
            (
                "lost event",
                &on_queue,
                Some(&later),
                shown("Busy"),
                Verdict::Recover(later.clone()),
            ),
            (
                "never recorded",
                &never,
                Some(&later),
                None,
                Verdict::Recover(later.clone()),
            ),
            (
                "Genesys as recorded",
                &on_queue,
                Some(&same),
                shown("Busy"),
                Verdict::Nothing(Quiet::Clean),
            ),
            (
                "Genesys older (an event arrived after the read)",
                &on_queue,
                Some(&older),
                shown("Busy"),
                Verdict::Nothing(Quiet::Clean),
            ),
            (
                "dirty, holder gone",
                &dead,
                Some(&same),
                None,
                Verdict::Settle,
            ),
            (
                "dirty, holder alive",
                &live,
                Some(&same),
                None,
                Verdict::Nothing(Quiet::Busy),
            ),
            (
                "Teams differs, report",
                &on_queue,
                None,
                shown("Available"),
                Verdict::Report(Drift::Differs),
            ),
            (
                "idle session is the same",
                &on_queue,
                None,
                shown("BusyIdle"),
                Verdict::Nothing(Quiet::Clean),
            ),
            (
                "no session",
                &on_queue,
                None,
                shown("Offline"),
                Verdict::Nothing(Quiet::NoSession),
            ),
            (
                "unknown presence",
                &on_queue,
                None,
                shown("PresenceUnknown"),
                Verdict::Nothing(Quiet::NoSession),
            ),
            (
                "no session, about to expire: kept alive all the same",
                &old,
                None,
                shown("Offline"),
                Verdict::Refresh(Refresh::KeepAlive),
            ),
            (
                "about to expire",
                &old,
                None,
                shown("Busy"),
                Verdict::Refresh(Refresh::KeepAlive),
            ),
            (
                "applied before its time was recorded",
                &unknown_age,
                None,
                None,
                Verdict::Refresh(Refresh::KeepAlive),
            ),
            (
                "cleared: nothing of ours to keep",
                &cleared,
                None,
                shown("Available"),
                Verdict::Nothing(Quiet::Clean),
            ),
        ];
        for (case, record, genesys, teams, verdict) in table {
            assert_eq!(
                judge(
                    &RULES,
                    record,
                    genesys.map(GenesysView::Current),
                    teams,
                    NOW
                ),
                verdict,
                "{case}"
            );
        }
    }

    #[test]
    fn a_user_genesys_no_longer_lists_as_active_is_let_go_once_and_taken_back_when_active() {
        let gone = GenesysView::Gone(LeftReason::Departed);
        let on_queue = clean("ON_QUEUE", 1_000, BUSY, Some(NOW - HOUR));
        assert_eq!(
            judge(&RULES, &on_queue, Some(gone), shown("Busy"), NOW),
            Verdict::LetGo(LeftReason::Departed),
            "before any keep-alive or drift"
        );
        let mut held = on_queue.clone();
        held.intent = Some(Intent::Pending);
        held.lease = Some(Lease {
            owner: "event".into(),
            until_ms: NOW + 1,
        });
        assert_eq!(
            judge(&RULES, &held, Some(gone), None, NOW),
            Verdict::Nothing(Quiet::Busy),
            "a live holder first"
        );
        let mut left = on_queue.clone();
        left.left = Some(crate::domain::left::Left {
            reason: LeftReason::Departed,
            at_ms: NOW - HOUR,
        });
        for (case, genesys) in [("still gone", Some(gone)), ("not read", None)] {
            assert_eq!(
                judge(&RULES, &left, genesys, shown("Available"), NOW),
                Verdict::Nothing(Quiet::Left),
                "{case}: no keep-alive, no drift, nothing"
            );
        }
        let back = observed("AVAILABLE", 500);
        assert_eq!(
            judge(&RULES, &left, Some(GenesysView::Current(&back)), None, NOW),
            Verdict::Rejoin(back.clone()),
            "active again, even with nothing newer"
        );
    }

    #[test]
    fn under_the_repair_policy_drift_is_re_applied() {
        let rules = Rules {
            drift: DriftPolicy::Repair,
            ..RULES
        };
        let record = clean("ON_QUEUE", 1_000, BUSY, Some(NOW));
        assert_eq!(
            judge(&rules, &record, None, shown("Away"), NOW),
            Verdict::Refresh(Refresh::Repair(Drift::Differs))
        );
        // A user without a session is never "repaired": writing again changes nothing.
        assert_eq!(
            judge(&rules, &record, None, shown("Offline"), NOW),
            Verdict::Nothing(Quiet::NoSession)
        );
    }

    #[test]
    fn an_offline_preferred_presence_shown_offline_is_no_drift() {
        let offline = TeamsState::Preferred(TeamsPresence::OffWork);
        let record = clean("OFFLINE", 1_000, offline, Some(NOW));
        assert_eq!(
            judge(&RULES, &record, None, shown("Offline"), NOW),
            Verdict::Nothing(Quiet::Clean)
        );
    }

    #[test]
    fn only_the_newer_part_of_genesys_state_is_recovered() {
        let mut record = clean("ON_QUEUE", 1_000, BUSY, Some(NOW));
        record.routing = Some(Stamped {
            value: RoutingStatus::observe("INTERACTING"),
            version: Version::from_millis(5_000),
        });
        let current = Observation {
            presence: presence("BREAK", 2_000),
            routing: Some(Stamped {
                value: RoutingStatus::observe("IDLE"),
                version: Version::from_millis(4_000),
            }),
        };
        assert_eq!(
            judge(
                &RULES,
                &record,
                Some(GenesysView::Current(&current)),
                None,
                NOW
            ),
            Verdict::Recover(observed("BREAK", 2_000))
        );
    }

    #[test]
    fn a_version_at_the_skew_bound_is_not_poisoned_and_beyond_it_is() {
        let at = clean("ON_QUEUE", NOW + 300_000, BUSY, Some(NOW));
        let beyond = clean("ON_QUEUE", NOW + 300_001, BUSY, Some(NOW));
        assert!(!poisoned(&at, NOW, RULES.max_skew_ms));
        assert!(poisoned(&beyond, NOW, RULES.max_skew_ms));
        assert!(!poisoned(&beyond, i64::MAX, i64::MAX), "no overflow");
    }

    #[test]
    fn drift_policy_parses_its_two_values_only() {
        assert_eq!(DriftPolicy::parse("report"), Some(DriftPolicy::Report));
        assert_eq!(DriftPolicy::parse("repair"), Some(DriftPolicy::Repair));
        assert_eq!(DriftPolicy::parse("Repair"), None);
        assert_eq!(DriftPolicy::parse(""), None);
    }

    #[test]
    fn a_record_the_mapping_in_force_maps_elsewhere_is_remapped_before_keep_alive_or_drift() {
        use crate::domain::watch::PresenceMode;
        let one_way = PresenceMode::OneWay.mapping("").unwrap();
        let two_way = PresenceMode::TwoWay.mapping("").unwrap();
        let mut on_queue = clean("ON_QUEUE", 1_000, BUSY, Some(NOW - 1_000));
        on_queue.applied_to = Some(
            crate::domain::ids::TeamsUserId::parse("a1b2c3d4-0000-4000-8000-000000000001").unwrap(),
        );
        let judged = |record: &UserState, mapping, teams| {
            let target = record.target(mapping).0;
            judge_mapped(&RULES, record, &target, None, teams, NOW)
        };
        assert_eq!(
            judged(&on_queue, &one_way, shown("Busy")),
            Verdict::Nothing(Quiet::Clean),
            "one-way: our Busy is what On Queue maps to"
        );
        assert_eq!(
            judged(&on_queue, &two_way, shown("Busy")),
            Verdict::Refresh(Refresh::Remap),
            "switched to two-way: On Queue maps to clear, our Busy goes"
        );
        assert_eq!(
            judged(&on_queue, &two_way, shown("Available")),
            Verdict::Refresh(Refresh::Remap),
            "before drift"
        );
        let mut no_teams_user = on_queue.clone();
        no_teams_user.applied_to = None;
        no_teams_user.applied = Some(TeamsState::Cleared);
        no_teams_user.intent = Some(Intent::Teams(TeamsState::Cleared));
        assert_eq!(
            judged(&no_teams_user, &one_way, None),
            Verdict::Nothing(Quiet::Clean),
            "never written (no Teams user): left alone, not retried every pass"
        );
        let mut dirty = on_queue.clone();
        dirty.intent = Some(Intent::Pending);
        assert_eq!(
            judged(&dirty, &two_way, None),
            Verdict::Settle,
            "a dirty record is settled (which applies the new target)"
        );
    }
}
