//! Parsing what Genesys Cloud puts on the EventBridge partner bus into a [`GenesysEvent`]:
//! whose state changed, to what, and as of when. Everything the rest of the code relies on
//! (topic, user id, versions) is validated here; unknown extra fields are ignored.
//!
//! `envelope` reads the EventBridge envelope and the topic name, `body` the Genesys event body
//! the topic announces and the versions of its values.

use super::excerpt::cut;
use super::ids::GenesysUserId;
use super::presence::{Observed, RoutingStatus, SystemPresence};
use super::version::Version;
use std::fmt;
use std::time::Duration;

mod body;
mod envelope;
pub use envelope::Envelope;

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
    /// The queues the agent is active in, when the topic says (activity): a queue scope's
    /// membership, fresher than any cache.
    pub queues: Option<Vec<super::scope::ScopeId>>,
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

#[cfg(test)]
mod tests;
