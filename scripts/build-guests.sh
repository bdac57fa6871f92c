#!/usr/bin/env bash
# Builds every guest (examples/* and tests/guests/*) for wasm32-wasip2 into
# target/guests/wasm32-wasip2/release/, exactly as the tests' build script does.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=()
for manifest in examples/*/Cargo.toml tests/guests/*/Cargo.toml; do
    packages+=(-p "$(basename "$(dirname "$manifest")")")
done
cargo build --release --target wasm32-wasip2 --target-dir target/guests "${packages[@]}"
