//! A whole presence-sync deployment in moto, resource by resource as `template.yaml` creates
//! it, for the operator's tool (`presencectl`) to find and inspect: the state table, the two
//! secrets, the failure queue and the dead-letter queue, both functions (with their reserved
//! concurrency and asynchronous invoke configuration), the Genesys partner event source and
//! its partner event bus, the rule feeding the function, both log groups, the alarm topic, and
//! a CloudFormation stack whose outputs carry exactly the template's output keys.
//!
//! moto cannot deploy `template.yaml` itself (SAM transform, `!GetAtt` on Lambda, partner
//! buses), so [`create`] creates each resource through its own API with unique names, then a
//! stand-in stack: one `AWS::CloudFormation::WaitConditionHandle`, the dashboard, and
//! `Outputs` holding the created resources' names, ARNs and URLs as literal strings.
//!
//! moto runs Lambda without Docker (`tests/moto_server.py`): an `Invoke` never runs the
//! function's code; an asynchronous one answers 202.
//!
//! A child process (the tool) reaches every one of these services with
//! [`TestDeployment::cli_env`].

use std::collections::HashMap;

use aws_config::SdkConfig;
use serde_json::{Value, json};
use serde_yaml::Value as Yaml;

use crate::aws::{self, MOTO_ACCOUNT_ID, TEST_REGION};

/// `ReservedConcurrency`'s default in `template.yaml` (the event function); a
/// `RESERVED_CONCURRENCY` in the function environment given to [`create`] replaces it.
pub const DEFAULT_RESERVED_CONCURRENCY: i32 = 50;
/// The reconciler's `ReservedConcurrentExecutions` ("One run at a time").
pub const RECONCILE_RESERVED_CONCURRENCY: i32 = 1;
/// `LogRetentionDays`'s default.
pub const LOG_RETENTION_DAYS: i32 = 30;
/// `MetricsNamespace`'s default.
pub const METRICS_NAMESPACE: &str = "PresenceSync";
/// The `GenesysEnvironment` the functions are given unless the environment passed to
/// [`create`] says otherwise (the template has no default; `GENESYS_LOGIN_URL` and
/// `GENESYS_API_URL` take precedence in the function anyway).
pub const GENESYS_ENVIRONMENT: &str = "mypurecloud.com";
/// Both queues' `MessageRetentionPeriod` (14 days).
pub const QUEUE_RETENTION_SECONDS: &str = "1209600";

/// The keys of the `Outputs` section of `template.yaml`, in its order.
pub const OUTPUT_KEYS: [&str; 12] = [
    "FunctionArn",
    "FunctionLogGroupName",
    "ReconcileFunctionArn",
    "ReconcileLogGroupName",
    "StateTableName",
    "AzureSecretArn",
    "GenesysSecretArn",
    "FailureQueueUrl",
    "DeadLetterQueueUrl",
    "EventBusName",
    "AlarmTopicArn",
    "DashboardName",
];

/// The body of Lambda's throttling error (`TooManyRequestsException`, 429) in the Lambda REST
/// API's error shape, for [`crate::aws_proxy::AwsProxy::answer_once`] (which also sets the
/// `x-amzn-ErrorType` header from `__type`).
pub const LAMBDA_TOO_MANY_REQUESTS: &str =
    r#"{"Type":"User","message":"Rate exceeded","__type":"TooManyRequestsException"}"#;

/// The contents of the two secrets (`SecretString`, as JSON).
#[derive(Debug, Clone)]
pub struct Secrets {
    /// `{"tenant_id","client_id","client_secret"}` of the Azure app registration.
    pub azure: Value,
    /// `{"client_id","client_secret"}` of the Genesys OAuth client.
    pub genesys: Value,
}

impl Secrets {
    /// What the stack stores when it creates the secrets: `REPLACE_ME` everywhere.
    pub fn placeholders() -> Secrets {
        Secrets {
            azure: json!({"tenant_id": "REPLACE_ME", "client_id": "REPLACE_ME", "client_secret": "REPLACE_ME"}),
            genesys: json!({"client_id": "REPLACE_ME", "client_secret": "REPLACE_ME"}),
        }
    }

    /// The credentials a [`crate::world::World`]'s fakes accept.
    pub fn for_world() -> Secrets {
        use crate::world::{
            AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET, TENANT,
        };
        Secrets {
            azure: json!({"tenant_id": TENANT, "client_id": AZURE_CLIENT_ID, "client_secret": AZURE_CLIENT_SECRET}),
            genesys: json!({"client_id": GENESYS_CLIENT_ID, "client_secret": GENESYS_CLIENT_SECRET}),
        }
    }
}

/// Every name, ARN and URL of a deployment created by [`create`].
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TestDeployment {
    /// The stand-in CloudFormation stack (its outputs: [`TestDeployment::outputs`]).
    pub stack_name: String,
    pub stack_id: String,
    /// The presence-sync function.
    pub function_name: String,
    pub function_arn: String,
    pub function_role_arn: String,
    pub function_log_group: String,
    /// Its reserved concurrency (`ReservedConcurrency`).
    pub reserved_concurrency: i32,
    /// The presence-reconcile function.
    pub reconcile_function_name: String,
    pub reconcile_function_arn: String,
    pub reconcile_role_arn: String,
    pub reconcile_log_group: String,
    pub state_table: String,
    pub azure_secret_name: String,
    pub azure_secret_arn: String,
    pub genesys_secret_name: String,
    pub genesys_secret_arn: String,
    /// The function's on-failure destination (`AsyncFailureQueue`).
    pub failure_queue_name: String,
    pub failure_queue_url: String,
    pub failure_queue_arn: String,
    /// The rule's dead-letter queue (`EventDeliveryDLQ`).
    pub dead_letter_queue_name: String,
    pub dead_letter_queue_url: String,
    pub dead_letter_queue_arn: String,
    /// The Genesys org id in the partner event source name.
    pub genesys_org_id: String,
    /// `aws.partner/genesys.com/cloud/<org id>/presence-sync`.
    pub partner_source_name: String,
    /// As moto gives it (moto repeats `aws.partner/`: see [`create`]).
    pub partner_source_arn: String,
    /// The partner event bus: named after the partner event source.
    pub event_bus_name: String,
    pub event_bus_arn: String,
    /// The rule on the partner bus that targets the function.
    pub rule_name: String,
    pub rule_arn: String,
    /// The rule's event pattern, as put (the template's, with the source name).
    pub event_pattern: Value,
    pub alarm_topic_arn: String,
    pub dashboard_name: String,
    /// The environment both functions were created with.
    pub function_env: Vec<(String, String)>,
    pub reconcile_env: Vec<(String, String)>,
}

