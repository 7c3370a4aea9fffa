#!/usr/bin/env bash
# Offline checks of the deployment code (template.yaml, samconfig.toml, infra/), run by
# scripts/test.sh on every CI run; see infra/README.md, "What CI checks".
#
#   1. cfn-lint on template.yaml: no error, no warning.
#   2. The template translated to plain CloudFormation by the SAM translator library
#      (tests/infra/translate_template.py), then checked: tests/infra/check_translated.py
#      (no wildcard, DLQ, failure destination, retries, encryption, alarms) and checkov,
#      whose findings must be none but those suppressed in template.yaml with a reason
#      (tests/infra/check_checkov.py).
#   3. tests/tests/suite/template.rs: the template agrees with the code (variables, IAM actions,
#      the rule's pattern against tests/fixtures, the TTL attribute).
#   4. The Terraform in infra/genesys and infra/azure parses and declares every variable
#      it uses (tests/infra/check_terraform.py); `terraform fmt -check` when terraform is
#      installed (the check needs no provider, nor network).
#   5. `sam validate` (cfn-lint through samconfig.toml).
#   6. `sam build` (Cargo Lambda, arm64): the function's `bootstrap` must come out as an
#      aarch64 executable. INFRA_BUILD=debug (default: SAM_BUILD_MODE=debug, a debug build
#      that proves the cross build in about half the time), release (what `sam build` does
#      before a deploy), or skip. It builds in target/infra-arm64, removed when the check
#      ends. SAM's own chatter (the beta-features notice, colours, its "Commands you can use
#      next" about a temporary folder) is left out; on a failure its whole output is shown.
#
#   bash scripts/check-infra.sh [all|checks|build]
#     all (default): 1-6; checks: 1-5; build: 6 only (scripts/test.sh runs it in the
#     background while the tests run, as it shares nothing with them).
#
# Needs python3 (venv), a Rust toolchain with rustup, and PyPI/crates.io: the tools come
# from requirements-dev.txt (.venv) and infra/requirements-{checkov,sam}.txt
# (.venv/tools/*, separate because their pins conflict with requirements-dev.txt), all
# created by scripts/setup-venv.sh --all. The sam build needs the Rust target
# aarch64-unknown-linux-gnu: it is added with rustup (after saying so) when missing;
# `rustup target remove aarch64-unknown-linux-gnu` removes it again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$(pwd)"

what="${1:-all}"
case "$what" in all | checks | build) ;; *)
    echo "usage: $0 [all|checks|build]" >&2
    exit 2
    ;;
esac
build_mode="${INFRA_BUILD:-debug}"
case "$build_mode" in debug | release | skip) ;; *)
    echo "check-infra: INFRA_BUILD must be debug, release or skip (got '$build_mode')" >&2
    exit 2
    ;;
esac

step() {
    echo "== infra: $1"
    step_started=$SECONDS
}
done_step() { echo "   ($((SECONDS - step_started)) s)"; }

bash scripts/setup-venv.sh --all >/dev/null
py="$repo/.venv/bin/python"
checkov_venv="$repo/.venv/tools/checkov"
sam_venv="$repo/.venv/tools/sam"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Stopped (scripts/test.sh stops its background steps on a failure): clean up all the same.
trap 'exit 143' TERM
trap 'exit 130' INT
# The SAM CLI must not phone home; the AWS SDKs must find neither credentials nor a
# profile (nothing here talks to AWS).
export SAM_CLI_TELEMETRY=0 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_EC2_METADATA_DISABLED=true AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1

