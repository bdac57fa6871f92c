#!/usr/bin/env bash
# Every benchmark, each against its anchor measured in the same run. Figures
# go to stdout (BENCHMARKS.md records them) and to target/bench/*.json, from
# which `host-bench summary` prints the one table of every figure against its
# anchor and target, and bench/plot.py draws bench/plots/*.png.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# GNU time: the cold-start benchmarks read each process's peak RSS from it.
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
# matplotlib, for the plots (the tests do not need it).
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements-bench.txt
scripts/build-guests.sh
cargo build --release -p wasm-lambda-host -p wasm-lambda-bench
# Only this run's figures: a part that fails leaves a gap, not a stale figure.
rm -rf target/bench
target/release/host-bench
target/release/host-bench link-order
target/release/host-bench guests
target/release/host-bench releases
target/release/host-bench serving
target/release/host-bench python
# The Node.js anchor's onnxruntime-node (its install script downloads from
# a host this machine cannot reach; the CPU binaries ship in the package).
(cd bench/node-anchor && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
target/release/host-bench js
target/release/host-bench fanout
target/release/host-bench outbound
target/release/host-bench http
cargo build --release -p wasm-lambda-bench --bin model-bench --bin ort-anchor
SKIP_SETUP=1 scripts/bench-models.sh
target/release/host-bench summary
# The PNGs BENCHMARKS.md shows, from the figures saved above (target/bench).
.venv/bin/python bench/plot.py