impl TestDeployment {
    /// The stack's outputs: exactly the keys of `template.yaml`'s `Outputs` ([`OUTPUT_KEYS`]),
    /// with this deployment's values.
    pub fn outputs(&self) -> Vec<(&'static str, String)> {
        OUTPUT_KEYS
            .iter()
            .map(|key| {
                let value = match *key {
                    "FunctionArn" => &self.function_arn,
                    "FunctionLogGroupName" => &self.function_log_group,
                    "ReconcileFunctionArn" => &self.reconcile_function_arn,
                    "ReconcileLogGroupName" => &self.reconcile_log_group,
                    "StateTableName" => &self.state_table,
                    "AzureSecretArn" => &self.azure_secret_arn,
                    "GenesysSecretArn" => &self.genesys_secret_arn,
                    "FailureQueueUrl" => &self.failure_queue_url,
                    "DeadLetterQueueUrl" => &self.dead_letter_queue_url,
                    "EventBusName" => &self.event_bus_name,
                    "AlarmTopicArn" => &self.alarm_topic_arn,
                    "DashboardName" => &self.dashboard_name,
                    other => unreachable!("output {other}"),
                };
                (*key, value.clone())
            })
            .collect()
    }

    /// The environment of a child process (the tool) that must reach every service of this
    /// deployment at `endpoint` (moto, or a proxy in front of it): [`aws::env_for`] (static
    /// credentials, region, per-service endpoints of DynamoDB and Secrets Manager, no IMDS or
    /// profile) plus `AWS_ENDPOINT_URL`, the SDKs' endpoint for every other service
    /// (CloudFormation, Lambda, EventBridge, SQS, CloudWatch Logs, SNS, IAM).
    pub fn cli_env(&self, endpoint: &str) -> Vec<(String, String)> {
        let mut env = aws::env_for(endpoint);
        env.push(("AWS_ENDPOINT_URL".to_owned(), endpoint.to_owned()));
        env
    }

    /// A `DescribeEventSource` answer for this deployment's partner event source in `state`
    /// (`PENDING`, `ACTIVE`, `DELETED`), as EventBridge gives it (`Arn`, `CreatedBy`,
    /// `CreationTime`, `ExpirationTime`, `Name`, `State`), for
    /// [`crate::aws_proxy::AwsProxy::answer_once`]`("DescribeEventSource", 200,
    /// "application/x-amz-json-1.1", ...)`: moto keeps every partner source `ACTIVE`.
    /// A pending source expires if no bus is associated within 14 days.
    pub fn describe_event_source_answer(&self, state: &str) -> String {
        let created = time::OffsetDateTime::now_utc().unix_timestamp();
        json!({
            "Arn": format!(
                "arn:aws:events:{TEST_REGION}::event-source/{}",
                self.partner_source_name
            ),
            "CreatedBy": "genesys.com",
            "CreationTime": created,
            "ExpirationTime": created + 14 * 24 * 3600,
            "Name": self.partner_source_name,
            "State": state,
        })
        .to_string()
    }

    /// Sends `body` to the failure queue (e.g. a [`failure_record`]), as Lambda's on-failure
    /// destination does; returns the message id.
    pub async fn send_to_failure_queue(&self, endpoint: &str, body: &str) -> String {
        send_message(endpoint, &self.failure_queue_url, body).await
    }

    /// Sends `event` to the dead-letter queue, as EventBridge does with an event it could not
    /// deliver: the event itself as the body, the reason in message attributes `ERROR_CODE`,
    /// `ERROR_MESSAGE`, `EXHAUSTED_RETRY_CONDITION`, `RETRY_ATTEMPTS`, `RULE_ARN`,
    /// `TARGET_ARN` (EventBridge User Guide, "Using dead-letter queues to process undelivered
    /// events"). Returns the message id.
    pub async fn send_to_dead_letter_queue(
        &self,
        endpoint: &str,
        event: &Value,
        error_code: &str,
        error_message: &str,
    ) -> String {
        use aws_sdk_sqs::types::MessageAttributeValue;
        let attribute = |value: &str, kind: &str| {
            MessageAttributeValue::builder()
                .data_type(kind)
                .string_value(value)
                .build()
                .expect("message attribute is complete")
        };
        let client = aws_sdk_sqs::Client::new(&aws::sdk_config(endpoint).await);
        client
            .send_message()
            .queue_url(&self.dead_letter_queue_url)
            .message_body(event.to_string())
            .message_attributes("ERROR_CODE", attribute(error_code, "String"))
            .message_attributes("ERROR_MESSAGE", attribute(error_message, "String"))
            .message_attributes(
                "EXHAUSTED_RETRY_CONDITION",
                attribute("MaximumRetryAttempts", "String"),
            )
            .message_attributes("RETRY_ATTEMPTS", attribute("185", "Number"))
            .message_attributes("RULE_ARN", attribute(&self.rule_arn, "String"))
            .message_attributes("TARGET_ARN", attribute(&self.function_arn, "String"))
            .send()
            .await
            .unwrap_or_else(|err| panic!("SendMessage to the dead-letter queue: {}", ctx(&err)))
            .message_id()
            .unwrap_or_default()
            .to_owned()
    }
}

