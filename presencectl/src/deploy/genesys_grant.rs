//! The one grant Terraform cannot make on the Genesys side. The Genesys provider documents
//! that the roles given to an OAuth client "must also already be assigned to the OAuth Client
//! used by Terraform" (`genesyscloud_oauth_client`, `roles`), and a role Terraform has just
//! created is held by nobody. So, between creating the role and creating the function's
//! client, the driver grants the new role to the deployment client itself:
//! `POST /api/v2/authorization/subjects/{clientId}/divisions/{divisionId}/roles/{roleId}?subjectType=PC_OAUTH_CLIENT`
//! (permission `authorization:grant:add`: Genesys's platform CLI, `authorization
//! subjects divisions roles create`), after reading the client's `roleDivisions`
//! (`GET /api/v2/oauth/clients/{clientId}`, `oauth:client:view`) so that a re-run grants
//! nothing. `destroy` takes the grant back (`DELETE` of the same path,
//! `authorization:grant:delete`) once the function's client is deleted, before the role is.

use super::Problem;
use super::prerequisites::{GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET};
use crate::agent::budget;
use presence_core::adapters::http::{Http, read_capped};
use presence_core::adapters::oauth::{GenesysLogin, TokenCache};
use presence_core::config::Config;
use presence_core::domain::excerpt::excerpt;
use presence_core::ports::{RemoteError, SecretSource, Service};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};

/// Whether `text` looks like a Genesys id (a UUID: hex digits and hyphens, bounded).
fn is_id(text: &str) -> bool {
    (1..=64).contains(&text.len()) && text.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

/// The deployment client's credentials, from the environment the operator exported, in the
/// shape of a Genesys secret (they never leave this process).
#[derive(Clone)]
struct ExportedClient(SecretString);

impl SecretSource for ExportedClient {
    async fn fetch(&self, _secret_id: &str) -> Result<SecretString, RemoteError> {
        Ok(self.0.clone())
    }
}

/// The Genesys API as the deployment client.
pub struct GenesysAdmin {
    http: Http,
    api: String,
    client_id: String,
    tokens: TokenCache<ExportedClient, GenesysLogin>,
}

/// The role to grant, in the division Terraform gives it to the function's client.
pub struct Grant<'a> {
    pub role_id: &'a str,
    pub division_id: &'a str,
    /// As the operator sees it in Genesys's admin UI (`<stack> SCIM reader`).
    pub role_name: &'a str,
}

impl GenesysAdmin {
    /// The deployment client against the Genesys URLs of `config` (the region's, or the
    /// `GENESYS_LOGIN_URL` / `GENESYS_API_URL` the functions would honour too).
    pub fn new(config: &Config) -> Result<GenesysAdmin, Problem> {
        let read = |name: &str| std::env::var(name).unwrap_or_default();
        let (id, secret) = (read(GENESYS_CLIENT_ID), read(GENESYS_CLIENT_SECRET));
        if id.trim().is_empty() || secret.is_empty() {
            return Err(Problem {
                what: format!("{GENESYS_CLIENT_ID} or {GENESYS_CLIENT_SECRET} is not set"),
                fix: format!(
                    "export {GENESYS_CLIENT_ID} and {GENESYS_CLIENT_SECRET} (the deployment client)"
                ),
            });
        }
        let credentials = serde_json::json!({"client_id": id.trim(), "client_secret": secret});
        let http = Http::new(config.http);
        let tokens = TokenCache::new(
            "the deployment client (GENESYSCLOUD_OAUTHCLIENT_ID)".into(),
            ExportedClient(SecretString::from(credentials.to_string())),
            GenesysLogin {
                login_url: config.genesys_login_url.clone(),
            },
            http.clone(),
        );
        Ok(GenesysAdmin {
            http,
            api: config
                .genesys_api_url
                .as_str()
                .trim_end_matches('/')
                .to_owned(),
            client_id: id.trim().to_owned(),
            tokens,
        })
    }

