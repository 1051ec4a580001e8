"""Training curves: loss and accuracy, training against validation, per epoch; the
learning rate per step when the run recorded it (per epoch otherwise).

>>> history = read_metrics("runs/lenet5-mnist")                          # doctest: +SKIP
>>> plot_training_curves(history, "curves.png", read_step_records("runs/lenet5-mnist"))  # doctest: +SKIP
"""

import csv
from pathlib import Path

from striate.errors import RunError
from striate.session import RunPaths, read_history
from striate.visualize.figure import finish_figure, new_figure

# the run's per-step log (written by striate.training.logs): step, epoch, lr, loss
STEP_FILE = "steps.csv"


def read_metrics(run_dir: str | Path) -> list[dict]:
    """The run's per-epoch figures (metrics.jsonl, read by the session's one reader), oldest first; raises
    RunError when the run has none yet."""
    history = read_history(RunPaths(Path(run_dir)))
    if not history:
        raise RunError(f"{run_dir} has no metrics.jsonl: train the run first ('striate train') or give a run directory")
    return history


def read_step_records(run_dir: str | Path) -> list[dict]:
    """Per-step records (``{"step": .., "lr": .., ...}``) from the run's steps.csv, or [] when it has none."""
    path = Path(run_dir) / STEP_FILE
    if not path.is_file():
        return []
    try:
        with path.open(newline="") as file:
            return [{key: float(value) for key, value in row.items()} | {"step": int(row["step"])}
                    for row in csv.DictReader(file)]
    except (KeyError, ValueError, TypeError) as error:
        raise RunError(f"{path}: damaged step log ({error}); expected columns step, epoch, lr, loss") from None


def _plot_pair(axis, history: list[dict], key: str, label: str, scale: float = 1.0) -> None:
    from matplotlib.ticker import MaxNLocator

    epochs = [record["epoch"] for record in history]
    for split, style in (("train", "-o"), ("val", "-s")):
        values = [record.get(f"{split}_{key}") for record in history]
        points = [(e, v * scale) for e, v in zip(epochs, values) if v is not None]
        if points:
            axis.plot(*zip(*points), style, markersize=3, label="training" if split == "train" else "validation")
    axis.set_xlabel("epoch")
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_ylabel(label)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)


def plot_training_curves(history: list[dict], path: str | Path | None = None, steps: list[dict] | None = None,
                         figure: tuple[str, str, float] = ("accuracy", "accuracy (%)", 100.0),
                         loss_label: str = "cross-entropy loss"):
    """Loss, accuracy (or a task's ``figure``: key, axis label, scale, as ``("miou", "mean IoU", 1.0)``) and
    learning rate in three panels; returns ``path`` once the PNG is written, or the matplotlib Figure
    when ``path`` is None.

    ``history`` holds per-epoch dicts as ``fit`` returns them (``train_loss``, ``val_loss``,
    ``train_accuracy``, ``val_accuracy``, ``lr``); ``steps`` optional per-step ``{"step", "lr"}``.
    """
    key, label, scale = figure
    from matplotlib.ticker import MaxNLocator

    if not history:
        raise RunError("no epochs recorded: the run has no figures to plot yet")
    canvas, axes = new_figure(3, 1, width=13.5, height=3.6)
    _plot_pair(axes[0, 0], history, "loss", loss_label)
    axes[0, 0].set_title("loss")
    _plot_pair(axes[0, 1], history, key, label, scale=scale)
    axes[0, 1].set_title(label.split(" (")[0])
    lr_axis = axes[0, 2]
    if steps:
        lr_axis.plot([s["step"] for s in steps], [s["lr"] for s in steps], "-", linewidth=1.2)
        lr_axis.set_xlabel("step")
        lr_axis.set_title("learning rate per step")
    else:
        lr_axis.plot([r["epoch"] for r in history], [r.get("lr", float("nan")) for r in history], "-o", markersize=3)
        lr_axis.set_xlabel("epoch")
        lr_axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        lr_axis.set_title("learning rate (start of each epoch)")
    lr_axis.set_ylabel("learning rate")
    lr_axis.grid(alpha=0.3)
    canvas.tight_layout()
    return finish_figure(canvas, path)