run_checks() {
    step "cfn-lint template.yaml"
    "$repo/.venv/bin/cfn-lint" template.yaml
    echo "   no errors, no warnings"
    done_step

    step "SAM translation (samtranslator, offline) and checks on the CloudFormation"
    "$py" tests/infra/translate_template.py template.yaml "$work/translated.json"
    "$py" tests/infra/check_translated.py "$work/translated.json"
    done_step

    step "checkov on the translated template"
    # Exit status 1 means findings; check_checkov.py judges the report (and fails on an empty
    # or missing one).
    "$checkov_venv/bin/checkov" -f "$work/translated.json" --framework cloudformation \
        --skip-download -o json >"$work/checkov.json" || [ $? -eq 1 ]
    "$py" tests/infra/check_checkov.py "$work/checkov.json" "$work/translated.json"
    done_step

    step "template.yaml against the code (tests/tests/suite/template.rs)"
    echo "   compiling the test suite first when it is not built yet (minutes on a fresh clone; the"
    echo "   suite's own build reuses it), then running template::"
    # --workspace: the same features as the suite's build, so its dependencies are built once.
    cargo test --workspace --locked --test suite --quiet -- template::
    done_step

    step "Terraform (python-hcl2): parses, variables declared and used, secrets sensitive"
    "$py" tests/infra/check_terraform.py infra/genesys infra/azure
    if command -v terraform >/dev/null 2>&1; then
        terraform fmt -check -recursive infra 2>"$work/terraform.err" || {
            cat "$work/terraform.err" >&2
            exit 1
        }
        echo "   terraform fmt: formatted"
    else
        echo "   terraform not installed: fmt check skipped (not needed for the checks above)"
    fi
    done_step

    step "sam validate (samconfig.toml: lint)"
    "$sam_venv/bin/sam" validate </dev/null
    done_step
}

# SAM's output, without its colours, its beta-features notice, its note on building in source
# and its "Commands you can use next" (about the temporary build folder): what is left is
# what it built and how it ended.
sam_summary() {
    sed -e 's/\x1b\[[0-9;]*m//g' "$1" | grep -E '^(Building codeuri|Build Succeeded)' | sed 's/^/   /'
}

run_build() {
    step "sam build ($build_mode): Cargo Lambda, arm64 bootstrap"
    if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
        echo "   adding the Rust target aarch64-unknown-linux-gnu to your toolchain (rustup target add;"
        echo "   undo: rustup target remove aarch64-unknown-linux-gnu)"
        rustup target add aarch64-unknown-linux-gnu
    fi
    local mode_env=() log="$work/sam-build.log"
    [ "$build_mode" = debug ] && mode_env=(SAM_BUILD_MODE=debug)
    # cargo-lambda and the zig it cross-links with come from .venv (requirements-dev.txt).
    # No --beta-features flag: samconfig.toml must enable the rust-cargolambda build itself
    # (without it, sam build would stop to ask and, with no input, fail).
    # The cross build goes to a target directory of its own, removed once checked: its
    # ≈ 600 MB of arm64 artifacts serve nothing after this check, and a CI machine has run
    # out of disk before. Under target/ rather than $work, because /tmp may be a small tmpfs.
    arm64_target="$repo/target/infra-arm64"
    trap 'rm -rf "$work" "$arm64_target"' EXIT
    if ! env "${mode_env[@]}" PATH="$repo/.venv/bin:$PATH" CARGO_TARGET_DIR="$arm64_target" \
        "$sam_venv/bin/sam" build --build-dir "$work/sam-build" </dev/null >"$log" 2>&1; then
        echo "check-infra: sam build failed; its whole output:" >&2
        sed -e 's/\x1b\[[0-9;]*m//g' "$log" >&2
        exit 1
    fi
    sam_summary "$log"
    "$py" - "$work/sam-build/PresenceSyncFunction/bootstrap" <<'EOF'
import struct, sys
path = sys.argv[1]
with open(path, "rb") as f:
    header = f.read(20)
machine = struct.unpack_from("<H", header, 18)[0] if len(header) == 20 else None
if header[:4] != b"\x7fELF" or machine != 183:  # EM_AARCH64
    raise SystemExit(f"{path} is not an aarch64 ELF executable (e_machine {machine})")
print(f"   {path.split('/sam-build/')[1]}: ELF aarch64, {len(open(path, 'rb').read()) // 1024} KiB")
EOF
    done_step
}

if [ "$what" != build ]; then
    run_checks
fi
if [ "$what" != checks ]; then
    if [ "$build_mode" = skip ]; then
        echo "== infra: sam build skipped (INFRA_BUILD=skip)"
    else
        run_build
    fi
fi
