//! The reconciler's configuration: its period, the drift policy, and its shares of Graph's
//! and Genesys's rate limits. Read by every function from the same environment (the event
//! function ignores it), validated once at start-up.

use super::{ConfigError, day_time_duration, problem};
use crate::domain::excerpt::excerpt;
use crate::domain::reconcile::{DriftPolicy, Rules};
use crate::service::reconcile::ReconcileSettings;
use std::time::Duration;

/// Graph's default expiry of a preferred presence without `expirationDuration` (Busy and
/// DoNotDisturb; the others keep 7 days): the reconciler re-sends before the shortest.
pub const GRAPH_DEFAULT_EXPIRY: Duration = Duration::from_secs(24 * 3600);
/// User records per page: one Genesys bulk read (its `id` list) at most.
pub const PAGE_SIZE: u32 = 100;

/// The reconciler's configuration with its defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReconcileConfig {
    /// `RECONCILE_EVERY_MINUTES` (default 5): the schedule's period.
    pub every: Duration,
    /// `SWEEP_EVERY_MINUTES` (default 60): the directory sweep's period.
    pub sweep_every: Duration,
    /// `DRIFT_POLICY` (`report` by default, or `repair`).
    pub drift: DriftPolicy,
    /// `GRAPH_LIMIT_PER_30S` (default 1 500, the presence limit per app per tenant).
    pub graph_limit_per_30s: u32,
    /// `GENESYS_LIMIT_PER_MINUTE` (default 300, per OAuth client).
    pub genesys_limit_per_minute: u32,
    /// `RECONCILE_GRAPH_SHARE_PERCENT` (default 20): the reconciler's share of Graph's limit.
    pub graph_share_percent: u32,
    /// `RECONCILE_GENESYS_SHARE_PERCENT` (default 20): its share of Genesys's.
    pub genesys_share_percent: u32,
    /// How long a preferred presence holds in Teams: `PRESENCE_EXPIRATION`, or Graph's
    /// default.
    pub expiry: Duration,
}

