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
from skl2onnx.common.data_types import FloatTensorType, StringTensorType
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
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


def churn():
    """A churn classifier on string categories and numbers, as tabular
    models usually are: `plan` and `city` one-hot encoded, `tenure_months`
    and `monthly_spend` scaled, a logistic regression with string labels
    (`churns`, `stays`). Four inputs, one per column, as skl2onnx exports a
    ColumnTransformer; string inputs are `[N, 1]` string tensors."""
    rng = np.random.default_rng(8)
    n = 800
    plans = np.array(["basic", "plus", "pro"])[rng.integers(0, 3, n)]
    cities = np.array(["Berlin", "Lisbon", "Oslo", "Austin"])[rng.integers(0, 4, n)]
    tenure = rng.uniform(1, 60, n).astype(np.float32)
    spend = rng.uniform(5, 120, n).astype(np.float32)
    risk = (plans == "basic") * 1.2 + (cities == "Austin") * 0.6 - tenure / 30 + spend / 100
    labels = np.where(risk + rng.normal(0, 0.4, n) > 0.2, "churns", "stays")
    columns = {
        "plan": plans.reshape(-1, 1),
        "city": cities.reshape(-1, 1),
        "tenure_months": tenure.reshape(-1, 1),
        "monthly_spend": spend.reshape(-1, 1),
    }
    table = np.hstack([columns[name].astype(object) for name in columns])
    pipeline = Pipeline([
        ("columns", ColumnTransformer([
            ("categories", OneHotEncoder(handle_unknown="ignore"), [0, 1]),
            ("numbers", StandardScaler(), [2, 3]),
        ])),
        ("classifier", LogisticRegression(max_iter=500)),
    ]).fit(table, labels)
    onnx_model = skl2onnx.to_onnx(
        pipeline,
        initial_types=[
            ("plan", StringTensorType([None, 1])),
            ("city", StringTensorType([None, 1])),
            ("tenure_months", FloatTensorType([None, 1])),
            ("monthly_spend", FloatTensorType([None, 1])),
        ],
        target_opset=TARGET_OPSET,
        options={id(pipeline): {"zipmap": False}},
    )
    # A city the model never saw ("Tokyo") is encoded as all zeros.
    rows = slice(0, REFERENCE_ROWS - 1)
    inputs = {name: column[rows] for name, column in columns.items()}
    inputs["plan"] = np.vstack([inputs["plan"], [["pro"]]])
    inputs["city"] = np.vstack([inputs["city"], [["Tokyo"]]])
    inputs["tenure_months"] = np.vstack([inputs["tenure_months"], [[3.0]]]).astype(np.float32)
    inputs["monthly_spend"] = np.vstack([inputs["monthly_spend"], [[99.0]]]).astype(np.float32)
    return onnx_model, inputs


LEGACY_MODES = {b"BRANCH_LEQ": 0, b"BRANCH_LT": 1, b"BRANCH_GTE": 2, b"BRANCH_GT": 3,
                b"BRANCH_EQ": 4, b"BRANCH_NEQ": 5}


