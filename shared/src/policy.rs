//! Every timing the functions live by, in one place: how long a call may take, how often it is
//! retried and how long between tries, how long an event waits for another holder of the
//! user's lease, and what is kept back before Lambda's deadline. The adapters and the service
//! read these; `docs/design.md` ("Timing policy") has them in one table with the reasons.
//! Values that are configuration rather than code ([`HttpTimeouts`], and the margin and lease
//! wait of `service::Settings`) take their defaults from here.

use std::time::Duration;

/// Connect and total (per attempt) timeouts for every HTTP call to Genesys and Microsoft.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpTimeouts {
    pub connect: Duration,
    pub total: Duration,
}

impl Default for HttpTimeouts {
    fn default() -> Self {
        HttpTimeouts {
            connect: HTTP_CONNECT,
            total: HTTP_ATTEMPT,
        }
    }
}

/// Connecting to Genesys or Microsoft.
pub const HTTP_CONNECT: Duration = Duration::from_secs(2);
/// One HTTP attempt, whole (also cut to the invocation's remaining time).
pub const HTTP_ATTEMPT: Duration = Duration::from_secs(8);

/// The backoff between attempts without `Retry-After`: from [`BACKOFF_MIN`] doubling to
/// [`BACKOFF_MAX`], each wait plus a random share of itself, at most [`BACKOFF_TIMES`] retries
/// (the invocation's budget ends them sooner).
pub const BACKOFF_MIN: Duration = Duration::from_millis(100);
pub const BACKOFF_MAX: Duration = Duration::from_secs(4);
pub const BACKOFF_TIMES: usize = 20;

/// The longest `Retry-After` honoured: a hostile or broken value must not park this process's
/// calls for hours (the invocation fails instead, and Lambda retries later).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// The longest one `Retry-After` closes this process's throttle gate (every call to that
/// service from this instance, other users' events included). Graph and Genesys ask for
/// seconds; a minute covers their real answers, while a single hostile or garbled value (up
/// to [`MAX_RETRY_AFTER`]) would otherwise fail every event of a warm instance for five
/// minutes. A call after the gate opens that is still throttled closes it again.
pub const MAX_SHARED_THROTTLE: Duration = Duration::from_secs(60);

/// One attempt of an AWS SDK call (DynamoDB, Secrets Manager); every call is also cut to the
/// invocation's budget by the service.
pub const AWS_ATTEMPT: Duration = Duration::from_secs(2);
/// One AWS SDK call with the SDK's own retries.
pub const AWS_OPERATION: Duration = Duration::from_secs(6);

/// `presencectl deploy`: how long it waits, after the stack is deployed, for the Genesys
/// partner event source to turn Active (the stack's bus of its name associates it at once;
/// minutes mean the integration names another account or region), and how often it looks.
pub const PARTNER_SOURCE_WAIT: Duration = Duration::from_secs(10 * 60);
pub const PARTNER_SOURCE_POLL: Duration = Duration::from_secs(5);
/// `presencectl deploy`: how long new credentials may take to work (a new Entra client secret
/// and admin consent take a minute or two to reach every Entra server), the checks tried again
/// every [`CREDENTIALS_RETRY`] meanwhile; `--credentials-wait` changes the first.
pub const CREDENTIALS_WAIT: Duration = Duration::from_secs(180);
pub const CREDENTIALS_RETRY: Duration = Duration::from_secs(15);
/// `presencectl deploy`: the pause after granting a role to the Genesys deployment client,
/// before Terraform gives that role away. The Genesys provider sleeps as long after it grants
/// a role to the user running it ("the auth service is a mishmash of caches and eventual
/// consistency": `updateTerraformUserWithRole`, MyPureCloud/terraform-provider-genesyscloud).
pub const GENESYS_GRANT_SETTLE: Duration = Duration::from_secs(10);

/// Used when a token response has no `expires_in`: short, so that a token the server meant
/// to be short-lived is not kept long (a 401 fetches a new one in any case).
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(300);

/// The longest a token is kept, whatever `expires_in` says. Entra ID issues tokens for about
/// an hour and Genesys for at most 48 h (24 h by default), so a day costs at most one extra
/// token request a day; a larger value is broken or hostile, and `expires_in:
/// 18446744073709551615` must not overflow the clock (`Instant + Duration` panics).
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// Kept back before Lambda's deadline for the final write and the answer: the work ends here.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(1500);
/// Kept back before Lambda's deadline for the answer itself, after the lease is released.
pub const ANSWER_MARGIN: Duration = Duration::from_millis(250);
/// Lambda's longest function timeout: a deadline further out is not Lambda's.
pub const MAX_INVOCATION: Duration = Duration::from_secs(15 * 60);
/// Grace after the invocation deadline before a dead holder's lease lets others in.
pub const LEASE_GRACE: Duration = Duration::from_secs(1);