pub(super) fn read(
    get: &impl Fn(&'static str) -> Option<String>,
    expiration: Option<&str>,
) -> Result<ReconcileConfig, ConfigError> {
    let every = minutes(get, "RECONCILE_EVERY_MINUTES", 5, 1..=60)?;
    let sweep_every = minutes(get, "SWEEP_EVERY_MINUTES", 60, 5..=7 * 24 * 60)?;
    let drift = match get("DRIFT_POLICY") {
        None => DriftPolicy::Report,
        Some(raw) => DriftPolicy::parse(raw.trim()).ok_or_else(|| {
            problem(
                "DRIFT_POLICY",
                format!("{} is not report or repair", excerpt(&raw)),
            )
        })?,
    };
    let expiry = expiration
        .and_then(day_time_duration)
        .unwrap_or(GRAPH_DEFAULT_EXPIRY);
    Ok(ReconcileConfig {
        every,
        sweep_every,
        drift,
        graph_limit_per_30s: number(get, "GRAPH_LIMIT_PER_30S", 1_500, 1..=100_000)?,
        genesys_limit_per_minute: number(get, "GENESYS_LIMIT_PER_MINUTE", 300, 1..=100_000)?,
        graph_share_percent: number(get, "RECONCILE_GRAPH_SHARE_PERCENT", 20, 1..=100)?,
        genesys_share_percent: number(get, "RECONCILE_GENESYS_SHARE_PERCENT", 20, 1..=100)?,
        expiry,
    })
}

fn number(
    get: &impl Fn(&'static str) -> Option<String>,
    variable: &'static str,
    default: u32,
    allowed: std::ops::RangeInclusive<u32>,
) -> Result<u32, ConfigError> {
    match get(variable) {
        None => Ok(default),
        Some(raw) => number_of(&raw, variable, allowed),
    }
}

/// A whole number within `allowed`, or an error naming the variable and the value.
pub(super) fn number_of(
    raw: &str,
    variable: &'static str,
    allowed: std::ops::RangeInclusive<u32>,
) -> Result<u32, ConfigError> {
    match raw.trim().parse::<u32>() {
        Ok(n) if allowed.contains(&n) => Ok(n),
        _ => Err(problem(
            variable,
            format!(
                "{} is not a whole number from {} to {}",
                excerpt(raw),
                allowed.start(),
                allowed.end()
            ),
        )),
    }
}

fn minutes(
    get: &impl Fn(&'static str) -> Option<String>,
    variable: &'static str,
    default: u32,
    allowed: std::ops::RangeInclusive<u32>,
) -> Result<Duration, ConfigError> {
    number(get, variable, default, allowed).map(|m| Duration::from_secs(u64::from(m) * 60))
}

impl ReconcileConfig {
    /// When a preferred presence is re-sent after Graph accepted it: its expiry less two
    /// periods, so that a state that holds is re-sent at least one pass before it expires.
    /// An expiry that short is fine for the event function alone (Teams falls back sooner),
    /// but the reconciler refuses to start with it.
    pub fn refresh_after(&self) -> Result<Duration, ConfigError> {
        let two = self.every * 2;
        self.expiry.checked_sub(two).filter(|d| !d.is_zero()).ok_or_else(|| {
            problem(
                "PRESENCE_EXPIRATION",
                format!(
                    "is not longer than two reconcile periods ({} min, RECONCILE_EVERY_MINUTES): a state that holds would expire between two passes",
                    two.as_secs() / 60
                ),
            )
        })
    }

    /// The pass's settings, with `max_skew` the event path's skew bound.
    pub fn settings(&self, max_skew: Duration) -> Result<ReconcileSettings, ConfigError> {
        let refresh_after = self.refresh_after()?;
        let share = |limit: u32, percent: u32| (u64::from(limit) * u64::from(percent) / 100).max(1);
        Ok(ReconcileSettings {
            rules: Rules {
                refresh_after_ms: i64::try_from(refresh_after.as_millis()).unwrap_or(i64::MAX),
                drift: self.drift,
                max_skew_ms: i64::try_from(max_skew.as_millis()).unwrap_or(i64::MAX),
            },
            page_size: PAGE_SIZE,
            sweep_every: self.sweep_every,
            graph_per_30s: u32::try_from(share(self.graph_limit_per_30s, self.graph_share_percent))
                .unwrap_or(u32::MAX),
            genesys_per_minute: u32::try_from(share(
                self.genesys_limit_per_minute,
                self.genesys_share_percent,
            ))
            .unwrap_or(u32::MAX),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(
        vars: &[(&'static str, &str)],
        expiration: Option<&str>,
    ) -> Result<ReconcileConfig, ConfigError> {
        let vars: HashMap<&str, String> = vars.iter().map(|(k, v)| (*k, v.to_string())).collect();
        read(&|name| vars.get(name).cloned(), expiration)
    }

    #[test]
    fn defaults_follow_the_documented_limits_and_shares() {
        let config = load(&[], None).unwrap();
        assert_eq!(config.every, Duration::from_secs(300));
        assert_eq!(config.sweep_every, Duration::from_secs(3600));
        assert_eq!(config.drift, DriftPolicy::Report);
        // A day (Graph's shortest default expiry) less two 5-minute periods.
        assert_eq!(
            config.refresh_after().unwrap(),
            Duration::from_secs(24 * 3600 - 600)
        );
        let settings = config.settings(Duration::from_secs(300)).unwrap();
        // 20 % of 1 500 per 30 s, 20 % of 300 per minute.
        assert_eq!(
            (settings.graph_per_30s, settings.genesys_per_minute),
            (300, 60)
        );
    }

    #[test]
    fn a_short_expiration_is_re_sent_two_periods_before_it_ends() {
        let config = load(&[], Some("PT1H")).unwrap();
        assert_eq!(
            config.refresh_after().unwrap(),
            Duration::from_secs(50 * 60)
        );
        let config = load(&[("RECONCILE_EVERY_MINUTES", "30")], Some("PT1H")).unwrap();
        let error = config.settings(Duration::from_secs(300)).unwrap_err();
        assert_eq!(error.variable, "PRESENCE_EXPIRATION");
    }

    #[test]
    fn each_bad_value_is_refused_naming_its_variable() {
        for (variable, bad) in [
            ("DRIFT_POLICY", "fix"),
            ("RECONCILE_EVERY_MINUTES", "0"),
            ("RECONCILE_EVERY_MINUTES", "five"),
            ("SWEEP_EVERY_MINUTES", "1"),
            ("GRAPH_LIMIT_PER_30S", "-1"),
            ("GENESYS_LIMIT_PER_MINUTE", "0"),
            ("RECONCILE_GRAPH_SHARE_PERCENT", "101"),
            ("RECONCILE_GENESYS_SHARE_PERCENT", "0"),
        ] {
            let error = load(&[(variable, bad)], None).unwrap_err();
            assert_eq!(error.variable, variable, "{bad}");
            assert!(error.problem.contains(bad), "{error:?}");
        }
    }
}
