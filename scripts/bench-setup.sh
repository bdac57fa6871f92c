#!/usr/bin/env bash
# Fresh-clone times, as a new user or CI meets them: a clone of HEAD in a
# folder of its own (its own target dir and .venv, nothing built), then
#   1. scripts/demo.sh, then scripts/test.sh after it (a user's path);
#   2. in a second fresh clone, CI=true .ci/run alone (CI's path; skip it
#      with ONLY_DEMO=1).
# Downloads come from this machine's cargo and pip caches when they hold
# them (a bare machine also downloads the crates, about a minute here).
# Prints the wall time of each step; the logs stay in the clones' folder,
# printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
base=$(mktemp -d /tmp/fresh-clone.XXXXXX)

timed() {
    local label=$1 log=$2; shift 2
    local start end
    start=$(date +%s)
    if ! "$@" > "$log" 2>&1; then
        echo "$label failed; see $log" >&2
        tail -n 30 "$log" >&2
        exit 1
    fi
    end=$(date +%s)
    printf '%s: %d min %02d s\n' "$label" $(((end - start) / 60)) $(((end - start) % 60))
}

git clone --quiet "$root" "$base/user"
cd "$base/user"
timed "scripts/demo.sh (fresh clone)" "$base/demo.log" scripts/demo.sh
timed "scripts/test.sh after it" "$base/test.log" scripts/test.sh
grep -E '^test result|passed|failed' "$base/test.log" | tail -n 3 || true

if [ -z "${ONLY_DEMO:-}" ]; then
    git clone --quiet "$root" "$base/ci"
    cd "$base/ci"
    timed "CI=true .ci/run (fresh clone)" "$base/ci.log" env CI=true bash .ci/run
fi
echo "logs: $base"
