//! Parsing what Genesys Cloud puts on the EventBridge partner bus into a [`GenesysEvent`]:
//! whose state changed, to what, and as of when. Everything the rest of the code relies on
//! (topic, user id, versions) is validated here; unknown extra fields are ignored.

use super::excerpt::{cut, excerpt};
use super::ids::GenesysUserId;
use super::presence::{Observed, RoutingStatus, SystemPresence};
use super::version::Version;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// The Genesys notification topics this function consumes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    /// `v2.users.{id}.activity`: presence and routing status together.
    Activity,
    /// `v2.users.{id}.presence`: presence only; the body carries no user id.
    Presence,
    /// `v2.users.{id}.routingStatus`: routing status only.
    RoutingStatus,
}

impl Topic {
    pub const ALL: [Topic; 3] = [Topic::Activity, Topic::Presence, Topic::RoutingStatus];

    /// The `detail-type` EventBridge carries: the topic pattern with a literal `{id}`.
    pub const fn pattern(self) -> &'static str {
        match self {
            Topic::Activity => "v2.users.{id}.activity",
            Topic::Presence => "v2.users.{id}.presence",
            Topic::RoutingStatus => "v2.users.{id}.routingStatus",
        }
    }

    const fn suffix(self) -> &'static str {
        match self {
            Topic::Activity => "activity",
            Topic::Presence => "presence",
            Topic::RoutingStatus => "routingStatus",
        }
    }

    pub fn from_pattern(detail_type: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.pattern() == detail_type)
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.pattern())
    }
}

/// True for a partner event source name of Genesys Cloud:
/// `aws.partner/genesys.com/cloud/<org id>/<suffix>`, the org id a canonical UUID and the
/// suffix what EventBridge allows in a partner event source name (segments of
/// `[.\-_A-Za-z0-9]+`), at most 256 characters in all.
pub fn is_genesys_source(source: &str) -> bool {
    is_partner_event_source_name(source)
        && source
            .strip_prefix("aws.partner/genesys.com/cloud/")
            .and_then(|rest| rest.split_once('/'))
            .is_some_and(|(org, _suffix)| super::ids::is_uuid(org))
}

/// True for a partner event source name as EventBridge defines it:
/// `aws.partner(/[.\-_A-Za-z0-9]+){2,}`, at most 256 characters.
pub fn is_partner_event_source_name(name: &str) -> bool {
    let segment = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
    };
    name.len() <= 256
        && name
            .strip_prefix("aws.partner/")
            .is_some_and(|rest| rest.split('/').count() >= 2 && rest.split('/').all(segment))
}

/// A Genesys presence: the system presence and, for org-defined secondary presences, the
/// presence definition that the mapping may name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresenceValue {
    pub system: Observed<SystemPresence>,
    pub definition_id: Option<String>,
}

/// A value with the version (instant) Genesys gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamped<T> {
    pub value: T,
    pub version: Version,
}

/// One validated Genesys user event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenesysEvent {
    /// The EventBridge event id: the same id on a redelivery of the same event.
    pub event_id: String,
    pub source: String,
    pub account: Option<String>,
    pub topic: Topic,
    pub user: GenesysUserId,
    pub presence: Option<Stamped<PresenceValue>>,
    pub routing: Option<Stamped<Observed<RoutingStatus>>>,
}

/// How far ahead a version may be, of the envelope `time` and of the clock: the caller's
/// clock reading and the allowed skew (the domain reads no clock itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Horizon {
    pub now: Version,
    pub max_skew: Duration,
}

