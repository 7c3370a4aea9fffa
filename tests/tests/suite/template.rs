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

/// The event function, the scheduled reconciler and the watcher (the reverse direction, a
/// conditional resource): the template's resource name and the package that builds it.
const SYNC: &str = "PresenceSyncFunction";
const RECONCILE: &str = "PresenceReconcileFunction";
const WATCH: &str = "PresenceWatchFunction";
const FUNCTIONS: [(&str, &str); 3] = [
    (SYNC, "presence-sync"),
    (RECONCILE, "presence-reconcile"),
    (WATCH, "presence-watch"),
];

/// The template's `AWS::Serverless::Function`s: exactly the three of [`FUNCTIONS`].
fn functions(template: &Value) -> Vec<(String, Value)> {
    let functions: Vec<_> = template["Resources"]
        .as_object()
        .expect("Resources is a mapping")
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(name, r)| (name.clone(), r.clone()))
        .collect();
    let names: BTreeSet<&str> = functions.iter().map(|(n, _)| n.as_str()).collect();
    let expected: BTreeSet<&str> = FUNCTIONS.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, expected, "the functions of template.yaml");
    functions
}

/// The event function (name, resource).
fn function(template: &Value) -> (String, Value) {
    functions(template)
        .into_iter()
        .find(|(name, _)| name == SYNC)
        .expect("the event function")
}

/// The event function's environment.
fn variables(template: &Value) -> Map<String, Value> {
    variables_of(&function(template).1)
}

fn variables_of(function: &Value) -> Map<String, Value> {
    function["Properties"]["Environment"]["Variables"]
        .as_object()
        .expect("the function has Environment.Variables")
        .clone()
}

#[test]
fn no_globals_hide_a_functions_settings() {
    assert!(
        template().get("Globals").is_none(),
        "template.yaml has Globals: set each function's environment on the function only"
    );
}

// ---------------------------------------------------------------------------------------
// Reading the code
// ---------------------------------------------------------------------------------------

/// A source file's text, or every `.rs` file's of a folder (an adapter split into files).
fn source(relative: &str) -> String {
    let path = repo_root().join(relative);
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    };
    if !path.is_dir() {
        return read(&path);
    }
    let mut files: Vec<_> = std::fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", path.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    files.iter().map(|p| read(p)).collect::<Vec<_>>().join("\n")
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
    let actions = sdk_actions("shared/src/adapters/dynamodb", "dynamodb");
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
fn every_variable_the_functions_need_is_always_set() {
    let template = template();
    for (function, resource) in functions(&template) {
        let vars = variables_of(&resource);
        for name in REQUIRED_VARIABLES.iter().chain(&["GENESYS_ENVIRONMENT"]) {
            let value = vars.get(*name).unwrap_or_else(|| {
                panic!("template.yaml does not set {name}, which {function} needs")
            });
            always_set(name, value);
        }
    }
}

