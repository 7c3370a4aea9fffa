//! Test support for the presence sync: fake Genesys Cloud and Microsoft identity/Graph
//! servers that enforce the documented contracts and inject faults, a moto (AWS emulator)
//! harness, and a Lambda Runtime API driver for running the built binary.
#![forbid(unsafe_code)]

pub mod aws;
pub mod aws_proxy;
pub mod demo_watch;
pub mod deployment;
pub mod events;
pub mod fake_genesys;
pub mod fake_microsoft;
pub mod fault;
pub mod logs;
pub mod moto;
pub mod runtime_api;
pub mod shift_model;
pub mod shift_picture;
pub mod standin;
pub mod strategies;
pub mod world;
