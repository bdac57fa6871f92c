#!/usr/bin/env bash
# The main job: build the host and the example guests, precompile them, start
# the host under cargo-lambda's Runtime API emulator (as Lambda would), and
# invoke the examples over HTTP.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
# The host binary is built exactly as `scripts/test.sh` builds it (`cargo
# test` unifies the features of the SDK, the test support and dev-only
# crates into shared dependencies such as wasmtime and tract; a plain
# `cargo build -p wasm-lambda-host` would resolve other features and build
# them all a second time). So the demo's build is the tests' build.
cargo test --release --no-run
scripts/build-guests.sh

work=$(mktemp -d)
trap 'kill -- -$$ 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/guests" "$work/cache" "$work/models" "$work/emulator/src"
cp models/seed_forest.onnx "$work/models/"
for guest in hello counter http_router classifier; do
    cp "target/guests/wasm32-wasip2/release/$guest.wasm" "$work/guests/${guest//_/-}.wasm"
done
target/release/wasm-lambda-host precompile "$work/guests"

port=${PORT:-9000}
printf '[package]\nname = "emulator"\nversion = "0.0.0"\nedition = "2021"\n\n[workspace]\n' > "$work/emulator/Cargo.toml"
echo 'fn main() {}' > "$work/emulator/src/main.rs"
(cd "$work/emulator" && timeout 300 "$OLDPWD/.venv/bin/cargo-lambda" lambda watch --only-lambda-apis \
    -A 127.0.0.1 -P "$port" > "$work/emulator.log" 2>&1) &
# Wait for the port to accept connections (the emulator answers `/` with an
# empty reply, so an HTTP probe would wait forever).
until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.1; done

AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$port/.rt" AWS_LAMBDA_FUNCTION_NAME=demo \
AWS_LAMBDA_FUNCTION_VERSION=1 AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128 \
WASM_LAMBDA_GUESTS="$work/guests" WASM_LAMBDA_CACHE="$work/cache" WASM_LAMBDA_MODELS="$work/models" \
WASM_LAMBDA_DEFAULT_GUEST=hello \
    timeout 300 target/release/wasm-lambda-host 2> "$work/host.log" &
until grep -q "init complete" "$work/host.log"; do sleep 0.05; done
grep -E "model ready|init complete" "$work/host.log"

invoke() {
    echo "> $1"
    curl -s -XPOST "http://127.0.0.1:$port/2015-03-31/functions/_/invocations" -d "$1"
    echo
}
invoke '{"name": "wasm-lambda"}'
invoke '{"guest": "counter", "event": {}}'
invoke '{"guest": "counter", "event": {}}'
invoke '{"version": "2.0", "routeKey": "$default", "rawPath": "/http-router/hello", "rawQueryString": "name=Ana", "queryStringParameters": {"name": "Ana"}, "headers": {}, "isBase64Encoded": false, "requestContext": {"http": {"method": "GET", "path": "/http-router/hello"}, "stage": "$default"}}'
invoke '{"guest": "classifier", "event": {"data": [0, 0, 0, 0]}}'   # seed 004's request, its model served by the host
invoke '{"warmer": true, "concurrency": 3, "delay": 50}'
