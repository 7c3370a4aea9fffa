#!/usr/bin/env bash
# The Cargo tools the suite runs, pinned, installed into the project (`.tools/bin`, ignored by
# git) rather than into ~/.cargo/bin: `bash scripts/tools.sh [cargo-deny] [cargo-fuzz]`
# (both when no name is given). Undo: `rm -rf .tools`.
#
# A tool already on PATH at the pinned version (say, in ~/.cargo/bin) is used as it is. Else
# it is built from the crate registry once per clone with the dev profile and no debug info: the
# tools' own release profiles (cargo-deny: fat LTO, one codegen unit) took 5 min on two
# cores for a check that runs for 3 s; with the dev profile it builds in about a third of
# the CPU time.
#
# Scripts that use the tools put `.tools/bin` first on PATH (scripts/test.sh, scripts/fuzz.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$(pwd)/.tools"

declare -A pinned=([cargo-deny]=0.20.2 [cargo-fuzz]=0.13.2)

ensure() {
    local name="$1" version="${pinned[$1]:?unknown tool $1}" found
    # `cargo-deny --version` prints "cargo-deny 0.20.2".
    if [ "$("$root/bin/$name" --version 2>/dev/null || true)" = "$name $version" ]; then
        return
    fi
    found="$(command -v "$name" 2>/dev/null || true)"
    if [ -n "$found" ] && [ "$("$found" --version 2>/dev/null || true)" = "$name $version" ]; then
        echo "tools: using $name $version from $found"
        return
    fi
    echo "tools: building $name $version from source into .tools/bin (once per clone; undo: rm -rf .tools)"
    local started=$SECONDS log
    log="$(mktemp)"
    # The build directory is cargo's temporary one, removed after the install.
    if ! env -u CARGO_TARGET_DIR CARGO_PROFILE_DEV_DEBUG=false \
        cargo install --quiet --locked --debug --root "$root" "$name" --version "$version" \
        >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "tools: installing $name $version failed" >&2
        exit 1
    fi
    rm -f "$log"
    echo "tools: $name $version installed ($((SECONDS - started)) s)"
}

if [ $# -eq 0 ]; then
    set -- cargo-deny cargo-fuzz
fi
for tool in "$@"; do
    ensure "$tool"
done