/// Why an event was rejected. Each message names the offending field and value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventError {
    #[error("malformed event: {0}")]
    Shape(String),
    #[error(
        "unsupported topic: detail-type {0} is not one of v2.users.{{id}}.activity, v2.users.{{id}}.presence, v2.users.{{id}}.routingStatus"
    )]
    UnsupportedTopic(String),
    #[error(
        "malformed event: detail.topicName {topic_name} does not match detail-type {detail_type}"
    )]
    TopicMismatch {
        detail_type: String,
        topic_name: String,
    },
    #[error(
        "malformed event: detail.topicName {0} does not carry a user id (a UUID) where the topic has {{id}}"
    )]
    BadUserId(String),
    #[error(
        "malformed event: detail.eventBody.id {body_id} disagrees with the user id {topic_id} in detail.topicName"
    )]
    UserIdMismatch { topic_id: String, body_id: String },
    #[error("malformed event: the envelope has no id")]
    MissingEventId,
    #[error(
        "malformed event: the envelope id {0} is not 1 to {max} printable ASCII characters without spaces",
        max = super::ids::MAX_EVENT_ID_LEN
    )]
    BadEventId(String),
    #[error(
        "malformed event: {field} {value} is not an RFC 3339 timestamp between the years 1970 and 9999"
    )]
    BadTimestamp { field: &'static str, value: String },
    #[error("malformed event: no version: {field}, detail.timestamp and time are all missing")]
    NoVersion { field: &'static str },
    #[error("malformed event: {field} {value} is not a UUID")]
    BadDefinitionId { field: &'static str, value: String },
    #[error("malformed event: {field} {value} is too long to be a Genesys value")]
    ValueTooLong { field: &'static str, value: String },
    #[error("malformed event: detail.eventBody carries neither presence nor routingStatus")]
    NothingToSync,
    #[error(
        "version in the future: {field} {value} is more than {max_skew_secs} s ahead of {reference} {reference_value}; recorded, it would make every later event of the user look stale"
    )]
    VersionInFuture {
        field: &'static str,
        value: String,
        /// `the envelope time` or `the clock`.
        reference: &'static str,
        reference_value: String,
        max_skew_secs: u64,
    },
}

/// The EventBridge envelope, as much of it as the sync reads (the other fields, `version`,
/// `region` and `resources`, are ignored). Our own type rather than the `aws_lambda_events`
/// one, so the domain depends on no AWS crate; the function's edge hands over plain JSON.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Envelope {
    #[serde(default)]
    id: Option<String>,
    detail_type: String,
    source: String,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    time: Option<chrono::DateTime<chrono::Utc>>,
    detail: Detail,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Detail {
    topic_name: String,
    #[serde(default)]
    timestamp: Option<String>,
    event_body: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActivityBody {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    routing_status: Option<RoutingBody>,
    #[serde(default)]
    presence: Option<PresenceBody>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoutingTopicBody {
    #[serde(default)]
    id: Option<String>,
    routing_status: RoutingBody,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoutingBody {
    status: String,
    #[serde(default)]
    start_time: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PresenceBody {
    presence_definition: PresenceDefinition,
    #[serde(default)]
    modified_date: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PresenceDefinition {
    #[serde(default)]
    id: Option<String>,
    system_presence: String,
}

/// The longest system presence or routing status accepted (the longest documented is 14).
const MAX_ENUM_LEN: usize = 64;

fn deserialize<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
    prefix: &str,
) -> Result<T, EventError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let at = match (prefix, path.as_str()) {
            ("", p) => p.to_owned(),
            (pre, ".") => pre.to_owned(),
            (pre, p) => format!("{pre}.{p}"),
        };
        // serde quotes the offending value, which can be anything: keep the message bounded.
        EventError::Shape(format!("{at}: {}", cut(&e.inner().to_string())))
    })
}

impl GenesysEvent {
    /// Parses and validates one EventBridge event from Genesys Cloud, and rejects a version
    /// that runs more than `horizon.max_skew` ahead of the envelope `time` or of
    /// `horizon.now`: recorded, it would make every later event of the user look stale.
    pub fn parse_at(raw: serde_json::Value, horizon: Horizon) -> Result<Self, EventError> {
        Self::parse_within(raw, Some(horizon))
    }

    /// Parses and validates one EventBridge event from Genesys Cloud, without a clock: the
    /// versions are checked for shape and range only (for fuzzing and benchmarks; the
    /// function uses [`GenesysEvent::parse_at`]).
    pub fn parse(raw: serde_json::Value) -> Result<Self, EventError> {
        Self::parse_within(raw, None)
    }

    fn parse_within(raw: serde_json::Value, horizon: Option<Horizon>) -> Result<Self, EventError> {
        let envelope: Envelope = deserialize(raw, "")?;
        let topic = Topic::from_pattern(&envelope.detail_type)
            .ok_or_else(|| EventError::UnsupportedTopic(excerpt(&envelope.detail_type)))?;
        let user = user_from_topic_name(topic, &envelope.detail_type, &envelope.detail.topic_name)?;
        let event_id = event_id(envelope.id)?;
        let fallback = Fallback {
            detail_timestamp: envelope.detail.timestamp.as_deref(),
            time: envelope_time(envelope.time)?,
            horizon,
        };
        let (body_id, presence, routing) = bodies(topic, envelope.detail.event_body, &fallback)?;
        if let Some(body_id) = body_id
            && !body_id.eq_ignore_ascii_case(user.as_str())
        {
            return Err(EventError::UserIdMismatch {
                topic_id: user.to_string(),
                body_id: excerpt(&body_id),
            });
        }
        if presence.is_none() && routing.is_none() {
            return Err(EventError::NothingToSync);
        }
        Ok(GenesysEvent {
            event_id,
            source: envelope.source,
            account: envelope.account,
            topic,
            user,
            presence,
            routing,
        })
    }
}

/// The envelope's id: present, bounded and printable (it is stored and logged).
fn event_id(id: Option<String>) -> Result<String, EventError> {
    let id = id
        .filter(|id| !id.is_empty())
        .ok_or(EventError::MissingEventId)?;
    if !super::ids::is_event_id(&id) {
        return Err(EventError::BadEventId(excerpt(&id)));
    }
    Ok(id)
}

/// The envelope's `time` as a version, when it is one.
fn envelope_time(
    time: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Option<Version>, EventError> {
    time.map(|t| {
        Version::from_datetime(t).ok_or_else(|| EventError::BadTimestamp {
            field: "time",
            value: excerpt(&t.to_rfc3339()),
        })
    })
    .transpose()
}

/// The body's user id (when the topic carries one), presence and routing status.
type Bodies = (
    Option<String>,
    Option<Stamped<PresenceValue>>,
    Option<Stamped<Observed<RoutingStatus>>>,
);

/// Reads the event body the topic announces.
fn bodies(
    topic: Topic,
    event_body: serde_json::Value,
    fallback: &Fallback<'_>,
) -> Result<Bodies, EventError> {
    Ok(match topic {
        Topic::Activity => {
            let body: ActivityBody = deserialize(event_body, "detail.eventBody")?;
            let presence = body
                .presence
                .map(|p| presence(p, true, fallback))
                .transpose()?;
            let routing = body
                .routing_status
                .map(|r| routing(r, fallback))
                .transpose()?;
            (body.id, presence, routing)
        }
        Topic::Presence => {
            let body: PresenceBody = deserialize(event_body, "detail.eventBody")?;
            (None, Some(presence(body, false, fallback)?), None)
        }
        Topic::RoutingStatus => {
            let body: RoutingTopicBody = deserialize(event_body, "detail.eventBody")?;
            let routing = routing(body.routing_status, fallback)?;
            (body.id, None, Some(routing))
        }
    })
}

fn user_from_topic_name(
    topic: Topic,
    detail_type: &str,
    topic_name: &str,
) -> Result<GenesysUserId, EventError> {
    let mismatch = || EventError::TopicMismatch {
        detail_type: excerpt(detail_type),
        topic_name: excerpt(topic_name),
    };
    let rest = topic_name.strip_prefix("v2.users.").ok_or_else(mismatch)?;
    let id = rest
        .strip_suffix(topic.suffix())
        .and_then(|r| r.strip_suffix('.'))
        .ok_or_else(mismatch)?;
    GenesysUserId::parse(id).ok_or_else(|| EventError::BadUserId(excerpt(topic_name)))
}

/// Where a version comes from when the body does not give one, and how far ahead it may be.
struct Fallback<'a> {
    detail_timestamp: Option<&'a str>,
    time: Option<Version>,
    horizon: Option<Horizon>,
}

impl Fallback<'_> {
    /// Rejects a version more than the horizon's skew ahead of the envelope time or of the
    /// clock (`shown` is how the value appears in the message).
    fn within_horizon(
        &self,
        version: Version,
        field: &'static str,
        shown: impl FnOnce() -> String,
    ) -> Result<Version, EventError> {
        let Some(horizon) = self.horizon else {
            return Ok(version);
        };
        let skew_ms = i64::try_from(horizon.max_skew.as_millis()).unwrap_or(i64::MAX);
        let ahead_of = self
            .time
            .filter(|time| version.ms_ahead_of(*time) > skew_ms)
            .map(|time| ("the envelope time", time))
            .or_else(|| {
                (version.ms_ahead_of(horizon.now) > skew_ms).then_some(("the clock", horizon.now))
            });
        match ahead_of {
            None => Ok(version),
            Some((reference, at)) => Err(EventError::VersionInFuture {
                field,
                value: shown(),
                reference,
                reference_value: at.to_string(),
                max_skew_secs: horizon.max_skew.as_secs(),
            }),
        }
    }
}

fn version(
    own: Option<&str>,
    field: &'static str,
    fallback: &Fallback<'_>,
) -> Result<Version, EventError> {
    let parse = |raw: &str, field: &'static str| {
        let version = Version::parse(raw).ok_or_else(|| EventError::BadTimestamp {
            field,
            value: excerpt(raw),
        })?;
        fallback.within_horizon(version, field, || excerpt(raw))
    };
    if let Some(raw) = own {
        return parse(raw, field);
    }
    if let Some(raw) = fallback.detail_timestamp {
        return parse(raw, "detail.timestamp");
    }
    let time = fallback.time.ok_or(EventError::NoVersion { field })?;
    fallback.within_horizon(time, "time", || time.to_string())
}

