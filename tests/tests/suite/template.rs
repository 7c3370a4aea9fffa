//! `template.yaml` agrees with the code: the function gets every variable it needs and
//! no variable it does not read; its role grants exactly the calls the adapters make, on
//! exactly the resources they address; the EventBridge rule lets the project's sample
//! events through and nothing else (judged by moto's EventBridge, not by a matcher written
//! here); the table's TTL attribute is the one the code writes.
//!
//! The template is read with serde_yaml; CloudFormation's short-form tags (`!Ref`,
//! `!GetAtt`, `!If`, ...) are turned into their long form (`{"Ref": ...}`,
//! `{"Fn::GetAtt": [..]}`, `{"Fn::If": ...}`) so that values compare as JSON.

use presence_core::config::{HttpTimeouts, REQUIRED_VARIABLES, VARIABLES};
use presence_core::service::Settings;
use presence_sync_tests::events::SOURCE;
use presence_sync_tests::moto::repo_root;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

// ---------------------------------------------------------------------------------------
// Reading the template
// ---------------------------------------------------------------------------------------

fn template() -> Value {
    let path = repo_root().join("template.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()));
    to_json(&yaml)
}

/// YAML to JSON, with CloudFormation short-form tags in their long form.
fn to_json(value: &serde_yaml::Value) -> Value {
    use serde_yaml::Value as Y;
    match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(*b),
        Y::Number(n) => serde_json::to_value(n).expect("a YAML number is a JSON number"),
        Y::String(s) => Value::String(s.clone()),
        Y::Sequence(items) => Value::Array(items.iter().map(to_json).collect()),
        Y::Mapping(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Y::String(s) => s.clone(),
                        other => serde_yaml::to_string(other).unwrap().trim().to_owned(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let inner = to_json(&tagged.value);
            match name {
                "Ref" => json!({ "Ref": inner }),
                "GetAtt" => {
                    let parts = match inner {
                        Value::String(s) => {
                            let (resource, attribute) = s
                                .split_once('.')
                                .unwrap_or_else(|| panic!("!GetAtt {s} has no attribute"));
                            json!([resource, attribute])
                        }
                        other => other,
                    };
                    json!({ "Fn::GetAtt": parts })
                }
                other => {
                    let mut object = Map::new();
                    object.insert(format!("Fn::{other}"), inner);
                    Value::Object(object)
                }
            }
        }
    }
}

fn resource<'a>(template: &'a Value, name: &str) -> &'a Value {
    template["Resources"]
        .get(name)
        .unwrap_or_else(|| panic!("template.yaml has no resource {name}"))
}

/// The logical id a `{"Ref": id}` or `{"Fn::GetAtt": [id, attr]}` points to.
fn target(value: &Value) -> Option<&str> {
    value
        .get("Ref")
        .and_then(Value::as_str)
        .or_else(|| value.get("Fn::GetAtt").and_then(|g| g[0].as_str()))
}

fn get_att(resource: &str, attribute: &str) -> Value {
    json!({ "Fn::GetAtt": [resource, attribute] })
}

