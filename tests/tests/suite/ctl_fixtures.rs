//! The fixtures of the operator's tool (`presencectl`) hold what they promise: a whole
//! deployment in moto whose stack outputs name its resources, Lambda without Docker, canned
//! AWS answers through the proxy, Entra tokens as JWTs with `roles`, and the Genesys SCIM
//! lookup by e-mail.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_lambda::config::retry::RetryConfig;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use presence_sync_tests::aws::{self, MOTO_ACCOUNT_ID};
use presence_sync_tests::aws_proxy::AwsProxy;
use presence_sync_tests::deployment::{
    self, LAMBDA_TOO_MANY_REQUESTS, OUTPUT_KEYS, Secrets, TestDeployment,
};
use presence_sync_tests::fake_genesys::{FakeGenesys, SCIM_LIST_SCHEMA};
use presence_sync_tests::fake_microsoft::{FakeMicrosoft, decode_token_claims};
use presence_sync_tests::moto;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn deploy(endpoint: &str) -> TestDeployment {
    deployment::create(
        endpoint,
        &env(&[
            ("GRAPH_API_URL", "http://127.0.0.1:9/v1.0"),
            ("RESERVED_CONCURRENCY", "7"),
        ]),
        Secrets::for_world(),
    )
    .await
}

async fn lambda_at(endpoint: &str, retries: bool) -> aws_sdk_lambda::Client {
    let sdk = aws::sdk_config(endpoint).await;
    let mut config = aws_sdk_lambda::config::Builder::from(&sdk);
    if !retries {
        config = config.retry_config(RetryConfig::disabled());
    }
    aws_sdk_lambda::Client::from_conf(config.build())
}

async fn invoke_async(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
) -> Result<
    aws_sdk_lambda::operation::invoke::InvokeOutput,
    aws_sdk_lambda::error::SdkError<aws_sdk_lambda::operation::invoke::InvokeError>,
> {
    lambda
        .invoke()
        .function_name(function)
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(
            br#"{"detail-type":"v2.users.{id}.presence"}"#.to_vec(),
        ))
        .send()
        .await
}

