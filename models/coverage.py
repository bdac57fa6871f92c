"""The scikit-learn coverage matrix: which common estimators and pipelines,
exported by skl2onnx, the host runs, and whether it answers what onnxruntime
answers.

    python models/coverage.py [--host PATH] [--only NAME,...] [--no-readme]

For every case below it trains on seeded data, exports with skl2onnx (opsets
17 / ai.onnx.ml 3, zipmap off), runs the same rows through onnxruntime (one
thread) and through `wasm-lambda-host infer`, and compares every output.
Then it writes, in models/coverage/:

  NAME.onnx, NAME.reference.json   for every case the host matches (small:
                                   16 rows); the test command checks these
                                   against the host, regenerating nothing
  matrix.json                      one entry per case, the coverage table's data

and replaces the table between the coverage markers in docs/models.md. Single-row
latency: ours is `infer --repeat` (in-process, median), onnxruntime's is its
Python binding's `run` on the same row (median); the benchmark compares with
onnxruntime's C API.

Versions are pinned in models/requirements.txt; everything is seeded.
"""

import argparse
import contextlib
import json
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import onnx.helper
import onnxruntime
import skl2onnx
import sklearn
from skl2onnx.common.data_types import FloatTensorType, StringTensorType
from sklearn import (
    cluster,
    compose,
    decomposition,
    ensemble,
    impute,
    linear_model,
    naive_bayes,
    neighbors,
    neural_network,
    pipeline,
    preprocessing,
    svm,
    tree,
)
from sklearn.datasets import make_classification, make_regression
from sklearn.feature_extraction import text

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "models" / "coverage"
TABLE_PAGE = ROOT / "docs" / "models.md"
START, END = "<!-- coverage:start -->", "<!-- coverage:end -->"
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
ROWS = 16
# Outputs match when |ours - onnxruntime| <= ATOL + RTOL * |onnxruntime|;
# labels must be equal.
RTOL, ATOL = 1e-5, 1e-5
LATENCY_RUNS = 2000


def classification(n_classes=2, n_features=6, n=300, seed=0):
    x, y = make_classification(
        n_samples=n, n_features=n_features, n_informative=min(4, n_features),
        n_redundant=0, n_classes=n_classes, random_state=seed,
    )
    return x.astype(np.float32), y


def regression(n_features=6, n=300, seed=0):
    x, y = make_regression(n_samples=n, n_features=n_features, noise=0.5, random_state=seed)
    return x.astype(np.float32), y


def with_missing(x, seed=0, columns=slice(None)):
    """About 10% of the cells of `columns` NaN (what an imputer is for)."""
    x = x.copy()
    part = x[:, columns]
    part[np.random.default_rng(seed).random(part.shape) < 0.1] = np.nan
    x[:, columns] = part
    return x


def with_categories(x, columns=(0, 1), levels=4):
    """Columns turned into small integer categories (held as floats)."""
    x = x.copy()
    for c in columns:
        x[:, c] = np.clip(np.floor(np.abs(x[:, c]) * 2), 0, levels - 1)
    return x


def positive(x):
    return np.abs(x)


def p(*steps):
    return pipeline.make_pipeline(*steps)


class Inputs:
    """Named model inputs for cases that are not one float matrix: each
    column name to an `[N, k]` array (strings or floats, as skl2onnx exports
    a ColumnTransformer's or a text vectorizer's inputs), what the estimator
    is fit on, and the labels."""

    def __init__(self, columns, fit_x, y):
        self.columns, self.fit_x, self.y = columns, fit_x, y

    def initial_types(self):
        return [(name, (StringTensorType if a.dtype == object else FloatTensorType)([None, a.shape[1]]))
                for name, a in self.columns.items()]

    def rows(self):
        return {name: a[:ROWS] for name, a in self.columns.items()}


WORDS = ("free money prize win now cheap offer click meeting lunch team project report "
         "schedule friend family weekend holiday invoice payment account urgent").split()


def messages(n=300, seed=4):
    """Short messages and whether they are spam: spam draws its words from
    the first half of the vocabulary more often (some upper case)."""
    rng = np.random.default_rng(seed)
    spam = rng.random(n) < 0.4
    texts = []
    for is_spam in spam:
        weights = np.where(np.arange(len(WORDS)) < 8, 3.0 if is_spam else 0.5, 1.0)
        picked = rng.choice(WORDS, size=int(rng.integers(3, 9)), p=weights / weights.sum())
        words = [w.upper() if rng.random() < 0.1 else w for w in picked]
        texts.append(" ".join(words) + ("!" if is_spam and rng.random() < 0.5 else "."))
    texts = np.array(texts, dtype=object)
    return Inputs({"input": texts.reshape(-1, 1)}, texts, spam.astype(np.int64))


