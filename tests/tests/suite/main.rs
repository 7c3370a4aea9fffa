//! The integration suite, one test binary: the handler, the built function binary, the
//! fakes, the harness and the template, each concern in its own module. One binary instead of
//! one per file: every file linked the whole AWS SDK again (13 binaries of ≈ 55 MB each, and a
//! link of each on every change); nextest still runs each test in its own process.
#![forbid(unsafe_code)]

mod binary;
mod bulk_reads;
mod call_counts;
mod claim_rule;
mod convergence;
mod crash;
mod ctl_fixtures;
mod deploy;
mod fakes_bulk;
mod fakes_contract;
mod fakes_genesys_presence;
mod fakes_presence;
mod hardening_input;
mod hardening_remote;
mod hardening_service;
mod harness;
mod hostile;
mod log_scan;
mod metrics;
mod parse_properties;
mod presence_contract;
mod presencectl;
mod reconcile;
mod scope;
mod scope_reads;
mod settle_function;
mod shift_model;
mod shift_picture;
mod store_contract;
mod sync;
mod sync_concurrency;
mod sync_failures;
mod template;
mod watch;