/// The body of an on-failure destination record of a Lambda asynchronous invocation whose
/// retries were exhausted after an unhandled function error: `version` "1.0", `timestamp`,
/// `requestContext` {`requestId`, `functionArn` (qualified `:$LATEST`), `condition`
/// "RetriesExhausted", `approximateInvokeCount` 3 (the first attempt and 2 retries)},
/// `requestPayload` (the event), `responseContext` {`statusCode` 200, `executedVersion`
/// "$LATEST", `functionError` "Unhandled"}, `responsePayload` {`errorMessage`,
/// `errorType`}. For an SQS destination this JSON is the message body.
///
/// Shape from the AWS Lambda Developer Guide, "Capturing records of Lambda asynchronous
/// invocations" (<https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html>,
/// "Example invocation record"). The error is a `GraphUnavailable` (README.md, errorType);
/// [`failure_record_with`] chooses it.
pub async fn failure_record(event: Value, function_arn: &str) -> String {
    failure_record_with(
        event,
        function_arn,
        "GraphUnavailable",
        "Microsoft Graph kept failing (503 serviceNotAvailable) past the retry budget",
    )
}

/// [`failure_record`] with the function's `errorType` and `errorMessage`.
pub fn failure_record_with(
    event: Value,
    function_arn: &str,
    error_type: &str,
    error_message: &str,
) -> String {
    let timestamp = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    // The record names the version that ran: an unqualified ARN gets `:$LATEST`.
    let qualified = if function_arn.matches(':').count() >= 7 {
        function_arn.to_owned()
    } else {
        format!("{function_arn}:$LATEST")
    };
    json!({
        "version": "1.0",
        "timestamp": timestamp,
        "requestContext": {
            "requestId": uuid::Uuid::new_v4().to_string(),
            "functionArn": qualified,
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": event,
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "responsePayload": {
            "errorMessage": error_message,
            "errorType": error_type,
        },
    })
    .to_string()
}

/// Creates a whole deployment in moto at `endpoint` (see the module documentation) and
/// returns its names. Panics on any failure, with the AWS error.
///
/// Both functions get the environment `template.yaml` gives them (`STATE_TABLE`, the secret
/// ARNs, `GENESYS_ENVIRONMENT`, `ALLOWED_SOURCE`, `ALLOWED_ACCOUNT`, `METRICS_NAMESPACE`,
/// `RESERVED_CONCURRENCY`; the reconciler its schedule, drift policy and shares, at the
/// template's defaults), with `function_env` on top (added, or replacing a variable of the
/// same name), e.g. the fakes' `GENESYS_LOGIN_URL`, `GRAPH_API_URL`, ...
///
/// moto differences: the partner event source's ARN repeats `aws.partner/`
/// (`event-source/aws.partner/aws.partner/genesys.com/...`) and it is `ACTIVE` from the start
/// (Genesys's is `PENDING` until a bus of its name exists; see
/// [`TestDeployment::describe_event_source_answer`]); the functions' `LoggingConfig` is not
/// kept by moto.
pub async fn create(
    endpoint: &str,
    function_env: &[(String, String)],
    secrets: Secrets,
) -> TestDeployment {
    create_from(
        endpoint,
        StackSpec {
            stack_name: aws::unique_name("presence-sync"),
            partner_source: None,
            secrets: StackSecrets::Create(secrets),
            function_env: function_env.to_vec(),
            rule_enabled: true,
            alarm_email: None,
            genesys_environment: GENESYS_ENVIRONMENT.to_owned(),
        },
    )
    .await
}

/// What [`create_from`] makes a deployment of: the stack's parameters, as `sam deploy` would
/// be given them (the deployment driver's stand-in SAM CLI uses it, tests/src/standin.rs).
#[derive(Debug, Clone)]
pub struct StackSpec {
    pub stack_name: String,
    /// `GenesysEventSourceName`: an existing partner event source, or `None` to create one
    /// as Genesys would.
    pub partner_source: Option<String>,
    pub secrets: StackSecrets,
    /// Added to both functions' environment (or replacing a variable of the same name).
    pub function_env: Vec<(String, String)>,
    /// `EventRuleState`.
    pub rule_enabled: bool,
    /// `AlarmEmail`: an e-mail subscription to the alarm topic.
    pub alarm_email: Option<String>,
    /// `GenesysEnvironment`.
    pub genesys_environment: String,
}

/// The stack's two secrets: created with these contents, or existing ones
/// (`ExistingAzureSecretArn`, `ExistingGenesysSecretArn`).
#[derive(Debug, Clone)]
pub enum StackSecrets {
    Create(Secrets),
    Existing {
        azure_arn: String,
        genesys_arn: String,
    },
}

/// [`create`] from a [`StackSpec`].
pub async fn create_from(endpoint: &str, spec: StackSpec) -> TestDeployment {
    let sdk = aws::sdk_config(endpoint).await;
    let template = Template::load();
    let function_env = spec.function_env.as_slice();
    let stack_name = spec.stack_name.clone();
    let name = |logical: &str| format!("{stack_name}-{logical}-{}", suffix());

    // State and credentials.
    let state_table = name("StateTable");
    aws::create_state_table(&aws_sdk_dynamodb::Client::new(&sdk), &state_table).await;
    let secrets_client = aws_sdk_secretsmanager::Client::new(&sdk);
    let ((azure_secret_name, azure_secret_arn), (genesys_secret_name, genesys_secret_arn)) =
        match &spec.secrets {
            StackSecrets::Create(secrets) => {
                let azure = format!("AzureSecret-{}", suffix());
                let genesys = format!("GenesysSecret-{}", suffix());
                (
                    (
                        azure.clone(),
                        aws::put_secret(&secrets_client, &azure, &secrets.azure).await,
                    ),
                    (
                        genesys.clone(),
                        aws::put_secret(&secrets_client, &genesys, &secrets.genesys).await,
                    ),
                )
            }
            StackSecrets::Existing {
                azure_arn,
                genesys_arn,
            } => (
                (secret_name_of(azure_arn), azure_arn.clone()),
                (secret_name_of(genesys_arn), genesys_arn.clone()),
            ),
        };

    // Queues.
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let failure_queue_name = name("AsyncFailureQueue");
    let (failure_queue_url, failure_queue_arn) = create_queue(&sqs, &failure_queue_name).await;
    let dead_letter_queue_name = name("EventDeliveryDLQ");
    let (dead_letter_queue_url, dead_letter_queue_arn) =
        create_queue(&sqs, &dead_letter_queue_name).await;

    // Log groups (named by the stack, as the template names them).
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
    let function_log_group = format!("/aws/lambda/{stack_name}/presence-sync");
    let reconcile_log_group = format!("/aws/lambda/{stack_name}/presence-reconcile");
    for group in [&function_log_group, &reconcile_log_group] {
        create_log_group(&logs, group).await;
    }

    // The partner event source, as Genesys creates it for this account (or the one given).
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let (genesys_org_id, partner_source_name, partner_source_arn) = match &spec.partner_source {
        Some(source) => existing_partner_source(&events, source).await,
        None => {
            let org = uuid::Uuid::new_v4().to_string();
            let source = format!("aws.partner/genesys.com/cloud/{org}/presence-sync");
            (
                org,
                source.clone(),
                create_partner_source(&events, &source).await,
            )
        }
    };

    // The functions.
    let reserved_concurrency = function_env
        .iter()
        .rev()
        .find(|(key, _)| key == "RESERVED_CONCURRENCY")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(DEFAULT_RESERVED_CONCURRENCY);
    let common = [
        ("STATE_TABLE", state_table.clone()),
        ("AZURE_SECRET_ID", azure_secret_arn.clone()),
        ("GENESYS_SECRET_ID", genesys_secret_arn.clone()),
        ("GENESYS_ENVIRONMENT", spec.genesys_environment.clone()),
        ("METRICS_NAMESPACE", METRICS_NAMESPACE.to_owned()),
    ];
    let sync_env = merge(
        common.iter().cloned().chain([
            ("ALLOWED_SOURCE", partner_source_name.clone()),
            ("ALLOWED_ACCOUNT", MOTO_ACCOUNT_ID.to_owned()),
            ("RESERVED_CONCURRENCY", reserved_concurrency.to_string()),
        ]),
        function_env,
    );
    let reconcile_env = merge(
        common.iter().cloned().chain([
            ("RECONCILE_EVERY_MINUTES", "5".to_owned()),
            ("SWEEP_EVERY_MINUTES", "60".to_owned()),
            ("DRIFT_POLICY", "report".to_owned()),
            ("RECONCILE_GRAPH_SHARE_PERCENT", "20".to_owned()),
            ("RECONCILE_GENESYS_SHARE_PERCENT", "20".to_owned()),
        ]),
        function_env,
    );
    let iam = aws_sdk_iam::Client::new(&sdk);
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let function_role_arn = create_role(&iam, &name("PresenceSyncRole")).await;
    let reconcile_role_arn = create_role(&iam, &name("PresenceReconcileRole")).await;
    let sync = FunctionSpec {
        name: name("PresenceSyncFunction"),
        description: "Genesys Cloud presence events from the partner bus to Microsoft Teams preferred presence.",
        timeout: 30,
        role_arn: &function_role_arn,
        log_group: &function_log_group,
        env: &sync_env,
        reserved_concurrency,
        invoke_config: template.invoke_config("PresenceSyncFunction"),
        on_failure: Some(&failure_queue_arn),
    };
    let function_arn = create_function(&lambda, &sync).await;
    let function_name = sync.name;
    let reconcile = FunctionSpec {
        name: name("PresenceReconcileFunction"),
        description: "Makes Teams presence right even when Genesys events never come (scheduled).",
        timeout: 290,
        role_arn: &reconcile_role_arn,
        log_group: &reconcile_log_group,
        env: &reconcile_env,
        reserved_concurrency: RECONCILE_RESERVED_CONCURRENCY,
        invoke_config: template.invoke_config("PresenceReconcileFunction"),
        on_failure: None,
    };
    let reconcile_function_arn = create_function(&lambda, &reconcile).await;
    let reconcile_function_name = reconcile.name;

    // The partner event bus (its name is the source's: that associates them) and the rule.
    let event_bus_name = partner_source_name.clone();
    let event_bus_arn = events
        .create_event_bus()
        .name(&event_bus_name)
        .event_source_name(&partner_source_name)
        .send()
        .await
        .unwrap_or_else(|err| panic!("CreateEventBus {event_bus_name}: {}", ctx(&err)))
        .event_bus_arn()
        .unwrap_or_default()
        .to_owned();
    let rule_name = name("GenesysPresence");
    let event_pattern = template.event_pattern(&partner_source_name);
    let rule_arn = events
        .put_rule()
        .name(&rule_name)
        .event_bus_name(&event_bus_name)
        .state(if spec.rule_enabled {
            aws_sdk_eventbridge::types::RuleState::Enabled
        } else {
            aws_sdk_eventbridge::types::RuleState::Disabled
        })
        .event_pattern(event_pattern.to_string())
        .send()
        .await
        .unwrap_or_else(|err| panic!("PutRule {rule_name}: {}", ctx(&err)))
        .rule_arn()
        .unwrap_or_default()
        .to_owned();
    let (retry_attempts, event_age) = template.rule_retry_policy();
    let target = aws_sdk_eventbridge::types::Target::builder()
        .id("PresenceSyncFunctionGenesysPresenceLambdaTarget")
        .arn(&function_arn)
        .retry_policy(
            aws_sdk_eventbridge::types::RetryPolicy::builder()
                .maximum_retry_attempts(retry_attempts)
                .maximum_event_age_in_seconds(event_age)
                .build(),
        )
        .dead_letter_config(
            aws_sdk_eventbridge::types::DeadLetterConfig::builder()
                .arn(&dead_letter_queue_arn)
                .build(),
        )
        .build()
        .expect("target is complete");
    let put = events
        .put_targets()
        .rule(&rule_name)
        .event_bus_name(&event_bus_name)
        .targets(target)
        .send()
        .await
        .unwrap_or_else(|err| panic!("PutTargets {rule_name}: {}", ctx(&err)));
    assert_eq!(put.failed_entry_count(), 0, "PutTargets: {put:?}");
    // EventBridge may invoke the function (SAM's AWS::Lambda::Permission for the rule).
    lambda
        .add_permission()
        .function_name(&function_name)
        .statement_id("PresenceSyncFunctionGenesysPresencePermission")
        .action("lambda:InvokeFunction")
        .principal("events.amazonaws.com")
        .source_arn(&rule_arn)
        .send()
        .await
        .unwrap_or_else(|err| panic!("AddPermission {function_name}: {}", ctx(&err)));
    // The dead-letter queue accepts EventBridge's messages from this rule only.
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "EventBridgeRuleDeadLetters",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": dead_letter_queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
        }],
    });
    sqs.set_queue_attributes()
        .queue_url(&dead_letter_queue_url)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::Policy,
            policy.to_string(),
        )
        .send()
        .await
        .unwrap_or_else(|err| panic!("SetQueueAttributes Policy: {}", ctx(&err)));

    // Alarms' topic.
    let sns = aws_sdk_sns::Client::new(&sdk);
    let alarm_topic_arn = sns
        .create_topic()
        .name(name("AlarmTopic"))
        .attributes("DisplayName", "presence-sync alarms")
        .send()
        .await
        .unwrap_or_else(|err| panic!("CreateTopic: {}", ctx(&err)))
        .topic_arn()
        .unwrap_or_default()
        .to_owned();
    if let Some(email) = &spec.alarm_email {
        subscribe_email(&sns, &alarm_topic_arn, email).await;
    }

    let mut deployment = TestDeployment {
        stack_name: stack_name.clone(),
        stack_id: String::new(),
        function_name,
        function_arn,
        function_role_arn,
        function_log_group,
        reserved_concurrency,
        reconcile_function_name,
        reconcile_function_arn,
        reconcile_role_arn,
        reconcile_log_group,
        state_table,
        azure_secret_name,
        azure_secret_arn,
        genesys_secret_name,
        genesys_secret_arn,
        failure_queue_name,
        failure_queue_url,
        failure_queue_arn,
        dead_letter_queue_name,
        dead_letter_queue_url,
        dead_letter_queue_arn,
        genesys_org_id,
        partner_source_name,
        partner_source_arn,
        event_bus_name,
        event_bus_arn,
        rule_name,
        rule_arn,
        event_pattern,
        alarm_topic_arn,
        dashboard_name: format!("{stack_name}-presence-sync"),
        function_env: sync_env,
        reconcile_env,
    };
    deployment.stack_id = create_stack(&sdk, &deployment, &template).await;
    deployment
}

