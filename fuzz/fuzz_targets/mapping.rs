//! Any `PRESENCE_MAPPING` value: validation never panics, a rejection names the problem in a
//! bounded message, and an accepted mapping resolves every presence and routing status.
#![no_main]

use libfuzzer_sys::fuzz_target;
use presence_core::domain::event::PresenceValue;
use presence_core::domain::mapping::PresenceMapping;
use presence_core::domain::presence::{Observed, RoutingStatus, SystemPresence};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match PresenceMapping::from_json(&text) {
        Ok(mapping) => {
            for system in SystemPresence::ALL {
                let presence = PresenceValue { system: Observed::Known(*system), definition_id: None };
                for routing in RoutingStatus::ALL {
                    let _ = mapping.resolve(Some(&presence), Some(&Observed::Known(*routing)));
                }
                let _ = mapping.resolve(Some(&presence), None);
            }
        }
        Err(error) => {
            let message = error.to_string();
            assert!(message.starts_with("PRESENCE_MAPPING"), "{message}");
            assert!(message.len() < 2_000, "{} bytes", message.len());
        }
    }
});
