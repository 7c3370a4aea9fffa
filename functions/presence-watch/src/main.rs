//! The `presence-watch` Lambda function, run on a schedule: the reverse direction. It polls
//! the Teams presence of the agents it watches and, by `TEAMS_TO_GENESYS` and
//! `ON_QUEUE_POLICY`, takes an agent in a Teams call or meeting off in Genesys and puts them
//! back after (`presence_core::service::watch`). Off unless the template turns it on.
#![forbid(unsafe_code)]
// The sync nests the scope, the lease, the Teams-id layers, the token and the HTTP retries
// in one future: deeper than the compiler's default layout query depth (128).
#![recursion_limit = "256"]

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use presence_core::app::Watcher;
use presence_core::service::Invocation;
use presence_core::service::watch::{WatchError, WatchReport};
use std::process::ExitCode;
use std::time::{Duration, UNIX_EPOCH};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let started = presence_core::app::start_scheduled(
        "presence-watch",
        lambda_runtime::tracing::init_default_subscriber,
        Watcher::build_with,
    );
    let watcher = match started.await {
        Ok(watcher) => watcher,
        Err(not_started) => return not_started.exit_code(),
    };
    let served = Box::pin(lambda_runtime::run(service_fn(|event| {
        handler(&watcher, event)
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

/// The handler: one scheduled run (the schedule's event carries nothing it needs), its report
/// out, or the error that fails the invocation (which the template's alarm counts).
async fn handler(
    watcher: &Watcher,
    event: LambdaEvent<EventBridgeEvent<serde_json::Value>>,
) -> Result<WatchReport, Failed> {
    let result = Box::pin(watcher.run(&invocation(&event.context))).await;
    if let Err(error) = &result {
        tracing::error!(error = %error, errorType = error.kind(), "watch run failed");
    }
    presence_core::metrics::flush();
    result.map_err(Failed)
}

/// The invocation as Lambda describes it.
fn invocation(context: &lambda_runtime::Context) -> Invocation {
    Invocation {
        request_id: context.request_id.clone(),
        deadline: UNIX_EPOCH + Duration::from_millis(context.deadline),
    }
}

/// A failed run.
#[derive(Debug)]
struct Failed(WatchError);

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
    use presence_core::domain::presence::SystemPresence;
    use presence_core::domain::watch::TeamsActivity;
    use presence_core::domain::watch::resolve::ResolveError;

    #[test]
    fn the_schedules_event_is_read_and_the_deadline_kept() {
        let raw = serde_json::json!({
            "version": "0", "id": "89d1a02d-5ec7-412e-82f5-13505f849b41",
            "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": "2026-12-07T12:00:00Z", "region": "eu-west-1",
            "resources": ["arn:aws:events:eu-west-1:123456789012:rule/presence-watch"], "detail": {}
        });
        let event: EventBridgeEvent<serde_json::Value> = serde_json::from_value(raw).unwrap();
        assert_eq!(event.detail_type, "Scheduled Event");
        let mut context = Context::default();
        context.request_id = "req-1".to_owned();
        context.deadline = 1_800_000_060_000;
        let invocation = invocation(&context);
        assert_eq!(invocation.request_id, "req-1");
        assert_eq!(
            invocation.deadline,
            UNIX_EPOCH + Duration::from_millis(1_800_000_060_000)
        );
    }

    #[test]
    fn a_failed_run_is_a_diagnostic_naming_its_cause() {
        let error = WatchError::Rules(ResolveError::NoDefinition {
            activity: TeamsActivity::InAMeeting,
            presence: SystemPresence::Meeting,
        });
        let diagnostic = Diagnostic::from(Failed(error));
        assert_eq!(diagnostic.error_type, "ConfigurationError");
        assert!(
            diagnostic.error_message.contains("InAMeeting"),
            "{}",
            diagnostic.error_message
        );
    }
}
