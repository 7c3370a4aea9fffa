#!/usr/bin/env bash
# Size of the deployable artifact: `bootstrap` built by cargo-lambda for Lambda arm64
# (`provided.al2023`, Graviton), with the workspace release profile (strip, thin LTO, one
# codegen unit). `make bench-size` or `bash scripts/bench-size.sh`.
#
# cargo-lambda (and the zig it cross-links with) come from the project's .venv
# (requirements-dev.txt, scripts/setup-venv.sh); the arm64 standard library from
# `rustup target add aarch64-unknown-linux-gnu`, added after saying so (undo:
# `rustup target remove aarch64-unknown-linux-gnu`). The build uses its own target directory
# (ARM64_TARGET_DIR, default target/lambda-arm64) so it does not disturb the host builds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

venv="$(bash scripts/setup-venv.sh)"
target_dir="${ARM64_TARGET_DIR:-target/lambda-arm64}"
if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
    echo "bench-size: adding the Rust target aarch64-unknown-linux-gnu to your toolchain" \
        "(undo: rustup target remove aarch64-unknown-linux-gnu)"
    rustup target add aarch64-unknown-linux-gnu
fi
PATH="$venv/bin:$PATH" CARGO_TARGET_DIR="$target_dir" \
    "$venv/bin/cargo-lambda" lambda build --release --arm64 -p presence-sync
bootstrap="$target_dir/lambda/presence-sync/bootstrap"
file "$bootstrap" 2>/dev/null || true
bytes=$(stat -c %s "$bootstrap")
awk -v b="$bytes" 'BEGIN { printf "bootstrap (arm64, stripped): %d bytes = %.2f MB = %.2f MiB\n", b, b / 1e6, b / 1048576 }'
