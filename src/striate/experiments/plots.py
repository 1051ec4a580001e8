"""Overlaid learning curves of a comparison (PNG) and a self-contained HTML page (images embedded).

Each arm is one line (the mean over its seeds) with a band from the lowest to the highest seed.
matplotlib is imported inside the functions (Agg backend), so ``import striate`` stays light.

>>> write_curves(results, "runs/cmp/curves.png")   # doctest: +SKIP
"""

import base64
import html
import io
import textwrap
from pathlib import Path

from striate.files import atomic_write_bytes

CURVES = (("val_accuracy", "validation accuracy"), ("train_accuracy", "training accuracy"),
          ("val_loss", "validation loss"), ("train_loss", "training loss"))


def arm_curves(results: list[dict], metric: str) -> dict[str, dict]:
    """{arm label: {'epochs', 'mean', 'low', 'high'}} over the epochs every seed of the arm has."""
    by_arm: dict[str, list[list[float]]] = {}
    for result in results:
        values = [figures.get(metric, float("nan")) for figures in result["history"]]
        by_arm.setdefault(result["arm"].label, []).append(values)
    curves = {}
    for label, runs in by_arm.items():
        length = min(len(run) for run in runs)
        columns = [[run[index] for run in runs] for index in range(length)]
        curves[label] = {"epochs": list(range(1, length + 1)), "mean": [sum(c) / len(c) for c in columns],
                         "low": [min(c) for c in columns], "high": [max(c) for c in columns]}
    return curves


def curve_figures(results: list[dict]) -> tuple[tuple[str, str], ...]:
    """The four panels: accuracy and loss for classifiers, the task's own figure and loss for task runs."""
    metric = next((r["summary"].get("metric") for r in results if r.get("summary", {}).get("task")), None)
    if metric is None:
        return CURVES
    return ((f"val_{metric}", f"validation {metric}"), (f"train_{metric}", f"training {metric}"), *CURVES[2:])


def write_curves(results: list[dict], path: str | Path, title: str = "") -> Path:
    """A 2x2 figure (validation/training accuracy, or a task's figure, and loss against epochs), one line per arm."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    figure, axes = plt.subplots(2, 2, figsize=(11, 8))
    for axis, (metric, name) in zip(axes.flat, curve_figures(results)):
        for label, curve in arm_curves(results, metric).items():
            line, = axis.plot(curve["epochs"], curve["mean"], marker="o", markersize=3, label=label)
            axis.fill_between(curve["epochs"], curve["low"], curve["high"], color=line.get_color(), alpha=0.2)
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_ylabel(name)
        axis.grid(alpha=0.3)
        if metric.endswith("loss"):
            axis.set_yscale("log")
    axes.flat[0].legend(fontsize=8)
    if title:
        figure.suptitle(textwrap.fill(title, 150), fontsize=9)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    atomic_write_bytes(Path(path), buffer.getvalue())
    return Path(path)


def write_html(path: str | Path, title: str, command: str, headers: list[str], cells: list[list[str]],
               images: list[Path], extra: str = "") -> Path:
    """One HTML file with the command, the table, the images inlined as base64 PNG, and ``extra``
    text (shown preformatted, e.g. a Markdown table)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in cells)
    pictures = "".join(f'<p><img alt="{html.escape(Path(p).name)}" src="data:image/png;base64,'
                       f'{base64.b64encode(Path(p).read_bytes()).decode()}"></p>' for p in images)
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>"
            "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child{text-align:left}"
            "img{max-width:100%}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><pre>{html.escape(command)}</pre>"
            f"<p>mean ± standard deviation over seeds; accuracies in %</p>"
            f"<table><tr>{head}</tr>{body}</table>{pictures}"
            + (f"<pre>{html.escape(extra)}</pre>" if extra else "") + "</body></html>")
    atomic_write_bytes(Path(path), page.encode("utf-8"))
    return Path(path)
