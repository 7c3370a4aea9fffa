#!/usr/bin/env bash
# Client-side CPU of one DynamoDB UpdateItem: the function's SDK path against a lean client
# (aws-sigv4 + reqwest), release build, against a canned DynamoDB on loopback
# (tests/benches/awscallcost.rs; docs/performance.md, "CPU per event").
#   bash scripts/bench-aws-call.sh [calls per round, default 1000] [rounds, default 5] [idle ms, default 0]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# No credentials, profile or instance metadata lookups: the program sets its own.
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
export AWS_REGION=us-east-1
exec cargo bench --locked -p presence-sync-tests --bench awscallcost -- "$@"
