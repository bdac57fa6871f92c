"""ONNX's own backend node tests, through the host: every test of every
ai.onnx.ml operator, and of every standard operator the models here use
(the coverage pipelines' and the generated models': Cast, Concat, Gather,
Reshape, ArgMax, Softmax, MatMul, Gemm, Add, Mul, Sigmoid, ...).

    python models/conformance.py [--host PATH] [--no-docs]

The pinned onnx package generates the tests (onnx/backend/test/case/node:
a one-node model, inputs, expected outputs). Each runs through
`wasm-lambda-host infer` (strings as JSON strings, NaN as null) and ends as
one of:

  passed    every output matches (ONNX's tolerance: 1e-3 relative, 1e-7
            absolute; integers, booleans and strings equal; answers write
            NaN and the infinities as null, which matches any of them)
  refused   the host says what it does not support (load or run error), or
            an input's element type has no JSON form here (float16, ...)
  failed    an answer that differs: a bug, never acceptable

It writes models/conformance/NAME.onnx and NAME.json (inputs and expected
outputs) for every test the host passes or refuses, summary.json (each
test's operator, outcome and reason), and replaces the table between the
conformance markers in docs/models.md. The test command runs every stored
test again and checks the outcomes and the table (tests/conformance.rs).
"""

import argparse
import collections
import json
import pathlib
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import onnx
from onnx import numpy_helper
from onnx.backend.test.case.node import collect_testcases

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "models" / "conformance"
DOCS = ROOT / "docs" / "models.md"
START, END = "<!-- conformance:start -->", "<!-- conformance:end -->"
RTOL, ATOL = 1e-3, 1e-7
# Element types the host's JSON reads and writes.
JSON_TYPES = {np.dtype(t) for t in (np.float16, np.float32, np.float64, np.int64, np.int32, np.int16, np.int8,
                                    np.uint8, np.uint16, np.uint32, np.uint64, np.bool_)} | {np.dtype(object)}


def used_operators():
    """(domain, op) of every node in the repository's models."""
    ops = set()
    for path in list((ROOT / "models" / "coverage").glob("*.onnx")) + list((ROOT / "models").glob("*.onnx")):
        for node in onnx.load(str(path), load_external_data=False).graph.node:
            ops.add((node.domain or "", node.op_type))
    return ops


def selected_cases():
    """The one-node tests of the operators (the `_expanded` variants test
    ONNX's function decompositions into other operators, not the operator)."""
    wanted = used_operators()
    cases = []
    for case in collect_testcases(None):
        if (case.model is None or not case.data_sets or len(case.model.graph.node) != 1
                or case.name.endswith("_expanded")):
            continue
        node = case.model.graph.node[0]
        domain, op = node.domain or "", node.op_type
        if domain == "ai.onnx.ml" or (domain, op) in wanted:
            cases.append((case.name, op, case.model, case.data_sets[0]))
    return cases


def as_json(value):
    """A numpy array as nested lists (NaN as null, bytes as text)."""
    array = np.asarray(value)
    if array.dtype.kind not in "iubfSUO":
        # bfloat16, float8 and the like (ml_dtypes): their values as floats.
        array = array.astype(np.float64)
    if array.dtype == object or array.dtype.kind in "SU":
        return np.vectorize(lambda s: s.decode() if isinstance(s, bytes) else str(s), otypes=[object])(
            array).tolist() if array.size else array.tolist()
    if array.dtype.kind == "f":
        # The host reads null as NaN and "inf" / "-inf" as the infinities.
        def number(x):
            return None if np.isnan(x) else "inf" if x == np.inf else "-inf" if x == -np.inf else float(x)
        return np.vectorize(number, otypes=[object])(array).tolist() if array.size else array.tolist()
    return array.tolist()


def matches(got, want):
    want = np.asarray(want)
    if want.dtype == object or want.dtype.kind in "SU":
        flat_want = [w.decode() if isinstance(w, bytes) else str(w) for w in want.ravel()]
        got = np.asarray(got, dtype=object)
        return got.shape == want.shape and list(got.ravel()) == flat_want, "strings differ"
    got = np.asarray([np.nan if g is None else g for g in np.asarray(got, dtype=object).ravel()],
                     dtype=np.float64).reshape(np.shape(got)) if np.size(got) else np.asarray(got)
    if got.shape != want.shape:
        return False, f"shape {list(got.shape)}, expected {list(want.shape)}"
    if want.dtype.kind in "iub":
        return bool(np.array_equal(got, want.astype(np.float64))), "values differ"
    want = want.astype(np.float64)
    # Answers write every non-finite float as null (read back as NaN here).
    got = np.where(np.isnan(got) & ~np.isfinite(want), want, got)
    close = np.isclose(got, want, rtol=RTOL, atol=ATOL, equal_nan=True)
    return bool(close.all()), f"differs by up to {np.nanmax(np.abs(got - want)):.3g}"


