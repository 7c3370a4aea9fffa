//! The capability the reverse direction adds: setting a user's Genesys Cloud presence, and
//! reading the org's presence definitions that presence is chosen from.

use super::{Budget, RemoteError};
use crate::domain::event::{PresenceValue, Stamped};
use crate::domain::ids::GenesysUserId;
use crate::domain::watch::OrgDefinition;
use std::future::Future;

/// A change of a user's Genesys Cloud presence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PresenceChange<'a> {
    /// The presence definition to set (one of the org's active definitions).
    pub definition_id: &'a str,
    /// The presence message people see (empty: none).
    pub message: &'a str,
}

/// Genesys Cloud presence written.
pub trait GenesysPresence: Send + Sync {
    /// The org's active presence definitions.
    fn definitions(
        &self,
        budget: Budget,
    ) -> impl Future<Output = Result<Vec<OrgDefinition>, RemoteError>> + Send;

    /// Sets the user's Genesys Cloud presence; the presence Genesys answers, versioned by its
    /// `modifiedDate` (the version the event of this change carries).
    fn set_presence(
        &self,
        user: &GenesysUserId,
        change: PresenceChange<'_>,
        budget: Budget,
    ) -> impl Future<Output = Result<Stamped<PresenceValue>, RemoteError>> + Send;
}
