//! Builds the production presence sync from a [`Config`]: AWS clients from the SDK's
//! standard configuration (including `AWS_ENDPOINT_URL_*`), one HTTP client, and the
//! adapters, once per process.

use crate::adapters::dynamodb::DynamoStateStore;
use crate::adapters::genesys::GenesysScim;
use crate::adapters::graph::GraphPresence;
use crate::adapters::http;
use crate::adapters::oauth::{AzureAd, GenesysLogin, TokenCache};
use crate::adapters::secrets_manager::SecretsManager;
use crate::config::Config;
use crate::service::PresenceSync;
use aws_config::BehaviorVersion;
use aws_config::stalled_stream_protection::StalledStreamProtectionConfig;
use aws_config::timeout::TimeoutConfig;
use std::time::Duration;

/// The presence sync wired to DynamoDB, Secrets Manager, Genesys Cloud and Microsoft Graph.
pub type ProductionSync = PresenceSync<
    DynamoStateStore,
    DynamoStateStore,
    GenesysScim<SecretsManager>,
    GraphPresence<SecretsManager>,
>;

/// Builds the sync with the SDK's standard configuration chain (environment, role).
pub async fn build(config: &Config) -> ProductionSync {
    build_with(config, &load_aws(config.http.connect).await)
}

/// The AWS SDK configuration the function runs with: the standard chain (environment, role,
/// `AWS_ENDPOINT_URL_*`) with its timeouts.
pub async fn load_aws(connect_timeout: Duration) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(connect_timeout)
                .operation_attempt_timeout(Duration::from_secs(2))
                .operation_timeout(Duration::from_secs(6))
                .build(),
        )
        // The attempt timeout above already cuts a stalled request at 2 s; the SDK's
        // throughput monitor on every request body is 2.6 % of the instructions per event
        // (callgrind, docs/performance.md) for no extra protection.
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .load()
        .await
}

/// Builds the sync with a given AWS configuration (tests point it at the emulator).
pub fn build_with(config: &Config, aws: &aws_config::SdkConfig) -> ProductionSync {
    let dynamodb = aws_sdk_dynamodb::Client::new(aws);
    let secrets = SecretsManager::new(aws_sdk_secretsmanager::Client::new(aws));
    let http = http::Http::new(config.http);

    let store = DynamoStateStore::new(dynamodb, config.state_table.clone());
    let genesys_tokens = TokenCache::new(
        config.genesys_secret_id.clone(),
        secrets.clone(),
        GenesysLogin {
            login_url: config.genesys_login_url.clone(),
        },
        http.clone(),
    );
    let graph_tokens = TokenCache::new(
        config.azure_secret_id.clone(),
        secrets,
        AzureAd {
            login_url: config.azure_login_url.clone(),
            scope: config.graph_scope.clone(),
        },
        http.clone(),
    );
    PresenceSync::new(
        store.clone(),
        store,
        GenesysScim::new(http.clone(), &config.genesys_api_url, genesys_tokens),
        GraphPresence::new(
            http,
            &config.graph_api_url,
            graph_tokens,
            config.presence_expiration.clone(),
        ),
        config.mapping.clone(),
        config.settings.clone(),
    )
}
