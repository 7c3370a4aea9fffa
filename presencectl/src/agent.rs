//! The agent a command is about, and the budget and clock the per-agent commands share.

use presence_core::domain::excerpt::excerpt;
use presence_core::domain::ids::GenesysUserId;
use presence_core::ports::Budget;
use std::time::Duration;

/// How long one command may spend on one remote read, retries included.
pub const READ_BUDGET: Duration = Duration::from_secs(20);

/// The Genesys user id an argument names.
pub fn user_id(raw: &str) -> Result<GenesysUserId, String> {
    GenesysUserId::parse(raw.trim()).ok_or_else(|| {
        format!(
            "{} is not a Genesys user id (a UUID such as 3f9e6a2b-5d4c-4b1a-8e7f-112233445566)",
            excerpt(raw)
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
