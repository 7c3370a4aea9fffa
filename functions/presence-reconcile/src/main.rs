//! The `presence-reconcile` Lambda function, run on a schedule: settles records a failed
//! event left dirty, recovers lost events and backfills from Genesys, keeps preferred
//! presences alive and finds Teams drift (`presence_core::service::reconcile`). The schedule's
//! event carries nothing it needs.
#![forbid(unsafe_code)]
// The sync nests the scope, the lease, the Teams-id layers, the token and the HTTP retries
// in one future: deeper than the compiler's default layout query depth (128).
#![recursion_limit = "256"]

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use presence_core::app::Reconciler;
use presence_core::service::Invocation;
use presence_core::service::reconcile::{PassOutcome, ReconcileError};
use std::process::ExitCode;
use std::time::{Duration, UNIX_EPOCH};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let started = presence_core::app::start_scheduled(
        "presence-reconcile",
        lambda_runtime::tracing::init_default_subscriber,
        Reconciler::build_with,
    );
    let reconciler = match started.await {
        Ok(reconciler) => reconciler,
        Err(not_started) => return not_started.exit_code(),
    };
    let served = Box::pin(lambda_runtime::run(service_fn(|event| {
        handler(&reconciler, event)
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

/// The handler: one scheduled run, its report out (or the error that fails the invocation,
/// which the template's alarm counts).
async fn handler(
    reconciler: &Reconciler,
    event: LambdaEvent<EventBridgeEvent<serde_json::Value>>,
) -> Result<PassOutcome, Failed> {
    let invocation = Invocation {
        request_id: event.context.request_id,
        deadline: UNIX_EPOCH + Duration::from_millis(event.context.deadline),
    };
    let result = Box::pin(reconciler.run(&invocation)).await;
    if let Err(error) = &result {
        tracing::error!(error = %error, errorType = error.kind(), "reconcile run failed");
    }
    presence_core::metrics::flush();
    result.map_err(Failed)
}

/// A failed run.
#[derive(Debug)]
struct Failed(ReconcileError);

impl From<Failed> for Diagnostic {
    fn from(Failed(error): Failed) -> Self {
        Diagnostic {
            error_type: error.kind().to_owned(),
            error_message: error.to_string(),
        }
    }
}