#[tokio::test]
async fn ctl_fixtures_the_stack_outputs_name_the_created_resources() {
    let endpoint = moto::shared().await;
    let deployed = deploy(endpoint).await;
    let sdk = aws::sdk_config(endpoint).await;

    assert_eq!(deployment::template_output_keys(), OUTPUT_KEYS.to_vec());
    let stacks = aws_sdk_cloudformation::Client::new(&sdk)
        .describe_stacks()
        .stack_name(&deployed.stack_name)
        .send()
        .await
        .expect("DescribeStacks");
    let stack = &stacks.stacks()[0];
    assert_eq!(stack.stack_id(), Some(deployed.stack_id.as_str()));
    let outputs: HashMap<String, String> = stack
        .outputs()
        .iter()
        .map(|o| {
            (
                o.output_key().unwrap_or_default().to_owned(),
                o.output_value().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let expected: HashMap<String, String> = deployed
        .outputs()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    assert_eq!(outputs, expected);
    assert_eq!(outputs["FunctionArn"], deployed.function_arn);
    assert_eq!(outputs["EventBusName"], deployed.partner_source_name);
    assert_eq!(
        outputs["FunctionLogGroupName"],
        format!("/aws/lambda/{}/presence-sync", deployed.stack_name)
    );

    // What each output names exists, as the template configures it.
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let function = lambda
        .get_function_configuration()
        .function_name(&outputs["FunctionArn"])
        .send()
        .await
        .expect("GetFunctionConfiguration");
    assert_eq!(function.handler(), Some("bootstrap"));
    assert_eq!(
        function.runtime().map(|r| r.as_str()),
        Some("provided.al2023")
    );
    assert_eq!(
        function
            .architectures()
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>(),
        ["arm64"]
    );
    let variables = function
        .environment()
        .and_then(|e| e.variables())
        .cloned()
        .unwrap_or_default();
    assert_eq!(variables["STATE_TABLE"], outputs["StateTableName"]);
    assert_eq!(variables["AZURE_SECRET_ID"], outputs["AzureSecretArn"]);
    assert_eq!(variables["ALLOWED_SOURCE"], deployed.partner_source_name);
    assert_eq!(variables["ALLOWED_ACCOUNT"], MOTO_ACCOUNT_ID);
    assert_eq!(variables["GRAPH_API_URL"], "http://127.0.0.1:9/v1.0");
    assert_eq!(variables["RESERVED_CONCURRENCY"], "7");
    let concurrency = lambda
        .get_function_concurrency()
        .function_name(&deployed.function_name)
        .send()
        .await
        .expect("GetFunctionConcurrency");
    assert_eq!(concurrency.reserved_concurrent_executions(), Some(7));
    let invoke_config = lambda
        .get_function_event_invoke_config()
        .function_name(&deployed.function_name)
        .send()
        .await
        .expect("GetFunctionEventInvokeConfig");
    assert_eq!(invoke_config.maximum_retry_attempts(), Some(2));
    assert_eq!(invoke_config.maximum_event_age_in_seconds(), Some(900));
    assert_eq!(
        invoke_config
            .destination_config()
            .and_then(|d| d.on_failure())
            .and_then(|f| f.destination()),
        Some(deployed.failure_queue_arn.as_str())
    );
    let reconcile = lambda
        .get_function_concurrency()
        .function_name(&outputs["ReconcileFunctionArn"])
        .send()
        .await
        .expect("GetFunctionConcurrency (reconcile)");
    assert_eq!(reconcile.reserved_concurrent_executions(), Some(1));

    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let source = events
        .describe_event_source()
        .name(&deployed.partner_source_name)
        .send()
        .await
        .expect("DescribeEventSource");
    assert_eq!(
        source.state(),
        Some(&aws_sdk_eventbridge::types::EventSourceState::Active)
    );
    let rule = events
        .describe_rule()
        .name(&deployed.rule_name)
        .event_bus_name(&outputs["EventBusName"])
        .send()
        .await
        .expect("DescribeRule");
    assert_eq!(
        rule.state(),
        Some(&aws_sdk_eventbridge::types::RuleState::Enabled)
    );
    let pattern: Value = serde_json::from_str(rule.event_pattern().unwrap()).unwrap();
    assert_eq!(
        pattern,
        json!({
            "source": [deployed.partner_source_name],
            "detail-type": ["v2.users.{id}.activity", "v2.users.{id}.presence", "v2.users.{id}.routingStatus"],
        })
    );
    let targets = events
        .list_targets_by_rule()
        .rule(&deployed.rule_name)
        .event_bus_name(&deployed.event_bus_name)
        .send()
        .await
        .expect("ListTargetsByRule");
    assert_eq!(targets.targets().len(), 1);
    assert_eq!(targets.targets()[0].arn(), deployed.function_arn);

    let sqs = aws_sdk_sqs::Client::new(&sdk);
    for url in [&outputs["FailureQueueUrl"], &outputs["DeadLetterQueueUrl"]] {
        sqs.get_queue_attributes()
            .queue_url(url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GetQueueAttributes {url}: {e:?}"));
    }
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
    let groups = logs
        .describe_log_groups()
        .log_group_name_prefix(format!("/aws/lambda/{}/", deployed.stack_name))
        .send()
        .await
        .expect("DescribeLogGroups");
    let mut names: Vec<&str> = groups
        .log_groups()
        .iter()
        .filter_map(|g| g.log_group_name())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            outputs["ReconcileLogGroupName"].as_str(),
            outputs["FunctionLogGroupName"].as_str()
        ]
    );
    aws_sdk_sns::Client::new(&sdk)
        .get_topic_attributes()
        .topic_arn(&outputs["AlarmTopicArn"])
        .send()
        .await
        .expect("GetTopicAttributes");
    let secret = aws::get_secret(
        &aws::secrets_client(endpoint).await,
        &outputs["GenesysSecretArn"],
    )
    .await;
    assert_eq!(secret, Secrets::for_world().genesys);
    let table = aws_sdk_dynamodb::Client::new(&sdk)
        .describe_time_to_live()
        .table_name(&outputs["StateTableName"])
        .send()
        .await
        .expect("DescribeTimeToLive");
    assert_eq!(
        table
            .time_to_live_description()
            .and_then(|t| t.attribute_name()),
        Some("expires_at")
    );

    let cli = deployed.cli_env(endpoint);
    let cli: HashMap<_, _> = cli.into_iter().collect();
    assert_eq!(cli["AWS_ENDPOINT_URL"], endpoint);
    assert_eq!(cli["AWS_ENDPOINT_URL_DYNAMODB"], endpoint);
    assert_eq!(cli["AWS_REGION"], aws::TEST_REGION);
}

#[tokio::test]
async fn ctl_fixtures_an_asynchronous_invoke_answers_202() {
    let endpoint = moto::shared().await;
    let deployed = deploy(endpoint).await;
    let lambda = lambda_at(endpoint, true).await;
    let answer = invoke_async(&lambda, &deployed.function_arn)
        .await
        .expect("Invoke (Event)");
    assert_eq!(answer.status_code(), 202);
}

#[tokio::test]
async fn ctl_fixtures_answer_once_throttles_exactly_one_invoke() {
    let endpoint = moto::shared().await;
    let deployed = deploy(endpoint).await;
    let proxy = AwsProxy::start(endpoint).await;
    let lambda = lambda_at(&proxy.endpoint(), false).await;
    let canned = proxy.answer_once(
        &format!("/functions/{}/invocations", deployed.function_name),
        429,
        "application/json",
        LAMBDA_TOO_MANY_REQUESTS,
    );
    assert!(!canned.answered());

    let error = invoke_async(&lambda, &deployed.function_name)
        .await
        .expect_err("throttled");
    assert!(canned.answered());
    assert_eq!(proxy.pending_answers(), 0);
    assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(429));
    let service = error.into_service_error();
    assert!(service.is_too_many_requests_exception(), "{service:?}");
    assert_eq!(
        aws_sdk_lambda::error::ProvideErrorMetadata::message(&service),
        Some("Rate exceeded")
    );

    let answer = invoke_async(&lambda, &deployed.function_name)
        .await
        .expect("the next Invoke reaches moto");
    assert_eq!(answer.status_code(), 202);

    // With the SDK's retries, the throttled attempt is retried and succeeds.
    proxy.answer_once(
        &deployed.function_name,
        429,
        "application/json",
        LAMBDA_TOO_MANY_REQUESTS,
    );
    let retrying = lambda_at(&proxy.endpoint(), true).await;
    let answer = invoke_async(&retrying, &deployed.function_name)
        .await
        .expect("retried");
    assert_eq!(answer.status_code(), 202);
}

#[tokio::test]
async fn ctl_fixtures_a_canned_answer_makes_the_partner_source_pending() {
    let endpoint = moto::shared().await;
    let deployed = deploy(endpoint).await;
    let proxy = AwsProxy::start(endpoint).await;
    let events = aws_sdk_eventbridge::Client::new(&aws::sdk_config(&proxy.endpoint()).await);
    let canned = proxy.answer_once(
        "DescribeEventSource",
        200,
        "application/x-amz-json-1.1",
        &deployed.describe_event_source_answer("PENDING"),
    );
    let pending = events
        .describe_event_source()
        .name(&deployed.partner_source_name)
        .send()
        .await
        .expect("DescribeEventSource (canned)");
    assert!(canned.answered());
    assert_eq!(
        pending.state(),
        Some(&aws_sdk_eventbridge::types::EventSourceState::Pending)
    );
    assert_eq!(pending.name(), Some(deployed.partner_source_name.as_str()));
    assert_eq!(pending.created_by(), Some("genesys.com"));
    let active = events
        .describe_event_source()
        .name(&deployed.partner_source_name)
        .send()
        .await
        .expect("DescribeEventSource (moto)");
    assert_eq!(
        active.state(),
        Some(&aws_sdk_eventbridge::types::EventSourceState::Active)
    );
}

#[tokio::test]
async fn ctl_fixtures_failure_records_reach_the_failure_queue() {
    let endpoint = moto::shared().await;
    let deployed = deploy(endpoint).await;
    let event = json!({"id": "e-1", "detail-type": "v2.users.{id}.presence", "detail": {"x": 1}});
    let record = deployment::failure_record(event.clone(), &deployed.function_arn).await;
    let parsed: Value = serde_json::from_str(&record).unwrap();
    assert_eq!(parsed["version"], "1.0");
    assert_eq!(
        parsed["requestContext"]["functionArn"],
        format!("{}:$LATEST", deployed.function_arn)
    );
    assert_eq!(parsed["requestContext"]["condition"], "RetriesExhausted");
    assert_eq!(parsed["requestContext"]["approximateInvokeCount"], 3);
    assert_eq!(parsed["requestPayload"], event);
    assert_eq!(parsed["responseContext"]["statusCode"], 200);
    assert_eq!(parsed["responseContext"]["functionError"], "Unhandled");
    assert_eq!(parsed["responsePayload"]["errorType"], "GraphUnavailable");
    assert!(parsed["timestamp"].as_str().unwrap().ends_with('Z'));

    deployed.send_to_failure_queue(endpoint, &record).await;
    deployed
        .send_to_dead_letter_queue(endpoint, &event, "SDK_CLIENT_ERROR", "throttled")
        .await;
    let sqs = aws_sdk_sqs::Client::new(&aws::sdk_config(endpoint).await);
    let received = sqs
        .receive_message()
        .queue_url(&deployed.failure_queue_url)
        .wait_time_seconds(1)
        .send()
        .await
        .expect("ReceiveMessage");
    assert_eq!(received.messages()[0].body(), Some(record.as_str()));
    let dead = sqs
        .receive_message()
        .queue_url(&deployed.dead_letter_queue_url)
        .message_attribute_names("All")
        .wait_time_seconds(1)
        .send()
        .await
        .expect("ReceiveMessage");
    let message = &dead.messages()[0];
    assert_eq!(
        serde_json::from_str::<Value>(message.body().unwrap()).unwrap(),
        event
    );
    let attributes = message.message_attributes().unwrap();
    assert_eq!(
        attributes["RULE_ARN"].string_value(),
        Some(deployed.rule_arn.as_str())
    );
}

// ---------------------------------------------------------------------------------------
// Fakes
// ---------------------------------------------------------------------------------------

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT_ID: &str = "535fb089-9ff3-47b6-9bfb-4f1264799865";
const SECRET: &str = "s3cret~value";
const TEAMS_USER: &str = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3";

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn ms_token(ms: &FakeMicrosoft) -> String {
    let scope = ms.scope();
    let response = http()
        .post(ms.token_url(TENANT))
        .form(&[
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
            ("scope", scope.as_str()),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

async fn set_busy(ms: &FakeMicrosoft, token: &str) -> StatusCode {
    http()
        .post(format!(
            "{}/users/{TEAMS_USER}/presence/setUserPreferredPresence",
            ms.graph_url()
        ))
        .bearer_auth(token)
        .json(&json!({"availability": "Busy", "activity": "Busy"}))
        .send()
        .await
        .unwrap()
        .status()
}

fn jwt_header(token: &str) -> Value {
    use base64::Engine as _;
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn ctl_fixtures_microsoft_tokens_are_jwts_carrying_the_granted_roles() {
    let ms = FakeMicrosoft::start().await;
    ms.register_app(TENANT, CLIENT_ID, SECRET);
    ms.add_user(TEAMS_USER);

    let token = ms_token(&ms).await;
    assert_eq!(token.split('.').count(), 3);
    assert_eq!(jwt_header(&token), json!({"typ": "JWT", "alg": "RS256"}));
    let claims = decode_token_claims(&token).expect("a JWT payload");
    assert_eq!(claims["roles"], json!(["Presence.ReadWrite.All"]));
    assert_eq!(claims["tid"], TENANT);
    assert_eq!(claims["appid"], CLIENT_ID);
    assert_eq!(claims["aud"], ms.login_url());
    assert_eq!(claims["idtyp"], "app");
    let (iat, nbf, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["nbf"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert!(nbf <= iat && exp == iat + 3599, "{claims}");
    assert_eq!(ms.issued_tokens()[0].access_token, token);
    assert_eq!(
        ms.issued_tokens()[0].roles,
        Some(vec!["Presence.ReadWrite.All".to_owned()])
    );
    assert_eq!(set_busy(&ms, &token).await, StatusCode::OK);

    // Without admin consent: no roles claim, and Graph refuses the writes.
    ms.set_granted_roles(&[]);
    let unconsented = ms_token(&ms).await;
    assert_ne!(unconsented, token);
    let claims = decode_token_claims(&unconsented).unwrap();
    assert!(claims.get("roles").is_none(), "{claims}");
    assert_eq!(set_busy(&ms, &unconsented).await, StatusCode::FORBIDDEN);

    // Read-only: reads pass, writes do not.
    ms.set_granted_roles(&["Presence.Read.All"]);
    let read_only = ms_token(&ms).await;
    assert_eq!(
        decode_token_claims(&read_only).unwrap()["roles"],
        json!(["Presence.Read.All"])
    );
    assert_eq!(set_busy(&ms, &read_only).await, StatusCode::FORBIDDEN);
    let read = http()
        .post(format!(
            "{}/communications/getPresencesByUserId",
            ms.graph_url()
        ))
        .bearer_auth(&read_only)
        .json(&json!({"ids": [TEAMS_USER]}))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);

    // deny_permission: tokens issued meanwhile carry no roles.
    ms.set_granted_roles(&["Presence.ReadWrite.All"]);
    ms.deny_permission(true);
    let denied = ms_token(&ms).await;
    assert!(decode_token_claims(&denied).unwrap().get("roles").is_none());
    ms.deny_permission(false);
    let granted = ms_token(&ms).await;
    assert_eq!(
        decode_token_claims(&granted).unwrap()["roles"],
        json!(["Presence.ReadWrite.All"])
    );
    assert_eq!(set_busy(&ms, &granted).await, StatusCode::OK);
    assert_eq!(decode_token_claims("opaque-token"), None);
}

const GENESYS_CLIENT: &str = "0f4c5c0e-5b38-4e48-8d0d-6d2a0c1b2a11";
const GENESYS_SECRET: &str = "genesys-secret";

async fn scim_users(gc: &FakeGenesys, token: &str, query: &[(&str, &str)]) -> reqwest::Response {
    let query = serde_urlencoded::to_string(query).unwrap();
    http()
        .get(format!("{}/api/v2/scim/v2/users?{query}", gc.api_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn ctl_fixtures_the_scim_filter_finds_a_user_by_email() {
    let gc = FakeGenesys::start().await;
    gc.register_client(GENESYS_CLIENT, GENESYS_SECRET);
    let (alice, bob) = (
        "11111111-1111-4111-8111-111111111111",
        "22222222-2222-4222-8222-222222222222",
    );
    let teams = "33333333-3333-4333-8333-333333333333";
    gc.add_user(alice, Some(teams));
    gc.add_user(bob, None);
    gc.set_user_name(alice, "Alice.Agent@example.com");
    assert_eq!(
        gc.user_name(alice).as_deref(),
        Some("Alice.Agent@example.com")
    );
    let response = http()
        .post(gc.token_url())
        .basic_auth(GENESYS_CLIENT, Some(GENESYS_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let token = response.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let found = scim_users(
        &gc,
        &token,
        &[("filter", r#"userName eq "alice.agent@example.com""#)],
    )
    .await;
    assert_eq!(found.status(), StatusCode::OK);
    let body: Value = found.json().await.unwrap();
    assert_eq!(body["schemas"], json!([SCIM_LIST_SCHEMA]));
    assert_eq!(body["totalResults"], 1);
    assert_eq!(body["Resources"][0]["id"], alice);
    assert_eq!(body["Resources"][0]["userName"], "Alice.Agent@example.com");
    assert_eq!(
        body["Resources"][0]["urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User"]["externalIds"]
            [0]["value"],
        teams
    );

    // The bare form of Genesys's examples, and no match.
    let bare = scim_users(
        &gc,
        &token,
        &[("filter", "userName eq Alice.Agent@example.com")],
    )
    .await;
    assert_eq!(bare.json::<Value>().await.unwrap()["totalResults"], 1);
    let none = scim_users(
        &gc,
        &token,
        &[("filter", r#"userName eq "nobody@example.com""#)],
    )
    .await;
    let none: Value = none.json().await.unwrap();
    assert_eq!(none["totalResults"], 0);
    assert_eq!(none["Resources"], json!([]));

    // Without a filter: every active user, as before; other filters: 400 invalidFilter.
    let all = scim_users(&gc, &token, &[]).await;
    assert_eq!(all.json::<Value>().await.unwrap()["totalResults"], 2);
    let other = scim_users(&gc, &token, &[("filter", "active eq false")]).await;
    assert_eq!(other.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        other.json::<Value>().await.unwrap()["scimType"],
        "invalidFilter"
    );
}
