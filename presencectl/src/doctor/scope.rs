//! The scope's check: every division, group and queue `SYNC_SCOPE` names exists in Genesys
//! (a typo would quietly leave every agent out).

use super::{Check, fail, pass, skip};
use crate::agent::budget;
use presence_core::adapters::genesys_users::GenesysUsers;
use presence_core::adapters::secrets_manager::SecretsManager;
use presence_core::config::Config;
use presence_core::domain::scope::Scope;

pub(super) const NAME: &str = "SYNC_SCOPE";

/// Looks each entry up; with `all` there is nothing to look up.
pub(super) async fn check(config: &Config, users: &GenesysUsers<SecretsManager>) -> Check {
    let Scope::Members(entries) = &config.settings.scope else {
        return pass(NAME, "all: every agent with a Teams id is synced");
    };
    let mut missing = Vec::new();
    for entry in entries {
        match users.scope_entity_exists(entry, budget()).await {
            Ok(true) => {}
            Ok(false) => missing.push(entry.to_string()),
            Err(error) => {
                return fail(
                    NAME,
                    format!("could not look up {entry}: {error}"),
                    "a queue scope needs routing:queue:view in the function's Genesys role (make deploy grants it when SyncScope names a queue: infra/genesys, read_queues; division and group lookups need no permission); retry if Genesys was unavailable",
                );
            }
        }
    }
    match missing.is_empty() {
        true => pass(
            NAME,
            format!("{} entries, each found in Genesys", entries.len()),
        ),
        false => fail(
            NAME,
            format!("Genesys knows no {}", missing.join(", ")),
            "correct SyncScope (the stack parameter): each entry is division:<id>, group:<id> or queue:<id> of this org",
        ),
    }
}

/// When the Genesys checks could not run.
pub(super) fn skipped() -> Check {
    skip(NAME, "needs a valid configuration and Genesys secret")
}
