//! The EventBridge envelope around a Genesys event: its id, source, account and time, and the
//! user the topic name carries; the event body is left to `body`.

use super::body::{Fallback, bodies};
use super::{EventError, GenesysEvent, Horizon, Topic, deserialize};
use crate::domain::excerpt::excerpt;
use crate::domain::ids::GenesysUserId;
use crate::domain::version::Version;
use serde::{Deserialize, Serialize};

/// The EventBridge envelope, as much of it as the sync reads (the other fields, `version`,
/// `region` and `resources`, are ignored). Our own type rather than the `aws_lambda_events`
/// one, so the domain depends on no AWS crate: the function's edge reads the event as
/// `aws_lambda_events`' `EventBridgeEvent` and hands over these fields.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Envelope {
    #[serde(default)]
    pub id: Option<String>,
    pub detail_type: String,
    pub source: String,
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub time: Option<chrono::DateTime<chrono::Utc>>,
    /// The Genesys part (`topicName`, `timestamp`, `eventBody`), parsed by the domain.
    pub detail: serde_json::Value,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Detail {
    topic_name: String,
    #[serde(default)]
    timestamp: Option<String>,
    event_body: serde_json::Value,
}

impl Envelope {
    /// Reads the envelope of a raw event; an error names the field and what was wrong.
    pub fn from_json(raw: serde_json::Value) -> Result<Self, EventError> {
        deserialize(raw, "")
    }
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
        Self::from_envelope(deserialize(raw, "")?, horizon)
    }

    /// Parses and validates the Genesys event an EventBridge envelope carries (see
    /// [`GenesysEvent::parse_at`] for `horizon`).
    pub fn from_envelope(envelope: Envelope, horizon: Option<Horizon>) -> Result<Self, EventError> {
        let detail: Detail = deserialize(envelope.detail, "detail")?;
        let topic = Topic::from_pattern(&envelope.detail_type)
            .ok_or_else(|| EventError::UnsupportedTopic(excerpt(&envelope.detail_type)))?;
        let user = user_from_topic_name(topic, &envelope.detail_type, &detail.topic_name)?;
        let event_id = event_id(envelope.id)?;
        let fallback = Fallback {
            detail_timestamp: detail.timestamp.as_deref(),
            time: envelope_time(envelope.time)?,
            horizon,
        };
        let read = bodies(topic, detail.event_body, &fallback)?;
        let (presence, routing) = (read.presence, read.routing);
        if let Some(body_id) = read.id
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
            queues: read.queues,
        })
    }
}

/// The envelope's id: present, bounded and printable (it is stored and logged).
fn event_id(id: Option<String>) -> Result<String, EventError> {
    let id = id
        .filter(|id| !id.is_empty())
        .ok_or(EventError::MissingEventId)?;
    if !crate::domain::ids::is_event_id(&id) {
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
