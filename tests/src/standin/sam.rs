//! The stand-in `sam`: `--version`, `build` (writes `.aws-sam/build/template.yaml`, as the real
//! one does), `deploy` (the stack's resources in moto from its `--parameter-overrides`,
//! through [`crate::deployment::create_from`]; a re-deploy with the same parameters changes
//! nothing, another rule state or e-mail is applied in place) and `delete`. A creation that
//! fails (the partner event source missing, or `STANDIN_STACK_FAILS`) leaves the stack in
//! ROLLBACK_COMPLETE, which refuses every deploy until it is deleted, as CloudFormation does;
//! a failed update leaves the stack as it was. Both refuse what would make the real CLI ask
//! a question or fail (sam_flags.rs).

use super::{Ended, endpoint, failed, ok, read_state, write_state};
use crate::aws;
use crate::deployment::{self, StackSecrets, StackSpec, TestDeployment};
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub(super) async fn run(args: &[String]) -> Ended {
    match args.first().map(String::as_str) {
        Some("--version") => {
            say!("SAM CLI, version 1.150.0 (stand-in)");
            ok(false)
        }
        Some("build") => build(),
        Some("deploy") => deploy(args).await,
        Some("delete") => delete(args).await,
        _ => failed(&format!("stand-in sam: {args:?} is not played")),
    }
}

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn build() -> Ended {
    let dir = std::path::Path::new(".aws-sam/build");
    let written = std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(dir.join("template.yaml"), "# built by the stand-in\n"));
    match written {
        // Local artifacts only: nothing of the deployment changes.
        Ok(()) => {
            say!("Build Succeeded");
            ok(false)
        }
        Err(error) => failed(&format!("Error: {error}")),
    }
}

/// `K=V K="v w"` as the driver writes `--parameter-overrides`.
pub fn parse_overrides(text: &str) -> BTreeMap<String, String> {
    let mut pairs = BTreeMap::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            return pairs;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = chars.by_ref().take_while(|c| *c != ' ').collect();
        }
        pairs.insert(key, value);
    }
}

/// CloudFormation's answer to any change of a stack whose creation failed: it "can only be
/// deleted" (the state is ROLLBACK_COMPLETE; aws-sam-cli #1865, #4230; moto's
/// `update_stack` refuses the same way).
const ROLLED_BACK: &str = "ROLLBACK_COMPLETE";

/// Why the stack's resources cannot be made, as CloudFormation would say it: the partner
/// event source does not exist yet (Genesys creates it after the integration, in its own
/// time), or a failure the test plants (`STANDIN_STACK_FAILS`, e.g. Lambda's concurrency
/// quota).
async fn cannot_make(parameters: &BTreeMap<String, String>) -> Option<String> {
    if let Ok(reason) = std::env::var("STANDIN_STACK_FAILS") {
        return Some(reason);
    }
    let source = parameters
        .get("GenesysEventSourceName")
        .cloned()
        .unwrap_or_default();
    let events = aws_sdk_eventbridge::Client::new(&aws::sdk_config(&endpoint()).await);
    match events.describe_event_source().name(&source).send().await {
        Ok(_) => None,
        Err(_) => Some(format!("Event source {source} does not exist.")),
    }
}

async fn deploy(args: &[String]) -> Ended {
    let Some(stack) = flag(args, "--stack-name") else {
        return failed("Error: Missing option '--stack-name'");
    };
    if let Err(ended) = super::sam_flags::deploy(args) {
        return ended;
    }
    let parameters = parse_overrides(flag(args, "--parameter-overrides").unwrap_or_default());
    let name = format!("sam.{stack}.json");
    let state = read_state(&name);
    if state["status"] == json!(ROLLED_BACK) {
        return failed(&format!(
            "Error: Failed to create changeset for the stack: {stack}, An error occurred (ValidationError) when calling the CreateChangeSet operation: Stack:arn:aws:cloudformation:us-east-1:123456789012:stack/{stack}/1 is in {ROLLED_BACK} state and can not be updated."
        ));
    }
    let deployed: Option<TestDeployment> = serde_json::from_value(state["deployment"].clone()).ok();
    if let Some(reason) = cannot_make(&parameters).await {
        // A failed creation leaves the rolled-back stack; a failed update rolls back to the
        // stack before it (the state is left as it was).
        if deployed.is_none() {
            write_state(&name, &json!({"status": ROLLED_BACK}));
        }
        return failed(&format!(
            "Error: Failed to create/update the stack: {stack}, Resource handler returned message: \"{reason}\""
        ));
    }
    let parameters = json!(parameters);
    match deployed {
        None => {
            let deployment = deployment::create_from(&endpoint(), spec(stack, &parameters)).await;
            write_state(
                &name,
                &json!({"status": "CREATE_COMPLETE", "parameters": parameters, "deployment": deployment}),
            );
            say!("Successfully created/updated stack - {stack}");
            ok(true)
        }
        Some(_) if state["parameters"] == parameters => {
            say!("No changes to deploy. Stack {stack} is up to date");
            ok(false)
        }
        Some(deployment) => {
            update(&deployment, &state["parameters"], &parameters).await;
            write_state(
                &name,
                &json!({"status": "UPDATE_COMPLETE", "parameters": parameters, "deployment": deployment}),
            );
            say!("Successfully created/updated stack - {stack}");
            ok(true)
        }
    }
}

