//! The stack's checks: the state table and its TTL, the partner event source, the rule, the
//! queues, the alarm e-mail (the functions' in functions.rs).

use super::{Check, TTL_ATTRIBUTE, aws_failed, fail, pass};
use crate::deployment::{Deployment, Stack};

pub(super) async fn table_check(deployment: &Deployment, table: &str) -> Check {
    let name = "state table";
    let client = aws_sdk_dynamodb::Client::new(&deployment.aws);
    let described = client.describe_table().table_name(table).send().await;
    let status = match described {
        Ok(out) => out
            .table()
            .and_then(|t| t.table_status())
            .map(|s| s.as_str().to_owned()),
        Err(e) => {
            return aws_failed(
                name,
                "DynamoDB",
                e,
                "make deploy; or give --stack (the deployment's stack) instead of setting STATE_TABLE",
            );
        }
    };
    let ttl = match client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
    {
        Ok(out) => out.time_to_live_description().map(|d| {
            (
                d.time_to_live_status().map(|s| s.as_str().to_owned()),
                d.attribute_name().map(str::to_owned),
            )
        }),
        Err(e) => {
            return aws_failed(
                name,
                "DynamoDB",
                e,
                "let this principal call dynamodb:DescribeTimeToLive",
            );
        }
    };
    let (ttl_status, ttl_attribute) = ttl.unwrap_or((None, None));
    judge_table(
        table,
        status.as_deref(),
        ttl_status.as_deref(),
        ttl_attribute.as_deref(),
    )
}

pub fn judge_table(
    table: &str,
    status: Option<&str>,
    ttl: Option<&str>,
    attribute: Option<&str>,
) -> Check {
    let name = "state table";
    if status != Some("ACTIVE") {
        return fail(
            name,
            format!("{table} is {}", status.unwrap_or("of unknown status")),
            "wait for the table to become ACTIVE, or redeploy the stack",
        );
    }
    match (ttl, attribute) {
        (Some("ENABLED" | "ENABLING"), Some(TTL_ATTRIBUTE)) => {
            pass(name, format!("{table} ACTIVE, TTL on {TTL_ATTRIBUTE}"))
        }
        (Some("ENABLED" | "ENABLING"), Some(other)) => fail(
            name,
            format!("{table}: TTL is on {other}, not {TTL_ATTRIBUTE}"),
            format!(
                "turn TTL on for the attribute {TTL_ATTRIBUTE} (as template.yaml does); expired cache items are never removed otherwise"
            ),
        ),
        _ => fail(
            name,
            format!("{table}: TTL is off"),
            format!(
                "turn TTL on for the attribute {TTL_ATTRIBUTE} (as template.yaml does); expired cache items are never removed otherwise"
            ),
        ),
    }
}

pub(super) async fn source_check(deployment: &Deployment, stack: &Stack) -> Check {
    let events = aws_sdk_eventbridge::Client::new(&deployment.aws);
    let source = &stack.event_bus_name;
    match events.describe_event_source().name(source).send().await {
        Ok(out) => judge_source(source, out.state().map(|s| s.as_str())),
        Err(e) => {
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception())
            {
                return judge_source(source, None);
            }
            aws_failed(
                "partner event source",
                "EventBridge",
                e,
                "let this principal call events:DescribeEventSource, and retry",
            )
        }
    }
}

/// The partner event source's state: `None` when it does not exist.
pub fn judge_source(source: &str, state: Option<&str>) -> Check {
    let name = "partner event source";
    match state {
        Some("ACTIVE") => pass(name, format!("{source} is Active")),
        Some("PENDING") => fail(
            name,
            format!("{source} is Pending: no event bus of its name"),
            "make deploy (it deploys the stack with GenesysEventSourceName set to exactly this source's name)",
        ),
        Some(other) => fail(
            name,
            format!("{source} is {other}"),
            "make deploy (it re-creates the Genesys EventBridge integration, infra/genesys, then the stack)",
        ),
        None => fail(
            name,
            format!("{source} does not exist in this account and region"),
            "make deploy with credentials for this account and region (infra/genesys makes the integration, which makes the source)",
        ),
    }
}

