#!/usr/bin/env bash
# Everything a fresh machine needs before building or testing:
# the wasm32-wasip2 and aarch64 targets, rustfmt and clippy; qemu-user (the
# tests run the host on other x86_64 CPU models) and an aarch64 C cross
# compiler; a venv with cargo-lambda, hadolint,
# the model generator's pinned tools and the Python guest SDK (with
# componentize-py); the JS SDK's and JS guests' npm packages; and the
# generated models too large to commit.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-wasip2 aarch64-unknown-linux-gnu >/dev/null
rustup component add rustfmt clippy >/dev/null 2>&1

# qemu-user: other CPUs for the tests. The aarch64 C cross compiler: the
# test command compiles the host for arm64 (`cargo check`), which still
# compiles the C sources of dependencies (aws-lc-sys).
if ! command -v qemu-x86_64 >/dev/null || ! command -v aarch64-linux-gnu-gcc >/dev/null; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq qemu-user gcc-aarch64-linux-gnu >/dev/null
fi

[ -x .venv/bin/pip ] || python3 -m venv .venv
# Quick when everything pinned is already there.
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -r models/requirements.txt
# The Python guest SDK, as its users install it; it brings the pinned
# componentize-py that builds Python guests (scripts/build-python-guests.sh).
.venv/bin/pip install --quiet --disable-pip-version-check ./guest-sdk/python

# The JavaScript guest SDK's tools (esbuild, componentize-js, TypeScript
# for its tests) and each JS guest's own packages, as their lock files pin
# them; skipped where node_modules already matches the lock.
for folder in guest-sdk/js examples/*/ tests/guests/*/; do
    folder="${folder%/}"
    [ -f "$folder/package-lock.json" ] || continue
    if [ ! -f "$folder/node_modules/.package-lock.json" ] \
            || [ "$folder/package-lock.json" -nt "$folder/node_modules/.package-lock.json" ]; then
        (cd "$folder" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    fi
done

# The large forest (5.6 MB) is generated, not committed; the generator is
# seeded and pinned, so every machine gets the same file and reference.
.venv/bin/python models/generate.py --missing