/// The oldest event EventBridge and Lambda deliver on their own: the template's
/// `MaximumEventAgeInSeconds` (900) on the rule's target and on Lambda's asynchronous
/// retries. An event delivered later than this after its `time` was redriven by an operator
/// (`presencectl redrive`, hours later) or held by Genesys while AWS was unreachable: its lag
/// is no measure of the live path, so it is counted in `LateEvents`, not `EndToEndLag` (whose
/// alarm would otherwise fire on hours of lag the sync did not cause).
pub const LATE_DELIVERY: Duration = Duration::from_secs(900);

/// Waiting for another instance that holds the user's lease: the first wait, doubling up to
/// the longest step, for at most [`MAX_LEASE_WAIT`] in all; then the event fails `UserBusy`
/// and Lambda redelivers it (about one and two minutes later, twice: the template's
/// `MaximumRetryAttempts`).
pub const LEASE_WAIT_FIRST: Duration = Duration::from_millis(20);
pub const LEASE_WAIT_LONGEST: Duration = Duration::from_millis(400);
pub const MAX_LEASE_WAIT: Duration = Duration::from_secs(5);

/// Microsoft Graph's presence limit per app per tenant: 1,500 requests in any 30 seconds
/// ("Microsoft Graph service-specific throttling limits", Cloud communication service limits).
pub const GRAPH_PRESENCE_LIMIT_PER_30S: u32 = 1_500;
/// The event path's share of [`GRAPH_PRESENCE_LIMIT_PER_30S`] when its writes are paced
/// (`adapters::paced`): close to the whole limit, since the shift start's lag grows steeply as
/// the rate drops (1,400 gave 1.25× the ideal p99 at 20,000 agents, 1,480 gave 1.06×); the 20
/// left are headroom for latency jitter, so the reconciler must yield its repairs while the
/// event path is busy. Measured in `docs/performance.md`, "Shift start at scale".
pub const EVENT_PATH_GRAPH_WRITES_PER_30S: u32 = 1_480;

/// A reconcile run starts a page (a bulk read of Genesys and Teams) only with this much time
/// left, a bulk read only when its pace gives it a slot [`RECONCILE_READ_RESERVE`] before the
/// run's end, and an action only when the Graph pace gives it a slot
/// [`RECONCILE_ACTION_TIME`] before it; otherwise it saves its position and ends, and the
/// next run goes on from there. No pace's wait outlives the run.
pub const RECONCILE_PAGE_RESERVE: Duration = Duration::from_secs(5);
pub const RECONCILE_READ_RESERVE: Duration = Duration::from_secs(2);

/// The deadline of one reconciler action (recover, settle, keep-alive, repair, let go): its
/// lease lasts until then plus [`LEASE_GRACE`], its work ends [`DEADLINE_MARGIN`] before, so
/// one Graph attempt (and a Teams-id lookup) fits. Shorter than an event's patience with a
/// holder ([`MAX_LEASE_WAIT`]), so an event that meets a reconciler's lease waits it out and
/// is applied after it, never failed `UserBusy` by it (checked by a test below).
pub const RECONCILE_ACTION_TIME: Duration = Duration::from_millis(3_500);

/// How many of a page's actions a reconcile run has under way at once, each started at its
/// own slot of the run's Graph pace, in the page's order. One action (the lease, the Graph
/// write, the record) takes about 165 ms in the shift model against the pace's 100 ms at the
/// default share, so one at a time left a third of the share idle and kept at most ≈ 1,730
/// presences alive a run; the pace, not this bound, sets the rate. Eight keep the share busy
/// while an action takes up to 800 ms (Graph's p99 at a 300-ms median is about 1 s), and
/// bound the users whose lease the reconciler holds at once (docs/performance.md, "With the
/// production reconciler running").
pub const RECONCILE_ACTIONS_AT_ONCE: usize = 8;

/// The reconciler yields Graph to the event path while more than [`RECONCILE_BURST_PERCENT`] of
/// a page's users had a state applied within [`RECONCILE_BURST_WINDOW`]. Through a modelled
/// hour about 4 % of a floor gets a write in any minute (2.5 writes per agent-hour); at a
/// 20,000-agent shift start the paced event path writes about 3,000 a minute, 15 % of the floor
/// (docs/performance.md, "Shift start at scale").
pub const RECONCILE_BURST_WINDOW: Duration = Duration::from_secs(60);
pub const RECONCILE_BURST_PERCENT: usize = 10;
/// A page of fewer users is no sample: a floor that small cannot come near Graph's limit.
pub const RECONCILE_BURST_SAMPLE: usize = 50;

