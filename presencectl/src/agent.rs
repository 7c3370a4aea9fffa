//! The agent a command is about, and the budget and clock the per-agent commands share.

use crate::output::{DOCTOR_FIX, with_fix};
use presence_core::app::Parts;
use presence_core::config::Config;
use presence_core::domain::excerpt::excerpt;
use presence_core::domain::ids::GenesysUserId;
use presence_core::ports::Budget;
use std::time::Duration;

/// How long one command may spend on one remote read, retries included.
pub const READ_BUDGET: Duration = Duration::from_secs(20);

/// The Genesys user an argument names: their user id, or their e-mail (their SCIM
/// `userName`, looked up in Genesys).
pub async fn resolve(parts: &Parts, config: &Config, raw: &str) -> Result<GenesysUserId, String> {
    let raw = raw.trim();
    if let Some(user) = GenesysUserId::parse(raw) {
        return Ok(user);
    }
    if !raw.contains('@') {
        return Err(with_fix(
            format!(
                "{} is neither a Genesys user id nor an e-mail address",
                excerpt(raw)
            ),
            "give the agent's Genesys user id (a UUID such as 3f9e6a2b-5d4c-4b1a-8e7f-112233445566) or e-mail",
        ));
    }
    let found = parts
        .genesys_bulk(config)
        .find_by_email(raw, budget())
        .await
        .map_err(|e| {
            with_fix(
                format!("looking up {} in Genesys: {e}", excerpt(raw)),
                DOCTOR_FIX,
            )
        })?;
    found.ok_or_else(|| {
        with_fix(
            format!(
                "Genesys knows no user whose e-mail (SCIM userName) is {}",
                excerpt(raw)
            ),
            "check the address, or give the agent's Genesys user id",
        )
    })
}

/// A budget for one remote read.
pub fn budget() -> Budget {
    Budget {
        until: tokio::time::Instant::now() + READ_BUDGET,
    }
}

/// Now, in ms since the epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
