//! Property tests of event parsing over arbitrary JSON and mutations of the real sample
//! events: parsing never panics, a rejection always names what was wrong in a bounded
//! message, and whatever is accepted carries a canonical user id taken from `topicName`. User
//! ids are judged by how they were made (a UUID from random bytes, or one broken in a known
//! way), not by re-stating the check under test.

use presence_core::domain::event::{EventError, GenesysEvent};
use presence_core::domain::mapping::PresenceMapping;
use presence_sync_tests::strategies::{
    FIXTURES, arbitrary_json, broken_uuid_id, mutated_sample, uuid_id,
};
use proptest::prelude::*;
use serde_json::{Value, json};

/// The sample presence event with `id` where `detail.topicName` has `{id}`.
fn presence_for(id: &str) -> Value {
    let mut event: Value = serde_json::from_str(FIXTURES[1]).unwrap();
    event["detail"]["topicName"] = json!(format!("v2.users.{id}.presence"));
    event
}

fn check(value: Value) -> Result<(), TestCaseError> {
    let topic_name = value
        .pointer("/detail/topicName")
        .and_then(Value::as_str)
        .map(str::to_owned);
    match GenesysEvent::parse(value) {
        Ok(event) => {
            let user = event.user.as_str();
            prop_assert_eq!(user.len(), 36);
            prop_assert!(user.chars().all(|c| c.is_ascii_hexdigit() || c == '-'));
            prop_assert!(!user.chars().any(|c| c.is_ascii_uppercase()));
            let topic_name = topic_name.unwrap_or_default().to_ascii_lowercase();
            prop_assert!(topic_name.contains(user), "{} not in {}", user, topic_name);
            prop_assert!(event.presence.is_some() || event.routing.is_some());
            prop_assert!(!event.event_id.is_empty());
        }
        Err(error) => {
            let message = error.to_string();
            prop_assert!(
                message.starts_with("malformed event") || message.starts_with("unsupported topic"),
                "{}",
                message
            );
            prop_assert!(message.len() < 2_000, "{} bytes", message.len());
            if let EventError::Shape(detail) = &error {
                prop_assert!(!detail.is_empty());
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn arbitrary_json_never_panics_and_is_answered_specifically(value in arbitrary_json()) {
        check(value)?;
    }

    #[test]
    fn mutated_sample_events_never_panic_and_are_answered_specifically(value in mutated_sample()) {
        check(value)?;
    }

    #[test]
    fn a_uuid_in_topic_name_is_accepted_as_the_user_in_lower_case(id in uuid_id()) {
        let event = GenesysEvent::parse(presence_for(&id)).expect("a valid UUID is accepted");
        prop_assert_eq!(event.user.as_str(), id.to_ascii_lowercase());
    }

    #[test]
    fn a_broken_uuid_in_topic_name_is_rejected((id, how) in broken_uuid_id()) {
        match GenesysEvent::parse(presence_for(&id)) {
            Err(EventError::BadUserId(_)) => {}
            other => prop_assert!(false, "{:?} broken by {:?}: {:?}", id, how, other),
        }
    }

    #[test]
    fn arbitrary_mapping_configuration_never_panics(raw in prop_oneof![any::<String>(), arbitrary_json().prop_map(|v| v.to_string())]) {
        if let Err(error) = PresenceMapping::from_json(&raw) {
            let message = error.to_string();
            prop_assert!(message.starts_with("PRESENCE_MAPPING"));
            prop_assert!(message.len() < 2_000);
        }
    }
}
