"""Single-operator ONNX models for every ai.onnx.ml operator the host runs,
each with attribute variants skl2onnx may not write (every post transform,
binary and multi-class layouts, NaN, unknown categories, padding), and
onnxruntime's outputs on seeded random inputs.

    python models/operators.py   (writes models/operators/)

For every case NAME it writes NAME.onnx and NAME.reference.json (the format
of models/coverage: {"inputs": ..., "outputs": ...}, NaN as null). It also
writes two models the host must handle specially:

  zipmap_forest.onnx       seed 004's forest exported with skl2onnx's default
                           zipmap (outputs a list of maps); the host serves
                           the probabilities as a tensor
  unsupported_op.onnx      a graph using ai.onnx.ml DictVectorizer, which the
                           host refuses by name

The test command checks these files against the host (tests/ml_operators.rs).
"""

import json
import pathlib
import sys

import numpy as np
import onnx
import onnxruntime
import skl2onnx
from onnx import TensorProto, helper
from skl2onnx.common.data_types import FloatTensorType
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier

OUT = pathlib.Path(__file__).resolve().parent / "operators"
ROWS = 32
ML = "ai.onnx.ml"
OPSETS = [helper.make_opsetid("", 17), helper.make_opsetid(ML, 3)]
POST_TRANSFORMS = ["NONE", "LOGISTIC", "SOFTMAX", "SOFTMAX_ZERO", "PROBIT"]
rng = np.random.default_rng(7)


def floats(rows, columns, scale=1.0):
    return (rng.standard_normal((rows, columns)) * scale).astype(np.float32)


def graph_model(nodes, inputs, outputs, name):
    graph = helper.make_graph(nodes, name, inputs, outputs)
    model = helper.make_model(graph, opset_imports=OPSETS, producer_name="wasm-lambda operators.py")
    model.ir_version = 8
    return model


def tensor(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


FLOAT_ATTRIBUTES = {
    "coefficients", "intercepts", "offset", "scale", "imputed_value_floats", "values_floats",
    "keys_floats", "rho", "support_vectors", "kernel_params",
}


def as_floats(values):
    return [float(v) for v in values]


def one_node(op, attributes, feeds, outputs, inputs=None):
    """A model of one node `op` reading `feeds` (name -> array)."""
    elem = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.int64): TensorProto.INT64}
    inputs = inputs or [
        tensor(name, elem[value.dtype], [None] + list(value.shape[1:])) for name, value in feeds.items()
    ]
    attributes = {k: as_floats(v) if k in FLOAT_ATTRIBUTES else v for k, v in attributes.items()}
    node = helper.make_node(op, list(feeds), [name for name, _ in outputs], domain=ML, **attributes)
    return graph_model([node], inputs, [tensor(n, t, None) for n, t in outputs], op)


def classifier_outputs(label_type=TensorProto.INT64):
    return [("label", label_type), ("scores", TensorProto.FLOAT)]


