//! The stack's rule enabled after the stack step. Pausing is `aws events disable-rule` on the
//! rule itself (infra/README.md, "Operating"), which CloudFormation does not see: the next
//! `sam deploy` with the same `EventRuleState=ENABLED` finds no change and leaves the rule
//! disabled. So the driver enables it itself, once the credentials step has passed.

use super::Problem;
use crate::aws_error;

/// Enables every rule on the stack's bus that targets the event function and is not enabled;
/// says which it enabled.
pub async fn enable(aws: &aws_config::SdkConfig, stack: &str) -> Result<Option<String>, Problem> {
    let events = aws_sdk_eventbridge::Client::new(aws);
    let (function, bus) = outputs(aws, stack).await?;
    let bus = &bus;
    let denied = |action: &str, e: String| Problem {
        what: format!("EventBridge: {e}"),
        fix: format!("let this principal call events:{action}, then make deploy again"),
    };
    let names = events
        .list_rule_names_by_target()
        .target_arn(&function)
        .event_bus_name(bus)
        .send()
        .await
        .map_err(|e| denied("ListRuleNamesByTarget", aws_error::describe(&e)))?
        .rule_names()
        .to_vec();
    let mut enabled = Vec::new();
    for name in names {
        let rule = events
            .describe_rule()
            .name(&name)
            .event_bus_name(bus)
            .send()
            .await
            .map_err(|e| denied("DescribeRule", aws_error::describe(&e)))?;
        if rule.state().is_some_and(|s| s.as_str() == "ENABLED") {
            continue;
        }
        events
            .enable_rule()
            .name(&name)
            .event_bus_name(bus)
            .send()
            .await
            .map_err(|e| denied("EnableRule", aws_error::describe(&e)))?;
        enabled.push(name);
    }
    Ok((!enabled.is_empty()).then(|| {
        format!(
            "{} was disabled (paused by hand: aws events disable-rule): enabled again",
            enabled.join(", ")
        )
    }))
}

/// The stack's `FunctionArn` and `EventBusName` outputs (template.yaml, `Outputs`).
async fn outputs(aws: &aws_config::SdkConfig, stack: &str) -> Result<(String, String), Problem> {
    let described = aws_sdk_cloudformation::Client::new(aws)
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| Problem {
            what: format!("CloudFormation: {}", aws_error::describe(&e)),
            fix: "let this principal call cloudformation:DescribeStacks, then make deploy again"
                .into(),
        })?;
    let output = |key: &str| {
        described
            .stacks()
            .first()
            .into_iter()
            .flat_map(|s| s.outputs())
            .find(|o| o.output_key() == Some(key))
            .and_then(|o| o.output_value().map(str::to_owned))
            .ok_or_else(|| Problem {
                what: format!("stack {stack} has no output {key}"),
                fix: "make deploy again (sam deploy creates the stack from template.yaml)".into(),
            })
    };
    Ok((output("FunctionArn")?, output("EventBusName")?))
}
