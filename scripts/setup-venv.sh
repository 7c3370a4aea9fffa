#!/usr/bin/env bash
# Create (or refresh) the project's Python virtualenvs, each with exactly the pins of its
# requirements file:
#
#   .venv               requirements-dev.txt: moto for the tests and the demo, cfn-lint, the SAM
#                       translator, python-hcl2, cargo-lambda and zig
#   .venv/tools/checkov infra/requirements-checkov.txt   (only with --all)
#   .venv/tools/sam     infra/requirements-sam.txt       (only with --all)
#
# checkov and the SAM CLI pin packages differently from requirements-dev.txt (boto3, click),
# so each has its own virtualenv. `bash scripts/setup-venv.sh [--all]`; with --all the three
# are installed at the same time (the installs mostly wait on the network).
#
# Idempotent: an install is skipped when the virtualenv's `.requirements.sha` holds the
# sha256 of its requirements file. Needs python3 (with the venv module) and network access to
# PyPI. Override the interpreter with PYTHON=/path/to/python3. Undo: `rm -rf .venv`.
# Prints the path of .venv.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"
all=false
case "${1:-}" in
--all) all=true ;;
"") ;;
*)
    echo "usage: $0 [--all]" >&2
    exit 2
    ;;
esac

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    else
        "$python" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$1"
    fi
}

# A venv without a working pip (interrupted creation, python3-venv missing ensurepip, or an
# interpreter that was removed) is replaced, not patched.
drop_if_broken() {
    local venv="$1"
    if [ -e "$venv/bin/python" ] && ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
        echo "setup-venv: $venv is broken, recreating it" >&2
        # .venv/tools/* lives inside .venv: keep the tool venvs when only .venv is broken.
        find "$venv" -mindepth 1 -maxdepth 1 ! -name tools -exec rm -rf {} +
    fi
}

# venv requirements: create or refresh one virtualenv. Output goes to stderr.
install_venv() {
    local venv="$1" requirements="$2" stamp wanted
    stamp="$venv/.requirements.sha"
    wanted="$(sha256_of "$requirements")"
    if [ ! -x "$venv/bin/python" ]; then
        echo "setup-venv: creating ${venv#"$repo_root"/}" >&2
        if ! "$python" -m venv "$venv" >&2; then
            echo "setup-venv: '$python -m venv' failed; on Debian/Ubuntu install the python3-venv package" >&2
            return 1
        fi
    fi
    if [ "$(cat "$stamp" 2>/dev/null || true)" = "$wanted" ]; then
        return 0
    fi
    echo "setup-venv: installing ${requirements#"$repo_root"/} into ${venv#"$repo_root"/}" >&2
    rm -f "$stamp"
    # --no-compile: no .pyc for the thousands of modules never imported (half the install
    # time); the few a run imports are compiled then.
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-cache-dir \
        --no-compile -r "$requirements" >&2
    printf '%s\n' "$wanted" >"$stamp"
}

venvs=("$repo_root/.venv" "$repo_root/requirements-dev.txt")
if $all; then
    venvs+=(
        "$repo_root/.venv/tools/checkov" "$repo_root/infra/requirements-checkov.txt"
        "$repo_root/.venv/tools/sam" "$repo_root/infra/requirements-sam.txt"
    )
fi

for ((i = 0; i < ${#venvs[@]}; i += 2)); do
    drop_if_broken "${venvs[i]}"
done

if [ ${#venvs[@]} -eq 2 ]; then
    install_venv "${venvs[0]}" "${venvs[1]}"
else
    # In parallel, each into its own log, shown only when that install fails. The tool venvs
    # live inside .venv: the directories exist first, so that creating one (which makes
    # .venv as its parent) cannot race `python -m venv .venv`'s own check-then-mkdir
    # ("[Errno 17] File exists: '.venv'", seen once in a fresh clone's CI run).
    mkdir -p "${venvs[0]}/tools"
    logs="$(mktemp -d)"
    trap 'rm -rf "$logs"' EXIT
    pids=()
    for ((i = 0; i < ${#venvs[@]}; i += 2)); do
        install_venv "${venvs[i]}" "${venvs[i + 1]}" 2>"$logs/$i.log" &
        pids+=($!)
    done
    failed=0
    for ((j = 0; j < ${#pids[@]}; j++)); do
        if ! wait "${pids[j]}"; then
            cat "$logs/$((2 * j)).log" >&2
            failed=1
        else
            grep '^setup-venv:' "$logs/$((2 * j)).log" >&2 || true
        fi
    done
    [ "$failed" -eq 0 ] || {
        echo "setup-venv: an install failed (see above)" >&2
        exit 1
    }
fi

echo "$repo_root/.venv"
