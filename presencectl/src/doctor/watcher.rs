//! The watcher's checks (a stack with `TeamsToGenesys=on`): the Genesys secret its function
//! reads (its own client's, or the functions'), and what that client is for: reading the
//! org's presence definitions (`presence:presenceDefinition:view`) and resolving
//! `TEAMS_TO_GENESYS` against them, as a run does before any write.

use super::{Check, Status, fail, pass, skip};
use crate::agent::budget;
use crate::deployment::{Deployment, Stack, function_environment};
use presence_core::adapters::genesys_users::GenesysUsers;
use presence_core::adapters::http::Http;
use presence_core::adapters::oauth::{GenesysLogin, TokenCache};
use presence_core::adapters::secrets_manager::SecretsManager;
use presence_core::config::Config;
use presence_core::domain::watch::TeamsToGenesys;
use presence_core::domain::watch::resolve::OrgDefinition;
use presence_core::ports::{GenesysPresence, RemoteError};

const SECRET: &str = "watcher's Genesys secret";
pub(super) const CLIENT: &str = "watcher's Genesys client";

/// Nothing without a watcher; else its secret, then its client's read of the definitions.
pub(super) async fn checks(deployment: &Deployment, stack: &Stack) -> Vec<Check> {
    let Some(function) = &stack.watch_function_arn else {
        return Vec::new();
    };
    let config = match function_environment(&deployment.aws, function).await {
        Ok(env) => Config::from_lookup(|name| env.get(name).cloned()).map_err(|e| e.to_string()),
        Err(error) => Err(error.to_string()),
    };
    let config = match config {
        Ok(config) => config,
        Err(detail) => {
            let fix = "make deploy again (it sets the watcher's configuration from the stack's parameters)";
            return vec![
                fail(SECRET, format!("presence-watch: {detail}"), fix),
                skip(CLIENT, "needs the watcher's configuration"),
            ];
        }
    };
    let shared = config.genesys_secret_id == stack.genesys_secret_arn;
    client_checks(&deployment.aws, &config, shared).await
}

/// The watcher's secret (in `config`, whether `shared` with the other functions) and its
/// client's read of the definitions: for doctor, and for `make deploy` before the stack.
pub(crate) async fn client_checks(
    aws: &aws_config::SdkConfig,
    config: &Config,
    shared: bool,
) -> Vec<Check> {
    let secrets = SecretsManager::new(aws_sdk_secretsmanager::Client::new(aws));
    let id = &config.genesys_secret_id;
    let mut secret =
        super::credentials::secret_check(SECRET, &secrets, id, &["client_id", "client_secret"])
            .await;
    if secret.status != Status::Pass {
        return vec![secret, skip(CLIENT, "needs a usable secret")];
    }
    secret = judge_client(secret, shared, config.watch.genesys_share_percent);
    let http = Http::new(config.http);
    let login = GenesysLogin {
        login_url: config.genesys_login_url.clone(),
    };
    let tokens = TokenCache::new(id.clone(), secrets, login, http.clone());
    let users = GenesysUsers::new(http, &config.genesys_api_url, tokens);
    let read = users.definitions(budget()).await;
    vec![secret, judge_definitions(read, &config.watch.rules)]
}

/// Whose client the watcher runs on and the share it takes of it: more than a fifth of the
/// client presence-sync and the reconciler use would starve them.
pub(super) fn judge_client(secret: Check, shared: bool, share: u32) -> Check {
    match (shared, share > 20) {
        (true, true) => fail(
            SECRET,
            format!(
                "{}; the functions' client, of which it takes {share} %, leaving presence-sync's lookups and the reconciler too little",
                secret.detail
            ),
            "give the watcher a client of its own (make deploy makes one: ExistingWatcherGenesysSecretArn), or set WATCH_GENESYS_SHARE_PERCENT to 20 or less",
        ),
        (true, false) => pass(
            SECRET,
            format!(
                "{}; the functions' client, {share} % of its limit",
                secret.detail
            ),
        ),
        (false, _) => pass(
            SECRET,
            format!(
                "{}; a client of its own, {share} % of its limit",
                secret.detail
            ),
        ),
    }
}

/// The definitions read as the watcher's client, and `TEAMS_TO_GENESYS` resolved against them.
pub(super) fn judge_definitions(
    read: Result<Vec<OrgDefinition>, RemoteError>,
    rules: &TeamsToGenesys,
) -> Check {
    let definitions = match read {
        Ok(definitions) => definitions,
        Err(error @ RemoteError::Denied { .. }) => {
            return fail(
                CLIENT,
                error.to_string(),
                "the client's role needs presence:presenceDefinition:view and presence:userPresence:edit: make deploy with TeamsToGenesys=on grants them (infra/genesys, two_way)",
            );
        }
        Err(error) => {
            return fail(
                CLIENT,
                error.to_string(),
                "check GENESYS_ENVIRONMENT and the secret's client; retry if Genesys was unavailable",
            );
        }
    };
    match rules.resolve(&definitions) {
        Ok(_) => pass(
            CLIENT,
            format!(
                "read {} presence definitions; TEAMS_TO_GENESYS resolved against them",
                definitions.len()
            ),
        ),
        Err(error) => fail(
            CLIENT,
            error.to_string(),
            "change TeamsToGenesysMapping to a presence the org has and that takes the agent off queue",
        ),
    }
}
