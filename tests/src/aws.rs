//! AWS SDK clients and fixtures against moto: SDK configuration with fake static
//! credentials, the environment a Lambda child process needs to reach moto, the state
//! table created from the `StateTable` resource of `template.yaml`, and secrets.
//!
//! SDK clients (and the [`aws_config::SdkConfig`] they come from) hold a connection pool
//! bound to the tokio runtime that first uses them: build them inside each test, never
//! in a static shared by tests.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeDefinition as DdbAttributeDefinition, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, SseSpecification, SseType, TableStatus, TimeToLiveSpecification,
};
use serde_yaml::Value;

/// Region of every client and child process in the tests.
pub const TEST_REGION: &str = "us-east-1";
/// Fake static credentials (moto accepts any).
pub const TEST_ACCESS_KEY_ID: &str = "testing";
pub const TEST_SECRET_ACCESS_KEY: &str = "testing";
pub const TEST_SESSION_TOKEN: &str = "testing";
/// The account moto uses for ARNs.
pub const MOTO_ACCOUNT_ID: &str = "123456789012";

/// SDK configuration for moto at `endpoint`: static test credentials, region us-east-1.
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(TEST_REGION))
        .credentials_provider(Credentials::new(
            TEST_ACCESS_KEY_ID,
            TEST_SECRET_ACCESS_KEY,
            Some(TEST_SESSION_TOKEN.to_string()),
            None,
            "presence-sync-tests",
        ))
        .endpoint_url(endpoint)
        .load()
        .await
}

/// A DynamoDB client for moto at `endpoint`.
pub async fn dynamodb_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&sdk_config(endpoint).await)
}

/// A Secrets Manager client for moto at `endpoint`.
pub async fn secrets_client(endpoint: &str) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&sdk_config(endpoint).await)
}

