use super::*;
use serde_json::{Value, json};

const USER: &str = "3f9e6a2b-5d4c-4b1a-8e7f-112233445566";

fn fixture(name: &str) -> Value {
    let text = match name {
        "activity" => include_str!("../../../../tests/fixtures/activity-on-queue.json"),
        "presence" => include_str!("../../../../tests/fixtures/presence-break.json"),
        "routing" => include_str!("../../../../tests/fixtures/routing-status-interacting.json"),
        other => panic!("no fixture {other}"),
    };
    serde_json::from_str(text).unwrap()
}

/// The fixture with the value at a JSON pointer replaced (or removed when `None`).
fn with(name: &str, pointer: &str, value: Option<Value>) -> Value {
    let mut event = fixture(name);
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let parent = event.pointer_mut(parent).unwrap().as_object_mut().unwrap();
    match value {
        Some(v) => parent.insert(key.to_owned(), v),
        None => parent.remove(key),
    };
    event
}

fn v(raw: &str) -> Version {
    Version::parse(raw).unwrap()
}

#[test]
fn activity_event_carries_presence_and_routing_with_their_own_versions() {
    let e = GenesysEvent::parse(fixture("activity")).unwrap();
    assert_eq!(e.topic, Topic::Activity);
    assert_eq!(e.user.as_str(), USER);
    assert_eq!(e.event_id, "1d3c7a52-3c2e-4f0c-9e55-6f1a9b1f0a01");
    let p = e.presence.unwrap();
    assert_eq!(p.value.system, Observed::Known(SystemPresence::OnQueue));
    assert_eq!(
        p.value.definition_id.as_deref(),
        Some("e08eaf1b-ee47-4fa9-a231-1200e284798f")
    );
    assert_eq!(p.version, v("2026-11-02T08:59:58.101Z"));
    let r = e.routing.unwrap();
    assert_eq!(r.value, Observed::Known(RoutingStatus::Idle));
    assert_eq!(r.version, v("2026-11-02T08:59:58.120Z"));
}

#[test]
fn an_activity_event_says_which_queues_the_agent_is_active_in_and_no_other_does() {
    let e = GenesysEvent::parse(fixture("activity")).unwrap();
    let queue = crate::domain::scope::ScopeId::parse("0a6c2d1e-9a8b-4c7d-b6e5-f4d3c2b1a098");
    assert_eq!(e.queues, Some(vec![queue.unwrap()]));
    let none = with(
        "activity",
        "/detail/eventBody/activeQueueIds",
        Some(json!([])),
    );
    assert_eq!(
        GenesysEvent::parse(none).unwrap().queues,
        Some(vec![]),
        "none is known"
    );
    let absent = with("activity", "/detail/eventBody/activeQueueIds", None);
    assert_eq!(
        GenesysEvent::parse(absent).unwrap().queues,
        None,
        "absent is unknown"
    );
    assert_eq!(
        GenesysEvent::parse(fixture("presence")).unwrap().queues,
        None
    );
    let bad = with(
        "activity",
        "/detail/eventBody/activeQueueIds",
        Some(json!(["queue-7"])),
    );
    let error = GenesysEvent::parse(bad).unwrap_err().to_string();
    assert!(
        error.contains("detail.eventBody.activeQueueIds") && error.contains("queue-7"),
        "{error}"
    );
    let many: Vec<String> = (0..1_001)
        .map(|n| format!("0a6c2d1e-9a8b-4c7d-b6e5-{n:012}"))
        .collect();
    let flood = with(
        "activity",
        "/detail/eventBody/activeQueueIds",
        Some(json!(many)),
    );
    let error = GenesysEvent::parse(flood).unwrap_err().to_string();
    assert!(error.contains("1001 queues"), "{error}");
}

