//! The reconciler's pass ledger in memory: one item (`reconcile#pass`) holding the run lease
//! and where the pass stands, each written only by the lease's holder.

use super::keyspace::Item;
use super::{MemoryStore, lock, unreadable};
use crate::adapters::keys::LEDGER_KEY;
use crate::ports::{PassLedger, PassState, RunClaim, StoreError};

type Lease = Option<(String, i64)>;

impl MemoryStore {
    /// Changes the ledger as one conditional write: `write` answers with what to return, and
    /// changes the lease and the pass only when it may.
    fn with_ledger<T>(
        &self,
        write: impl FnOnce(&mut Lease, &mut PassState) -> T,
    ) -> Result<T, StoreError> {
        let mut table = lock(&self.table);
        let (mut lease, mut pass) = match table.get(LEDGER_KEY) {
            None => (None, PassState::default()),
            Some(Item::Ledger { lease, pass }) => (lease.clone(), pass.clone()),
            Some(Item::Unreadable(why)) => return Err(unreadable(LEDGER_KEY, why)),
            Some(_) => return Err(unreadable(LEDGER_KEY, "it is not the pass ledger")),
        };
        let answer = write(&mut lease, &mut pass);
        table.insert(LEDGER_KEY, Item::Ledger { lease, pass });
        Ok(answer)
    }

    fn write_pass(
        &self,
        owner: &str,
        state: &PassState,
        release: bool,
    ) -> Result<bool, StoreError> {
        self.with_ledger(|lease, pass| {
            let ours = lease.as_ref().is_some_and(|(o, _)| o == owner);
            if ours {
                *pass = state.clone();
                if release {
                    *lease = None;
                }
            }
            ours
        })
    }
}

impl PassLedger for MemoryStore {
    async fn begin(&self, owner: &str, until_ms: i64, now_ms: i64) -> Result<RunClaim, StoreError> {
        self.call().await;
        self.with_ledger(|lease, pass| {
            if let Some((_, until)) = lease
                && *until >= now_ms
            {
                return RunClaim::HeldByAnother { until_ms: *until };
            }
            *lease = Some((owner.to_owned(), until_ms));
            RunClaim::Granted(pass.clone())
        })
    }

    async fn save(&self, owner: &str, state: &PassState) -> Result<bool, StoreError> {
        self.call().await;
        self.write_pass(owner, state, false)
    }

    async fn end(&self, owner: &str, state: &PassState) -> Result<bool, StoreError> {
        self.call().await;
        self.write_pass(owner, state, true)
    }
}
