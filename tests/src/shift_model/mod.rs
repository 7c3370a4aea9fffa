//! The shift-start model (issue 13): the library's real event path, on its in-memory
//! adapters and a virtual clock, driven through a model of Lambda's asynchronous invocation
//! against a Graph fake that enforces the tenant's presence limit, with the production
//! reconciler on its schedule alongside when asked (issue 18), and `SYNC_SCOPE` naming some of
//! the agents when asked (issue 21), and the watcher (Teams → Genesys) when asked. `make bench-shift` runs it;
//! `docs/performance.md`, "Shift start at scale", has the figures and the arguments.

pub mod clock;
pub mod figures;
pub mod genesys;
pub mod genesys_calls;
pub mod graph;
pub mod graph_counts;
pub mod ideal;
pub mod lag;
pub mod lambda;
pub mod lapse;
pub mod prior;
pub mod reconciler;
pub mod report;
pub mod run;
pub mod sampled;
pub mod scoped;
pub mod watch_figures;
pub mod watcher;
pub mod workload;

pub use run::{Params, run};
