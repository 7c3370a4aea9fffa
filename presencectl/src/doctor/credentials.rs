//! The credentials' checks: both secrets (present, parsed, no placeholder; never printed),
//! an Entra ID token with the Graph application role, a Genesys token and a SCIM read.

use super::{Check, GRAPH_ROLE, PLACEHOLDER, Status, fail, pass, skip};
use crate::agent::budget;
use crate::deployment::{Deployment, Stack};
use presence_core::adapters::genesys_users::GenesysUsers;
use presence_core::adapters::http::Http;
use presence_core::adapters::oauth::{AzureAd, GenesysLogin, TokenCache, secret_fields};
use presence_core::adapters::secrets_manager::SecretsManager;
use presence_core::config::Config;
use presence_core::domain::ids::GenesysUserId;
use presence_core::ports::{GenesysBulk, RemoteError, SecretSource};
use secrecy::{ExposeSecret, SecretString};

/// Both secrets, then the tokens and the SCIM read each secret's credentials allow (skipped
/// when the secret is unusable: its check says why).
pub(super) async fn checks(deployment: &Deployment, config: Option<&Config>) -> Vec<Check> {
    let secrets = SecretsManager::new(aws_sdk_secretsmanager::Client::new(&deployment.aws));
    let azure = secret_id(
        deployment,
        config,
        |s| &s.azure_secret_arn,
        |c| &c.azure_secret_id,
    );
    let genesys = secret_id(
        deployment,
        config,
        |s| &s.genesys_secret_arn,
        |c| &c.genesys_secret_id,
    );
    let azure = secret(
        "Azure secret",
        &secrets,
        azure,
        &["tenant_id", "client_id", "client_secret"],
    )
    .await;
    let genesys = secret(
        "Genesys secret",
        &secrets,
        genesys,
        &["client_id", "client_secret"],
    )
    .await;
    let usable = |check: &Check| check.status == Status::Pass;
    let entra = match (config, usable(&azure)) {
        (Some(config), true) => entra_check(config, &secrets).await,
        _ => skip(
            "Entra ID token",
            "needs a valid configuration and Azure secret",
        ),
    };
    let [scim, users_api, scope] = match (config, usable(&genesys)) {
        (Some(config), true) => genesys_checks(config, &secrets).await,
        _ => [
            skip(
                "Genesys SCIM",
                "needs a valid configuration and Genesys secret",
            ),
            skip(USERS_API, "needs a valid configuration and Genesys secret"),
            super::scope::skipped(),
        ],
    };
    vec![azure, genesys, entra, scim, users_api, scope]
}

async fn secret(
    name: &'static str,
    secrets: &SecretsManager,
    id: Option<String>,
    fields: &[&str],
) -> Check {
    match id {
        Some(id) => secret_check(name, secrets, &id, fields).await,
        None => skip(name, "no secret id (configuration)"),
    }
}

/// The secret id: the stack's output, or the configuration's.
fn secret_id(
    deployment: &Deployment,
    config: Option<&Config>,
    from_stack: impl Fn(&Stack) -> &String,
    from_config: impl Fn(&Config) -> &String,
) -> Option<String> {
    deployment
        .stack
        .as_ref()
        .map(|s| from_stack(s).clone())
        .or_else(|| config.map(|c| from_config(c).clone()))
}

pub(super) async fn secret_check(
    name: &'static str,
    secrets: &SecretsManager,
    id: &str,
    fields: &[&str],
) -> Check {
    let fix = "make deploy writes it (Terraform stores the client's current secret there); without make deploy, terraform apply of infra/azure or infra/genesys in the stack's workspace does (infra/README.md, \"By hand\")";
    let secret = match secrets.fetch(id).await {
        Ok(secret) => secret,
        Err(error) => {
            return fail(
                name,
                error.to_string(),
                "make deploy (Terraform creates the secret and gives the stack its ARN), and let this principal call secretsmanager:GetSecretValue on it",
            );
        }
    };
    judge_secret(name, id, &secret, fields).unwrap_or_else(|detail| fail(name, detail, fix))
}

