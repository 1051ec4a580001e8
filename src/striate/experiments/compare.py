"""``compare``: train every arm of a grid with several seeds and write the table, curves and page.

The comparison folder holds::

    runs/<arm>-seed<S>-<hash>/   ordinary run directories (reused when re-run)
    comparison.json              every row with mean, std, min, max per figure, and the command
    comparison.csv / .md         the same table for spreadsheets and documents
    curves.png                   overlaid learning curves, one line per arm
    layers.md                    per-layer activation statistics (when run.monitor is on)
    comparison.html              the table and the curves in one self-contained page

>>> from striate.experiments import compare, parse_variation
>>> report = compare(config, [parse_variation("model.args.activation=relu,tanh")], seeds=3,
...                  folder="runs/compare-relu-tanh")   # doctest: +SKIP
"""

from pathlib import Path

from striate.experiments.grid import Variation, make_arms
from striate.experiments.plots import write_curves, write_html
from striate.experiments.plan import plan_runs, run_plan
from striate.experiments.table import csv_table, markdown_table, summarise, text_rows
from striate.files import atomic_write_bytes, atomic_write_json
from striate.tasks import task_kind
from striate.training.config import Config
from striate.training.watch import Watch


def compare(config: Config, variations: list[Variation], seeds: int = 3, folder: str | Path = "runs/compare",
            jobs: int = 1, target: tuple[str | Watch, float] | None = None, command: str = "", on_run=None) -> dict:
    """Train (or reuse) every arm x seed, then write the table, the curves and the page into ``folder``.
    ``target``: (a figure of the recipe's task such as 'val_accuracy' or its Watch, the value to reach).

    Returns {'rows': [...], 'files': {name: path}, 'trained': n, 'reused': n}."""
    folder = Path(folder)
    if target is not None and not isinstance(target[0], Watch):
        target = (task_kind(config.data.task).figure(target[0], "target"), float(target[1]))
    plan = plan_runs(config, make_arms(variations), seeds, folder)
    counts = {"trained": 0, "reused": 0}

    def count(planned, reused: bool) -> None:
        counts["reused" if reused else "trained"] += 1
        if on_run is not None:
            on_run(planned, reused)

    results = run_plan(plan, jobs, count)
    rows = summarise(results, target)
    files = write_outputs(folder, rows, results, command, target)
    return {"rows": rows, "files": files, **counts}


def write_outputs(folder: Path, rows: list[dict], results: list[dict], command: str,
                  target: tuple[Watch, float] | None) -> dict[str, Path]:
    files = {"json": folder / "comparison.json", "csv": folder / "comparison.csv", "markdown": folder / "comparison.md",
             "curves": folder / "curves.png", "html": folder / "comparison.html"}
    atomic_write_json(files["json"], {"command": command, "target": [target[0].name, target[1]] if target else None, "rows": rows})
    atomic_write_bytes(files["csv"], csv_table(rows).encode())
    markdown = markdown_table(rows)
    layers = layer_table(results)
    if layers:
        files["layers"] = folder / "layers.md"
        atomic_write_bytes(files["layers"], layers.encode())
    atomic_write_bytes(files["markdown"], markdown.encode())
    write_curves(results, files["curves"], title=command)
    headers, cells = text_rows(rows)
    write_html(files["html"], f"comparison: {folder.name}", command, headers, cells, [files["curves"]],
               extra=layers)
    return files


def layer_table(results: list[dict], epoch: int = 1) -> str:
    """Markdown: the activation std of every monitored layer (rows) for every arm (columns) in ``epoch``,
    mean over the measured training steps and the seeds, with the share of dead ReLU channels where
    there is one; empty when the runs were not monitored (run.monitor)."""
    values: dict[str, dict[str, dict[str, list[float]]]] = {}  # layer -> arm -> figure -> values
    arms: list[str] = []
    for result in results:
        if len(result["history"]) < epoch or "monitor" not in result["history"][epoch - 1]:
            continue
        label = result["arm"].label
        arms += [label] if label not in arms else []
        for layer, figures in result["history"][epoch - 1]["monitor"].items():
            if "std" in figures:
                entry = values.setdefault(layer, {}).setdefault(label, {})
                for key in ("std", "dead_fraction"):
                    if key in figures:
                        entry.setdefault(key, []).append(figures[key])
    if not values:
        return ""
    lines = [f"Activation standard deviation per layer in epoch {epoch} (mean over the measured training steps and "
             "the seeds); in brackets the share of dead ReLU channels.", "",
             "| layer | " + " | ".join(arms) + " |", "|---|" + "---|" * len(arms)]
    for layer, by_arm in values.items():
        lines.append(f"| {layer} | " + " | ".join(_layer_cell(by_arm.get(arm, {})) for arm in arms) + " |")
    return "\n".join(lines) + "\n"


def _layer_cell(figures: dict[str, list[float]]) -> str:
    if "std" not in figures:
        return ""
    text = f"{sum(figures['std']) / len(figures['std']):.3g}"
    if "dead_fraction" in figures:
        text += f" ({100 * sum(figures['dead_fraction']) / len(figures['dead_fraction']):.0f}% dead)"
    return text
