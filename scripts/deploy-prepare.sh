#!/usr/bin/env bash
# What `make deploy` and `make destroy` need from this clone before the driver runs
# (`presencectl deploy` / `presencectl destroy`, presencectl/src/deploy; the Makefile then
# builds presencectl with the build `make demo` and `make test` share, and runs it):
#
#   1. the Python environments: .venv (Cargo Lambda and the zig it cross-links with) and
#      .venv/tools/sam (the SAM CLI), pinned (scripts/setup-venv.sh --all; idempotent: seconds
#      once they exist);
#   2. for a deployment, the Rust target aarch64-unknown-linux-gnu (the Lambda functions are
#      arm64), added with rustup after saying so, as `make test` does.
#
# Everything else (Terraform, the Azure CLI's sign-in, AWS credentials, the Genesys deployment
# client) is the operator's, and the driver checks it first, with the fix for each.
#
#   bash scripts/deploy-prepare.sh deploy|destroy
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

what="${1:-}"
case "$what" in deploy | destroy) ;; *)
    echo "usage: $0 deploy|destroy" >&2
    exit 2
    ;;
esac

echo "== the Python environments (.venv: Cargo Lambda, zig; .venv/tools/sam: the SAM CLI)"
bash scripts/setup-venv.sh --all >/dev/null

if [ "$what" = deploy ] && command -v rustup >/dev/null 2>&1 &&
    ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
    echo "== the Rust target aarch64-unknown-linux-gnu: adding it to your toolchain with rustup"
    echo "   (the functions run on arm64 Lambda; undo: rustup target remove aarch64-unknown-linux-gnu)"
    rustup target add aarch64-unknown-linux-gnu
fi
echo "== building presencectl (the build make demo and make test share: nothing to do after them)"
