//! Tests of the test harness itself: the moto server (tests/moto_server.py) and its
//! client helpers, the state table built from template.yaml, the DynamoDB behaviours the
//! function relies on, and the local Lambda Runtime API.
//!
//! Needs the project virtualenv (`scripts/setup-venv.sh`); uses `MOTO_ENDPOINT` when set.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, BillingMode, KeyType, ReturnValue, ReturnValuesOnConditionCheckFailure,
    ScalarAttributeType, SseStatus, SseType, TimeToLiveStatus,
};
use presence_sync_tests::aws::{
    self, create_state_table, dynamodb_client, env_for, get_secret, parse_state_table_definition,
    put_secret, rotate_secret, secrets_client, state_table_definition, unique_name,
};
use presence_sync_tests::moto::{self, Moto};
use presence_sync_tests::runtime_api::{
    InvokeFailure, LambdaProcess, LogStream, RuntimeApi, binary_path,
};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_string())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

async fn state_table(endpoint: &str) -> (aws_sdk_dynamodb::Client, String) {
    let client = dynamodb_client(endpoint).await;
    let table = unique_name("state");
    create_state_table(&client, &table).await;
    (client, table)
}

// ---------------------------------------------------------------------------------------
// moto server
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn moto_starts_and_answers_dynamodb_and_secrets_manager() {
    let moto = Moto::start().await;
    assert!(moto.endpoint().starts_with("http://127.0.0.1:"));
    assert_eq!(moto.endpoint(), format!("http://127.0.0.1:{}", moto.port()));

    let tables = dynamodb_client(moto.endpoint())
        .await
        .list_tables()
        .send()
        .await
        .expect("ListTables");
    assert!(tables.table_names().is_empty());

    let secrets = secrets_client(moto.endpoint())
        .await
        .list_secrets()
        .send()
        .await
        .expect("ListSecrets");
    assert!(secrets.secret_list().is_empty());
}

#[tokio::test]
async fn shared_moto_is_started_once_per_process() {
    let first = moto::shared().await;
    let second = moto::shared().await;
    assert_eq!(first, second);
    assert!(std::ptr::eq(first, second));
    dynamodb_client(first)
        .await
        .list_tables()
        .send()
        .await
        .expect("shared moto answers");
}

#[tokio::test]
async fn moto_restart_keeps_endpoint_and_loses_state() {
    let mut moto = Moto::start().await;
    let endpoint = moto.endpoint().to_string();
    let (client, table) = state_table(&endpoint).await;
    assert_eq!(
        client.list_tables().send().await.unwrap().table_names(),
        std::slice::from_ref(&table)
    );

    moto.stop().await;
    assert!(!moto.is_running());
    let no_retries = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&aws::sdk_config(&endpoint).await)
            .retry_config(RetryConfig::disabled())
            .build(),
    );
    assert!(
        no_retries.list_tables().send().await.is_err(),
        "a stopped moto must not answer"
    );

    moto.restart().await;
    assert!(moto.is_running());
    assert_eq!(moto.endpoint(), endpoint, "restart keeps the endpoint");
    // The client built before the restart still works, and the table is gone.
    let tables = client
        .list_tables()
        .send()
        .await
        .expect("ListTables after restart");
    assert!(
        tables.table_names().is_empty(),
        "moto is in-memory: state does not survive a restart"
    );
}

#[tokio::test]
async fn moto_process_is_killed_when_dropped() {
    let moto = Moto::start().await;
    let port = moto.port();
    drop(moto);
    // Nothing listens on the port any more.
    let connected = tokio::net::TcpStream::connect(("127.0.0.1", port)).await;
    assert!(connected.is_err(), "moto still listening after drop");
}

// ---------------------------------------------------------------------------------------
// State table from template.yaml
// ---------------------------------------------------------------------------------------

