//! The function's configuration, read from the environment once at start-up into typed,
//! validated values. Every error names the variable at fault. The checks of the base URLs
//! are in `urls`, the grammar of `PRESENCE_EXPIRATION` in `expiration`, the reconciler's
//! variables in `reconcile`.

use crate::adapters::paced::Pacing;
use crate::domain::event::is_partner_event_source_name;
use crate::domain::excerpt::excerpt;
use crate::domain::mapping::PresenceMapping;
use crate::service::Settings;
use reqwest::Url;

mod expiration;
mod genesys_region;
mod reconcile;
mod urls;
mod watch;

use expiration::{day_time_duration, expiration};
pub use genesys_region::{GENESYS_REGIONS, GenesysRegion, UnknownGenesysRegion};
pub use reconcile::ReconcileConfig;
use std::time::Duration;
use urls::{base_url, genesys_urls};
pub use watch::{OWN_CLIENT_SHARE_PERCENT, WatchConfig};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid configuration: {variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

fn problem(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.into(),
    }
}

/// Every environment variable the function reads (besides the AWS SDK's own and Lambda's
/// log controls), so that deployment templates can be checked against the code.
pub const VARIABLES: &[&str] = &[
    "STATE_TABLE",
    "AZURE_SECRET_ID",
    "GENESYS_SECRET_ID",
    "GENESYS_ENVIRONMENT",
    "GENESYS_LOGIN_URL",
    "GENESYS_API_URL",
    "GRAPH_API_URL",
    "AZURE_LOGIN_URL",
    "PRESENCE_MAPPING",
    "PRESENCE_EXPIRATION",
    "ALLOWED_SOURCE",
    "ALLOWED_ACCOUNT",
    "MAX_CLOCK_SKEW_SECS",
    "SYNC_SCOPE",
    "METRICS_NAMESPACE",
    "RESERVED_CONCURRENCY",
    "GRAPH_WRITES_PER_30S",
    // The reconciler's (config/reconcile.rs).
    "RECONCILE_EVERY_MINUTES",
    "SWEEP_EVERY_MINUTES",
    "DRIFT_POLICY",
    "GRAPH_LIMIT_PER_30S",
    "GENESYS_LIMIT_PER_MINUTE",
    "RECONCILE_GRAPH_SHARE_PERCENT",
    "RECONCILE_GENESYS_SHARE_PERCENT",
    // The reverse direction's (config/watch.rs).
    "PRESENCE_MODE",
    "ON_QUEUE_POLICY",
    "TEAMS_TO_GENESYS",
    "WATCH_PERIOD_SECONDS",
    "WATCH_DEBOUNCE_SECONDS",
    "WATCH_GRAPH_SHARE_PERCENT",
    "WATCH_GENESYS_SHARE_PERCENT",
];

/// Variables the function no longer honours but still looks for, to stop at start-up rather
/// than run with a wider filter than the deployment asked for.
pub const RETIRED_VARIABLES: &[&str] = &["ALLOWED_SOURCE_PREFIX"];

/// The variables without which the function cannot start (`GENESYS_ENVIRONMENT` unless both
/// Genesys URLs are set).
pub const REQUIRED_VARIABLES: &[&str] = &["STATE_TABLE", "AZURE_SECRET_ID", "GENESYS_SECRET_ID"];