fn as_list(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

/// The one `AWS::Serverless::Function` (name, resource).
fn function(template: &Value) -> (String, Value) {
    let functions: Vec<_> = template["Resources"]
        .as_object()
        .expect("Resources is a mapping")
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .collect();
    assert_eq!(functions.len(), 1, "expected one function in template.yaml");
    (functions[0].0.clone(), functions[0].1.clone())
}

fn variables(template: &Value) -> Map<String, Value> {
    assert!(
        template.get("Globals").is_none(),
        "template.yaml has Globals: set the function's environment on the function only"
    );
    function(template).1["Properties"]["Environment"]["Variables"]
        .as_object()
        .expect("the function has Environment.Variables")
        .clone()
}

// ---------------------------------------------------------------------------------------
// Reading the code
// ---------------------------------------------------------------------------------------

fn source(relative: &str) -> String {
    let path = repo_root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// `get_item` -> `GetItem`.
fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The SDK operations an adapter calls: every `.client` followed by `.operation(` (across
/// line breaks, as rustfmt writes the builder chains), as IAM actions `service:Operation`.
fn sdk_actions(relative: &str, service: &str) -> BTreeSet<String> {
    let text = source(relative);
    let mut actions = BTreeSet::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find(".client") {
        rest = &rest[at + ".client".len()..];
        let after = rest.trim_start();
        let Some(call) = after.strip_prefix('.') else {
            continue;
        };
        let name: String = call
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        if !name.is_empty() && call[name.len()..].starts_with('(') {
            actions.insert(format!("{service}:{}", pascal(&name)));
        }
    }
    assert!(
        !actions.is_empty(),
        "found no SDK call in {relative}: has the adapter moved? update this test"
    );
    actions
}

fn dynamodb_actions() -> BTreeSet<String> {
    let actions = sdk_actions("shared/src/adapters/dynamodb.rs", "dynamodb");
    // The scanner must see the calls this test is known to need; if it does not, the
    // adapter's shape changed and the scanner with it.
    for known in ["dynamodb:UpdateItem", "dynamodb:GetItem"] {
        assert!(
            actions.contains(known),
            "scanner missed {known}: {actions:?}"
        );
    }
    actions
}

fn secrets_actions() -> BTreeSet<String> {
    sdk_actions("shared/src/adapters/secrets_manager.rs", "secretsmanager")
}

// ---------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------

#[test]
fn every_variable_the_function_needs_is_always_set() {
    let template = template();
    let vars = variables(&template);
    for name in REQUIRED_VARIABLES.iter().chain(&["GENESYS_ENVIRONMENT"]) {
        let value = vars.get(*name).unwrap_or_else(|| {
            panic!("template.yaml does not set {name}, which the function needs")
        });
        let conditional = value
            .get("Fn::If")
            .map(|branches| as_list(branches).iter().any(|b| b["Ref"] == "AWS::NoValue"))
            .unwrap_or(false);
        assert!(
            !conditional,
            "{name} must always be set, not only under a condition"
        );
    }
}

#[test]
fn no_variable_is_set_that_the_function_does_not_read() {
    let template = template();
    for name in variables(&template).keys() {
        assert!(
            VARIABLES.contains(&name.as_str()),
            "template.yaml sets {name}, which presence_core::config does not read (VARIABLES)"
        );
    }
}

#[test]
fn variables_point_at_the_stacks_own_resources_and_parameters() {
    let template = template();
    let vars = variables(&template);
    let table = target(&vars["STATE_TABLE"]).expect("STATE_TABLE is a !Ref");
    assert_eq!(resource(&template, table)["Type"], "AWS::DynamoDB::Table");
    assert_eq!(
        vars["GENESYS_ENVIRONMENT"],
        json!({ "Ref": "GenesysEnvironment" })
    );
    // Only this org's integration: the source is exactly the partner event source name.
    assert_eq!(
        vars["ALLOWED_SOURCE"],
        json!({ "Ref": "GenesysEventSourceName" })
    );
    assert_eq!(vars["ALLOWED_ACCOUNT"], json!({ "Ref": "AWS::AccountId" }));
    for secret in ["AZURE_SECRET_ID", "GENESYS_SECRET_ID"] {
        let branches = as_list(&vars[secret]["Fn::If"]);
        assert_eq!(
            branches.len(),
            3,
            "{secret}: created secret or the given ARN"
        );
        let created = target(&branches[1]).expect("a !Ref to the created secret");
        assert_eq!(
            resource(&template, created)["Type"],
            "AWS::SecretsManager::Secret"
        );
        let given = target(&branches[2]).expect("a !Ref to the ARN parameter");
        assert_eq!(template["Parameters"][given]["Default"], "");
    }
}

// ---------------------------------------------------------------------------------------
// Least privilege
// ---------------------------------------------------------------------------------------

/// Every (action, resource) pair the role's inline policies allow.
fn granted(template: &Value, role: &str) -> BTreeSet<(String, String)> {
    let role = resource(template, role);
    assert_eq!(role["Type"], "AWS::IAM::Role");
    assert!(
        role["Properties"].get("ManagedPolicyArns").is_none(),
        "the role must not attach managed policies"
    );
    let mut pairs = BTreeSet::new();
    for policy in as_list(&role["Properties"]["Policies"]) {
        for statement in as_list(&policy["PolicyDocument"]["Statement"]) {
            assert_eq!(statement["Effect"], "Allow", "{statement}");
            for key in ["NotAction", "NotResource", "Condition"] {
                assert!(
                    statement.get(key).is_none(),
                    "unexpected {key} in {statement}"
                );
            }
            for action in as_list(&statement["Action"]) {
                let action = action.as_str().expect("actions are literal").to_owned();
                assert!(!action.contains('*'), "wildcard action {action}");
                for resource in as_list(&statement["Resource"]) {
                    assert_ne!(resource, "*", "wildcard resource for {action}");
                    pairs.insert((action.clone(), resource.to_string()));
                }
            }
        }
    }
    pairs
}

#[test]
fn the_role_grants_exactly_what_the_code_calls_on_exactly_its_resources() {
    let template = template();
    let (_, function) = function(&template);
    let props = &function["Properties"];
    assert!(
        props.get("Policies").is_none(),
        "SAM policies on the function would widen the written-out role"
    );
    let role = target(&props["Role"]).expect("Role is !GetAtt <role>.Arn");
    let vars = variables(&template);

    let mut expected = BTreeSet::new();
    let table = target(&vars["STATE_TABLE"]).unwrap();
    for action in dynamodb_actions() {
        expected.insert((action, get_att(table, "Arn").to_string()));
    }
    for secret in ["AZURE_SECRET_ID", "GENESYS_SECRET_ID"] {
        for action in secrets_actions() {
            expected.insert((action, vars[secret].to_string()));
        }
    }
    let failure =
        target(&props["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Destination"])
            .expect("an on-failure destination of this stack");
    expected.insert((
        "sqs:SendMessage".into(),
        get_att(failure, "Arn").to_string(),
    ));
    let log_group = target(&props["LoggingConfig"]["LogGroup"]).expect("LoggingConfig.LogGroup");
    for action in ["logs:CreateLogStream", "logs:PutLogEvents"] {
        expected.insert((action.into(), get_att(log_group, "Arn").to_string()));
    }

    let granted = granted(&template, role);
    let extra: Vec<_> = granted.difference(&expected).collect();
    let missing: Vec<_> = expected.difference(&granted).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "the role does not match what the code calls\n  granted but not used: {extra:#?}\n  used but not granted: {missing:#?}"
    );
}

#[test]
fn no_other_identity_policy_exists() {
    let template = template();
    for (name, resource) in template["Resources"].as_object().unwrap() {
        let kind = resource["Type"].as_str().unwrap_or_default();
        assert!(
            !matches!(
                kind,
                "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" | "AWS::IAM::User"
            ),
            "{name}: {kind} would grant outside the function's role"
        );
    }
}

// ---------------------------------------------------------------------------------------
// The state table
// ---------------------------------------------------------------------------------------

#[test]
fn the_table_key_and_ttl_are_the_ones_the_code_uses() {
    let template = template();
    let vars = variables(&template);
    let table = &resource(&template, target(&vars["STATE_TABLE"]).unwrap())["Properties"];
    let code = source("shared/src/adapters/dynamodb.rs");
    let key = table["KeySchema"][0]["AttributeName"].as_str().unwrap();
    assert!(
        code.contains(&format!(".key(\"{key}\"")),
        "the code does not address items by {key}"
    );
    let ttl = &table["TimeToLiveSpecification"];
    assert_eq!(ttl["Enabled"], true);
    let attribute = ttl["AttributeName"].as_str().unwrap();
    assert!(
        code.contains(&format!(".item(\"{attribute}\"")),
        "the code does not write the TTL attribute {attribute}"
    );
    assert_eq!(table["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(table["SSESpecification"]["SSEEnabled"], true);
}

#[test]
fn the_tests_create_their_table_from_this_template() {
    // tests/src/aws.rs refuses table properties it does not map to moto.
    let table = presence_sync_tests::aws::state_table_definition();
    assert_eq!(table.partition_key(), "pk");
    assert_eq!(table.sort_key(), None);
    assert_eq!(table.ttl_attribute(), Some("expires_at"));
}

// ---------------------------------------------------------------------------------------
// The function as Lambda runs it
// ---------------------------------------------------------------------------------------

#[test]
fn the_function_is_built_and_run_as_an_arm64_custom_runtime() {
    let template = template();
    let (_, function) = function(&template);
    let props = &function["Properties"];
    assert_eq!(props["Runtime"], "provided.al2023");
    assert_eq!(props["Handler"], "bootstrap");
    assert_eq!(props["Architectures"], json!(["arm64"]));
    assert_eq!(function["Metadata"]["BuildMethod"], "rust-cargolambda");
    let binary = function["Metadata"]["BuildProperties"]["Binary"]
        .as_str()
        .unwrap();
    let manifest = source("functions/presence-sync/Cargo.toml");
    assert!(
        manifest.contains(&format!("name = \"{binary}\"")),
        "BuildProperties.Binary {binary} is not the presence-sync package"
    );
    let code_uri = props["CodeUri"].as_str().unwrap();
    let workspace = source(&format!("{code_uri}/Cargo.toml"));
    assert!(
        workspace.contains("functions/presence-sync"),
        "CodeUri must be the workspace root"
    );

    // One invocation may wait for a busy user, then make a full HTTP call, and still needs
    // its deadline margin to record the result.
    let settings = Settings::default();
    let needed = settings.max_lease_wait + HttpTimeouts::default().total + settings.deadline_margin;
    let timeout = props["Timeout"].as_u64().expect("a literal Timeout");
    assert!(
        timeout as f64 > needed.as_secs_f64(),
        "Timeout {timeout} s leaves no room for {needed:?} of waiting, calling and recording"
    );
    assert_eq!(props["LoggingConfig"]["LogFormat"], "JSON");
}

#[test]
fn asynchronous_invocation_gives_up_on_stale_presence_into_a_queue() {
    let template = template();
    let (_, function) = function(&template);
    let config = &function["Properties"]["EventInvokeConfig"];
    assert_eq!(config["MaximumRetryAttempts"], 2);
    let age = config["MaximumEventAgeInSeconds"].as_u64().unwrap();
    assert!(
        (60..=900).contains(&age),
        "stale presence is worthless after minutes: {age} s"
    );
    let on_failure = &config["DestinationConfig"]["OnFailure"];
    assert_eq!(on_failure["Type"], "SQS");
    assert_eq!(
        resource(&template, target(&on_failure["Destination"]).unwrap())["Type"],
        "AWS::SQS::Queue"
    );
}

// ---------------------------------------------------------------------------------------
// The EventBridge rule
// ---------------------------------------------------------------------------------------

fn rule(template: &Value) -> Value {
    let (_, function) = function(template);
    let events: Vec<_> = function["Properties"]["Events"]
        .as_object()
        .expect("the function has Events")
        .values()
        .cloned()
        .collect();
    assert_eq!(events.len(), 1, "one event source: the partner bus rule");
    assert_eq!(events[0]["Type"], "EventBridgeRule");
    events[0]["Properties"].clone()
}

/// The rule's pattern with the template's parameters filled in (the partner event source name
/// is the one the test events carry).
fn rule_pattern(template: &Value) -> Value {
    fn resolve(value: &Value) -> Value {
        match value {
            Value::Object(map) if map.len() == 1 && map.contains_key("Ref") => {
                match map["Ref"].as_str() {
                    Some("GenesysEventSourceName") => json!(SOURCE),
                    other => panic!("the rule's pattern refers to {other:?}: resolve it here"),
                }
            }
            Value::Object(map) => {
                for key in map.keys() {
                    assert!(
                        !key.starts_with("Fn::"),
                        "the rule's pattern uses {key}: resolve it here"
                    );
                }
                Value::Object(map.iter().map(|(k, v)| (k.clone(), resolve(v))).collect())
            }
            Value::Array(items) => Value::Array(items.iter().map(resolve).collect()),
            other => other.clone(),
        }
    }
    resolve(&rule(template)["Pattern"])
}

/// Whether EventBridge's pattern matching, as moto implements it, matches each event: the
/// oracle for the rule's pattern (`tests/infra/event_pattern.py` runs moto's `EventPattern`,
/// the matcher behind moto's PutEvents; moto 5.2.5 does not implement `TestEventPattern`).
fn moto_matches(pattern: &Value, events: &[Value]) -> Vec<bool> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let script = repo_root().join("tests/infra/event_pattern.py");
    let mut child = Command::new(presence_sync_tests::moto::python_path())
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {}: {e} (scripts/setup-venv.sh?)", script.display()));
    let request = json!({ "pattern": pattern, "events": events });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{} failed: {}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let answers: Vec<bool> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(answers.len(), events.len());
    answers
}

fn fixtures() -> Vec<(String, Value)> {
    let dir = repo_root().join("tests/fixtures");
    let mut events: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let event: Value = serde_json::from_str(&text).unwrap();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                event,
            )
        })
        .filter(|(_, event)| event.get("detail-type").is_some())
        .collect();
    events.sort_by(|a, b| a.0.cmp(&b.0));
    events
}

