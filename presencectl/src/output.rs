//! What a command prints: aligned text for people, or one JSON document (`--json`) for
//! scripts; and whether it found a problem (exit status 1).

use serde::Serialize;

/// A command's answer.
pub trait Answer: Serialize {
    /// The aligned text for a person.
    fn text(&self) -> String;
    /// Whether the command found a problem (the exit status is then 1).
    fn problem(&self) -> bool;
}

/// Prints the answer as text or JSON; returns whether it found a problem.
pub fn print(answer: &impl Answer, json: bool) -> bool {
    if json {
        // A derived `Serialize` of plain data cannot fail.
        let text = serde_json::to_string_pretty(answer).unwrap_or_default();
        println!("{text}");
    } else {
        print!("{}", answer.text());
    }
    answer.problem()
}

/// The fix that ends a failure line, where the command has no better one: doctor names
/// whatever is wrong with the deployment.
pub const DOCTOR_FIX: &str = "run presencectl doctor (with the same --stack or variables): it names what is wrong and its fix";

/// A failure line: what went wrong, then its fix (`--json` splits them again).
pub fn with_fix(what: impl std::fmt::Display, fix: &str) -> String {
    format!("{what} — fix: {fix}")
}

/// A failure line whose fix is doctor's.
pub fn doctor_fix(what: impl std::fmt::Display) -> String {
    with_fix(what, DOCTOR_FIX)
}

/// Lines of `name  value`, the names padded to one column.
pub fn fields(rows: &[(&str, String)]) -> String {
    let width = rows.iter().map(|(name, _)| name.chars().count()).max();
    let mut out = String::new();
    for (name, value) in rows {
        let pad = width.unwrap_or(0) - name.chars().count();
        out.push_str(&format!("  {name}{}  {value}\n", " ".repeat(pad)));
    }
    out
}

/// How long ago `then_ms` was, for a person: `42 s ago`, `3 min ago`, `5 h ago`, `2 d ago`.
pub fn ago(now_ms: i64, then_ms: i64) -> String {
    let secs = now_ms.saturating_sub(then_ms) / 1000;
    if secs < 0 {
        return format!("in {}", span(-secs));
    }
    format!("{} ago", span(secs))
}

/// A duration in seconds, for a person.
pub fn span(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 2 * 3600 => format!("{} min", s / 60),
        s if s < 2 * 86_400 => format!("{} h", s / 3600),
        s => format!("{} d", s / 86_400),
    }
}

/// An instant in ms since the epoch, as RFC 3339 (UTC, seconds).
pub fn instant(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| format!("{ms} ms since the epoch"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_aligned_on_the_longest_name() {
        let text = fields(&[("a", "1".into()), ("longer", "2".into())]);
        assert_eq!(text, "  a       1\n  longer  2\n");
    }

    #[test]
    fn ages_read_in_the_largest_whole_unit() {
        assert_eq!(ago(100_000, 58_000), "42 s ago");
        assert_eq!(ago(4 * 3_600_000, 0), "4 h ago");
        assert_eq!(ago(0, 300_000), "in 5 min");
        assert_eq!(span(3 * 86_400), "3 d");
        assert_eq!(instant(0), "1970-01-01T00:00:00Z");
    }
}
