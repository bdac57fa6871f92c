#!/usr/bin/env bash
# The main job: build the host and the example guests, precompile them, start
# the host under cargo-lambda's Runtime API emulator (as Lambda would), and
# invoke the examples over HTTP. Then the same with the guests published to
# S3 (moto's server on loopback): the host starts from the release, and a
# second publish reaches the warm environment on the next warmer ping.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
work=$(mktemp -d)
trap 'kill -- -$$ 2>/dev/null || true; rm -rf "$work"' EXIT

# Only what the demo runs: the host binary and the guests. The tests reuse
# this build: host/Cargo.toml asks for the features `cargo test` unifies
# into shared dependencies (wasmtime, tract, ...), so this compiles each of
# them once, as the tests' build would (docs/development.md). The guests
# (their own target dir) build beside the host, whose build ends in a few
# long crates one after another (tract, then the host) that leave a core
# free.
(scripts/build-guests.sh && scripts/build-python-guests.sh && scripts/build-js-guests.sh) > "$work/guests-build.log" 2>&1 &
guests_build=$!
cargo build --release --locked -p wasm-lambda-host
if ! wait "$guests_build"; then
    cat "$work/guests-build.log" >&2
    echo "building the guests failed" >&2
    exit 1
fi
mkdir -p "$work/guests" "$work/cache" "$work/models" "$work/emulator/src"
cp models/seed_forest.onnx "$work/models/"
for guest in hello counter http_router http_proxy classifier classifier_py classifier_js; do
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

# The function is `_` (what the emulator calls it); a warmer ping's fan-out
# reaches the emulator's Invoke API as it would reach Lambda's.
export AWS_ENDPOINT_URL_LAMBDA="http://127.0.0.1:$port" AWS_REGION=us-east-1
AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$port/.rt" AWS_LAMBDA_FUNCTION_NAME=_ \
AWS_LAMBDA_FUNCTION_VERSION=1 AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128 \
WASM_LAMBDA_GUESTS="$work/guests" WASM_LAMBDA_CACHE="$work/cache" WASM_LAMBDA_MODELS="$work/models" \
WASM_LAMBDA_DEFAULT_GUEST=hello \
    timeout 300 target/release/wasm-lambda-host 2> "$work/host.log" > "$work/metrics.log" &
host_pid=$!
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
# The same request to a standard wasi:http/proxy component (no SDK): an HTTP guest.
invoke '{"version": "2.0", "routeKey": "$default", "rawPath": "/http-proxy/hello", "rawQueryString": "name=Ana", "headers": {"host": "api.example.com"}, "isBase64Encoded": false, "requestContext": {"http": {"method": "GET", "path": "/http-proxy/hello"}, "stage": "$default"}}'
invoke '{"guest": "classifier", "event": {"data": [0, 0, 0, 0]}}'   # seed 004's request, its model served by the host
invoke '{"guest": "classifier-py", "event": {"data": [0, 0, 0, 0]}}'   # the same, from seed 004's app.py ported to the Python SDK
invoke '{"guest": "classifier-js", "event": {"data": [0, 0, 0, 0]}}'   # and ported to TypeScript with the JS SDK
echo "== warmer fan-out: two more environments of the same function poll the emulator =="
extra_pids=()
for extra in 1 2; do
    AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$port/.rt" AWS_LAMBDA_FUNCTION_NAME=_ \
    AWS_LAMBDA_FUNCTION_VERSION=1 AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128 \
    WASM_LAMBDA_GUESTS="$work/guests" WASM_LAMBDA_CACHE="$work/cache" WASM_LAMBDA_MODELS="$work/models" \
    WASM_LAMBDA_METRICS=off timeout 300 target/release/wasm-lambda-host 2> "$work/host-extra-$extra.log" > /dev/null &
    extra_pids+=($!)
    until grep -q "init complete" "$work/host-extra-$extra.log"; do sleep 0.05; done
done
# `warm` prints the full report on stdout and one line on stderr.
target/release/wasm-lambda-host warm _ --concurrency 3 --delay 200 > "$work/warm.json"
kill "${extra_pids[@]}"

echo
echo "== deploy once, publish guests: releases on S3 (moto on 127.0.0.1) =="
kill "$host_pid"
s3_port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
timeout 300 .venv/bin/moto_server -H 127.0.0.1 -p "$s3_port" > "$work/moto.log" 2>&1 &
until (exec 3<>"/dev/tcp/127.0.0.1/$s3_port") 2>/dev/null; do sleep 0.1; done
export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_REGION=us-east-1 \
    AWS_ENDPOINT_URL_S3="http://127.0.0.1:$s3_port"
curl -s -XPUT -H "Authorization: AWS4-HMAC-SHA256 Credential=demo/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0" \
    "http://127.0.0.1:$s3_port/demo-bucket" > /dev/null
rm -f "$work"/guests/*.cwasm
target/release/wasm-lambda-host keygen "$work/team"
target/release/wasm-lambda-host publish --sign "$work/team.key" "$work/guests" s3://demo-bucket/guests/ --models "$work/models"

AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$port/.rt" AWS_LAMBDA_FUNCTION_NAME=demo \
AWS_LAMBDA_FUNCTION_VERSION=1 AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128 \
WASM_LAMBDA_GUESTS=s3://demo-bucket/guests/ WASM_LAMBDA_CACHE="$work/s3-cache" \
WASM_LAMBDA_TRUSTED_KEYS="$work/team.pub" WASM_LAMBDA_DEFAULT_GUEST=hello \
    timeout 300 target/release/wasm-lambda-host 2> "$work/host-s3.log" >> "$work/metrics.log" &
until grep -q "init complete" "$work/host-s3.log"; do sleep 0.05; done
grep -E "release loaded|init complete" "$work/host-s3.log"
invoke '{"guest": "counter", "event": {}}'
invoke '{"guest": "classifier", "event": {"data": [0, 0, 0, 0]}}'
printf '[guests.hello]\nconfig = { greeting = "hi" }\n' > "$work/guests/guests.toml"
target/release/wasm-lambda-host publish --sign "$work/team.key" "$work/guests" s3://demo-bucket/guests/
invoke '{"warmer": true}'   # the warm environment switches; counter keeps its state
invoke '{"guest": "counter", "event": {}}'
target/release/wasm-lambda-host releases s3://demo-bucket/guests/
# Metrics: CloudWatch Embedded Metric Format, one line at init and one per
# invocation, on the host's stdout (README, "Logs and metrics").
echo "EMF metric lines on the hosts' stdout: $(wc -l < "$work/metrics.log"); the last one:"
tail -n 1 "$work/metrics.log"