// ---------------------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------------------

/// `name` of `arn:aws:secretsmanager:<region>:<account>:secret:<name>-XXXXXX`.
fn secret_name_of(arn: &str) -> String {
    let name = arn.split(":secret:").nth(1).unwrap_or(arn);
    match name.rsplit_once('-') {
        Some((name, suffix)) if suffix.len() == 6 => name.to_owned(),
        _ => name.to_owned(),
    }
}

async fn create_partner_source(events: &aws_sdk_eventbridge::Client, name: &str) -> String {
    events
        .create_partner_event_source()
        .name(name)
        .account(MOTO_ACCOUNT_ID)
        .send()
        .await
        .unwrap_or_else(|err| panic!("CreatePartnerEventSource: {}", ctx(&err)))
        .event_source_arn()
        .unwrap_or_default()
        .to_owned()
}

/// (org id, name, ARN) of a partner event source that exists (Genesys made it).
async fn existing_partner_source(
    events: &aws_sdk_eventbridge::Client,
    name: &str,
) -> (String, String, String) {
    let described = events
        .describe_event_source()
        .name(name)
        .send()
        .await
        .unwrap_or_else(|err| panic!("DescribeEventSource {name}: {}", ctx(&err)));
    let org = name.split('/').nth(3).unwrap_or_default().to_owned();
    (
        org,
        name.to_owned(),
        described.arn().unwrap_or_default().to_owned(),
    )
}

