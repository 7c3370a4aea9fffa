#!/usr/bin/env bash
# The whole test suite, as CI runs it (`make test`, `.ci/run`). In order:
#
#   1. Python environments (scripts/setup-venv.sh --all) and, when missing, Debian's chromium
#      (the shift picture's browser test), in the background: the installs mostly wait on
#      the package registries while the next steps compile.
#   2. cargo fmt --check
#   3. cargo-deny and cargo-fuzz into .tools/bin (scripts/tools.sh; once per clone), then
#      cargo deny (licenses, bans, sources)
#   4. the arm64 `sam build` (scripts/check-infra.sh build), in the background at low CPU
#      priority: it shares no build with the rest and soaks up the cores the other steps
#      leave idle (Python checks, the tests' waits, the fuzzing's second core). Its result is
#      reported and checked at step 10.
#   5. cargo clippy -D warnings
#   6. the offline infrastructure checks (scripts/check-infra.sh checks)
#   7. one build of the binaries and tests
#   8. every test against one moto server (cargo nextest, or cargo test without it), then
#      the log scan
#   9. each fuzz target for 20 s (scripts/fuzz.sh)
#  10. the arm64 `sam build` of step 4: waited for, its summary printed (its whole output
#      when it failed)
#
# Every step prints its duration and the time since the start.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$(pwd)"

# Incremental artifacts only pay off while editing; in a full run they cost about 1.6 GB.
export CARGO_INCREMENTAL=0
# Project tools (scripts/tools.sh) before anything installed elsewhere.
export PATH="$repo/.tools/bin:$PATH"
disk() { df -h --output=avail . | tail -n 1 | tr -d ' '; }
started=$SECONDS
step_started=$SECONDS
step() {
    if [ -n "${step_name:-}" ]; then
        echo "   ($((SECONDS - step_started)) s; $(elapsed) since the start)"
    fi
    step_name="$1"
    step_started=$SECONDS
    echo "== $1"
}
elapsed() { printf '%dm%02ds' $(((SECONDS - started) / 60)) $(((SECONDS - started) % 60)); }

state="$(mktemp -d)"
pids=()
# A process and all its descendants (a background step runs cargo, rustc, pip under it).
tree() {
    local child
    echo "$1"
    for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
        tree "$child"
    done
}
cleanup() {
    local pid all=()
    for pid in "${pids[@]}"; do
        mapfile -t -O "${#all[@]}" all < <(tree "$pid")
    done
    [ ${#all[@]} -eq 0 ] || kill "${all[@]}" 2>/dev/null || true
    rm -rf "$state"
}
# On a failure, an interrupt or a stop: no background step outlives the suite.
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== disk: $(disk) free at the start"

step "Python environments (.venv, .venv/tools/checkov, .venv/tools/sam), in the background"
bash scripts/setup-venv.sh --all >/dev/null 2>"$state/venvs.log" &
venvs_pid=$!
pids+=("$venvs_pid")

step "chromium (Debian's package, for the shift picture's browser test), in the background"
chromium_pid=""
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    echo "   already installed"
else
    echo "   installing Debian's chromium package into the system (about 480 MB; undo with:"
    echo "   apt-get remove chromium && apt-get autoremove)"
    (
        as_root=""
        [ "$(id -u)" -eq 0 ] || as_root="sudo"
        $as_root apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq chromium
    ) >"$state/chromium.log" 2>&1 &
    chromium_pid=$!
    pids+=("$chromium_pid")
fi

step "cargo fmt --check"
cargo fmt --all --check

step "supply chain: cargo deny (licenses, bans, sources)"
bash scripts/tools.sh cargo-deny cargo-fuzz
cargo deny --locked check licenses bans sources

step "arm64 sam build (Cargo Lambda), in the background at low priority"
if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
    echo "   The sam build check needs the Rust standard library for arm64 Lambda: adding the"
    echo "   target aarch64-unknown-linux-gnu to your toolchain with rustup (undo after the"
    echo "   run with: rustup target remove aarch64-unknown-linux-gnu)."
    rustup target add aarch64-unknown-linux-gnu
fi
# The sam build needs the Python environments.
if ! wait "$venvs_pid"; then
    cat "$state/venvs.log" >&2
    echo "setting up the Python environments failed" >&2
    exit 1
fi
sed 's/^/   /' "$state/venvs.log"
nice -n 19 bash scripts/check-infra.sh build >"$state/sam-build.log" 2>&1 &
sam_build_pid=$!
pids+=("$sam_build_pid")

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "offline infrastructure checks (scripts/check-infra.sh checks)"
bash scripts/check-infra.sh checks

step "cargo build (binaries and tests in one go: the same features, so nothing is built twice)"
cargo build --workspace --bins --tests --locked

step "moto (DynamoDB, Secrets Manager) on loopback"
moto_log="$state/moto.log"
.venv/bin/python tests/moto_server.py --port 0 >"$moto_log" 2>&1 &
moto_pid=$!
pids+=("$moto_pid")
for _ in $(seq 1 300); do
    grep -q '^MOTO_READY ' "$moto_log" && break
    kill -0 "$moto_pid" 2>/dev/null || {
        cat "$moto_log"
        echo "moto failed to start" >&2
        exit 1
    }
    sleep 0.1
done
MOTO_ENDPOINT="$(sed -n 's/^MOTO_READY //p' "$moto_log" | head -n 1)"
[ -n "$MOTO_ENDPOINT" ] || {
    cat "$moto_log"
    echo "moto did not report ready" >&2
    exit 1
}
export MOTO_ENDPOINT
echo "moto at $MOTO_ENDPOINT"

if [ -n "$chromium_pid" ] && ! wait "$chromium_pid"; then
    tail -n 20 "$state/chromium.log" >&2
    # In CI the browser test must run; on a developer's machine without root it skips.
    [ -z "${CI:-}" ] || { echo "installing chromium failed" >&2; exit 1; }
    echo "   chromium could not be installed: the browser test will say it skipped" >&2
fi

step "tests"
# Every log line the function writes during the suite lands here for the log scan below.
rm -rf target/test-logs
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --no-fail-fast
    step "log scan: no secret or token in any log line of the suite"
    cargo nextest run --workspace --locked --run-ignored only --no-capture -E 'test(/^log_scan::/)'
else
    cargo test --workspace --locked --no-fail-fast
    step "log scan: no secret or token in any log line of the suite"
    cargo test --workspace --locked --test suite -- --ignored --nocapture log_scan::
fi
kill "$moto_pid" 2>/dev/null || true

step "fuzz: each cargo-fuzz target for a bounded time"
bash scripts/fuzz.sh 20

step "arm64 sam build (started at step 4): waiting for its result"
if ! wait "$sam_build_pid"; then
    cat "$state/sam-build.log" >&2
    echo "the arm64 sam build failed (its output above)" >&2
    exit 1
fi
sed 's/^/   /' "$state/sam-build.log"

pids=()
echo "   ($((SECONDS - step_started)) s; $(elapsed) since the start)"
echo "== disk: $(disk) free at the end (target/ $(du -sh target | cut -f1), .venv $(du -sh .venv | cut -f1), .tools $(du -sh .tools 2>/dev/null | cut -f1), fuzz/target $(du -sh fuzz/target 2>/dev/null | cut -f1))"
echo "== make test: every step passed in $(elapsed)"
