#!/usr/bin/env bash
# A host-bench part at HEAD against a base commit, runs alternating (base,
# HEAD, base, HEAD, ...) so both see the same machine: how a change moved a
# figure. The base is built in a worktree with its own target dir (the
# first run builds everything there, ~15 min; later runs reuse it).
#   scripts/bench-against.sh BASE [PART] [ROUNDS]
#   scripts/bench-against.sh 13f834d warm 3      # the in-process warm call
#   scripts/bench-against.sh 13f834d '' 3        # init times, warm call, memory, timeouts
#   scripts/bench-against.sh 13f834d serving 2   # through cargo-lambda's emulator
set -euo pipefail
cd "$(dirname "$0")/.."
base="${1:?usage: scripts/bench-against.sh BASE [PART] [ROUNDS]}"
part="${2:-}"
rounds="${3:-3}"
root="$(pwd)"
worktree="$root/target/bench-base-$base"

scripts/setup.sh
scripts/build-guests.sh
cargo build --release -p wasm-lambda-host -p wasm-lambda-bench
if [ ! -d "$worktree" ]; then
    git worktree add --detach "$worktree" "$base" >/dev/null
fi
ln -sfn "$root/.venv" "$worktree/.venv"
[ -e "$worktree/models/large_forest.onnx" ] || cp models/large_forest.* "$worktree/models/"
(cd "$worktree" && scripts/build-guests.sh && cargo build --release -p wasm-lambda-host -p wasm-lambda-bench)

for round in $(seq "$rounds"); do
    echo "### round $round: base $base"
    (cd "$worktree" && target/release/host-bench $part)
    echo "### round $round: HEAD $(git rev-parse --short HEAD)"
    target/release/host-bench $part
done