fn bounded(raw: &str, field: &'static str) -> Result<(), EventError> {
    if raw.len() > MAX_ENUM_LEN {
        return Err(EventError::ValueTooLong {
            field,
            value: excerpt(raw),
        });
    }
    Ok(())
}

fn presence(
    body: PresenceBody,
    nested: bool,
    fallback: &Fallback<'_>,
) -> Result<Stamped<PresenceValue>, EventError> {
    // The activity topic nests the presence one level deeper than the presence topic.
    let (system_field, id_field, date_field) = if nested {
        (
            "detail.eventBody.presence.presenceDefinition.systemPresence",
            "detail.eventBody.presence.presenceDefinition.id",
            "detail.eventBody.presence.modifiedDate",
        )
    } else {
        (
            "detail.eventBody.presenceDefinition.systemPresence",
            "detail.eventBody.presenceDefinition.id",
            "detail.eventBody.modifiedDate",
        )
    };
    let definition = body.presence_definition;
    bounded(&definition.system_presence, system_field)?;
    let definition_id = match definition.id {
        None => None,
        Some(id) if super::ids::is_uuid(&id) => Some(id.to_ascii_lowercase()),
        Some(id) => {
            return Err(EventError::BadDefinitionId {
                field: id_field,
                value: excerpt(&id),
            });
        }
    };
    Ok(Stamped {
        value: PresenceValue {
            system: SystemPresence::observe(&definition.system_presence),
            definition_id,
        },
        version: version(body.modified_date.as_deref(), date_field, fallback)?,
    })
}

fn routing(
    body: RoutingBody,
    fallback: &Fallback<'_>,
) -> Result<Stamped<Observed<RoutingStatus>>, EventError> {
    bounded(&body.status, "detail.eventBody.routingStatus.status")?;
    Ok(Stamped {
        value: RoutingStatus::observe(&body.status),
        version: version(
            body.start_time.as_deref(),
            "detail.eventBody.routingStatus.startTime",
            fallback,
        )?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const USER: &str = "3f9e6a2b-5d4c-4b1a-8e7f-112233445566";

    fn fixture(name: &str) -> Value {
        let text = match name {
            "activity" => include_str!("../../../tests/fixtures/activity-on-queue.json"),
            "presence" => include_str!("../../../tests/fixtures/presence-break.json"),
            "routing" => include_str!("../../../tests/fixtures/routing-status-interacting.json"),
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

        let err =
            GenesysEvent::parse(json!({"detail-type": "v2.users.{id}.activity"})).unwrap_err();
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
}
