//! The functions' check: each as template.yaml deploys it (state, arm64, the runtime, its
//! variables, reserved concurrency; the event function's retries and failure destination).

use super::{Check, aws_failed, fail, pass};
use crate::deployment::Deployment;

pub(super) async fn queue_arn(deployment: &Deployment, url: &str) -> Option<String> {
    let sqs = aws_sdk_sqs::Client::new(&deployment.aws);
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .ok()?;
    out.attributes()?
        .get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .cloned()
}

/// What `function_check` reads of a function.
pub struct FunctionFacts {
    pub state: Option<String>,
    pub architecture: Option<String>,
    pub runtime: Option<String>,
    pub missing_variables: Vec<&'static str>,
    pub reserved_concurrency: Option<i32>,
    /// `RESERVED_CONCURRENCY` in its environment: the event function paces its Graph writes for
    /// this many instances, so it must equal the reserved concurrency.
    pub paced_for: Option<String>,
    /// The event function's asynchronous invocation: retries and the on-failure destination.
    pub retries: Option<i32>,
    pub on_failure: Option<String>,
}

pub(super) async fn function_check(
    deployment: &Deployment,
    name: &'static str,
    arn: &str,
    failure_queue_arn: Option<&str>,
) -> Check {
    let lambda = aws_sdk_lambda::Client::new(&deployment.aws);
    let config = match lambda
        .get_function_configuration()
        .function_name(arn)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) => {
            return aws_failed(
                name,
                "Lambda",
                e,
                "make deploy (it builds and deploys the stack from template.yaml)",
            );
        }
    };
    let variables = config
        .environment()
        .and_then(|e| e.variables())
        .cloned()
        .unwrap_or_default();
    let concurrency = lambda
        .get_function_concurrency()
        .function_name(arn)
        .send()
        .await
        .ok()
        .and_then(|c| c.reserved_concurrent_executions());
    let (retries, on_failure) = if failure_queue_arn.is_some() {
        match lambda
            .get_function_event_invoke_config()
            .function_name(arn)
            .send()
            .await
        {
            Ok(c) => (
                c.maximum_retry_attempts(),
                c.destination_config()
                    .and_then(|d| d.on_failure())
                    .and_then(|f| f.destination())
                    .map(str::to_owned),
            ),
            Err(_) => (None, None),
        }
    } else {
        (None, None)
    };
    let facts = FunctionFacts {
        state: config.state().map(|s| s.as_str().to_owned()),
        architecture: config
            .architectures()
            .first()
            .map(|a| a.as_str().to_owned()),
        runtime: config.runtime().map(|r| r.as_str().to_owned()),
        missing_variables: presence_core::config::REQUIRED_VARIABLES
            .iter()
            .copied()
            .filter(|v| variables.get(*v).is_none_or(|x| x.trim().is_empty()))
            .collect(),
        reserved_concurrency: concurrency,
        paced_for: variables.get("RESERVED_CONCURRENCY").cloned(),
        retries,
        on_failure,
    };
    judge_function(name, arn, &facts, failure_queue_arn)
}

/// The function as template.yaml deploys it.
pub fn judge_function(
    name: &'static str,
    arn: &str,
    facts: &FunctionFacts,
    failure_queue_arn: Option<&str>,
) -> Check {
    let redeploy = "make deploy (it deploys the stack from template.yaml again)";
    let mut wrong = Vec::new();
    if facts.state.as_deref().is_some_and(|s| s != "Active") {
        wrong.push(format!("state {}", facts.state.as_deref().unwrap_or("")));
    }
    if facts.architecture.as_deref() != Some("arm64") {
        wrong.push(format!(
            "architecture {}",
            facts.architecture.as_deref().unwrap_or("unknown")
        ));
    }
    if facts.runtime.as_deref() != Some("provided.al2023") {
        wrong.push(format!(
            "runtime {}",
            facts.runtime.as_deref().unwrap_or("unknown")
        ));
    }
    if !facts.missing_variables.is_empty() {
        wrong.push(format!(
            "variables missing: {}",
            facts.missing_variables.join(", ")
        ));
    }
    if facts.reserved_concurrency.is_none() {
        wrong.push("no reserved concurrency".into());
    }
    if let (Some(paced), Some(reserved)) = (&facts.paced_for, facts.reserved_concurrency)
        && paced.trim() != reserved.to_string()
    {
        wrong.push(format!(
            "reserved concurrency {reserved}, but RESERVED_CONCURRENCY says {} (its Graph writes are paced for that many instances: Graph throttles, or the writes go slower than they may)",
            presence_core::domain::excerpt::excerpt(paced)
        ));
    }
    if let Some(queue) = failure_queue_arn {
        if facts.retries != Some(2) {
            wrong.push(format!(
                "asynchronous retries {} (2 expected)",
                facts.retries.map_or("unset".into(), |r| r.to_string())
            ));
        }
        if facts.on_failure.as_deref() != Some(queue) {
            wrong.push("failed events do not go to the failure queue".into());
        }
    }
    if wrong.is_empty() {
        pass(
            name,
            format!(
                "{arn}: Active, arm64, provided.al2023, reserved concurrency {}",
                facts.reserved_concurrency.unwrap_or(0)
            ),
        )
    } else {
        fail(name, format!("{arn}: {}", wrong.join("; ")), redeploy)
    }
}
