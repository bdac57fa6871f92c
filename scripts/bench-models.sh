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
# The generated models (models/generate.py), then scikit-learn pipelines from
# the coverage matrix (models/coverage.py): the ai.onnx.ml operators beyond
# tree ensembles.
models=(seed_forest large_forest forest_regressor boosting_multiclass mlp)
sklearn=(standardscaler_logisticregression svc_rbf_probabilities
    onehotencoder_integer_categories_logisticregression)
ours=$(target/release/model-bench models "${models[@]}")
ort=$(.venv/bin/python bench/onnxruntime_anchor.py models "${models[@]}")
ours_sklearn=$(target/release/model-bench models/coverage "${sklearn[@]}")
ort_sklearn=$(.venv/bin/python bench/onnxruntime_anchor.py models/coverage "${sklearn[@]}")
.venv/bin/python - "$ours" "$ort" "$ours_sklearn" "$ort_sklearn" <<'PY'
import json, sys
ours, ort, ours_sklearn, ort_sklearn = (json.loads(a) for a in sys.argv[1:5])

def table(ours, ort):
    width = max(len(name) for name in ours) + 2
    print(f"{'model':<{width}}{'load ms':>18}{'1 row p50 us':>20}{'1024 rows/s':>26}{'guest call us':>15}")
    print(f"{'':<{width}}{'ours / ort':>18}{'ours / ort':>20}{'ours / ort':>26}{'(ours)':>15}")
    for name in ours:
        o, r = ours[name], ort[name]
        print(f"{name:<{width}}{o['load_ms']:>9.2f} / {r['load_ms']:<6.2f}"
              f"{o['single_row_p50_us']:>10.2f} / {r['single_row_p50_us']:<7.2f}"
              f"{o['batch_rows_per_s']:>13,.0f} / {r['batch_rows_per_s']:<10,.0f}"
              f"{o['guest_call_us']:>12.2f}")

table(ours, ort)
print()
print("guest call overhead above the bare model run, both as the median of 5 means")
print("of 20,000 calls (target <= 5 us):")
for name in ours:
    o = ours[name]
    print(f"  {name}: {o['guest_call_us'] - o['single_row_mean_us']:+.2f} us"
          f" ({o['guest_call_us']:.2f} - {o['single_row_mean_us']:.2f})")
print()
print("scikit-learn pipelines (models/coverage), onnxruntime from Python:")
table(ours_sklearn, ort_sklearn)
PY
