#!/usr/bin/env bash
# Size of the release host binary at HEAD against a base commit (default
# 69e568a, the last commit before guests' outbound HTTP), both built here
# with the same toolchain in the same target dir (dependencies the two
# share are built once), then HEAD's binary put back.
#   scripts/bench-binary-size.sh [BASE]
set -euo pipefail
cd "$(dirname "$0")/.."
base="${1:-69e568a}"
root="$(pwd)"
worktree="$(mktemp -d)"
trap 'git worktree remove --force "$worktree" >/dev/null 2>&1 || true' EXIT
git worktree add --detach "$worktree" "$base" >/dev/null
cargo build --release -p wasm-lambda-host 2>/dev/null
head_bytes=$(stat -c %s target/release/wasm-lambda-host)
(cd "$worktree" && CARGO_TARGET_DIR="$root/target" cargo build --release -p wasm-lambda-host 2>/dev/null)
base_bytes=$(stat -c %s target/release/wasm-lambda-host)
cargo build --release -p wasm-lambda-host 2>/dev/null
awk -v base="$base" -v head="$(git rev-parse --short HEAD)" -v b="$base_bytes" -v h="$head_bytes" 'BEGIN {
    print "| build | bytes | MiB |"; print "| --- | --- | --- |"
    printf "| %s (base) | %d | %.2f |\n", base, b, b / 1048576
    printf "| HEAD (%s) | %d | %.2f |\n", head, h, h / 1048576
    printf "| added | %d | %.2f |\n", h - b, (h - b) / 1048576
}'
