#!/usr/bin/env bash
# The test command: set-up, Dockerfile and SAM template lint, the docs'
# links, formatting and clippy, then every test (unit, guest behaviour, the
# real host binary under cargo-lambda's Runtime API emulator, against moto's
# S3 server and under qemu-user's CPU models).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
.venv/bin/hadolint Dockerfile
.venv/bin/cfn-lint deploy/template.yaml deploy/template-zip.yaml
# Every relative link in the Markdown files resolves (anchors included).
.venv/bin/python scripts/check-links.py
cargo fmt --all --check
# The Python guest SDK's own unit tests and doc examples, on plain CPython.
PYTHONPATH=guest-sdk/python/src PYTHONDONTWRITEBYTECODE=1 \
    .venv/bin/python -m unittest discover -s guest-sdk/python/tests
# The JavaScript guest SDK's unit tests (on Node, the contract's imports
# stood in for), its build command's refusals, and its types against the
# example apps and its doc examples.
(cd guest-sdk/js && npm test --silent)
# Release, like the tests and the main job: one profile, one set of features.
cargo clippy --release --all-targets -p wasm-lambda-host -p wasm-lambda-sdk \
    -p wasm-lambda-tests -p wasm-lambda-bench -- -D warnings
# Release: the tests compile guests with cranelift, which is very slow
# unoptimised; the main job builds release too, so nothing is built twice.
cargo test --release "$@"
# The Dockerfile and the zips build the host alone (scripts/package.sh:
# `cargo lambda build -p wasm-lambda-host`, as `cargo build -p` would).
# That must resolve the features the tests' build did (host/Cargo.toml asks
# for them), or the image would run another binary than the one tested and
# benchmarked, whose symbols host/link-order.txt does not name: so it must
# find everything built already. (Output captured first: a failing build
# stops the script here, where a pipe into grep would hide its status.)
host_alone=$(cargo build --release --locked -p wasm-lambda-host 2>&1)
if grep Compiling <<< "$host_alone"; then
    echo "cargo build -p wasm-lambda-host compiled crates that cargo test had built with other features" >&2
    exit 1
fi
# The packaged host: the x86_64 zip (the build above, stripped) holds
# `bootstrap` needing glibc 2.34 at most. And the host compiles for arm64
# Lambda; building, checking and running the arm64 zip under qemu-aarch64
# is a ~13 min cross build, scripts/test-arm64.sh (docs/development.md).
scripts/package.sh x86_64
cargo test --release --test packages -- x86_64
cargo check --release --locked --target aarch64-unknown-linux-gnu -p wasm-lambda-host
