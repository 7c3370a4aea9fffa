//! Bounded, quoted excerpts of untrusted input for error messages, so a hostile or huge value
//! can neither flood a log line nor forge one.

/// The value cut after 80 characters (marked with `…` when cut).
pub fn cut(s: &str) -> String {
    const MAX: usize = 80;
    match s.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}…", &s[..end]),
        None => s.to_owned(),
    }
}

/// The value cut after 80 characters and quoted with Rust escaping.
pub fn excerpt(s: &str) -> String {
    format!("{:?}", cut(s))
}

#[cfg(test)]
mod tests {
    use super::excerpt;

    #[test]
    fn short_values_are_quoted_whole() {
        assert_eq!(excerpt("a\"b\n"), r#""a\"b\n""#);
    }

    #[test]
    fn long_values_are_cut() {
        let long = "x".repeat(10_000);
        let e = excerpt(&long);
        assert!(e.len() < 100, "{e}");
        assert!(e.ends_with("…\""));
    }
}
