#!/usr/bin/env bash
# The whole test suite, as CI runs it (`make test`, `.ci/run`): formatting, lints, the
# binaries, then every unit, integration and end-to-end test against one moto server.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Incremental artifacts only pay off while editing; in a full run they cost about 1.6 GB.
export CARGO_INCREMENTAL=0
disk() { df -h --output=avail . | tail -n 1 | tr -d ' '; }
echo "== disk: $(disk) free at the start"

bash scripts/setup-venv.sh >/dev/null

echo "== cargo fmt --check"
cargo fmt --all --check

# Before anything is built: installing cargo-deny compiles it in a temporary directory, and
# the run's peak disk use is lower while target/ is still empty.
echo "== supply chain: cargo deny (licenses, bans, sources)"
command -v cargo-deny >/dev/null 2>&1 || cargo install cargo-deny --version 0.20.2 --locked
cargo deny --locked check licenses bans sources

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
bash scripts/check-infra.sh

echo "== cargo build (binaries and tests in one go: the same features, so nothing is built twice)"
cargo build --workspace --bins --tests --locked

echo "== moto (DynamoDB, Secrets Manager) on loopback"
moto_log="$(mktemp)"
.venv/bin/python tests/moto_server.py --port 0 >"$moto_log" 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true; rm -f "$moto_log"' EXIT
for _ in $(seq 1 300); do
    grep -q '^MOTO_READY ' "$moto_log" && break
    kill -0 "$moto_pid" 2>/dev/null || { cat "$moto_log"; echo "moto failed to start" >&2; exit 1; }
    sleep 0.1
done
MOTO_ENDPOINT="$(sed -n 's/^MOTO_READY //p' "$moto_log" | head -n 1)"
[ -n "$MOTO_ENDPOINT" ] || { cat "$moto_log"; echo "moto did not report ready" >&2; exit 1; }
export MOTO_ENDPOINT
echo "moto at $MOTO_ENDPOINT"

echo "== tests"
# Every log line the function writes during the suite lands here for the log scan below.
rm -rf target/test-logs
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --no-fail-fast
    echo "== log scan: no secret or token in any log line of the suite"
    cargo nextest run --workspace --locked --run-ignored only --no-capture -E 'test(/^log_scan::/)'
else
    cargo test --workspace --locked --no-fail-fast
    echo "== log scan: no secret or token in any log line of the suite"
    cargo test --workspace --locked --test suite -- --ignored --nocapture log_scan::
fi

echo "== fuzz: each cargo-fuzz target for a bounded time"
bash scripts/fuzz.sh 20
echo "== disk: $(disk) free at the end (target/ $(du -sh target | cut -f1), .venv $(du -sh .venv | cut -f1), fuzz/target $(du -sh fuzz/target 2>/dev/null | cut -f1))"
