//! What the stand-in `terraform` makes and unmakes for each resource of infra/azure and
//! infra/genesys. The AWS resources are real (moto): the secrets, and the partner event
//! source Genesys's integration creates in the account. Entra ID and Genesys are pretended,
//! with the credentials a test says they would issue (`STANDIN_AZURE_SECRET`,
//! `STANDIN_GENESYS_SECRET`), except one rule of Genesys's played against the fake: the client
//! Terraform runs as must hold a role to give it to an OAuth client, on every create and update
//! of the function's client (`genesyscloud_oauth_client`, `roles`: "The roles must also already
//! be assigned to the OAuth Client used by Terraform") — and its delete, which the provider
//! opens with an update setting the client inactive, roles included (`deleteOAuthClient`,
//! MyPureCloud/terraform-provider-genesyscloud, v1.84.1: "The client state must be set to
//! inactive before deleting").

use super::terraform::{Call, Counts, add, addresses, sdk, var};
use super::{Ended, failed, secret_input};
use crate::aws;
use serde_json::{Value, json};

/// The role a targeted apply creates first.
const ROLE: &str = "genesyscloud_auth_role.scim_reader";
const CLIENT: &str = "genesyscloud_oauth_client.presence_sync";
const WATCHER_CLIENT: &str = "genesyscloud_oauth_client.presence_watch";
const INTEGRATION: &str = "genesyscloud_integration.eventbridge";

/// The secret in moto (created unless the state's output `output` names one that still
/// exists); whether it was created.
async fn ensure_secret(state: &mut Value, output: &str, prefix: &str, value: Value) -> bool {
    let client = aws_sdk_secretsmanager::Client::new(&sdk().await);
    if let Some(arn) = state["outputs"][output].as_str()
        && !arn.is_empty()
        && client.describe_secret().secret_id(arn).send().await.is_ok()
    {
        return false;
    }
    let name = format!(
        "{prefix}{}",
        &uuid::Uuid::new_v4().simple().to_string()[..20]
    );
    let arn = aws::put_secret(&client, &name, &value).await;
    state["outputs"][output] = json!(arn);
    true
}

/// Every resource the module declares into the state; how many were new.
fn add_declared(call: &Call<'_>, state: &mut Value, only: Option<&str>) -> usize {
    call.module()
        .resources
        .iter()
        .filter(|r| only.is_none_or(|o| r.address == o))
        .filter(|r| add(state, r))
        .count()
}

pub(super) async fn apply_azure(
    call: &Call<'_>,
    state: &mut Value,
    counts: &mut Counts,
) -> Result<(), Ended> {
    let (_region, prefix) = (var("aws_region")?, var("secret_name_prefix")?);
    let mut secret = secret_input("STANDIN_AZURE_SECRET");
    secret["client_secret_expires_at"] = json!("2027-06-01T00:00:00Z");
    ensure_secret(state, "secret_arn", &prefix, secret.clone()).await;
    counts.added += add_declared(call, state, None);
    state["outputs"]["client_id"] = secret["client_id"].clone();
    state["outputs"]["tenant_id"] = secret["tenant_id"].clone();
    state["outputs"]["client_secret_expires"] = json!("2027-06-01T00:00:00Z");
    Ok(())
}

pub(super) async fn apply_genesys(
    call: &Call<'_>,
    state: &mut Value,
    counts: &mut Counts,
) -> Result<(), Ended> {
    if state["outputs"]["scim_reader_role_id"].is_null() {
        state["outputs"]["scim_reader_role_id"] = json!(uuid::Uuid::new_v4().to_string());
    }
    let division = std::env::var("TF_VAR_role_division_id").unwrap_or_else(|_| "*".into());
    state["outputs"]["role_division_id"] = json!(division);
    if call.targets() == [ROLE] {
        counts.added += add_declared(call, state, Some(ROLE));
        return Ok(());
    }
    counts.added += add_declared(call, state, Some(ROLE));
    if !addresses(state).iter().any(|a| a == CLIENT) {
        deployment_client_holds(state, "create").await?;
    }
    ensure_partner_source(state).await?;
    let prefix = var("secret_name_prefix")?;
    let secret = secret_input("STANDIN_GENESYS_SECRET");
    ensure_secret(state, "secret_arn", &prefix, secret.clone()).await;
    // The watcher's own client (two_way), with the credentials the fake Genesys issued it.
    if var("two_way").is_ok_and(|v| v == "true") {
        let watcher = secret_input("STANDIN_WATCHER_GENESYS_SECRET");
        let watcher = if watcher.is_null() {
            secret.clone()
        } else {
            watcher
        };
        ensure_secret(
            state,
            "watcher_secret_arn",
            &format!("{prefix}watch-"),
            watcher,
        )
        .await;
    } else {
        state["outputs"]["watcher_secret_arn"] = json!("");
    }
    counts.added += add_declared(call, state, None);
    state["outputs"]["oauth_client_id"] = secret["client_id"].clone();
    state["outputs"]["integration_id"] = json!("integration-1");
    Ok(())
}