/// Everything the presence sync needs to start.
#[derive(Clone, Debug)]
pub struct Config {
    pub state_table: String,
    pub azure_secret_id: String,
    pub genesys_secret_id: String,
    pub genesys_login_url: Url,
    pub genesys_api_url: Url,
    pub graph_api_url: Url,
    /// `<origin of GRAPH_API_URL>/.default`: national clouds have their own Graph host.
    pub graph_scope: String,
    pub azure_login_url: Url,
    pub mapping: PresenceMapping,
    /// ISO-8601 duration sent as `expirationDuration`, when set.
    pub presence_expiration: Option<String>,
    pub settings: Settings,
    pub http: HttpTimeouts,
    /// The CloudWatch namespace of the function's metrics (`METRICS_NAMESPACE`, default
    /// `PresenceSync`).
    pub metrics_namespace: String,
    /// The reconciler's configuration (read and checked by every function alike).
    pub reconcile: ReconcileConfig,
    /// The reverse direction's configuration (read and checked by every function alike:
    /// `PRESENCE_MODE` shapes the mapping of all of them).
    pub watch: WatchConfig,
    /// `RESERVED_CONCURRENCY`: the event function's reserved concurrency, which Lambda does
    /// not tell the function; with it, each instance paces its Graph writes so that all of
    /// them together stay within `GRAPH_WRITES_PER_30S`. Unset: no pacing.
    pub reserved_concurrency: Option<u32>,
    /// `GRAPH_WRITES_PER_30S` (default 1,480): the event path's share of Graph's presence
    /// limit when paced.
    pub graph_writes_per_30s: u32,
}

impl Config {
    /// How far apart one instance starts its Graph writes (none when the concurrency is not
    /// given): `adapters::paced`, measured in docs/performance.md, "Shift start at scale".
    pub fn pacing(&self) -> Pacing {
        match self.reserved_concurrency {
            Some(concurrency) => Pacing::for_concurrency(concurrency, self.graph_writes_per_30s),
            None => Pacing {
                interval: Duration::ZERO,
            },
        }
    }
}

pub use crate::policy::HttpTimeouts;

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty());
        let required =
            |name: &'static str| get(name).ok_or_else(|| problem(name, "is required but not set"));
        // In this order, so that the first problem reported is the same as it always was.
        let state_table = required("STATE_TABLE")?;
        let azure_secret_id = required("AZURE_SECRET_ID")?;
        let genesys_secret_id = required("GENESYS_SECRET_ID")?;
        let (genesys_login_url, genesys_api_url) = genesys_urls(&get)?;
        let graph_api_url = base_url(
            "GRAPH_API_URL",
            &get("GRAPH_API_URL").unwrap_or_else(|| "https://graph.microsoft.com/v1.0".to_owned()),
        )?;
        let watch = watch::read(&get)?;
        let presence_expiration = get("PRESENCE_EXPIRATION")
            .map(|raw| expiration(&raw))
            .transpose()?;
        Ok(Config {
            state_table,
            azure_secret_id,
            genesys_secret_id,
            genesys_login_url,
            genesys_api_url,
            graph_scope: format!("{}/.default", graph_api_url.origin().ascii_serialization()),
            graph_api_url,
            azure_login_url: base_url(
                "AZURE_LOGIN_URL",
                &get("AZURE_LOGIN_URL")
                    .unwrap_or_else(|| "https://login.microsoftonline.com".to_owned()),
            )?,
            mapping: mapping(get("PRESENCE_MAPPING").unwrap_or_default(), watch.mode)?,
            presence_expiration: presence_expiration.clone(),
            settings: settings(&get)?,
            http: HttpTimeouts::default(),
            metrics_namespace: metrics_namespace(get("METRICS_NAMESPACE"))?,
            reconcile: reconcile::read(&get, presence_expiration.as_deref())?,
            watch,
            reserved_concurrency: get("RESERVED_CONCURRENCY")
                .map(|raw| reconcile::number_of(&raw, "RESERVED_CONCURRENCY", 1..=1_000))
                .transpose()?,
            graph_writes_per_30s: get("GRAPH_WRITES_PER_30S")
                .map(|raw| reconcile::number_of(&raw, "GRAPH_WRITES_PER_30S", 1..=100_000))
                .transpose()?
                .unwrap_or(crate::policy::EVENT_PATH_GRAPH_WRITES_PER_30S),
        })
    }
}

/// METRICS_NAMESPACE, as CloudWatch accepts it.
fn metrics_namespace(raw: Option<String>) -> Result<String, ConfigError> {
    let namespace = raw.unwrap_or_else(|| crate::metrics::DEFAULT_NAMESPACE.to_owned());
    crate::metrics::check_namespace(&namespace).map_err(|why| problem("METRICS_NAMESPACE", why))?;
    Ok(namespace)
}