#[test]
fn presence_event_takes_the_user_from_the_topic_name() {
    let e = GenesysEvent::parse(fixture("presence")).unwrap();
    assert_eq!(e.topic, Topic::Presence);
    assert_eq!(e.user.as_str(), USER);
    assert!(e.routing.is_none());
    let p = e.presence.unwrap();
    assert_eq!(p.value.system, Observed::Known(SystemPresence::Break));
    assert_eq!(p.version, v("2026-11-02T12:01:00.000Z"));
}

#[test]
fn routing_status_event_carries_only_routing() {
    let e = GenesysEvent::parse(fixture("routing")).unwrap();
    assert_eq!(e.topic, Topic::RoutingStatus);
    assert!(e.presence.is_none());
    let r = e.routing.unwrap();
    assert_eq!(r.value, Observed::Known(RoutingStatus::Interacting));
    assert_eq!(r.version, v("2026-11-02T09:03:12.000Z"));
}

#[test]
fn rest_spelling_of_system_presence_is_accepted() {
    let event = with(
        "activity",
        "/detail/eventBody/presence/presenceDefinition/systemPresence",
        Some(json!("On Queue")),
    );
    let e = GenesysEvent::parse(event).unwrap();
    assert_eq!(
        e.presence.unwrap().value.system,
        Observed::Known(SystemPresence::OnQueue)
    );
}

#[test]
fn unknown_values_are_kept_for_the_mapping_to_judge() {
    let event = with(
        "routing",
        "/detail/eventBody/routingStatus/status",
        Some(json!("PAUSED")),
    );
    let e = GenesysEvent::parse(event).unwrap();
    assert_eq!(e.routing.unwrap().value, Observed::Unknown("PAUSED".into()));
}

#[test]
fn version_falls_back_to_detail_timestamp_then_envelope_time() {
    let event = with("presence", "/detail/eventBody/modifiedDate", None);
    let e = GenesysEvent::parse(event.clone()).unwrap();
    assert_eq!(e.presence.unwrap().version, v("2026-11-02T12:01:00.012Z"));

    let mut event = event;
    event["detail"].as_object_mut().unwrap().remove("timestamp");
    let e = GenesysEvent::parse(event.clone()).unwrap();
    assert_eq!(e.presence.unwrap().version, v("2026-11-02T12:01:00Z"));

    event.as_object_mut().unwrap().remove("time");
    assert_eq!(
        GenesysEvent::parse(event),
        Err(EventError::NoVersion {
            field: "detail.eventBody.modifiedDate"
        })
    );
}

#[test]
fn a_timestamp_that_is_not_rfc3339_is_malformed() {
    let event = with(
        "routing",
        "/detail/eventBody/routingStatus/startTime",
        Some(json!("yesterday")),
    );
    let err = GenesysEvent::parse(event).unwrap_err();
    assert_eq!(
        err,
        EventError::BadTimestamp {
            field: "detail.eventBody.routingStatus.startTime",
            value: "\"yesterday\"".into()
        }
    );
}

#[test]
fn timestamps_beyond_the_year_9999_or_before_1970_are_malformed() {
    for (pointer, raw, field) in [
        (
            "/detail/eventBody/modifiedDate",
            "1969-12-31T23:59:59Z",
            "detail.eventBody.modifiedDate",
        ),
        // chrono reads the envelope time up to the year 262143.
        ("/time", "+262142-12-31T23:59:59Z", "time"),
        ("/time", "-000001-01-01T00:00:00Z", "time"),
    ] {
        let mut event = with("presence", pointer, Some(json!(raw)));
        if field == "time" {
            let body = event["detail"]["eventBody"].as_object_mut().unwrap();
            body.remove("modifiedDate");
            event["detail"].as_object_mut().unwrap().remove("timestamp");
        }
        let err = GenesysEvent::parse(event).unwrap_err();
        assert!(
            matches!(err, EventError::BadTimestamp { field: f, .. } if f == field),
            "{raw}: {err:?}"
        );
    }
}

/// The fixtures' clock: an hour after their events.
fn horizon() -> Horizon {
    Horizon {
        now: v("2026-11-02T13:00:00Z"),
        max_skew: Duration::from_secs(300),
    }
}

