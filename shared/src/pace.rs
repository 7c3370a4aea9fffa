//! A rate budget: calls spaced evenly so that at most `calls` go out per `per`, for one
//! process. The reconciler spends its share of Graph's and Genesys's limits through one each,
//! and the event function paces its Graph writes through one (`adapters::paced`).
//! Written here rather than taken from `governor`: it must sleep on tokio's clock (which a
//! model pauses and advances), and evenly spaced slots are a dozen lines.

use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Spaces calls `interval` apart.
#[derive(Debug)]
pub struct Pace {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl Pace {
    /// At most `calls` per `per` (at least one call per `per`).
    pub fn new(calls: u32, per: Duration) -> Self {
        Self::every(per / calls.max(1))
    }

    /// Calls `interval` apart (`Duration::ZERO`: no pacing).
    pub fn every(interval: Duration) -> Self {
        Pace {
            interval,
            next: Mutex::new(None),
        }
    }

    /// The spacing between two calls.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The time the next call may go, taken for the caller if it comes before `until`;
    /// otherwise nothing is taken and the answer is how long away the slot is.
    pub fn take_before(&self, until: Instant) -> Result<Instant, Duration> {
        self.take(Some(until))
    }

    /// Waits for the next slot, however far.
    pub async fn ready(&self) {
        if let Ok(slot) = self.take(None) {
            tokio::time::sleep_until(slot).await;
        }
    }

    fn take(&self, until: Option<Instant>) -> Result<Instant, Duration> {
        let now = Instant::now();
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let slot = next.map_or(now, |n| n.max(now));
        if until.is_some_and(|until| slot >= until) {
            return Err(slot.saturating_duration_since(now));
        }
        *next = Some(slot + self.interval);
        Ok(slot)
    }

    /// Waits at least `wait` before the next slot (a 429 asked for it).
    pub fn hold(&self, wait: Duration) {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let until = Instant::now() + wait.min(crate::policy::MAX_RETRY_AFTER);
        *next = Some(next.map_or(until, |n| n.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn calls_are_spaced_to_the_rate_and_a_hold_pushes_them_back() {
        let pace = Pace::new(300, Duration::from_secs(30));
        assert_eq!(pace.interval(), Duration::from_millis(100));
        let start = Instant::now();
        for _ in 0..11 {
            pace.ready().await;
        }
        assert_eq!(start.elapsed(), Duration::from_millis(1_000));
        pace.hold(Duration::from_secs(5));
        pace.ready().await;
        assert_eq!(start.elapsed(), Duration::from_millis(6_000));
    }
}
