//! The shift-start model (issue 13): the library's real event path, on its in-memory
//! adapters and a virtual clock, driven through a model of Lambda's asynchronous invocation
//! against a Graph fake that enforces the tenant's presence limit. `make bench-shift` runs it;
//! `docs/performance.md`, "Shift start at scale", has the figures and the arguments.

pub mod clock;
pub mod graph;
pub mod ideal;
pub mod lambda;
pub mod report;
pub mod run;
pub mod workload;

pub use run::{Params, run};
