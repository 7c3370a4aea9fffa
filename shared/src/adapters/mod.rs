//! Adapters: the ports implemented with DynamoDB, Secrets Manager, Genesys Cloud and
//! Microsoft Graph.

pub mod dynamodb;
pub mod genesys;
pub mod graph;
pub mod http;
pub mod oauth;
pub mod secrets_manager;
