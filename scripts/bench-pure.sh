#!/usr/bin/env bash
# The pure path of one event (parse → map → decide), per Genesys topic, with criterion:
# `make bench` or `bash scripts/bench-pure.sh [criterion options, e.g. --quick]`.
# Results: target/criterion/<group>/<topic>/ and the summary criterion prints.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec cargo bench --locked -p presence-core --bench pure_path -- "$@"
