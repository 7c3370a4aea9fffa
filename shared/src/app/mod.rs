//! Builds the production presence sync from a [`Config`]: AWS clients from the SDK's
//! standard configuration (including `AWS_ENDPOINT_URL_*`), one HTTP client, and the
//! adapters, once per process.

use crate::adapters::dynamodb::DynamoStateStore;
use crate::adapters::genesys::GenesysScim;
use crate::adapters::genesys_users::GenesysUsers;
use crate::adapters::graph::GraphPresence;
use crate::adapters::http;
use crate::adapters::oauth::{AzureAd, GenesysLogin, TokenCache};
use crate::adapters::paced::Paced;
use crate::adapters::secrets_manager::SecretsManager;
use crate::config::{Config, ConfigError};
use crate::service::reconcile::{
    Hinted, PassOutcome, ReconcileError, ReconcileSettings, Shared, Watch,
};
use crate::service::{Invocation, PresenceSync};
use aws_config::BehaviorVersion;
use aws_config::stalled_stream_protection::StalledStreamProtectionConfig;
use aws_config::timeout::TimeoutConfig;
use std::sync::Arc;
use std::time::Duration;

mod watcher;

pub use watcher::{WatchSync, Watcher};

/// The presence sync wired to DynamoDB, Secrets Manager, Genesys Cloud and Microsoft Graph.
pub type ProductionSync = PresenceSync<
    DynamoStateStore,
    DynamoStateStore,
    GenesysScim<SecretsManager>,
    Paced<GraphPresence<SecretsManager>>,
>;

/// Builds the sync with the SDK's standard configuration chain (environment, role).
pub async fn build(config: &Config) -> ProductionSync {
    build_with(config, &load_aws(config.http.connect).await)
}

/// The AWS SDK configuration the function runs with: the standard chain (environment, role,
/// `AWS_ENDPOINT_URL_*`) with its timeouts.
pub async fn load_aws(connect_timeout: Duration) -> aws_config::SdkConfig {
    aws_loader(connect_timeout).load().await
}

/// The loader [`load_aws`] uses: the standard chain with the function's timeouts, for a tool
/// that chooses its own profile or region before loading.
pub fn aws_loader(connect_timeout: Duration) -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(connect_timeout)
                .operation_attempt_timeout(crate::policy::AWS_ATTEMPT)
                .operation_timeout(crate::policy::AWS_OPERATION)
                .build(),
        )
        // The attempt timeout above already cuts a stalled request at 2 s; the SDK's
        // throughput monitor on every request body is 2.6 % of the instructions per event
        // (callgrind, docs/performance.md) for no extra protection.
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
}

/// Builds the sync with a given AWS configuration (tests point it at the emulator).
pub fn build_with(config: &Config, aws: &aws_config::SdkConfig) -> ProductionSync {
    let parts = Parts::new(config, aws);
    let store = parts.state_store(config);
    PresenceSync::new(
        store.clone(),
        store,
        parts.directory(config),
        Paced::new(parts.presence_writer(config), config.pacing()),
        config.mapping.clone(),
        config.settings.clone(),
    )
}

/// The clients a function shares between its parts, built once: each function builds only
/// the parts it uses (a read-only tool needs the state store and no Graph client).
pub struct Parts {
    aws: aws_config::SdkConfig,
    secrets: SecretsManager,
    http: http::Http,
    /// One Genesys token for every Genesys part (the SCIM lookup and the bulk reads): they are
    /// one OAuth client, so a second cache only asked for a second token. Fetched when used.
    genesys_tokens: Arc<TokenCache<SecretsManager, GenesysLogin>>,
}

impl Parts {
    pub fn new(config: &Config, aws: &aws_config::SdkConfig) -> Self {
        let secrets = SecretsManager::new(aws_sdk_secretsmanager::Client::new(aws));
        let http = http::Http::new(config.http);
        let genesys_tokens = Arc::new(TokenCache::new(
            config.genesys_secret_id.clone(),
            secrets.clone(),
            GenesysLogin {
                login_url: config.genesys_login_url.clone(),
            },
            http.clone(),
        ));
        Parts {
            aws: aws.clone(),
            secrets,
            http,
            genesys_tokens,
        }
    }

    /// The state table: user records, the Teams-id cache and claims.
    pub fn state_store(&self, config: &Config) -> DynamoStateStore {
        DynamoStateStore::new(
            aws_sdk_dynamodb::Client::new(&self.aws),
            config.state_table.clone(),
        )
    }

    /// Genesys SCIM, with the Genesys client credentials from Secrets Manager (the token
    /// shared with [`Parts::genesys_bulk`]).
    pub fn directory(&self, config: &Config) -> GenesysScim<SecretsManager> {
        GenesysScim::new(
            self.http.clone(),
            &config.genesys_api_url,
            self.genesys_tokens.clone(),
        )
    }

    /// Genesys read in bulk (the reconciler: current presence and routing status, the
    /// directory sweep), with the Genesys client credentials from Secrets Manager (the token
    /// shared with [`Parts::directory`]).
    pub fn genesys_bulk(&self, config: &Config) -> GenesysUsers<SecretsManager> {
        GenesysUsers::new(
            self.http.clone(),
            &config.genesys_api_url,
            self.genesys_tokens.clone(),
        )
    }

