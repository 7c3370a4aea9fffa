//! The Graph requests the model's tenant answered, by caller: the event path's, the
//! reconciler's and the watcher's, with their 429s and the reconciler's and watcher's per 30-s
//! window.

use super::graph::Caller;

/// Requests the tenant answered.
#[derive(Clone, Debug, Default)]
pub struct GraphCounts {
    /// Requests from the event path (accepted or not).
    pub calls: u64,
    /// Of those, answered 429.
    pub throttled: u64,
    /// The reconciler's `getPresencesByUserId` requests, and its writes (accepted or not).
    pub reconciler_reads: u64,
    pub reconciler_writes: u64,
    /// Of those, answered 429.
    pub reconciler_throttled: u64,
    /// The reconciler's requests in each 30-s window from model time zero.
    pub reconciler_per_30s: Vec<u32>,
    /// The watcher's `getPresencesByUserId` requests, of those answered 429, and its requests
    /// in each 30-s window.
    pub watcher_reads: u64,
    pub watcher_throttled: u64,
    pub watcher_per_30s: Vec<u32>,
}

fn add_to_window(windows: &mut Vec<u32>, window: usize) {
    if windows.len() <= window {
        windows.resize(window + 1, 0);
    }
    windows[window] += 1;
}

impl GraphCounts {
    /// Counts one request of `caller`'s, `write` or read, and whether it was throttled.
    pub(super) fn count(&mut self, caller: Caller, write: bool, throttled: bool, window: usize) {
        match caller {
            Caller::EventPath => {
                self.calls += 1;
                self.throttled += u64::from(throttled);
            }
            Caller::Reconciler => {
                match write {
                    true => self.reconciler_writes += 1,
                    false => self.reconciler_reads += 1,
                }
                self.reconciler_throttled += u64::from(throttled);
                add_to_window(&mut self.reconciler_per_30s, window);
            }
            Caller::Watcher => {
                self.watcher_reads += 1;
                self.watcher_throttled += u64::from(throttled);
                add_to_window(&mut self.watcher_per_30s, window);
            }
        }
    }

    /// The reconciler's requests, reads and writes.
    pub fn reconciler_calls(&self) -> u64 {
        self.reconciler_reads + self.reconciler_writes
    }
}
