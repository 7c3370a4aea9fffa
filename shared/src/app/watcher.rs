//! The watcher (`presence-watch`) built from a [`Config`]: the same table, secrets and clients
//! as the other functions, its own shares of the rate limits, once per process.

use super::Parts;
use crate::adapters::dynamodb::DynamoStateStore;
use crate::adapters::genesys::GenesysScim;
use crate::adapters::genesys_users::GenesysUsers;
use crate::adapters::graph::GraphPresence;
use crate::adapters::secrets_manager::SecretsManager;
use crate::config::{Config, ConfigError};
use crate::service::reconcile::{Hinted, Shared};
use crate::service::watch::{WatchError, WatchReport, WatchSettings, WatchShared};
use crate::service::{Invocation, PresenceSync};
use std::sync::Arc;

/// The sync the watcher reads records and resolves Teams ids through (its Teams-id lookups at
/// its own Genesys pace); it never writes Teams.
pub type WatchSync = PresenceSync<
    DynamoStateStore,
    DynamoStateStore,
    Hinted<GenesysScim<SecretsManager>>,
    Arc<GraphPresence<SecretsManager>>,
>;

/// Everything one watcher run needs, built once per process.
pub struct Watcher {
    pub sync: WatchSync,
    pub genesys: GenesysUsers<SecretsManager>,
    pub teams: Arc<GraphPresence<SecretsManager>>,
    pub shared: WatchShared,
    pub settings: WatchSettings,
}

impl Watcher {
    /// Builds the watcher; fails on configuration it cannot run with (one-way mode).
    pub fn build_with(config: &Config, aws: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        config.watch.check_for_watcher()?;
        let settings = config.watch.settings(
            config.reconcile.graph_limit_per_30s,
            config.reconcile.genesys_limit_per_minute,
        );
        let parts = Parts::new(config, aws);
        let store = parts.state_store(config);
        let shared = WatchShared::new(&settings);
        // Its Teams-id lookups spend the watcher's Genesys share: a pace of its own.
        // The directory hints its roster reads in bulk answer them first.
        let mut lookups = Shared::with_paces(shared.graph_pace(), shared.genesys_pace());
        lookups.hints = shared.hints();
        let teams = Arc::new(parts.presence_writer(config));
        let sync = PresenceSync::new(
            store.clone(),
            store,
            Hinted::new(&lookups, parts.directory(config)),
            teams.clone(),
            config.mapping.clone(),
            config.settings.clone(),
        );
        Ok(Watcher {
            sync,
            genesys: parts.genesys_bulk(config),
            teams,
            shared,
            settings,
        })
    }

    /// One run (see [`PresenceSync::watch`]).
    pub async fn run(&self, invocation: &Invocation) -> Result<WatchReport, WatchError> {
        self.sync
            .watch(
                &self.genesys,
                &self.teams,
                &self.shared,
                &self.settings,
                invocation,
            )
            .await
    }
}