def cases():
    """name -> (model, feeds)."""
    out = {}
    x4 = floats(ROWS, 4)
    # LinearClassifier: binary (one coefficient row), binary with two rows,
    # three classes; every post transform.
    for transform in POST_TRANSFORMS:
        scale = 0.2 if transform == "PROBIT" else 1.0  # PROBIT wants scores in (0, 1)
        layouts = {
            "binary": dict(coefficients=[0.5, -1.0, 0.25, 2.0], intercepts=[0.1], classlabels_ints=[0, 1]),
            "binary_two_rows": dict(
                coefficients=[-0.5, 1.0, -0.25, -2.0, 0.5, -1.0, 0.25, 2.0],
                intercepts=[-0.1, 0.1], classlabels_ints=[3, 7]),
            "three_classes": dict(
                coefficients=list(rng.standard_normal(12).round(3)), intercepts=[0.1, -0.2, 0.3],
                classlabels_ints=[0, 1, 2]),
        }
        for layout, attributes in layouts.items():
            if (layout, transform) == ("binary", "PROBIT"):
                continue  # onnxruntime leaves the second score column unwritten
            feeds = {"input": (x4 * scale).astype(np.float32)}
            if transform == "PROBIT":
                attributes = dict(attributes, coefficients=[c * 0.1 for c in attributes["coefficients"]],
                                  intercepts=[0.5] * len(attributes["intercepts"]))
            model = one_node("LinearClassifier", dict(attributes, post_transform=transform), feeds,
                             classifier_outputs())
            out[f"linear_classifier_{layout}_{transform.lower()}"] = (model, feeds)
    for targets in (1, 2):
        feeds = {"input": x4}
        model = one_node("LinearRegressor", dict(
            coefficients=list(rng.standard_normal(4 * targets).round(3)),
            intercepts=list(rng.standard_normal(targets).round(3)), targets=targets),
            feeds, [("variable", TensorProto.FLOAT)])
        out[f"linear_regressor_{targets}_targets"] = (model, feeds)
    zero_row = x4.copy()
    zero_row[0] = 0
    for norm in ("MAX", "L1", "L2"):
        feeds = {"input": zero_row}
        out[f"normalizer_{norm.lower()}"] = (
            one_node("Normalizer", dict(norm=norm), feeds, [("normalized", TensorProto.FLOAT)]), feeds)
    # Scaler: per column, one value for all, int64 input.
    feeds = {"input": x4}
    out["scaler_per_column"] = (one_node("Scaler", dict(offset=[1, -2, 0.5, 0], scale=[2, 0.5, -1, 3]),
                                         feeds, [("scaled", TensorProto.FLOAT)]), feeds)
    out["scaler_single_value"] = (one_node("Scaler", dict(offset=[0.5], scale=[4.0]), feeds,
                                           [("scaled", TensorProto.FLOAT)]), feeds)
    ints = rng.integers(-5, 6, (ROWS, 3)).astype(np.int64)
    feeds = {"input": ints}
    out["scaler_int64_input"] = (one_node("Scaler", dict(offset=[1, 2, 3], scale=[0.5, 0.25, 2]), feeds,
                                          [("scaled", TensorProto.FLOAT)]), feeds)
    # Imputer: NaN replaced per column; a sentinel value; int64.
    missing = x4.copy()
    missing[rng.random(missing.shape) < 0.2] = np.nan
    feeds = {"input": missing}
    out["imputer_nan_per_column"] = (one_node("Imputer", dict(
        imputed_value_floats=[1, 2, 3, 4], replaced_value_float=float("nan")), feeds,
        [("imputed", TensorProto.FLOAT)]), feeds)
    sentinel = np.where(rng.random(x4.shape) < 0.2, -1.0, x4).astype(np.float32)
    feeds = {"input": sentinel}
    out["imputer_sentinel_single_value"] = (one_node("Imputer", dict(
        imputed_value_floats=[9.5], replaced_value_float=-1.0), feeds,
        [("imputed", TensorProto.FLOAT)]), feeds)
    feeds = {"input": ints}
    out["imputer_int64"] = (one_node("Imputer", dict(
        imputed_value_int64s=[10, 20, 30], replaced_value_int64=0), feeds,
        [("imputed", TensorProto.INT64)]), feeds)
    # Binarizer (onnxruntime refuses NaN, and so do we).
    feeds = {"input": x4}
    out["binarizer"] = (one_node("Binarizer", dict(threshold=0.25), feeds,
                                 [("binary", TensorProto.FLOAT)]), feeds)
    # OneHotEncoder: int64 with unknown values (zeros=1), float input.
    categories = rng.integers(0, 6, (ROWS, 2)).astype(np.int64)
    feeds = {"input": categories}
    out["one_hot_encoder_int64_unknown_as_zeros"] = (one_node("OneHotEncoder", dict(
        cats_int64s=[0, 2, 3, 5], zeros=1), feeds, [("encoded", TensorProto.FLOAT)]), feeds)
    feeds = {"input": categories.astype(np.float32) + 0.25}
    out["one_hot_encoder_float_input"] = (one_node("OneHotEncoder", dict(
        cats_int64s=[0, 1, 2, 3, 4, 5], zeros=1), feeds, [("encoded", TensorProto.FLOAT)]), feeds)
    # LabelEncoder (opset 2 attributes): int->int, int->float, float->int; defaults.
    labels = rng.integers(0, 5, (ROWS,)).astype(np.int64)
    feeds = {"input": labels}
    out["label_encoder_int_to_int"] = (one_node("LabelEncoder", dict(
        keys_int64s=[0, 1, 2, 3], values_int64s=[10, 11, 12, 13], default_int64=-7), feeds,
        [("encoded", TensorProto.INT64)]), feeds)
    out["label_encoder_int_to_float"] = (one_node("LabelEncoder", dict(
        keys_int64s=[1, 2, 4], values_floats=[0.5, 1.5, 2.5], default_float=-1.0), feeds,
        [("encoded", TensorProto.FLOAT)]), feeds)
    feeds = {"input": labels.astype(np.float32)}
    out["label_encoder_float_to_int"] = (one_node("LabelEncoder", dict(
        keys_floats=[0.0, 1.0, 3.0], values_int64s=[5, 6, 7]), feeds,
        [("encoded", TensorProto.INT64)]), feeds)
    # FeatureVectorizer: two inputs, one zero-padded and one cut.
    feeds = {"a": floats(ROWS, 2), "b": floats(ROWS, 3)}
    out["feature_vectorizer_pad_and_cut"] = (one_node("FeatureVectorizer", dict(inputdimensions=[3, 2]),
                                                      feeds, [("features", TensorProto.FLOAT)]), feeds)
    # ArrayFeatureExtractor with a scalar and a vector of indices (constants).
    for name, indices in (("scalar_index", np.array(2, dtype=np.int64)),
                          ("vector_index", np.array([3, 0, 3], dtype=np.int64))):
        node = helper.make_node("ArrayFeatureExtractor", ["input", "indices"], ["picked"], domain=ML)
        graph = helper.make_graph([node], name, [tensor("input", TensorProto.FLOAT, [None, 4])],
                                  [tensor("picked", TensorProto.FLOAT, None)],
                                  [onnx.numpy_helper.from_array(indices, "indices")])
        model = helper.make_model(graph, opset_imports=OPSETS)
        model.ir_version = 8
        out[f"array_feature_extractor_{name}"] = (model, {"input": x4})
    # SVMClassifier in liblinear mode (no support vectors), and SVC with
    # post transforms on the pairwise scores.
    feeds = {"input": x4}
    for classes in (2, 3):
        model = one_node("SVMClassifier", dict(
            coefficients=list(rng.standard_normal(4 * classes).round(3)), rho=[0.2],
            classlabels_ints=list(range(classes)), kernel_type="LINEAR", kernel_params=[0, 0, 0]),
            feeds, classifier_outputs())
        out[f"svm_classifier_liblinear_{classes}_classes"] = (model, feeds)
    support = rng.standard_normal((6, 4)).round(3)
    for classes, transform in ((2, "LOGISTIC"), (2, "NONE"), (3, "SOFTMAX"), (3, "LOGISTIC")):
        per_class = [2, 4] if classes == 2 else [2, 2, 2]
        model = one_node("SVMClassifier", dict(
            coefficients=list(rng.standard_normal((classes - 1) * 6).round(3)),
            rho=list(rng.standard_normal(classes * (classes - 1) // 2).round(3)),
            support_vectors=list(support.ravel()), vectors_per_class=per_class,
            kernel_type="RBF", kernel_params=[0.3, 0.0, 3.0],
            classlabels_ints=list(range(10, 10 + classes)), post_transform=transform),
            feeds, classifier_outputs())
        out[f"svm_classifier_rbf_{classes}_classes_{transform.lower()}"] = (model, feeds)
    # SVMRegressor: liblinear mode, and one-class with a poly kernel.
    out["svm_regressor_liblinear"] = (one_node("SVMRegressor", dict(
        coefficients=[0.5, -1, 2, 0.1], rho=[0.3], kernel_type="LINEAR", kernel_params=[0, 0, 0]), feeds,
        [("variable", TensorProto.FLOAT)]), feeds)
    out["svm_regressor_one_class_poly"] = (one_node("SVMRegressor", dict(
        coefficients=list(rng.standard_normal(6).round(3)), rho=[-0.1], n_supports=6, one_class=1,
        support_vectors=list(support.ravel()), kernel_type="POLY", kernel_params=[0.5, 1.0, 2.0]),
        feeds, [("variable", TensorProto.FLOAT)]), feeds)
    out.update(tree_ensemble_cases())
    out.update(label_encoder_v4_cases())
    out.update(tfidf_vectorizer_cases())
    out.update(text_cases())
    return out


def text_cases():
    """StringNormalizer (stopwords either case, lower/upper, [C] and [1, C],
    everything dropped) and onnxruntime's Tokenizer (token expression,
    separators, characters, marks, minimum length, padding)."""
    out = {}

    def model(op, attributes, x, name, domain="", opset=("", 21)):
        node = helper.make_node(op, ["X"], ["Y"], name=name, domain=domain, **attributes)
        # StringNormalizer's two-axis input must say its first axis is 1.
        shape = [1, None] if (op, x.ndim) == ("StringNormalizer", 2) else [None] * x.ndim
        graph = helper.make_graph([node], name, [tensor("X", TensorProto.STRING, shape)],
                                  [tensor("Y", TensorProto.STRING, None)])
        opsets = [helper.make_opsetid("", 21)] + ([helper.make_opsetid(*opset)] if opset[0] else [])
        built = helper.make_model(graph, opset_imports=opsets)
        built.ir_version = 10
        return built, {"X": x}

    words = np.array(["The", "quick", "Brown", "fox", "THE", "lazy", "Dog", "and", "ÉCOLE", "straße"]).astype(object)
    stop = ["the", "and", "dog"]
    for sensitive in (0, 1):
        for action in ("NONE", "LOWER", "UPPER"):
            name = f"string_normalizer_{'sensitive' if sensitive else 'insensitive'}_{action.lower()}"
            out[name] = model("StringNormalizer", dict(case_change_action=action, is_case_sensitive=sensitive,
                                                       stopwords=stop), words, name)
    out["string_normalizer_two_dims_no_stopwords"] = model(
        "StringNormalizer", dict(case_change_action="LOWER"), words.reshape(1, -1), "two_dims")
    out["string_normalizer_everything_dropped"] = model(
        "StringNormalizer", dict(case_change_action="UPPER", stopwords=["the", "a"]),
        np.array(["The", "A", "the"]).astype(object), "everything_dropped")

    texts = np.array(["free money, now!", "hello friend how are you", "win a prize", "", "a b c",
                      "lunch with the team at noon"]).astype(object)
    ms = ("com.microsoft", 1)
    tokenizer = lambda attributes, x, name: model("Tokenizer", attributes, x, name, "com.microsoft", ms)
    out["tokenizer_token_expression"] = tokenizer(dict(
        tokenexp="[a-zA-Z0-9_]+", mark=0, mincharnum=1, pad_value="#"), texts, "token_expression")
    out["tokenizer_token_expression_min_chars_marked"] = tokenizer(dict(
        tokenexp="[a-z]+", mark=1, mincharnum=3, pad_value="<pad>"), texts, "min_chars_marked")
    out["tokenizer_separators"] = tokenizer(dict(
        separators=[" ", ",", "!"], mark=0, mincharnum=1, pad_value="#"), texts.reshape(2, 3), "separators")
    out["tokenizer_characters"] = tokenizer(dict(
        separators=[""], mark=1, mincharnum=1, pad_value="_"), texts[[0, 2, 4]], "characters")
    return out


def tfidf_vectorizer_cases():
    """TfIdfVectorizer (default domain, opset 9): string and int64 pools,
    unigrams and bigrams with skips, every mode with and without weights,
    one row and a batch."""
    out = {}
    words = ["spam", "free", "money", "now", "hello", "friend", "lunch", "team", "win", "prize"]

    def model(attributes, x, name):
        elem = TensorProto.STRING if x.dtype == object else TensorProto.INT64
        node = helper.make_node("TfIdfVectorizer", ["X"], ["Y"], name=name, **attributes)
        shape = [None] * x.ndim
        graph = helper.make_graph([node], name, [tensor("X", elem, shape)], [tensor("Y", TensorProto.FLOAT, None)])
        built = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
        built.ir_version = 10
        return built, {"X": x}

    texts = np.array([[words[i] for i in row] for row in rng.integers(0, len(words), (ROWS, 9))]).astype(object)
    # Unigrams then bigrams, the output columns in another order than the pool.
    unigrams = ["free", "money", "now", "win", "prize", "lunch"]
    bigrams = ["free", "money", "win", "prize", "money", "now", "spam", "free"]
    n_grams = len(unigrams) + len(bigrams) // 2
    order = [int(i) for i in rng.permutation(n_grams)]
    pooled = dict(pool_strings=unigrams + bigrams, ngram_counts=[0, len(unigrams)], ngram_indexes=order)
    weights = [round(float(w), 3) for w in rng.uniform(0.5, 3.0, n_grams)]
    for mode, skip, weighted in (("TF", 0, False), ("TF", 2, False), ("IDF", 1, True), ("IDF", 0, False),
                                 ("TFIDF", 0, True), ("TFIDF", 3, True)):
        attributes = dict(pooled, mode=mode, min_gram_length=1, max_gram_length=2, max_skip_count=skip)
        if weighted:
            attributes["weights"] = weights
        name = f"tfidf_vectorizer_strings_{mode.lower()}_skip{skip}{'_weighted' if weighted else ''}"
        out[name] = model(attributes, texts, name)
    # Bigrams only, one unbatched row.
    attributes = dict(pooled, mode="TF", min_gram_length=2, max_gram_length=2, max_skip_count=1)
    out["tfidf_vectorizer_strings_bigrams_one_row"] = model(attributes, texts[0], "bigrams_one_row")
    # int64 tokens (ids from a tokenizer upstream): unigrams to trigrams.
    ids = rng.integers(0, 8, (ROWS, 12)).astype(np.int64)
    attributes = dict(pool_int64s=[1, 2, 3, 4, 2, 3, 5, 6, 1, 2, 3], ngram_counts=[0, 4, 8],
                      ngram_indexes=[0, 1, 2, 3, 4, 5, 6], mode="TFIDF", weights=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
                      min_gram_length=1, max_gram_length=3, max_skip_count=2)
    out["tfidf_vectorizer_int64_trigrams"] = model(attributes, ids, "int64_trigrams")
    return out


def label_encoder_v4_cases():
    """LabelEncoder with opset 4's tensor attributes: ONNX's own node tests'
    two mappings (string keys to int16 values), and int64 keys to double
    values, double keys to strings, each with unknown inputs (the type pairs
    onnxruntime runs)."""
    out = {}
    elem_of = {np.dtype(np.int64): TensorProto.INT64, np.dtype(np.float64): TensorProto.DOUBLE,
               np.dtype(object): TensorProto.STRING}

    def model(attributes, x, output_elem, name):
        node = helper.make_node("LabelEncoder", ["X"], ["Y"], domain=ML, name=name, **attributes)
        graph = helper.make_graph([node], name, [tensor("X", elem_of[x.dtype], [None])],
                                  [tensor("Y", output_elem, None)])
        built = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid(ML, 4)])
        built.ir_version = 10
        return built, {"X": x}

    int16 = lambda key, values: helper.make_tensor(key, TensorProto.INT16, (len(values),), values)
    letters = np.array(["a", "b", "d", "c", "g"]).astype(object)
    out["label_encoder_tensor_mapping"] = model(dict(
        keys_tensor=helper.make_tensor("keys_tensor", TensorProto.STRING, (3,), ["a", "b", "c"]),
        values_tensor=int16("values_tensor", [0, 1, 2]), default_tensor=int16("default_tensor", [42])),
        letters, TensorProto.INT16, "tensor_mapping")
    out["label_encoder_tensor_value_only_mapping"] = model(dict(
        keys_strings=["a", "b", "c"], values_tensor=int16("values_tensor", [0, 1, 2]),
        default_tensor=int16("default_tensor", [42])), letters, TensorProto.INT16, "value_only_mapping")
    codes = rng.integers(0, 6, (ROWS,)).astype(np.int64)
    out["label_encoder_int64_to_double"] = model(dict(
        keys_tensor=helper.make_tensor("keys_tensor", TensorProto.INT64, (4,), [0, 1, 3, 5]),
        values_tensor=helper.make_tensor("values_tensor", TensorProto.DOUBLE, (4,), [0.5, 1.25, -3.0, 1e-9]),
        default_tensor=helper.make_tensor("default_tensor", TensorProto.DOUBLE, (1,), [7.5])),
        codes, TensorProto.DOUBLE, "int64_to_double")
    scores = (rng.integers(0, 4, (ROWS,)) / 4).astype(np.float64)
    out["label_encoder_double_to_string"] = model(dict(
        keys_tensor=helper.make_tensor("keys_tensor", TensorProto.DOUBLE, (3,), [0.0, 0.25, 0.75]),
        values_tensor=helper.make_tensor("values_tensor", TensorProto.STRING, (3,), ["low", "mid", "high"])),
        scores, TensorProto.STRING, "double_to_string")
    return out


