//! The stand-in `terraform` for infra/azure and infra/genesys: `version`, `init`,
//! `workspace select -or-create=true`, `apply [-target=…]`, `output -raw`, `destroy`. The
//! state is a JSON file per module and workspace; the AWS resources (the secrets, the partner
//! event source) are made in moto, the rest is pretended. An apply with nothing to do says so,
//! as Terraform does ("0 added"). `output -raw` of a sensitive output is refused: the driver
//! must never read one.

use super::{Ended, endpoint, failed, ok, read_state, secret_input, write_state};
use crate::aws;
use serde_json::{Value, json};

/// The outputs of infra/*/outputs.tf that are `sensitive` (none left since the secrets go to
/// Secrets Manager inside Terraform; the names of the old ones are refused all the same).
const SENSITIVE: [&str; 4] = [
    "client_secret",
    "azure_secret_json",
    "oauth_client_secret",
    "genesys_secret_json",
];
/// The role a targeted apply creates first.
const ROLE: &str = "genesyscloud_auth_role.scim_reader";

struct Call<'a> {
    module: String,
    args: &'a [String],
}

impl Call<'_> {
    fn workspace(&self) -> String {
        std::env::var("TF_WORKSPACE").unwrap_or_else(|_| {
            read_state(&format!("{}.workspace", self.module))["name"]
                .as_str()
                .unwrap_or("default")
                .to_owned()
        })
    }

    fn state_name(&self) -> String {
        format!("{}.{}.json", self.module, self.workspace())
    }

    fn has(&self, flag: &str) -> bool {
        self.args.iter().any(|a| a == flag)
    }

    fn target(&self) -> Option<&str> {
        self.args.iter().find_map(|a| a.strip_prefix("-target="))
    }
}

pub(super) async fn run(args: &[String]) -> Ended {
    let module = args
        .iter()
        .find_map(|a| a.strip_prefix("-chdir="))
        .map(|dir| dir.rsplit('/').next().unwrap_or(dir).to_owned())
        .unwrap_or_default();
    let call = Call { module, args };
    let command: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with('-'))
        .map(String::as_str)
        .collect();
    match command.as_slice() {
        ["version"] => {
            println!("{}", json!({"terraform_version": "1.9.8"}));
            ok(false)
        }
        ["init"] => {
            println!("Terraform has been successfully initialized!");
            ok(false)
        }
        ["workspace", "select", name] => select_workspace(&call, name),
        ["apply"] => apply(&call).await,
        ["output", name] if call.has("-raw") => output(&call, name),
        ["destroy"] => destroy(&call).await,
        _ => failed(&format!("stand-in terraform: {args:?} is not played")),
    }
}

fn select_workspace(call: &Call<'_>, name: &str) -> Ended {
    if std::env::var_os("TF_WORKSPACE").is_some() {
        return failed(
            "Error: The selected workspace is currently overridden using the TF_WORKSPACE environment variable.",
        );
    }
    if !call.has("-or-create=true")
        && read_state(&format!("{}.{name}.json", call.module)) == json!({})
    {
        return failed(&format!("Workspace \"{name}\" doesn't exist."));
    }
    write_state(
        &format!("{}.workspace", call.module),
        &json!({"name": name}),
    );
    println!("Switched to workspace \"{name}\".");
    ok(false)
}

fn var(name: &str) -> Result<String, Ended> {
    std::env::var(format!("TF_VAR_{name}"))
        .map_err(|_| failed(&format!("Error: No value for required variable {name}")))
}

async fn apply(call: &Call<'_>) -> Ended {
    let applied = match call.module.as_str() {
        "azure" => apply_azure(call).await,
        "genesys" => apply_genesys(call).await,
        other => Err(failed(&format!("stand-in terraform: no module {other}"))),
    };
    match applied {
        Ok(added) => {
            println!("Apply complete! Resources: {added} added, 0 changed, 0 destroyed.");
            ok(added > 0)
        }
        Err(ended) => ended,
    }
}

/// The secret in moto (created unless the state names one that still exists); whether it
/// was created.
async fn ensure_secret(state: &mut Value, prefix: &str, value: Value) -> bool {
    let client = aws::secrets_client(&endpoint()).await;
    if let Some(arn) = state["outputs"]["secret_arn"].as_str()
        && client.describe_secret().secret_id(arn).send().await.is_ok()
    {
        return false;
    }
    let name = format!(
        "{prefix}{}",
        &uuid::Uuid::new_v4().simple().to_string()[..20]
    );
    let arn = aws::put_secret(&client, &name, &value).await;
    state["outputs"]["secret_arn"] = json!(arn);
    true
}

async fn apply_azure(call: &Call<'_>) -> Result<usize, Ended> {
    let (_region, prefix) = (var("aws_region")?, var("secret_name_prefix")?);
    let mut state = read_state(&call.state_name());
    let mut secret = secret_input("STANDIN_AZURE_SECRET");
    secret["client_secret_expires_at"] = json!("2027-06-01T00:00:00Z");
    let created = ensure_secret(&mut state, &prefix, secret.clone()).await;
    state["outputs"]["client_id"] = secret["client_id"].clone();
    state["outputs"]["tenant_id"] = secret["tenant_id"].clone();
    state["outputs"]["client_secret_expires"] = json!("2027-06-01T00:00:00Z");
    write_state(&call.state_name(), &state);
    // The app, its service principal, the consent, the password, the secret and its version.
    Ok(if created { 6 } else { 0 })
}

