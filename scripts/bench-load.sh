#!/usr/bin/env bash
# The load benchmark: the release `presence-sync` binary through the Lambda Runtime API against
# moto and the fake Genesys / Microsoft servers (20 ms one-way delay by default), over a seeded
# shift start + day of events. `make bench-load` or
# `bash scripts/bench-load.sh [--agents N] [--day-events N] [--graph-ms MS] [--json PATH] ...`
# (options: tests/src/bin/loadbench.rs). A few minutes with the defaults on two cores.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup-venv.sh >/dev/null
cargo build --locked --release -p presence-sync
cargo build --locked --release -p presence-sync-tests --bin loadbench
PRESENCE_SYNC_PROFILE=release exec target/release/loadbench "$@"
