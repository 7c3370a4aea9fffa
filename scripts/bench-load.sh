#!/usr/bin/env bash
# The load benchmark: the release `presence-sync` binary through the Lambda Runtime API against
# moto and the fake Genesys / Microsoft servers (20 ms one-way delay by default), over a seeded
# shift start + day of events. `make bench-load` or
# `bash scripts/bench-load.sh [--agents N] [--day-events N] [--graph-ms MS] [--json PATH] ...`
# (options: tests/src/bin/loadbench.rs). With the defaults on two cores: about 11 minutes
# from a clean target/release (10 min 58 s measured in issue 14), most of it the two release
# builds (thin LTO, one codegen unit); the stream itself runs for about 3 minutes (164 s in
# docs/performance.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup-venv.sh >/dev/null
cargo build --locked --release -p presence-sync
cargo build --locked --release -p presence-sync-tests --bin loadbench
PRESENCE_SYNC_PROFILE=release exec target/release/loadbench "$@"
