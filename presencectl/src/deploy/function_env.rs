//! The functions' environment as template.yaml derives it from the stack's parameters, so that
//! the checks before the stack exists (the credentials step, the grant's role) judge the
//! configuration the stack will run, not the defaults: a scoped deployment, a mapping, the
//! reverse direction.

use std::collections::BTreeMap;

/// `(stack parameter, the functions' variable)` where template.yaml passes the parameter's
/// value through unchanged (`VAR: !Ref Parameter`, or `!If [HasX, !Ref Parameter, NoValue]`).
const PASSED: [(&str, &str); 14] = [
    ("SyncScope", "SYNC_SCOPE"),
    ("PresenceMapping", "PRESENCE_MAPPING"),
    ("PresenceExpiration", "PRESENCE_EXPIRATION"),
    ("DriftPolicy", "DRIFT_POLICY"),
    ("MetricsNamespace", "METRICS_NAMESPACE"),
    ("ReservedConcurrency", "RESERVED_CONCURRENCY"),
    ("ReconcileEveryMinutes", "RECONCILE_EVERY_MINUTES"),
    (
        "ReconcileGraphSharePercent",
        "RECONCILE_GRAPH_SHARE_PERCENT",
    ),
    (
        "ReconcileGenesysSharePercent",
        "RECONCILE_GENESYS_SHARE_PERCENT",
    ),
    ("SweepEveryMinutes", "SWEEP_EVERY_MINUTES"),
    ("OnQueuePolicy", "ON_QUEUE_POLICY"),
    ("TeamsToGenesysMapping", "TEAMS_TO_GENESYS"),
    ("WatchPeriodSeconds", "WATCH_PERIOD_SECONDS"),
    ("WatchDebounceSeconds", "WATCH_DEBOUNCE_SECONDS"),
];

/// The parameter that switches the reverse direction on (`on`), and the variable template.yaml
/// derives from it (`PRESENCE_MODE: !If [WatchOn, two-way, one-way]`).
const TEAMS_TO_GENESYS: &str = "TeamsToGenesys";

/// The functions' variable `name` as the stack sets it from `parameters` (`None`: unset, or
/// the template's default, which the configuration's own default equals).
pub fn variable(parameters: &BTreeMap<String, String>, name: &str) -> Option<String> {
    if name == "PRESENCE_MODE" {
        return Some(
            if two_way(parameters) {
                "two-way"
            } else {
                "one-way"
            }
            .into(),
        );
    }
    let (parameter, _) = PASSED.iter().find(|(_, variable)| *variable == name)?;
    parameters.get(*parameter).cloned()
}

/// The stack parameter a variable comes from, for a fix that names what to change.
pub fn parameter_of(name: &str) -> Option<&'static str> {
    if name == "PRESENCE_MODE" {
        return Some(TEAMS_TO_GENESYS);
    }
    PASSED
        .iter()
        .find(|(_, variable)| *variable == name)
        .map(|(parameter, _)| *parameter)
}

/// Whether the stack runs the reverse direction (`TeamsToGenesys=on`): the watcher writes
/// Genesys presences, which the function's Genesys role must allow.
pub fn two_way(parameters: &BTreeMap<String, String>) -> bool {
    parameters
        .get(TEAMS_TO_GENESYS)
        .is_some_and(|v| v.trim() == "on")
}

/// Whether the sync scope names a queue (`queue:<id>`): reading queue members needs
/// `routing:queue:view` in the function's Genesys role.
pub fn reads_queues(parameters: &BTreeMap<String, String>) -> bool {
    parameters.get("SyncScope").is_some_and(|scope| {
        scope
            .split(',')
            .any(|entry| entry.trim().to_ascii_lowercase().starts_with("queue:"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template() -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
        std::fs::read_to_string(path).expect("template.yaml")
    }

    /// Every `VAR: !Ref Parameter` (or `!If [Cond, !Ref Parameter, …]`) of the functions'
    /// environments whose parameter the operator may give, as template.yaml writes them.
    fn passed_in_template() -> BTreeMap<String, String> {
        let driver = super::super::settings::DRIVER_PARAMETERS;
        let template = template();
        // The top-level `Parameters:` section, up to the next top-level key.
        let rest = template
            .split("\nParameters:\n")
            .nth(1)
            .expect("template.yaml's Parameters");
        let end = rest
            .match_indices("\n")
            .map(|(at, _)| at)
            .find(|at| rest[at + 1..].starts_with(|c: char| c.is_ascii_alphabetic()))
            .unwrap_or(rest.len());
        let parameters = format!("\n{}", &rest[..end]);
        let mut found = BTreeMap::new();
        for line in template.lines() {
            let Some((name, value)) = line.trim().split_once(": ") else {
                continue;
            };
            let is_variable = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit());
            let Some(rest) = value.split("!Ref ").nth(1) else {
                continue;
            };
            let parameter: String = rest
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect();
            let from_parameter = parameters.contains(&format!("\n  {parameter}:\n"));
            if is_variable && from_parameter && !driver.contains(&parameter.as_str()) {
                found.insert(name.to_owned(), parameter);
            }
        }
        found
    }

    #[test]
    fn every_parameter_the_template_passes_to_the_functions_is_mapped() {
        let in_template = passed_in_template();
        let mapped: BTreeMap<String, String> = PASSED
            .iter()
            .map(|(p, v)| ((*v).to_owned(), (*p).to_owned()))
            .collect();
        assert_eq!(mapped, in_template);
        assert!(template().contains("PRESENCE_MODE: !If [WatchOn, two-way, one-way]"));
        assert!(template().contains("WatchOn: !Equals [!Ref TeamsToGenesys, \"on\"]"));
    }

    #[test]
    fn the_variables_follow_the_parameters_given() {
        let parameters: BTreeMap<String, String> = [
            ("SyncScope", "division:d1, queue:q1"),
            ("TeamsToGenesys", "on"),
            ("OnQueuePolicy", "take-off"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(
            variable(&parameters, "SYNC_SCOPE").as_deref(),
            Some("division:d1, queue:q1")
        );
        assert_eq!(
            variable(&parameters, "PRESENCE_MODE").as_deref(),
            Some("two-way")
        );
        assert_eq!(
            variable(&parameters, "ON_QUEUE_POLICY").as_deref(),
            Some("take-off")
        );
        assert_eq!(variable(&parameters, "PRESENCE_MAPPING"), None);
        assert!(two_way(&parameters) && reads_queues(&parameters));
        let none = BTreeMap::new();
        assert_eq!(variable(&none, "PRESENCE_MODE").as_deref(), Some("one-way"));
        assert!(!two_way(&none) && !reads_queues(&none));
        assert_eq!(parameter_of("SYNC_SCOPE"), Some("SyncScope"));
        assert_eq!(parameter_of("PRESENCE_MODE"), Some("TeamsToGenesys"));
    }
}