def string_columns(n=300, seed=5):
    """Two string categories and three numbers, and a label from both."""
    rng = np.random.default_rng(seed)
    plan = np.array(["basic", "plus", "pro"], dtype=object)[rng.integers(0, 3, n)]
    city = np.array(["Berlin", "Lisbon", "Oslo", "Austin"], dtype=object)[rng.integers(0, 4, n)]
    numbers = rng.standard_normal((n, 3)).astype(np.float32)
    y = ((plan == "basic") + (city == "Oslo") + numbers[:, 0] > 0.8).astype(np.int64)
    strings = np.stack([plan, city], axis=1)
    return strings, numbers, y


# name -> (estimator, (x, y)); rows checked are x[:ROWS].
def cases():
    clf2 = classification(2)
    clf3 = classification(3, seed=1)
    reg = regression()
    cat2 = (with_categories(clf2[0]), clf2[1])
    catmiss2 = (with_missing(cat2[0], columns=slice(2, None)), cat2[1])
    miss3 = (with_missing(clf3[0]), clf3[1])
    missr = (with_missing(reg[0], seed=2), reg[1])
    pos3 = (positive(clf3[0]), clf3[1])
    columns = compose.ColumnTransformer([
        ("categories", preprocessing.OneHotEncoder(handle_unknown="ignore"), [0, 1]),
        ("numbers", preprocessing.StandardScaler(), [2, 3, 4, 5]),
    ])
    spam = messages()
    strings, numbers, labels = string_columns()
    categories = Inputs({"input": strings}, strings, labels)
    # One input per column kind, as skl2onnx exports a ColumnTransformer.
    mixed_table = np.hstack([strings, numbers.astype(object)])
    mixed = Inputs({"strings": strings, "numbers": numbers}, mixed_table, labels)
    mixed_columns = compose.ColumnTransformer([
        ("strings", preprocessing.OneHotEncoder(handle_unknown="ignore"), [0, 1]),
        ("numbers", preprocessing.StandardScaler(), [2, 3, 4]),
    ])
    ordinal_columns = compose.ColumnTransformer([
        ("strings", preprocessing.OrdinalEncoder(), [0, 1]),
        ("numbers", "passthrough", [2, 3, 4]),
    ])
    imputed_columns = compose.ColumnTransformer([
        ("numbers", p(impute.SimpleImputer(strategy="median"), preprocessing.StandardScaler()), [2, 3, 4, 5]),
        ("categories", preprocessing.OneHotEncoder(handle_unknown="ignore"), [0, 1]),
    ])
    return {
        # Linear models
        "LinearRegression": (linear_model.LinearRegression(), reg),
        "Ridge": (linear_model.Ridge(alpha=1.0), reg),
        "Lasso": (linear_model.Lasso(alpha=0.1), reg),
        "ElasticNet": (linear_model.ElasticNet(alpha=0.1), reg),
        "SGDRegressor": (linear_model.SGDRegressor(random_state=0), reg),
        "LogisticRegression (binary)": (linear_model.LogisticRegression(), clf2),
        "LogisticRegression (3 classes)": (linear_model.LogisticRegression(max_iter=500), clf3),
        "SGDClassifier (hinge)": (linear_model.SGDClassifier(random_state=0), clf3),
        "SGDClassifier (log loss, binary)": (linear_model.SGDClassifier(loss="log_loss", random_state=0), clf2),
        "RidgeClassifier": (linear_model.RidgeClassifier(), clf3),
        "Perceptron": (linear_model.Perceptron(random_state=0), clf2),
        "LinearSVC": (svm.LinearSVC(random_state=0), clf3),
        "LinearSVR": (svm.LinearSVR(random_state=0, max_iter=5000), reg),
        # Kernel SVMs
        "SVC (rbf, probabilities)": (svm.SVC(probability=True, random_state=0), clf3),
        "SVC (rbf, binary)": (svm.SVC(random_state=0), clf2),
        "SVC (linear)": (svm.SVC(kernel="linear", random_state=0), clf3),
        "SVC (poly, binary, probabilities)": (svm.SVC(kernel="poly", degree=3, probability=True, random_state=0), clf2),
        "SVC (sigmoid)": (svm.SVC(kernel="sigmoid", random_state=0), clf3),
        "NuSVC": (svm.NuSVC(random_state=0), clf3),
        "SVR (rbf)": (svm.SVR(), reg),
        "SVR (poly)": (svm.SVR(kernel="poly"), reg),
        "NuSVR": (svm.NuSVR(), reg),
        "OneClassSVM": (svm.OneClassSVM(gamma="scale"), clf2),
        # Naive Bayes, neighbours
        "GaussianNB": (naive_bayes.GaussianNB(), clf3),
        "BernoulliNB": (naive_bayes.BernoulliNB(), clf3),
        "MultinomialNB": (naive_bayes.MultinomialNB(), pos3),
        "KNeighborsClassifier": (neighbors.KNeighborsClassifier(), clf3),
        "KNeighborsRegressor": (neighbors.KNeighborsRegressor(), reg),
        # Trees and ensembles
        "DecisionTreeClassifier": (tree.DecisionTreeClassifier(max_depth=5, random_state=0), clf3),
        "DecisionTreeRegressor": (tree.DecisionTreeRegressor(max_depth=5, random_state=0), reg),
        "RandomForestClassifier": (ensemble.RandomForestClassifier(n_estimators=10, max_depth=5, random_state=0), clf3),
        "ExtraTreesRegressor": (ensemble.ExtraTreesRegressor(n_estimators=10, max_depth=5, random_state=0), reg),
        # scikit-learn's trees learn where missing values go; NaN inputs.
        "DecisionTreeClassifier (missing values)": (tree.DecisionTreeClassifier(max_depth=5, random_state=0), miss3),
        "RandomForestRegressor (missing values)": (ensemble.RandomForestRegressor(n_estimators=10, max_depth=5, random_state=0), missr),
        "GradientBoostingClassifier": (ensemble.GradientBoostingClassifier(n_estimators=10, random_state=0), clf3),
        "GradientBoostingRegressor": (ensemble.GradientBoostingRegressor(n_estimators=10, random_state=0), reg),
        "HistGradientBoostingClassifier": (ensemble.HistGradientBoostingClassifier(max_iter=10, random_state=0), clf2),
        "HistGradientBoostingRegressor": (ensemble.HistGradientBoostingRegressor(max_iter=10, random_state=0), reg),
        "HistGradientBoostingClassifier (missing values)": (ensemble.HistGradientBoostingClassifier(max_iter=10, random_state=0), miss3),
        "MLPClassifier": (neural_network.MLPClassifier(hidden_layer_sizes=(16,), max_iter=300, random_state=0), clf3),
        "MLPRegressor": (neural_network.MLPRegressor(hidden_layer_sizes=(16,), max_iter=300, random_state=0), reg),
        # Pipelines: scalers, imputers, encoders, decompositions
        "StandardScaler + LogisticRegression": (p(preprocessing.StandardScaler(), linear_model.LogisticRegression()), clf3),
        "RobustScaler + Ridge": (p(preprocessing.RobustScaler(), linear_model.Ridge()), reg),
        "MinMaxScaler + SVC": (p(preprocessing.MinMaxScaler(), svm.SVC(probability=True, random_state=0)), clf2),
        "MaxAbsScaler + LinearRegression": (p(preprocessing.MaxAbsScaler(), linear_model.LinearRegression()), reg),
        "Normalizer + LogisticRegression": (p(preprocessing.Normalizer(), linear_model.LogisticRegression()), clf2),
        "SimpleImputer (mean) + RandomForestClassifier": (p(impute.SimpleImputer(), ensemble.RandomForestClassifier(n_estimators=10, max_depth=5, random_state=0)), miss3),
        "SimpleImputer (median) + StandardScaler + Ridge": (p(impute.SimpleImputer(strategy="median"), preprocessing.StandardScaler(), linear_model.Ridge()), missr),
        "Binarizer + BernoulliNB": (p(preprocessing.Binarizer(threshold=0.0), naive_bayes.BernoulliNB()), clf3),
        "OneHotEncoder (integer categories) + LogisticRegression": (p(compose.ColumnTransformer([("c", preprocessing.OneHotEncoder(), [0, 1])], remainder="passthrough"), linear_model.LogisticRegression(max_iter=500)), cat2),
        "ColumnTransformer (OneHotEncoder, StandardScaler) + GradientBoostingClassifier": (p(columns, ensemble.GradientBoostingClassifier(n_estimators=10, random_state=0)), cat2),
        "ColumnTransformer (SimpleImputer, StandardScaler, OneHotEncoder) + LogisticRegression": (p(imputed_columns, linear_model.LogisticRegression(max_iter=500)), catmiss2),
        "PCA + LogisticRegression": (p(decomposition.PCA(n_components=3), linear_model.LogisticRegression()), clf3),
        "TruncatedSVD + Ridge": (p(decomposition.TruncatedSVD(n_components=3, random_state=0), linear_model.Ridge()), reg),
        "PolynomialFeatures + Ridge": (p(preprocessing.PolynomialFeatures(degree=2), linear_model.Ridge()), reg),
        "KBinsDiscretizer (one-hot) + LogisticRegression": (p(preprocessing.KBinsDiscretizer(n_bins=4, encode="onehot-dense", quantile_method="averaged_inverted_cdf"), linear_model.LogisticRegression(max_iter=500)), clf2),
        "KMeans (transform)": (cluster.KMeans(n_clusters=3, n_init=3, random_state=0), clf3),
        # String categories and text
        "OneHotEncoder (string categories) + LogisticRegression": (p(preprocessing.OneHotEncoder(handle_unknown="ignore"), linear_model.LogisticRegression()), categories),
        "OrdinalEncoder (string categories) + DecisionTreeClassifier": (p(preprocessing.OrdinalEncoder(), tree.DecisionTreeClassifier(max_depth=4, random_state=0)), categories),
        "ColumnTransformer (OneHotEncoder on strings, StandardScaler on numbers) + LogisticRegression": (p(mixed_columns, linear_model.LogisticRegression()), mixed),
        "ColumnTransformer (OrdinalEncoder on strings, numbers) + RandomForestClassifier": (p(ordinal_columns, ensemble.RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0)), mixed),
        "TfidfVectorizer + LogisticRegression": (p(text.TfidfVectorizer(), linear_model.LogisticRegression()), spam),
        "TfidfVectorizer (word 1-2 grams) + LogisticRegression": (p(text.TfidfVectorizer(ngram_range=(1, 2)), linear_model.LogisticRegression()), spam),
        "TfidfVectorizer (stop words, no lower case) + SGDClassifier": (p(text.TfidfVectorizer(stop_words=["the", "now", "click"], lowercase=False), linear_model.SGDClassifier(loss="log_loss", random_state=0)), spam),
        "TfidfVectorizer + MultinomialNB": (p(text.TfidfVectorizer(), naive_bayes.MultinomialNB()), spam),
        "CountVectorizer + MultinomialNB": (p(text.CountVectorizer(), naive_bayes.MultinomialNB()), spam),
        "CountVectorizer (word 1-2 grams, binary) + BernoulliNB": (p(text.CountVectorizer(ngram_range=(1, 2), binary=True), naive_bayes.BernoulliNB()), spam),
        "CountVectorizer (char 2-3 grams) + LogisticRegression": (p(text.CountVectorizer(analyzer="char", ngram_range=(2, 3)), linear_model.LogisticRegression(max_iter=500)), spam),
        "TfidfVectorizer (char 1-3 grams, sublinear tf) + LogisticRegression": (p(text.TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True), linear_model.LogisticRegression(max_iter=500)), spam),
    }