/// PRESENCE_MAPPING in `mode`, with the start-up validation (also `presencectl mapping
/// check`).
pub fn mapping(
    raw: String,
    mode: crate::domain::watch::PresenceMode,
) -> Result<PresenceMapping, ConfigError> {
    mode.mapping(&raw).map_err(|e| {
        // The mapping's own messages start with the variable's name; the error names it
        // already.
        let message = e.to_string();
        let problem_text = message
            .strip_prefix("PRESENCE_MAPPING ")
            .unwrap_or(&message)
            .to_owned();
        problem("PRESENCE_MAPPING", problem_text)
    })
}

/// The behaviour settings the variables override.
fn settings(get: &impl Fn(&'static str) -> Option<String>) -> Result<Settings, ConfigError> {
    let mut settings = Settings::default();
    if get("ALLOWED_SOURCE_PREFIX").is_some() {
        return Err(problem(
            "ALLOWED_SOURCE_PREFIX",
            "is no longer read: a prefix also let look-alike sources through; set ALLOWED_SOURCE to the exact partner event source name (aws.partner/genesys.com/cloud/<org id>/<suffix>) instead",
        ));
    }
    settings.allowed_source = get("ALLOWED_SOURCE")
        .map(|raw| partner_source("ALLOWED_SOURCE", &raw))
        .transpose()?;
    settings.allowed_account = get("ALLOWED_ACCOUNT")
        .map(|account| aws_account("ALLOWED_ACCOUNT", &account))
        .transpose()?;
    if let Some(raw) = get("MAX_CLOCK_SKEW_SECS") {
        settings.max_clock_skew = clock_skew(&raw)?;
    }
    if let Some(raw) = get("SYNC_SCOPE") {
        settings.scope = crate::domain::scope::Scope::parse(&raw)
            .map_err(|e| problem("SYNC_SCOPE", e.to_string()))?;
    }
    Ok(settings)
}

/// The most `MAX_CLOCK_SKEW_SECS` may be: an hour is far more than two NTP-synchronised clocks
/// disagree by, and every second more is a second a wrong version can stay ahead.
const MAX_CLOCK_SKEW: Duration = Duration::from_secs(3600);

/// Whole seconds, 1 to 3600.
fn clock_skew(raw: &str) -> Result<Duration, ConfigError> {
    let raw = raw.trim();
    match raw.parse::<u64>() {
        Ok(secs) if (1..=MAX_CLOCK_SKEW.as_secs()).contains(&secs) => Ok(Duration::from_secs(secs)),
        _ => Err(problem(
            "MAX_CLOCK_SKEW_SECS",
            format!(
                "{} is not a whole number of seconds from 1 to {}",
                excerpt(raw),
                MAX_CLOCK_SKEW.as_secs()
            ),
        )),
    }
}

/// A partner event source name as EventBridge defines it (the pattern of `template.yaml`'s
/// `GenesysEventSourceName`): `aws.partner(/[.\-_A-Za-z0-9]+){2,}`, at most 256 characters.
fn partner_source(variable: &'static str, raw: &str) -> Result<String, ConfigError> {
    let raw = raw.trim();
    if is_partner_event_source_name(raw) {
        Ok(raw.to_owned())
    } else {
        Err(problem(
            variable,
            format!(
                "{} is not a partner event source name (aws.partner/genesys.com/cloud/<org id>/<suffix>, at most 256 characters)",
                excerpt(raw)
            ),
        ))
    }
}

fn aws_account(variable: &'static str, raw: &str) -> Result<String, ConfigError> {
    let raw = raw.trim();
    if raw.len() == 12 && raw.chars().all(|c| c.is_ascii_digit()) {
        Ok(raw.to_owned())
    } else {
        Err(problem(
            variable,
            format!("{} is not a 12-digit AWS account id", excerpt(raw)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn minimal() -> HashMap<&'static str, String> {
        HashMap::from([
            ("STATE_TABLE", "presence-state".to_owned()),
            ("AZURE_SECRET_ID", "presence/azure".to_owned()),
            ("GENESYS_SECRET_ID", "presence/genesys".to_owned()),
            ("GENESYS_ENVIRONMENT", "mypurecloud.ie".to_owned()),
        ])
    }

    fn load(vars: &HashMap<&'static str, String>) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    fn with(name: &'static str, value: &str) -> HashMap<&'static str, String> {
        let mut vars = minimal();
        vars.insert(name, value.to_owned());
        vars
    }

    #[test]
    fn only_the_listed_variables_are_read() {
        let read = std::cell::RefCell::new(Vec::new());
        let vars = minimal();
        Config::from_lookup(|name| {
            read.borrow_mut().push(name.to_owned());
            vars.get(name).cloned()
        })
        .unwrap();
        let read = read.into_inner();
        for name in &read {
            assert!(
                VARIABLES.contains(&name.as_str()) || RETIRED_VARIABLES.contains(&name.as_str()),
                "{name} is read but not listed"
            );
        }
        for name in VARIABLES {
            assert!(
                read.iter().any(|r| r == name),
                "{name} is listed but never read"
            );
        }
    }

    #[test]
    fn minimal_configuration_gets_documented_defaults() {
        let c = load(&minimal()).unwrap();
        assert_eq!(
            c.genesys_login_url.as_str(),
            "https://login.mypurecloud.ie/"
        );
        assert_eq!(c.genesys_api_url.as_str(), "https://api.mypurecloud.ie/");
        assert_eq!(c.graph_api_url.as_str(), "https://graph.microsoft.com/v1.0");
        assert_eq!(c.graph_scope, "https://graph.microsoft.com/.default");
        assert_eq!(
            c.azure_login_url.as_str(),
            "https://login.microsoftonline.com/"
        );
        assert_eq!(c.mapping, PresenceMapping::default());
        assert_eq!(c.presence_expiration, None);
        assert_eq!(c.settings.allowed_source, None);
        assert_eq!(c.settings.allowed_account, None);
    }

    #[test]
    fn each_required_variable_is_named_when_missing() {
        for name in [
            "STATE_TABLE",
            "AZURE_SECRET_ID",
            "GENESYS_SECRET_ID",
            "GENESYS_ENVIRONMENT",
        ] {
            let mut vars = minimal();
            vars.remove(name);
            let err = load(&vars).unwrap_err();
            assert_eq!(err.variable, name);
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    #[test]
    fn blank_values_count_as_missing() {
        let err = load(&with("STATE_TABLE", "  ")).unwrap_err();
        assert_eq!(err.variable, "STATE_TABLE");
    }

    #[test]
    fn explicit_genesys_urls_override_the_environment() {
        let mut vars = minimal();
        vars.remove("GENESYS_ENVIRONMENT");
        vars.insert("GENESYS_LOGIN_URL", "http://127.0.0.1:9000/".to_owned());
        vars.insert("GENESYS_API_URL", "http://127.0.0.1:9001".to_owned());
        let c = load(&vars).unwrap();
        assert_eq!(c.genesys_login_url.as_str(), "http://127.0.0.1:9000/");
        assert_eq!(c.genesys_api_url.as_str(), "http://127.0.0.1:9001/");
    }

    #[test]
    fn national_cloud_graph_host_sets_the_token_scope() {
        let c = load(&with("GRAPH_API_URL", "https://graph.microsoft.us/v1.0/")).unwrap();
        assert_eq!(c.graph_api_url.as_str(), "https://graph.microsoft.us/v1.0");
        assert_eq!(c.graph_scope, "https://graph.microsoft.us/.default");
    }

    #[test]
    fn plain_http_is_refused_except_on_loopback() {
        let err = load(&with("GRAPH_API_URL", "http://graph.example.com/v1.0")).unwrap_err();
        assert_eq!(err.variable, "GRAPH_API_URL");
        assert!(load(&with("GRAPH_API_URL", "http://127.0.0.1:8080/v1.0")).is_ok());
        for bad in [
            "graph.microsoft.com",
            "https://graph.microsoft.com/v1.0?x=1",
            "ftp://x/y",
            "https://u:p@graph.microsoft.com",
        ] {
            let err = load(&with("GRAPH_API_URL", bad)).unwrap_err();
            assert_eq!(err.variable, "GRAPH_API_URL", "{bad}");
        }
    }

    #[test]
    fn genesys_environment_must_be_a_host() {
        for bad in [
            "mypurecloud",
            "https://mypurecloud.com",
            "my purecloud.com",
            "a..b",
            "x/../y.com",
        ] {
            let err = load(&with("GENESYS_ENVIRONMENT", bad)).unwrap_err();
            assert_eq!(err.variable, "GENESYS_ENVIRONMENT", "{bad}");
        }
        let c = load(&with("GENESYS_ENVIRONMENT", "usw2.pure.cloud")).unwrap();
        assert_eq!(c.genesys_api_url.as_str(), "https://api.usw2.pure.cloud/");
    }

    #[test]
    fn invalid_mapping_fails_start_up_naming_the_variable_and_entry() {
        let err = load(&with(
            "PRESENCE_MAPPING",
            r#"{"BREAK":{"availability":"Away","activity":"Busy"}}"#,
        ))
        .unwrap_err();
        assert_eq!(err.variable, "PRESENCE_MAPPING");
        assert!(err.problem.contains("BREAK"), "{err}");
    }

    #[test]
    fn presence_expiration_must_be_an_iso8601_duration() {
        assert_eq!(
            load(&with("PRESENCE_EXPIRATION", "PT8H"))
                .unwrap()
                .presence_expiration
                .as_deref(),
            Some("PT8H")
        );
        assert!(load(&with("PRESENCE_EXPIRATION", "P1D")).is_ok());
        for bad in ["8h", "PT", "P0D", "tomorrow"] {
            let err = load(&with("PRESENCE_EXPIRATION", bad)).unwrap_err();
            assert_eq!(err.variable, "PRESENCE_EXPIRATION", "{bad}");
        }
    }

    #[test]
    fn max_clock_skew_defaults_to_five_minutes_and_is_bounded_at_start_up() {
        assert_eq!(
            load(&minimal()).unwrap().settings.max_clock_skew,
            Duration::from_secs(300)
        );
        assert_eq!(
            load(&with("MAX_CLOCK_SKEW_SECS", "30"))
                .unwrap()
                .settings
                .max_clock_skew,
            Duration::from_secs(30)
        );
        assert!(load(&with("MAX_CLOCK_SKEW_SECS", "3600")).is_ok());
        for bad in ["0", "3601", "-5", "1.5", "5m", "99999999999999999999999"] {
            let err = load(&with("MAX_CLOCK_SKEW_SECS", bad)).unwrap_err();
            assert_eq!(err.variable, "MAX_CLOCK_SKEW_SECS", "{bad}");
        }
    }

    #[test]
    fn sync_scope_defaults_to_all_and_a_bad_entry_stops_the_start_naming_it() {
        use crate::domain::scope::Scope;
        assert_eq!(load(&minimal()).unwrap().settings.scope, Scope::All);
        let q = "0c0c0c0c-0000-4000-8000-00000000000c";
        let scope = load(&with("SYNC_SCOPE", &format!("queue:{q}")))
            .unwrap()
            .settings
            .scope;
        assert_eq!(scope, Scope::parse(&format!("queue:{q}")).unwrap());
        let err = load(&with("SYNC_SCOPE", &format!("queue:{q},site:x"))).unwrap_err();
        assert_eq!(err.variable, "SYNC_SCOPE");
        assert!(err.to_string().contains("\"site:x\""), "{err}");
    }

    #[test]
    fn presence_expiration_accepts_exactly_graphs_duration_grammar() {
        for good in [
            "PT8H",
            "P1D",
            "PT1H30M",
            "P1DT2H3M4.5S",
            "PT0.5S",
            "PT90M",
            "PT3600S",
            "P400D",
            " PT8H ",
        ] {
            let c = load(&with("PRESENCE_EXPIRATION", good))
                .unwrap_or_else(|e| panic!("{good:?}: {e}"));
            assert_eq!(c.presence_expiration.as_deref(), Some(good.trim()));
        }
        for bad in [
            // ISO 8601 has them, Graph's Duration (OData Edm.Duration) does not.
            "P1W",
            "P1M",
            "P1Y",
            "P1Y2M3D",
            "P1MT1H",
            // Signs: a negative expiration is meaningless, `+` is not xs:dayTimeDuration.
            "-P1D",
            "+P1D",
            // Empty, misplaced or repeated parts, fractions other than seconds.
            "P",
            "PT",
            "P1DT",
            "P1.5D",
            "PT1.5H",
            "PT1.S",
            "PT.5S",
            "PT1M1H",
            "PT1H1H",
            "PT1H 30M",
            "pt8h",
            "P1d",
            "8h",
            "tomorrow",
            // Zero.
            "P0D",
            "PT0S",
            "PT0.000S",
            // More seconds than anything can count.
            "P99999999999999999999D",
        ] {
            let err = load(&with("PRESENCE_EXPIRATION", bad)).unwrap_err();
            assert_eq!(err.variable, "PRESENCE_EXPIRATION", "{bad}");
        }
    }

    #[test]
    fn a_url_with_user_info_is_refused_without_echoing_it() {
        for variable in [
            "GRAPH_API_URL",
            "AZURE_LOGIN_URL",
            "GENESYS_LOGIN_URL",
            "GENESYS_API_URL",
        ] {
            for raw in [
                "http://user:s3cr3t@graph.example.com/v1.0",
                "https://user:s3cr3t@graph.microsoft.com/v1.0",
                "http://user:s3cr3t@127.0.0.1:8080",
                "https://s3cr3t@graph.microsoft.com",
                "https://user:s3cr3t@graph.microsoft.com:99999/v1.0",
                "https:/\\user:s3cr3t@graph.microsoft.com:99999",
                "https:/user:s3cr3t@graph.microsoft.com",
                "https://user:s3cr3t@graph.microsoft.com\\v1.0",
                "https://user:s3cr3t@graph.microsoft.com/v1.0?x=1",
                "user:s3cr3t@graph.microsoft.com",
                "ftp://user:s3cr3t@graph.microsoft.com",
            ] {
                let err = load(&with(variable, raw)).unwrap_err();
                assert_eq!(err.variable, variable, "{raw}");
                let message = err.to_string();
                assert!(!message.contains("s3cr3t"), "{message}");
                assert!(message.contains("user info"), "{message}");
            }
        }
        let err = load(&with("GENESYS_ENVIRONMENT", "user:s3cr3t@mypurecloud.com")).unwrap_err();
        assert_eq!(err.variable, "GENESYS_ENVIRONMENT");
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
        // An `@` in the path is no user info.
        let c = load(&with(
            "GRAPH_API_URL",
            "https://graph.microsoft.com/v1.0/@x",
        ))
        .unwrap();
        assert_eq!(
            c.graph_api_url.as_str(),
            "https://graph.microsoft.com/v1.0/@x"
        );
    }

    #[test]
    fn every_configuration_error_names_its_variable_once() {
        let cases: &[(&'static str, &str)] = &[
            ("STATE_TABLE", " "),
            (
                "PRESENCE_MAPPING",
                r#"{"BREAK":{"availability":"Away","activity":"Busy"}}"#,
            ),
            ("PRESENCE_MAPPING", r#"{"NOPE":"clear"}"#),
            ("PRESENCE_MAPPING", r#"{"BREAK":"clear","Break":"ignore"}"#),
            ("PRESENCE_MAPPING", r#"{"BREAK":42}"#),
            ("PRESENCE_MAPPING", "[]"),
            ("PRESENCE_MAPPING", "{"),
            ("PRESENCE_EXPIRATION", "P1W"),
            ("GRAPH_API_URL", "http://graph.example.com"),
            ("GRAPH_API_URL", "https://u:p@graph.microsoft.com"),
            ("GENESYS_ENVIRONMENT", "mypurecloud"),
            ("ALLOWED_SOURCE", "genesys"),
            ("ALLOWED_SOURCE_PREFIX", "aws.partner/genesys.com/cloud/"),
            ("ALLOWED_ACCOUNT", "12345"),
            ("MAX_CLOCK_SKEW_SECS", "0"),
        ];
        for (variable, raw) in cases {
            let mut vars = with(variable, raw);
            if *variable == "STATE_TABLE" {
                vars.remove("STATE_TABLE");
            }
            let err = load(&vars).unwrap_err();
            assert_eq!(err.variable, *variable, "{raw}");
            let message = err.to_string();
            let named = message
                .split(|c: char| !(c.is_ascii_uppercase() || c == '_'))
                .filter(|word| word == variable)
                .count();
            assert_eq!(named, 1, "{message}");
            assert!(
                message.starts_with(&format!("invalid configuration: {variable}")),
                "{message}"
            );
        }
    }

    #[test]
    fn allowed_account_must_be_twelve_digits() {
        assert_eq!(
            load(&with("ALLOWED_ACCOUNT", "123456789012"))
                .unwrap()
                .settings
                .allowed_account
                .as_deref(),
            Some("123456789012")
        );
        let err = load(&with("ALLOWED_ACCOUNT", "12345")).unwrap_err();
        assert_eq!(err.variable, "ALLOWED_ACCOUNT");
    }

    #[test]
    fn allowed_source_is_one_exact_partner_event_source_name() {
        let source =
            "aws.partner/genesys.com/cloud/7c1f3a3e-1111-4a4a-9c9c-0123456789ab/presence-sync";
        let c = load(&with("ALLOWED_SOURCE", source)).unwrap();
        assert_eq!(c.settings.allowed_source.as_deref(), Some(source));
        for bad in [
            "genesys",
            "aws.partner/genesys.com",
            "aws.partner/genesys.com/cloud/x y/z",
            "aws.partner/genesys.com/cloud/7c1f3a3e-1111-4a4a-9c9c-0123456789ab/",
            "aws.partner//genesys.com/cloud",
        ] {
            let err = load(&with("ALLOWED_SOURCE", bad)).unwrap_err();
            assert_eq!(err.variable, "ALLOWED_SOURCE", "{bad}");
        }
        let long = format!("aws.partner/genesys.com/{}", "x".repeat(240));
        assert_eq!(
            load(&with("ALLOWED_SOURCE", &long)).unwrap_err().variable,
            "ALLOWED_SOURCE"
        );
    }

    #[test]
    fn the_retired_allowed_source_prefix_stops_the_start_instead_of_widening_silently() {
        let err = load(&with(
            "ALLOWED_SOURCE_PREFIX",
            "aws.partner/genesys.com/cloud/7c1f3a3e-1111-4a4a-9c9c-0123456789ab/",
        ))
        .unwrap_err();
        assert_eq!(err.variable, "ALLOWED_SOURCE_PREFIX");
        assert!(err.problem.contains("ALLOWED_SOURCE "), "{err}");
    }

    #[test]
    fn graph_writes_are_paced_only_when_the_concurrency_is_given() {
        let unpaced = load(&minimal()).unwrap();
        assert_eq!(unpaced.pacing().interval, Duration::ZERO);
        assert_eq!(unpaced.graph_writes_per_30s, 1_480);
        let paced = load(&with("RESERVED_CONCURRENCY", "50")).unwrap();
        // 50 instances sharing 1,480 writes per 30 s: one write per instance every 1.014 s.
        assert_eq!(paced.pacing().interval, Duration::from_micros(1_013_514));
        for (variable, bad) in [
            ("RESERVED_CONCURRENCY", "0"),
            ("RESERVED_CONCURRENCY", "lots"),
            ("GRAPH_WRITES_PER_30S", "0"),
        ] {
            let error = load(&with(variable, bad)).unwrap_err();
            assert_eq!(error.variable, variable, "{bad}");
        }
    }
}