    /// Grants the role to the deployment client unless it holds it in the grant's division;
    /// whether it granted. A refusal says where the client holds the role instead: one added
    /// by hand in Genesys's admin UI lands in the Home division unless all divisions are
    /// chosen, and the function's client gets it in the grant's (`*`: all).
    pub async fn ensure_held(&self, grant: &Grant<'_>) -> Result<bool, Problem> {
        let held = self.divisions_held(grant).await?;
        if held.iter().any(|d| d == grant.division_id) {
            return Ok(false);
        }
        let (status, body) = self
            .call(Method::POST, &self.grant_path(grant, grant.division_id))
            .await?;
        if status.is_success() {
            return Ok(true);
        }
        let (name, division) = (grant.role_name, grant.division_id);
        let elsewhere = match held.is_empty() {
            true => String::new(),
            false => format!(
                "; it holds the role only in division(s) {}, not in {division:?} (\"*\": all divisions), where the function's client gets it",
                held.join(", ")
            ),
        };
        Err(Problem {
            what: format!(
                "Genesys refused to grant the role {name:?} ({}) to the deployment client {} in division {division:?}: {status} {}{elsewhere}",
                grant.role_id,
                self.client_id,
                excerpt(&body)
            ),
            fix: format!(
                "give the deployment client a role with authorization:grant:add (infra/README.md, manual action 2), or add the role {name:?} to it by hand with all divisions (Admin → Integrations → OAuth → the deployment client → Roles, then the role's divisions), then make deploy again"
            ),
        })
    }

    /// Takes the grant back, in every division the deployment client holds the role in
    /// (nothing to do when it holds none); whether it took any back.
    pub async fn revoke(&self, grant: &Grant<'_>) -> Result<bool, Problem> {
        let held = self.divisions_held(grant).await?;
        for division in &held {
            let (status, body) = self
                .call(Method::DELETE, &self.grant_path(grant, division))
                .await?;
            if !status.is_success() && status != StatusCode::NOT_FOUND {
                return Err(Problem {
                    what: format!(
                        "Genesys refused to take the role {:?} ({}) in division {division:?} back from the deployment client: {status} {}",
                        grant.role_name,
                        grant.role_id,
                        excerpt(&body)
                    ),
                    fix: format!(
                        "the function's OAuth client is deleted already, so nothing needs the grant: remove the role {:?} from the deployment client by hand (Admin → Integrations → OAuth → the deployment client → Roles), then make destroy again (it deletes the role)",
                        grant.role_name
                    ),
                });
            }
        }
        Ok(!held.is_empty())
    }

    /// The grant's path. `*` (all divisions) as a path segment is what Genesys's platform CLI
    /// sends for an all-divisions grant; that the API takes it there is unverified.
    fn grant_path(&self, grant: &Grant<'_>, division_id: &str) -> String {
        format!(
            "/api/v2/authorization/subjects/{}/divisions/{division_id}/roles/{}?subjectType=PC_OAUTH_CLIENT",
            self.client_id, grant.role_id
        )
    }

    /// The divisions in which the client's `roleDivisions` hold the role.
    async fn divisions_held(&self, grant: &Grant<'_>) -> Result<Vec<String>, Problem> {
        let path = format!("/api/v2/oauth/clients/{}", self.client_id);
        let (status, body) = self.call(Method::GET, &path).await?;
        if !status.is_success() {
            return Err(Problem {
                what: format!("Genesys answered {status} to reading the deployment client {}: {}", self.client_id, excerpt(&body)),
                fix: "give the deployment client a role with oauth:client:view (infra/README.md, manual action 2)".into(),
            });
        }
        let client: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        let held = client["roleDivisions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|g| g["roleId"].as_str() == Some(grant.role_id))
            .filter_map(|g| g["divisionId"].as_str())
            // A division id is a UUID or `*`: anything else is not put in a path.
            .filter(|d| *d == "*" || is_id(d))
            .map(str::to_owned)
            .collect();
        Ok(held)
    }

    /// One call with the deployment client's token: the status and the body (bounded).
    async fn call(&self, method: Method, path: &str) -> Result<(StatusCode, String), Problem> {
        let budget = budget();
        let token = self.tokens.token(budget).await.map_err(|error| Problem {
            what: error.to_string(),
            fix: format!("check {GENESYS_CLIENT_ID} and {GENESYS_CLIENT_SECRET} (the deployment client, Client Credentials grant) and the Genesys region"),
        })?;
        let url = format!("{}{path}", self.api);
        let request = self
            .http
            .client
            .request(method.clone(), url)
            .timeout(self.http.attempt_timeout(budget))
            .bearer_auth(token.expose_secret());
        let failed = |detail: String| Problem {
            what: format!(
                "Genesys API {method} {}: {detail}",
                path.split('?').next().unwrap_or(path)
            ),
            fix: "check the Genesys region, and retry if Genesys was unavailable".into(),
        };
        let response = request
            .send()
            .await
            .map_err(|e| failed(presence_core::adapters::http::describe(&e)))?;
        let status = response.status();
        // Bounded: an answer here is a few hundred bytes; more is not read.
        let body = read_capped(response, Service::GenesysUsers, "the Genesys API")
            .await
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default();
        Ok((status, body))
    }
}
