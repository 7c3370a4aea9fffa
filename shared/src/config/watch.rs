//! The reverse direction's configuration: `PRESENCE_MODE` (read by every function: the event
//! path and the reconciler write Teams by it), and the watcher's own: `ON_QUEUE_POLICY`,
//! `TEAMS_TO_GENESYS`, its poll period, debounce and shares of the rate limits. Validated once
//! at start-up; each error names the variable and, for the mapping, the entry.

use super::reconcile::number_of;
use super::{ConfigError, problem};
use crate::domain::excerpt::excerpt;
use crate::domain::watch::{OnQueuePolicy, PresenceMode, TeamsToGenesys};
use crate::service::watch::WatchSettings;
use std::time::Duration;

/// `WATCH_GENESYS_SHARE_PERCENT` when the watcher has a Genesys client of its own (template.yaml
/// sets it with `ExistingWatcherGenesysSecretArn`): the 10 % left is margin between our pace's
/// minute and Genesys's, and room for an operator's presencectl with the same secret.
pub const OWN_CLIENT_SHARE_PERCENT: u32 = 90;

/// The watcher's configuration with its defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchConfig {
    /// `PRESENCE_MODE` (`one-way` by default, or `two-way`).
    pub mode: PresenceMode,
    /// `ON_QUEUE_POLICY` (`leave` by default, or `take-off`).
    pub on_queue: OnQueuePolicy,
    /// `TEAMS_TO_GENESYS` over its defaults.
    pub rules: TeamsToGenesys,
    /// `WATCH_PERIOD_SECONDS` (default 10, 5 to 60): how often each agent's Teams presence is
    /// read.
    pub period: Duration,
    /// `WATCH_DEBOUNCE_SECONDS` (default 0, up to 600): how long a Teams activity must last
    /// before it takes an agent off (0: the first poll that sees it).
    pub debounce: Duration,
    /// `WATCH_GRAPH_SHARE_PERCENT` (default 10): the watcher's share of Graph's limit.
    pub graph_share_percent: u32,
    /// `WATCH_GENESYS_SHARE_PERCENT` (default 20): its share of the Genesys client's limit.
    pub genesys_share_percent: u32,
}

pub(super) fn read(
    get: &impl Fn(&'static str) -> Option<String>,
) -> Result<WatchConfig, ConfigError> {
    let mode = choice(
        get,
        "PRESENCE_MODE",
        PresenceMode::parse,
        "one-way or two-way",
    )?;
    let on_queue = choice(
        get,
        "ON_QUEUE_POLICY",
        OnQueuePolicy::parse,
        "leave or take-off",
    )?;
    let rules =
        TeamsToGenesys::from_json(&get("TEAMS_TO_GENESYS").unwrap_or_default()).map_err(|e| {
            let message = e.to_string();
            let text = message
                .strip_prefix("TEAMS_TO_GENESYS ")
                .unwrap_or(&message);
            problem("TEAMS_TO_GENESYS", text)
        })?;
    let seconds = |variable, default, allowed| {
        get(variable)
            .map_or(Ok(default), |raw| number_of(&raw, variable, allowed))
            .map(|s| Duration::from_secs(u64::from(s)))
    };
    let share = |variable, default| {
        get(variable).map_or(Ok(default), |raw| number_of(&raw, variable, 1..=100))
    };
    Ok(WatchConfig {
        mode,
        on_queue,
        rules,
        period: seconds("WATCH_PERIOD_SECONDS", 10, 5..=60)?,
        debounce: seconds("WATCH_DEBOUNCE_SECONDS", 0, 0..=600)?,
        graph_share_percent: share("WATCH_GRAPH_SHARE_PERCENT", 10)?,
        genesys_share_percent: share("WATCH_GENESYS_SHARE_PERCENT", 20)?,
    })
}

fn choice<T: Default>(
    get: &impl Fn(&'static str) -> Option<String>,
    variable: &'static str,
    parse: impl Fn(&str) -> Option<T>,
    allowed: &str,
) -> Result<T, ConfigError> {
    match get(variable) {
        None => Ok(T::default()),
        Some(raw) => parse(&raw)
            .ok_or_else(|| problem(variable, format!("{} is not {allowed}", excerpt(&raw)))),
    }
}

impl WatchConfig {
    /// The watcher's settings, its shares taken of these limits.
    pub fn settings(
        &self,
        graph_limit_per_30s: u32,
        genesys_limit_per_minute: u32,
    ) -> WatchSettings {
        let share = |limit: u32, percent: u32| {
            u32::try_from((u64::from(limit) * u64::from(percent) / 100).max(1)).unwrap_or(u32::MAX)
        };
        WatchSettings {
            on_queue: self.on_queue,
            rules: self.rules.clone(),
            period: self.period,
            debounce: self.debounce,
            graph_per_30s: share(graph_limit_per_30s, self.graph_share_percent),
            genesys_per_minute: share(genesys_limit_per_minute, self.genesys_share_percent),
        }
    }

    /// Whether the watcher can work with this configuration: in one-way mode every state of a
    /// reachable agent is a preferred presence, which hides their Teams calls and meetings
    /// from Graph's reads, so there would be nothing to see.
    pub fn check_for_watcher(&self) -> Result<(), ConfigError> {
        if self.mode == PresenceMode::OneWay {
            return Err(problem(
                "PRESENCE_MODE",
                "is one-way: the forward direction then sets a preferred presence for every reachable agent, which hides their Teams calls and meetings from the watcher; set PRESENCE_MODE=two-way on every function (the template does when TeamsToGenesys is on)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&'static str, &str)]) -> Result<WatchConfig, ConfigError> {
        let vars: HashMap<&str, String> = vars.iter().map(|(k, v)| (*k, v.to_string())).collect();
        read(&|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_are_one_way_leave_the_default_rules_every_ten_seconds() {
        let c = load(&[]).unwrap();
        assert_eq!(
            (c.mode, c.on_queue, c.period, c.debounce),
            (
                PresenceMode::OneWay,
                OnQueuePolicy::Leave,
                Duration::from_secs(10),
                Duration::ZERO
            )
        );
        assert_eq!(c.rules, TeamsToGenesys::default());
        assert_eq!((c.graph_share_percent, c.genesys_share_percent), (10, 20));
        assert!(c.check_for_watcher().is_err(), "the watcher needs two-way");
        let two_way = load(&[
            ("PRESENCE_MODE", "two-way"),
            ("ON_QUEUE_POLICY", "take-off"),
        ])
        .unwrap();
        assert!(two_way.check_for_watcher().is_ok());
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        let cases: &[(&'static str, &str)] = &[
            ("PRESENCE_MODE", "both"),
            ("ON_QUEUE_POLICY", "takeoff"),
            ("TEAMS_TO_GENESYS", r#"{"Lunch": "ignore"}"#),
            ("WATCH_PERIOD_SECONDS", "1"),
            ("WATCH_DEBOUNCE_SECONDS", "-1"),
            ("WATCH_GRAPH_SHARE_PERCENT", "0"),
            ("WATCH_GENESYS_SHARE_PERCENT", "101"),
        ];
        for (variable, value) in cases {
            let error = load(&[(variable, value)]).unwrap_err();
            assert_eq!(error.variable, *variable, "{error}");
        }
        let named = load(&[(
            "TEAMS_TO_GENESYS",
            r#"{"InACall": {"presence": "ON_QUEUE"}}"#,
        )])
        .unwrap_err()
        .to_string();
        assert!(named.contains("entry \"InACall\""), "{named}");
    }
}
