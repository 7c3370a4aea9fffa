//! The `presence-sync` Lambda function: Genesys Cloud presence events from the EventBridge
//! partner bus in, Microsoft Teams preferred presence out. Configuration is read and the
//! clients are built once per instance; each invocation borrows them.
#![forbid(unsafe_code)]
// The sync nests the scope, the lease, the Teams-id layers, the token and the HTTP retries
// in one future: deeper than the compiler's default layout query depth (128).
#![recursion_limit = "256"]

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use presence_core::domain::event::Envelope;
use presence_core::domain::outcome::Report;
use presence_core::ports::{PresenceWriter, StateStore, TeamsDirectory, TeamsIdCache};
use presence_core::service::{Invocation, PresenceSync, SyncError};
use serde::Deserialize;
use std::process::ExitCode;
use std::time::{Duration, UNIX_EPOCH};

// One invocation at a time: a single-threaded runtime avoids cross-thread wake-ups (futex
// and eventfd traffic measured in docs/performance.md).
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let config = match presence_core::app::start(
        "presence-sync",
        lambda_runtime::tracing::init_default_subscriber,
    ) {
        Ok(config) => config,
        Err(not_started) => return not_started.exit_code(),
    };
    // Boxed, like the runtime below: each is a deep future, and together they exceed the
    // compiler's layout depth limit for this async block.
    let sync = Box::pin(presence_core::app::build(&config)).await;
    let served = Box::pin(lambda_runtime::run(service_fn(|event| {
        handler(&sync, event)
    })))
    .await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %error, "the Lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}

/// The handler: one EventBridge event in, the sync's report out (or the error Lambda reports,
/// retries and finally sends to the failure queue).
async fn handler<S, C, D, W>(
    sync: &PresenceSync<S, C, D, W>,
    event: LambdaEvent<serde_json::Value>,
) -> Result<Report, Failed>
where
    S: StateStore,
    C: TeamsIdCache,
    D: TeamsDirectory,
    W: PresenceWriter,
{
    let invocation = Invocation {
        request_id: event.context.request_id,
        deadline: UNIX_EPOCH + Duration::from_millis(event.context.deadline),
    };
    let result = match EventBridgeEvent::<serde_json::Value>::deserialize(&event.payload) {
        Ok(bridge) => sync.handle_envelope(envelope(bridge), &invocation).await,
        // Not an EventBridge event: the sync's own reading of it names the field at fault
        // and what was wrong with it.
        Err(_) => sync.handle(event.payload, &invocation).await,
    };
    // The invocation's metrics, before its answer: Lambda may freeze the process once it
    // has answered.
    presence_core::metrics::flush();
    result.map_err(Failed)
}

/// The fields of the EventBridge event the sync reads (the domain depends on no AWS crate).
fn envelope(event: EventBridgeEvent<serde_json::Value>) -> Envelope {
    Envelope {
        id: event.id,
        detail_type: event.detail_type,
        source: event.source,
        account: event.account,
        time: event.time,
        detail: event.detail,
    }
}

/// A failed invocation.
#[derive(Debug)]
struct Failed(SyncError);

/// As Lambda reports it: the short error type that alarms and the failure queue show, and the
/// message naming the input, the user and the service.
impl From<Failed> for Diagnostic {
    fn from(Failed(error): Failed) -> Self {
        Diagnostic {
            error_type: error.kind().to_owned(),
            error_message: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_runtime::Context;
    use presence_core::adapters::memory::{MemoryDirectory, MemoryStore, MemoryTeams};
    use presence_core::domain::ids::{GenesysUserId, TeamsUserId};
    use presence_core::domain::mapping::PresenceMapping;
    use presence_core::domain::teams::{TeamsPresence, TeamsState};
    use presence_core::service::Settings;
    use std::sync::Arc;
    use std::time::SystemTime;

    const USER: &str = "3f9e6a2b-5d4c-4b1a-8e7f-112233445566";
    const TEAMS: &str = "a1b2c3d4-0000-4000-8000-000000000001";

    fn event(payload: serde_json::Value) -> LambdaEvent<serde_json::Value> {
        let mut context = Context::default();
        let deadline = SystemTime::now() + Duration::from_secs(10);
        context.deadline = deadline.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        LambdaEvent::new(payload, context)
    }

    fn fixture() -> serde_json::Value {
        serde_json::from_str(include_str!("../../../tests/fixtures/presence-break.json")).unwrap()
    }

    #[tokio::test]
    async fn an_event_is_applied_and_reported() {
        let directory = MemoryDirectory::new();
        directory.add_user(&GenesysUserId::parse(USER).unwrap(), Some(TEAMS));
        let teams = Arc::new(MemoryTeams::new());
        let store = Arc::new(MemoryStore::new());
        let sync = PresenceSync::new(
            store.clone(),
            store,
            directory,
            teams.clone(),
            PresenceMapping::default(),
            Settings::default(),
        );
        let report = handler(&sync, event(fixture())).await.unwrap();
        assert_eq!((report.outcome, report.reason), ("applied", "changed"));
        assert_eq!(
            teams.shown(&TeamsUserId::parse(TEAMS).unwrap()),
            TeamsState::Preferred(TeamsPresence::Away)
        );
    }

    #[tokio::test]
    async fn a_malformed_event_is_a_diagnostic_naming_its_type_and_field() {
        let store = Arc::new(MemoryStore::new());
        let sync = PresenceSync::new(
            store.clone(),
            store,
            MemoryDirectory::new(),
            MemoryTeams::new(),
            PresenceMapping::default(),
            Settings::default(),
        );
        let mut payload = fixture();
        payload["detail"]["topicName"] = serde_json::json!("v2.users.not-a-uuid.presence");
        let failed = handler(&sync, event(payload)).await.unwrap_err();
        let diagnostic = Diagnostic::from(failed);
        assert_eq!(diagnostic.error_type, "MalformedEvent");
        assert!(
            diagnostic.error_message.contains("not-a-uuid"),
            "{}",
            diagnostic.error_message
        );
        // Not even an EventBridge event: the field and the type are named all the same.
        for (field, value, named) in [
            (
                "detail-type",
                serde_json::json!(7),
                "detail-type: invalid type: integer",
            ),
            (
                "detail",
                serde_json::json!({"topicName": 1}),
                "detail.topicName: invalid type: integer",
            ),
        ] {
            let mut payload = fixture();
            payload[field] = value;
            let diagnostic = Diagnostic::from(handler(&sync, event(payload)).await.unwrap_err());
            assert_eq!(diagnostic.error_type, "MalformedEvent");
            assert!(
                diagnostic.error_message.contains(named),
                "{}",
                diagnostic.error_message
            );
        }
    }
}
