//! A complete test world for the presence sync: moto (DynamoDB and Secrets Manager) with
//! the state table and both secrets, fake Genesys Cloud and Microsoft servers with the
//! matching credentials, and ways to build function instances against all of it.

use crate::aws::{self, create_state_table, put_secret, unique_name};
use crate::fake_genesys::FakeGenesys;
use crate::fake_microsoft::FakeMicrosoft;
use presence_core::app::{ProductionSync, build_with};
use presence_core::config::Config;
use presence_core::domain::outcome::Report;
use presence_core::service::{Invocation, SyncError};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::{Duration, SystemTime};

pub const TENANT: &str = "5f0c7f4e-9d2b-4c1a-8e3f-0a1b2c3d4e5f";
pub const AZURE_CLIENT_ID: &str = "a1b2c3d4-0000-4000-8000-00000000c1d0";
pub const AZURE_CLIENT_SECRET: &str = "azure-Secret~value.0123456789abcdefXYZ";
pub const GENESYS_CLIENT_ID: &str = "9f8e7d6c-0000-4000-8000-0000000000c1";
pub const GENESYS_CLIENT_SECRET: &str = "genesys-SECRET-value-0123456789-abcdef";

pub struct World {
    pub ms: FakeMicrosoft,
    pub genesys: FakeGenesys,
    pub moto: String,
    pub table: String,
    pub azure_secret: String,
    pub genesys_secret: String,
    pub sdk: aws_config::SdkConfig,
}

/// A world with its own moto behind a proxy, for suites that stop and restart the emulator
/// or count AWS calls: functions talk to the proxy, setup and inspection go to moto directly.
pub struct Isolation {
    pub moto: crate::moto::Moto,
    pub proxy: crate::aws_proxy::AwsProxy,
}

impl World {
    pub async fn start() -> World {
        let moto = crate::moto::shared().await.to_owned();
        Self::start_on(&moto).await
    }

    /// A world whose functions reach AWS through a proxy in front of a moto of its own.
    pub async fn isolated() -> (World, Isolation) {
        let moto = crate::moto::Moto::start().await;
        let proxy = crate::aws_proxy::AwsProxy::start(moto.endpoint()).await;
        let world = Self::start_on(&proxy.endpoint()).await;
        (world, Isolation { moto, proxy })
    }

    /// A world whose functions reach AWS at `moto` (moto itself, or a proxy in front of it).
    pub async fn start_on(moto: &str) -> World {
        crate::logs::capture_in_process_logs();
        let moto = moto.to_owned();
        let sdk = aws::sdk_config(&moto).await;
        let table = unique_name("presence-state");
        create_state_table(&aws_sdk_dynamodb::Client::new(&sdk), &table).await;
        let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
        let azure_secret = unique_name("presence-sync/azure");
        put_secret(
            &secrets,
            &azure_secret,
            &json!({"tenant_id": TENANT, "client_id": AZURE_CLIENT_ID, "client_secret": AZURE_CLIENT_SECRET}),
        )
        .await;
        let genesys_secret = unique_name("presence-sync/genesys");
        put_secret(
            &secrets,
            &genesys_secret,
            &json!({"client_id": GENESYS_CLIENT_ID, "client_secret": GENESYS_CLIENT_SECRET}),
        )
        .await;
        let ms = FakeMicrosoft::start().await;
        ms.register_app(TENANT, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET);
        let genesys = FakeGenesys::start().await;
        genesys.register_client(GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET);
        World {
            ms,
            genesys,
            moto,
            table,
            azure_secret,
            genesys_secret,
            sdk,
        }
    }