def final_step(model):
    return model.steps[-1][1] if isinstance(model, pipeline.Pipeline) else model


@contextlib.contextmanager
def booleans_as_integers():
    """skl2onnx 1.20 writes HistGradientBoosting's per-node missing-value
    flags as booleans, which onnx 1.23's protobuf refuses in an integer
    list. Within this block, onnx.helper.make_attribute turns them into the
    0/1 integers the ONNX spec asks for. docs/models.md tells users the same."""
    original = onnx.helper.make_attribute

    def make_attribute(key, value, *args, **kwargs):
        if isinstance(value, (list, tuple)) and any(isinstance(v, (bool, np.bool_)) for v in value):
            value = [int(v) for v in value]
        return original(key, value, *args, **kwargs)

    onnx.helper.make_attribute = make_attribute
    try:
        yield
    finally:
        onnx.helper.make_attribute = original


def export(model, initial_types):
    """The model's ONNX bytes, and whether the booleans shim was needed."""
    last = final_step(model)
    options = {id(last): {"zipmap": False}} if hasattr(last, "classes_") else None

    def convert():
        try:
            return skl2onnx.to_onnx(model, initial_types=initial_types, target_opset=TARGET_OPSET, options=options)
        except NameError:
            # Classifiers without probabilities (LinearSVC) have no zipmap option.
            return skl2onnx.to_onnx(model, initial_types=initial_types, target_opset=TARGET_OPSET)

    try:
        return convert().SerializeToString(), False
    except (TypeError, ValueError) as error:
        if "got a boolean" not in str(error.__cause__ or error):
            raise
    with booleans_as_integers():
        return convert().SerializeToString(), True


