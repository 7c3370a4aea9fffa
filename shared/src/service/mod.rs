//! The presence sync itself: one Genesys event in, at most one Graph write out, ordered and
//! de-duplicated per user through the state store. Generic over the ports, so every function
//! of the project (and every test) drives the same code with its own adapters.

mod carry_out;
mod error;
mod limits;
pub mod teams_ids;

pub use error::SyncError;
pub use limits::now_ms;

use crate::domain::event::{EventError, GenesysEvent, Horizon, is_genesys_source};
use crate::domain::excerpt::excerpt;
use crate::domain::ids::GenesysUserId;
use crate::domain::mapping::{MatchedKey, PresenceMapping, Target};
use crate::domain::outcome::{Outcome, Report, SkipReason};
use crate::domain::state::{Lease, Recorded, UserState};
use crate::domain::step::{OutOfTime, Step, UserSync};
use crate::domain::version::Version;
use crate::ports::{
    Clock, Finish, PresenceWriter, StateStore, SystemClock, TeamsDirectory, TeamsIdCache,
};
use futures_util::FutureExt;
use limits::{LEASE_GRACE_MS, Limits, Patience, bounded, epoch_ms, panic_message};
use std::time::{Duration, SystemTime};
use tracing::{info, warn};

/// Behaviour that is configuration rather than code.
#[derive(Clone, Debug)]
pub struct Settings {
    /// When set, events whose `source` is not exactly this partner event source name are
    /// rejected; when not, any Genesys Cloud partner event source
    /// (`aws.partner/genesys.com/cloud/<org id>/<suffix>`) is accepted.
    pub allowed_source: Option<String>,
    /// When set, events from another AWS account are rejected.
    pub allowed_account: Option<String>,
    /// How long a Teams id found in Genesys is trusted.
    pub teams_id_ttl: Duration,
    /// How long "this user has no Teams id" is trusted.
    pub no_teams_id_ttl: Duration,
    /// Time kept back before the Lambda deadline for the final write and the answer.
    pub deadline_margin: Duration,
    /// How long an event waits for another instance to finish with the same user before
    /// failing, so that Lambda redelivers it later.
    pub max_lease_wait: Duration,
    /// How far an event's version may run ahead of its envelope `time` and of this
    /// instance's clock; a version further ahead is rejected (`VersionInFuture`), since once
    /// recorded it would make every later event of the user look stale.
    pub max_clock_skew: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            allowed_source: None,
            allowed_account: None,
            teams_id_ttl: Duration::from_secs(24 * 3600),
            no_teams_id_ttl: Duration::from_secs(3600),
            deadline_margin: Duration::from_millis(1500),
            max_lease_wait: Duration::from_secs(5),
            max_clock_skew: Duration::from_secs(300),
        }
    }
}

/// One invocation as Lambda describes it.
#[derive(Clone, Debug)]
pub struct Invocation {
    pub request_id: String,
    pub deadline: SystemTime,
}

/// The presence sync, holding its adapters for the life of the process.
pub struct PresenceSync<S, C, D, W> {
    clock: std::sync::Arc<dyn Clock>,
    store: S,
    teams_ids: teams_ids::Layered<C, D>,
    writer: W,
    mapping: PresenceMapping,
    settings: Settings,
}

/// The largest event EventBridge delivers (a PutEvents entry is at most 256 KB); anything
/// bigger did not come from the bus.
const MAX_EVENT_BYTES: usize = 256 * 1024;