#[test]
fn the_rule_accepts_every_sample_event_of_the_three_topics() {
    let template = template();
    let pattern = rule_pattern(&template);
    let fixtures = fixtures();
    let events: Vec<Value> = fixtures.iter().map(|(_, event)| event.clone()).collect();
    let mut topics = BTreeSet::new();
    for ((name, event), matched) in fixtures.iter().zip(moto_matches(&pattern, &events)) {
        assert_eq!(
            event["source"], SOURCE,
            "tests/fixtures/{name} comes from the test org"
        );
        assert!(matched, "the rule rejects tests/fixtures/{name}");
        topics.insert(event["detail-type"].as_str().unwrap().to_owned());
    }
    let expected: BTreeSet<String> = [
        "v2.users.{id}.activity",
        "v2.users.{id}.presence",
        "v2.users.{id}.routingStatus",
    ]
    .map(String::from)
    .into();
    assert_eq!(topics, expected, "the fixtures cover the three topics");
    let listed: BTreeSet<String> = as_list(&pattern["detail-type"])
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, expected, "the rule lists exactly the three topics");
}

#[test]
fn the_rule_rejects_other_sources_and_topics() {
    let template = template();
    let (_, sample) = fixtures().into_iter().next().expect("a sample event");
    let with = |key: &str, value: Value| {
        let mut event = sample.clone();
        event[key] = value;
        event
    };
    let without = |key: &str| {
        let mut event = sample.clone();
        event.as_object_mut().unwrap().remove(key);
        event
    };
    let cases = [
        (
            "a longer suffix",
            with("source", json!(format!("{SOURCE}2"))),
        ),
        ("a sub-path", with("source", json!(format!("{SOURCE}/x")))),
        (
            "another org",
            with(
                "source",
                json!(
                    "aws.partner/genesys.com/cloud/00000000-0000-4000-8000-000000000000/presence-sync"
                ),
            ),
        ),
        (
            "the org's prefix",
            with(
                "source",
                json!("aws.partner/genesys.com/cloud/7c1f3a3e-1111-4a4a-9c9c-0123456789ab/"),
            ),
        ),
        ("another case", with("source", json!(SOURCE.to_uppercase()))),
        (
            "another partner",
            with("source", json!("aws.partner/example.com/123/presence")),
        ),
        (
            "a look-alike",
            with("source", json!("aws.partner/genesys.com/cloudy/x/y")),
        ),
        ("a custom source", with("source", json!("genesys"))),
        (
            "another topic",
            with("detail-type", json!("v2.users.{id}.conversations")),
        ),
        (
            "a topic in another case",
            with("detail-type", json!("v2.users.{id}.Presence")),
        ),
        (
            "a concrete topic",
            with(
                "detail-type",
                json!("v2.users.3f9e6a2b-5d4c-4b1a-8e7f-112233445566.presence"),
            ),
        ),
        ("no source", without("source")),
        ("no detail-type", without("detail-type")),
    ];
    let mut events: Vec<Value> = cases.iter().map(|(_, event)| event.clone()).collect();
    // The oracle is not blind: the unchanged sample matches in the same call.
    events.push(sample.clone());
    let matched = moto_matches(&rule_pattern(&template), &events);
    assert_eq!(matched.last(), Some(&true), "the sample itself must match");
    for ((case, event), matched) in cases.iter().zip(&matched) {
        assert!(
            !matched,
            "the rule accepts {case}: {} {}",
            event["source"], event["detail-type"]
        );
    }
}

