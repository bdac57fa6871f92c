"""Write the ONNX models the host is tested and benchmarked on, and beside
each one the outputs onnxruntime computes on fixed inputs.

    python models/generate.py [--missing] [OUT_DIR]   (default: this folder)

With --missing, only models whose .onnx file is absent are written (how
scripts/setup.sh makes the large forest, which is not committed).

For every model NAME it writes:
  NAME.onnx             exported by skl2onnx (ai.onnx.ml opset 3, zipmap off)
  NAME.reference.json   {"inputs": {...}, "outputs": {...}} in the format of
                        `wasm-lambda-host infer` (input/output name -> nested
                        arrays); outputs come from onnxruntime, one thread.

Everything is seeded, so a rerun with the pinned versions in
requirements.txt writes the same files.
"""

import json
import pathlib
import sys

import numpy as np
import onnxruntime
import skl2onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.neural_network import MLPClassifier

# TreeEnsembleClassifier/Regressor as ai.onnx.ml opset 3 defines them (opset 5
# replaces them with a different operator).
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
REFERENCE_ROWS = 64


def seed_forest():
    """The model of seed 004 (deploying a scikit-learn model in a Lambda container)."""
    x, y = make_classification(
        n_samples=1000, n_features=4, n_informative=2, n_redundant=0,
        random_state=0, shuffle=False,
    )
    model = RandomForestClassifier(max_depth=2, random_state=0).fit(x, y)
    # The seed's request, then rows from the training distribution.
    rows = np.vstack([np.zeros((1, 4)), x[:: len(x) // (REFERENCE_ROWS - 1)]])
    return model, rows


def large_forest():
    x, y = make_classification(
        n_samples=4000, n_features=20, n_informative=10, n_classes=3,
        random_state=1,
    )
    model = RandomForestClassifier(n_estimators=200, max_depth=10, random_state=1).fit(x, y)
    return model, x[:REFERENCE_ROWS]


def forest_regressor():
    x, y = make_regression(n_samples=1000, n_features=8, noise=0.5, random_state=2)
    model = RandomForestRegressor(n_estimators=50, max_depth=6, random_state=2).fit(x, y)
    return model, x[:REFERENCE_ROWS]


def boosting_binary():
    x, y = make_classification(n_samples=1000, n_features=6, random_state=3)
    model = GradientBoostingClassifier(n_estimators=50, max_depth=3, random_state=3).fit(x, y)
    return model, x[:REFERENCE_ROWS]


def boosting_multiclass():
    x, y = make_classification(
        n_samples=1500, n_features=10, n_informative=6, n_classes=4, random_state=4,
    )
    model = GradientBoostingClassifier(n_estimators=30, max_depth=3, random_state=4).fit(x, y)
    return model, x[:REFERENCE_ROWS]


def boosting_regressor():
    x, y = make_regression(n_samples=1000, n_features=5, noise=1.0, random_state=5)
    model = GradientBoostingRegressor(n_estimators=60, max_depth=4, random_state=5).fit(x, y)
    return model, x[:REFERENCE_ROWS]


def mlp():
    x, y = make_classification(
        n_samples=600, n_features=8, n_informative=5, n_classes=3, random_state=6,
    )
    model = MLPClassifier(hidden_layer_sizes=(16, 8), max_iter=400, random_state=6).fit(x, y)
    return model, x[:REFERENCE_ROWS]


def mlp_wide():
    """An MLP whose middle layer (256 x 128) is too large for the host's fused
    small dense layers: tract's matrix multiply runs it, between two fused
    layers, and the model gets plans per batch size."""
    x, y = make_classification(
        n_samples=600, n_features=8, n_informative=5, n_classes=3, random_state=7,
    )
    model = MLPClassifier(hidden_layer_sizes=(256, 128), max_iter=1000, random_state=7).fit(x, y)
    return model, x[:REFERENCE_ROWS]


MODELS = {
    "seed_forest": seed_forest,
    "large_forest": large_forest,
    "forest_regressor": forest_regressor,
    "boosting_binary": boosting_binary,
    "boosting_multiclass": boosting_multiclass,
    "boosting_regressor": boosting_regressor,
    "mlp": mlp,
    "mlp_wide": mlp_wide,
}


def export(model, n_features):
    options = {id(model): {"zipmap": False}} if hasattr(model, "classes_") else None
    return skl2onnx.to_onnx(
        model,
        initial_types=[("input", FloatTensorType([None, n_features]))],
        target_opset=TARGET_OPSET,
        options=options,
    )


def reference_outputs(onnx_bytes, rows):
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(
        onnx_bytes, options, providers=["CPUExecutionProvider"]
    )
    names = [o.name for o in session.get_outputs()]
    values = session.run(names, {"input": rows})
    return {name: value.tolist() for name, value in zip(names, values)}


def main():
    args = sys.argv[1:]
    only_missing = "--missing" in args
    args = [a for a in args if a != "--missing"]
    out = pathlib.Path(args[0]) if args else pathlib.Path(__file__).parent
    out.mkdir(parents=True, exist_ok=True)
    for name, build in MODELS.items():
        if only_missing and (out / f"{name}.onnx").exists():
            continue
        model, rows = build()
        rows = rows.astype(np.float32)
        onnx_bytes = export(model, rows.shape[1]).SerializeToString()
        (out / f"{name}.onnx").write_bytes(onnx_bytes)
        reference = {
            "inputs": {"input": rows.tolist()},
            "outputs": reference_outputs(onnx_bytes, rows),
        }
        (out / f"{name}.reference.json").write_text(json.dumps(reference) + "\n")
        print(f"{name}: {len(onnx_bytes)} bytes, outputs {list(reference['outputs'])}")


if __name__ == "__main__":
    main()