/// A secret that parses into its fields and holds no placeholder; the error never quotes a
/// value.
pub fn judge_secret(
    name: &'static str,
    id: &str,
    secret: &SecretString,
    fields: &[&str],
) -> Result<Check, String> {
    let parsed = match fields {
        [a, b, c] => secret_fields(id, secret, [*a, *b, *c]).map(|f| f.to_vec()),
        [a, b] => secret_fields(id, secret, [*a, *b]).map(|f| f.to_vec()),
        _ => unreachable!("the secrets have two or three fields"),
    };
    let values = parsed.map_err(|e| e.to_string())?;
    let placeholders: Vec<&str> = fields
        .iter()
        .zip(&values)
        .filter(|(_, value)| value.expose_secret().contains(PLACEHOLDER))
        .map(|(field, _)| *field)
        .collect();
    if !placeholders.is_empty() {
        return Err(format!(
            "secret {id}: {} still hold the placeholder {PLACEHOLDER}",
            placeholders.join(", ")
        ));
    }
    Ok(pass(name, format!("{id}: {} set", fields.join(", "))))
}

async fn entra_check(config: &Config, secrets: &SecretsManager) -> Check {
    let name = "Entra ID token";
    let tokens = TokenCache::new(
        config.azure_secret_id.clone(),
        secrets.clone(),
        AzureAd {
            login_url: config.azure_login_url.clone(),
            scope: config.graph_scope.clone(),
        },
        Http::new(config.http),
    );
    match tokens.token(budget()).await {
        Ok(token) => judge_roles(name, roles(&token)),
        Err(error @ RemoteError::Denied { .. }) => fail(
            name,
            error.to_string(),
            "Entra ID refuses the client credentials: make deploy again (it stores the app's current client secret in the Azure secret)",
        ),
        Err(error) => fail(
            name,
            error.to_string(),
            "check AZURE_LOGIN_URL and the tenant in the secret; retry if Entra ID was unavailable",
        ),
    }
}

/// The `roles` claim of a JWT access token (`None`: not a JWT, or no such claim).
pub fn roles(token: &SecretString) -> Option<Vec<String>> {
    use base64::Engine;
    let payload = token.expose_secret().split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let roles = claims.get("roles")?.as_array()?;
    Some(
        roles
            .iter()
            .filter_map(|r| r.as_str())
            .map(presence_core::domain::excerpt::cut)
            .collect(),
    )
}

/// Whether the token's roles include the Graph permission (admin consent granted).
pub fn judge_roles(name: &'static str, roles: Option<Vec<String>>) -> Check {
    let consent = "grant admin consent for Presence.ReadWrite.All (Application) to the app registration: make deploy does, signed in (az login --tenant <tenant id> --allow-no-subscriptions) as a Global Administrator, or a Privileged Role Administrator who may also register applications (infra/README.md, manual action 1)";
    match roles {
        Some(roles) if roles.iter().any(|r| r == GRAPH_ROLE) => pass(
            name,
            format!("issued, with the application role {GRAPH_ROLE}"),
        ),
        Some(roles) if roles.is_empty() => {
            fail(name, "issued without any application role", consent)
        }
        Some(roles) => fail(
            name,
            format!(
                "issued with roles {} but not {GRAPH_ROLE}",
                roles.join(", ")
            ),
            consent,
        ),
        None => fail(
            name,
            "issued without a roles claim: no application permission is consented",
            consent,
        ),
    }
}

/// The check of the reconciler's bulk read.
const USERS_API: &str = "Genesys Users API";