#[test]
fn state_table_definition_is_read_from_template() {
    let def = state_table_definition();
    assert_eq!(def.billing_mode, "PAY_PER_REQUEST");
    assert_eq!(def.partition_key(), "pk");
    assert_eq!(def.sort_key(), None);
    assert_eq!(def.attribute_definitions.len(), 1);
    assert_eq!(def.attribute_definitions[0].attribute_name, "pk");
    assert_eq!(def.attribute_definitions[0].attribute_type, "S");
    assert_eq!(def.ttl_attribute(), Some("expires_at"));
    assert!(def.sse.as_ref().is_some_and(|sse| sse.enabled));
}

const TEMPLATE_WITH_INTRINSICS: &str = r#"
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  StateTable:
    Type: AWS::DynamoDB::Table
    DeletionPolicy: Retain
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - AttributeName: pk
          AttributeType: S
      KeySchema:
        - AttributeName: pk
          KeyType: HASH
  Function:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables:
          TABLE: !Ref StateTable
          ARN: !GetAtt StateTable.Arn
          NAME: !Sub "${AWS::StackName}-fn"
Outputs:
  Table:
    Value: !Ref StateTable
"#;

#[test]
fn template_parsing_tolerates_intrinsic_tags_elsewhere() {
    let def = parse_state_table_definition(TEMPLATE_WITH_INTRINSICS).expect("parses");
    assert_eq!(def.partition_key(), "pk");
    assert_eq!(def.time_to_live, None);
    assert_eq!(def.sse, None);
}

#[test]
fn template_parsing_rejects_unmapped_table_properties() {
    let with_pitr = TEMPLATE_WITH_INTRINSICS.replace(
        "      BillingMode: PAY_PER_REQUEST\n",
        "      BillingMode: PAY_PER_REQUEST\n      PointInTimeRecoverySpecification:\n        PointInTimeRecoveryEnabled: true\n",
    );
    let err = parse_state_table_definition(&with_pitr).unwrap_err();
    assert!(err.contains("PointInTimeRecoverySpecification"), "{err}");
    assert!(err.contains("not mapped"), "{err}");

    let with_tagged_value = TEMPLATE_WITH_INTRINSICS.replace(
        "BillingMode: PAY_PER_REQUEST",
        "BillingMode: !Ref BillingModeParam",
    );
    let err = parse_state_table_definition(&with_tagged_value).unwrap_err();
    assert!(err.contains("BillingMode") && err.contains("!Ref"), "{err}");

    let with_sse_kind = TEMPLATE_WITH_INTRINSICS.replace(
        "      BillingMode: PAY_PER_REQUEST\n",
        "      BillingMode: PAY_PER_REQUEST\n      SSESpecification:\n        SSEEnabled: true\n        Unknown: 1\n",
    );
    let err = parse_state_table_definition(&with_sse_kind).unwrap_err();
    assert!(err.contains("SSESpecification.Unknown"), "{err}");
}

#[tokio::test]
async fn state_table_created_from_template_has_its_key_schema_billing_mode_and_ttl() {
    let endpoint = moto::shared().await;
    let (client, table) = state_table(endpoint).await;
    let def = state_table_definition();

    let described = client
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    let desc = described.table().unwrap();
    let keys: Vec<(&str, &KeyType)> = desc
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name(), k.key_type()))
        .collect();
    assert_eq!(keys, [(def.partition_key(), &KeyType::Hash)]);
    let attrs: Vec<(&str, &ScalarAttributeType)> = desc
        .attribute_definitions()
        .iter()
        .map(|a| (a.attribute_name(), a.attribute_type()))
        .collect();
    assert_eq!(attrs, [("pk", &ScalarAttributeType::S)]);
    assert_eq!(
        desc.billing_mode_summary().and_then(|b| b.billing_mode()),
        Some(&BillingMode::PayPerRequest)
    );

    // SSEEnabled: true without SSEType is a KMS key (AWS managed) in DynamoDB and moto.
    let sse = desc.sse_description().expect("SSE is described");
    assert_eq!(sse.status(), Some(&SseStatus::Enabled));
    assert_eq!(sse.sse_type(), Some(&SseType::Kms));

    let ttl = client
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    let ttl = ttl.time_to_live_description().unwrap();
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
    assert_eq!(ttl.attribute_name(), def.ttl_attribute());
}

