//! The poll schedule, anchored once per process: batch `k` of `c` is read at
//! `anchor + n·period + k·period/c`, run after run, so that a new run of a warm process goes on
//! with the last run's phase, and the batches whose slots fell between two runs are read first
//! (each agent's reads stay about a period apart across the run boundary).

use std::time::Duration;
use tokio::time::Instant;

/// Where the schedule stands: its anchor and the slot last polled.
#[derive(Clone, Copy, Debug)]
pub(super) struct Schedule {
    anchor: Instant,
    polled: Option<Instant>,
}

/// One slot of the schedule: the cycle, the batch's index in it, and when it is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Slot {
    pub cycle: u64,
    pub batch: usize,
    pub at: Instant,
}

impl Schedule {
    pub fn anchored(anchor: Instant) -> Self {
        Schedule {
            anchor,
            polled: None,
        }
    }

    /// The first slot after the one last polled, for `count` batches, and none due more than
    /// a period before `now` (a slot missed by longer is owed no more: its batch comes round
    /// again within the period).
    pub fn next(&self, period: Duration, count: usize, now: Instant) -> Slot {
        let count = count.max(1);
        let period_ns = period.as_nanos().max(1);
        let owed = now.checked_sub(period).unwrap_or(self.anchor);
        let after = self.polled.map(|p| p + Duration::from_nanos(1));
        let from = after.map_or(owed, |a| a.max(owed)).max(self.anchor);
        let since = from.duration_since(self.anchor).as_nanos();
        let mut cycle = (since / period_ns) as u64;
        let into = since % period_ns;
        let mut batch = (into * count as u128 / period_ns) as usize;
        loop {
            let slot = self.slot(period, cycle, batch, count);
            if slot.at >= from {
                return slot;
            }
            batch += 1;
            if batch >= count {
                (cycle, batch) = (cycle + 1, 0);
            }
        }
    }

    /// Notes that the slot due `at` was polled.
    pub fn polled(&mut self, at: Instant) {
        self.polled = Some(self.polled.map_or(at, |p| p.max(at)));
    }

    fn slot(&self, period: Duration, cycle: u64, batch: usize, count: usize) -> Slot {
        let period_ns = period.as_nanos();
        let offset = period_ns * u128::from(cycle) + period_ns * batch as u128 / count as u128;
        let offset = Duration::from_nanos(u64::try_from(offset).unwrap_or(u64::MAX));
        Slot {
            cycle,
            batch,
            at: self.anchor + offset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERIOD: Duration = Duration::from_secs(10);

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[tokio::test(start_paused = true)]
    async fn the_slots_go_round_the_period_and_a_new_run_reads_the_missed_ones_first() {
        let anchor = Instant::now();
        let mut schedule = Schedule::anchored(anchor);
        let mut at = Vec::new();
        loop {
            let slot = schedule.next(PERIOD, 3, Instant::now());
            if slot.at >= anchor + secs(56.5) {
                break;
            }
            tokio::time::sleep_until(slot.at).await;
            schedule.polled(slot.at);
            at.push((slot.cycle, slot.batch));
        }
        assert_eq!(
            at.len(),
            17,
            "6 cycles of 3, the last cut at 56.5 s: {at:?}"
        );
        assert_eq!(at.last(), Some(&(5, 1)));
        // The next run starts at 60 s: the slot of 56.67 s is read at once, then 60 s.
        tokio::time::sleep_until(anchor + secs(60.0)).await;
        let missed = schedule.next(PERIOD, 3, Instant::now());
        assert_eq!((missed.cycle, missed.batch), (5, 2));
        assert!(missed.at < Instant::now());
        schedule.polled(missed.at);
        let on_time = schedule.next(PERIOD, 3, Instant::now());
        assert_eq!(
            (on_time.cycle, on_time.batch, on_time.at),
            (6, 0, anchor + secs(60.0))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn slots_missed_by_more_than_a_period_are_not_owed() {
        let anchor = Instant::now();
        let mut schedule = Schedule::anchored(anchor);
        schedule.polled(anchor);
        tokio::time::sleep_until(anchor + secs(95.0)).await;
        let slot = schedule.next(PERIOD, 4, Instant::now());
        // Owed from 85 s on: cycle 8, the batch due at 85 s; the seven cycles before are not.
        assert_eq!((slot.cycle, slot.batch), (8, 2));
        assert_eq!(slot.at, anchor + secs(85.0));
    }
}
