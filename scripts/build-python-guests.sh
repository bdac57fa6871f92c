#!/usr/bin/env bash
# Builds every Python guest (examples/*/app.py, tests/guests/*/app.py) with
# the SDK in guest-sdk/python into OUT_DIR/NAME.wasm (dashes become
# underscores, as cargo names the Rust guests), using .venv's componentize-py
# (scripts/setup.sh installs it). A guest folder may hold requirements.txt
# (bundled with -r) and extra/ (put on the guest's path with -p).
# A guest whose output is newer than its sources and the SDK is skipped.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/target/guests/wasm32-wasip2/release}"
python="$root/.venv/bin/python"
if ! "$python" -c 'import componentize_py' 2>/dev/null; then
    echo "componentize-py is missing from $root/.venv: run scripts/setup.sh" >&2
    exit 1
fi
mkdir -p "$out"
export PYTHONPATH="$root/guest-sdk/python/src" PYTHONDONTWRITEBYTECODE=1
for app in "$root"/examples/*/app.py "$root"/tests/guests/*/app.py; do
    [ -e "$app" ] || continue
    folder="$(dirname "$app")"
    name="$(basename "$folder")"
    wasm="$out/${name//-/_}.wasm"
    if [ -e "$wasm" ] && [ -z "$(find "$folder" "$root/guest-sdk/python/src" \
            \( -name '*.py' -o -name '*.wit' -o -name requirements.txt \) -newer "$wasm" -print -quit)" ]; then
        continue
    fi
    args=()
    [ -f "$folder/requirements.txt" ] && args+=(-r "$folder/requirements.txt")
    [ -d "$folder/extra" ] && args+=(-p "$folder/extra")
    "$python" -m wasm_lambda build "$app" -o "$wasm" --quiet "${args[@]}"
    echo "built $wasm"
done
