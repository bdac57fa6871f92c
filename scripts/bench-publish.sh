#!/usr/bin/env bash
# How long `publish` takes against moto's S3 server on loopback, for the
# examples folder (four Rust guests and the Python one, seed 004's model):
# the first release (everything compiled for both architectures, the
# anchor), the same folder again (nothing changed: all code reused), and
# the folder with one Rust guest changed (only it compiled). Each case runs
# ROUNDS times (default 3) against a fresh bucket; the table gives medians.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${SKIP_SETUP:-}" ] || scripts/setup.sh
cargo build --release --locked -p wasm-lambda-host
scripts/build-guests.sh
scripts/build-python-guests.sh
host=$PWD/target/release/wasm-lambda-host
rounds=${ROUNDS:-3}

work=$(mktemp -d)
trap 'kill -- -$$ 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
timeout 1800 .venv/bin/moto_server -H 127.0.0.1 -p "$port" > "$work/moto.log" 2>&1 &
until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.1; done
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 \
    AWS_ENDPOINT_URL_S3="http://127.0.0.1:$port"

mkdir -p "$work/guests" "$work/models"
cp models/seed_forest.onnx "$work/models/"
for guest in hello counter http_router classifier classifier_py; do
    cp "target/guests/wasm32-wasip2/release/$guest.wasm" "$work/guests/${guest//_/-}.wasm"
done

# Seconds one publish takes; its output goes to $work/last.txt.
publish() {
    local start end
    start=$(date +%s.%N)
    "$host" publish "$work/guests" "s3://$1/guests/" --models "$work/models" > "$work/last.txt" 2>&1
    end=$(date +%s.%N)
    awk "BEGIN {printf \"%.2f\\n\", $end - $start}"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

: > "$work/first"; : > "$work/unchanged"; : > "$work/changed"
for round in $(seq "$rounds"); do
    bucket="bench-$round"
    curl -s -XPUT -H "Authorization: AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0" \
        "http://127.0.0.1:$port/$bucket" > /dev/null
    cp "target/guests/wasm32-wasip2/release/hello.wasm" "$work/guests/hello.wasm"
    publish "$bucket" >> "$work/first"
    publish "$bucket" >> "$work/unchanged"
    grep -q "nothing changed" "$work/last.txt" || { cat "$work/last.txt"; exit 1; }
    # A changed guest: hello with a custom section appended (new bytes,
    # still a valid component), as a rebuild with another string would be.
    printf '\x00\x0c\x05bench%06d' "$round" >> "$work/guests/hello.wasm"
    publish "$bucket" >> "$work/changed"
    grep -q "code of guest hello: compiled" "$work/last.txt" || { cat "$work/last.txt"; exit 1; }
done
echo "publish of examples/ (5 guests, 1 model) to moto on 127.0.0.1, median of $rounds:"
echo
echo "| publish | seconds |"
echo "| --- | --- |"
echo "| first release: every guest compiled for x86_64 and aarch64 (anchor) | $(median < "$work/first") |"
echo "| unchanged folder: all code reused, nothing uploaded | $(median < "$work/unchanged") |"
echo "| one Rust guest changed: it compiled, the others reused | $(median < "$work/changed") |"
echo
echo "The last publish said:"
cat "$work/last.txt"
