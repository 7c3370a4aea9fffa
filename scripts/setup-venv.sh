#!/usr/bin/env bash
# Create (or refresh) the project-local Python virtualenv `.venv` at the repository root
# with the pinned tools from requirements-dev.txt (moto for the AWS emulation in tests).
#
# Idempotent: the install is skipped when `.venv/.requirements.sha` holds the sha256 of
# requirements-dev.txt. Needs only python3 (with the venv module) and network access to PyPI.
# Override the interpreter with PYTHON=/path/to/python3.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo_root/.venv"
requirements="$repo_root/requirements-dev.txt"
stamp="$venv/.requirements.sha"
python="${PYTHON:-python3}"

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    else
        "$python" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$1"
    fi
}

# A venv without a working pip (interrupted creation, python3-venv missing ensurepip, or
# an interpreter that was removed) is replaced, not patched.
if [ -d "$venv" ] && ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
    echo "setup-venv: $venv is broken, recreating it" >&2
    rm -rf "$venv"
fi

if [ ! -x "$venv/bin/python" ]; then
    echo "setup-venv: creating $venv" >&2
    if ! "$python" -m venv "$venv"; then
        echo "setup-venv: '$python -m venv' failed; on Debian/Ubuntu install the python3-venv package" >&2
        exit 1
    fi
fi

wanted="$(sha256_of "$requirements")"
have="$(cat "$stamp" 2>/dev/null || true)"
if [ "$wanted" != "$have" ]; then
    echo "setup-venv: installing $requirements" >&2
    rm -f "$stamp"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-cache-dir -r "$requirements"
    printf '%s\n' "$wanted" > "$stamp"
else
    echo "setup-venv: requirements unchanged, nothing to install" >&2
fi

echo "$venv"