/// An e-mail subscription to the alarm topic (`AlarmEmail`).
pub async fn subscribe_email(sns: &aws_sdk_sns::Client, topic: &str, email: &str) {
    sns.subscribe()
        .topic_arn(topic)
        .protocol("email")
        .endpoint(email)
        .send()
        .await
        .unwrap_or_else(|err| panic!("Subscribe {email}: {}", ctx(&err)));
}

/// Deletes what [`create_from`] made for a stack (the stand-in of `sam delete`): the stack,
/// the functions and their roles, the rule, the bus, the queues, the table, the topic and the
/// log groups. The partner event source (Genesys's) and existing secrets (Terraform's) stay;
/// so do secrets the stack created, which no stand-in stack has.
pub async fn delete(endpoint: &str, deployment: &TestDeployment) {
    let sdk = aws::sdk_config(endpoint).await;
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let (rule, bus) = (&deployment.rule_name, &deployment.event_bus_name);
    let _ = events
        .remove_targets()
        .rule(rule)
        .event_bus_name(bus)
        .ids("PresenceSyncFunctionGenesysPresenceLambdaTarget")
        .send()
        .await;
    let _ = events
        .delete_rule()
        .name(rule)
        .event_bus_name(bus)
        .send()
        .await;
    let _ = events.delete_event_bus().name(bus).send().await;
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    for function in [
        &deployment.function_name,
        &deployment.reconcile_function_name,
    ] {
        let _ = lambda
            .delete_function()
            .function_name(function)
            .send()
            .await;
    }
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    for queue in [
        &deployment.failure_queue_url,
        &deployment.dead_letter_queue_url,
    ] {
        let _ = sqs.delete_queue().queue_url(queue).send().await;
    }
    let _ = aws_sdk_dynamodb::Client::new(&sdk)
        .delete_table()
        .table_name(&deployment.state_table)
        .send()
        .await;
    let _ = aws_sdk_sns::Client::new(&sdk)
        .delete_topic()
        .topic_arn(&deployment.alarm_topic_arn)
        .send()
        .await;
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
    for group in [
        &deployment.function_log_group,
        &deployment.reconcile_log_group,
    ] {
        let _ = logs.delete_log_group().log_group_name(group).send().await;
    }
    let _ = aws_sdk_cloudformation::Client::new(&sdk)
        .delete_stack()
        .stack_name(&deployment.stack_name)
        .send()
        .await;
}