def onnxruntime_session(onnx_bytes):
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])


def onnxruntime_latency_us(session, feeds):
    names = [o.name for o in session.get_outputs()]
    for _ in range(100):
        session.run(names, feeds)
    samples = []
    for _ in range(LATENCY_RUNS):
        started = time.perf_counter()
        session.run(names, feeds)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1e6


def nan_as_null(nested):
    if isinstance(nested, list):
        return [nan_as_null(item) for item in nested]
    return None if isinstance(nested, float) and np.isnan(nested) else nested


def run_host(host, onnx_file, feeds, repeat=0):
    """Our outputs, and with repeat our single-call median in µs."""
    with tempfile.NamedTemporaryFile("w", suffix=".json") as inputs:
        # JSON has no NaN: the host reads null as NaN in float inputs.
        json.dump({name: nan_as_null(rows.tolist()) for name, rows in feeds.items()}, inputs)
        inputs.flush()
        args = [str(host), "infer", str(onnx_file), inputs.name]
        if repeat:
            args += ["--repeat", str(repeat)]
        done = subprocess.run(args, capture_output=True, text=True, env={"RUST_LOG": "warn"})
    if done.returncode != 0:
        return None, " ".join(done.stderr.split())[-400:] or "failed", None
    median = None
    for line in done.stderr.splitlines():
        if line.startswith("median "):
            median = float(line.split()[1])
    return json.loads(done.stdout), None, median