/// Environment variables for a child process (the Lambda binary) whose AWS SDK must talk
/// to moto at `endpoint`: the per-service endpoint variables the README documents
/// (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SECRETS_MANAGER`), static credentials,
/// region, and no IMDS, profile or shared-credentials lookups.
pub fn env_for(endpoint: &str) -> Vec<(String, String)> {
    [
        ("AWS_ENDPOINT_URL_DYNAMODB", endpoint),
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", endpoint),
        ("AWS_ACCESS_KEY_ID", TEST_ACCESS_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", TEST_SECRET_ACCESS_KEY),
        ("AWS_SESSION_TOKEN", TEST_SESSION_TOKEN),
        ("AWS_REGION", TEST_REGION),
        ("AWS_DEFAULT_REGION", TEST_REGION),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_CONFIG_FILE", "/dev/null"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_string(), value.to_string()))
    .collect()
}

/// `prefix` plus a short random suffix: `prefix-1a2b3c4d5e6f`. Valid as a DynamoDB table
/// name and a Secrets Manager secret name when `prefix` is.
pub fn unique_name(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &id[..12])
}

// ---------------------------------------------------------------------------------------
// State table from template.yaml
// ---------------------------------------------------------------------------------------

/// The `StateTable` resource of `template.yaml`, as far as the tests map it to DynamoDB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateTableDefinition {
    /// `PAY_PER_REQUEST` (the only mode mapped: `PROVISIONED` needs throughput).
    pub billing_mode: String,
    pub attribute_definitions: Vec<AttributeDefinition>,
    pub key_schema: Vec<KeyElement>,
    pub time_to_live: Option<TimeToLive>,
    pub sse: Option<Sse>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeDefinition {
    pub attribute_name: String,
    /// `S`, `N` or `B`.
    pub attribute_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyElement {
    pub attribute_name: String,
    /// `HASH` or `RANGE`.
    pub key_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeToLive {
    pub attribute_name: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sse {
    pub enabled: bool,
    pub sse_type: Option<String>,
    pub kms_master_key_id: Option<String>,
}

impl StateTableDefinition {
    /// The partition (HASH) key attribute.
    pub fn partition_key(&self) -> &str {
        self.key_schema
            .iter()
            .find(|k| k.key_type == "HASH")
            .map(|k| k.attribute_name.as_str())
            .expect("StateTable has a HASH key")
    }

    /// The sort (RANGE) key attribute, if any.
    pub fn sort_key(&self) -> Option<&str> {
        self.key_schema
            .iter()
            .find(|k| k.key_type == "RANGE")
            .map(|k| k.attribute_name.as_str())
    }

    /// The TTL attribute, when TTL is enabled.
    pub fn ttl_attribute(&self) -> Option<&str> {
        self.time_to_live
            .as_ref()
            .filter(|ttl| ttl.enabled)
            .map(|ttl| ttl.attribute_name.as_str())
    }
}

/// Logical id of the table resource in `template.yaml`.
pub const STATE_TABLE_RESOURCE: &str = "StateTable";

/// Path of the SAM/CloudFormation template.
pub fn template_path() -> std::path::PathBuf {
    crate::moto::repo_root().join("template.yaml")
}

/// The `StateTable` definition parsed from `<repo>/template.yaml`. Panics with the reason
/// if the template cannot be read or has properties [`create_state_table`] does not map.
pub fn state_table_definition() -> StateTableDefinition {
    let path = template_path();
    let yaml = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    parse_state_table_definition(&yaml).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

const MAPPED_RESOURCE_KEYS: &[&str] = &[
    "Type",
    "Properties",
    "DeletionPolicy",
    "UpdateReplacePolicy",
    "DependsOn",
    "Metadata",
];
const MAPPED_PROPERTIES: &[&str] = &[
    "BillingMode",
    "AttributeDefinitions",
    "KeySchema",
    "TimeToLiveSpecification",
    "SSESpecification",
];

/// Parse the `StateTable` resource out of a template's YAML text. CloudFormation short-form
/// tags (`!Ref`, `!Sub`, `!GetAtt`, ...) are accepted anywhere except inside the mapped
/// table properties, which must be literal. Any property that is not mapped is an error,
/// so the template and the tests cannot drift apart silently.
pub fn parse_state_table_definition(template_yaml: &str) -> Result<StateTableDefinition, String> {
    let root: Value =
        serde_yaml::from_str(template_yaml).map_err(|err| format!("invalid YAML: {err}"))?;
    let resource = root
        .get("Resources")
        .and_then(|r| r.get(STATE_TABLE_RESOURCE))
        .ok_or_else(|| format!("no Resources.{STATE_TABLE_RESOURCE}"))?;
    let resource = mapping(resource, STATE_TABLE_RESOURCE)?;
    for key in resource.keys() {
        let key = key_str(key, STATE_TABLE_RESOURCE)?;
        if !MAPPED_RESOURCE_KEYS.contains(&key) {
            return Err(unmapped(&format!("{STATE_TABLE_RESOURCE}.{key}")));
        }
    }
    let kind = string(
        field(resource, "Type", STATE_TABLE_RESOURCE)?,
        "StateTable.Type",
    )?;
    if kind != "AWS::DynamoDB::Table" {
        return Err(format!(
            "{STATE_TABLE_RESOURCE}.Type is {kind}, expected AWS::DynamoDB::Table"
        ));
    }
    let props = mapping(
        field(resource, "Properties", STATE_TABLE_RESOURCE)?,
        "StateTable.Properties",
    )?;
    for key in props.keys() {
        let key = key_str(key, "StateTable.Properties")?;
        if !MAPPED_PROPERTIES.contains(&key) {
            return Err(unmapped(&format!(
                "{STATE_TABLE_RESOURCE}.Properties.{key}"
            )));
        }
    }

    let billing_mode = match props.get("BillingMode") {
        // CloudFormation's default is PROVISIONED, which needs ProvisionedThroughput.
        None => {
            return Err(unmapped(
                "StateTable.Properties.BillingMode (absent = PROVISIONED)",
            ));
        }
        Some(v) => string(v, "StateTable.Properties.BillingMode")?.to_string(),
    };
    if billing_mode != "PAY_PER_REQUEST" {
        return Err(unmapped(&format!(
            "StateTable.Properties.BillingMode {billing_mode}"
        )));
    }

    let attribute_definitions = sequence(
        field(props, "AttributeDefinitions", "StateTable.Properties")?,
        "AttributeDefinitions",
    )?
    .iter()
    .map(|item| {
        let ctx = "StateTable.Properties.AttributeDefinitions[]";
        let item = mapping(item, ctx)?;
        only_keys(item, &["AttributeName", "AttributeType"], ctx)?;
        let attribute_type = string(field(item, "AttributeType", ctx)?, ctx)?.to_string();
        if !["S", "N", "B"].contains(&attribute_type.as_str()) {
            return Err(format!(
                "{ctx}: AttributeType {attribute_type} is not S, N or B"
            ));
        }
        Ok(AttributeDefinition {
            attribute_name: string(field(item, "AttributeName", ctx)?, ctx)?.to_string(),
            attribute_type,
        })
    })
    .collect::<Result<Vec<_>, String>>()?;

    let key_schema = sequence(
        field(props, "KeySchema", "StateTable.Properties")?,
        "KeySchema",
    )?
    .iter()
    .map(|item| {
        let ctx = "StateTable.Properties.KeySchema[]";
        let item = mapping(item, ctx)?;
        only_keys(item, &["AttributeName", "KeyType"], ctx)?;
        let key_type = string(field(item, "KeyType", ctx)?, ctx)?.to_string();
        if !["HASH", "RANGE"].contains(&key_type.as_str()) {
            return Err(format!("{ctx}: KeyType {key_type} is not HASH or RANGE"));
        }
        Ok(KeyElement {
            attribute_name: string(field(item, "AttributeName", ctx)?, ctx)?.to_string(),
            key_type,
        })
    })
    .collect::<Result<Vec<_>, String>>()?;
    if key_schema.iter().filter(|k| k.key_type == "HASH").count() != 1 {
        return Err("StateTable.Properties.KeySchema needs exactly one HASH key".into());
    }

    let time_to_live = props
        .get("TimeToLiveSpecification")
        .map(|v| {
            let ctx = "StateTable.Properties.TimeToLiveSpecification";
            let m = mapping(v, ctx)?;
            only_keys(m, &["AttributeName", "Enabled"], ctx)?;
            Ok::<_, String>(TimeToLive {
                attribute_name: string(field(m, "AttributeName", ctx)?, ctx)?.to_string(),
                enabled: boolean(field(m, "Enabled", ctx)?, ctx)?,
            })
        })
        .transpose()?;

    let sse = props
        .get("SSESpecification")
        .map(|v| {
            let ctx = "StateTable.Properties.SSESpecification";
            let m = mapping(v, ctx)?;
            only_keys(m, &["SSEEnabled", "SSEType", "KMSMasterKeyId"], ctx)?;
            Ok::<_, String>(Sse {
                enabled: boolean(field(m, "SSEEnabled", ctx)?, ctx)?,
                sse_type: m
                    .get("SSEType")
                    .map(|v| string(v, ctx).map(str::to_string))
                    .transpose()?,
                kms_master_key_id: m
                    .get("KMSMasterKeyId")
                    .map(|v| string(v, ctx).map(str::to_string))
                    .transpose()?,
            })
        })
        .transpose()?;

    Ok(StateTableDefinition {
        billing_mode,
        attribute_definitions,
        key_schema,
        time_to_live,
        sse,
    })
}

fn unmapped(what: &str) -> String {
    format!(
        "template property {what} is not mapped by presence-sync-tests (tests/src/aws.rs, \
         create_state_table); map it there so tables created in moto match the deployed table"
    )
}

fn mapping<'a>(value: &'a Value, ctx: &str) -> Result<&'a serde_yaml::Mapping, String> {
    match value {
        Value::Mapping(m) => Ok(m),
        Value::Tagged(t) => Err(intrinsic(&t.tag, ctx)),
        other => Err(format!("{ctx}: expected a mapping, found {other:?}")),
    }
}

fn sequence<'a>(value: &'a Value, ctx: &str) -> Result<&'a Vec<Value>, String> {
    match value {
        Value::Sequence(s) => Ok(s),
        Value::Tagged(t) => Err(intrinsic(&t.tag, ctx)),
        other => Err(format!("{ctx}: expected a list, found {other:?}")),
    }
}

fn string<'a>(value: &'a Value, ctx: &str) -> Result<&'a str, String> {
    match value {
        Value::String(s) => Ok(s),
        Value::Tagged(t) => Err(intrinsic(&t.tag, ctx)),
        other => Err(format!("{ctx}: expected a string, found {other:?}")),
    }
}