async fn apply_genesys(call: &Call<'_>) -> Result<usize, Ended> {
    let mut state = read_state(&call.state_name());
    let mut added = 0;
    if state["outputs"]["scim_reader_role_id"].is_null() {
        state["outputs"]["scim_reader_role_id"] = json!(uuid::Uuid::new_v4().to_string());
        added += 1;
    }
    let division = std::env::var("TF_VAR_role_division_id").unwrap_or_else(|_| "*".into());
    state["outputs"]["role_division_id"] = json!(division);
    write_state(&call.state_name(), &state);
    if call.target() == Some(ROLE) {
        return Ok(added);
    }
    let role = state["outputs"]["scim_reader_role_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    deployment_client_holds(&role, &division).await?;
    added += ensure_partner_source(&mut state).await?;
    let prefix = var("secret_name_prefix")?;
    let secret = secret_input("STANDIN_GENESYS_SECRET");
    if ensure_secret(&mut state, &prefix, secret.clone()).await {
        // The client, the integration, the secret and its version.
        added += 4;
    }
    state["outputs"]["oauth_client_id"] = secret["client_id"].clone();
    state["outputs"]["integration_id"] = json!("integration-1");
    write_state(&call.state_name(), &state);
    Ok(added)
}

/// Genesys's rule, played against the fake: an OAuth client may be given only roles the
/// client Terraform runs as holds (`genesyscloud_oauth_client`, `roles`).
async fn deployment_client_holds(role: &str, division: &str) -> Result<(), Ended> {
    let fail = |why: String| {
        failed(&format!(
            "Error: Failed to create oauth client presence-sync error: {why}"
        ))
    };
    let id = std::env::var("GENESYSCLOUD_OAUTHCLIENT_ID")
        .map_err(|_| fail("no GENESYSCLOUD_OAUTHCLIENT_ID".into()))?;
    let secret = std::env::var("GENESYSCLOUD_OAUTHCLIENT_SECRET")
        .map_err(|_| fail("no GENESYSCLOUD_OAUTHCLIENT_SECRET".into()))?;
    let login = std::env::var("GENESYS_LOGIN_URL").unwrap_or_default();
    let api = std::env::var("GENESYS_API_URL").unwrap_or_default();
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{login}/oauth/token"))
        .basic_auth(&id, Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .map_err(|e| fail(e.to_string()))?
        .json()
        .await
        .map_err(|e| fail(e.to_string()))?;
    let client: Value = http
        .get(format!("{api}/api/v2/oauth/clients/{id}"))
        .bearer_auth(token["access_token"].as_str().unwrap_or_default())
        .send()
        .await
        .map_err(|e| fail(e.to_string()))?
        .json()
        .await
        .map_err(|e| fail(e.to_string()))?;
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

/// The partner event source the integration makes in the AWS account; how many resources
/// that added.
async fn ensure_partner_source(state: &mut Value) -> Result<usize, Ended> {
    let (account, suffix) = (var("aws_account_id")?, var("event_source_suffix")?);
    let events = aws_sdk_eventbridge::Client::new(&aws::sdk_config(&endpoint()).await);
    if let Some(name) = state["outputs"]["event_source_name"].as_str()
        && events
            .describe_event_source()
            .name(name)
            .send()
            .await
            .is_ok()
    {
        return Ok(0);
    }
    let org = state["org_id"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let name = format!("aws.partner/genesys.com/cloud/{org}/{suffix}");
    events
        .create_partner_event_source()
        .name(&name)
        .account(&account)
        .send()
        .await
        .map_err(|e| failed(&format!("Error: creating the integration: {e:?}")))?;
    state["org_id"] = json!(org);
    state["outputs"]["event_source_name"] = json!(name);
    Ok(1)
}

fn output(call: &Call<'_>, name: &str) -> Ended {
    if SENSITIVE.contains(&name) {
        return failed(&format!(
            "stand-in terraform: the driver asked for the sensitive output {name}"
        ));
    }
    match read_state(&call.state_name())["outputs"][name].as_str() {
        Some(value) => {
            print!("{value}");
            ok(false)
        }
        None => failed(&format!("Error: Output \"{name}\" not found")),
    }
}

async fn destroy(call: &Call<'_>) -> Ended {
    let state = read_state(&call.state_name());
    let sdk = aws::sdk_config(&endpoint()).await;
    let mut destroyed = 0;
    if let Some(arn) = state["outputs"]["secret_arn"].as_str() {
        let client = aws_sdk_secretsmanager::Client::new(&sdk);
        if client
            .delete_secret()
            .secret_id(arn)
            .recovery_window_in_days(7)
            .send()
            .await
            .is_ok()
        {
            destroyed += 1;
        }
    }
    if let (Some(name), Ok(account)) = (
        state["outputs"]["event_source_name"].as_str(),
        var("aws_account_id"),
    ) {
        let events = aws_sdk_eventbridge::Client::new(&sdk);
        if events
            .delete_partner_event_source()
            .name(name)
            .account(account)
            .send()
            .await
            .is_ok()
        {
            destroyed += 1;
        }
    }
    write_state(&call.state_name(), &json!({}));
    println!("Destroy complete! Resources: {destroyed} destroyed.");
    ok(destroyed > 0)
}