def max_error(ours, theirs):
    """Largest |ours - theirs| beyond tolerance scale, or None if shapes or
    labels differ."""
    a = np.asarray(ours, dtype=float if np.asarray(theirs).dtype.kind == "f" else None)
    b = np.asarray(theirs)
    if a.shape != b.shape:
        return None, f"shape {list(a.shape)} vs onnxruntime {list(b.shape)}"
    if b.dtype.kind in "iub":
        if not np.array_equal(a, b):
            return None, "labels differ"
        return 0.0, None
    a, b = a.astype(np.float64), b.astype(np.float64)
    error = np.abs(a - b)
    worst = float(error.max()) if error.size else 0.0
    if not np.all(error <= ATOL + RTOL * np.abs(b)):
        return worst, f"differs by up to {worst:.3g}"
    return worst, None


def check(name, model, data, host, repeat):
    if isinstance(data, Inputs):
        x, y, initial_types, feeds = data.fit_x, data.y, data.initial_types(), data.rows()
    else:
        x, y = data
        initial_types = [("input", FloatTensorType([None, x.shape[1]]))]
        feeds = {"input": x[:ROWS]}
    entry = {"estimator": name, "exports": False, "runs": False, "matches": False}
    try:
        model.fit(x, y)
        onnx_bytes, shimmed = export(model, initial_types)
    except Exception as error:  # noqa: BLE001 - any exporter failure is the finding
        cause = error.__cause__ or error
        entry["note"] = f"skl2onnx: {type(cause).__name__}: {str(cause).splitlines()[0][:160]}"
        return entry, None
    entry["exports"] = True
    if shimmed:
        entry["note"] = "exported with booleans as integers, see below"
    session = onnxruntime_session(onnx_bytes)
    names = [o.name for o in session.get_outputs()]
    expected = dict(zip(names, (v.tolist() for v in session.run(names, feeds))))
    with tempfile.TemporaryDirectory() as scratch:
        onnx_file = pathlib.Path(scratch) / "model.onnx"
        onnx_file.write_bytes(onnx_bytes)
        ours, failure, _ = run_host(host, onnx_file, feeds)
        if ours is None:
            entry["note"] = failure
            return entry, None
        entry["runs"] = True
        worst, problems = 0.0, []
        for output, want in expected.items():
            if output not in ours:
                problems.append(f"no output {output}")
                continue
            error, problem = max_error(ours[output], want)
            if problem:
                problems.append(f"{output}: {problem}")
            if error is not None:
                worst = max(worst, error)
        entry["max_abs_error"] = worst
        if problems:
            entry["note"] = "; ".join(problems)
            return entry, None
        entry["matches"] = True
        if repeat:
            one_row = {name: rows[:1] for name, rows in feeds.items()}
            _, _, ours_us = run_host(host, onnx_file, one_row, repeat)
            entry["ours_us"] = ours_us
            entry["onnxruntime_python_us"] = onnxruntime_latency_us(session, one_row)
    inputs = {name: nan_as_null(rows.tolist()) for name, rows in feeds.items()}
    reference = {"inputs": inputs, "outputs": nan_as_null(expected)}
    return entry, (onnx_bytes, reference)


