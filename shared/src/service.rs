//! The presence sync itself: one Genesys event in, at most one Graph write out, ordered and
//! de-duplicated per user through the state store. Generic over the ports, so every function
//! of the project (and every test) drives the same code with its own adapters.

use crate::domain::decide::{
    AfterClaim, ClaimPlan, Refusal, Release, after_claim, classify_refusal, predict,
};
use crate::domain::event::{EventError, GenesysEvent, Horizon, is_genesys_source};
use crate::domain::excerpt::excerpt;
use crate::domain::ids::{GenesysUserId, TeamsUserId};
use crate::domain::mapping::{PresenceMapping, Target};
use crate::domain::outcome::{Outcome, Report, SkipReason};
use crate::domain::state::{Intent, Lease, Observation, UserState, shares_recorded};
use crate::domain::teams::TeamsState;
use crate::domain::version::Version;
use crate::ports::{
    Budget, CachedTeamsId, Claim, DirectoryAnswer, Finish, PresenceWriter, Recorded, RemoteError,
    StateStore, StoreError, TeamsDirectory, TeamsIdCache, TeamsIdEntry, WriteAnswer,
};
use futures_util::FutureExt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
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

/// Why an event failed. Every variant names the input or the user concerned and never
/// carries a secret or a token.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Event(#[from] EventError),
    #[error("event source {event_source} is not allowed: {expected}")]
    SourceNotAllowed {
        event_source: String,
        /// What the source had to be, in words.
        expected: String,
    },
    #[error("event account {account} is not allowed: ALLOWED_ACCOUNT is {allowed:?}")]
    AccountNotAllowed { account: String, allowed: String },
    #[error("Genesys user {user}: {source}")]
    Store {
        user: GenesysUserId,
        source: StoreError,
    },
    #[error("Genesys user {user}: looking up the Teams id: {source}")]
    Directory {
        user: GenesysUserId,
        source: RemoteError,
    },
    #[error("Genesys user {user} (Teams user {teams}): {source}")]
    Graph {
        user: GenesysUserId,
        teams: TeamsUserId,
        source: RemoteError,
    },
    #[error(
        "Genesys user {user}: another instance is updating Teams for this user (its lease runs until {until_ms} ms since the epoch); gave up after waiting {waited_ms} ms so that Lambda redelivers the event"
    )]
    Busy {
        user: GenesysUserId,
        waited_ms: u64,
        until_ms: i64,
    },
    #[error(
        "Genesys user {user}: the user's lease was taken over by another instance before this one could {doing}; failing so that Lambda redelivers the event"
    )]
    LeaseLost {
        user: GenesysUserId,
        doing: &'static str,
    },
    #[error("Genesys user {user}: out of time after {attempts} attempts to record the event")]
    OutOfTime { user: GenesysUserId, attempts: u32 },
    /// A bug: the code panicked. The lease was released and the record left dirty, so that
    /// Lambda's retry (or the user's next event) re-applies the newest state.
    #[error(
        "Genesys user {user}: internal error (a panic: {message}); the lease was released so that Lambda's retry can re-apply the newest state"
    )]
    Panicked {
        user: GenesysUserId,
        message: String,
    },
}

impl SyncError {
    /// A short, stable error type for Lambda's `errorType` and for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            SyncError::Event(EventError::UnsupportedTopic(_)) => "UnsupportedTopic",
            SyncError::Event(EventError::VersionInFuture { .. }) => "VersionInFuture",
            SyncError::Event(_) => "MalformedEvent",
            SyncError::SourceNotAllowed { .. } => "SourceNotAllowed",
            SyncError::AccountNotAllowed { .. } => "AccountNotAllowed",
            SyncError::Store { .. } => "StateStoreError",
            // Named after the service that failed, not the step that called it: a Secrets
            // Manager or token endpoint failure while writing to Graph is not a Graph error.
            SyncError::Directory { source, .. } | SyncError::Graph { source, .. } => {
                source.error_type()
            }
            SyncError::Busy { .. } => "UserBusy",
            SyncError::LeaseLost { .. } => "LeaseLost",
            SyncError::OutOfTime { .. } => "OutOfTime",
            SyncError::Panicked { .. } => "InternalError",
        }
    }

    /// Whether the event itself is bad (so redelivering it cannot help).
    pub fn is_rejection(&self) -> bool {
        matches!(
            self,
            SyncError::Event(_)
                | SyncError::SourceNotAllowed { .. }
                | SyncError::AccountNotAllowed { .. }
        )
    }
}