TREE_MODES = {"LEQ": 0, "LT": 1, "GTE": 2, "GT": 3, "EQ": 4, "NEQ": 5, "MEMBER": 6}
AGGREGATES = {"AVERAGE": 0, "SUM": 1, "MIN": 2, "MAX": 3}


def tree_ensemble_model(attributes, x, name):
    """A TreeEnsemble (ai.onnx.ml opset 5) model reading X (float or double)."""
    elem = TensorProto.DOUBLE if x.dtype == np.float64 else TensorProto.FLOAT
    as_tensor = lambda key, values, kind: helper.make_tensor(key, kind, (len(values),), values)
    attributes = dict(attributes)
    for key in ("nodes_splits", "leaf_weights", "membership_values"):
        if key in attributes:
            attributes[key] = as_tensor(key, list(attributes[key]), elem)
    attributes["nodes_modes"] = as_tensor("nodes_modes", list(attributes["nodes_modes"]), TensorProto.UINT8)
    node = helper.make_node("TreeEnsemble", ["X"], ["Y"], domain=ML, name=name, **attributes)
    graph = helper.make_graph([node], name, [tensor("X", elem, [None, x.shape[1]])], [tensor("Y", elem, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid(ML, 5)])
    model.ir_version = 10
    return model


def random_trees(n_trees, depth, n_features, n_targets, modes, missing=True):
    """Full binary trees of `depth` with random modes (MEMBER sets of small
    integers), splits on half steps, leaves and targets."""
    nodes = {k: [] for k in ("nodes_featureids", "nodes_modes", "nodes_splits", "nodes_truenodeids",
                             "nodes_trueleafs", "nodes_falsenodeids", "nodes_falseleafs",
                             "nodes_missing_value_tracks_true")}
    leaves = {"leaf_targetids": [], "leaf_weights": []}
    members, roots = [], []

    def grow(level):
        if level == depth:
            leaves["leaf_targetids"].append(int(rng.integers(0, n_targets)))
            leaves["leaf_weights"].append(round(float(rng.standard_normal()), 3))
            return len(leaves["leaf_weights"]) - 1, 1
        index = len(nodes["nodes_modes"])
        for values in nodes.values():
            values.append(0)
        mode = TREE_MODES[modes[int(rng.integers(0, len(modes)))]]
        nodes["nodes_modes"][index] = mode
        nodes["nodes_featureids"][index] = int(rng.integers(0, n_features))
        nodes["nodes_splits"][index] = float(rng.integers(-4, 5) / 2)
        nodes["nodes_missing_value_tracks_true"][index] = int(missing and rng.random() < 0.5)
        if mode == TREE_MODES["MEMBER"]:
            # onnxruntime runs sets of small non-negative integers (as
            # exporters write categories); other values it refuses.
            members.extend(sorted(set(rng.integers(0, 5, int(rng.integers(1, 4))).astype(float).tolist())))
            members.append(float("nan"))
        true_id, true_leaf = grow(level + 1)
        false_id, false_leaf = grow(level + 1)
        nodes["nodes_truenodeids"][index], nodes["nodes_trueleafs"][index] = true_id, true_leaf
        nodes["nodes_falsenodeids"][index], nodes["nodes_falseleafs"][index] = false_id, false_leaf
        return index, 0

    for _ in range(n_trees):
        roots.append(grow(0)[0])
    attributes = dict(nodes, **leaves, tree_roots=roots, n_targets=n_targets)
    if members:
        attributes["membership_values"] = members
    return attributes


def tree_ensemble_cases():
    """TreeEnsemble (opset 5): ONNX's own node-test trees, random trees with
    every node mode and NaN, every aggregate and post transform, a tree that
    is a leaf, a double model."""
    out = {}
    # ONNX's backend node tests' two trees (onnx/backend/test/case/node/ai_onnx_ml).
    single = dict(n_targets=2, aggregate_function=1, post_transform=0, tree_roots=[0],
                  nodes_modes=[0, 0, 0], nodes_featureids=[0, 0, 0], nodes_splits=[3.14, 1.2, 4.2],
                  nodes_truenodeids=[1, 0, 1], nodes_trueleafs=[0, 1, 1], nodes_falsenodeids=[2, 2, 3],
                  nodes_falseleafs=[0, 1, 1], leaf_targetids=[0, 1, 0, 1],
                  leaf_weights=[5.23, 12.12, -12.23, 7.21])
    x = np.array([1.2, 3.4, -0.12, 1.66, 4.14, 1.77], np.float64).reshape(3, 2)
    out["tree_ensemble_single_tree_double"] = (tree_ensemble_model(single, x, "single_tree"), {"X": x})
    membership = dict(n_targets=4, aggregate_function=1, post_transform=0, tree_roots=[0],
                      membership_values=[1.2, 3.7, 8, 9, float("nan"), 12, 7, float("nan")],
                      nodes_modes=[0, 6, 6], nodes_featureids=[0, 0, 0],
                      nodes_splits=[11, 232344.0, float("nan")], nodes_trueleafs=[0, 1, 1],
                      nodes_truenodeids=[1, 0, 1], nodes_falseleafs=[1, 0, 1], nodes_falsenodeids=[2, 2, 3],
                      leaf_targetids=[0, 1, 2, 3], leaf_weights=[1, 10, 1000, 100])
    x = np.array([1.2, 3.4, -0.12, np.nan, 12, 7], np.float32).reshape(-1, 1)
    out["tree_ensemble_set_membership"] = (tree_ensemble_model(membership, x, "set_membership"), {"X": x})
    # Inputs on whole and half steps (so equality and membership hit), a
    # tenth NaN.
    x = (rng.integers(-2, 11, (ROWS, 3)) / 2).astype(np.float32)
    x[rng.random(x.shape) < 0.1] = np.nan
    every_mode = list(TREE_MODES)
    for aggregate, code in AGGREGATES.items():
        attributes = random_trees(4, 3, 3, 3, every_mode)
        attributes.update(aggregate_function=code, post_transform=0)
        out[f"tree_ensemble_{aggregate.lower()}"] = (
            tree_ensemble_model(attributes, x, f"trees_{aggregate.lower()}"), {"X": x})
    # onnxruntime (1.31) reads post_transform 1 as LOGISTIC and 2 as SOFTMAX,
    # the other way round from the ONNX spec (1 SOFTMAX, 2 LOGISTIC), which
    # the host follows: the reference is onnxruntime's arithmetic for the
    # transform the spec names, asked for by onnxruntime's code.
    onnxruntime_code = {1: 2, 2: 1, 3: 3}
    for transform, code in (("softmax", 1), ("logistic", 2), ("softmax_zero", 3)):
        attributes = random_trees(3, 3, 3, 3, every_mode)
        attributes.update(aggregate_function=1, post_transform=code)
        model = tree_ensemble_model(attributes, x, f"trees_{transform}")
        attributes.update(post_transform=onnxruntime_code[code])
        reference_model = tree_ensemble_model(attributes, x, f"trees_{transform}")
        out[f"tree_ensemble_{transform}"] = (model, {"X": x}, reference_model)
    # One target with PROBIT (weights scaled into (0, 1)), and a tree that is a leaf.
    attributes = random_trees(2, 2, 3, 1, ["LEQ", "MEMBER"])
    attributes["leaf_weights"] = [abs(w) / 10 for w in attributes["leaf_weights"]]
    attributes.update(aggregate_function=0, post_transform=4)
    out["tree_ensemble_one_target_probit"] = (tree_ensemble_model(attributes, x, "probit"), {"X": x})
    leaf_tree = dict(n_targets=2, tree_roots=[0, 1], nodes_modes=[0, 0], nodes_featureids=[0, 0],
                     nodes_splits=[0.0, 0.0], nodes_truenodeids=[0, 1], nodes_trueleafs=[1, 1],
                     nodes_falsenodeids=[0, 2], nodes_falseleafs=[1, 1], leaf_targetids=[0, 1, 0],
                     leaf_weights=[0.5, 2.0, -1.0], aggregate_function=1, post_transform=0)
    out["tree_ensemble_leaf_tree"] = (tree_ensemble_model(leaf_tree, x, "leaf_tree"), {"X": x})
    return out


def reference(model_bytes, feeds):
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, (v.tolist() for v in session.run(names, feeds))))


