#!/usr/bin/env bash
# Model benchmark: ours (model-bench) against onnxruntime (Python, one
# thread) on the same models and inputs, in one run; prints a table.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${SKIP_SETUP:-}" != 1 ]; then
    scripts/setup.sh
    scripts/build-guests.sh
    cargo build --release -p wasm-lambda-bench --bin model-bench
fi
models=(seed_forest large_forest forest_regressor boosting_multiclass mlp)
ours=$(target/release/model-bench models "${models[@]}")
ort=$(.venv/bin/python bench/onnxruntime_anchor.py models "${models[@]}")
.venv/bin/python - "$ours" "$ort" <<'PY'
import json, sys
ours, ort = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"{'model':<20}{'load ms':>18}{'1 row p50 us':>20}{'1024 rows/s':>26}{'guest call us':>15}")
print(f"{'':<20}{'ours / ort':>18}{'ours / ort':>20}{'ours / ort':>26}{'(ours)':>15}")
for name in ours:
    o, r = ours[name], ort[name]
    print(f"{name:<20}{o['load_ms']:>9.2f} / {r['load_ms']:<6.2f}"
          f"{o['single_row_p50_us']:>10.2f} / {r['single_row_p50_us']:<7.2f}"
          f"{o['batch_rows_per_s']:>13,.0f} / {r['batch_rows_per_s']:<10,.0f}"
          f"{o['guest_call_us']:>12.2f}")
print()
print("guest call overhead above the bare model run, both as the median of 5 means")
print("of 20,000 calls (target <= 5 us):")
for name in ours:
    o = ours[name]
    print(f"  {name}: {o['guest_call_us'] - o['single_row_mean_us']:+.2f} us"
          f" ({o['guest_call_us']:.2f} - {o['single_row_mean_us']:.2f})")
PY