/// The presence sync, holding its adapters for the life of the process.
pub struct PresenceSync<S, C, D, W> {
    store: S,
    cache: C,
    directory: D,
    writer: W,
    mapping: PresenceMapping,
    settings: Settings,
    memory: moka::sync::Cache<GenesysUserId, CachedTeamsId>,
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn epoch_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Wraps a state store error with the user it concerns.
fn store_error(user: &GenesysUserId) -> impl Fn(StoreError) -> SyncError + '_ {
    move |source| SyncError::Store {
        user: user.clone(),
        source,
    }
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

/// Waiting for another instance that holds the user's lease: a live holder releases within
/// one Graph call, a dead one only when its lease expires. Short waits, doubling, then give up
/// so that Lambda redelivers the event later.
struct Patience {
    started: tokio::time::Instant,
    wait: Duration,
    max: Duration,
}

impl Patience {
    fn new(max: Duration) -> Self {
        Patience {
            started: tokio::time::Instant::now(),
            wait: Duration::from_millis(20),
            max,
        }
    }

    /// Sleeps before the next look at the record, or fails with `Busy` when out of patience
    /// or out of budget.
    async fn wait(
        &mut self,
        current: &UserState,
        budget: Budget,
        user: &GenesysUserId,
    ) -> Result<(), SyncError> {
        let waited = self.started.elapsed();
        if waited + self.wait > self.max || budget.remaining() < self.wait {
            return Err(SyncError::Busy {
                user: user.clone(),
                waited_ms: waited.as_millis() as u64,
                until_ms: current.lease.as_ref().map_or(0, |l| l.until_ms),
            });
        }
        tokio::time::sleep(self.wait).await;
        self.wait = (self.wait * 2).min(Duration::from_millis(400));
        Ok(())
    }
}

/// Grace after the invocation deadline before a dead holder's lease lets others in.
const LEASE_GRACE_MS: i64 = 1_000;

/// Time kept back before Lambda's deadline for the answer itself, after the lease is released.
const ANSWER_MARGIN: Duration = Duration::from_millis(250);

/// Lambda's longest function timeout.
const MAX_INVOCATION: Duration = Duration::from_secs(15 * 60);

/// The two time limits of one invocation. The work (recording, reads, remote calls, waits)
/// ends `Settings::deadline_margin` before Lambda's deadline; releasing the lease may use
/// that margin, up to [`ANSWER_MARGIN`] before the deadline, so that a holder whose work ran
/// out of time still lets the next event in at once.
#[derive(Clone, Copy, Debug)]
struct Limits {
    work: Budget,
    release: Budget,
}

impl Limits {
    fn of(invocation: &Invocation, deadline_margin: Duration) -> Self {
        // Lambda's longest timeout is 15 minutes: a deadline further out is not Lambda's, and
        // bounding it keeps the instant arithmetic below from overflowing.
        let left = invocation
            .deadline
            .duration_since(SystemTime::now())
            .unwrap_or_default()
            .min(MAX_INVOCATION);
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
async fn bounded<T>(
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
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(a panic without a message)")
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
    ) -> Self {
        let memory = moka::sync::Cache::builder()
            .max_capacity(200_000)
            .time_to_live(settings.teams_id_ttl.max(settings.no_teams_id_ttl))
            .build();
        PresenceSync {
            store,
            cache,
            directory,
            writer,
            mapping,
            settings,
            memory,
        }
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
            now: Version::from_millis(now_ms()),
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

    /// Syncs a validated event. A panic anywhere below is caught: the lease is released
    /// (the record stays dirty, so the retry re-applies the newest state) and the event fails
    /// with [`SyncError::Panicked`] instead of taking the process down with the lease held.
    pub async fn sync(
        &self,
        event: &GenesysEvent,
        invocation: &Invocation,
    ) -> Result<Outcome, SyncError> {
        let limits = Limits::of(invocation, self.settings.deadline_margin);
        let lease = Lease {
            owner: format!(
                "{}/{}",
                invocation.request_id,
                uuid::Uuid::new_v4().simple()
            ),
            until_ms: epoch_ms(invocation.deadline).saturating_add(LEASE_GRACE_MS),
        };
        // Boxed: one allocation per event keeps the future's type shallow enough for the
        // compiler's layout depth limit in the function crate.
        let work = std::panic::AssertUnwindSafe(Box::pin(self.sync_holding(event, &lease, limits)));
        match work.catch_unwind().await {
            Ok(result) => result,
            Err(panic) => {
                let user = &event.user;
                let message = excerpt(panic_message(panic.as_ref()));
                tracing::error!(genesysUserId = %user, panic = %message, "panicked while syncing; releasing the lease");
                let release = bounded(
                    limits.release,
                    "releasing the lease after a panic",
                    user,
                    self.store.finish(user, &lease.owner, Finish::Abandoned),
                );
                if let Err(error) = release.await {
                    warn!(genesysUserId = %user, error = %error, "could not release the lease after a panic; it expires on its own");
                }
                Err(SyncError::Panicked {
                    user: user.clone(),
                    message,
                })
            }
        }
    }

    /// The sync itself, under `lease` once it is taken.
    async fn sync_holding(
        &self,
        event: &GenesysEvent,
        lease: &Lease,
        limits: Limits,
    ) -> Result<Outcome, SyncError> {
        let budget = limits.work;
        let user = &event.user;

        let mut observation = Observation::from(event);
        let mut known: Option<UserState> = None;
        let mut patience = Patience::new(self.settings.max_lease_wait);
        for attempt in 1u32.. {
            let plan = predict(&self.mapping, &observation, known.as_ref());
            let claim = match plan {
                ClaimPlan::Take(intent) => Some(intent),
                ClaimPlan::RecordOnly => None,
            };
            let now = now_ms();
            let recorded = bounded(
                budget,
                "recording the event",
                user,
                self.store.record(
                    user,
                    &event.event_id,
                    &observation,
                    claim.map(|i| (i, lease)),
                    now,
                ),
            )
            .await?;
            match recorded {
                Recorded::Accepted { before } => {
                    let mut after = before.merged(&observation, &event.event_id);
                    if let Some(intent) = claim {
                        after = after.claimed(intent, lease.clone());
                    }
                    let plan = after_claim(
                        &self.mapping,
                        &observation,
                        &before,
                        &after,
                        claim.is_some(),
                        false,
                    );
                    let outcome = self.carry_out(plan, user, &lease.owner, limits).await?;
                    if claim.is_none() && after.dirty() && !after.busy(now_ms()) {
                        return self
                            .reconcile(after, &observation, outcome, lease, limits, user)
                            .await;
                    }
                    return Ok(outcome);
                }
                Recorded::Refused { current }
                    if current
                        .lease
                        .as_ref()
                        .is_some_and(|held| held.owner == lease.owner) =>
                {
                    // Our own write landed, its answer was lost, and the store's retry of it
                    // was refused by the record it had written. We cannot know what that write
                    // found before it, so release the lease, leaving the record dirty: the next
                    // attempt sees an uncertain record and settles it.
                    warn!(genesysUserId = %user, "the answer to our recording write was lost and its retry refused; releasing the lease to settle the record");
                    bounded(
                        limits.release,
                        "releasing the lease",
                        user,
                        self.store.finish(user, &lease.owner, Finish::Abandoned),
                    )
                    .await?;
                    known = None;
                }
                Recorded::Refused { current } => {
                    match classify_refusal(&event.event_id, &observation, &current, now_ms()) {
                        Refusal::Busy => patience.wait(&current, budget, user).await?,
                        Refusal::Retry(part) => observation = part,
                        Refusal::Done(reason) => {
                            let outcome = Outcome::Skipped(reason);
                            if current.dirty() && !current.busy(now_ms()) {
                                return self
                                    .reconcile(current, &observation, outcome, lease, limits, user)
                                    .await;
                            }
                            return Ok(outcome);
                        }
                    }
                    known = Some(current);
                }
            }
            if budget.is_spent() {
                return Err(SyncError::OutOfTime {
                    user: user.clone(),
                    attempts: attempt,
                });
            }
        }
        unreachable!("the attempt counter does not overflow before the budget is spent")
    }

    /// Settles a record an earlier attempt left dirty (it failed or died around its Graph
    /// call): takes the lease and re-applies what the newest recorded state maps to. When no
    /// call turns out to be needed, the event keeps its own outcome.
    async fn reconcile(
        &self,
        mut current: UserState,
        observation: &Observation,
        own: Outcome,
        lease: &Lease,
        limits: Limits,
        user: &GenesysUserId,
    ) -> Result<Outcome, SyncError> {
        let budget = limits.work;
        let mut patience = Patience::new(self.settings.max_lease_wait);
        while !budget.is_spent() {
            let intent = match current.target(&self.mapping).0 {
                Target::Teams(state) if state != current.applied() => Intent::Teams(state),
                _ => Intent::Pending,
            };
            let recorded = bounded(
                budget,
                "taking the lease to settle the record",
                user,
                self.store
                    .reclaim(user, current.rev, intent, lease, now_ms()),
            )
            .await?;
            match recorded {
                Recorded::Accepted { before } => {
                    let after = before.clone().claimed(intent, lease.clone());
                    let plan = after_claim(
                        &self.mapping,
                        &Observation::default(),
                        &before,
                        &after,
                        true,
                        true,
                    );
                    return match self.carry_out(plan, user, &lease.owner, limits).await? {
                        Outcome::Skipped(_) => Ok(own),
                        done => Ok(done),
                    };
                }
                Recorded::Refused { current: now } => {
                    if !now.dirty() {
                        // Settled meanwhile.
                        return Ok(own);
                    }
                    if now.busy(now_ms()) {
                        // Someone else is settling it. If what they apply includes this
                        // event's data, their failure would be ours: wait for the result
                        // (the next refusal shows it) rather than answer success now.
                        if !shares_recorded(&now, observation) {
                            return Ok(own);
                        }
                        patience.wait(&now, budget, user).await?;
                    }
                    current = now;
                }
            }
        }
        Ok(own)
    }

    /// Carries out a decision while holding the user's lease (or, for `NoCall` without
    /// `release`, without one).
    async fn carry_out(
        &self,
        plan: AfterClaim,
        user: &GenesysUserId,
        owner: &str,
        limits: Limits,
    ) -> Result<Outcome, SyncError> {
        let budget = limits.work;
        let finish_holding = |finish| {
            bounded(
                limits.release,
                "releasing the lease",
                user,
                self.store.finish(user, owner, finish),
            )
        };
        let (state, mark_pending, why) = match plan {
            AfterClaim::NoCall { reason, release } => {
                let finish = match release {
                    Release::Not => None,
                    Release::Settled => Some(Finish::Untouched),
                    Release::Unsettled => Some(Finish::Abandoned),
                };
                if let Some(finish) = finish {
                    finish_holding(finish).await?;
                }
                return Ok(Outcome::Skipped(reason));
            }
            AfterClaim::Call {
                state,
                mark_pending,
                why,
            } => (state, mark_pending, why),
        };
        if mark_pending
            && !bounded(
                budget,
                "marking the record pending",
                user,
                self.store.mark_pending(user, owner),
            )
            .await?
        {
            return Err(SyncError::LeaseLost {
                user: user.clone(),
                doing: "call Graph",
            });
        }
        let teams = match self.teams_id(user, budget).await {
            Ok(TeamsIdEntry::Teams(teams)) => teams,
            Ok(TeamsIdEntry::NoTeamsId) => {
                finish_holding(Finish::Untouched).await?;
                return Ok(Outcome::Skipped(SkipReason::NoTeamsUser));
            }
            Ok(TeamsIdEntry::ClaimedBy { .. }) => {
                finish_holding(Finish::Untouched).await?;
                return Ok(Outcome::Skipped(SkipReason::TeamsIdClaimed));
            }
            Err(error) => {
                self.abandon(user, owner, limits).await;
                return Err(error);
            }
        };
        let written = match state {
            TeamsState::Preferred(presence) => {
                self.writer.set_preferred(&teams, presence, budget).await
            }
            TeamsState::Cleared => self.writer.clear_preferred(&teams, budget).await,
        };
        match written {
            Ok(WriteAnswer::Accepted) => {
                if !finish_holding(Finish::Applied(state)).await? {
                    // Graph has our state, but our lease ran out and another instance took
                    // over: it saw the record dirty and re-applies the newest state itself.
                    warn!(genesysUserId = %user, "lease taken over after the Graph call; the new holder re-applies the newest state");
                }
                Ok(match state {
                    TeamsState::Preferred(presence) => Outcome::Applied(presence, why),
                    TeamsState::Cleared => Outcome::Cleared(why),
                })
            }
            Ok(WriteAnswer::UserNotFound) => {
                warn!(genesysUserId = %user, teamsUserId = %teams, "Graph does not know the Teams user; dropping the cached Teams id");
                self.memory.invalidate(user);
                let forget = bounded(
                    budget,
                    "dropping the cached Teams id",
                    user,
                    self.cache.forget(user),
                );
                if let Err(error) = forget.await {
                    warn!(genesysUserId = %user, error = %error, "could not drop the cached Teams id");
                }
                finish_holding(Finish::Untouched).await?;
                Ok(Outcome::Skipped(SkipReason::TeamsUserNotFound))
            }
            Err(source) => {
                self.abandon(user, owner, limits).await;
                Err(SyncError::Graph {
                    user: user.clone(),
                    teams,
                    source,
                })
            }
        }
    }

    /// Releases the lease after a failure, leaving the record dirty so that the redelivery
    /// (or the user's next event) re-applies the newest state. Best effort: if this write
    /// fails too, the lease simply expires.
    async fn abandon(&self, user: &GenesysUserId, owner: &str, limits: Limits) {
        let release = bounded(
            limits.release,
            "releasing the lease after a failure",
            user,
            self.store.finish(user, owner, Finish::Abandoned),
        );
        if let Err(error) = release.await {
            warn!(genesysUserId = %user, error = %error, "could not release the lease after a failure; it expires on its own");
        }
    }

    /// The user's Teams id: from memory, else the shared cache, else Genesys (claimed for
    /// this user alone, see [`TeamsIdEntry::ClaimedBy`]).
    async fn teams_id(
        &self,
        user: &GenesysUserId,
        budget: Budget,
    ) -> Result<TeamsIdEntry, SyncError> {
        let now = now_ms() / 1000;
        if let Some(cached) = self.memory.get(user)
            && cached.expires_at > now
        {
            return Ok(cached.entry);
        }
        let cached = bounded(
            budget,
            "reading the cached Teams id",
            user,
            self.cache.get(user, now),
        )
        .await?;
        if let Some(cached) = cached {
            self.memory.insert(user.clone(), cached.clone());
            return Ok(cached.entry);
        }
        let answer = self
            .directory
            .lookup(user, budget)
            .await
            .map_err(|source| SyncError::Directory {
                user: user.clone(),
                source,
            })?;
        let entry = match answer {
            DirectoryAnswer::TeamsId(raw) => match TeamsUserId::parse(&raw) {
                Some(teams) => self.claim(user, teams, now, budget).await?,
                None => {
                    warn!(genesysUserId = %user, teamsId = %excerpt(&raw), "the microsoftteams external id Genesys holds for this user is not a GUID; treating the user as having no Teams id");
                    TeamsIdEntry::NoTeamsId
                }
            },
            DirectoryAnswer::NoTeamsId | DirectoryAnswer::UnknownUser => TeamsIdEntry::NoTeamsId,
        };
        let ttl = match entry {
            TeamsIdEntry::Teams(_) => self.settings.teams_id_ttl,
            TeamsIdEntry::NoTeamsId | TeamsIdEntry::ClaimedBy { .. } => {
                self.settings.no_teams_id_ttl
            }
        };
        let cached = CachedTeamsId {
            entry,
            expires_at: now.saturating_add(ttl.as_secs() as i64),
        };
        let put = bounded(
            budget,
            "caching the Teams id",
            user,
            self.cache.put(user, &cached),
        );
        match put.await {
            Ok(Some(previous)) => {
                self.noticed_change(user, &previous.entry, &cached.entry, budget)
                    .await
            }
            Ok(None) => {}
            Err(error) => {
                warn!(genesysUserId = %user, error = %error, "could not cache the Teams id; it will be looked up again");
            }
        }
        self.memory.insert(user.clone(), cached.clone());
        Ok(cached.entry)
    }

    /// Claims the Teams id Genesys gave for this user. The claim outlives the cached answer
    /// (twice its lifetime), so that the user who holds a Teams id keeps it when its cache
    /// entry expires and is looked up again.
    async fn claim(
        &self,
        user: &GenesysUserId,
        teams: TeamsUserId,
        now: i64,
        budget: Budget,
    ) -> Result<TeamsIdEntry, SyncError> {
        let until = now.saturating_add(2 * self.settings.teams_id_ttl.as_secs() as i64);
        let claim = bounded(
            budget,
            "claiming the Teams id",
            user,
            self.cache.claim(&teams, user, until, now),
        )
        .await?;
        Ok(match claim {
            Claim::Granted => TeamsIdEntry::Teams(teams),
            Claim::HeldBy(holder) => {
                warn!(genesysUserId = %user, teamsUserId = %teams, holder = %holder, "Genesys gives this user a Teams id that another Genesys user holds; leaving that Teams user alone (check both users' microsoftteams external ids)");
                TeamsIdEntry::ClaimedBy { teams, holder }
            }
        })
    }

    /// Warns when a user's Teams id changed, and gives up the claim on the old one.
    async fn noticed_change(
        &self,
        user: &GenesysUserId,
        previous: &TeamsIdEntry,
        now: &TeamsIdEntry,
        budget: Budget,
    ) {
        let TeamsIdEntry::Teams(old) = previous else {
            return;
        };
        if matches!(now, TeamsIdEntry::Teams(new) if new == old) {
            return;
        }
        let new = match now {
            TeamsIdEntry::Teams(t) | TeamsIdEntry::ClaimedBy { teams: t, .. } => t.to_string(),
            TeamsIdEntry::NoTeamsId => "(none)".to_owned(),
        };
        warn!(genesysUserId = %user, previousTeamsUserId = %old, teamsUserId = %new, "the Teams id Genesys gives this user changed; from now on the new one is updated");
        let release = bounded(
            budget,
            "giving up the claim on the previous Teams id",
            user,
            self.cache.release_claim(old, user),
        );
        if let Err(error) = release.await {
            warn!(genesysUserId = %user, error = %error, "could not give up the claim on the previous Teams id; it ends on its own");
        }
    }
}
