#!/usr/bin/env bash
# The shift-start model (issues 13 and 18; docs/performance.md, "Shift start at scale"): the
# library's real event path in virtual time through a model of Lambda async invocation and
# Graph's presence limit, with the production reconciler on its schedule when asked.
# `make bench-shift` runs the 20,000-agent figures: C = 5, 10, 25, 50 as the function is today
# (unpaced), the recommended C = 50 paced to 1,480 writes per 30 s, then the same on a floor
# whose keep-alive falls due in the burst, without and with the reconciler running. With
# arguments, one run of the model with them (options: tests/src/bin/shiftmodel.rs), e.g.
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
"$model" --agents 20000 --concurrency 50 --paced 1480 --prior-away
"$model" --agents 20000 --concurrency 50 --paced 1480 --reconciler
