#!/usr/bin/env bash
# The test command: set-up, Dockerfile lint, then every test (unit, guest
# behaviour, the real host binary under cargo-lambda's Runtime API emulator).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
.venv/bin/hadolint Dockerfile
# Release: the tests compile guests with cranelift, which is very slow
# unoptimised; the main job builds release too, so nothing is built twice.
cargo test --release "$@"
