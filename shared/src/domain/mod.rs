//! The pure domain: parse a Genesys event, map it to a Teams presence, decide what to do.
//! Nothing here performs I/O; the adapters and the service do.

pub mod decide;
pub mod event;
pub mod excerpt;
pub mod ids;
pub mod left;
pub mod mapping;
pub mod outcome;
pub mod presence;
pub mod reconcile;
pub mod scope;
pub mod state;
pub mod step;
pub mod teams;
pub mod version;
pub mod watch;