fn ctx<E: std::error::Error>(err: &E) -> String {
    aws_sdk_dynamodb::error::DisplayErrorContext(err).to_string()
}

/// Eight upper-case letters and digits, as CloudFormation ends the physical names it makes.
fn suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_ascii_uppercase()
}

/// `base` as (key, value) pairs, with `overrides` replacing or added, in order.
fn merge(
    base: impl IntoIterator<Item = (&'static str, String)>,
    overrides: &[(String, String)],
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = base
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect();
    for (key, value) in overrides {
        match env.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value.clone(),
            None => env.push((key.clone(), value.clone())),
        }
    }
    env
}

async fn send_message(endpoint: &str, queue_url: &str, body: &str) -> String {
    let client = aws_sdk_sqs::Client::new(&aws::sdk_config(endpoint).await);
    client
        .send_message()
        .queue_url(queue_url)
        .message_body(body)
        .send()
        .await
        .unwrap_or_else(|err| panic!("SendMessage to {queue_url}: {}", ctx(&err)))
        .message_id()
        .unwrap_or_default()
        .to_owned()
}

/// A standard queue with SQS-managed encryption and 14 days' retention; (URL, ARN).
async fn create_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> (String, String) {
    use aws_sdk_sqs::types::QueueAttributeName;
    let url = sqs
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::SqsManagedSseEnabled, "true")
        .attributes(
            QueueAttributeName::MessageRetentionPeriod,
            QUEUE_RETENTION_SECONDS,
        )
        .send()
        .await
        .unwrap_or_else(|err| panic!("CreateQueue {name}: {}", ctx(&err)))
        .queue_url()
        .unwrap_or_default()
        .to_owned();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap_or_else(|err| panic!("GetQueueAttributes {name}: {}", ctx(&err)))
        .attributes()
        .and_then(|attributes| attributes.get(&QueueAttributeName::QueueArn).cloned())
        .unwrap_or_else(|| panic!("queue {name} has no QueueArn"));
    (url, arn)
}

async fn create_log_group(logs: &aws_sdk_cloudwatchlogs::Client, name: &str) {
    logs.create_log_group()
        .log_group_name(name)
        .send()
        .await
        .unwrap_or_else(|err| panic!("CreateLogGroup {name}: {}", ctx(&err)));
    logs.put_retention_policy()
        .log_group_name(name)
        .retention_in_days(LOG_RETENTION_DAYS)
        .send()
        .await
        .unwrap_or_else(|err| panic!("PutRetentionPolicy {name}: {}", ctx(&err)));
}

/// An execution role Lambda may assume (moto's Lambda wants the role to exist); its ARN.
async fn create_role(iam: &aws_sdk_iam::Client, name: &str) -> String {
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }],
    });
    iam.create_role()
        .role_name(name)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap_or_else(|err| panic!("CreateRole {name}: {}", ctx(&err)))
        .role()
        .map(|role| role.arn().to_owned())
        .unwrap_or_else(|| panic!("CreateRole {name} returned no role"))
}

struct FunctionSpec<'a> {
    name: String,
    description: &'static str,
    timeout: i32,
    role_arn: &'a str,
    log_group: &'a str,
    env: &'a [(String, String)],
    reserved_concurrency: i32,
    /// (MaximumRetryAttempts, MaximumEventAgeInSeconds) of its EventInvokeConfig.
    invoke_config: (i32, i32),
    on_failure: Option<&'a str>,
}