def nan_as_null(nested):
    if isinstance(nested, list):
        return [nan_as_null(item) for item in nested]
    return None if isinstance(nested, float) and np.isnan(nested) else nested


def write(name, model_bytes, feeds, outputs):
    (OUT / f"{name}.onnx").write_bytes(model_bytes)
    document = {"inputs": {k: nan_as_null(v.tolist()) for k, v in feeds.items()},
                "outputs": nan_as_null(outputs)}
    (OUT / f"{name}.reference.json").write_text(json.dumps(document) + "\n")


def zipmap_forest():
    """Seed 004's forest with skl2onnx's defaults (zipmap on)."""
    x, y = make_classification(n_samples=1000, n_features=4, n_informative=2, n_redundant=0,
                               random_state=0, shuffle=False)
    model = RandomForestClassifier(max_depth=2, random_state=0).fit(x, y)
    onnx_model = skl2onnx.to_onnx(model, initial_types=[("input", FloatTensorType([None, 4]))],
                                  target_opset={"": 17, ML: 3})
    rows = np.vstack([np.zeros((1, 4)), x[::100]]).astype(np.float32)
    session = onnxruntime.InferenceSession(onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])
    label, maps = session.run(None, {"input": rows})
    # The maps, in label order, are what the host answers as a tensor.
    classes = sorted(maps[0])
    probabilities = [[m[c] for c in classes] for m in maps]
    write("zipmap_forest", onnx_model.SerializeToString(), {"input": rows},
          {"output_label": label.tolist(), "output_probability": probabilities})


def unsupported_op():
    node = helper.make_node("DictVectorizer", ["input"], ["output"], domain=ML, name="a_dict_vectorizer",
                            int64_vocabulary=[1, 2])
    model = graph_model([node], [tensor("input", TensorProto.FLOAT, [None, 4])],
                        [tensor("output", TensorProto.FLOAT, None)], "unsupported")
    (OUT / "unsupported_op.onnx").write_bytes(model.SerializeToString())


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for stale in OUT.glob("*"):
        stale.unlink()
    for name, (model, feeds, *reference_model) in cases().items():
        model_bytes = model.SerializeToString()
        # A case may name another model for onnxruntime to compute its reference.
        asked = reference_model[0].SerializeToString() if reference_model else model_bytes
        write(name, model_bytes, feeds, reference(asked, feeds))
        print(name, file=sys.stderr)
    zipmap_forest()
    unsupported_op()


if __name__ == "__main__":
    main()
