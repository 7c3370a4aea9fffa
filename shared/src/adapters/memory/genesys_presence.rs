//! Genesys Cloud presence written, in memory: the org's ten system definitions, each write
//! applied to what the bulk read reports (versioned after the user's previous presence, as
//! Genesys's `modifiedDate` moves on), recorded, and failed on demand.

use super::{MemoryGenesys, lock};
use crate::domain::event::{PresenceValue, Stamped};
use crate::domain::ids::GenesysUserId;
use crate::domain::presence::SystemPresence;
use crate::domain::version::Version;
use crate::domain::watch::{DefinitionKind, OrgDefinition};
use crate::ports::{Budget, GenesysPresence, PresenceChange, RemoteError, Service};
use std::sync::Mutex;

/// The system presence definition ids (reference sheet, "System presence definition ids").
pub const SYSTEM_DEFINITIONS: [(SystemPresence, &str); 10] = [
    (
        SystemPresence::Available,
        "6a3af858-942f-489d-9700-5f9bcdcdae9b",
    ),
    (SystemPresence::Away, "5e5c5c66-ea97-4e7f-ac41-6424784829f2"),
    (SystemPresence::Busy, "31fe3bac-dea6-44b7-bed7-47f91660a1a0"),
    (
        SystemPresence::Offline,
        "ccf3c10a-aa2c-4845-8e8d-f59fa48c58e5",
    ),
    (SystemPresence::Idle, "7ffa01cd-7866-4ad7-8faa-31e11b42f51f"),
    (
        SystemPresence::Meeting,
        "bbdff279-7ae1-48ea-bade-7831d7234c64",
    ),
    (SystemPresence::Meal, "3fd96123-badb-4f69-bc03-1b1ccc6d8014"),
    (
        SystemPresence::Training,
        "d2390a99-8546-bad9-8f0a-219548e8aeb0",
    ),
    (
        SystemPresence::OnQueue,
        "e08eaf1b-ee47-4fa9-a231-1200e284798f",
    ),
    (
        SystemPresence::Break,
        "227b37e2-f1d0-4dd0-8f50-badd7cf6d158",
    ),
];

/// The definition id of a system presence.
pub fn definition_of(presence: SystemPresence) -> &'static str {
    SYSTEM_DEFINITIONS
        .iter()
        .find(|(p, _)| *p == presence)
        .map_or("", |(_, id)| id)
}

/// One presence write Genesys accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresenceWritten {
    pub user: GenesysUserId,
    pub presence: Stamped<PresenceValue>,
    pub message: String,
}

/// The reverse direction's side of [`MemoryGenesys`].
#[derive(Debug, Default)]
pub(crate) struct PresenceSide {
    writes: Mutex<Vec<PresenceWritten>>,
    failing: Mutex<usize>,
}

impl MemoryGenesys {
    /// The presence writes accepted so far, in order.
    pub fn presence_writes(&self) -> Vec<PresenceWritten> {
        lock(&self.presence.writes).clone()
    }

    /// The next `n` presence writes fail (Genesys unavailable; they may have landed: not).
    pub fn fail_next_presence_writes(&self, n: usize) {
        *lock(&self.presence.failing) = n;
    }
}

impl GenesysPresence for MemoryGenesys {
    async fn definitions(&self, _budget: Budget) -> Result<Vec<OrgDefinition>, RemoteError> {
        Ok(SYSTEM_DEFINITIONS
            .iter()
            .map(|(presence, id)| OrgDefinition {
                id: (*id).to_owned(),
                system: crate::domain::presence::Observed::Known(*presence),
                kind: DefinitionKind::System,
            })
            .collect())
    }

    async fn set_presence(
        &self,
        user: &GenesysUserId,
        change: PresenceChange<'_>,
        _budget: Budget,
    ) -> Result<Stamped<PresenceValue>, RemoteError> {
        let mut failing = lock(&self.presence.failing);
        if *failing > 0 {
            *failing -= 1;
            return Err(RemoteError::Refused {
                service: Service::GenesysUsers,
                detail: "scripted failure (in memory)".to_owned(),
            });
        }
        drop(failing);
        let Some((system, _)) = SYSTEM_DEFINITIONS
            .iter()
            .find(|(_, id)| id.eq_ignore_ascii_case(change.definition_id))
        else {
            return Err(RemoteError::Refused {
                service: Service::GenesysUsers,
                detail: format!(
                    "presence definition {} is not the org's",
                    change.definition_id
                ),
            });
        };
        let mut written = None;
        let known = self.change(user, |now| {
            let previous = now.presence.as_ref().map_or(0, |p| p.version.millis());
            let presence = Stamped {
                value: PresenceValue {
                    system: crate::domain::presence::Observed::Known(*system),
                    definition_id: Some(change.definition_id.to_ascii_lowercase()),
                },
                version: Version::from_millis(previous + 1_000),
            };
            now.presence = Some(presence.clone());
            written = Some(presence);
        });
        let (true, Some(presence)) = (known, written) else {
            return Err(RemoteError::Refused {
                service: Service::GenesysUsers,
                detail: format!("Genesys does not know user {user}"),
            });
        };
        lock(&self.presence.writes).push(PresenceWritten {
            user: user.clone(),
            presence: presence.clone(),
            message: change.message.to_owned(),
        });
        Ok(presence)
    }
}
