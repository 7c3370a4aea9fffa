//! Lambda's asynchronous invocation, as the model runs it: EventBridge delivers each event to
//! the function's queue after a short delay; at most `concurrency` instances take events in
//! arrival order; each invocation costs a fixed overhead (and a cold start on an instance's
//! first); a failed event is retried twice, one and then two minutes later; an event older
//! than the maximum event age when its turn comes is dead-lettered (AWS Lambda Developer
//! Guide, "How Lambda handles errors and retries with asynchronous invocation").

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// Lambda's side of the model.
#[derive(Clone, Copy, Debug)]
pub struct LambdaParams {
    /// Reserved concurrency: instances running at once.
    pub concurrency: usize,
    /// The function timeout (template.yaml: 30 s).
    pub timeout: Duration,
    /// MaximumEventAgeInSeconds (template.yaml: 900).
    pub max_event_age: Duration,
    /// The waits before the retries of a failed event (MaximumRetryAttempts 2: 1 and 2 min).
    pub retry_waits: [Duration; 2],
    /// Lambda's own time per invocation, from the queue to the handler and back, not billed.
    pub overhead: Duration,
    /// An instance's start before its first invocation, billed (INIT of a custom runtime).
    pub cold_start: Duration,
    /// EventBridge to the function's queue: uniform between these.
    pub delivery: (Duration, Duration),
}

impl Default for LambdaParams {
    fn default() -> Self {
        LambdaParams {
            concurrency: 10,
            timeout: Duration::from_secs(30),
            max_event_age: Duration::from_secs(900),
            retry_waits: [Duration::from_secs(60), Duration::from_secs(120)],
            overhead: Duration::from_millis(10),
            cold_start: Duration::from_millis(150),
            delivery: (Duration::from_millis(100), Duration::from_millis(600)),
        }
    }
}

/// An event in the function's queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Queued {
    ready: Instant,
    seq: u64,
    change: u32,
    attempt: u8,
    received: Instant,
}

/// What one invocation answered: the outcome and reason, or the error type.
pub type Answer = Result<(&'static str, &'static str), &'static str>;

/// The function as Lambda sees it: an instance handles one change's event.
pub trait Function {
    fn invoke(
        &self,
        instance: usize,
        change: u32,
        timeout: Duration,
    ) -> impl Future<Output = Answer>;
}

/// What Lambda did.
#[derive(Clone, Debug, Default)]
pub struct LambdaCounts {
    pub invocations: u64,
    pub failed: u64,
    pub retried: u64,
    pub dead_lettered: u64,
    pub cold_starts: u64,
    /// Billed time: handler durations plus cold starts.
    pub billed: Duration,
    pub outcomes: BTreeMap<String, u64>,
    /// The most instances busy at once.
    pub peak_busy: usize,
    /// When the queue emptied (the model's end).
    pub drained_at: Option<Instant>,
}

/// Runs every change's event through Lambda until the queue is empty. `arrivals` are the
/// changes' times after `zero`.
pub async fn run(
    params: LambdaParams,
    zero: Instant,
    arrivals: impl Iterator<Item = (u32, i64)>,
    function: &impl Function,
    seed: u64,
) -> LambdaCounts {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x1a_3bda);
    let mut queue = BinaryHeap::new();
    let mut seq = 0;
    for (change, at_ms) in arrivals {
        let (lo, hi) = params.delivery;
        let delay = if hi > lo {
            rng.random_range(lo..hi)
        } else {
            lo
        };
        let ready = zero + Duration::from_millis(at_ms.max(0) as u64) + delay;
        seq += 1;
        queue.push(Reverse(Queued {
            ready,
            seq,
            change,
            attempt: 0,
            received: ready,
        }));
    }
    let mut counts = LambdaCounts::default();
    let mut idle: Vec<usize> = (0..params.concurrency).rev().collect();
    let mut warm = vec![false; params.concurrency];
    let mut running = FuturesUnordered::new();
    loop {
        let next = queue.peek().map(|Reverse(q)| q.ready);
        if next.is_none() && running.is_empty() {
            break;
        }
        tokio::select! {
            biased;
            Some((instance, queued, (answer, billed))) = running.next(), if !running.is_empty() => {
                idle.push(instance);
                let answer: Answer = answer;
                counts.billed += billed;
                let key = match answer {
                    Ok((outcome, reason)) => format!("{outcome}/{reason}"),
                    Err(kind) => format!("failed/{kind}"),
                };
                *counts.outcomes.entry(key).or_default() += 1;
                if answer.is_ok() {
                    continue;
                }
                counts.failed += 1;
                let queued: Queued = queued;
                match params.retry_waits.get(usize::from(queued.attempt)) {
                    Some(wait) => {
                        counts.retried += 1;
                        seq += 1;
                        queue.push(Reverse(Queued {
                            ready: Instant::now() + *wait,
                            seq,
                            attempt: queued.attempt + 1,
                            ..queued
                        }));
                    }
                    None => counts.dead_lettered += 1,
                }
            }
            () = tokio::time::sleep_until(next.unwrap_or_else(Instant::now)), if next.is_some() && !idle.is_empty() => {
                let Some(Reverse(queued)) = queue.pop() else { continue };
                if queued.received.elapsed() > params.max_event_age {
                    counts.dead_lettered += 1;
                    continue;
                }
                let Some(instance) = idle.pop() else { continue };
                counts.invocations += 1;
                let cold = !std::mem::replace(&mut warm[instance], true);
                counts.cold_starts += u64::from(cold);
                counts.peak_busy = counts.peak_busy.max(params.concurrency - idle.len());
                let started = Instant::now();
                let billed_from = started + params.overhead;
                running.push(async move {
                    tokio::time::sleep(params.overhead).await;
                    if cold {
                        tokio::time::sleep(params.cold_start).await;
                    }
                    let answer = function.invoke(instance, queued.change, params.timeout).await;
                    (instance, queued, (answer, billed_from.elapsed()))
                });
            }
        }
    }
    counts.drained_at = Some(Instant::now());
    counts
}
