#!/usr/bin/env bash
# scripts/setup-package.sh x86_64|arm64: what scripts/package.sh needs, and
# nothing more (the Dockerfile's build stage runs it too): the Rust target,
# and a venv with cargo-lambda and zig from PyPI (requirements-package.txt),
# which cross-build the host against glibc 2.34.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
    x86_64) triple=x86_64-unknown-linux-gnu ;;
    arm64) triple=aarch64-unknown-linux-gnu ;;
    *)
        echo "usage: scripts/setup-package.sh x86_64|arm64" >&2
        exit 2
        ;;
esac
rustup target add "$triple" >/dev/null
[ -x .venv/bin/pip ] || python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements-package.txt