#[tokio::test]
async fn moto_keeps_items_past_their_ttl() {
    // moto never expires items (real DynamoDB deletes them lazily, within days): the
    // function must treat `expires_at` in the past as absent itself, and tests cannot
    // wait for TTL deletion.
    let (client, table) = state_table(moto::shared().await).await;
    let past = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        - 3600;
    client
        .put_item()
        .table_name(&table)
        .item("pk", s("expired"))
        .item("expires_at", n(past))
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let got = client
        .get_item()
        .table_name(&table)
        .key("pk", s("expired"))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    assert!(got.item().is_some(), "moto unexpectedly expired the item");
}

// ---------------------------------------------------------------------------------------
// DynamoDB behaviours the function relies on
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conditional_put_race_has_exactly_one_winner() {
    const TRIALS: usize = 50;
    const WRITERS: usize = 8;
    let (client, table) = state_table(moto::shared().await).await;

    for trial in 0..TRIALS {
        let key = format!("race-{trial}");
        let start = Arc::new(tokio::sync::Barrier::new(WRITERS));
        let mut writers = tokio::task::JoinSet::new();
        for writer in 0..WRITERS {
            let (client, table, key, start) =
                (client.clone(), table.clone(), key.clone(), start.clone());
            writers.spawn(async move {
                start.wait().await;
                let result = client
                    .put_item()
                    .table_name(table)
                    .item("pk", s(&key))
                    .item("writer", n(writer as i64))
                    .condition_expression("attribute_not_exists(pk)")
                    .send()
                    .await;
                (writer, result.map_err(|e| e.into_service_error()))
            });
        }
        let mut winners = Vec::new();
        while let Some(joined) = writers.join_next().await {
            let (writer, result) = joined.unwrap();
            match result {
                Ok(_) => winners.push(writer),
                Err(PutItemError::ConditionalCheckFailedException(_)) => {}
                Err(other) => panic!("trial {trial} writer {writer}: unexpected {other:?}"),
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "trial {trial}: writers {winners:?} all won the conditional put"
        );
        let stored = client
            .get_item()
            .table_name(&table)
            .key("pk", s(&key))
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        assert_eq!(
            stored.item().unwrap().get("writer"),
            Some(&n(winners[0] as i64)),
            "trial {trial}: the stored item is not the winner's"
        );
    }
}

#[tokio::test]
async fn update_item_with_return_values_all_old_returns_the_previous_item() {
    let (client, table) = state_table(moto::shared().await).await;
    client
        .put_item()
        .table_name(&table)
        .item("pk", s("user-1"))
        .item("presence", s("Available"))
        .item("version", n(1))
        .send()
        .await
        .unwrap();

    let updated = client
        .update_item()
        .table_name(&table)
        .key("pk", s("user-1"))
        .update_expression("SET presence = :p, version = version + :one")
        .expression_attribute_values(":p", s("Busy"))
        .expression_attribute_values(":one", n(1))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .unwrap();
    let old = updated.attributes().expect("ALL_OLD returns the old item");
    assert_eq!(old.get("presence"), Some(&s("Available")));
    assert_eq!(old.get("version"), Some(&n(1)));
    assert_eq!(old.get("pk"), Some(&s("user-1")));

    // On an item that did not exist there is nothing old to return.
    let created = client
        .update_item()
        .table_name(&table)
        .key("pk", s("user-2"))
        .update_expression("SET presence = :p")
        .expression_attribute_values(":p", s("Busy"))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .unwrap();
    assert!(
        created.attributes().is_none_or(HashMap::is_empty),
        "no old item expected, got {:?}",
        created.attributes()
    );
}

#[tokio::test]
async fn failed_conditional_update_returns_old_item_with_return_values_on_condition_check_failure()
{
    let (client, table) = state_table(moto::shared().await).await;
    client
        .put_item()
        .table_name(&table)
        .item("pk", s("lease"))
        .item("owner", s("instance-a"))
        .item("version", n(7))
        .send()
        .await
        .unwrap();

    let update = |return_old: bool| {
        let mut request = client
            .update_item()
            .table_name(&table)
            .key("pk", s("lease"))
            .update_expression("SET #o = :me, version = version + :one")
            .condition_expression("attribute_not_exists(pk) OR #o = :me")
            .expression_attribute_names("#o", "owner")
            .expression_attribute_values(":me", s("instance-b"))
            .expression_attribute_values(":one", n(1));
        if return_old {
            request = request.return_values_on_condition_check_failure(
                ReturnValuesOnConditionCheckFailure::AllOld,
            );
        }
        request.send()
    };

    let err = update(true).await.expect_err("the condition must fail");
    match err.into_service_error() {
        UpdateItemError::ConditionalCheckFailedException(failed) => {
            let item = failed
                .item()
                .expect("ReturnValuesOnConditionCheckFailure=ALL_OLD returns the item");
            assert_eq!(item.get("owner"), Some(&s("instance-a")));
            assert_eq!(item.get("version"), Some(&n(7)));
            assert_eq!(item.get("pk"), Some(&s("lease")));
        }
        other => panic!("expected ConditionalCheckFailedException, got {other:?}"),
    }

    // Without the parameter, no item comes back.
    match update(false)
        .await
        .expect_err("the condition must fail")
        .into_service_error()
    {
        UpdateItemError::ConditionalCheckFailedException(failed) => {
            assert!(
                failed.item().is_none(),
                "unexpected item {:?}",
                failed.item()
            );
        }
        other => panic!("expected ConditionalCheckFailedException, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Secrets Manager
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn secret_round_trips_and_rotation_changes_its_value() {
    let client = secrets_client(moto::shared().await).await;
    let name = unique_name("presence-sync/test");
    let first = json!({ "client_id": "a", "client_secret": "one" });
    let arn = put_secret(&client, &name, &first).await;
    assert!(
        arn.starts_with("arn:aws:secretsmanager:us-east-1:"),
        "{arn}"
    );
    assert!(arn.contains(&name), "{arn}");
    assert_eq!(get_secret(&client, &name).await, first);
    assert_eq!(get_secret(&client, &arn).await, first, "readable by ARN");

    let second = json!({ "client_id": "a", "client_secret": "two" });
    let version = rotate_secret(&client, &name, &second).await;
    assert!(!version.is_empty());
    assert_eq!(get_secret(&client, &name).await, second);
    assert_eq!(get_secret(&client, &arn).await, second);
}

// ---------------------------------------------------------------------------------------
// Environment helpers
// ---------------------------------------------------------------------------------------

#[test]
fn env_for_points_the_functions_aws_clients_at_moto() {
    let env: HashMap<String, String> = env_for("http://127.0.0.1:1234").into_iter().collect();
    for key in [
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    ] {
        assert_eq!(env[key], "http://127.0.0.1:1234", "{key}");
    }
    // Only the per-service variables the README documents: no catch-all endpoint.
    assert!(!env.contains_key("AWS_ENDPOINT_URL"));
    assert_eq!(env["AWS_REGION"], "us-east-1");
    assert_eq!(env["AWS_ACCESS_KEY_ID"], "testing");
    assert_eq!(env["AWS_SECRET_ACCESS_KEY"], "testing");
    assert_eq!(env["AWS_EC2_METADATA_DISABLED"], "true");
}

#[test]
fn unique_names_differ_and_keep_the_prefix() {
    let a = unique_name("state");
    let b = unique_name("state");
    assert_ne!(a, b);
    assert!(
        a.starts_with("state-") && a.len() == "state-".len() + 12,
        "{a}"
    );
    assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
}

#[test]
fn lambda_env_has_what_lambda_runtime_reads() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let api = rt.block_on(RuntimeApi::start());
    let env: HashMap<String, String> = api.lambda_env("fn-x").into_iter().collect();
    assert_eq!(env["AWS_LAMBDA_RUNTIME_API"], api.address());
    assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "fn-x");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "128");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
    assert!(env.contains_key("AWS_LAMBDA_LOG_STREAM_NAME"));
    assert!(env.contains_key("AWS_LAMBDA_LOG_GROUP_NAME"));
}

// ---------------------------------------------------------------------------------------
// Lambda Runtime API
// ---------------------------------------------------------------------------------------

/// A minimal Lambda runtime: one `GET /next`, returning (request id, headers, event).
async fn poll_next(
    http: &reqwest::Client,
    api: &str,
) -> (String, reqwest::header::HeaderMap, Value) {
    let response = http
        .get(format!("http://{api}/2018-06-01/runtime/invocation/next"))
        .send()
        .await
        .expect("GET /next");
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    let id = headers["lambda-runtime-aws-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    (id, headers, response.json().await.unwrap())
}

async fn post_response(http: &reqwest::Client, api: &str, id: &str, body: &Value) -> u16 {
    http.post(format!(
        "http://{api}/2018-06-01/runtime/invocation/{id}/response"
    ))
    .json(body)
    .send()
    .await
    .expect("POST /response")
    .status()
    .as_u16()
}

#[tokio::test]
async fn runtime_api_serves_an_invocation_to_a_polling_client() {
    let api = RuntimeApi::start_for("presence-sync").await;
    assert!(api.first_poll_at().is_none());
    let address = api.address();
    let client = tokio::spawn(async move {
        let http = reqwest::Client::new();
        let (id, headers, event) = poll_next(&http, &address).await;
        let status = post_response(&http, &address, &id, &json!({ "echo": event })).await;
        (id, headers, status)
    });

    let before = SystemTime::now();
    let invocation = api
        .invoke(
            json!({ "detail-type": "Scheduled Event" }),
            Duration::from_secs(30),
        )
        .await;
    let (id, headers, status) = client.await.unwrap();
    assert_eq!(status, 202);
    assert_eq!(invocation.request_id, id);
    assert_eq!(
        invocation.result,
        Ok(json!({ "echo": { "detail-type": "Scheduled Event" } }))
    );

    let deadline: u64 = headers["lambda-runtime-deadline-ms"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let expected = before.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64 + 30_000;
    assert!(
        deadline >= expected && deadline < expected + 5_000,
        "deadline {deadline} vs now + 30 s {expected}"
    );
    assert_eq!(invocation.deadline_ms, Some(deadline));
    assert_eq!(
        headers["lambda-runtime-invoked-function-arn"],
        "arn:aws:lambda:us-east-1:123456789012:function:presence-sync"
    );
    assert!(
        headers["lambda-runtime-trace-id"]
            .to_str()
            .unwrap()
            .starts_with("Root=1-")
    );
    assert!(api.first_poll_at().is_some());
    assert_eq!(api.polls(), 1);

    // A second answer for the same invocation is refused.
    let http = reqwest::Client::new();
    assert_eq!(
        post_response(&http, &api.address(), &id, &json!(1)).await,
        403
    );
    assert_eq!(
        post_response(&http, &api.address(), "no-such-id", &json!(1)).await,
        400
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_api_gives_concurrent_pollers_different_invocations() {
    let api = RuntimeApi::start().await;
    // Both pollers hold their invocation until the other has one too: if one of them
    // got nothing (or both the same), this would not complete.
    let both_have_one = Arc::new(tokio::sync::Barrier::new(2));
    let mut pollers = Vec::new();
    for poller in 0..2 {
        let (address, both_have_one) = (api.address(), both_have_one.clone());
        pollers.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let (id, _, event) = poll_next(&http, &address).await;
            both_have_one.wait().await;
            let answer = json!({ "poller": poller, "event": event });
            assert_eq!(post_response(&http, &address, &id, &answer).await, 202);
            id
        }));
    }
    assert!(api.wait_for_polls(2, Duration::from_secs(5)).await);

    let timeout = Duration::from_secs(10);
    let (a, b) = tokio::time::timeout(Duration::from_secs(20), async {
        tokio::join!(
            api.invoke(json!({ "n": "a" }), timeout),
            api.invoke(json!({ "n": "b" }), timeout)
        )
    })
    .await
    .expect("both invocations answered");
    let mut seen_ids = Vec::new();
    for poller in pollers {
        seen_ids.push(poller.await.unwrap());
    }
    assert_ne!(
        seen_ids[0], seen_ids[1],
        "both pollers got the same invocation"
    );

    let a_answer = a.result.clone().unwrap();
    let b_answer = b.result.clone().unwrap();
    assert_eq!(a_answer["event"], json!({ "n": "a" }));
    assert_eq!(b_answer["event"], json!({ "n": "b" }));
    assert_ne!(a_answer["poller"], b_answer["poller"]);
    seen_ids.sort();
    let mut invoked = vec![a.request_id, b.request_id];
    invoked.sort();
    assert_eq!(seen_ids, invoked);
}

#[tokio::test]
async fn runtime_api_reports_an_error_posted_to_the_error_endpoint() {
    let api = RuntimeApi::start().await;
    let address = api.address();
    let client = tokio::spawn(async move {
        let http = reqwest::Client::new();
        let (id, _, _) = poll_next(&http, &address).await;
        http.post(format!(
            "http://{address}/2018-06-01/runtime/invocation/{id}/error"
        ))
        .header("Lambda-Runtime-Function-Error-Type", "unhandled")
        .json(&json!({
            "errorType": "presence_sync::Error",
            "errorMessage": "Graph returned 503",
            "stackTrace": []
        }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
    });
    let invocation = api.invoke(json!({}), Duration::from_secs(10)).await;
    assert_eq!(client.await.unwrap(), 202);
    match invocation.result {
        Err(InvokeFailure::Error(error)) => {
            assert_eq!(error.error_type, "presence_sync::Error");
            assert_eq!(error.error_message, "Graph returned 503");
            assert_eq!(error.function_error_type.as_deref(), Some("unhandled"));
            assert_eq!(error.body["stackTrace"], json!([]));
        }
        other => panic!("expected an invocation error, got {other:?}"),
    }
}

#[tokio::test]
async fn runtime_api_fails_queued_invocations_on_init_error() {
    let api = RuntimeApi::start().await;
    let address = api.address();
    let invoke = api.invoke(json!({}), Duration::from_secs(10));
    let report = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        reqwest::Client::new()
            .post(format!("http://{address}/2018-06-01/runtime/init/error"))
            .header("Lambda-Runtime-Function-Error-Type", "Runtime.InitError")
            .json(&json!({ "errorType": "ConfigError", "errorMessage": "TABLE_NAME missing" }))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    let (invocation, status) = tokio::join!(invoke, report);
    assert_eq!(status, 202);
    match invocation.result {
        Err(InvokeFailure::InitError(error)) => {
            assert_eq!(error.error_type, "ConfigError");
            assert_eq!(error.error_message, "TABLE_NAME missing");
        }
        other => panic!("expected an init error, got {other:?}"),
    }
    assert_eq!(api.init_errors().len(), 1);
}

#[tokio::test]
async fn runtime_api_times_out_undelivered_and_unanswered_invocations() {
    let api = RuntimeApi::start().await;
    api.set_timeout_grace(Duration::from_millis(200));

    // Nobody polls.
    let started = Instant::now();
    let invocation = api.invoke(json!({}), Duration::from_millis(100)).await;
    assert_eq!(
        invocation.result,
        Err(InvokeFailure::TimedOut { delivered: false })
    );
    assert!(started.elapsed() >= Duration::from_millis(300));

    // The stale event is skipped, the next one is delivered, fetched but not answered.
    let address = api.address();
    let poller = tokio::spawn(async move {
        let http = reqwest::Client::new();
        let (id, _, event) = poll_next(&http, &address).await;
        (http, id, event)
    });
    let invocation = api
        .invoke(json!({ "n": 2 }), Duration::from_millis(100))
        .await;
    assert_eq!(
        invocation.result,
        Err(InvokeFailure::TimedOut { delivered: true })
    );
    let (http, id, event) = poller.await.unwrap();
    assert_eq!(event, json!({ "n": 2 }));
    assert_eq!(id, invocation.request_id);
    // A late answer is refused, as Lambda refuses it once the invocation timed out.
    assert_eq!(
        post_response(&http, &api.address(), &id, &json!(1)).await,
        403
    );
}

#[tokio::test]
async fn runtime_api_abandoned_poll_does_not_swallow_an_invocation() {
    let api = RuntimeApi::start().await;
    // A runtime that dies while long-polling: raw request, then the socket closes.
    let mut dead = tokio::net::TcpStream::connect(api.address()).await.unwrap();
    dead.write_all(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: runtime\r\n\r\n")
        .await
        .unwrap();
    assert!(api.wait_for_polls(1, Duration::from_secs(5)).await);
    drop(dead);
    tokio::time::sleep(Duration::from_millis(100)).await;

    let address = api.address();
    let live = tokio::spawn(async move {
        let http = reqwest::Client::new();
        let (id, _, event) = poll_next(&http, &address).await;
        post_response(&http, &address, &id, &event).await
    });
    let invocation = api
        .invoke(json!({ "ok": true }), Duration::from_secs(5))
        .await;
    assert_eq!(invocation.result, Ok(json!({ "ok": true })));
    assert_eq!(live.await.unwrap(), 202);
}

#[tokio::test]
async fn runtime_api_rejects_a_response_that_is_not_json() {
    let api = RuntimeApi::start().await;
    let address = api.address();
    tokio::spawn(async move {
        let http = reqwest::Client::new();
        let (id, _, _) = poll_next(&http, &address).await;
        http.post(format!(
            "http://{address}/2018-06-01/runtime/invocation/{id}/response"
        ))
        .body("not json")
        .send()
        .await
        .unwrap();
    });
    let invocation = api.invoke(json!({}), Duration::from_secs(5)).await;
    assert_eq!(
        invocation.result,
        Err(InvokeFailure::InvalidResponse {
            body: "not json".into()
        })
    );
}

// ---------------------------------------------------------------------------------------
// Lambda process
// ---------------------------------------------------------------------------------------

/// A stand-in "binary": a shell script (the real one needs `cargo build -p presence-sync`).
fn script(body: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(unique_name("presence-sync-tests"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("fake-lambda");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[tokio::test]
async fn lambda_process_captures_output_clears_env_and_can_be_killed() {
    let binary = script(
        r#"echo "runtime=$AWS_LAMBDA_RUNTIME_API profile=${AWS_PROFILE:-none} home=${HOME:-none}"
echo "to stderr" >&2
exec sleep 60"#,
    );
    let api = RuntimeApi::start().await;
    let mut process = LambdaProcess::spawn(&binary, api.lambda_env("fake"));
    assert!(
        process
            .wait_for_log("to stderr", Duration::from_secs(5))
            .await
    );
    assert!(
        process
            .wait_for_log("runtime=", Duration::from_secs(5))
            .await
    );
    let logs = process.logs();
    assert!(
        logs.contains(&format!("runtime={} profile=none home=none", api.address())),
        "{logs:?}"
    );
    assert!(
        process
            .log_lines()
            .iter()
            .any(|l| l.stream == LogStream::Stderr && l.line == "to stderr")
    );

    assert!(process.is_running());
    process.kill().await;
    assert!(!process.is_running());
    let _ = std::fs::remove_dir_all(binary.parent().unwrap());
}

#[test]
fn binary_path_explains_how_to_build_a_missing_binary() {
    let panic = std::panic::catch_unwind(|| binary_path("no-such-binary-xyz")).unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains("cargo build -p no-such-binary-xyz"),
        "{message}"
    );
}
