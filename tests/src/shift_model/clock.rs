//! The model's wall clock: tokio's (paused) clock, read as milliseconds since the epoch, so
//! that the service's versions, leases and budgets all live in the same virtual time.

use presence_core::ports::Clock;
use tokio::time::Instant;

/// 2026-11-02T07:50:00Z, the model's time zero: ten minutes before the 8 a.m. shift start.
pub const ZERO_EPOCH_MS: i64 = 1_793_605_800_000;

/// Model time zero as an offset from `events::at`'s base (08:00:00Z), in ms.
pub const ZERO_FROM_EIGHT_MS: i64 = -600_000;

/// Virtual wall time: [`ZERO_EPOCH_MS`] plus the tokio time elapsed since the model started.
#[derive(Clone, Copy, Debug)]
pub struct VirtualClock {
    started: Instant,
}

impl VirtualClock {
    pub fn start() -> Self {
        VirtualClock {
            started: Instant::now(),
        }
    }

    /// Milliseconds since model time zero.
    pub fn model_ms(&self) -> i64 {
        self.started.elapsed().as_millis() as i64
    }
}

impl Clock for VirtualClock {
    fn now_ms(&self) -> i64 {
        ZERO_EPOCH_MS + self.model_ms()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn zero_is_ten_minutes_before_eight() {
        let eight = chrono::DateTime::parse_from_rfc3339(&crate::events::at(0)).unwrap();
        assert_eq!(
            eight.timestamp_millis() + super::ZERO_FROM_EIGHT_MS,
            super::ZERO_EPOCH_MS
        );
    }
}
