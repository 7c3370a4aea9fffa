//! The reverse direction, Teams → Genesys, as pure rules: which Teams activities matter
//! (`TEAMS_TO_GENESYS`), how the forward direction leaves them visible (`PRESENCE_MODE`), the
//! provenance mark the watcher leaves on a record, and the decision for one agent per poll.

pub mod activity;
pub mod decide;
pub mod look;
pub mod mark;
pub mod mode;
pub mod resolve;
pub mod rules;

pub use activity::TeamsActivity;
pub use decide::{Action, Policy, Situation, Skip, Steady, TeamsHeld, decide};
pub use mark::{Phase, WatchMark};
pub use mode::{OnQueuePolicy, PresenceMode};
pub use resolve::{DefinitionKind, OrgDefinition, Resolved, TakeTo};
pub use rules::TeamsToGenesys;

#[cfg(test)]
mod provenance_tests;