def as_tree_ensemble_v5(legacy):
    """A one-target TreeEnsembleRegressor (opset 3) rewritten as the opset-5
    TreeEnsemble newer exporters write: the same trees, branches and leaves
    in separate arrays."""
    from onnx import TensorProto, helper

    graph = legacy.graph
    node = next(n for n in graph.node if n.op_type == "TreeEnsembleRegressor")
    a = {attr.name: helper.get_attribute_value(attr) for attr in node.attribute}
    assert a["n_targets"] == 1 and a.get("post_transform", b"NONE") == b"NONE"
    weights = {(t, n): w for t, n, w in zip(a["target_treeids"], a["target_nodeids"], a["target_weights"])}
    keys = list(zip(a["nodes_treeids"], a["nodes_nodeids"]))
    branches = [k for k, mode in zip(keys, a["nodes_modes"]) if mode != b"LEAF"]
    leaves = [k for k, mode in zip(keys, a["nodes_modes"]) if mode == b"LEAF"]
    branch_index = {k: i for i, k in enumerate(branches)}
    leaf_index = {k: i for i, k in enumerate(leaves)}
    at = {k: i for i, k in enumerate(keys)}
    v5 = {name: [] for name in ("nodes_featureids", "nodes_modes", "nodes_splits", "nodes_truenodeids",
                                "nodes_trueleafs", "nodes_falsenodeids", "nodes_falseleafs")}
    for tree, node_id in branches:
        i = at[(tree, node_id)]
        v5["nodes_featureids"].append(a["nodes_featureids"][i])
        v5["nodes_modes"].append(LEGACY_MODES[a["nodes_modes"][i]])
        v5["nodes_splits"].append(a["nodes_values"][i])
        for side in ("true", "false"):
            child = (tree, a[f"nodes_{side}nodeids"][i])
            is_leaf = child in leaf_index
            v5[f"nodes_{side}nodeids"].append(leaf_index[child] if is_leaf else branch_index[child])
            v5[f"nodes_{side}leafs"].append(int(is_leaf))
    roots = [branch_index[(tree, 0)] for tree in sorted(set(a["nodes_treeids"]))]
    floats = lambda name, values: helper.make_tensor(name, TensorProto.FLOAT, (len(values),), values)
    v5_node = helper.make_node(
        "TreeEnsemble", list(node.input), list(node.output), domain="ai.onnx.ml", name="trees",
        n_targets=1, aggregate_function=0 if a.get("aggregate_function") == b"AVERAGE" else 1,
        post_transform=0, tree_roots=roots,
        nodes_modes=helper.make_tensor("nodes_modes", TensorProto.UINT8, (len(branches),), v5.pop("nodes_modes")),
        nodes_splits=floats("nodes_splits", v5.pop("nodes_splits")),
        leaf_targetids=[0] * len(leaves), leaf_weights=floats("leaf_weights", [weights[k] for k in leaves]),
        **v5,
    )
    nodes = [v5_node if n is node else n for n in graph.node]
    model = helper.make_model(
        helper.make_graph(nodes, graph.name, list(graph.input), list(graph.output), list(graph.initializer)),
        opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid("ai.onnx.ml", 5)],
    )
    model.ir_version = 10
    return model


def forest_regressor_v5():
    """forest_regressor's trees as opset 5's TreeEnsemble."""
    model, rows = forest_regressor()
    rows = rows.astype(np.float32)
    return as_tree_ensemble_v5(export(model, rows.shape[1])), {"input": rows}


# Models with several named inputs: the builder exports the model itself
# and gives its reference inputs by name.
NAMED_INPUT_MODELS = {
    "churn": churn,
    "forest_regressor_v5": forest_regressor_v5,
}


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
    """onnxruntime's outputs for `rows` (an array for the model's `input`,
    or a dict of input name to array)."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(
        onnx_bytes, options, providers=["CPUExecutionProvider"]
    )
    names = [o.name for o in session.get_outputs()]
    feeds = rows if isinstance(rows, dict) else {"input": rows}
    values = session.run(names, feeds)
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
    for name, build in NAMED_INPUT_MODELS.items():
        if only_missing and (out / f"{name}.onnx").exists():
            continue
        onnx_model, inputs = build()
        onnx_bytes = onnx_model.SerializeToString()
        (out / f"{name}.onnx").write_bytes(onnx_bytes)
        reference = {
            "inputs": {k: v.tolist() for k, v in inputs.items()},
            "outputs": reference_outputs(onnx_bytes, inputs),
        }
        (out / f"{name}.reference.json").write_text(json.dumps(reference) + "\n")
        print(f"{name}: {len(onnx_bytes)} bytes, outputs {list(reference['outputs'])}")


if __name__ == "__main__":
    main()
