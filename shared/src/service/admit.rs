//! Admission of a raw event: its size, its shape (domain::event), where it comes from, and
//! how far its versions may run ahead of the clock.

use super::{PresenceSync, SyncError};
use crate::domain::event::{Envelope, EventError, GenesysEvent, Horizon, is_genesys_source};
use crate::domain::excerpt::excerpt;
use crate::domain::version::Version;
use crate::ports::{PresenceWriter, StateStore, TeamsDirectory, TeamsIdCache};

/// The largest event EventBridge delivers (a PutEvents entry is at most 256 KB); anything
/// bigger did not come from the bus.
const MAX_EVENT_BYTES: usize = 256 * 1024;

/// The size of a JSON value as serialised, without building the text.
fn json_size(value: &serde_json::Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to a counter cannot fail, and a `Value` always serialises.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// The envelope of a raw event of a size EventBridge carries.
pub(super) fn envelope_of(raw: serde_json::Value) -> Result<Envelope, SyncError> {
    too_large(json_size(&raw))?;
    Ok(Envelope::from_json(raw)?)
}

/// An event larger than EventBridge carries did not come from the bus.
fn too_large(size: usize) -> Result<(), SyncError> {
    if size > MAX_EVENT_BYTES {
        return Err(SyncError::Event(EventError::Shape(format!(
            "the event is {size} bytes, more than the {MAX_EVENT_BYTES} bytes an EventBridge event can carry"
        ))));
    }
    Ok(())
}

impl<S, C, D, W> PresenceSync<S, C, D, W>
where
    S: StateStore,
    C: TeamsIdCache,
    D: TeamsDirectory,
    W: PresenceWriter,
{
    /// Parses the event and checks that it comes from where it may, as the event function
    /// does before anything else (a dry run explains a rejected event with this error).
    pub fn admit(&self, raw: serde_json::Value) -> Result<GenesysEvent, SyncError> {
        self.admit_envelope(envelope_of(raw)?)
    }

    /// [`PresenceSync::admit`] of an envelope the function's edge has read.
    pub fn admit_envelope(&self, envelope: Envelope) -> Result<GenesysEvent, SyncError> {
        too_large(json_size(&envelope.detail))?;
        let horizon = Horizon {
            now: Version::from_millis(self.now_ms()),
            max_skew: self.settings.max_clock_skew,
        };
        let event = GenesysEvent::from_envelope(envelope, Some(horizon))?;
        let expected = match &self.settings.allowed_source {
            Some(allowed) if event.source != *allowed => {
                Some(format!("ALLOWED_SOURCE is exactly {allowed:?}"))
            }
            None if !is_genesys_source(&event.source) => Some(
                "it is not a Genesys Cloud partner event source (aws.partner/genesys.com/cloud/<org id>/<suffix>)"
                    .to_owned(),
            ),
            _ => None,
        };
        if let Some(expected) = expected {
            return Err(SyncError::SourceNotAllowed {
                event_source: excerpt(&event.source),
                expected,
            });
        }
        if let Some(allowed) = &self.settings.allowed_account
            && event.account.as_deref() != Some(allowed.as_str())
        {
            return Err(SyncError::AccountNotAllowed {
                account: event
                    .account
                    .as_deref()
                    .map_or("(none)".to_owned(), excerpt),
                allowed: allowed.clone(),
            });
        }
        Ok(event)
    }
}
