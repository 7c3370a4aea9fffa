//! Any bytes, as the Lambda runtime would hand them over: parsing never panics, a rejection
//! always says what was wrong in a bounded message, and an accepted event carries a UUID user.
#![no_main]

use libfuzzer_sys::fuzz_target;
use presence_core::domain::event::GenesysEvent;
use presence_core::domain::ids::GenesysUserId;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    match GenesysEvent::parse(value) {
        Ok(event) => {
            assert!(GenesysUserId::parse(event.user.as_str()).is_some());
            assert!(event.presence.is_some() || event.routing.is_some());
        }
        Err(error) => {
            let message = error.to_string();
            assert!(!message.is_empty());
            // Quoted excerpts keep even hostile input from flooding a log line.
            assert!(message.len() < 2_000, "{} bytes", message.len());
        }
    }
});
