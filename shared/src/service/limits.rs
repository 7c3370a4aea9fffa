//! The time policy of one invocation: its two limits (work, and the lease release), the
//! cut applied to every state-store call, the patience with another holder of the user's
//! lease.

use super::Invocation;
use super::error::{SyncError, store_error};
use crate::domain::ids::GenesysUserId;
use crate::policy::{ANSWER_MARGIN, MAX_INVOCATION};
use crate::ports::{Budget, StoreError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The system clock, in milliseconds since the Unix epoch (the service reads its own
/// [`crate::ports::Clock`]; this is for callers outside it).
pub fn now_ms() -> i64 {
    use crate::ports::Clock;
    crate::ports::SystemClock.now_ms()
}

pub(super) fn epoch_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Waiting for another instance that holds the user's lease: a live holder releases within
/// one Graph call, a dead one only when its lease expires. Short waits, doubling, then give up
/// so that Lambda redelivers the event later.
pub(super) struct Patience {
    started: tokio::time::Instant,
    wait: Duration,
    max: Duration,
}

impl Patience {
    pub(super) fn new(max: Duration) -> Self {
        Patience {
            started: tokio::time::Instant::now(),
            wait: crate::policy::LEASE_WAIT_FIRST,
            max,
        }
    }

    /// Sleeps before the next look at the record, or fails with `Busy` when out of patience
    /// or out of budget.
    pub(super) async fn wait(
        &mut self,
        holder_until_ms: i64,
        budget: Budget,
        user: &GenesysUserId,
    ) -> Result<(), SyncError> {
        let waited = self.started.elapsed();
        if waited + self.wait > self.max || budget.remaining() < self.wait {
            return Err(SyncError::Busy {
                user: user.clone(),
                waited_ms: waited.as_millis() as u64,
                until_ms: holder_until_ms,
            });
        }
        tokio::time::sleep(self.wait).await;
        self.wait = (self.wait * 2).min(crate::policy::LEASE_WAIT_LONGEST);
        Ok(())
    }
}

/// Grace after the invocation deadline before a dead holder's lease lets others in, in the
/// lease's unit ([`crate::policy::LEASE_GRACE`]).
pub(super) const LEASE_GRACE_MS: i64 = crate::policy::LEASE_GRACE.as_millis() as i64;

/// The two time limits of one invocation. The work (recording, reads, remote calls, waits)
/// ends `Settings::deadline_margin` before Lambda's deadline; releasing the lease may use
/// that margin, up to [`ANSWER_MARGIN`] before the deadline, so that a holder whose work ran
/// out of time still lets the next event in at once.
#[derive(Clone, Copy, Debug)]
pub(super) struct Limits {
    pub(super) work: Budget,
    pub(super) release: Budget,
}

impl Limits {
    /// The limits of `invocation` when the clock reads `now_ms`.
    pub(super) fn of(invocation: &Invocation, deadline_margin: Duration, now_ms: i64) -> Self {
        // Lambda's longest timeout is 15 minutes: a deadline further out is not Lambda's, and
        // bounding it keeps the instant arithmetic below from overflowing.
        let left_ms = epoch_ms(invocation.deadline).saturating_sub(now_ms).max(0);
        let left = Duration::from_millis(left_ms as u64).min(MAX_INVOCATION);
        let now = tokio::time::Instant::now();
        Limits {
            work: Budget {
                until: now + left.saturating_sub(deadline_margin),
            },
            release: Budget {
                until: now + left.saturating_sub(ANSWER_MARGIN),
            },
        }
    }
}

/// Runs one state-store call cut at `limit`. The AWS SDK's own timeouts (seconds, per
/// attempt and operation) know nothing of this invocation's deadline: a call that outlived it
/// would make Lambda kill the environment ("Task timed out") with the lease still held.
pub(super) async fn bounded<T>(
    limit: Budget,
    doing: &'static str,
    user: &GenesysUserId,
    call: impl std::future::Future<Output = Result<T, StoreError>>,
) -> Result<T, SyncError> {
    match tokio::time::timeout_at(limit.until, call).await {
        Ok(result) => result.map_err(store_error(user)),
        Err(_) => Err(SyncError::Store {
            user: user.clone(),
            source: StoreError(format!(
                "{doing}: no answer within this invocation's time budget"
            )),
        }),
    }
}

/// The text of a panic's payload (`panic!` with a message gives a `&str` or a `String`).
pub(super) fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(a panic without a message)")
}
