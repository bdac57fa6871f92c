#!/usr/bin/env bash
# Everything a fresh machine needs before building or testing:
# the wasm32-wasip2 target; a venv with cargo-lambda, hadolint and the model
# generator's pinned tools; and the generated models too large to commit.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-wasip2 >/dev/null

[ -x .venv/bin/pip ] || python3 -m venv .venv
# Quick when everything pinned is already there.
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -r models/requirements.txt

# The large forest (5.6 MB) is generated, not committed; the generator is
# seeded and pinned, so every machine gets the same file and reference.
.venv/bin/python models/generate.py --missing
