#!/usr/bin/env bash
# scripts/package.sh x86_64|arm64
#
# Writes target/lambda/<arch>/bootstrap.zip: the host as `bootstrap` at the
# zip's root, for Lambda's `provided.al2023` runtime on that architecture
# (deploy/template-zip.yaml deploys it, the Dockerfile puts it in the image;
# docs/deploy.md says how). The host may need glibc 2.34 at most, Amazon
# Linux 2023's; the script checks with readelf and fails otherwise.
#
# On a machine of that architecture the host is the ordinary release build
# (`cargo build --release -p wasm-lambda-host`, what the tests, the
# benchmarks and scripts/demo.sh run), with its start-order list
# (host/build.rs): it needs no glibc past 2.34 since the host brings its
# own `hypot` (host/src/glibc_compat.rs). For the other architecture
# cargo-lambda cross-builds with zig (`ziglang` from PyPI) for
# `<triple>.2.34`, no Docker; zig's linker takes no start-order list
# (`--symbol-ordering-file` is refused), which costs a cold start ~14 ms and
# ~7 MB of resident binary on x86_64 (BENCHMARKS.md, "Packaged hosts").
# The cross build keeps the workspace's release profile (cargo-lambda's own
# flags are off, `--disable-optimizations`: they would inject `panic =
# "abort"`, and the host turns panics into errors with catch_unwind), in its
# own target directory (target/<triple>/), never disturbing the native one.
# The zipped binary is stripped of symbols (a third of the size).
set -euo pipefail
cd "$(dirname "$0")/.."

arch="${1:-}"
case "$arch" in
    x86_64) machine=x86_64 ;;
    arm64) machine=aarch64 ;;
    *)
        echo "usage: scripts/package.sh x86_64|arm64" >&2
        exit 2
        ;;
esac
triple="$machine-unknown-linux-gnu"
max_glibc=2.34
out="target/lambda/$arch"
rm -rf "$out"
mkdir -p "$out"

if [ "$(uname -m)" = "$machine" ]; then
    cargo build --release --locked -p wasm-lambda-host
    binary=target/release/wasm-lambda-host
    strip --strip-all -o "$out/bootstrap" "$binary"
else
    scripts/setup-package.sh "$arch"
    # cargo-lambda finds zig as `python3 -m ziglang` of the venv.
    export PATH="$PWD/.venv/bin:$PATH"
    CARGO_PROFILE_RELEASE_STRIP=symbols \
        cargo-lambda lambda build --release --locked --disable-optimizations \
        --compiler cargo-zigbuild --target "$triple.$max_glibc" -p wasm-lambda-host \
        --bin wasm-lambda-host --lambda-dir "$out/cargo-lambda"
    # cargo-lambda moves the binary out of cargo's target dir, into its own.
    binary="$out/cargo-lambda/wasm-lambda-host/bootstrap"
    mv "$binary" "$out/bootstrap"
    binary="$out/bootstrap"
fi

# readelf reads any architecture's ELF: the glibc versions the host needs.
needed=$(readelf --version-info --wide "$out/bootstrap" | grep -o 'GLIBC_[0-9][0-9.]*' | sort -uV | tail -1)
if [ "$(printf '%s\n%s\n' "GLIBC_$max_glibc" "$needed" | sort -V | tail -1)" != "GLIBC_$max_glibc" ]; then
    echo "$binary needs $needed, newer than Amazon Linux 2023's GLIBC_$max_glibc" >&2
    exit 1
fi

# The zip: `bootstrap` alone at its root, executable.
python3 - "$out/bootstrap" "$out/bootstrap.zip" <<'PY'
import sys, zipfile
binary, zip_path = sys.argv[1], sys.argv[2]
info = zipfile.ZipInfo("bootstrap", date_time=(2026, 1, 1, 0, 0, 0))
info.external_attr = 0o100755 << 16
info.compress_type = zipfile.ZIP_DEFLATED
with open(binary, "rb") as f, zipfile.ZipFile(zip_path, "w") as z:
    z.writestr(info, f.read(), compresslevel=9)
PY
echo "$out/bootstrap.zip: $(du -k "$out/bootstrap.zip" | cut -f1) KB zipped, $(du -k "$out/bootstrap" | cut -f1) KB unzipped, needs at most $needed"
rm -rf "$out/bootstrap" "$out/cargo-lambda"
