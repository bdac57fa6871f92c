#!/usr/bin/env bash
# Everything a fresh machine needs before building or testing:
# the wasm32-wasip2 target and a venv with cargo-lambda and hadolint.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-wasip2 >/dev/null

if [ ! -x .venv/bin/cargo-lambda ] || [ ! -x .venv/bin/hadolint ]; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
fi