fn spec(stack: &str, parameters: &Value) -> StackSpec {
    let text = |key: &str| parameters[key].as_str().unwrap_or_default().to_owned();
    let function_env: Vec<(String, String)> = super::secret_input("STANDIN_FUNCTION_ENV")
        .as_object()
        .map(|env| {
            env.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    StackSpec {
        stack_name: stack.to_owned(),
        partner_source: Some(text("GenesysEventSourceName")),
        secrets: StackSecrets::Existing {
            azure_arn: text("ExistingAzureSecretArn"),
            genesys_arn: text("ExistingGenesysSecretArn"),
        },
        function_env,
        rule_enabled: text("EventRuleState") != "DISABLED",
        alarm_email: Some(text("AlarmEmail")).filter(|e| !e.is_empty()),
        genesys_environment: text("GenesysEnvironment"),
    }
}

/// What an update changes in place: the rule's state and a new alarm e-mail (the other
/// parameters the tests do not change on a re-deploy).
async fn update(deployment: &TestDeployment, before: &Value, after: &Value) {
    let sdk = aws::sdk_config(&endpoint()).await;
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let (rule, bus) = (&deployment.rule_name, &deployment.event_bus_name);
    if after["EventRuleState"] != before["EventRuleState"] {
        if after["EventRuleState"] == json!("DISABLED") {
            let _ = events
                .disable_rule()
                .name(rule)
                .event_bus_name(bus)
                .send()
                .await;
        } else {
            let _ = events
                .enable_rule()
                .name(rule)
                .event_bus_name(bus)
                .send()
                .await;
        }
    }
    if let Some(email) = after["AlarmEmail"].as_str().filter(|e| !e.is_empty())
        && after["AlarmEmail"] != before["AlarmEmail"]
    {
        let sns = aws_sdk_sns::Client::new(&sdk);
        deployment::subscribe_email(&sns, &deployment.alarm_topic_arn, email).await;
    }
}

async fn delete(args: &[String]) -> Ended {
    let Some(stack) = flag(args, "--stack-name") else {
        return failed("Error: Missing option '--stack-name'");
    };
    if let Err(ended) = super::sam_flags::delete(args) {
        return ended;
    }
    let name = format!("sam.{stack}.json");
    let state = read_state(&name);
    let deployed: Option<TestDeployment> = serde_json::from_value(state["deployment"].clone()).ok();
    match deployed {
        Some(deployment) => {
            deployment::delete(&endpoint(), &deployment).await;
            write_state(&name, &json!({}));
            say!("Deleted successfully");
            ok(true)
        }
        // A rolled-back creation holds no resource: only the stack goes.
        None if state["status"] == json!(ROLLED_BACK) => {
            write_state(&name, &json!({}));
            say!("Deleted successfully");
            ok(true)
        }
        None => {
            say!("Error: The input stack {stack} does not exist on Cloudformation");
            ok(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_overrides;

    #[test]
    fn overrides_are_read_as_the_driver_writes_them() {
        let pairs = parse_overrides(r#"A=arn:x AlarmEmail="" M="{\"MEAL\": \"ignore\"}" B=2"#);
        assert_eq!(pairs["A"], "arn:x");
        assert_eq!(pairs["AlarmEmail"], "");
        assert_eq!(pairs["M"], r#"{"MEAL": "ignore"}"#);
        assert_eq!(pairs["B"], "2");
    }
}
