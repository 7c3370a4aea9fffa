#!/usr/bin/env bash
# Runs each cargo-fuzz target for a bounded time (default 20 s each; CI uses the default).
# A long run, for the figures in docs/reliability.md:  scripts/fuzz.sh 1800
# cargo fuzz needs nightly flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${1:-20}"
# cargo-fuzz, pinned, from the project's .tools/bin (built there once by scripts/tools.sh).
bash scripts/tools.sh cargo-fuzz
PATH="$(pwd)/.tools/bin:$PATH"
export PATH
cd fuzz
export RUSTC_BOOTSTRAP=1
# Both targets built first, saying so: on a fresh clone this is minutes (libFuzzer from C++
# source, the library with coverage instrumentation, in fuzz/target) that were silent before.
echo "== fuzz: building the targets (a few minutes the first time: libFuzzer and the library with coverage instrumentation)"
log="$(mktemp)"
if ! cargo fuzz build -O >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "building the fuzz targets failed" >&2
    exit 1
fi
rm -f "$log"
for target in event mapping; do
    mkdir -p "corpus/$target"
    echo "== fuzz $target for ${seconds}s"
    # The committed seeds (tests/fixtures events, sample mappings) start the corpus.
    log="$(mktemp)"
    if ! cargo fuzz run -O "$target" "corpus/$target" -- -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
        tail -n 60 "$log" >&2
        echo "fuzz target $target failed (a crash is saved under fuzz/artifacts/$target)" >&2
        exit 1
    fi
    grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || true
    rm -f "$log"
done
