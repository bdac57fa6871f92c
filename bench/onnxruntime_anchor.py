"""The onnxruntime side of the model benchmark (scripts/bench-models.sh):
the same models and inputs as `model-bench`, one thread, printed as JSON.

    python bench/onnxruntime_anchor.py MODELS_DIR NAME [NAME ...]
"""

import json
import pathlib
import statistics
import sys
import time

import numpy as np
import onnxruntime

SINGLE_ROW_CALLS = 20000
BATCH_ROWS = 1024
BATCH_CALLS = 50
LOADS = 10


def session(model_bytes):
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])


def measure(models_dir, name):
    model_bytes = (models_dir / f"{name}.onnx").read_bytes()
    reference = json.loads((models_dir / f"{name}.reference.json").read_text())
    raw = reference["inputs"]["input"]
    # Text models take strings, the others floats.
    rows = np.array(raw, dtype=object if isinstance(raw[0][0], str) else np.float32)

    loads = []
    for _ in range(LOADS):
        started = time.perf_counter()
        s = session(model_bytes)
        loads.append(time.perf_counter() - started)

    one = rows[1:2]
    for _ in range(200):
        s.run(None, {"input": one})
    calls = []
    for _ in range(SINGLE_ROW_CALLS):
        started = time.perf_counter_ns()
        s.run(None, {"input": one})
        calls.append(time.perf_counter_ns() - started)

    batch = np.resize(rows, (BATCH_ROWS, rows.shape[1]))
    s.run(None, {"input": batch})
    batch_calls = []
    for _ in range(BATCH_CALLS):
        started = time.perf_counter()
        s.run(None, {"input": batch})
        batch_calls.append(time.perf_counter() - started)

    return {
        "load_ms": statistics.median(loads) * 1e3,
        "single_row_p50_us": statistics.median(calls) / 1e3,
        "batch_rows_per_s": BATCH_ROWS / statistics.median(batch_calls),
    }


def main():
    models_dir = pathlib.Path(sys.argv[1])
    print(json.dumps({name: measure(models_dir, name) for name in sys.argv[2:]}))


if __name__ == "__main__":
    main()