fn boolean(value: &Value, ctx: &str) -> Result<bool, String> {
    match value {
        Value::Bool(b) => Ok(*b),
        // CloudFormation also accepts the strings "true" / "false".
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        Value::Tagged(t) => Err(intrinsic(&t.tag, ctx)),
        other => Err(format!("{ctx}: expected a boolean, found {other:?}")),
    }
}

fn field<'a>(map: &'a serde_yaml::Mapping, key: &str, ctx: &str) -> Result<&'a Value, String> {
    map.get(key).ok_or_else(|| format!("{ctx}: missing {key}"))
}

fn key_str<'a>(key: &'a Value, ctx: &str) -> Result<&'a str, String> {
    key.as_str()
        .ok_or_else(|| format!("{ctx}: non-string key {key:?}"))
}

fn only_keys(map: &serde_yaml::Mapping, allowed: &[&str], ctx: &str) -> Result<(), String> {
    for key in map.keys() {
        let key = key_str(key, ctx)?;
        if !allowed.contains(&key) {
            return Err(unmapped(&format!("{ctx}.{key}")));
        }
    }
    Ok(())
}

fn intrinsic(tag: &serde_yaml::value::Tag, ctx: &str) -> String {
    format!(
        "{ctx}: CloudFormation intrinsic {tag} is not supported in the mapped table \
         properties; the tests need literal values"
    )
}

