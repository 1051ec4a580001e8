"""The comparison table: one row per arm, each figure as mean and spread over the seeds.

Figures per run: final and best validation accuracy, test accuracy (best weights), final
training accuracy (measured during the last epoch, with dropout and augmentation on), the
training accuracy of the best weights in eval mode and the train-test gap (with ``run.eval_train``), the
epoch, step and training seconds at which a target is first reached (``train_accuracy >= 0.75``
for instance), and the parameter count. Written as CSV, JSON and Markdown.

>>> rows = summarise(results, target=("val_accuracy", 0.9))   # doctest: +SKIP
>>> print(markdown_table(rows))                              # doctest: +SKIP
"""

import csv
import io
import math
import statistics

from striate.training.watch import Watch

ACCURACY_FIGURES = ("final_val_accuracy", "best_val_accuracy", "test_accuracy", "final_train_accuracy",
                    "train_eval_accuracy", "train_test_gap")
TARGET_FIGURES = ("epochs_to_target", "steps_to_target", "seconds_to_target")
PERCENT = {"final_val_accuracy", "best_val_accuracy", "test_accuracy", "final_train_accuracy", "train_eval_accuracy",
           "train_test_gap"}
# the figures of task runs (keypoints, segmentation, autoencoder): name in headers, decimals shown
TASK_FIGURES = {"miou": ("mean IoU", 4), "rmse": ("RMSE px", 3), "mse": ("MSE", 5)}
TASK_KINDS = (("final_val", "final val"), ("best_val", "best val"), ("test", "test"), ("final_train", "train (running)"))
FIGURES = (*ACCURACY_FIGURES, *(f"{kind}_{metric}" for metric in TASK_FIGURES for kind, _ in TASK_KINDS),
           *TARGET_FIGURES)
DIGITS = {f"{kind}_{metric}": digits for metric, (_, digits) in TASK_FIGURES.items() for kind, _ in TASK_KINDS}
# column headers of the printed and Markdown tables
HEADERS = {"final_val_accuracy": "final val %", "best_val_accuracy": "best val %", "test_accuracy": "test %",
           "final_train_accuracy": "train % (running)", "train_eval_accuracy": "train % (eval)",
           "train_test_gap": "train-test gap %", "epochs_to_target": "epochs to target",
           "steps_to_target": "steps to target", "seconds_to_target": "seconds to target", "train_seconds": "train seconds",
           **{f"{kind}_{metric}": f"{head} {name}" for metric, (name, _) in TASK_FIGURES.items() for kind, head in TASK_KINDS}}


def reach_target(history: list[dict], target: Watch, threshold: float) -> dict:
    """The first epoch whose watched figure ``target`` reaches ``threshold`` (at or beyond it in its better
    direction: at or above for accuracies, at or below for losses and errors), with the optimizer steps and
    training seconds spent until then; None values if never reached."""
    seconds = 0.0
    for figures in history:
        seconds += figures.get("seconds", 0.0)
        if target.reached(figures.get(target.name), threshold):
            return {"epochs_to_target": figures["epoch"], "steps_to_target": figures["step"], "seconds_to_target": seconds}
    return {"epochs_to_target": None, "steps_to_target": None, "seconds_to_target": None}


def run_figures(result: dict, target: tuple[Watch, float] | None) -> dict:
    """The figures of one run (see the module docstring), of its task's metric (accuracy, mean IoU, ...)."""
    summary, history = result["summary"], result["history"]
    final = history[-1] if history and "failed" not in result else {}  # a diverged run has no final figures
    metric = summary.get("metric", "accuracy")
    test = summary.get(f"test_{metric}", summary.get("test", {}).get(metric))
    figures = {f"final_val_{metric}": final.get(f"val_{metric}"), f"best_val_{metric}": summary.get(f"best_val_{metric}"),
               f"test_{metric}": test, f"final_train_{metric}": final.get(f"train_{metric}"),
               "train_seconds": summary.get("train_seconds"), "epochs": summary.get("epochs"),
               "parameters": summary.get("parameters")}
    if summary.get(f"train_eval_{metric}") is not None:
        figures[f"train_eval_{metric}"] = summary[f"train_eval_{metric}"]
        figures["train_test_gap"] = summary[f"train_eval_{metric}"] - test
    if target is not None:
        figures |= reach_target(history, *target)
    return figures


