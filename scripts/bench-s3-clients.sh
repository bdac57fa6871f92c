#!/usr/bin/env bash
# Which S3 client serves a cold start best: object_store vs aws-sdk-s3.
# Three stand-alone probes (bench/s3-clients/) read one object at start-up
# against moto's S3 on loopback; the baseline reads a local file on the same
# tokio runtime. Each is built from clean in its own target dir, one after
# another (build time), then started 21 times (process start -> object read,
# median). Figures go to stdout; BENCHMARKS.md ("S3 client") records them.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${SKIP_SETUP:-}" ] || scripts/setup.sh
work=$(mktemp -d)
trap 'kill "${moto_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

declare -A build_s size_kb
for probe in baseline object-store aws-sdk; do
    start=$(date +%s.%N)
    CARGO_TARGET_DIR="$work/target-$probe" cargo build --release -q \
        --manifest-path "bench/s3-clients/$probe/Cargo.toml"
    end=$(date +%s.%N)
    build_s[$probe]=$(awk "BEGIN {printf \"%.0f\", $end - $start}")
    bin="$work/target-$probe/release/s3-probe-$probe"
    strip -o "$bin.stripped" "$bin"
    size_kb[$probe]=$(( $(stat -c %s "$bin.stripped") / 1024 ))
done

port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
.venv/bin/moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
for _ in $(seq 100); do curl -s "http://127.0.0.1:$port" >/dev/null && break; sleep 0.1; done
curl -s -X PUT "http://127.0.0.1:$port/bench" >/dev/null
echo '{"release":"20261123T000000Z-00000000","sha256":"0000000000000000000000000000000000000000000000000000000000000000"}' >"$work/pointer"
curl -s -X PUT --data-binary @"$work/pointer" "http://127.0.0.1:$port/bench/team/current" >/dev/null

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 \
    AWS_ENDPOINT_URL_S3="http://127.0.0.1:$port" AWS_ALLOW_HTTP=true
median_ms() { # binary args...: median wall time of 21 runs, ms
    for _ in $(seq 21); do
        s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N)
        echo $(( (e - s) / 1000 ))
    done | sort -n | sed -n 11p | awk '{printf "%.1f", $1 / 1000}'
}
echo "| client | clean release build s | stripped binary KB | start + read one object, median ms |"
echo "| --- | --- | --- | --- |"
for probe in baseline object-store aws-sdk; do
    bin="$work/target-$probe/release/s3-probe-$probe"
    if [ "$probe" = baseline ]; then args=("$work/pointer"); else args=(bench team/current); fi
    echo "| $probe | ${build_s[$probe]} | ${size_kb[$probe]} | $(median_ms "$bin" "${args[@]}") |"
done
