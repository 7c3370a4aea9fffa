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
        self.take(until)
    }

    /// Waits for the next slot when it comes before `until`; otherwise waits not at all,
    /// takes nothing and answers how far away the slot is. No wait outlives its caller's
    /// deadline: a run with 30 s left never sleeps through a 200 s `Retry-After`.
    pub async fn ready_before(&self, until: Instant) -> Result<(), Duration> {
        let slot = self.take(until)?;
        tokio::time::sleep_until(slot).await;
        Ok(())
    }

    fn take(&self, until: Instant) -> Result<Instant, Duration> {
        let now = Instant::now();
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let slot = next.map_or(now, |n| n.max(now));
        if slot >= until {
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
        let far = start + Duration::from_secs(3600);
        for _ in 0..11 {
            pace.ready_before(far).await.unwrap();
        }
        assert_eq!(start.elapsed(), Duration::from_millis(1_000));
        pace.hold(Duration::from_secs(5));
        pace.ready_before(far).await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_millis(6_000));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slot_past_the_deadline_is_not_waited_for_nor_taken() {
        let pace = Pace::new(60, Duration::from_secs(60));
        let start = Instant::now();
        // A 429 asked for 200 s; the caller has 30 s left.
        pace.hold(Duration::from_secs(200));
        let until = start + Duration::from_secs(30);
        assert_eq!(
            pace.ready_before(until).await,
            Err(Duration::from_secs(200)),
            "answered at once with how far the slot is"
        );
        assert_eq!(start.elapsed(), Duration::ZERO, "no sleep at all");
        // Nothing was taken: the next caller with time enough gets the same slot.
        let later = start + Duration::from_secs(300);
        pace.ready_before(later).await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_secs(200));
    }
}
