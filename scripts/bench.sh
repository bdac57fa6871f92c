#!/usr/bin/env bash
# Benchmarks for the core host, with the lambda_runtime echo anchor measured
# in the same run. Figures go to stdout; BENCHMARKS.md records them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build-guests.sh
cargo build --release -p wasm-lambda-host -p wasm-lambda-bench
target/release/host-bench
target/release/host-bench releases
target/release/host-bench serving
target/release/host-bench python
target/release/host-bench fanout
target/release/host-bench outbound
cargo build --release -p wasm-lambda-bench --bin model-bench --bin ort-anchor
SKIP_SETUP=1 scripts/bench-models.sh
