#!/usr/bin/env bash
# What a guest's own release profile costs the host: `hello` built three
# ways (the workspace's profile; + `lto = true, codegen-units = 1`; + also
# `opt-level = "s"`), each precompiled and copied under 100 names, then
# started alternately in Lambda mode against a loopback listener that never
# answers: init time from the init log, and resident memory once the host
# waits for its first event (the sum of /proc/PID/smaps' Rss). Prints a
# table for BENCHMARKS.md ("A guest's own build profile").
# GUEST_PROFILE_RUNS (default 21): starts per variant, medians reported.
# The two extra builds take ~4-5 minutes each on 2 cores (one codegen unit,
# whole-program LTO), in target/guest-profiles/.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${SKIP_SETUP:-}" != 1 ]; then
    scripts/setup.sh
    scripts/build-guests.sh
    cargo build --release -p wasm-lambda-host
fi
host=$PWD/target/release/wasm-lambda-host
out=target/guest-profiles
mkdir -p "$out"

build() { # name, extra cargo --config arguments...
    local name=$1
    shift
    cargo build --quiet --release --target wasm32-wasip2 --target-dir "$out/$name" -p hello "$@"
}
build lto --config 'profile.release.lto=true' --config 'profile.release.codegen-units=1'
build lto-size --config 'profile.release.lto=true' --config 'profile.release.codegen-units=1' \
    --config 'profile.release.opt-level="s"' --config 'profile.release.package."*".opt-level="s"'

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
variants=()
for pair in "workspace:target/guests" "lto:$out/lto" "lto-size:$out/lto-size"; do
    name=${pair%%:*}
    dir=$work/$name
    mkdir -p "$dir/template" "$dir/guests"
    cp -p "${pair#*:}/wasm32-wasip2/release/hello.wasm" "$dir/template/hello.wasm"
    "$host" precompile "$dir/template" > /dev/null
    for i in $(seq -w 1 100); do
        # -p keeps the modification time, so precompile's stamp vouches for each copy.
        cp -p "$dir/template/hello.wasm" "$dir/guests/hello-$i.wasm"
        cp -p "$dir/template/hello.cwasm" "$dir/guests/hello-$i.cwasm"
    done
    variants+=("$name=$dir")
done
sync
.venv/bin/python - "$host" "${GUEST_PROFILE_RUNS:-21}" "${variants[@]}" <<'EOF'
import os, re, socket, statistics, subprocess, sys

host, runs, variants = sys.argv[1], int(sys.argv[2]), [v.split("=", 1) for v in sys.argv[3:]]

def start(guests):
    """One Lambda-mode start: (init ms from the init log, RSS KB at the first GET)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{listener.getsockname()[1]}",
               WASM_LAMBDA_GUESTS=guests, WASM_LAMBDA_MODELS=os.path.join(guests, "none"),
               WASM_LAMBDA_DEFAULT_GUEST="hello-001", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="1024",
               AWS_LAMBDA_FUNCTION_NAME="f", AWS_LAMBDA_FUNCTION_VERSION="1", RUST_LOG="info")
    process = subprocess.Popen([host], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    listener.settimeout(60)
    connection, _ = listener.accept()
    connection.recv(4096)  # the first GET .../next: init is over
    with open(f"/proc/{process.pid}/smaps") as smaps:
        rss = sum(int(line.split()[1]) for line in smaps if line.startswith("Rss:"))
    process.kill()
    log = process.communicate()[1]
    connection.close()
    listener.close()
    init = re.search(r"init complete in ([\d.]+) ms", log)
    if not init:
        sys.exit(f"no init line from {guests}:\n{log[-2000:]}")
    return float(init.group(1)), rss

# Files as a new Lambda environment has them: read from disk, not left in
# the page cache by the copies' writes. The same `.cwasm` copied fresh
# showed ~4 MB more resident at 100 guests (the kernel maps a fault's
# neighbours by the page cache's folios, which the write path lays out
# differently). So: out of the page cache (they were synced above), then
# one untimed start per variant reads them back.
for _, directory in variants:
    guests = os.path.join(directory, "guests")
    for name in os.listdir(guests):
        fd = os.open(os.path.join(guests, name), os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
    start(guests)
results = {name: [] for name, _ in variants}
for _ in range(runs):
    for name, directory in variants:
        results[name].append(start(os.path.join(directory, "guests")))
print(f"100 copies of hello, {runs} alternating starts each, medians\n")
print("| guest profile | .wasm KB | .cwasm KB | init ms | RSS at first GET MB |")
print("| --- | --- | --- | --- | --- |")
for name, directory in variants:
    size = lambda ext: os.path.getsize(os.path.join(directory, "template", "hello." + ext)) / 1000
    init = statistics.median(r[0] for r in results[name])
    rss = statistics.median(r[1] for r in results[name]) / 1024
    print(f"| {name} | {size('wasm'):.0f} | {size('cwasm'):.0f} | {init:.1f} | {rss:.1f} |")
EOF
