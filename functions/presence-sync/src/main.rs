//! The `presence-sync` Lambda function: Genesys Cloud presence events from the EventBridge
//! partner bus in, Microsoft Teams preferred presence out. Configuration is read and the
//! clients are built once per instance; each invocation borrows them.
#![forbid(unsafe_code)]

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use presence_core::config::Config;
use presence_core::service::Invocation;
use std::process::ExitCode;
use std::time::{Duration, UNIX_EPOCH};

/// Exit status when the binary is started outside a Lambda Runtime API (by hand).
const NOT_UNDER_LAMBDA: u8 = 2;

// One invocation at a time: a single-threaded runtime avoids cross-thread wake-ups (futex
// and eventfd traffic measured in docs/performance.md).
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    // Lambda sets AWS_LAMBDA_RUNTIME_API for the bootstrap. Without it there is nothing to
    // serve: say so before the AWS clients are built (they would look for credentials in
    // the instance metadata service, and the runtime would panic on Lambda's variables).
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none_or(|value| value.is_empty()) {
        eprintln!(
            "presence-sync: AWS_LAMBDA_RUNTIME_API is not set, so this is not a Lambda \
             environment; to run the function locally, use `make demo`"
        );
        return ExitCode::from(NOT_UNDER_LAMBDA);
    }
    lambda_runtime::tracing::init_default_subscriber();
    // The configuration error is logged once, as a sentence naming the variable.
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            tracing::error!(error = %error, variable = error.variable, "cannot start");
            return ExitCode::FAILURE;
        }
    };
    // Boxed, like the runtime below: each is a deep future, and together they exceed the
    // compiler's layout depth limit for this async block.
    let sync = Box::pin(presence_core::app::build(&config)).await;
    let served = Box::pin(lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
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