/// Whether a sample of `sampled` records, `recent` of them applied within
/// [`RECONCILE_BURST_WINDOW`], shows the event path in a burst (the reconciler and the watcher
/// then yield Graph to it).
pub fn is_burst(sampled: usize, recent: usize) -> bool {
    sampled >= RECONCILE_BURST_SAMPLE && recent * 100 > sampled * RECONCILE_BURST_PERCENT
}

/// The most of a watcher run its roster may take (walking the records, looking up Teams ids);
/// the rest of the run polls. A cold start of a large floor goes on in the next run.
pub const WATCH_ROSTER_TIME: Duration = Duration::from_secs(15);
/// A walk of the records that found agents new to the roster (a shift start), or the event
/// path in a burst, is made again this long after, within the run: an agent first recorded
/// mid-run is watched within seconds, and a yielding run sees the burst end.
pub const WATCH_GROWING_WALK: Duration = Duration::from_secs(15);
/// A run long enough walks the records again this long after a walk that found no one new:
/// the Genesys changes the event path recorded meanwhile are seen within the run.
pub const WATCH_WALK_EVERY: Duration = Duration::from_secs(60);
/// How long after its mark a Genesys write of the watcher may still be in flight (a
/// take-off or restore not yet shown by Genesys is then sent again or given up).
pub const WATCH_IN_FLIGHT: Duration = Duration::from_secs(30);
/// How long the watcher gathers the agents its polls pick before one Genesys bulk read looks
/// at them all (when its Genesys share has a slot sooner): at most this much lag, for one
/// request instead of one per poll batch with a change.
pub const WATCH_LOOK_WINDOW: Duration = Duration::from_secs(1);
/// The records a walk found changed that one look takes: as many as the watcher's Genesys
/// share writes in this time (at least one). A walk finds a minute's worth at once; in one
/// look their writes, one a slot, would hold back a Teams change seen meanwhile (100 at 270
/// a minute: 22 s), while Teams changes are taken before them at every look.
pub const WATCH_RECORD_LOOK: Duration = Duration::from_secs(2);
/// The deadline of one watcher read or write (a Graph bulk read, a Genesys read or write).
pub const WATCH_CALL_TIME: Duration = Duration::from_secs(5);

/// How long an instance keeps a Teams id in memory before reading the table's again: an
/// operator's override or forget (`presencectl teams-id`) reaches every warm instance within
/// this, for one table read per user and instance per period.
pub const TEAMS_ID_MEMORY_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// The reconciler renews a user's shared answers (their memberships, from the walk's bulk read;
/// their Teams id, from the sweep's directory page: no Genesys request of its own) when the
/// table's answer is missing or expires within this (at most a quarter of the answers'
/// lifetime): yesterday's shift-start lookups would otherwise expire as today's shift starts,
/// and every first event ask Genesys again (`docs/performance.md`, "A scoped deployment" and
/// "Teams ids the day after"). About one write per user and answer per 18 hours with the 24-h
/// lifetime.
pub const CACHE_RENEW_BEFORE: Duration = Duration::from_secs(6 * 3600);

/// How long an operator's Teams-id override is kept (then Genesys is asked again).
pub const TEAMS_ID_OVERRIDE_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

/// A batched read of the state table (`BatchGetItem`) answers with the keys it did not
/// process when the table is busy; they are asked again after a backoff from
/// [`BATCH_READ_BACKOFF_FIRST`], doubling, at most [`BATCH_READ_RETRIES`] times (under two
/// seconds in all, inside the reconciler's page reserve), then the read fails.
pub const BATCH_READ_BACKOFF_FIRST: Duration = Duration::from_millis(50);
pub const BATCH_READ_RETRIES: u32 = 5;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_outwaits_any_reconciler_action() {
        // The longest a reconciler action holds a user's lease, dead or alive.
        let longest_hold = RECONCILE_ACTION_TIME + LEASE_GRACE;
        // The last look an event takes at the record: waits from LEASE_WAIT_FIRST doubling to
        // LEASE_WAIT_LONGEST, while their sum stays within MAX_LEASE_WAIT.
        let (mut waited, mut wait) = (Duration::ZERO, LEASE_WAIT_FIRST);
        while waited + wait <= MAX_LEASE_WAIT {
            waited += wait;
            wait = (wait * 2).min(LEASE_WAIT_LONGEST);
        }
        assert!(
            longest_hold < waited,
            "an event's last look at {waited:?} comes before a reconciler lease of {longest_hold:?} ends"
        );
        assert!(
            DEADLINE_MARGIN < RECONCILE_ACTION_TIME,
            "no time left to work"
        );
    }
}
