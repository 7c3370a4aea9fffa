//! In-memory adapters of every port the sync uses, honouring the same semantics as the
//! production ones: the state store applies the conditional writes exactly as the DynamoDB
//! adapter's condition expressions do (stated once, in `domain::state`), the Teams-id cache
//! checks expiry itself, and the directory and presence writer count their calls and fail on
//! demand. They make the lease protocol testable in milliseconds and let models run the real
//! service without I/O.
//!
//! One file per remote: the state table (`store`), Genesys (`genesys`), Microsoft Graph
//! (`teams`, following the presence model of `graph_presence`, which the HTTP fake of the
//! test tree follows too).

use std::sync::{Mutex, MutexGuard, PoisonError};

mod genesys;
mod genesys_presence;
pub mod graph_presence;
mod store;
mod teams;

pub use genesys::{MemoryDirectory, MemoryGenesys};
pub use genesys_presence::{PresenceWritten, SYSTEM_DEFINITIONS, definition_of};
pub use store::MemoryStore;
pub use teams::{Failure, MemoryTeams, Write};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
