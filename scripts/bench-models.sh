#!/usr/bin/env bash
# Model benchmark: ours (model-bench) against onnxruntime on the same models
# and inputs, one thread, in one run: through its C API from Rust
# (ort-anchor, the wheel's libonnxruntime.so) and from Python; prints tables.
# MODEL_BENCH_ROUNDS (default 5): how many alternating rounds (see below).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${SKIP_SETUP:-}" != 1 ]; then
    scripts/setup.sh
    scripts/build-guests.sh
    cargo build --release -p wasm-lambda-bench --bin model-bench --bin ort-anchor
fi
# onnxruntime's StringNormalizer (the text models) needs the en_US.UTF-8
# locale (it refuses to load without it); Debian ships it ungenerated.
if ! locale -a 2>/dev/null | grep -qi '^en_US.utf8$'; then
    sudo_=$([ "$(id -u)" = 0 ] || echo sudo)
    $sudo_ apt-get install -y locales >/dev/null
    $sudo_ sed -i 's/^# *en_US.UTF-8 UTF-8/en_US.UTF-8 UTF-8/' /etc/locale.gen
    $sudo_ locale-gen >/dev/null
fi
# The shared library the pinned onnxruntime wheel ships.
ORT_DYLIB_PATH=$(ls "$PWD"/.venv/lib/python3.*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -n 1)
export ORT_DYLIB_PATH
# The generated models (models/generate.py), then scikit-learn pipelines from
# the coverage matrix (models/coverage.py): the ai.onnx.ml operators beyond
# tree ensembles.
models=(seed_forest large_forest forest_regressor forest_regressor_v5 boosting_multiclass mlp mlp_wide)
sklearn=(logisticregression_binary logisticregression_3_classes linearregression
    standardscaler_logisticregression svc_rbf_probabilities
    onehotencoder_integer_categories_logisticregression
    tfidfvectorizer_logisticregression tfidfvectorizer_word_1_2_grams_logisticregression)
# Rounds alternate ours and the two anchors, and each figure is the median
# over rounds: a slow spell of this 2-core machine then lands on both sides
# instead of on whichever ran during it (single runs moved ratios by ±30%).
rounds=${MODEL_BENCH_ROUNDS:-5}
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
for round in $(seq "$rounds"); do
    target/release/model-bench models "${models[@]}" >"$results/ours.$round"
    target/release/ort-anchor models "${models[@]}" >"$results/ort_c.$round"
    .venv/bin/python bench/onnxruntime_anchor.py models "${models[@]}" >"$results/ort.$round"
    target/release/model-bench models/coverage "${sklearn[@]}" >"$results/ours_sklearn.$round"
    target/release/ort-anchor models/coverage "${sklearn[@]}" >"$results/ort_c_sklearn.$round"
    .venv/bin/python bench/onnxruntime_anchor.py models/coverage "${sklearn[@]}" >"$results/ort_sklearn.$round"
done
.venv/bin/python - "$results" "$rounds" <<'PY'
import json, pathlib, statistics, sys
results, rounds = pathlib.Path(sys.argv[1]), int(sys.argv[2])

def median_of_rounds(side):
    """{model: {figure: median over the rounds}} for one side."""
    runs = [json.loads((results / f"{side}.{r}").read_text()) for r in range(1, rounds + 1)]
    return {name: {figure: statistics.median(run[name][figure] for run in runs)
                   for figure in runs[0][name]}
            for name in runs[0]}

ours, ort_c, ort, ours_sklearn, ort_c_sklearn, ort_sklearn = (median_of_rounds(side) for side in (
    "ours", "ort_c", "ort", "ours_sklearn", "ort_c_sklearn", "ort_sklearn"))
print(f"each figure: the median of {rounds} alternating rounds")
print()

def table(ours, ort_c, ort):
    """Ours / onnxruntime C API / onnxruntime Python; ratios ours vs the C API."""
    print(f"| model | load ms ours / C / Py | 1 row p50 us ours / C / Py | 1024 rows/s ours / C / Py "
          f"| ours vs C: load, 1 row, batch | guest call us |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in ours:
        o, c, p = ours[name], ort_c[name], ort[name]
        print(f"| {name} | {o['load_ms']:.2f} / {c['load_ms']:.2f} / {p['load_ms']:.2f} "
              f"| {o['single_row_p50_us']:.2f} / {c['single_row_p50_us']:.2f} / {p['single_row_p50_us']:.2f} "
              f"| {o['batch_rows_per_s']:,.0f} / {c['batch_rows_per_s']:,.0f} / {p['batch_rows_per_s']:,.0f} "
              f"| {o['load_ms'] / c['load_ms']:.2f}x, {o['single_row_p50_us'] / c['single_row_p50_us']:.2f}x, "
              f"{o['batch_rows_per_s'] / c['batch_rows_per_s']:.2f}x "
              f"| {o['guest_call_us']:.2f} |")

table(ours, ort_c, ort)
print()
print("guest call overhead above the bare model run, both as the median of 5 means")
print("of 20,000 calls (target <= 5 us):")
for name in ours:
    o = ours[name]
    print(f"  {name}: {o['guest_call_us'] - o['single_row_mean_us']:+.2f} us"
          f" ({o['guest_call_us']:.2f} - {o['single_row_mean_us']:.2f})")
print()
print("scikit-learn pipelines (models/coverage):")
table(ours_sklearn, ort_c_sklearn, ort_sklearn)

# For bench/plot.py.
import pathlib
saved = pathlib.Path("target/bench")
saved.mkdir(parents=True, exist_ok=True)
(saved / "models.json").write_text(json.dumps({
    "ours": {**ours, **ours_sklearn},
    "onnxruntime C API": {**ort_c, **ort_c_sklearn},
    "onnxruntime Python": {**ort, **ort_sklearn},
}, indent=1))
PY