fn always_set(name: &str, value: &Value) {
    {
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
fn no_variable_is_set_that_the_functions_do_not_read() {
    let template = template();
    for (function, resource) in functions(&template) {
        for name in variables_of(&resource).keys() {
            assert!(
                VARIABLES.contains(&name.as_str()),
                "template.yaml sets {name} on {function}, which presence_core::config does not read (VARIABLES)"
            );
        }
    }
}

#[test]
fn the_functions_share_the_table_secrets_and_settings() {
    let template = template();
    let sync = variables(&template);
    let reconcile = variables_of(&resource(&template, RECONCILE).clone());
    let watch = variables_of(&resource(&template, WATCH).clone());
    for name in [
        "STATE_TABLE",
        "AZURE_SECRET_ID",
        "GENESYS_SECRET_ID",
        "GENESYS_ENVIRONMENT",
        "PRESENCE_MAPPING",
        "PRESENCE_EXPIRATION",
        "METRICS_NAMESPACE",
        "SYNC_SCOPE",
        "PRESENCE_MODE",
    ] {
        assert_eq!(sync.get(name), reconcile.get(name), "{name}");
    }
    for name in [
        "STATE_TABLE",
        "AZURE_SECRET_ID",
        "GENESYS_ENVIRONMENT",
        "PRESENCE_MAPPING",
        "METRICS_NAMESPACE",
        "SYNC_SCOPE",
    ] {
        assert_eq!(sync.get(name), watch.get(name), "{name}");
    }
    // The watcher's Genesys client: its own when the stack is given one, else the same.
    assert_eq!(
        watch["GENESYS_SECRET_ID"],
        json!({"Fn::If": ["WatcherOwnClient", {"Ref": "ExistingWatcherGenesysSecretArn"}, sync["GENESYS_SECRET_ID"]]})
    );
    // One switch: TeamsToGenesys on runs the watcher and makes the other two two-way.
    assert_eq!(
        sync["PRESENCE_MODE"],
        json!({"Fn::If": ["WatchOn", "two-way", "one-way"]})
    );
    assert_eq!(watch["PRESENCE_MODE"], "two-way");
}

#[test]
fn the_watcher_is_off_by_default_and_runs_alone_every_five_minutes() {
    let template = template();
    assert_eq!(template["Parameters"]["TeamsToGenesys"]["Default"], "off");
    assert_eq!(
        template["Conditions"]["WatchOn"],
        json!({"Fn::Equals": [{"Ref": "TeamsToGenesys"}, "on"]})
    );
    for name in [
        WATCH,
        "PresenceWatchRole",
        "WatchLogGroup",
        "WatcherFailingAlarm",
        "WatcherStalledAlarm",
    ] {
        assert_eq!(resource(&template, name)["Condition"], "WatchOn", "{name}");
    }
    let props = &resource(&template, WATCH)["Properties"];
    assert_eq!(props["ReservedConcurrentExecutions"], 1);
    assert_eq!(props["EventInvokeConfig"]["MaximumRetryAttempts"], 0);
    assert_eq!(
        props["Events"]["Every"]["Properties"]["Schedule"],
        "rate(5 minutes)"
    );
    let timeout = props["Timeout"].as_u64().unwrap();
    assert!(
        timeout < 300,
        "Timeout {timeout} s: a run must end before the next one starts"
    );
    // Long enough that a run walks the records again within it, three times at least
    // (policy::WATCH_WALK_EVERY apart, each walk given WATCH_ROSTER_TIME).
    let walk_again =
        presence_core::policy::WATCH_WALK_EVERY + presence_core::policy::WATCH_ROSTER_TIME;
    assert!(timeout > 3 * walk_again.as_secs(), "Timeout {timeout} s");
    let vars = variables_of(&resource(&template, WATCH).clone());
    assert_eq!(vars["ON_QUEUE_POLICY"], json!({"Ref": "OnQueuePolicy"}));
    assert_eq!(
        template["Parameters"]["OnQueuePolicy"]["AllowedValues"],
        json!(["leave", "take-off"])
    );
    assert_eq!(template["Parameters"]["OnQueuePolicy"]["Default"], "leave");
}

#[test]
fn the_watcher_takes_most_of_a_genesys_client_of_its_own_and_a_fifth_of_a_shared_one() {
    let template = template();
    assert_eq!(
        template["Conditions"]["WatcherOwnClient"],
        json!({"Fn::Not": [{"Fn::Equals": [{"Ref": "ExistingWatcherGenesysSecretArn"}, ""]}]})
    );
    assert_eq!(
        template["Parameters"]["ExistingWatcherGenesysSecretArn"]["Default"],
        ""
    );
    let watch = variables_of(&resource(&template, WATCH).clone());
    let own = presence_core::config::OWN_CLIENT_SHARE_PERCENT.to_string();
    assert_eq!(
        watch["WATCH_GENESYS_SHARE_PERCENT"],
        json!({"Fn::If": ["WatcherOwnClient", own, "20"]})
    );
    // A shared client's fifth is the library's default, and both shares are valid.
    let config = |share: Option<&str>| {
        let mut env = vec![
            ("STATE_TABLE", "t"),
            ("AZURE_SECRET_ID", "a"),
            ("GENESYS_SECRET_ID", "g"),
            ("GENESYS_ENVIRONMENT", "mypurecloud.com"),
            ("PRESENCE_MODE", "two-way"),
        ];
        env.extend(share.map(|s| ("WATCH_GENESYS_SHARE_PERCENT", s)));
        presence_core::config::Config::from_lookup(|name| {
            env.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        })
        .expect("a valid configuration")
        .watch
        .genesys_share_percent
    };
    assert_eq!(config(None), 20);
    assert_eq!(config(Some("90")), 90);
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
    // The pacing of Graph writes is derived from the concurrency Lambda actually reserves.
    assert_eq!(
        vars["RESERVED_CONCURRENCY"],
        json!({ "Ref": "ReservedConcurrency" })
    );
    assert_eq!(
        function(&template).1["Properties"]["ReservedConcurrentExecutions"],
        json!({ "Ref": "ReservedConcurrency" })
    );
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

/// The DynamoDB actions only the reconciler needs: its walk (the record scan) and its sweep's
/// batched reads.
fn scan_actions() -> BTreeSet<String> {
    let mut actions = sdk_actions("shared/src/adapters/dynamodb/scan.rs", "dynamodb");
    actions.extend(sdk_actions(
        "shared/src/adapters/dynamodb/batch_read.rs",
        "dynamodb",
    ));
    actions
}

#[test]
fn each_role_grants_exactly_what_its_function_calls_on_exactly_its_resources() {
    let template = template();
    for (name, function) in functions(&template) {
        let props = &function["Properties"];
        assert!(
            props.get("Policies").is_none(),
            "{name}: SAM policies on the function would widen the written-out role"
        );
        let role = target(&props["Role"]).expect("Role is !GetAtt <role>.Arn");
        let vars = variables_of(&function);

        let mut expected = BTreeSet::new();
        let table = target(&vars["STATE_TABLE"]).unwrap();
        let mut table_actions = dynamodb_actions();
        if name == SYNC {
            // The event function never walks the table.
            table_actions.retain(|action| !scan_actions().contains(action));
        }
        for action in table_actions {
            expected.insert((action, get_att(table, "Arn").to_string()));
        }
        for secret in ["AZURE_SECRET_ID", "GENESYS_SECRET_ID"] {
            for action in secrets_actions() {
                expected.insert((action, vars[secret].to_string()));
            }
        }
        let on_failure = &props["EventInvokeConfig"]["DestinationConfig"]["OnFailure"];
        if let Some(failure) = target(&on_failure["Destination"]) {
            expected.insert((
                "sqs:SendMessage".into(),
                get_att(failure, "Arn").to_string(),
            ));
        }
        let log_group =
            target(&props["LoggingConfig"]["LogGroup"]).expect("LoggingConfig.LogGroup");
        for action in ["logs:CreateLogStream", "logs:PutLogEvents"] {
            expected.insert((action.into(), get_att(log_group, "Arn").to_string()));
        }

        let granted = granted(&template, role);
        let extra: Vec<_> = granted.difference(&expected).collect();
        let missing: Vec<_> = expected.difference(&granted).collect();
        assert!(
            extra.is_empty() && missing.is_empty(),
            "{name}'s role does not match what the code calls\n  granted but not used: {extra:#?}\n  used but not granted: {missing:#?}"
        );
    }
    assert_eq!(
        scan_actions(),
        BTreeSet::from([
            "dynamodb:BatchGetItem".to_owned(),
            "dynamodb:Scan".to_owned()
        ]),
        "the scanner reads the record scan and the sweep's batched reads"
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
    let code = source("shared/src/adapters/dynamodb");
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
fn the_functions_are_built_and_run_as_arm64_custom_runtimes() {
    let template = template();
    for (name, function) in functions(&template) {
        let props = &function["Properties"];
        assert_eq!(props["Runtime"], "provided.al2023", "{name}");
        assert_eq!(props["Handler"], "bootstrap", "{name}");
        assert_eq!(props["Architectures"], json!(["arm64"]), "{name}");
        assert_eq!(function["Metadata"]["BuildMethod"], "rust-cargolambda");
        assert_eq!(props["LoggingConfig"]["LogFormat"], "JSON", "{name}");
        let binary = function["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap();
        let package = FUNCTIONS.iter().find(|(n, _)| *n == name).unwrap().1;
        let manifest = source(&format!("functions/{package}/Cargo.toml"));
        assert!(
            binary == package && manifest.contains(&format!("name = \"{binary}\"")),
            "{name}: BuildProperties.Binary {binary} is not the {package} package"
        );
        let code_uri = props["CodeUri"].as_str().unwrap();
        let workspace = source(&format!("{code_uri}/Cargo.toml"));
        assert!(
            workspace.contains(&format!("functions/{package}")),
            "{name}: CodeUri must be the workspace root, with the package a member"
        );
    }
}

#[test]
fn the_event_function_has_time_to_wait_call_and_record() {
    let template = template();
    let (_, function) = function(&template);
    let props = &function["Properties"];
    // One invocation may wait for a busy user, then make a full HTTP call, and still needs
    // its deadline margin to record the result.
    let settings = Settings::default();
    let needed = settings.max_lease_wait + HttpTimeouts::default().total + settings.deadline_margin;
    let timeout = props["Timeout"].as_u64().expect("a literal Timeout");
    assert!(
        timeout as f64 > needed.as_secs_f64(),
        "Timeout {timeout} s leaves no room for {needed:?} of waiting, calling and recording"
    );
}

#[test]
fn the_reconciler_runs_alone_and_ends_before_its_next_run() {
    let template = template();
    let props = &resource(&template, RECONCILE)["Properties"];
    assert_eq!(props["ReservedConcurrentExecutions"], 1);
    assert_eq!(props["EventInvokeConfig"]["MaximumRetryAttempts"], 0);
    let schedule = &props["Events"]["Every"];
    assert_eq!(schedule["Type"], "Schedule");
    assert_eq!(
        schedule["Properties"]["Schedule"],
        json!({"Fn::Sub": "rate(${ReconcileEveryMinutes} minutes)"})
    );
    let periods = as_list(&template["Parameters"]["ReconcileEveryMinutes"]["AllowedValues"]);
    let shortest = periods.iter().filter_map(Value::as_u64).min().unwrap();
    assert!(
        shortest >= 2,
        "rate(1 minutes) is not a schedule expression"
    );
    let timeout = props["Timeout"].as_u64().unwrap();
    assert!(
        timeout < shortest * 60,
        "Timeout {timeout} s: a run must end before the next one starts"
    );
    let vars = variables_of(&resource(&template, RECONCILE).clone());
    assert_eq!(vars["DRIFT_POLICY"], json!({"Ref": "DriftPolicy"}));
    assert_eq!(
        template["Parameters"]["DriftPolicy"]["AllowedValues"],
        json!(["report", "repair"])
    );
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

#[test]
fn only_the_function_sends_failure_records_and_only_this_account_redrives_them() {
    let template = template();
    let (_, function) = function(&template);
    let props = &function["Properties"];
    let queue =
        target(&props["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Destination"])
            .unwrap()
            .to_owned();
    let role = target(&props["Role"]).unwrap();
    let policies: Vec<&Value> = template["Resources"]
        .as_object()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::SQS::QueuePolicy")
        .filter(|r| as_list(&r["Properties"]["Queues"]).contains(&json!({ "Ref": queue })))
        .collect();
    assert_eq!(policies.len(), 1, "one policy on the failure queue");
    let statements = as_list(&policies[0]["Properties"]["PolicyDocument"]["Statement"]);
    // Nothing is granted here (the function's role and the operators' IAM do that); it only
    // narrows who may act.
    assert!(
        statements.iter().all(|s| s["Effect"] == "Deny"),
        "{statements:#?}"
    );
    let denies = |action: &str| -> Vec<&Value> {
        statements
            .iter()
            .filter(|s| as_list(&s["Action"]).contains(&json!(action)))
            .collect()
    };
    // Lambda sends an on-failure record with the function's execution role.
    let send = denies("sqs:SendMessage");
    assert_eq!(send.len(), 1);
    assert_eq!(send[0]["Principal"], "*");
    assert_eq!(send[0]["Resource"], get_att(&queue, "Arn"));
    assert_eq!(
        send[0]["Condition"],
        json!({"ArnNotEquals": {"aws:PrincipalArn": get_att(role, "Arn")}})
    );
    // The redrive's calls (presencectl/src/redrive.rs): from this account only.
    for action in [
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
    ] {
        let statement = denies(action);
        assert_eq!(statement.len(), 1, "{action}");
        assert_eq!(
            statement[0]["Condition"],
            json!({"StringNotEquals": {"aws:PrincipalAccount": {"Ref": "AWS::AccountId"}}}),
            "{action}"
        );
    }
    // The account's administrators are not locked out: nothing denies managing the queue or
    // its policy.
    for action in [
        "sqs:SetQueueAttributes",
        "sqs:GetQueueAttributes",
        "sqs:DeleteQueue",
    ] {
        assert!(denies(action).is_empty(), "{action} is denied");
    }
    assert!(
        statements
            .iter()
            .flat_map(|s| as_list(&s["Action"]))
            .all(|a| !a.as_str().unwrap_or_default().contains('*')),
        "a wildcard action would deny administrators too"
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

// ---------------------------------------------------------------------------------------
// Metrics: the dashboard, the alarms and the saved queries against the code
// ---------------------------------------------------------------------------------------

use presence_core::metrics as emitted;
use std::collections::BTreeMap;

/// What the dashboard's `${MetricsNamespace}` and `${PresenceSyncFunction}` become here.
const NAMESPACE: &str = "<namespace>";
const FUNCTION_NAME: &str = "<function>";
const RECONCILER_NAME: &str = "<reconciler>";
const WATCHER_NAME: &str = "<watcher>";

/// The dashboard body as JSON, with the template's `${...}` references filled in: the
/// namespace and function as placeholders, parameters with their defaults, queues by name.
fn dashboard_body(template: &Value) -> Value {
    let dashboards: Vec<_> = template["Resources"]
        .as_object()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::CloudWatch::Dashboard")
        .collect();
    assert_eq!(dashboards.len(), 1, "one dashboard");
    let text = dashboards[0]["Properties"]["DashboardBody"]["Fn::Sub"]
        .as_str()
        .expect("DashboardBody is a !Sub of a literal");
    let mut filled = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        filled.push_str(&rest[..at]);
        let end = rest[at..].find('}').expect("a closed ${...}");
        let name = &rest[at + 2..at + end];
        filled.push_str(&match name {
            "MetricsNamespace" => NAMESPACE.to_owned(),
            "PresenceSyncFunction" => FUNCTION_NAME.to_owned(),
            "PresenceReconcileFunction" => RECONCILER_NAME.to_owned(),
            "PresenceWatchFunction" => WATCHER_NAME.to_owned(),
            "AWS::Region" => "eu-west-1".to_owned(),
            "AWS::StackName" => "stack".to_owned(),
            parameter if template["Parameters"].get(parameter).is_some() => {
                template["Parameters"][parameter]["Default"].to_string()
            }
            attribute => {
                let (queue, attr) = attribute
                    .split_once('.')
                    .unwrap_or_else(|| panic!("the dashboard refers to ${{{attribute}}}"));
                assert_eq!(attr, "QueueName", "{attribute}");
                assert_eq!(resource(template, queue)["Type"], "AWS::SQS::Queue");
                format!("<queue {queue}>")
            }
        });
        rest = &rest[at + end + 1..];
    }
    filled.push_str(rest);
    serde_json::from_str(&filled)
        .unwrap_or_else(|e| panic!("the dashboard body is not JSON ({e}):\n{filled}"))
}

/// A metric a widget or an alarm shows: namespace, name, dimensions (a value, or `None`
/// when a SEARCH leaves the dimension open).
#[derive(Debug)]
struct Shown {
    namespace: String,
    name: String,
    dims: BTreeMap<String, Option<String>>,
    search: bool,
}

/// `SEARCH('{namespace,dim,...} MetricName="X" dim="value"', 'Stat', period)`.
fn parse_search(expression: &str) -> Shown {
    let inner = expression
        .strip_prefix("SEARCH('")
        .and_then(|s| s.split_once('\''))
        .map(|(inner, _)| inner)
        .unwrap_or_else(|| panic!("not a SEARCH expression: {expression}"));
    let (schema, filters) = inner
        .strip_prefix('{')
        .and_then(|s| s.split_once('}'))
        .unwrap_or_else(|| panic!("SEARCH without a schema: {expression}"));
    let mut schema = schema.split(',').map(|part| part.trim().trim_matches('"'));
    let namespace = schema.next().unwrap().to_owned();
    let mut dims: BTreeMap<String, Option<String>> =
        schema.map(|dim| (dim.to_owned(), None)).collect();
    let mut name = None;
    for filter in filters.split_whitespace() {
        let (key, value) = filter
            .split_once('=')
            .unwrap_or_else(|| panic!("a filter that is not key=\"value\": {filter}"));
        let value = value.trim_matches('"').to_owned();
        if key == "MetricName" {
            name = Some(value);
        } else {
            let slot = dims.get_mut(key).unwrap_or_else(|| {
                panic!("SEARCH filters on {key}, not in its schema: {expression}")
            });
            *slot = Some(value);
        }
    }
    Shown {
        namespace,
        name: name.unwrap_or_else(|| panic!("SEARCH without MetricName: {expression}")),
        dims,
        search: true,
    }
}

/// Every metric the dashboard shows, with the widget's title.
fn dashboard_metrics(body: &Value) -> Vec<(String, Shown)> {
    let mut shown = Vec::new();
    for widget in body["widgets"].as_array().expect("widgets") {
        if widget["type"] != "metric" {
            continue;
        }
        let title = widget["properties"]["title"]
            .as_str()
            .unwrap_or("?")
            .to_owned();
        for line in widget["properties"]["metrics"].as_array().expect("metrics") {
            let items = line.as_array().expect("a metric line is an array");
            if let Some(expression) = items[0].get("expression") {
                shown.push((title.clone(), parse_search(expression.as_str().unwrap())));
                continue;
            }
            let strings: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            assert!(
                strings.len() >= 2 && strings.len().is_multiple_of(2) && !strings.contains(&"."),
                "{title}: write each metric line in full: {line}"
            );
            shown.push((
                title.clone(),
                Shown {
                    namespace: strings[0].to_owned(),
                    name: strings[1].to_owned(),
                    dims: strings[2..]
                        .chunks(2)
                        .map(|kv| (kv[0].to_owned(), Some(kv[1].to_owned())))
                        .collect(),
                    search: false,
                },
            ));
        }
    }
    shown
}

/// The `service` values the code writes.
fn services() -> Vec<&'static str> {
    use emitted::Remote as R;
    [
        R::SecretsManager,
        R::EntraId,
        R::Graph,
        R::GenesysLogin,
        R::GenesysScim,
        R::DynamoDB,
    ]
    .map(R::as_str)
    .to_vec()
}

/// Checks one metric of the function's namespace against the code's table: declared, shown
/// under a dimension set the code publishes, with values the code writes.
fn check_declared(at: &str, name: &str, dims: &BTreeMap<String, Option<String>>) {
    let metric = emitted::declared(name)
        .unwrap_or_else(|| panic!("{at}: {name} is not a metric shared/src/metrics.rs declares"));
    let keys: Vec<&str> = dims.keys().map(String::as_str).collect();
    assert!(
        metric.dimension_sets.iter().any(|set| {
            let mut set = set.to_vec();
            set.sort_unstable();
            set == keys
        }),
        "{at}: {name} is published under the dimension sets {:?}, not {keys:?}",
        metric.dimension_sets
    );
    let statuses = ["2xx", "3xx", "4xx", "429", "5xx", "timeout", "transport"];
    for (key, value) in dims {
        let Some(value) = value else { continue };
        let known = match key.as_str() {
            "function" => match metric.emitter {
                emitted::Emitter::Sync => value == FUNCTION_NAME,
                emitted::Emitter::Reconciler => value == RECONCILER_NAME,
                emitted::Emitter::Both => value == FUNCTION_NAME || value == RECONCILER_NAME,
                emitted::Emitter::Watcher => value == WATCHER_NAME,
            },
            "outcome" => emitted::OUTCOMES.contains(&value.as_str()),
            "service" => services().contains(&value.as_str()),
            "status" => statuses.contains(&value.as_str()),
            _ => true,
        };
        assert!(
            known,
            "{at}: {name} with {key}={value}, a value the code never writes"
        );
    }
}

#[test]
fn the_dashboard_shows_only_metrics_the_code_declares_and_all_of_them() {
    let template = template();
    let body = dashboard_body(&template);
    let shown = dashboard_metrics(&body);
    let queues = ["<queue AsyncFailureQueue>", "<queue EventDeliveryDLQ>"];
    let mut names = BTreeSet::new();
    for (title, metric) in &shown {
        let at = format!("dashboard widget {title:?}");
        match metric.namespace.as_str() {
            NAMESPACE => check_declared(&at, &metric.name, &metric.dims),
            "AWS/Lambda" => {
                assert!(
                    [
                        "Errors",
                        "Throttles",
                        "Duration",
                        "ConcurrentExecutions",
                        "Invocations"
                    ]
                    .contains(&metric.name.as_str()),
                    "{at}: AWS/Lambda {}",
                    metric.name
                );
                let function = metric.dims.get("FunctionName").cloned().flatten();
                assert!(
                    metric.dims.len() == 1
                        && matches!(function.as_deref(), Some(FUNCTION_NAME | RECONCILER_NAME)),
                    "{at}: {:?} is not one of this stack's functions",
                    metric.dims
                );
            }
            "AWS/SQS" => {
                assert_eq!(metric.name, "ApproximateNumberOfMessagesVisible", "{at}");
                let queue = metric.dims["QueueName"].as_deref().unwrap();
                assert!(queues.contains(&queue), "{at}: {queue}");
            }
            other => panic!("{at}: namespace {other} is neither the function's nor AWS's"),
        }
        // The function's own widgets name it; the reconciler's (another function) do not.
        if metric.namespace == NAMESPACE
            && emitted::declared(&metric.name).unwrap().emitter == emitted::Emitter::Sync
        {
            assert_eq!(
                metric.dims.get("function"),
                Some(&Some(FUNCTION_NAME.to_owned())),
                "{at}: {} of another function",
                metric.name
            );
        }
        names.insert(format!("{} {}", metric.namespace, metric.name));
        if metric.namespace == "AWS/SQS" {
            names.insert(metric.dims["QueueName"].clone().unwrap());
        }
    }
    // Everything the function emits is on the dashboard, and what AWS says about it.
    let mut expected: Vec<String> = emitted::ALL
        .iter()
        .map(|m| format!("{NAMESPACE} {}", m.name))
        .collect();
    expected.extend(
        ["Errors", "Throttles", "Duration", "ConcurrentExecutions"]
            .map(|m| format!("AWS/Lambda {m}")),
    );
    expected.extend(queues.map(String::from));
    for name in expected {
        assert!(names.contains(&name), "the dashboard does not show {name}");
    }
    // The searches that list reasons: failed and skipped events.
    for outcome in ["failed", "skipped"] {
        assert!(
            shown.iter().any(|(_, m)| m.search
                && m.name == "Events"
                && m.dims.get("outcome") == Some(&Some(outcome.to_owned()))
                && m.dims.contains_key("reason")),
            "no widget shows {outcome} events by reason"
        );
    }
}

/// The metrics an alarm watches: `(namespace, name, dimensions)`, from its own properties or
/// from each `MetricStat` of its `Metrics`.
fn alarm_metrics(props: &Value) -> Vec<(Value, String, BTreeMap<String, Value>)> {
    let dims = |list: &Value| -> BTreeMap<String, Value> {
        as_list(list)
            .iter()
            .map(|d| (d["Name"].as_str().unwrap().to_owned(), d["Value"].clone()))
            .collect()
    };
    if props.get("MetricName").is_some() {
        return vec![(
            props["Namespace"].clone(),
            props["MetricName"].as_str().unwrap().to_owned(),
            dims(&props["Dimensions"]),
        )];
    }
    as_list(&props["Metrics"])
        .iter()
        .filter_map(|m| m.get("MetricStat"))
        .map(|stat| {
            let metric = &stat["Metric"];
            (
                metric["Namespace"].clone(),
                metric["MetricName"].as_str().unwrap().to_owned(),
                dims(&metric["Dimensions"]),
            )
        })
        .collect()
}

#[test]
fn the_alarms_watch_metrics_the_code_declares_and_notify_the_topic() {
    let template = template();
    let namespace = json!({"Ref": "MetricsNamespace"});
    // Metrics this template makes from the log itself (metric filters), not the code's EMF.
    let filtered: BTreeSet<String> = template["Resources"]
        .as_object()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::Logs::MetricFilter")
        .flat_map(|r| as_list(&r["Properties"]["MetricTransformations"]))
        .map(|t| t["MetricName"].as_str().unwrap().to_owned())
        .collect();
    let mut watched = BTreeSet::new();
    for (name, alarm) in template["Resources"].as_object().unwrap() {
        if alarm["Type"] != "AWS::CloudWatch::Alarm" {
            continue;
        }
        let props = &alarm["Properties"];
        assert_eq!(
            props["AlarmActions"],
            json!([{"Ref": "AlarmTopic"}]),
            "{name}"
        );
        for (ns, metric, dims) in alarm_metrics(props) {
            if ns != namespace {
                assert!(
                    ns.as_str().is_some_and(|ns| ns.starts_with("AWS/")),
                    "{name}: namespace {ns} is neither MetricsNamespace nor AWS's"
                );
                continue;
            }
            watched.insert(metric.clone());
            if filtered.contains(&metric) {
                continue;
            }
            let at = format!("alarm {name}");
            let function = dims.get("function").and_then(|f| f["Ref"].as_str());
            assert!(
                function.is_some_and(|f| FUNCTIONS.iter().any(|(n, _)| *n == f)),
                "{at}: {metric} of another function"
            );
            let dims = dims
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().map(str::to_owned)))
                .collect();
            check_declared(&at, &metric, &dims);
            if let Some(statistic) = props["ExtendedStatistic"].as_str() {
                assert!(statistic.starts_with('p'), "{at}: {statistic}");
                assert_eq!(
                    emitted::declared(&metric).unwrap().kind,
                    emitted::Kind::Distribution,
                    "{at}: a percentile of {metric}, which is summed per invocation"
                );
            }
        }
        // Metric math refers only to metrics the alarm defines.
        let math = as_list(&props["Metrics"]);
        let ids: BTreeSet<&str> = math
            .iter()
            .filter(|m| m.get("MetricStat").is_some())
            .map(|m| m["Id"].as_str().unwrap())
            .collect();
        for expression in math.iter().filter_map(|m| m["Expression"].as_str()) {
            for id in &ids {
                assert!(
                    expression.contains(id),
                    "{name}: {id} is defined but not used in {expression}"
                );
            }
        }
    }
    for metric in ["EndToEndLag", "Throttles", "Events"] {
        assert!(watched.contains(metric), "no alarm watches {metric}");
    }
}

#[test]
fn the_action_alarm_watches_every_failure_a_person_must_fix() {
    use presence_core::ports::{RemoteError, Service};
    let template = template();
    let props = &resource(&template, "FailuresNeedingActionAlarm")["Properties"];
    let reasons: BTreeSet<String> = alarm_metrics(props)
        .into_iter()
        .map(|(_, _, dims)| dims["reason"].as_str().unwrap().to_owned())
        .collect();
    let mut expected: BTreeSet<String> = [
        Service::SecretsManager,
        Service::EntraId,
        Service::Graph,
        Service::GenesysLogin,
        Service::GenesysScim,
    ]
    .into_iter()
    .map(|service| {
        RemoteError::Denied {
            service,
            detail: String::new(),
        }
        .error_type()
        .to_owned()
    })
    .collect();
    expected.insert(
        RemoteError::Configuration {
            service: Service::Graph,
            detail: String::new(),
        }
        .error_type()
        .to_owned(),
    );
    assert_eq!(reasons, expected);
}

#[test]
fn the_metrics_namespace_is_a_parameter_with_the_codes_default() {
    let template = template();
    let parameter = &template["Parameters"]["MetricsNamespace"];
    assert_eq!(parameter["Default"], emitted::DEFAULT_NAMESPACE);
    assert_eq!(emitted::check_namespace(emitted::DEFAULT_NAMESPACE), Ok(()));
    // Every custom metric the template reads or writes is in that namespace.
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    assert!(
        !text.contains(&format!("Namespace: {}", emitted::DEFAULT_NAMESPACE)),
        "a namespace written out instead of !Ref MetricsNamespace"
    );
}

#[test]
fn the_function_writes_into_the_namespace_the_dashboard_reads() {
    let template = template();
    assert_eq!(
        variables(&template)[emitted::NAMESPACE_VARIABLE],
        json!({"Ref": "MetricsNamespace"})
    );
}

/// Every `.rs` file under `shared/src`, concatenated.
fn library_source() -> String {
    fn walk(dir: &std::path::Path, out: &mut String) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut out = String::new();
    walk(&repo_root().join("shared/src"), &mut out);
    out
}

/// Whether `code` writes a log field `field`: tracing's `field = value` (or `= %value`,
/// `= ?value`) in a macro's arguments, not a `let field = …` nor a comparison.
fn logs_field(code: &str, field: &str) -> bool {
    let needle = format!("{field} =");
    code.match_indices(&needle).any(|(at, _)| {
        let before = code[..at].trim_end();
        let starts_a_word = code[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_whitespace() || c == '(' || c == ',');
        let after = &code[at + needle.len()..];
        starts_a_word
            && !before.ends_with("let")
            && !before.ends_with("mut")
            && !after.starts_with('=')
            && !after.starts_with('>')
    })
}

#[test]
fn the_saved_queries_read_fields_and_messages_the_function_logs() {
    let template = template();
    let code = library_source();
    let queries: Vec<(&String, &Value)> = template["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Logs::QueryDefinition")
        .collect();
    assert!(queries.len() >= 3, "{} saved queries", queries.len());
    for (name, query) in queries {
        let props = &query["Properties"];
        assert_eq!(
            props["LogGroupNames"],
            json!([{"Ref": "FunctionLogGroup"}]),
            "{name}"
        );
        let text = props["QueryString"].as_str().expect("a literal query");
        let mut rest = text;
        let mut fields = BTreeSet::new();
        while let Some(at) = rest.find("fields.") {
            rest = &rest[at + "fields.".len()..];
            let field: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            fields.insert(field);
        }
        assert!(
            !fields.is_empty(),
            "{name} reads no field of the function's lines"
        );
        for field in &fields {
            assert!(
                field == "message" || logs_field(&code, field),
                "{name}: the function logs no field {field}"
            );
        }
        let mut rest = text;
        while let Some(at) = rest.find("fields.message = \"") {
            rest = &rest[at + "fields.message = \"".len()..];
            let message = &rest[..rest.find('"').unwrap()];
            assert!(
                code.contains(&format!("\"{message}\"")),
                "{name}: the function never logs the message {message:?}"
            );
        }
    }
    let history = &resource(&template, "AgentHistoryQuery")["Properties"]["QueryString"];
    assert!(
        history
            .as_str()
            .unwrap()
            .contains("filter fields.genesysUserId =")
    );
}
