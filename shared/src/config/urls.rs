//! The base URLs of the remote services and the Genesys region host: absolute, https (plain
//! http on loopback only), without user info, query or fragment; a value with an `@` is never
//! shown in an error.

use super::{ConfigError, problem};
use crate::domain::excerpt::excerpt;
use reqwest::Url;

/// The Genesys login and API base URLs: each set on its own, or from GENESYS_ENVIRONMENT.
pub(super) fn genesys_urls(
    get: &impl Fn(&'static str) -> Option<String>,
) -> Result<(Url, Url), ConfigError> {
    let environment = get("GENESYS_ENVIRONMENT")
        .map(|env| genesys_environment(&env))
        .transpose()?;
    let genesys_url = |name: &'static str, host_prefix: &str| -> Result<Url, ConfigError> {
        match (get(name), &environment) {
            (Some(raw), _) => base_url(name, &raw),
            (None, Some(env)) => base_url(name, &format!("https://{host_prefix}.{env}")),
            (None, None) => Err(problem(
                "GENESYS_ENVIRONMENT",
                format!("is required (the region host, e.g. mypurecloud.com) unless {name} is set"),
            )),
        }
    };
    Ok((
        genesys_url("GENESYS_LOGIN_URL", "login")?,
        genesys_url("GENESYS_API_URL", "api")?,
    ))
}

/// Whether a URL (or what was meant as one) carries user info: an `@` in its authority, from
/// after `//` (or from the start) to the first `/`, `?` or `#`, read as URL parsers do
/// (backslashes as slashes, tabs and line breaks dropped).
fn has_user_info(raw: &str) -> bool {
    let normalized: String = raw
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .map(|c| if c == '\\' { '/' } else { c })
        .collect();
    let authority = normalized
        .split_once("//")
        .map_or(normalized.as_str(), |(_, rest)| rest);
    authority
        .split(['/', '?', '#'])
        .next()
        .is_some_and(|authority| authority.contains('@'))
}

/// How a URL variable's value appears in an error: quoted and cut, unless it contains an `@`
/// (which may introduce user info, a password): then not at all.
fn shown_url(raw: &str) -> String {
    if raw.contains('@') {
        "(the value, not shown as it contains `@`)".to_owned()
    } else {
        excerpt(raw)
    }
}

fn user_info_refused(variable: &'static str) -> ConfigError {
    problem(
        variable,
        "must not carry user info (a user name or password before `@`; credentials belong in the Secrets Manager secrets); the value is not shown",
    )
}

/// A Genesys region host such as `mypurecloud.com` or `usw2.pure.cloud`.
fn genesys_environment(raw: &str) -> Result<String, ConfigError> {
    if has_user_info(raw) {
        return Err(user_info_refused("GENESYS_ENVIRONMENT"));
    }
    let host = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    let valid = host.contains('.')
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if !valid {
        return Err(problem(
            "GENESYS_ENVIRONMENT",
            format!(
                "{} is not a Genesys Cloud region host (e.g. mypurecloud.com, mypurecloud.ie, usw2.pure.cloud)",
                shown_url(raw)
            ),
        ));
    }
    Ok(host)
}

/// An absolute base URL without query or fragment, kept without a trailing slash. Plain
/// `http` is accepted only for loopback hosts (local emulators and tests).
pub(super) fn base_url(variable: &'static str, raw: &str) -> Result<Url, ConfigError> {
    if has_user_info(raw) {
        return Err(user_info_refused(variable));
    }
    let url = Url::parse(raw.trim())
        .map_err(|e| problem(variable, format!("{} is not a URL: {e}", shown_url(raw))))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(user_info_refused(variable));
    }
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(problem(
                variable,
                format!("{} must be an https URL", shown_url(raw)),
            ));
        }
    }
    if url.host_str().is_none() || url.query().is_some() || url.fragment().is_some() {
        return Err(problem(
            variable,
            format!(
                "{} must be a base URL (scheme and host, optional path)",
                shown_url(raw)
            ),
        ));
    }
    let trimmed = url.as_str().trim_end_matches('/').to_owned();
    Url::parse(&trimmed).map_err(|e| problem(variable, e.to_string()))
}