#[test]
fn the_rule_filters_like_the_function_on_the_partner_bus() {
    let template = template();
    let rule = rule(&template);
    // The rule and the function accept the same one source: the partner event source name.
    assert_eq!(
        rule["Pattern"]["source"],
        json!([{ "Ref": "GenesysEventSourceName" }])
    );
    assert_eq!(
        variables(&template)["ALLOWED_SOURCE"],
        json!({ "Ref": "GenesysEventSourceName" })
    );

    let bus = target(&rule["EventBusName"]).expect("EventBusName is a !Ref");
    let bus = &resource(&template, bus)["Properties"];
    assert_eq!(bus["Name"], json!({ "Ref": "GenesysEventSourceName" }));
    assert_eq!(
        bus["EventSourceName"],
        json!({ "Ref": "GenesysEventSourceName" })
    );
    assert!(rule["RetryPolicy"].is_object(), "a retry policy");
    let dlq = target(&rule["DeadLetterConfig"]["Arn"]).expect("a dead-letter queue of this stack");
    assert_eq!(resource(&template, dlq)["Type"], "AWS::SQS::Queue");
}

/// The expiring-secret alarm counts the function's own warning: the metric filter must match
/// the message the code writes, in the log group the function writes to.
#[test]
fn the_expiring_secret_alarm_counts_the_warning_the_code_writes() {
    let t = template();
    let filter = &t["Resources"]["AzureSecretExpiringMetricFilter"]["Properties"];
    let pattern = filter["FilterPattern"].as_str().expect("a filter pattern");
    let message = presence_core::adapters::oauth::SECRET_EXPIRING_MESSAGE;
    assert_eq!(pattern, format!("{{ $.fields.message = \"{message}\" }}"));
    assert_eq!(filter["LogGroupName"], json!({"Ref": "FunctionLogGroup"}));
    let metric = &filter["MetricTransformations"][0];
    let alarm = &t["Resources"]["AzureSecretExpiringAlarm"]["Properties"];
    assert_eq!(alarm["Namespace"], metric["MetricNamespace"]);
    assert_eq!(alarm["MetricName"], metric["MetricName"]);
    assert_eq!(alarm["AlarmActions"], json!([{"Ref": "AlarmTopic"}]));
}
