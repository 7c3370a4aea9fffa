//! `settle-one`: settles one agent now, given `{"genesysUserId": "…"}`: re-applies the newest
//! recorded state when an earlier attempt left the record dirty. A second function written
//! with public library items only; tests/tests/suite/settle_function.rs compiles and drives it.
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use presence_core::app::ProductionSync;
use presence_core::domain::excerpt::excerpt;
use presence_core::domain::ids::GenesysUserId;
use presence_core::service::Invocation;
use std::time::{Duration, UNIX_EPOCH};

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    pub genesys_user_id: String,
}

pub async fn handler(
    sync: &ProductionSync,
    event: LambdaEvent<Request>,
) -> Result<String, Diagnostic> {
    let raw = &event.payload.genesys_user_id;
    let user = GenesysUserId::parse(raw).ok_or_else(|| Diagnostic {
        error_type: "MalformedRequest".to_owned(),
        error_message: format!("genesysUserId {} is not a UUID", excerpt(raw)),
    })?;
    let invocation = Invocation {
        request_id: event.context.request_id,
        deadline: UNIX_EPOCH + Duration::from_millis(event.context.deadline),
    };
    match sync.settle(&user, &invocation).await {
        Ok(settlement) => Ok(settlement.to_string()),
        Err(error) => Err(Diagnostic {
            error_type: error.kind().to_owned(),
            error_message: error.to_string(),
        }),
    }
}

#[tokio::main(flavor = "current_thread")]
pub async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = presence_core::config::Config::from_env()?;
    let sync = Box::pin(presence_core::app::build(&config)).await;
    lambda_runtime::run(service_fn(|event| handler(&sync, event))).await
}
