//! The stand-in for the deployment driver's tools (`presence_sync_tests::standin`): it plays
//! the tool it is called as (terraform, az, sam, rustup, cargo-lambda: the name of the link).
#![forbid(unsafe_code)]

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args();
    let called = args.next().unwrap_or_default();
    let tool = std::path::Path::new(&called)
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    ExitCode::from(presence_sync_tests::standin::run(&tool, args.collect()).await)
}