def file_stem(name):
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def table(entries):
    def mark(flag):
        return "yes" if flag else "**no**"

    def us(value):
        return f"{value:.1f}" if value is not None else ""

    lines = [
        f"| estimator (scikit-learn {sklearn.__version__}, skl2onnx {skl2onnx.__version__}) "
        f"| exports | runs | matches onnxruntime {onnxruntime.__version__} | max abs error "
        "| one row, ours (µs) | one row, onnxruntime from Python (µs) |",
        "|---|---|---|---|---|---|---|",
    ]
    for e in entries:
        matches = mark(e["matches"]) if e["runs"] else ""
        error = f"{e['max_abs_error']:.1e}" if "max_abs_error" in e else ""
        note = f" ({e['note']})" if e.get("note") else ""
        lines.append(
            f"| {e['estimator']} | {mark(e['exports'])} | {mark(e['runs']) if e['exports'] else ''} "
            f"| {matches}{note} | {error} | {us(e.get('ours_us'))} | {us(e.get('onnxruntime_python_us'))} |"
        )
    claimed = sum(e["matches"] for e in entries)
    lines.append("")
    lines.append(
        f"{claimed} of {len(entries)} run and match (tolerance {ATOL:g} + {RTOL:g}·|onnxruntime|, "
        f"labels equal, on {ROWS} rows). Regenerate with `python models/coverage.py`."
    )
    return "\n".join(lines)


def write_table(text):
    page = TABLE_PAGE.read_text()
    start, end = page.index(START) + len(START), page.index(END)
    TABLE_PAGE.write_text(page[:start] + "\n" + text + "\n" + page[end:])


def main():
    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=str(ROOT / "target" / "release" / "wasm-lambda-host"))
    parser.add_argument("--only", help="comma-separated case names")
    parser.add_argument("--no-readme", action="store_true")
    parser.add_argument("--repeat", type=int, default=LATENCY_RUNS, help="0: skip latency")
    args = parser.parse_args()
    selected = cases()
    if args.only:
        wanted = set(args.only.split(","))
        selected = {k: v for k, v in selected.items() if k in wanted}
    OUT.mkdir(parents=True, exist_ok=True)
    entries = []
    for name, (model, data) in selected.items():
        entry, files = check(name, model, data, args.host, args.repeat)
        entry["file"] = file_stem(name) if files else None
        if files:
            onnx_bytes, reference = files
            (OUT / f"{entry['file']}.onnx").write_bytes(onnx_bytes)
            (OUT / f"{entry['file']}.reference.json").write_text(json.dumps(reference) + "\n")
        status = "matches" if entry["matches"] else entry.get("note", "")
        print(f"{name}: {status}", file=sys.stderr)
        entries.append(entry)
    if not args.only:
        claimed = {e["file"] for e in entries if e["file"]}
        for stale in OUT.glob("*.onnx"):
            if stale.stem not in claimed:
                stale.unlink()
                (OUT / f"{stale.stem}.reference.json").unlink(missing_ok=True)
        matrix = {"rtol": RTOL, "atol": ATOL, "rows": ROWS, "cases": entries}
        (OUT / "matrix.json").write_text(json.dumps(matrix, indent=1) + "\n")
        if not args.no_readme:
            write_table(table(entries))
    print(table(entries))


if __name__ == "__main__":
    main()
