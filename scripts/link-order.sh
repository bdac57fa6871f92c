#!/usr/bin/env bash
# Regenerates host/link-order.txt: the host's functions that a cold start
# and its first invocations run, which the linker places side by side at
# the start of .text (host/build.rs passes the file to lld as
# --symbol-ordering-file).
#
# Why: the host binary holds 40 MB of code (wasmtime, Cranelift, tract,
# the AWS and HTTP clients) and a start runs about 2 MB of it, scattered
# over the whole text in link order. Every page fault on a file mapping
# maps up to 16 pages around it, so a start had 12-13 MB of the binary
# resident, and on Lambda, where a new environment's page cache is empty,
# each of those faults is a read from the image. With the functions a start
# runs packed together, the same start touches ~2 MB (BENCHMARKS.md, "The
# host's code in start order").
#
# The list is recorded with valgrind's callgrind (every function that runs,
# not a sample) while the real host binary, under cargo-lambda's Runtime API
# emulator, loads example guests and a model from a folder, answers a few
# invocations (plain, stateful, HTTP, model, warmer ping, bad input), and
# then starts from an S3 release on moto's server and answers again.
#
# Symbol names carry a hash of their crate's build settings, not of the
# code, so the list survives most edits; a dependency or feature change
# renames symbols, and so can a larger edit (the first plans per batch size
# renamed 261 of 4,193 generic instantiations), which the benchmark
# (`host-bench link-order`, in scripts/bench.sh's summary) reports past 5%.
# LLVM's `.llvm.N` suffixes (locals promoted across codegen units, ~11% of
# the list) change with any edit of their codegen unit, even a comment that
# moves a line: the benchmark ignores them, and lld leaves the renamed ones out of the packed start until the
# list is recorded again.
# Run this script then (about 2 minutes once built; it needs valgrind:
# apt-get install valgrind).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
scripts/setup.sh
cargo build --release --locked -p wasm-lambda-host   # the binary the tests and the image run: see scripts/demo.sh
scripts/build-guests.sh
host=target/release/wasm-lambda-host

work=$(mktemp -d)
trap 'kill -- -$$ 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/guests" "$work/models" "$work/emulator/src" "$work/profiles"
cp models/seed_forest.onnx "$work/models/"
for guest in hello counter http_router classifier; do
    cp "target/guests/wasm32-wasip2/release/$guest.wasm" "$work/guests/${guest//_/-}.wasm"
done
"$host" precompile "$work/guests" > /dev/null

port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf '[package]\nname = "emulator"\nversion = "0.0.0"\nedition = "2021"\n\n[workspace]\n' > "$work/emulator/Cargo.toml"
echo 'fn main() {}' > "$work/emulator/src/main.rs"
(cd "$work/emulator" && timeout 600 "$OLDPWD/.venv/bin/cargo-lambda" lambda watch --only-lambda-apis \
    -A 127.0.0.1 -P "$port" > "$work/emulator.log" 2>&1) &
until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.1; done
export AWS_ENDPOINT_URL_LAMBDA="http://127.0.0.1:$port" AWS_REGION=us-east-1 \
    AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$port/.rt" AWS_LAMBDA_FUNCTION_NAME=_ \
    AWS_LAMBDA_FUNCTION_VERSION=1 AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1024 \
    WASM_LAMBDA_DEFAULT_GUEST=hello

invoke() {
    curl -s -o /dev/null -XPOST "http://127.0.0.1:$port/2015-03-31/functions/_/invocations" -d "$1" || true
}
# Runs the host under callgrind until init completes, sends the events, then
# stops it (SIGTERM: the host exits, callgrind writes its profile).
profile() {
    local name=$1; shift
    env "$@" timeout 600 valgrind --tool=callgrind --demangle=no --dump-instr=no \
        --callgrind-out-file="$work/profiles/$name.out" "$host" 2> "$work/$name.log" > /dev/null &
    local pid=$!
    until grep -q "init complete" "$work/$name.log"; do sleep 0.2; done
    invoke '{"name": "order"}'
    invoke '{"guest": "counter", "event": {}}'
    invoke '{"guest": "counter", "event": {}}'
    invoke '{"version": "2.0", "routeKey": "$default", "rawPath": "/http-router/hello", "rawQueryString": "name=Ana", "queryStringParameters": {"name": "Ana"}, "headers": {}, "isBase64Encoded": false, "requestContext": {"http": {"method": "GET", "path": "/http-router/hello"}, "stage": "$default"}}'
    invoke '{"guest": "classifier", "event": {"data": [0, 0, 0, 0]}}'
    invoke '{"warmer": true}'
    invoke '{"guest": "no-such-guest", "event": {}}'
    invoke 'not json'
    kill -TERM "$pid"
    wait "$pid" || true
}

# 1. Guests and a model from folders (a container image's own guests).
profile folder WASM_LAMBDA_GUESTS="$work/guests" WASM_LAMBDA_MODELS="$work/models"

# 2. The same guests published to S3 (moto on loopback), an empty cache.
s3_port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
timeout 600 .venv/bin/moto_server -H 127.0.0.1 -p "$s3_port" > "$work/moto.log" 2>&1 &
until (exec 3<>"/dev/tcp/127.0.0.1/$s3_port") 2>/dev/null; do sleep 0.1; done
export AWS_ACCESS_KEY_ID=order AWS_SECRET_ACCESS_KEY=order AWS_ENDPOINT_URL_S3="http://127.0.0.1:$s3_port"
curl -s -XPUT -H "Authorization: AWS4-HMAC-SHA256 Credential=order/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0" \
    "http://127.0.0.1:$s3_port/order-bucket" > /dev/null
rm -f "$work"/guests/*.cwasm
"$host" keygen "$work/team" > /dev/null
"$host" publish --sign "$work/team.key" "$work/guests" s3://order-bucket/guests/ --models "$work/models" > /dev/null
profile s3 WASM_LAMBDA_GUESTS=s3://order-bucket/guests/ WASM_LAMBDA_CACHE="$work/s3-cache" \
    WASM_LAMBDA_TRUSTED_KEYS="$work/team.pub"

# The host's own functions, in the order the profiles first name them
# (folder start first): callgrind also names libc's and the guests' code.
.venv/bin/python - "$host" host/link-order.txt "$work/profiles/folder.out" "$work/profiles/s3.out" <<'EOF'
import re, subprocess, sys
binary, destination, profiles = sys.argv[1], sys.argv[2], sys.argv[3:]
symbols = subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True, check=True).stdout
functions = {p[2] for p in (line.split() for line in symbols.splitlines()) if len(p) == 3 and p[1] in "tTwW"}
names, seen = [], set()
for profile in profiles:
    for line in open(profile):
        match = re.match(r"c?fn=\(\d+\) (.*)", line)
        if match and (name := match.group(1).strip()) in functions and name not in seen:
            seen.add(name)
            names.append(name)
with open(destination, "w") as out:
    out.write("".join(name + "\n" for name in names))
print(f"{destination}: {len(names)} functions")
EOF