    /// The function's configuration variables for this world (no AWS variables).
    pub fn function_env(&self) -> Vec<(String, String)> {
        [
            ("STATE_TABLE", self.table.clone()),
            ("AZURE_SECRET_ID", self.azure_secret.clone()),
            ("GENESYS_SECRET_ID", self.genesys_secret.clone()),
            ("GENESYS_LOGIN_URL", self.genesys.login_url()),
            ("GENESYS_API_URL", self.genesys.api_url()),
            ("GRAPH_API_URL", self.ms.graph_url()),
            ("AZURE_LOGIN_URL", self.ms.login_url()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// The configuration a function instance reads, with `extra` variables on top.
    pub fn config(&self, extra: &[(&str, &str)]) -> Config {
        let mut vars: HashMap<String, String> = self.function_env().into_iter().collect();
        for (k, v) in extra {
            vars.insert((*k).to_owned(), (*v).to_owned());
        }
        Config::from_lookup(|name| vars.get(name).cloned()).expect("test configuration is valid")
    }

    /// A new function instance (its own token, secret and Teams id caches).
    pub fn instance(&self, extra: &[(&str, &str)]) -> Instance {
        self.instance_with(self.config(extra))
    }

    pub fn instance_with(&self, config: Config) -> Instance {
        Instance {
            sync: build_with(&config, &self.sdk),
        }
    }

    /// The scheduled reconciler, built as its function builds it, with `extra` variables.
    pub fn reconciler(&self, extra: &[(&str, &str)]) -> presence_core::app::Reconciler {
        presence_core::app::Reconciler::build_with(&self.config(extra), &self.sdk)
            .expect("the reconciler's configuration is valid")
    }

    /// An agent known to Genesys with this Teams id, and the Teams user known to Graph.
    pub fn agent(&self) -> Agent {
        let agent = Agent {
            genesys: crate::events::new_id(),
            teams: crate::events::new_id(),
        };
        self.genesys.add_user(&agent.genesys, Some(&agent.teams));
        self.ms.add_user(&agent.teams);
        agent
    }

    /// What Teams shows as this user's preferred presence, as `Availability/Activity`.
    pub fn teams(&self, agent: &Agent) -> Option<String> {
        self.ms
            .preferred_presence(&agent.teams)
            .map(|(availability, activity, _)| format!("{availability}/{activity}"))
    }

    pub fn graph_calls(&self, agent: &Agent) -> usize {
        self.ms.set_calls_for(&agent.teams).len() + self.ms.clear_calls_for(&agent.teams).len()
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk)
    }

    pub fn secrets(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.sdk)
    }
}

impl Drop for World {
    /// Hands every secret and token of this world to the log scan.
    fn drop(&mut self) {
        let mut secrets = self.ms.registered_secrets();
        secrets.extend(self.ms.issued_tokens().into_iter().map(|t| t.access_token));
        secrets.extend(
            self.genesys
                .issued_tokens()
                .into_iter()
                .map(|t| t.access_token),
        );
        crate::logs::record_secrets(secrets, &self.genesys.registered_clients());
    }
}

#[derive(Clone, Debug)]
pub struct Agent {
    pub genesys: String,
    pub teams: String,
}

/// One function instance, as Lambda would keep it warm.
pub struct Instance {
    pub sync: ProductionSync,
}

impl Instance {
    /// Invokes the handler with a 10-second deadline.
    pub async fn invoke(&self, event: Value) -> Result<Report, SyncError> {
        self.invoke_within(event, Duration::from_secs(10)).await
    }

    pub async fn invoke_within(
        &self,
        event: Value,
        timeout: Duration,
    ) -> Result<Report, SyncError> {
        let invocation = Invocation {
            request_id: crate::events::event_id(),
            deadline: SystemTime::now() + timeout,
        };
        self.sync.handle(event, &invocation).await
    }

    /// Invokes and returns `outcome/reason`, panicking on an error.
    pub async fn outcome(&self, event: Value) -> String {
        let report = self
            .invoke(event)
            .await
            .unwrap_or_else(|e| panic!("invocation failed: {e}"));
        format!("{}/{}", report.outcome, report.reason)
    }
}
