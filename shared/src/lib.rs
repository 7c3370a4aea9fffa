//! Mirror Genesys Cloud agent presence into Microsoft Teams: the domain (parse → map →
//! decide), the ports it needs, their AWS / Genesys / Graph adapters, and the service that
//! ties them together for every function of this project.
#![forbid(unsafe_code)]

pub mod adapters;
#[cfg(feature = "adapters")]
pub mod app;
#[cfg(feature = "adapters")]
pub mod config;
pub mod domain;
pub mod metrics;
pub mod pace;
pub mod policy;
pub mod ports;
pub mod service;