/// Creates the function as the template declares it (provided.al2023 on arm64, handler
/// `bootstrap`, 256 MB, JSON logs into its log group), its reserved concurrency and its
/// asynchronous invoke configuration; returns its ARN.
async fn create_function(lambda: &aws_sdk_lambda::Client, spec: &FunctionSpec<'_>) -> String {
    use aws_sdk_lambda::types::{
        ApplicationLogLevel, Architecture, DestinationConfig, Environment, FunctionCode, LogFormat,
        LoggingConfig, OnFailure, Runtime, SystemLogLevel,
    };
    let name = &spec.name;
    let variables: HashMap<String, String> = spec.env.iter().cloned().collect();
    let created = lambda
        .create_function()
        .function_name(name)
        .description(spec.description)
        .runtime(Runtime::Providedal2023)
        .architectures(Architecture::Arm64)
        .handler("bootstrap")
        .role(spec.role_arn)
        .memory_size(256)
        .timeout(spec.timeout)
        .code(
            FunctionCode::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(bootstrap_zip()))
                .build(),
        )
        .environment(
            Environment::builder()
                .set_variables(Some(variables))
                .build(),
        )
        .logging_config(
            LoggingConfig::builder()
                .log_format(LogFormat::Json)
                .application_log_level(ApplicationLogLevel::Info)
                .system_log_level(SystemLogLevel::Info)
                .log_group(spec.log_group)
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|err| panic!("CreateFunction {name}: {}", ctx(&err)));
    let arn = created
        .function_arn()
        .unwrap_or_else(|| panic!("CreateFunction {name} returned no ARN"))
        .to_owned();
    lambda
        .put_function_concurrency()
        .function_name(name)
        .reserved_concurrent_executions(spec.reserved_concurrency)
        .send()
        .await
        .unwrap_or_else(|err| panic!("PutFunctionConcurrency {name}: {}", ctx(&err)));
    let (retries, max_age) = spec.invoke_config;
    let mut config = lambda
        .put_function_event_invoke_config()
        .function_name(name)
        .maximum_retry_attempts(retries)
        .maximum_event_age_in_seconds(max_age);
    if let Some(destination) = spec.on_failure {
        config = config.destination_config(
            DestinationConfig::builder()
                .on_failure(OnFailure::builder().destination(destination).build())
                .build(),
        );
    }
    config
        .send()
        .await
        .unwrap_or_else(|err| panic!("PutFunctionEventInvokeConfig {name}: {}", ctx(&err)));
    arn
}

/// A zip archive holding one file, `bootstrap` (a shell script that exits): the smallest
/// valid deployment package (moto never runs it). Entries stored uncompressed.
pub fn bootstrap_zip() -> Vec<u8> {
    let name = b"bootstrap";
    let data = b"#!/bin/sh\nexit 0\n";
    let crc = crc32(data);
    let size = u32::try_from(data.len()).expect("small file");
    let name_len = u16::try_from(name.len()).expect("short name");
    let mut zip = Vec::new();
    // Local file header.
    zip.extend_from_slice(&0x0403_4b50_u32.to_le_bytes());
    zip.extend_from_slice(&20u16.to_le_bytes()); // version needed
    zip.extend_from_slice(&0u16.to_le_bytes()); // flags
    zip.extend_from_slice(&0u16.to_le_bytes()); // stored
    zip.extend_from_slice(&0u16.to_le_bytes()); // time
    zip.extend_from_slice(&0x21u16.to_le_bytes()); // date: 1980-01-01
    zip.extend_from_slice(&crc.to_le_bytes());
    zip.extend_from_slice(&size.to_le_bytes());
    zip.extend_from_slice(&size.to_le_bytes());
    zip.extend_from_slice(&name_len.to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes()); // extra length
    zip.extend_from_slice(name);
    zip.extend_from_slice(data);
    let central_offset = u32::try_from(zip.len()).expect("small archive");
    // Central directory header.
    zip.extend_from_slice(&0x0201_4b50_u32.to_le_bytes());
    zip.extend_from_slice(&0x031eu16.to_le_bytes()); // made by: Unix, 3.0
    zip.extend_from_slice(&20u16.to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes());
    zip.extend_from_slice(&0x21u16.to_le_bytes());
    zip.extend_from_slice(&crc.to_le_bytes());
    zip.extend_from_slice(&size.to_le_bytes());
    zip.extend_from_slice(&size.to_le_bytes());
    zip.extend_from_slice(&name_len.to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes()); // extra length
    zip.extend_from_slice(&0u16.to_le_bytes()); // comment length
    zip.extend_from_slice(&0u16.to_le_bytes()); // disk number
    zip.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
    zip.extend_from_slice(&(0o100_755u32 << 16).to_le_bytes()); // external: -rwxr-xr-x
    zip.extend_from_slice(&0u32.to_le_bytes()); // local header offset
    zip.extend_from_slice(name);
    let central_size = u32::try_from(zip.len()).expect("small archive") - central_offset;
    // End of central directory.
    zip.extend_from_slice(&0x0605_4b50_u32.to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes());
    zip.extend_from_slice(&1u16.to_le_bytes());
    zip.extend_from_slice(&1u16.to_le_bytes());
    zip.extend_from_slice(&central_size.to_le_bytes());
    zip.extend_from_slice(&central_offset.to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes());
    zip
}