/// A Genesys token and the two reads the functions make with it: SCIM (the Teams id, the
/// reconciler's sweep) and the Users API's bulk read of presence and routing status (the
/// reconciler's walk), the latter with users from SCIM's first page.
async fn genesys_checks(config: &Config, secrets: &SecretsManager) -> [Check; 3] {
    let http = Http::new(config.http);
    let users = GenesysUsers::new(
        http.clone(),
        &config.genesys_api_url,
        genesys_login(config, secrets, &http),
    );
    let (scim, first) = scim_check(config, secrets, &users).await;
    let (users_api, scope) = match first {
        Some(first) => (
            users_api_check(&users, first).await,
            super::scope::check(config, &users).await,
        ),
        None => (
            skip(USERS_API, "needs a Genesys token and a SCIM read"),
            skip(super::scope::NAME, "needs a Genesys token and a SCIM read"),
        ),
    };
    [scim, users_api, scope]
}

fn genesys_login(
    config: &Config,
    secrets: &SecretsManager,
    http: &Http,
) -> TokenCache<SecretsManager, GenesysLogin> {
    TokenCache::new(
        config.genesys_secret_id.clone(),
        secrets.clone(),
        GenesysLogin {
            login_url: config.genesys_login_url.clone(),
        },
        http.clone(),
    )
}

/// The bulk read the reconciler walks with (`GET /api/v2/users?id=…&expand=presence&
/// expand=routingStatus&state=any`), for up to five users SCIM listed (an unknown id when it
/// listed none: the read itself is what is checked).
async fn users_api_check(users: &GenesysUsers<SecretsManager>, first: Vec<GenesysUserId>) -> Check {
    let asked = match first.is_empty() {
        true => vec![GenesysUserId::parse(&uuid::Uuid::new_v4().to_string()).expect("a UUID")],
        false => first.into_iter().take(5).collect(),
    };
    match users.current(&asked, budget()).await {
        Ok(found) => {
            let with_presence = found.iter().filter(|n| n.observation.presence.is_some());
            pass(
                USERS_API,
                format!(
                    "the bulk read of presence and routing status answered ({} of {} users with a presence)",
                    with_presence.count(),
                    asked.len()
                ),
            )
        }
        Err(error @ RemoteError::Denied { .. }) => fail(
            USERS_API,
            error.to_string(),
            "the reconciler reads users in bulk with the same OAuth client: give its role permission to view users (infra/genesys)",
        ),
        Err(error) => fail(
            USERS_API,
            error.to_string(),
            "check GENESYS_ENVIRONMENT (or GENESYS_API_URL); retry if Genesys was unavailable",
        ),
    }
}

/// A Genesys token and SCIM's first page; with the page's users when it answered.
async fn scim_check(
    config: &Config,
    secrets: &SecretsManager,
    users: &GenesysUsers<SecretsManager>,
) -> (Check, Option<Vec<GenesysUserId>>) {
    let name = "Genesys SCIM";
    let http = Http::new(config.http);
    if let Err(error) = genesys_login(config, secrets, &http).token(budget()).await {
        let fix = match error {
            RemoteError::Denied { .. } => {
                "the Genesys login refuses the OAuth client: make deploy again (it stores the client's current id and secret in the Genesys secret)"
            }
            _ => {
                "check GENESYS_ENVIRONMENT (or GENESYS_LOGIN_URL); retry if Genesys was unavailable"
            }
        };
        return (fail(name, error.to_string(), fix), None);
    }
    match users.directory_page(None, budget()).await {
        Ok(page) => {
            let check = pass(
                name,
                format!(
                    "token issued; SCIM answered ({} users on the first page)",
                    page.users.len()
                ),
            );
            (
                check,
                Some(page.users.into_iter().map(|(u, _)| u).collect()),
            )
        }
        Err(error @ RemoteError::Denied { .. }) => {
            let fix = "give the function's OAuth client its SCIM reader role: make deploy (infra/genesys) does";
            (fail(name, error.to_string(), fix), None)
        }
        Err(error) => {
            let fix =
                "check GENESYS_ENVIRONMENT (or GENESYS_API_URL); retry if Genesys was unavailable";
            (fail(name, error.to_string(), fix), None)
        }
    }
}
