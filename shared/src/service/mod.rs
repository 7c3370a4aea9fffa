//! The presence sync itself: one Genesys event in, at most one Graph write out, ordered and
//! de-duplicated per user through the state store. Generic over the ports, so every function
//! of the project (and every test) drives the same code with its own adapters.

mod admit;
mod carry_out;
mod error;
mod exceptions;
mod explain;
mod leave;
mod limits;
pub mod reconcile;
mod run;
mod scope;
mod settle;
pub mod teams_ids;
pub mod watch;

pub use error::SyncError;
pub use exceptions::ExceptionChange;
pub use explain::Explanation;
pub use limits::now_ms;
pub use settle::Settlement;

use crate::domain::event::{Envelope, GenesysEvent};
use crate::domain::left::LeftReason;
use crate::domain::mapping::PresenceMapping;
use crate::domain::outcome::{Outcome, Report, SkipReason};
use crate::domain::state::Lease;
use crate::domain::step::UserSync;
use crate::metrics;
use crate::ports::{Clock, PresenceWriter, StateStore, SystemClock, TeamsDirectory, TeamsIdCache};
use limits::{LEASE_GRACE_MS, Limits, epoch_ms};
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
    /// Which agents the sync drives (`SYNC_SCOPE`): everyone by default.
    pub scope: crate::domain::scope::Scope,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            allowed_source: None,
            allowed_account: None,
            teams_id_ttl: Duration::from_secs(24 * 3600),
            no_teams_id_ttl: Duration::from_secs(3600),
            deadline_margin: crate::policy::DEADLINE_MARGIN,
            max_lease_wait: crate::policy::MAX_LEASE_WAIT,
            max_clock_skew: Duration::from_secs(300),
            scope: crate::domain::scope::Scope::All,
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
        match admit::envelope_of(raw) {
            // Boxed: the sync nests the scope, the lease, the Teams-id lookup and the HTTP
            // retries, deeper than the compiler's layout depth limit allows inline.
            Ok(envelope) => Box::pin(self.handle_from(envelope, invocation, started)).await,
            Err(error) => Err(rejected(error, invocation, started)),
        }
    }

    /// [`PresenceSync::handle`] of an envelope the function's edge has read.
    pub async fn handle_envelope(
        &self,
        envelope: Envelope,
        invocation: &Invocation,
    ) -> Result<Report, SyncError> {
        Box::pin(self.handle_from(envelope, invocation, std::time::Instant::now())).await
    }

    async fn handle_from(
        &self,
        envelope: Envelope,
        invocation: &Invocation,
        started: std::time::Instant,
    ) -> Result<Report, SyncError> {
        let started_ms = self.now_ms();
        // The envelope's `time`, read before `admit` takes the event.
        let sent_ms = envelope.time.map(|time| time.timestamp_millis());
        let event = match self.admit_envelope(envelope) {
            Ok(event) => event,
            Err(error) => return Err(rejected(error, invocation, started)),
        };
        let delivery = sent_ms.map_or(Delivery::Live, |sent_ms| {
            let lag = started_ms.saturating_sub(sent_ms);
            metrics::lag(metrics::Lag::Delivery, lag);
            Delivery::of(lag)
        });
        let result = self.sync(&event, invocation).await;
        self.count(&event, &result, delivery);
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

    /// The event's metrics: its outcome and, when Teams was written, the lag from the
    /// Genesys change (the newest version the event carries) to Graph accepting it; a late
    /// delivery is counted as such instead of its lag.
    fn count(&self, event: &GenesysEvent, result: &Result<Outcome, SyncError>, delivery: Delivery) {
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(error) => return metrics::event_outcome(metrics::FAILED, error.kind()),
        };
        metrics::event_outcome(outcome.kind(), outcome.reason());
        if matches!(outcome, Outcome::Skipped(SkipReason::Echo)) {
            metrics::echo_suppressed();
        }
        if delivery == Delivery::Late {
            return metrics::late_event();
        }
        if !matches!(outcome, Outcome::Applied(..) | Outcome::Cleared(_)) {
            return;
        }
        let versions = [
            event.presence.as_ref().map(|p| p.version),
            event.routing.as_ref().map(|r| r.version),
        ];
        if let Some(version) = versions.into_iter().flatten().max() {
            let lag = self.now_ms().saturating_sub(version.millis());
            metrics::lag(metrics::Lag::EndToEnd, lag);
        }
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
        // Boxed, each: held inline, the sync's future overflows the compiler's layout depth
        // limit in the function crate.
        let placement = Box::pin(self.placement(event, limits.work)).await?;
        if let scope::Placement::Out(reason, record) = placement {
            return Box::pin(self.keep_out(event, reason, record, invocation)).await;
        }
        match Box::pin(self.sync_in_scope(event, invocation)).await? {
            left @ Outcome::Skipped(SkipReason::Left(reason)) if reason != LeftReason::Departed => {
                Box::pin(self.take_back(event, invocation, left)).await
            }
            outcome => Ok(outcome),
        }
    }

    /// [`PresenceSync::sync`] of an agent in scope: the step machine.
    async fn sync_in_scope(
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
}

/// Whether an event came through the live path, or later than EventBridge and Lambda
/// deliver on their own ([`crate::policy::LATE_DELIVERY`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Delivery {
    Live,
    Late,
}

impl Delivery {
    fn of(lag_ms: i64) -> Self {
        if lag_ms > crate::policy::LATE_DELIVERY.as_millis() as i64 {
            Delivery::Late
        } else {
            Delivery::Live
        }
    }
}

/// Counts and logs an event refused at the door.
fn rejected(error: SyncError, invocation: &Invocation, started: std::time::Instant) -> SyncError {
    metrics::event_outcome(metrics::FAILED, error.kind());
    warn!(
        requestId = %invocation.request_id,
        error = %error,
        errorType = error.kind(),
        elapsedMs = started.elapsed().as_millis() as u64,
        "event rejected"
    );
    error
}

/// The envelope's `time` in ms since the epoch, when it is one (bounded: the subtraction it
/// meets saturates).
/// The lease an invocation takes: its request id (plus a random part, since Lambda reuses
/// none but a test may), until one second after its deadline.
pub(super) fn lease_for(invocation: &Invocation) -> Lease {
    Lease {
        owner: format!(
            "{}/{}",
            invocation.request_id,
            uuid::Uuid::new_v4().simple()
        ),
        until_ms: epoch_ms(invocation.deadline).saturating_add(LEASE_GRACE_MS),
    }
}

#[cfg(test)]
mod tests;
