//! The stand-in `sam`: `--version`, `build` (writes `.aws-sam/build/template.yaml`, as the real
//! one does), `deploy` (the stack's resources in moto from its `--parameter-overrides`,
//! through [`crate::deployment::create_from`]; a re-deploy with the same parameters changes
//! nothing, another rule state or e-mail is applied in place) and `delete`.

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

async fn deploy(args: &[String]) -> Ended {
    let Some(stack) = flag(args, "--stack-name") else {
        return failed("Error: Missing option '--stack-name'");
    };
    let parameters = parse_overrides(flag(args, "--parameter-overrides").unwrap_or_default());
    let source = parameters
        .get("GenesysEventSourceName")
        .cloned()
        .unwrap_or_default();
    let events = aws_sdk_eventbridge::Client::new(&aws::sdk_config(&endpoint()).await);
    if events
        .describe_event_source()
        .name(&source)
        .send()
        .await
        .is_err()
    {
        return failed(&format!(
            "Error: Failed to create/update the stack: {stack}, Resource handler returned message: \"Event source {source} does not exist.\""
        ));
    }
    let name = format!("sam.{stack}.json");
    let state = read_state(&name);
    let deployed: Option<TestDeployment> = serde_json::from_value(state["deployment"].clone()).ok();
    let parameters = json!(parameters);
    match deployed {
        None => {
            let deployment = deployment::create_from(&endpoint(), spec(stack, &parameters)).await;
            write_state(
                &name,
                &json!({"parameters": parameters, "deployment": deployment}),
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
                &json!({"parameters": parameters, "deployment": deployment}),
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
    let name = format!("sam.{stack}.json");
    let deployed: Option<TestDeployment> =
        serde_json::from_value(read_state(&name)["deployment"].clone()).ok();
    match deployed {
        Some(deployment) => {
            deployment::delete(&endpoint(), &deployment).await;
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