    /// Microsoft Graph's presence, with the Entra ID app's credentials from Secrets Manager.
    /// It is also the [`crate::ports::PresenceReader`] (`getPresencesByUserId`): build it once
    /// and use it for both, so that reads and writes share one token and one throttle gate.
    pub fn presence_writer(&self, config: &Config) -> GraphPresence<SecretsManager> {
        let tokens = TokenCache::new(
            config.azure_secret_id.clone(),
            self.secrets.clone(),
            AzureAd {
                login_url: config.azure_login_url.clone(),
                scope: config.graph_scope.clone(),
            },
            self.http.clone(),
        );
        GraphPresence::new(
            self.http.clone(),
            &config.graph_api_url,
            tokens,
            config.presence_expiration.clone(),
        )
    }
}

/// The sync the reconciler acts through: the Teams-id lookup hinted by its directory sweep,
/// and Graph shared with its bulk presence reads (one token, one throttle gate).
pub type ReconcileSync = PresenceSync<
    DynamoStateStore,
    DynamoStateStore,
    Hinted<GenesysScim<SecretsManager>>,
    Arc<GraphPresence<SecretsManager>>,
>;

/// Everything one reconciler run needs, built once per process.
pub struct Reconciler {
    pub sync: ReconcileSync,
    pub genesys: GenesysUsers<SecretsManager>,
    pub teams: Arc<GraphPresence<SecretsManager>>,
    /// Its paces and the sweep's hints, for the life of the process.
    pub shared: Shared,
    pub settings: ReconcileSettings,
}

impl Reconciler {
    /// Builds the reconciler; fails on configuration only it cannot run with (an expiry
    /// shorter than two periods).
    pub fn build_with(config: &Config, aws: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        let settings = config.reconcile.settings(config.settings.max_clock_skew)?;
        let parts = Parts::new(config, aws);
        let store = parts.state_store(config);
        let shared = Shared::new(&settings);
        let teams = Arc::new(parts.presence_writer(config));
        let sync = PresenceSync::new(
            store.clone(),
            store,
            Hinted::new(&shared, parts.directory(config)),
            teams.clone(),
            config.mapping.clone(),
            config.settings.clone(),
        );
        Ok(Reconciler {
            sync,
            genesys: parts.genesys_bulk(config),
            teams,
            shared,
            settings,
        })
    }

    /// One run (see [`PresenceSync::reconcile`]).
    pub async fn run(&self, invocation: &Invocation) -> Result<PassOutcome, ReconcileError> {
        // Boxed: the pass nests the walk, the actions, the sync's steps and the HTTP retries,
        // deeper than the compiler's layout depth limit allows inline.
        Box::pin(self.run_watched(invocation, &|_| {})).await
    }

    /// One run, telling `progress` the run's report after every page (an operator's tool).
    pub async fn run_watched(
        &self,
        invocation: &Invocation,
        progress: &Watch<'_>,
    ) -> Result<PassOutcome, ReconcileError> {
        self.sync
            .reconcile_watched(
                &self.genesys,
                &self.teams,
                &self.shared,
                &self.settings,
                invocation,
                progress,
            )
            .await
    }
}

/// Why a function binary did not start.
#[derive(Debug)]
pub enum NotStarted {
    /// Started by hand, outside a Lambda Runtime API: said in one line on stderr.
    NotUnderLambda,
    /// The configuration is wrong: logged once, naming the variable.
    Configuration,
}

impl NotStarted {
    /// The process's exit status: 2 when run by hand, 1 for a bad configuration.
    pub fn exit_code(&self) -> std::process::ExitCode {
        match self {
            NotStarted::NotUnderLambda => std::process::ExitCode::from(2),
            NotStarted::Configuration => std::process::ExitCode::FAILURE,
        }
    }
}

/// What every function binary does first: refuse to run outside Lambda (before any AWS client
/// looks for credentials), start its logs (`init_logs`, the runtime's subscriber), read the
/// configuration (a bad one is logged once, naming the variable) and set up its metrics.
pub fn start(function: &str, init_logs: impl FnOnce()) -> Result<Config, NotStarted> {
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none_or(|value| value.is_empty()) {
        eprintln!(
            "{function}: AWS_LAMBDA_RUNTIME_API is not set, so this is not a Lambda \
             environment; to run the function locally, use `make demo`"
        );
        return Err(NotStarted::NotUnderLambda);
    }
    init_logs();
    let config = Config::from_env().map_err(|error| {
        tracing::error!(error = %error, variable = error.variable, "cannot start");
        NotStarted::Configuration
    })?;
    crate::metrics::init(crate::metrics::Context {
        namespace: config.metrics_namespace.clone(),
        function: std::env::var(crate::metrics::FUNCTION_VARIABLE)
            .unwrap_or_else(|_| function.to_owned()),
    });
    Ok(config)
}

/// What a scheduled function (the reconciler, the watcher) does before it serves: [`start`],
/// AWS's configuration loaded, and its parts built once by `build` (a configuration it cannot
/// use is logged once, naming the variable).
pub async fn start_scheduled<T>(
    function: &str,
    init_logs: impl FnOnce(),
    build: impl FnOnce(&Config, &aws_config::SdkConfig) -> Result<T, ConfigError>,
) -> Result<T, NotStarted> {
    let config = start(function, init_logs)?;
    let aws = load_aws(config.http.connect).await;
    build(&config, &aws).map_err(|error| {
        tracing::error!(error = %error, variable = error.variable, "cannot start");
        NotStarted::Configuration
    })
}
