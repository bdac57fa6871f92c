#!/usr/bin/env bash
# Builds every JavaScript/TypeScript guest (examples/*/app.ts|app.js and
# tests/guests/*/app.ts|app.js) with the SDK in guest-sdk/js into
# OUT_DIR/NAME.wasm (dashes become underscores, as cargo names the Rust
# guests). Each guest folder has its package.json, installed by
# scripts/setup.sh (`npm ci`), as an author's project would be.
# A guest whose output is newer than its sources and the SDK is skipped.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/target/guests/wasm32-wasip2/release}"
cli="$root/guest-sdk/js/bin/wasm-lambda.js"
if [ ! -d "$root/guest-sdk/js/node_modules/@bytecodealliance/componentize-js" ]; then
    echo "the JS SDK's dependencies are missing from guest-sdk/js/node_modules: run scripts/setup.sh" >&2
    exit 1
fi
mkdir -p "$out"
# The build must work offline once `npm install` ran (nothing fetched at
# build time): where this machine allows a network namespace, each build
# runs in one without a network, so a build that needs one fails here.
offline=()
if unshare -rn true 2>/dev/null; then
    offline=(unshare -rn)
fi
for app in "$root"/examples/*/app.{ts,js} "$root"/tests/guests/*/app.{ts,js}; do
    [ -e "$app" ] || continue
    folder="$(dirname "$app")"
    name="$(basename "$folder")"
    wasm="$out/${name//-/_}.wasm"
    if [ -e "$wasm" ] && [ -z "$(find "$folder" "$root/guest-sdk/js/src" "$root/guest-sdk/js/wit" "$root/guest-sdk/js/wit-http" \
            -path '*/node_modules' -prune -o \
            \( -name '*.ts' -o -name '*.js' -o -name '*.wit' -o -name package.json \) -newer "$wasm" -print -quit)" ]; then
        continue
    fi
    if [ ! -d "$folder/node_modules" ]; then
        echo "$folder has no node_modules: run scripts/setup.sh" >&2
        exit 1
    fi
    (cd "$folder" && "${offline[@]}" node "$cli" build "$(basename "$app")" -o "$wasm" --quiet)
    echo "built $wasm"
done
