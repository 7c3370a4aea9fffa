//! A [`PresenceWriter`] decorator that spaces this instance's Graph writes to a fixed rate, so
//! that `C` instances together stay under the tenant's presence limit instead of meeting it
//! with 429s: the per-instance interval is `30 s × C ÷ writes allowed per 30 s`
//! ([`Pacing::for_concurrency`]). Measured in `docs/performance.md`, "Shift start at scale".

use crate::domain::ids::TeamsUserId;
use crate::domain::teams::TeamsPresence;
use crate::pace::Pace;
use crate::ports::{Budget, PresenceWriter, RemoteError, Service, WriteAnswer};
use std::time::Duration;
use tokio::time::Instant;

/// How far apart this instance's Graph writes are started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pacing {
    pub interval: Duration,
}

impl Pacing {
    /// The interval that keeps `concurrency` instances, each writing at most once per
    /// interval, within `writes_per_30s` for the whole function.
    pub fn for_concurrency(concurrency: u32, writes_per_30s: u32) -> Pacing {
        let writes = u64::from(writes_per_30s.max(1));
        let micros = 30_000_000 * u64::from(concurrency.max(1));
        Pacing {
            interval: Duration::from_micros(micros.div_ceil(writes)),
        }
    }
}

/// Starts each write no sooner than one interval after the previous one started (in this
/// process); a write whose turn would come after the invocation's budget fails at once as
/// [`RemoteError::Throttled`] (nothing was sent), so that Lambda retries it.
#[derive(Debug)]
pub struct Paced<W> {
    inner: W,
    pace: Pace,
}

impl<W> Paced<W> {
    pub fn new(inner: W, pacing: Pacing) -> Self {
        Paced {
            inner,
            pace: Pace::every(pacing.interval),
        }
    }

    pub fn inner(&self) -> &W {
        &self.inner
    }

    /// Takes the next start slot, or refuses when it falls after the budget (the slot is then
    /// not taken).
    fn slot(&self, budget: Budget) -> Result<Instant, RemoteError> {
        self.pace
            .take_before(budget.until)
            .map_err(|wait| RemoteError::Throttled {
                service: Service::Graph,
                retry_after_secs: Some(wait.as_secs()),
                detail: format!(
                    "this process paces its Graph writes every {} ms; the next turn is {} ms away, beyond this invocation's time budget",
                    self.pace.interval().as_millis(),
                    wait.as_millis()
                ),
                may_have_landed: false,
            })
    }
}

impl<W: PresenceWriter> PresenceWriter for Paced<W> {
    async fn set_preferred(
        &self,
        user: &TeamsUserId,
        presence: TeamsPresence,
        budget: Budget,
    ) -> Result<WriteAnswer, RemoteError> {
        tokio::time::sleep_until(self.slot(budget)?).await;
        self.inner.set_preferred(user, presence, budget).await
    }

    async fn clear_preferred(
        &self,
        user: &TeamsUserId,
        budget: Budget,
    ) -> Result<WriteAnswer, RemoteError> {
        tokio::time::sleep_until(self.slot(budget)?).await;
        self.inner.clear_preferred(user, budget).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::memory::MemoryTeams;

    fn teams() -> TeamsUserId {
        TeamsUserId::parse("a1b2c3d4-0000-4000-8000-000000000001").unwrap()
    }

    fn budget(secs: u64) -> Budget {
        Budget {
            until: Instant::now() + Duration::from_secs(secs),
        }
    }

    #[test]
    fn the_interval_shares_the_limit_between_instances() {
        assert_eq!(
            Pacing::for_concurrency(25, 1_500).interval,
            Duration::from_millis(500)
        );
        assert_eq!(
            Pacing::for_concurrency(1, 1_500).interval,
            Duration::from_millis(20)
        );
    }

    /// Real time (presence-core's tests have no paused clock): 20 ms apart at C = 1.
    #[tokio::test]
    async fn writes_start_one_interval_apart() {
        let paced = Paced::new(MemoryTeams::new(), Pacing::for_concurrency(1, 1_500));
        let started = Instant::now();
        for _ in 0..4 {
            paced
                .set_preferred(&teams(), TeamsPresence::Busy, budget(30))
                .await
                .unwrap();
        }
        // Slots at 0, 20, 40 and 60 ms.
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(60), "{took:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");
        assert_eq!(paced.inner().writes().len(), 4);
    }

    #[tokio::test]
    async fn a_turn_beyond_the_budget_fails_without_writing() {
        let paced = Paced::new(MemoryTeams::new(), Pacing::for_concurrency(50, 30));
        paced.clear_preferred(&teams(), budget(30)).await.unwrap();
        let err = paced
            .clear_preferred(&teams(), budget(30))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                RemoteError::Throttled {
                    may_have_landed: false,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(paced.inner().writes().len(), 1);
    }
}