pub(super) async fn rule_check(deployment: &Deployment, stack: &Stack) -> Check {
    let name = "rule";
    let events = aws_sdk_eventbridge::Client::new(&deployment.aws);
    let bus = &stack.event_bus_name;
    let names = match events
        .list_rule_names_by_target()
        .target_arn(&stack.function_arn)
        .event_bus_name(bus)
        .send()
        .await
    {
        Ok(out) => out.rule_names().to_vec(),
        Err(e) => {
            return aws_failed(
                name,
                "EventBridge",
                e,
                "let this principal call events:ListRuleNamesByTarget, and retry",
            );
        }
    };
    let mut states = Vec::new();
    for rule in &names {
        match events
            .describe_rule()
            .name(rule)
            .event_bus_name(bus)
            .send()
            .await
        {
            Ok(out) => states.push((
                rule.clone(),
                out.state()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
            )),
            Err(e) => {
                return aws_failed(
                    name,
                    "EventBridge",
                    e,
                    "let this principal call events:DescribeRule, and retry",
                );
            }
        }
    }
    judge_rule(bus, &states)
}

/// The rules on the bus that target the event function, with their states.
pub fn judge_rule(bus: &str, rules: &[(String, String)]) -> Check {
    let name = "rule";
    if rules.is_empty() {
        return fail(
            name,
            format!("no rule on {bus} targets the event function"),
            "make deploy (the stack creates the rule)",
        );
    }
    match rules.iter().find(|(_, state)| state == "ENABLED") {
        Some((rule, _)) => pass(
            name,
            format!("{rule} is enabled and targets the event function"),
        ),
        None => fail(
            name,
            format!("{} is disabled", rules[0].0),
            "paused on purpose (aws events disable-rule)? make deploy resumes it: once the credentials pass its checks it deploys with EventRuleState=ENABLED and enables a rule paused by hand",
        ),
    }
}

pub(super) async fn queue_check(deployment: &Deployment, name: &'static str, url: &str) -> Check {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let sqs = aws_sdk_sqs::Client::new(&deployment.aws);
    let out = match sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) => {
            return aws_failed(name, "SQS", e, "make deploy (the stack creates the queue)");
        }
    };
    let count = |a: A| {
        out.attributes()
            .and_then(|m| m.get(&a))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    judge_queue(
        name,
        count(A::ApproximateNumberOfMessages) + count(A::ApproximateNumberOfMessagesNotVisible),
    )
}

pub fn judge_queue(name: &'static str, waiting: u64) -> Check {
    match (name, waiting) {
        (_, 0) => pass(name, "empty"),
        ("failure queue", n) => fail(
            name,
            format!("{n} event(s) waiting: the function gave up on them"),
            "read why with presencectl redrive (a dry run), fix the cause, then presencectl redrive --send",
        ),
        (_, n) => fail(
            name,
            format!("{n} event(s) EventBridge could not deliver to the function"),
            "check the function's resource policy and throttles, then read them with aws sqs receive-message; presencectl sync --all repairs what they would have set",
        ),
    }
}

pub(super) async fn alarm_check(deployment: &Deployment, topic: &str) -> Check {
    let name = "alarm e-mail";
    let sns = aws_sdk_sns::Client::new(&deployment.aws);
    match sns
        .list_subscriptions_by_topic()
        .topic_arn(topic)
        .send()
        .await
    {
        Ok(out) => {
            let pending = out
                .subscriptions()
                .iter()
                .filter(|s| s.subscription_arn() == Some("PendingConfirmation"))
                .count();
            judge_alarm(out.subscriptions().len(), pending)
        }
        Err(e) => aws_failed(
            name,
            "SNS",
            e,
            "let this principal call sns:ListSubscriptionsByTopic, and retry",
        ),
    }
}

pub fn judge_alarm(subscriptions: usize, pending: usize) -> Check {
    let name = "alarm e-mail";
    match (subscriptions, pending) {
        (0, _) => pass(
            name,
            "no subscription (AlarmEmail was left empty): the alarms reach nobody",
        ),
        (_, 0) => pass(name, format!("{subscriptions} subscription(s) confirmed")),
        (_, n) => fail(
            name,
            format!("{n} subscription(s) pending confirmation"),
            "confirm the subscription from the e-mail AWS Notifications sent (the one optional action after make deploy)",
        ),
    }
}
