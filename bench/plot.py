"""Draws the plots BENCHMARKS.md shows, from the figures the benchmark run
saved in target/bench/*.json (scripts/bench.sh runs it last), into
bench/plots/*.png. Each plot is skipped, with a note, if its figures are
missing (a partial run).

    .venv/bin/python bench/plot.py
"""

import json
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIGURES = ROOT / "target" / "bench"
PLOTS = ROOT / "bench" / "plots"


def figures(name):
    path = FIGURES / f"{name}.json"
    if not path.exists():
        print(f"plot.py: no {path.relative_to(ROOT)}, skipping its plot", file=sys.stderr)
        return None
    return json.loads(path.read_text())


def save(fig, name):
    PLOTS.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(PLOTS / f"{name}.png", dpi=110)
    plt.close(fig)
    print(f"plot.py: wrote bench/plots/{name}.png")


def seed004_cold():
    runs = figures("seed004-cold")
    if runs is None:
        return
    labels = ["Python guest\n(classifier-py)", "Rust guest\n(classifier)", "seed 004\n(Python +\nscikit-learn)"]
    colours = ["tab:blue", "tab:green", "tab:grey"]
    fig, (time_ax, rss_ax) = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, field, unit in [(time_ax, "median_ms", "ms"), (rss_ax, "peak_rss_mb", "MB")]:
        values = [run[field] for run in runs]
        bars = ax.bar(labels, values, color=colours)
        ax.bar_label(bars, fmt="%.0f")
        ax.set_ylabel(unit)
    time_ax.set_yscale("log")
    time_ax.set_ylim(bottom=1)
    time_ax.set_title("seed 004's request answered cold: wall time")
    rss_ax.set_title("peak resident memory")
    save(fig, "seed004-cold")


def guest_count():
    data = figures("guest-count")
    if data is None:
        return
    host = data["host"]
    counts = [row["guests"] for row in host]
    fig, (init_ax, rss_ax) = plt.subplots(1, 2, figsize=(9, 3.6))
    init_ax.plot(counts, [row["init_ms"] for row in host], "o-", label="wasm-lambda-host")
    init_ax.axhline(data["echo"]["init_ms"], color="grey", ls="--", label="lambda_runtime echo")
    init_ax.set_ylabel("process start -> first GET /next, ms")
    rss_ax.plot(counts, [row["rss_mb"] for row in host], "o-", label="RSS after init")
    rss_ax.plot(counts, [row["peak_rss_mb"] for row in host], "s:", label="peak RSS")
    rss_ax.axhline(data["echo"]["rss_mb"], color="grey", ls="--", label="lambda_runtime echo")
    small = data.get("host_1000_at_128_mb")
    if small:
        label = "128 MB function: most left for their first event"
        init_ax.plot([1000], [small["init_ms"]], "v", color="tab:red", label=label)
        rss_ax.plot([1000], [small["rss_mb"]], "v", color="tab:red", label=label)
    rss_ax.set_ylabel("MB")
    for ax, title in [(init_ax, "init time"), (rss_ax, "resident memory")]:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("guests (copies of hello, from .cwasm; 1,024 MB function)")
        ax.set_title(title + " against the number of guests")
        ax.legend(fontsize=8)
    save(fig, "guest-count")


def models():
    data = figures("models")
    if data is None:
        return
    engines = list(data)
    names = list(data["ours"])
    fig, (row_ax, batch_ax) = plt.subplots(2, 1, figsize=(10, 7))
    width = 0.8 / len(engines)
    for i, engine in enumerate(engines):
        xs = [n + (i - (len(engines) - 1) / 2) * width for n in range(len(names))]
        row_ax.bar(xs, [data[engine][m]["single_row_p50_us"] for m in names], width, label=engine)
        batch_ax.bar(xs, [data[engine][m]["batch_rows_per_s"] for m in names], width, label=engine)
    for ax, label, title in [
        (row_ax, "µs (p50, lower is better)", "one row: latency"),
        (batch_ax, "rows/s (higher is better)", "1,024-row batch: throughput"),
    ]:
        ax.set_yscale("log")
        ax.set_ylabel(label)
        ax.set_title(title + ", one thread")
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=25, ha="right", fontsize=8)
        ax.legend(fontsize=8)
    save(fig, "models")


if __name__ == "__main__":
    seed004_cold()
    guest_count()
    models()
