//! `PRESENCE_EXPIRATION`: the durations Graph accepts as a preferred presence's
//! `expirationDuration` (`xs:dayTimeDuration` without a sign), also read by the reconciler's
//! settings.

use super::{ConfigError, problem};
use crate::domain::excerpt::excerpt;
use std::time::Duration;

/// A duration Graph accepts as `expirationDuration` of setUserPreferredPresence.
///
/// Graph documents the parameter as type `Duration`: "The expiration of the app presence
/// session represented in ISO 8601 format for durations" (Microsoft Graph v1.0 reference,
/// presence: setUserPreferredPresence, Request body; microsoftgraph/microsoft-graph-docs-contrib
/// `api-reference/v1.0/api/presence-setuserpreferredpresence.md`). Graph's `Duration` is
/// OData's `Edm.Duration`, whose literal the OData ABNF defines as
///
/// ```text
/// durationValue = [ SIGN ] "P" [ 1*DIGIT "D" ] [ "T" [ 1*DIGIT "H" ] [ 1*DIGIT "M" ] [ 1*DIGIT [ "." 1*DIGIT ] "S" ] ]
///      ; the above is an approximation of the rules for an xml dayTimeDuration.
/// ```
///
/// (OASIS odata-abnf, `abnf/odata-abnf-construction-rules.txt`). So days, hours, minutes and
/// seconds only: the weeks, months and years of ISO 8601 (`P1W`, `P1M`, `P1Y`) are not part
/// of it. Accepted here is that grammar as `xs:dayTimeDuration` reads it (upper-case
/// designators, at least one component, `T` only before a time component) without a sign
/// (a negative expiration means nothing; `+` is not `xs:dayTimeDuration`), longer than zero.
/// Graph documents no maximum.
pub(super) fn expiration(raw: &str) -> Result<String, ConfigError> {
    let raw = raw.trim();
    let duration = day_time_duration(raw).ok_or_else(|| {
        problem(
            "PRESENCE_EXPIRATION",
            format!(
                "{} is not a duration Graph accepts: days, hours, minutes and seconds such as PT8H, P1D or PT1H30M (no weeks, months or years)",
                excerpt(raw)
            ),
        )
    })?;
    if duration.is_zero() {
        return Err(problem("PRESENCE_EXPIRATION", "must be longer than zero"));
    }
    Ok(raw.to_owned())
}

/// `P[nD][T[nH][nM][n[.n]S]]` with at least one component; `None` for anything else and for
/// more seconds than a `u64` holds.
pub(crate) fn day_time_duration(text: &str) -> Option<Duration> {
    fn number(digits: &str) -> Option<u64> {
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    }
    let rest = text.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((date, time)) => (date, Some(time)),
        None => (rest, None),
    };
    let mut seconds: u64 = 0;
    let mut nanos: u32 = 0;
    let mut components = 0;
    if !date.is_empty() {
        seconds = number(date.strip_suffix('D')?)?.checked_mul(86_400)?;
        components += 1;
    }
    if let Some(mut time) = time {
        let before = components;
        for (designator, unit) in [('H', 3_600), ('M', 60)] {
            if let Some((digits, after)) = time.split_once(designator) {
                seconds = seconds.checked_add(number(digits)?.checked_mul(unit)?)?;
                time = after;
                components += 1;
            }
        }
        if !time.is_empty() {
            let value = time.strip_suffix('S')?;
            let (whole, fraction) = match value.split_once('.') {
                Some((whole, fraction)) => (whole, Some(fraction)),
                None => (value, None),
            };
            seconds = seconds.checked_add(number(whole)?)?;
            if let Some(fraction) = fraction {
                if fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let nine: String = fraction
                    .chars()
                    .chain(std::iter::repeat('0'))
                    .take(9)
                    .collect();
                nanos = nine.parse().ok()?;
            }
            components += 1;
        }
        if components == before {
            return None;
        }
    }
    (components > 0).then(|| Duration::new(seconds, nanos))
}
