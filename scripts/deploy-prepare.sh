#!/usr/bin/env bash
# What `make deploy` and `make destroy` need from this clone before the driver runs
# (`presencectl deploy` / `presencectl destroy`, presencectl/src/deploy; the Makefile then
# builds presencectl with the build `make demo` and `make test` share, and runs it):
#
#   0. the operator's prerequisites, checked before anything is installed or built (a fresh
#      clone's build takes about 15 minutes: a missing sign-in must not wait for it):
#      Terraform; the Azure CLI, or a service principal's ARM_TENANT_ID, ARM_CLIENT_ID and
#      ARM_CLIENT_SECRET; the Genesys deployment client's GENESYSCLOUD_OAUTHCLIENT_ID and
#      GENESYSCLOUD_OAUTHCLIENT_SECRET; an AWS region (AWS_REGION, AWS_DEFAULT_REGION,
#      --region in DEPLOY_ARGS, or the profile's region in ~/.aws/config); some AWS
#      credentials (the variables, a profile, ~/.aws); for a deployment python3, cargo
#      (rustup) and a C compiler. Each missing one is printed with its fix. The driver checks them all
#      again, properly (the Azure sign-in, STS, the stack, Lambda's concurrency);
#   1. the Python environments: .venv (Cargo Lambda and the zig it cross-links with) and
#      .venv/tools/sam (the SAM CLI), pinned (scripts/setup-venv.sh --all; idempotent: seconds
#      once they exist). --all also installs checkov (.venv/tools/checkov), which only
#      `make test` uses: setup-venv.sh has no option for the SAM CLI alone. Its progress goes
#      to the terminal (stderr); only the path it prints is dropped;
#   2. for a deployment, the Rust target aarch64-unknown-linux-gnu (the Lambda functions are
#      arm64), added with rustup after saying so, as `make test` does.
#
#   bash scripts/deploy-prepare.sh deploy|destroy [DEPLOY_ARGS…]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

what="${1:-}"
case "$what" in deploy | destroy) ;; *)
    echo "usage: $0 deploy|destroy [DEPLOY_ARGS…]" >&2
    exit 2
    ;;
esac
shift
args=" $* "

missing=()
need() { missing+=("$1"$'\n'"     fix: $2"); }
set_var() { [ -n "${!1:-}" ]; }

command -v terraform >/dev/null 2>&1 ||
    need "terraform" "install Terraform 1.5 or later (https://developer.hashicorp.com/terraform/install)"
if ! { set_var ARM_TENANT_ID && set_var ARM_CLIENT_ID && set_var ARM_CLIENT_SECRET; } &&
    ! command -v az >/dev/null 2>&1; then
    need "the Azure CLI (or a service principal)" "install the Azure CLI and az login --tenant <tenant id> --allow-no-subscriptions, or export ARM_TENANT_ID, ARM_CLIENT_ID and ARM_CLIENT_SECRET"
fi
for variable in GENESYSCLOUD_OAUTHCLIENT_ID GENESYSCLOUD_OAUTHCLIENT_SECRET; do
    set_var "$variable" ||
        need "$variable" "export it: the Genesys deployment client (infra/README.md, manual action 2)"
done
profile="${AWS_PROFILE:-default}"
case "$args" in *" --profile "*) profile="$(sed -E 's/.* --profile +([^ ]+).*/\1/' <<<"$args")" ;; esac
config="${AWS_CONFIG_FILE:-$HOME/.aws/config}"
profile_region() {
    [ -f "$config" ] && awk -v p="$profile" '
        /^\[/ { section = $0; gsub(/^\[(profile )?|\]$/, "", section); next }
        section == p && $1 == "region" { sub(/^[^=]*= */, ""); print; exit }' "$config"
}
if ! set_var AWS_REGION && ! set_var AWS_DEFAULT_REGION && [[ "$args" != *" --region "* ]] &&
    [ -z "$(profile_region)" ]; then
    need "an AWS region" "export AWS_REGION=<region>, give DEPLOY_ARGS=\"--region <region>\", or set region in the profile $profile of $config"
fi
if ! set_var AWS_ACCESS_KEY_ID && ! set_var AWS_PROFILE && ! set_var AWS_WEB_IDENTITY_TOKEN_FILE &&
    ! set_var AWS_CONTAINER_CREDENTIALS_FULL_URI && ! set_var AWS_CONTAINER_CREDENTIALS_RELATIVE_URI &&
    [ ! -e "$config" ] && [ ! -e "${AWS_SHARED_CREDENTIALS_FILE:-$HOME/.aws/credentials}" ]; then
    need "AWS credentials" "aws sso login (or aws configure), or export AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
fi
if [ "$what" = deploy ]; then
    command -v python3 >/dev/null 2>&1 ||
        need "python3" "install Python 3 with its venv module (Debian/Ubuntu: python3-venv)"
    command -v cargo >/dev/null 2>&1 ||
        need "cargo" "install a stable Rust toolchain with rustup (https://rustup.rs)"
    command -v cc >/dev/null 2>&1 ||
        need "a C compiler (cc)" "install one (Debian/Ubuntu: build-essential; macOS: xcode-select --install): the TLS library is built from source"
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "✗ make $what cannot start; nothing was installed, built or made. Missing:"
    for line in "${missing[@]}"; do
        echo "   ✗ $line"
    done
    exit 1
fi

echo "== the Python environments (.venv: Cargo Lambda, zig; .venv/tools/sam: the SAM CLI)"
bash scripts/setup-venv.sh --all >/dev/null

if [ "$what" = deploy ] && command -v rustup >/dev/null 2>&1 &&
    ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
    echo "== the Rust target aarch64-unknown-linux-gnu: adding it to your toolchain with rustup"
    echo "   (the functions run on arm64 Lambda; undo: rustup target remove aarch64-unknown-linux-gnu)"
    rustup target add aarch64-unknown-linux-gnu
fi
echo "== building presencectl (the build make demo and make test share: nothing to do after them)"