#[test]
fn a_version_far_ahead_of_the_envelope_time_is_rejected_naming_field_and_value() {
    for (name, pointer, field) in [
        (
            "activity",
            "/detail/eventBody/presence/modifiedDate",
            "detail.eventBody.presence.modifiedDate",
        ),
        (
            "activity",
            "/detail/eventBody/routingStatus/startTime",
            "detail.eventBody.routingStatus.startTime",
        ),
        (
            "presence",
            "/detail/eventBody/modifiedDate",
            "detail.eventBody.modifiedDate",
        ),
        (
            "routing",
            "/detail/eventBody/routingStatus/startTime",
            "detail.eventBody.routingStatus.startTime",
        ),
    ] {
        let event = with(name, pointer, Some(json!("9999-12-31T23:59:59.999Z")));
        let err = GenesysEvent::parse_at(event, horizon()).unwrap_err();
        assert!(
            matches!(err, EventError::VersionInFuture { field: f, .. } if f == field),
            "{name} {field}: {err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains(field) && message.contains("9999-12-31T23:59:59.999Z"),
            "{message}"
        );
        assert!(message.len() < 400, "{message}");
    }
}

#[test]
fn a_detail_timestamp_fallback_ahead_of_the_envelope_time_is_rejected() {
    let mut event = with("presence", "/detail/eventBody/modifiedDate", None);
    event["detail"]["timestamp"] = json!("2026-11-02T12:06:00.001Z");
    let err = GenesysEvent::parse_at(event, horizon()).unwrap_err();
    assert!(
        matches!(
            err,
            EventError::VersionInFuture {
                field: "detail.timestamp",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_version_ahead_of_the_clock_is_rejected_even_when_the_envelope_time_agrees() {
    // Envelope time and version both a day ahead of the clock.
    let mut event = with(
        "presence",
        "/detail/eventBody/modifiedDate",
        Some(json!("2026-11-03T13:00:00Z")),
    );
    event["time"] = json!("2026-11-03T13:00:00Z");
    let err = GenesysEvent::parse_at(event.clone(), horizon()).unwrap_err();
    assert!(matches!(err, EventError::VersionInFuture { .. }), "{err:?}");
    assert!(err.to_string().contains("clock"), "{err}");
    // An envelope time in the future is itself a version when the body has none.
    let body = event["detail"]["eventBody"].as_object_mut().unwrap();
    body.remove("modifiedDate");
    event["detail"].as_object_mut().unwrap().remove("timestamp");
    let err = GenesysEvent::parse_at(event, horizon()).unwrap_err();
    assert!(
        matches!(err, EventError::VersionInFuture { field: "time", .. }),
        "{err:?}"
    );
}

#[test]
fn versions_within_the_skew_are_accepted() {
    // 4 min 59 s ahead of the envelope time, and of the clock.
    let mut event = with(
        "presence",
        "/detail/eventBody/modifiedDate",
        Some(json!("2026-11-02T13:04:59Z")),
    );
    event["time"] = json!("2026-11-02T13:00:00Z");
    let e = GenesysEvent::parse_at(event, horizon()).unwrap();
    assert_eq!(e.presence.unwrap().version, v("2026-11-02T13:04:59Z"));
    for name in ["activity", "presence", "routing"] {
        assert!(GenesysEvent::parse_at(fixture(name), horizon()).is_ok());
    }
}

#[test]
fn unsupported_topic_is_rejected_naming_it() {
    let event = with(
        "activity",
        "/detail-type",
        Some(json!("v2.users.{id}.conversations")),
    );
    let err = GenesysEvent::parse(event).unwrap_err();
    assert!(matches!(err, EventError::UnsupportedTopic(ref t) if t.contains("conversations")));
    assert!(err.to_string().starts_with("unsupported topic"));
}

#[test]
fn topic_name_must_match_detail_type() {
    let event = with(
        "activity",
        "/detail/topicName",
        Some(json!(format!("v2.users.{USER}.presence"))),
    );
    assert!(matches!(
        GenesysEvent::parse(event),
        Err(EventError::TopicMismatch { .. })
    ));
}

#[test]
fn topic_name_must_carry_a_uuid() {
    for id in [
        "../../admin",
        "3f9e6a2b-5d4c-4b1a-8e7f-11223344556%2F",
        "3f9e6a2b-5d4c-4b1a-8e7f-112233445566?x=1",
        "3f9e6a2b-5d4c-4b1a-8e7f-112233445566#",
        "3f9e6a2b 5d4c 4b1a 8e7f 112233445566",
        "alice",
        "",
    ] {
        let event = with(
            "presence",
            "/detail/topicName",
            Some(json!(format!("v2.users.{id}.presence"))),
        );
        let err = GenesysEvent::parse(event).unwrap_err();
        assert!(matches!(err, EventError::BadUserId(_)), "{id:?}: {err:?}");
    }
}

#[test]
fn body_id_must_agree_with_topic_name() {
    let other = "00000000-0000-4000-8000-000000000000";
    let event = with("activity", "/detail/eventBody/id", Some(json!(other)));
    let err = GenesysEvent::parse(event).unwrap_err();
    assert_eq!(
        err,
        EventError::UserIdMismatch {
            topic_id: USER.into(),
            body_id: format!("{other:?}")
        }
    );
    for hostile in ["../x", "3f9e6a2b-5d4c-4b1a-8e7f-112233445566/../x"] {
        let event = with("routing", "/detail/eventBody/id", Some(json!(hostile)));
        assert!(matches!(
            GenesysEvent::parse(event),
            Err(EventError::UserIdMismatch { .. })
        ));
    }
}

#[test]
fn body_id_in_another_case_is_the_same_user() {
    let event = with(
        "activity",
        "/detail/eventBody/id",
        Some(json!(USER.to_uppercase())),
    );
    assert!(GenesysEvent::parse(event).is_ok());
}

#[test]
fn an_envelope_id_that_could_forge_a_log_line_or_flood_the_table_is_malformed() {
    for bad in [
        "x".repeat(100_000),
        "x".repeat(129),
        "1d3c7a52\n{\"level\":\"INFO\",\"outcome\":\"applied\"}".to_owned(),
        "id with spaces".to_owned(),
        "tab\there".to_owned(),
        "nul\u{0}".to_owned(),
        "del\u{7f}".to_owned(),
        "caf\u{e9}".to_owned(),
        "\u{202e}evil".to_owned(),
    ] {
        let event = with("activity", "/id", Some(json!(bad)));
        let err = GenesysEvent::parse(event).unwrap_err();
        assert!(matches!(err, EventError::BadEventId(_)), "{bad:?}: {err:?}");
        let message = err.to_string();
        assert!(message.contains("envelope id"), "{message}");
        assert!(message.len() < 300, "{message}");
        assert!(!message.contains('\n'), "{message}");
    }
}

#[test]
fn envelope_ids_of_up_to_128_printable_characters_are_kept() {
    for good in [
        "1d3c7a52-3c2e-4f0c-9e55-6f1a9b1f0a01".to_owned(),
        "x".repeat(128),
        "a!~#$%&'()*+,-./:;<=>?@[]^_`{|}".to_owned(),
    ] {
        let event = with("activity", "/id", Some(json!(good)));
        assert_eq!(GenesysEvent::parse(event).unwrap().event_id, good);
    }
}

#[test]
fn a_genesys_cloud_source_is_the_partner_prefix_an_org_uuid_and_a_suffix() {
    for good in [
        "aws.partner/genesys.com/cloud/7c1f3a3e-1111-4a4a-9c9c-0123456789ab/presence-sync",
        "aws.partner/genesys.com/cloud/7C1F3A3E-1111-4A4A-9C9C-0123456789AB/a.b_c-D9",
        "aws.partner/genesys.com/cloud/7c1f3a3e-1111-4a4a-9c9c-0123456789ab/a/b",
    ] {
        assert!(is_genesys_source(good), "{good}");
    }
    for bad in [
        "",
        "aws.partner/genesys.com/cloud/",
        "aws.partner/genesys.com/cloud/presence-sync",
        "aws.partner/genesys.com/cloud/7c1f3a3e-1111-4a4a-9c9c-0123456789ab",
        "aws.partner/genesys.com/cloud/7c1f3a3e-1111-4a4a-9c9c-0123456789ab/",
        "aws.partner/genesys.com/cloud/7c1f3a3e-1111-4a4a-9c9c-0123456789ab//x",
        "aws.partner/genesys.com/cloud/7c1f3a3e-1111-4a4a-9c9c-0123456789ab/x/",
        "aws.partner/genesys.com/cloud/7c1f3a3e-1111-4a4a-9c9c-0123456789ab/a b",
        "aws.partner/genesys.com/cloud/7c1f3a3e-1111-4a4a-9c9c-0123456789ab/a\nb",
        "aws.partner/genesys.com/cloud/7c1f3a3e11114a4a9c9c0123456789ab/x",
        "aws.partner/genesys.com/cloudy/7c1f3a3e-1111-4a4a-9c9c-0123456789ab/x",
        "aws.partner/evil.example/cloud/7c1f3a3e-1111-4a4a-9c9c-0123456789ab/x",
    ] {
        assert!(!is_genesys_source(bad), "{bad:?}");
    }
    let long = format!(
        "aws.partner/genesys.com/cloud/7c1f3a3e-1111-4a4a-9c9c-0123456789ab/{}",
        "x".repeat(190)
    );
    assert_eq!(long.len(), 257);
    assert!(!is_genesys_source(&long));
    assert!(is_genesys_source(&long[..256]));
}

#[test]
fn missing_envelope_id_is_malformed() {
    let event = with("activity", "/id", None);
    assert_eq!(GenesysEvent::parse(event), Err(EventError::MissingEventId));
}

#[test]
fn wrong_shapes_name_the_field() {
    let event = with(
        "activity",
        "/detail/eventBody/presence/presenceDefinition",
        Some(json!(42)),
    );
    let err = GenesysEvent::parse(event).unwrap_err().to_string();
    assert!(
        err.contains("detail.eventBody.presence.presenceDefinition"),
        "{err}"
    );

    let event = with(
        "presence",
        "/detail/eventBody/presenceDefinition/systemPresence",
        None,
    );
    let err = GenesysEvent::parse(event).unwrap_err().to_string();
    assert!(err.contains("systemPresence"), "{err}");

    let err = GenesysEvent::parse(json!({"detail-type": "v2.users.{id}.activity"})).unwrap_err();
    assert!(
        err.to_string().contains("source") || err.to_string().contains("detail"),
        "{err}"
    );

    let err = GenesysEvent::parse(json!("not an object")).unwrap_err();
    assert!(matches!(err, EventError::Shape(_)));
}

#[test]
fn presence_definition_id_must_be_a_uuid() {
    let event = with(
        "presence",
        "/detail/eventBody/presenceDefinition/id",
        Some(json!("'; DROP TABLE")),
    );
    assert!(matches!(
        GenesysEvent::parse(event),
        Err(EventError::BadDefinitionId {
            field: "detail.eventBody.presenceDefinition.id",
            ..
        })
    ));
}

#[test]
fn activity_without_presence_or_routing_is_malformed() {
    let mut event = fixture("activity");
    let body = event["detail"]["eventBody"].as_object_mut().unwrap();
    body.remove("presence");
    body.remove("routingStatus");
    assert_eq!(GenesysEvent::parse(event), Err(EventError::NothingToSync));
}

#[test]
fn oversized_enumeration_values_are_rejected() {
    let event = with(
        "routing",
        "/detail/eventBody/routingStatus/status",
        Some(json!("X".repeat(10_000))),
    );
    let err = GenesysEvent::parse(event).unwrap_err();
    assert!(matches!(err, EventError::ValueTooLong { .. }));
    assert!(err.to_string().len() < 300);
}