def run(host, model, data_set):
    inputs, expected = data_set
    graph = model.graph
    names_in = [i.name for i in graph.input if i.name not in {t.name for t in graph.initializer}]
    outputs = [o.name for o in graph.output]
    feeds = {}
    for name, value in zip(names_in, inputs):
        if isinstance(value, onnx.TensorProto):
            value = numpy_helper.to_array(value)
        array = np.asarray(value)
        if array.dtype not in JSON_TYPES and array.dtype.kind not in "SU":
            return "refused", f"input element type {array.dtype} has no JSON form", None
        feeds[name] = as_json(array)
    with tempfile.TemporaryDirectory() as scratch:
        path = pathlib.Path(scratch) / "model.onnx"
        path.write_bytes(model.SerializeToString())
        request = pathlib.Path(scratch) / "inputs.json"
        request.write_text(json.dumps(feeds))
        done = subprocess.run([str(host), "infer", str(path), str(request)], capture_output=True, text=True,
                              env={"RUST_LOG": "off"}, timeout=60)
    if done.returncode != 0:
        reason = " ".join(done.stderr.split()).removeprefix("error: ")
        return "refused", reason[:300], feeds
    answer = json.loads(done.stdout)
    for name, want in zip(outputs, expected):
        if isinstance(want, onnx.TensorProto):
            want = numpy_helper.to_array(want)
        if name not in answer:
            return "failed", f"no output {name}", feeds
        ok, why = matches(answer[name], want)
        if not ok:
            return "failed", f"{name}: {why}", feeds
    return "passed", None, feeds


def short(reason):
    """A refusal's gist for the table."""
    for marker in ("which the host's runtime", "does not run", "has no JSON form", "not supported",
                   "Unsupported", "unsupported"):
        if marker in reason:
            return reason[:120]
    return reason[:120]


def table(summary):
    by_op = collections.defaultdict(list)
    for name, entry in summary.items():
        by_op[entry["operator"]].append(entry)
    lines = ["| operator | tests | passed | refused (why, first) | failed |", "| --- | --- | --- | --- | --- |"]
    for op in sorted(by_op):
        entries = by_op[op]
        count = collections.Counter(e["outcome"] for e in entries)
        why = next((short(e["reason"]) for e in entries if e["outcome"] == "refused"), "")
        lines.append(f"| {op} | {len(entries)} | {count['passed']} | {count['refused']}"
                     f"{' (' + why.replace('|', '/') + ')' if why else ''} | {count['failed']} |")
    totals = collections.Counter(e["outcome"] for e in summary.values())
    lines.append("")
    lines.append(f"{len(summary)} tests of {len(by_op)} operators: {totals['passed']} passed, "
                 f"{totals['refused']} refused, {totals['failed']} failed.")
    return "\n".join(lines)


def main():
    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=str(ROOT / "target" / "release" / "wasm-lambda-host"))
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    for stale in OUT.glob("*"):
        stale.unlink()
    summary = {}
    for name, op, model, data_set in selected_cases():
        outcome, reason, feeds = run(args.host, model, data_set)
        summary[name] = {"operator": op, "outcome": outcome, "reason": reason}
        if feeds is not None and outcome != "failed":
            (OUT / f"{name}.onnx").write_bytes(model.SerializeToString())
            expected = {o.name: as_json(numpy_helper.to_array(v) if isinstance(v, onnx.TensorProto) else v)
                        for o, v in zip(model.graph.output, data_set[1])}
            (OUT / f"{name}.json").write_text(json.dumps({"inputs": feeds, "outputs": expected}, allow_nan=False) + "\n")
        print(f"{name}: {outcome}{' (' + reason + ')' if reason else ''}", file=sys.stderr)
    (OUT / "summary.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    text = table(summary)
    if not args.no_docs:
        page = DOCS.read_text()
        head, rest = page.split(START, 1)
        _, tail = rest.split(END, 1)
        DOCS.write_text(f"{head}{START}\n{text}\n{END}{tail}")
    print(text)


if __name__ == "__main__":
    main()
