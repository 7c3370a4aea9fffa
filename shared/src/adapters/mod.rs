//! Adapters: the ports implemented with DynamoDB, Secrets Manager, Genesys Cloud and
//! Microsoft Graph.

pub mod dynamodb;
pub mod genesys;
pub mod graph;
pub mod http;
pub mod oauth;
pub mod secrets_manager;

/// An error and its sources, as one line (AWS SDK errors say little at the top level).
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}