/// What destroying one resource does beyond the state: the secrets go to their recovery
/// window, the integration takes its partner event source with it, the function's client is
/// first updated (inactive, with its roles).
pub(super) async fn destroy_resource(state: &Value, address: &str) -> Result<(), Ended> {
    let sdk = sdk().await;
    match address {
        "aws_secretsmanager_secret.azure"
        | "aws_secretsmanager_secret.genesys"
        | "aws_secretsmanager_secret.watcher" => {
            let output = match address {
                "aws_secretsmanager_secret.watcher" => "watcher_secret_arn",
                _ => "secret_arn",
            };
            if let Some(arn) = state["outputs"][output].as_str().filter(|a| !a.is_empty()) {
                let _ = aws_sdk_secretsmanager::Client::new(&sdk)
                    .delete_secret()
                    .secret_id(arn)
                    .recovery_window_in_days(7)
                    .send()
                    .await;
            }
        }
        INTEGRATION => {
            if let (Some(name), Ok(account)) = (
                state["outputs"]["event_source_name"].as_str(),
                var("aws_account_id"),
            ) {
                let _ = aws_sdk_eventbridge::Client::new(&sdk)
                    .delete_partner_event_source()
                    .name(name)
                    .account(account)
                    .send()
                    .await;
            }
        }
        CLIENT | WATCHER_CLIENT => {
            deployment_client_holds(state, "update (state inactive, before deleting)").await?
        }
        _ => {}
    }
    Ok(())
}

/// Genesys's rule, played against the fake: the client Terraform runs as holds the role it
/// gives (or gave) the function's client, in the division of that grant.
async fn deployment_client_holds(state: &Value, what: &str) -> Result<(), Ended> {
    let role = state["outputs"]["scim_reader_role_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let division = state["outputs"]["role_division_id"]
        .as_str()
        .unwrap_or("*")
        .to_owned();
    let fail = |why: String| {
        failed(&format!(
            "Error: Failed to {what} oauth client presence-sync error: {why}"
        ))
    };
    let client = admin_client().await.map_err(fail)?;
    let held = client["roleDivisions"].as_array().is_some_and(|grants| {
        grants
            .iter()
            .any(|g| g["roleId"] == json!(role) && g["divisionId"] == json!(division))
    });
    if held {
        Ok(())
    } else {
        Err(fail(format!(
            "[403] the role {role} is not assigned to the OAuth client running Terraform"
        )))
    }
}

/// The deployment client as Genesys describes it (`GET /api/v2/oauth/clients/{id}`).
async fn admin_client() -> Result<Value, String> {
    let id = std::env::var("GENESYSCLOUD_OAUTHCLIENT_ID")
        .map_err(|_| "no GENESYSCLOUD_OAUTHCLIENT_ID".to_owned())?;
    let secret = std::env::var("GENESYSCLOUD_OAUTHCLIENT_SECRET")
        .map_err(|_| "no GENESYSCLOUD_OAUTHCLIENT_SECRET".to_owned())?;
    let login = std::env::var("GENESYS_LOGIN_URL").unwrap_or_default();
    let api = std::env::var("GENESYS_API_URL").unwrap_or_default();
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{login}/oauth/token"))
        .basic_auth(&id, Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    http.get(format!("{api}/api/v2/oauth/clients/{id}"))
        .bearer_auth(token["access_token"].as_str().unwrap_or_default())
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())
}

/// The partner event source the integration makes in the AWS account (unless the state's
/// still exists).
async fn ensure_partner_source(state: &mut Value) -> Result<(), Ended> {
    let (account, suffix) = (var("aws_account_id")?, var("event_source_suffix")?);
    let events = aws_sdk_eventbridge::Client::new(&sdk().await);
    if let Some(name) = state["outputs"]["event_source_name"].as_str()
        && addresses(state).iter().any(|a| a == INTEGRATION)
        && events
            .describe_event_source()
            .name(name)
            .send()
            .await
            .is_ok()
    {
        return Ok(());
    }
    let org = state["org_id"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let name = format!("aws.partner/genesys.com/cloud/{org}/{suffix}");
    match std::env::var("STANDIN_SOURCE_DELAY_MS") {
        // Genesys makes the source in its own time after the integration exists: a process
        // of its own makes it later, outliving this apply (its output goes nowhere, so the
        // driver does not wait for it).
        Ok(delay) => {
            use std::os::unix::process::CommandExt as _;
            let me = std::env::current_exe().map_err(|e| failed(&e.to_string()))?;
            std::process::Command::new(me)
                .arg0("terraform")
                .args([LATER, &name, &account, &delay])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .map_err(|e| failed(&format!("Error: creating the integration: {e}")))?;
        }
        Err(_) => create_source(&name, &account).await?,
    }
    state["org_id"] = json!(org);
    state["outputs"]["event_source_name"] = json!(name);
    Ok(())
}

/// The stand-in's own command for a partner event source made later ([`create_later`]).
pub(super) const LATER: &str = "__create-partner-source-later";

async fn create_source(name: &str, account: &str) -> Result<(), Ended> {
    aws_sdk_eventbridge::Client::new(&sdk().await)
        .create_partner_event_source()
        .name(name)
        .account(account)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| failed(&format!("Error: creating the integration: {e:?}")))
}

/// `terraform __create-partner-source-later <name> <account> <delay ms>`: what Genesys does
/// some time after the integration is created.
pub(super) async fn create_later(args: &[String]) -> Ended {
    let [_, name, account, delay] = args else {
        return failed("stand-in: __create-partner-source-later <name> <account> <ms>");
    };
    let delay = delay.parse().unwrap_or(0);
    tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
    match create_source(name, account).await {
        Ok(()) => super::ok(true),
        Err(ended) => ended,
    }
}
