#!/usr/bin/env bash
# The shift-start model (issue 13; docs/performance.md, "Shift start at scale"): the library's
# real event path in virtual time through a model of Lambda async invocation and Graph's
# presence limit. `make bench-shift` runs the 20,000-agent figures: C = 5, 10, 25, 50 as the
# function is today (unpaced), then the recommended C = 50 paced to 1,480 writes per 30 s (about
# 1½ minutes on two cores once built). With arguments, one run of the model with them
# (options: tests/src/bin/shiftmodel.rs), e.g.
# `bash scripts/bench-shift.sh --agents 1000,5000,20000,50000 --concurrency 5,10,25,50`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cargo build --locked --release -p presence-sync-tests --bin shiftmodel
model="${CARGO_TARGET_DIR:-target}/release/shiftmodel"
if [ "$#" -gt 0 ]; then
    exec "$model" "$@"
fi
"$model" --agents 20000 --concurrency 5,10,25,50
"$model" --agents 20000 --concurrency 50 --paced 1480
