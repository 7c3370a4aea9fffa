//! The Genesys event body each topic announces (activity, presence, routing status), and the
//! version of each value: its own timestamp, or the event's, never too far ahead.

use super::{EventError, Horizon, PresenceValue, Stamped, Topic, deserialize};
use crate::domain::excerpt::excerpt;
use crate::domain::presence::{Observed, RoutingStatus, SystemPresence};
use crate::domain::scope::ScopeId;
use crate::domain::version::Version;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActivityBody {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    routing_status: Option<RoutingBody>,
    #[serde(default)]
    presence: Option<PresenceBody>,
    /// The queues the agent is active in (`activeQueueIds`): what a queue scope reads.
    #[serde(default)]
    active_queue_ids: Option<Vec<String>>,
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

/// The most active queues read of one event: an agent is in tens, and a list without end
/// must not become an allocation without end.
const MAX_QUEUES: usize = 1_000;

/// What the body says: its user id (when the topic carries one), presence, routing status and
/// active queues (the activity topic's).
pub(super) struct Bodies {
    pub(super) id: Option<String>,
    pub(super) presence: Option<Stamped<PresenceValue>>,
    pub(super) routing: Option<Stamped<Observed<RoutingStatus>>>,
    pub(super) queues: Option<Vec<ScopeId>>,
}

/// `activeQueueIds`, each a UUID.
fn queues(ids: Vec<String>) -> Result<Vec<ScopeId>, EventError> {
    const FIELD: &str = "detail.eventBody.activeQueueIds";
    if ids.len() > MAX_QUEUES {
        return Err(EventError::ValueTooLong {
            field: FIELD,
            value: format!("({} queues)", ids.len()),
        });
    }
    ids.iter()
        .map(|id| {
            ScopeId::parse(id).ok_or_else(|| EventError::BadDefinitionId {
                field: FIELD,
                value: excerpt(id),
            })
        })
        .collect()
}

/// Reads the event body the topic announces.
pub(super) fn bodies(
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
            Bodies {
                id: body.id,
                presence,
                routing,
                queues: body.active_queue_ids.map(queues).transpose()?,
            }
        }
        Topic::Presence => {
            let body: PresenceBody = deserialize(event_body, "detail.eventBody")?;
            Bodies {
                id: None,
                presence: Some(presence(body, false, fallback)?),
                routing: None,
                queues: None,
            }
        }
        Topic::RoutingStatus => {
            let body: RoutingTopicBody = deserialize(event_body, "detail.eventBody")?;
            Bodies {
                id: body.id,
                presence: None,
                routing: Some(routing(body.routing_status, fallback)?),
                queues: None,
            }
        }
    })
}

/// Where a version comes from when the body does not give one, and how far ahead it may be.
pub(super) struct Fallback<'a> {
    pub(super) detail_timestamp: Option<&'a str>,
    pub(super) time: Option<Version>,
    pub(super) horizon: Option<Horizon>,
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
        Some(id) if crate::domain::ids::is_uuid(&id) => Some(id.to_ascii_lowercase()),
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
