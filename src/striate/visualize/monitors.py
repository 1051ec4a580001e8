"""Layer monitors over epochs: per-layer statistics (activation mean/std, dead-ReLU fraction,
gradient norm, update/weight ratio) when the run recorded them in its metrics.

The monitors write them into each epoch's record, either nested
(``"monitors": {layer: {statistic: value}}``, also accepted under ``"monitor"``) or flat
(``"monitor/<layer>/<statistic>": value``). Runs without monitors give an empty table and
the picture is skipped.

>>> table = monitor_series(read_metrics("runs/lenet5-mnist"))   # doctest: +SKIP
>>> if table: plot_monitors(table, "monitors.png")              # doctest: +SKIP
>>> plot_monitors(table)          # the Figure, for a notebook   # doctest: +SKIP
"""

import math
from pathlib import Path

from striate.visualize.figure import finish_figure, new_figure

NESTED_KEYS = ("monitors", "monitor")
FLAT_PREFIX = "monitor/"
# statistics drawn on a log scale (they span orders of magnitude)
LOG_SCALE_HINTS = ("grad", "update", "ratio", "norm")


def _epoch_stats(record: dict) -> dict[tuple[str, str], float]:
    stats: dict[tuple[str, str], float] = {}
    for key in NESTED_KEYS:
        nested = record.get(key)
        if isinstance(nested, dict):
            for layer, values in nested.items():
                if isinstance(values, dict):
                    stats.update({(layer, stat): value for stat, value in values.items() if _is_number(value)})
    for key, value in record.items():
        if key.startswith(FLAT_PREFIX) and _is_number(value) and key.count("/") >= 2:
            layer, stat = key[len(FLAT_PREFIX):].rsplit("/", 1)
            stats[(layer, stat)] = value
    return stats


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def monitor_series(history: list[dict]) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """``{statistic: {layer: [(epoch, value), ...]}}`` from the per-epoch records ({} when none)."""
    table: dict[str, dict[str, list[tuple[int, float]]]] = {}
    for record in history:
        for (layer, stat), value in _epoch_stats(record).items():
            table.setdefault(stat, {}).setdefault(layer, []).append((record.get("epoch", 0), float(value)))
    return table


def plot_monitors(table: dict, path: str | Path | None = None):
    """One panel per statistic, one line per layer, against the epoch; the PNG's path, or the
    Figure when ``path`` is None."""
    from matplotlib.ticker import MaxNLocator

    stats = sorted(table)
    columns = min(3, len(stats))
    rows = math.ceil(len(stats) / columns)
    figure, axes = new_figure(columns, rows, width=4.6 * columns, height=3.3 * rows)
    for axis, stat in zip(axes.flat, stats):
        for layer, points in sorted(table[stat].items()):
            axis.plot(*zip(*points), "-o", markersize=2.5, label=layer)
        positive = all(value > 0 for points in table[stat].values() for _, value in points)
        if positive and any(hint in stat.lower() for hint in LOG_SCALE_HINTS):
            axis.set_yscale("log")
        axis.set_title(stat.replace("_", " "), fontsize=10)
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.grid(alpha=0.3)
        axis.legend(fontsize=6)
    for axis in axes.flat[len(stats):]:
        axis.axis("off")
    figure.tight_layout()
    return finish_figure(figure, path)
