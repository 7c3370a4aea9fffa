//! The lag Graph's limit alone imposes: every change that must reach Teams written in order,
//! at once when the tenant's sliding window has room, else the moment it has (no latency, no
//! Lambda, no DynamoDB). No writer can do better without skipping changes.

use std::collections::VecDeque;

/// Lags (ms) of the ideal writer for changes at `times_ms` (sorted), with `limit` writes in
/// any `window_ms`.
pub fn ideal_lags(times_ms: &[i64], limit: usize, window_ms: i64) -> Vec<i64> {
    let mut starts: VecDeque<i64> = VecDeque::with_capacity(limit + 1);
    let mut previous = i64::MIN;
    let mut lags = Vec::with_capacity(times_ms.len());
    for &t in times_ms {
        let mut start = t.max(previous);
        if starts.len() == limit {
            // The write `limit` places back must have left the window.
            start = start.max(starts[0] + window_ms);
            starts.pop_front();
        }
        starts.push_back(start);
        previous = start;
        lags.push(start - t);
    }
    lags
}

/// The simple bound for the shift start: the writes needed in the first 15 minutes
/// over the allowed rate, in seconds.
pub fn burst_over_rate_s(writes: usize, limit: usize, window_s: f64) -> f64 {
    writes as f64 / (limit as f64 / window_s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_past_the_limit_waits_a_window() {
        // 5 changes at 0 with 2 per 30 s: 0, 0, 30, 30, 60 s.
        assert_eq!(
            ideal_lags(&[0, 0, 0, 0, 0], 2, 30_000),
            vec![0, 0, 30_000, 30_000, 60_000]
        );
        // Spread out, nothing waits.
        assert_eq!(ideal_lags(&[0, 20_000, 40_000], 2, 30_000), vec![0, 0, 0]);
    }
}
