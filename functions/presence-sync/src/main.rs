//! The `presence-sync` Lambda function: Genesys Cloud presence events from the EventBridge
//! partner bus in, Microsoft Teams preferred presence out. Configuration is read and the
//! clients are built once per instance; each invocation borrows them.
#![forbid(unsafe_code)]

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use presence_core::config::Config;
use presence_core::service::Invocation;
use std::time::{Duration, UNIX_EPOCH};

// One invocation at a time: a single-threaded runtime avoids cross-thread wake-ups (futex
// and eventfd traffic measured in docs/performance.md).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env().inspect_err(|error| {
        tracing::error!(error = %error, variable = error.variable, "cannot start");
    })?;
    let sync = presence_core::app::build(&config).await;
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let sync = &sync;
        async move {
            let invocation = Invocation {
                request_id: event.context.request_id,
                deadline: UNIX_EPOCH + Duration::from_millis(event.context.deadline),
            };
            sync.handle(event.payload, &invocation)
                .await
                .map_err(|error| Diagnostic {
                    error_type: error.kind().to_owned(),
                    error_message: error.to_string(),
                })
        }
    }))
    .await
}