/// Create `table_name` in moto exactly as `template.yaml` defines `StateTable`
/// (attribute definitions, key schema, billing mode, SSE), wait until it is ACTIVE, then
/// apply its `TimeToLiveSpecification` with UpdateTimeToLive. Panics on any failure.
pub async fn create_state_table(client: &aws_sdk_dynamodb::Client, table_name: &str) {
    let def = state_table_definition();

    let mut request = client
        .create_table()
        .table_name(table_name)
        .billing_mode(BillingMode::from(def.billing_mode.as_str()));
    for attr in &def.attribute_definitions {
        request = request.attribute_definitions(
            DdbAttributeDefinition::builder()
                .attribute_name(&attr.attribute_name)
                .attribute_type(ScalarAttributeType::from(attr.attribute_type.as_str()))
                .build()
                .expect("attribute definition is complete"),
        );
    }
    for key in &def.key_schema {
        request = request.key_schema(
            KeySchemaElement::builder()
                .attribute_name(&key.attribute_name)
                .key_type(KeyType::from(key.key_type.as_str()))
                .build()
                .expect("key schema element is complete"),
        );
    }
    if let Some(sse) = &def.sse {
        request = request.sse_specification(
            SseSpecification::builder()
                .enabled(sse.enabled)
                .set_sse_type(sse.sse_type.as_deref().map(SseType::from))
                .set_kms_master_key_id(sse.kms_master_key_id.clone())
                .build(),
        );
    }
    request
        .send()
        .await
        .unwrap_or_else(|err| panic!("CreateTable {table_name}: {}", DisplayErrorContext(&err)));

    // moto creates tables ACTIVE at once; real DynamoDB (and other emulators) do not.
    let mut status = None;
    for _ in 0..100 {
        let described = client
            .describe_table()
            .table_name(table_name)
            .send()
            .await
            .unwrap_or_else(|err| {
                panic!("DescribeTable {table_name}: {}", DisplayErrorContext(&err))
            });
        status = described.table().and_then(|t| t.table_status().cloned());
        if status == Some(TableStatus::Active) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        status,
        Some(TableStatus::Active),
        "table {table_name} did not become ACTIVE"
    );

    if let Some(ttl) = &def.time_to_live {
        client
            .update_time_to_live()
            .table_name(table_name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(&ttl.attribute_name)
                    .enabled(ttl.enabled)
                    .build()
                    .expect("TTL specification is complete"),
            )
            .send()
            .await
            .unwrap_or_else(|err| {
                panic!(
                    "UpdateTimeToLive {table_name}: {}",
                    DisplayErrorContext(&err)
                )
            });
    }
}

// ---------------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------------

/// Create secret `name` with `value` (stored as its JSON text in SecretString) and return
/// its ARN. Panics on failure (e.g. when the name exists).
pub async fn put_secret(
    client: &aws_sdk_secretsmanager::Client,
    name: &str,
    value: &serde_json::Value,
) -> String {
    let created = client
        .create_secret()
        .name(name)
        .secret_string(value.to_string())
        .send()
        .await
        .unwrap_or_else(|err| {
            panic!(
                "CreateSecret {name}: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(&err)
            )
        });
    created
        .arn()
        .unwrap_or_else(|| panic!("CreateSecret {name} returned no ARN"))
        .to_string()
}

/// Store a new current version of secret `name` (PutSecretValue), as a rotation would,
/// and return the new version id. `name` may also be the secret's ARN.
pub async fn rotate_secret(
    client: &aws_sdk_secretsmanager::Client,
    name: &str,
    value: &serde_json::Value,
) -> String {
    let put = client
        .put_secret_value()
        .secret_id(name)
        .secret_string(value.to_string())
        .send()
        .await
        .unwrap_or_else(|err| {
            panic!(
                "PutSecretValue {name}: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(&err)
            )
        });
    put.version_id().unwrap_or_default().to_string()
}

/// The current SecretString of `name`, parsed as JSON.
pub async fn get_secret(client: &aws_sdk_secretsmanager::Client, name: &str) -> serde_json::Value {
    let got = client
        .get_secret_value()
        .secret_id(name)
        .send()
        .await
        .unwrap_or_else(|err| {
            panic!(
                "GetSecretValue {name}: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(&err)
            )
        });
    let text = got
        .secret_string()
        .unwrap_or_else(|| panic!("secret {name} has no SecretString"));
    serde_json::from_str(text)
        .unwrap_or_else(|err| panic!("secret {name} is not JSON ({err}): {text}"))
}

/// Every item of a table (a consistent scan), to carry a table across an emulator restart.
pub async fn snapshot_table(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap_or_else(|e| panic!("scanning {table}: {e:?}"));
        items.extend(page.items.unwrap_or_default());
        start = page.last_evaluated_key;
        if start.is_none() {
            return items;
        }
    }
}

/// Recreates the state table from `template.yaml` and writes `items` back into it.
pub async fn restore_table(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    items: Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>,
) {
    create_state_table(client, table).await;
    for item in items {
        client
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .send()
            .await
            .unwrap_or_else(|e| panic!("restoring {table}: {e:?}"));
    }
}