def spread(values: list) -> dict:
    """Mean, standard deviation (population), min and max of the values that exist; ``reached`` counts them."""
    present = [float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not present:
        return {"mean": None, "std": None, "min": None, "max": None, "reached": 0, "runs": len(values)}
    return {"mean": statistics.fmean(present), "std": statistics.pstdev(present), "min": min(present),
            "max": max(present), "reached": len(present), "runs": len(values)}


def summarise(results: list[dict], target: tuple[str, float] | None = None) -> list[dict]:
    """One row per arm (in the order of first appearance) from the runs' results."""
    arms: dict[str, list[dict]] = {}
    settings: dict[str, dict] = {}
    for result in results:
        label = result["arm"].label
        arms.setdefault(label, []).append(result)
        settings[label] = {key: value for key, value in result["arm"].settings}
    rows = []
    for label, runs in arms.items():
        per_run = [run_figures(run, target) for run in runs]
        row = {"arm": label, "settings": settings[label], "seeds": [run["seed"] for run in runs],
               "runs": [run["run_dir"] for run in runs], "failed": [run["failed"] for run in runs if "failed" in run],
               "parameters": next((f["parameters"] for f in per_run if f["parameters"] is not None), None)}
        for figure in (*FIGURES, "train_seconds"):
            if any(figure in figures for figures in per_run):
                row[figure] = spread([figures.get(figure) for figures in per_run])
        rows.append(row)
    return rows


def _cell(figure: str, stats: dict) -> str:
    """'98.12 ± 0.10' for accuracies (in %), '4.0 ± 0.0' for counts, '-' when never reached."""
    if stats["mean"] is None:
        return "-"
    percent = figure in PERCENT
    scale, digits = (100.0, 2) if percent else (1.0, DIGITS.get(figure, 1))
    text = f"{scale * stats['mean']:.{digits}f} ± {scale * stats['std']:.{digits}f}"
    if stats["reached"] < stats["runs"]:
        text += f" ({stats['reached']}/{stats['runs']})"
    return text


def table_columns(rows: list[dict]) -> list[str]:
    return [figure for figure in (*FIGURES, "train_seconds") if any(figure in row for row in rows)]


def text_rows(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    """Headers and cells for printing: accuracies in %, mean ± std over seeds."""
    columns = table_columns(rows)
    headers = ["arm", "seeds", *(HEADERS[c] for c in columns), "parameters"]
    cells = [[row["arm"], _seeds_cell(row), *(_cell(c, row[c]) if c in row else "-" for c in columns),
              "-" if row["parameters"] is None else f"{row['parameters']:,}"] for row in rows]
    return headers, cells


def _seeds_cell(row: dict) -> str:
    """'3', or '3 (1 diverged)' when some runs failed."""
    failed = len(row.get("failed", []))
    return f"{len(row['seeds'])} ({failed} diverged)" if failed else str(len(row["seeds"]))


def markdown_table(rows: list[dict]) -> str:
    headers, cells = text_rows(rows)
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in cells]
    return "\n".join(lines) + "\n"


def csv_table(rows: list[dict]) -> str:
    """Machine-readable: the settings as columns, each figure as _mean and _std columns (fractions, not %)."""
    columns = table_columns(rows)
    keys = list(dict.fromkeys(key for row in rows for key in row["settings"]))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["arm", *keys, "seeds", *(f"{c}_{s}" for c in columns for s in ("mean", "std")), "parameters"])
    for row in rows:
        values = [row[c][s] if c in row else None for c in columns for s in ("mean", "std")]
        writer.writerow([row["arm"], *(row["settings"].get(key) for key in keys), len(row["seeds"]),
                         *("" if v is None else f"{v:.6g}" for v in values), row["parameters"]])
    return buffer.getvalue()