/// The size of a JSON value as serialised, without building the text.
fn json_size(value: &serde_json::Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to a counter cannot fail, and a `Value` always serialises.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

impl<S, C, D, W> PresenceSync<S, C, D, W>
where
    S: StateStore,
    C: TeamsIdCache,
    D: TeamsDirectory,
    W: PresenceWriter,
{
    pub fn new(
        store: S,
        cache: C,
        directory: D,
        writer: W,
        mapping: PresenceMapping,
        settings: Settings,
    ) -> Self
    where
        C: Clone,
    {
        let lifetimes = teams_ids::Lifetimes {
            teams_id: settings.teams_id_ttl,
            no_teams_id: settings.no_teams_id_ttl,
        };
        PresenceSync {
            clock: std::sync::Arc::new(SystemClock),
            store,
            teams_ids: teams_ids::layered(cache, directory, lifetimes),
            writer,
            mapping,
            settings,
        }
    }

    /// The same sync on another clock (a model's virtual time); the system clock by default.
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = std::sync::Arc::new(clock);
        self
    }

    fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Handles one EventBridge event: validates it, then syncs the user's Teams presence.
    /// Logs one line with the outcome (or the error).
    pub async fn handle(
        &self,
        raw: serde_json::Value,
        invocation: &Invocation,
    ) -> Result<Report, SyncError> {
        let started = std::time::Instant::now();
        let event = match self.admit(raw) {
            Ok(event) => event,
            Err(error) => {
                warn!(
                    requestId = %invocation.request_id,
                    error = %error,
                    errorType = error.kind(),
                    elapsedMs = started.elapsed().as_millis() as u64,
                    "event rejected"
                );
                return Err(error);
            }
        };
        let result = self.sync(&event, invocation).await;
        let presence_version = event.presence.as_ref().map(|p| p.version.to_string());
        let routing_version = event.routing.as_ref().map(|r| r.version.to_string());
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(outcome) => info!(
                outcome = outcome.kind(),
                reason = outcome.reason(),
                genesysUserId = %event.user,
                topic = %event.topic,
                eventId = %event.event_id,
                presence = event.presence.as_ref().map(|p| p.value.system.as_str()),
                routingStatus = event.routing.as_ref().map(|r| r.value.as_str()),
                presenceVersion = presence_version,
                routingVersion = routing_version,
                teams = outcome.teams().map(|t| t.to_string()),
                elapsedMs = elapsed_ms,
                "event handled"
            ),
            Err(error) => tracing::error!(
                outcome = "failed",
                errorType = error.kind(),
                error = %error,
                genesysUserId = %event.user,
                topic = %event.topic,
                eventId = %event.event_id,
                presenceVersion = presence_version,
                routingVersion = routing_version,
                elapsedMs = elapsed_ms,
                "event failed"
            ),
        }
        result.map(|outcome| Report::new(&event.user, outcome))
    }

    /// Parses the event and checks that it comes from where it may.
    fn admit(&self, raw: serde_json::Value) -> Result<GenesysEvent, SyncError> {
        let size = json_size(&raw);
        if size > MAX_EVENT_BYTES {
            return Err(SyncError::Event(EventError::Shape(format!(
                "the event is {size} bytes, more than the {MAX_EVENT_BYTES} bytes an EventBridge event can carry"
            ))));
        }
        let horizon = Horizon {
            now: Version::from_millis(self.now_ms()),
            max_skew: self.settings.max_clock_skew,
        };
        let event = GenesysEvent::parse_at(raw, horizon)?;
        let expected = match &self.settings.allowed_source {
            Some(allowed) if event.source != *allowed => {
                Some(format!("ALLOWED_SOURCE is exactly {allowed:?}"))
            }
            None if !is_genesys_source(&event.source) => Some(
                "it is not a Genesys Cloud partner event source (aws.partner/genesys.com/cloud/<org id>/<suffix>)"
                    .to_owned(),
            ),
            _ => None,
        };
        if let Some(expected) = expected {
            return Err(SyncError::SourceNotAllowed {
                event_source: excerpt(&event.source),
                expected,
            });
        }
        if let Some(allowed) = &self.settings.allowed_account
            && event.account.as_deref() != Some(allowed.as_str())
        {
            return Err(SyncError::AccountNotAllowed {
                account: event
                    .account
                    .as_deref()
                    .map_or("(none)".to_owned(), excerpt),
                allowed: allowed.clone(),
            });
        }
        Ok(event)
    }

    /// Syncs a validated event: the event path's use case. A panic anywhere below is caught:
    /// the lease is released (the record stays dirty, so the retry re-applies the newest
    /// state) and the event fails with [`SyncError::Panicked`] instead of taking the process
    /// down with the lease held.
    pub async fn sync(
        &self,
        event: &GenesysEvent,
        invocation: &Invocation,
    ) -> Result<Outcome, SyncError> {
        let limits = Limits::of(invocation, self.settings.deadline_margin, self.now_ms());
        let lease = lease_for(invocation);
        let (machine, step) = UserSync::for_event(&self.mapping, event, &lease);
        // Boxed: one allocation per event keeps the future's type shallow enough for the
        // compiler's layout depth limit in the function crate.
        let run = Box::pin(self.run(machine, step, &event.user, &event.event_id, &lease, limits));
        self.guarded(&event.user, &lease, limits, run).await
    }

    /// Settles one user from the record alone (what a redelivery does for a failed event, and
    /// what a scheduled function does for every dirty record): when an earlier holder left the
    /// record dirty and its lease is gone, takes the lease and re-applies the newest recorded
    /// state, under the same rules as the event path (an event arriving meanwhile still wins by
    /// version).
    pub async fn settle(
        &self,
        user: &GenesysUserId,
        invocation: &Invocation,
    ) -> Result<Settlement, SyncError> {
        let limits = Limits::of(invocation, self.settings.deadline_margin, self.now_ms());
        let record = bounded(
            limits.work,
            "reading the record",
            user,
            self.store.read(user),
        )
        .await?;
        let now = self.now_ms();
        if !record.dirty() {
            return Ok(Settlement::Clean);
        }
        if record.busy(now) {
            let until_ms = record.lease.as_ref().map_or(0, |l| l.until_ms);
            return Ok(Settlement::HeldByAnother { until_ms });
        }
        let lease = lease_for(invocation);
        let own = Outcome::Skipped(SkipReason::Unchanged);
        let (machine, step) = UserSync::for_record(&self.mapping, record, &lease, own, now);
        let run = Box::pin(self.run(machine, step, user, "", &lease, limits));
        let outcome = self.guarded(user, &lease, limits, run).await?;
        Ok(Settlement::Settled(outcome))
    }

    /// What the sync would do with `event` against `record`, and why: the steps it would take
    /// up to its first remote call or its answer, with no write and no call. The store's
    /// answers are worked out with the same rules its conditional writes enforce.
    pub fn explain(&self, event: &GenesysEvent, record: &UserState, now_ms: i64) -> Explanation {
        let lease = Lease {
            owner: "explain".to_owned(),
            until_ms: now_ms.saturating_add(LEASE_GRACE_MS),
        };
        let (mut machine, mut step) = UserSync::for_event(&self.mapping, event, &lease);
        let mut record = record.clone();
        let mut steps = Vec::new();
        // Each answer either ends the walk or moves the record forward; a handful of steps is
        // the most any event takes without another instance involved.
        for _ in 0..8 {
            steps.push(step.clone());
            step = match step {
                Step::Record { observation, claim } => {
                    let claim = claim.map(|intent| (intent, &lease));
                    let next = record.after_record(&event.event_id, &observation, claim, now_ms);
                    machine.recorded(store_answer(&mut record, next), now_ms)
                }
                Step::Reclaim { rev, intent } => {
                    let next = record.after_reclaim(rev, intent, &lease, now_ms);
                    machine.reclaimed(store_answer(&mut record, next), now_ms)
                }
                Step::ReleaseOwn | Step::Wait { .. } | Step::CarryOut(_) | Step::Answer(_) => break,
            };
        }
        let (target, matched) = record.target(&self.mapping);
        Explanation {
            steps,
            target,
            matched,
        }
    }

    /// Performs the steps of one user's sync until it answers: the flat loop of the service.
    async fn run(
        &self,
        mut machine: UserSync<'_>,
        mut step: Step,
        user: &GenesysUserId,
        event_id: &str,
        lease: &Lease,
        limits: Limits,
    ) -> Result<Outcome, SyncError> {
        let budget = limits.work;
        let mut patience = Patience::new(self.settings.max_lease_wait);
        let mut settling = machine.is_settling();
        let mut first = true;
        loop {
            if machine.is_settling() != settling {
                // Settling waits with patience of its own, as recording does.
                settling = machine.is_settling();
                patience = Patience::new(self.settings.max_lease_wait);
            }
            let again = matches!(step, Step::Reclaim { .. })
                || (!first && matches!(step, Step::Record { .. }));
            if again && budget.is_spent() {
                return match machine.out_of_time() {
                    OutOfTime::Fail { attempts } => Err(SyncError::OutOfTime {
                        user: user.clone(),
                        attempts,
                    }),
                    OutOfTime::Answer(outcome) => Ok(outcome),
                };
            }
            first = false;
            step = match step {
                Step::Record { observation, claim } => {
                    let write = self.store.record(
                        user,
                        event_id,
                        &observation,
                        claim.map(|intent| (intent, lease)),
                        self.now_ms(),
                    );
                    let answer = bounded(budget, "recording the event", user, write).await?;
                    machine.recorded(answer, self.now_ms())
                }
                Step::ReleaseOwn => {
                    warn!(genesysUserId = %user, "the answer to our recording write was lost and its retry refused; releasing the lease to settle the record");
                    let now = self.now_ms();
                    let release = self
                        .store
                        .finish(user, &lease.owner, Finish::Abandoned, now);
                    bounded(limits.release, "releasing the lease", user, release).await?;
                    machine.released()
                }
                Step::Wait { holder_until_ms } => {
                    patience.wait(holder_until_ms, budget, user).await?;
                    machine.waited()
                }
                Step::Reclaim { rev, intent } => {
                    let claim = (self.store).reclaim(user, rev, intent, lease, self.now_ms());
                    let doing = "taking the lease to settle the record";
                    let answer = bounded(budget, doing, user, claim).await?;
                    machine.reclaimed(answer, self.now_ms())
                }
                Step::CarryOut(plan) => {
                    let outcome = self.carry_out(plan, user, &lease.owner, limits).await?;
                    return Ok(machine.carried_out(outcome));
                }
                Step::Answer(outcome) => return Ok(outcome),
            };
        }
    }

    /// Runs `work` with the panic guard: a panic releases the lease (leaving the record dirty)
    /// and fails as [`SyncError::Panicked`].
    async fn guarded(
        &self,
        user: &GenesysUserId,
        lease: &Lease,
        limits: Limits,
        work: std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<Outcome, SyncError>> + Send + '_>,
        >,
    ) -> Result<Outcome, SyncError> {
        let work = std::panic::AssertUnwindSafe(work);
        let panic = match work.catch_unwind().await {
            Ok(result) => return result,
            Err(panic) => panic,
        };
        let message = excerpt(panic_message(panic.as_ref()));
        tracing::error!(genesysUserId = %user, panic = %message, "panicked while syncing; releasing the lease");
        let release = (self.store).finish(user, &lease.owner, Finish::Abandoned, self.now_ms());
        let doing = "releasing the lease after a panic";
        if let Err(error) = bounded(limits.release, doing, user, release).await {
            warn!(genesysUserId = %user, error = %error, "could not release the lease after a panic; it expires on its own");
        }
        Err(SyncError::Panicked {
            user: user.clone(),
            message,
        })
    }
}

