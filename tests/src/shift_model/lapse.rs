//! Preferred presences Graph let lapse: a preferred presence holds in Teams for
//! `PRESENCE_EXPIRATION` after it was set, then Teams shows the user's own presence again, so
//! an agent whose Teams went longer than that without a write while it showed a preferred
//! presence lost it (the reconciler's keep-alive exists to prevent this).

use presence_core::domain::teams::TeamsState;

/// Agents (of `shown_from`: per agent, what Teams was set to from when, in ms after model
/// time zero, in time order) whose preferred presence went more than `expiry_ms` without a
/// write before `end_ms`.
pub fn lapsed(shown_from: &[Vec<(i64, TeamsState)>], expiry_ms: i64, end_ms: i64) -> usize {
    shown_from
        .iter()
        .filter(|writes| {
            debug_assert!(writes.is_sorted_by_key(|(at, _)| *at));
            let next = writes.iter().skip(1).map(|(at, _)| *at).chain([end_ms]);
            writes.iter().zip(next).any(|((at, state), until)| {
                matches!(state, TeamsState::Preferred(_)) && until.min(end_ms) - at > expiry_ms
            })
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use presence_core::domain::teams::TeamsPresence;

    const AWAY: TeamsState = TeamsState::Preferred(TeamsPresence::Away);
    const HOUR: i64 = 3_600_000;

    #[test]
    fn a_preferred_presence_lapses_after_the_expiry_without_a_write() {
        let kept = vec![(-50 * 60_000, AWAY), (5 * 60_000, AWAY)];
        let lost = vec![(-59 * 60_000, AWAY), (5 * 60_000, AWAY)];
        let cleared = vec![(-59 * 60_000, TeamsState::Cleared)];
        let late = vec![(-10 * 60_000, AWAY)];
        assert_eq!(lapsed(&[kept], HOUR, HOUR), 0);
        assert_eq!(lapsed(&[lost], HOUR, HOUR), 1);
        assert_eq!(
            lapsed(&[cleared], HOUR, HOUR),
            0,
            "nothing preferred to lose"
        );
        assert_eq!(
            lapsed(std::slice::from_ref(&late), HOUR, 40 * 60_000),
            0,
            "not yet"
        );
        assert_eq!(lapsed(&[late], HOUR, 51 * 60_000), 1, "lapsed by the end");
    }
}