/// CRC-32 (IEEE 802.3, as zip uses it).
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// The stand-in stack: a wait condition handle, the dashboard, and the outputs; its id.
async fn create_stack(sdk: &SdkConfig, deployment: &TestDeployment, template: &Template) -> String {
    use aws_sdk_cloudformation::types::StackStatus;
    let mut outputs = serde_json::Map::new();
    for (key, value) in deployment.outputs() {
        outputs.insert(
            key.to_owned(),
            json!({"Description": template.output_description(key), "Value": value}),
        );
    }
    let dashboard_body = json!({
        "widgets": [{"type": "text", "x": 0, "y": 0, "width": 24, "height": 2,
            "properties": {"markdown": format!("## presence-sync ({})", deployment.stack_name)}}]
    });
    let body = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "presence-sync (tests: the resources were created one by one in moto)",
        "Resources": {
            "Deployed": {"Type": "AWS::CloudFormation::WaitConditionHandle"},
            "Dashboard": {
                "Type": "AWS::CloudWatch::Dashboard",
                "Properties": {
                    "DashboardName": deployment.dashboard_name,
                    "DashboardBody": dashboard_body.to_string(),
                },
            },
        },
        "Outputs": outputs,
    });
    let cloudformation = aws_sdk_cloudformation::Client::new(sdk);
    let name = &deployment.stack_name;
    let stack_id = cloudformation
        .create_stack()
        .stack_name(name)
        .template_body(body.to_string())
        .send()
        .await
        .unwrap_or_else(|err| panic!("CreateStack {name}: {}", ctx(&err)))
        .stack_id()
        .unwrap_or_default()
        .to_owned();
    // moto completes a stack at once; CloudFormation itself would take a moment.
    for _ in 0..100 {
        let described = cloudformation
            .describe_stacks()
            .stack_name(name)
            .send()
            .await
            .unwrap_or_else(|err| panic!("DescribeStacks {name}: {}", ctx(&err)));
        let status = described
            .stacks()
            .first()
            .and_then(|stack| stack.stack_status().cloned());
        match status {
            Some(StackStatus::CreateComplete) => return stack_id,
            Some(StackStatus::CreateInProgress) | None => {}
            Some(other) => panic!("stack {name} is {other:?}"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("stack {name} did not reach CREATE_COMPLETE");
}

// ---------------------------------------------------------------------------------------
// What the deployment takes from template.yaml
// ---------------------------------------------------------------------------------------

/// The parts of `template.yaml` the deployment copies, so that they cannot drift apart.
struct Template {
    root: Yaml,
}

impl Template {
    fn load() -> Template {
        let path = aws::template_path();
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
        let root = serde_yaml::from_str(&text)
            .unwrap_or_else(|err| panic!("{}: invalid YAML: {err}", path.display()));
        Template { root }
    }

    fn at(&self, path: &[&str]) -> &Yaml {
        let mut node = &self.root;
        for key in path {
            node = node
                .get(*key)
                .unwrap_or_else(|| panic!("template.yaml has no {}", path.join(".")));
        }
        node
    }

    fn number(&self, path: &[&str]) -> i32 {
        self.at(path)
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .unwrap_or_else(|| panic!("template.yaml {} is not a number", path.join(".")))
    }

    /// The function's EventInvokeConfig (MaximumRetryAttempts, MaximumEventAgeInSeconds).
    fn invoke_config(&self, function: &str) -> (i32, i32) {
        let base = ["Resources", function, "Properties", "EventInvokeConfig"];
        let field = |name: &str| {
            let mut path = base.to_vec();
            path.push(name);
            self.number(&path)
        };
        (
            field("MaximumRetryAttempts"),
            field("MaximumEventAgeInSeconds"),
        )
    }

    fn rule_properties(&self) -> [&'static str; 6] {
        [
            "Resources",
            "PresenceSyncFunction",
            "Properties",
            "Events",
            "GenesysPresence",
            "Properties",
        ]
    }

    /// The rule's RetryPolicy (MaximumRetryAttempts, MaximumEventAgeInSeconds).
    fn rule_retry_policy(&self) -> (i32, i32) {
        let mut path = self.rule_properties().to_vec();
        path.push("RetryPolicy");
        let field = |name: &str| {
            let mut path = path.clone();
            path.push(name);
            self.number(&path)
        };
        (
            field("MaximumRetryAttempts"),
            field("MaximumEventAgeInSeconds"),
        )
    }

    /// The rule's pattern as JSON, `!Ref GenesysEventSourceName` replaced by `source_name`.
    fn event_pattern(&self, source_name: &str) -> Value {
        let mut path = self.rule_properties().to_vec();
        path.push("Pattern");
        yaml_to_json(self.at(&path), source_name)
    }

    fn output_description(&self, key: &str) -> String {
        self.at(&["Outputs", key, "Description"])
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The keys of the Outputs section, in order.
    /// The outputs every stack has: those without a `Condition` (the watcher's appear only
    /// with `TeamsToGenesys=on`, which the test deployments leave off).
    fn output_keys(&self) -> Vec<String> {
        self.at(&["Outputs"])
            .as_mapping()
            .expect("Outputs is a mapping")
            .iter()
            .filter(|(_, output)| output.get("Condition").is_none())
            .filter_map(|(key, _)| key.as_str().map(str::to_owned))
            .collect()
    }
}

/// The keys of `template.yaml`'s unconditional Outputs, in order (for tests that hold
/// [`OUTPUT_KEYS`] to it).
pub fn template_output_keys() -> Vec<String> {
    Template::load().output_keys()
}

fn yaml_to_json(value: &Yaml, source_name: &str) -> Value {
    match value {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(*b),
        Yaml::Number(n) => serde_json::to_value(n).unwrap_or(Value::Null),
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Sequence(items) => Value::Array(
            items
                .iter()
                .map(|item| yaml_to_json(item, source_name))
                .collect(),
        ),
        Yaml::Mapping(map) => Value::Object(
            map.iter()
                .map(|(key, value)| {
                    (
                        key.as_str().unwrap_or_default().to_owned(),
                        yaml_to_json(value, source_name),
                    )
                })
                .collect(),
        ),
        Yaml::Tagged(tagged)
            if tagged.tag == "Ref" && tagged.value.as_str() == Some("GenesysEventSourceName") =>
        {
            Value::String(source_name.to_owned())
        }
        Yaml::Tagged(tagged) => panic!(
            "template.yaml: the rule's pattern has {} {:?}, which the tests do not map",
            tagged.tag, tagged.value
        ),
    }
}
