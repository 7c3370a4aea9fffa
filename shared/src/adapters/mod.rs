//! Adapters: the ports implemented with DynamoDB, Secrets Manager, Genesys Cloud and
//! Microsoft Graph (feature `adapters`), and in memory (always).

#[cfg(feature = "adapters")]
pub mod dynamodb;
#[cfg(feature = "adapters")]
pub mod genesys;
#[cfg(feature = "adapters")]
pub mod genesys_users;
#[cfg(feature = "adapters")]
pub mod graph;
#[cfg(feature = "adapters")]
pub mod graph_read;
#[cfg(feature = "adapters")]
pub mod http;
pub(crate) mod keys;
pub mod memory;
#[cfg(feature = "adapters")]
pub mod oauth;
pub mod paced;
pub(crate) mod record_walk;
#[cfg(feature = "adapters")]
pub mod secrets_manager;

/// An error and its sources, as one line (AWS SDK errors say little at the top level).
#[cfg(feature = "adapters")]
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}