/// What the store answers a conditional write that leaves `next` (or is refused), applied
/// to `record`.
fn store_answer(record: &mut UserState, next: Option<UserState>) -> Recorded {
    match next {
        Some(next) => Recorded::Accepted {
            before: std::mem::replace(record, next),
        },
        None => Recorded::Refused {
            current: record.clone(),
        },
    }
}

/// The lease an invocation takes: its request id (plus a random part, since Lambda reuses
/// none but a test may), until one second after its deadline.
fn lease_for(invocation: &Invocation) -> Lease {
    Lease {
        owner: format!(
            "{}/{}",
            invocation.request_id,
            uuid::Uuid::new_v4().simple()
        ),
        until_ms: epoch_ms(invocation.deadline).saturating_add(LEASE_GRACE_MS),
    }
}

/// What settling one user from its record did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settlement {
    /// The record was clean: Teams shows what was applied.
    Clean,
    /// Another instance holds the user's lease (until then); it settles the record itself.
    HeldByAnother { until_ms: i64 },
    /// The record was dirty and nobody held it: this is what settling it did.
    Settled(Outcome),
}

impl std::fmt::Display for Settlement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Settlement::Clean => f.write_str("clean: Teams shows what was applied"),
            Settlement::HeldByAnother { until_ms } => {
                write!(
                    f,
                    "held by another instance until {until_ms} ms since the epoch"
                )
            }
            Settlement::Settled(outcome) => write!(f, "settled: {outcome}"),
        }
    }
}

/// What the sync would do with an event, and why (see [`PresenceSync::explain`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// The steps, up to the first that needs another service or instance, or the answer.
    pub steps: Vec<Step>,
    /// What the record would map to afterwards, and which mapping entry decided it.
    pub target: Target,
    pub matched: MatchedKey,
}

#[cfg(test)]
mod tests;
