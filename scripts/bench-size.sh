#!/usr/bin/env bash
# Size of the deployable artifact: `bootstrap` built by cargo-lambda for Lambda arm64
# (`provided.al2023`, Graviton), with the workspace release profile (strip, thin LTO, one
# codegen unit). `make bench-size` or `bash scripts/bench-size.sh`.
#
# cargo-lambda (and the zig it cross-links with) comes from PyPI into a scratch virtualenv
# outside the repository (LAMBDA_VENV, default /tmp/venv-lambda); the arm64 standard library
# from `rustup target add aarch64-unknown-linux-gnu`. The build uses its own target directory
# (ARM64_TARGET_DIR, default target/lambda-arm64) so it does not disturb the host builds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

venv="${LAMBDA_VENV:-/tmp/venv-lambda}"
target_dir="${ARM64_TARGET_DIR:-target/lambda-arm64}"
if [ ! -x "$venv/bin/cargo-lambda" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check cargo-lambda
fi
rustup target add aarch64-unknown-linux-gnu >/dev/null
PATH="$venv/bin:$PATH" CARGO_TARGET_DIR="$target_dir" \
    "$venv/bin/cargo-lambda" lambda build --release --arm64 -p presence-sync
bootstrap="$target_dir/lambda/presence-sync/bootstrap"
file "$bootstrap" 2>/dev/null || true
bytes=$(stat -c %s "$bootstrap")
awk -v b="$bytes" 'BEGIN { printf "bootstrap (arm64, stripped): %d bytes = %.2f MB = %.2f MiB\n", b, b / 1e6, b / 1048576 }'
