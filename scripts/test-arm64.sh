#!/usr/bin/env bash
# The packaged hosts, proven on arm64: builds both zips (scripts/package.sh:
# x86_64 is the native release build, stripped; arm64 a cross build with
# zig, ~13 min here), then runs tests/packages.rs: both zips hold
# `bootstrap` needing at most glibc 2.34, and the arm64 one, under
# qemu-aarch64, serves a release precompiled for aarch64 (seed 004's
# request through the model, a Python guest, a warmer ping). Not in the test
# command, which would then take ~45 min on a fresh clone here: CI packages
# and checks the x86_64 zip and compiles the host for aarch64 (`cargo
# check`); every closing note that touches host code reports this script's
# result (docs/development.md, "Tests").
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
# qemu-aarch64 and the aarch64 glibc it runs the host with.
if ! command -v qemu-aarch64 >/dev/null || [ ! -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ]; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq qemu-user libc6-arm64-cross >/dev/null
fi
scripts/package.sh x86_64
scripts/package.sh arm64
cargo test --release --test packages -- --nocapture
