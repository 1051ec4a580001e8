"""Run logs: per-epoch figures in metrics.jsonl and metrics.csv, the learning rate and loss of every step
in steps.csv, the console's lines in train.log, and the trackers a run asks for: TensorBoard event files
(``run.tensorboard``, striate.training.tensorboard_log) and MLflow (``run.mlflow``,
striate.training.mlflow_log). On resume the logs are cut back to the checkpoint, so a resumed run's logs read as
if it had never stopped (train.log, a record of the sessions, is appended to).

>>> log = RunLog(paths.root, config, model, train_loader)   # doctest: +SKIP
>>> log.step(1, 1, 0.1, 2.3); log.epoch(figures); log.close()   # doctest: +SKIP
>>> log_run_end(paths.root, config, result, class_names)   # doctest: +SKIP
"""

import csv
import io
import json
from pathlib import Path

import torch

from striate.console import FILE_ONLY, get_logger, log_file
from striate.files import atomic_write_bytes
from striate.training.config import config_to_dict

STEP_COLUMNS = ("step", "epoch", "lr", "loss")
READ_EVERY = 100  # with TensorBoard on, the step losses are read (and logged) this many at a time
TRAIN_LOG = "train.log"

_log = get_logger(__name__)


def numbers(values: list) -> list:
    """``values`` (numbers and 0-d tensors) as numbers: the tensors are read together, one wait for the device."""
    tensors = [value.detach().reshape(()) for value in values if isinstance(value, torch.Tensor)]
    read = iter(torch.stack(tensors).tolist() if tensors else [])
    return [next(read) if isinstance(value, torch.Tensor) else value for value in values]


def _scalar_items(figures: dict) -> dict:
    return {key: value for key, value in figures.items() if isinstance(value, (int, float))}


def flat_config(config) -> dict:
    """The config as one level of dotted keys, for trackers: {'optim.lr': 0.02, 'model.args.hidden': [32], ...}."""
    flat = {}

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict) and value:
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        else:
            flat[prefix] = value

    walk("", config_to_dict(config))
    return flat


def check_trackers(run) -> None:
    """A ConfigError before anything is written when a tracker the run asks for (``run``: a RunConfig) is
    not installed: one line naming the extra to install."""
    if run.tensorboard:
        from striate.training.tensorboard_log import check_installed as tensorboard_installed

        tensorboard_installed()
    if run.mlflow:
        from striate.training.mlflow_log import check_installed

        check_installed()


class RunLog:
    """Appends to the run's log files and trackers (only rank 0 makes one). ``config`` says which trackers;
    ``model`` and ``train_loader`` feed TensorBoard's images and histograms; ``resumed_at`` is the step of the
    checkpoint a resumed session starts from."""

    def __init__(self, root: Path, config=None, model=None, train_loader=None, resumed_at: int | None = None):
        self.root = Path(root)
        self.pending_steps: list[tuple] = []
        self.boarded = 0  # how many of the pending steps TensorBoard has had
        run = config.run if config is not None else None
        self.board = self.tracker = None
        if run is not None and run.tensorboard:
            from striate.training.tensorboard_log import TensorBoardLog

            every = run.monitor_every if run.monitor else 0  # 0: once an epoch
            self.board = TensorBoardLog(self.root / "tensorboard", model, train_loader, resumed_at, every)
            _log.info(f"note: TensorBoard event files in {self.root / 'tensorboard'} "
                      f"(see them with: tensorboard --logdir {self.root.parent})")
        if run is not None and run.mlflow:
            from striate.training.mlflow_log import MlflowLog

            self.tracker = MlflowLog.start(self.root, flat_config(config), resumed=resumed_at is not None)
            _log.info(f"note: MLflow run {self.tracker.run_id} in {self.tracker.uri}")
        _log.debug(f"logs: metrics.jsonl, metrics.csv, steps.csv and {TRAIN_LOG} in {self.root}")

    def step(self, step: int, epoch: int, lr: float, loss: float | torch.Tensor) -> None:
        """One step's line; ``loss`` may be a 0-d tensor on the device, read with the others (one wait for a GPU
        every ``READ_EVERY`` steps with TensorBoard on, else when the lines are written)."""
        self.pending_steps.append((step, epoch, lr, loss))
        if self.board is not None:
            self.board.step(step)
            if len(self.pending_steps) - self.boarded >= READ_EVERY:
                self._read_steps()

    def _read_steps(self) -> None:
        """The pending steps' losses as numbers, in one read; TensorBoard gets those it has not had."""
        losses = numbers([loss for *_, loss in self.pending_steps])
        self.pending_steps = [(*row[:3], loss) for row, loss in zip(self.pending_steps, losses)]
        if self.board is not None:
            for step, _, lr, loss in self.pending_steps[self.boarded:]:
                self.board.step_scalars(step, lr, loss)
        self.boarded = len(self.pending_steps)

    def flush_steps(self) -> None:
        """Write the buffered step lines (called at each checkpoint, so the files match it)."""
        self._read_steps()
        path = self.root / "steps.csv"
        new = not path.exists()
        with path.open("a", newline="") as file:
            writer = csv.writer(file, lineterminator="\n")
            if new:
                writer.writerow(STEP_COLUMNS)
            writer.writerows(self.pending_steps)
        self.pending_steps.clear()
        self.boarded = 0

    def epoch(self, figures: dict) -> None:
        with (self.root / "metrics.jsonl").open("a") as file:
            file.write(json.dumps(figures) + "\n")
        scalars = _scalar_items(figures)
        path = self.root / "metrics.csv"
        new = not path.exists()
        with path.open("a", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=list(scalars), extrasaction="ignore", lineterminator="\n")
            if new:
                writer.writeheader()
            writer.writerow(scalars)
        if self.board is not None:
            self.board.epoch(figures)
        if self.tracker is not None:
            self.tracker.epoch(figures)

    def close(self, failed: bool = False) -> None:
        """End the session's logs; ``failed`` (an exception is on its way) ends the MLflow run as FAILED."""
        if self.board is not None:
            self.board.close()
        if self.tracker is not None:
            self.tracker.close(failed)


def run_log_file(root: Path, enabled: bool = True):
    """``RUN/train.log`` receives the console's lines (epoch lines, notes, warnings) while the block runs."""
    return log_file(Path(root) / TRAIN_LOG, enabled)


def final_figures(summary: dict) -> dict:
    """The single-number figures of a finished run: summary.json's (best_val_accuracy, epochs, ...) and its
    test figures as test_<name>."""
    numbers = {name: value for name, value in summary.items()
               if isinstance(value, (int, float)) and not isinstance(value, bool)}
    test = {f"test_{name}": value for name, value in (summary.get("test") or {}).items()
            if isinstance(value, (int, float)) and not isinstance(value, bool)}
    return numbers | test


def log_run_end(root: Path, config, result: dict, class_names=()) -> None:
    """The end of a run for its trackers and train.log: the final figures (``result``: the session's, with
    its summary, test figures and history), TensorBoard's hparams and confusion matrix, MLflow's artefacts."""
    figures = final_figures(result["summary"])
    _log.info("finished: " + ", ".join(f"{name} {value:.4g}" for name, value in figures.items()
                                          if name.startswith(("test_", "best_val_"))), extra=FILE_ONLY)
    history = result.get("history") or [{}]
    if config.run.tensorboard:
        from striate.training.tensorboard_log import write_run_end

        write_run_end(Path(root) / "tensorboard", flat_config(config), figures, history[-1].get("step", 0),
                      result.get("test", {}).get("confusion"), class_names)
    if config.run.mlflow:
        from striate.training.mlflow_log import MlflowLog

        MlflowLog.reopen(root).end(figures, history[-1].get("epoch", 0))


def truncate_logs(root: Path, epoch: int, step: int) -> None:
    """Keep only the log lines up to a checkpoint taken after ``epoch`` full epochs and ``step`` steps."""
    root = Path(root)
    jsonl = root / "metrics.jsonl"
    if jsonl.exists():
        lines = [line for line in jsonl.read_text().splitlines() if _epoch_of(line) <= epoch]
        atomic_write_bytes(jsonl, "".join(line + "\n" for line in lines).encode())
    for name, column, limit in (("metrics.csv", "epoch", epoch), ("steps.csv", "step", step)):
        path = root / name
        if not path.exists():
            continue
        reader = csv.DictReader(path.read_text().splitlines())
        rows = [row for row in reader if _number(row.get(column)) <= limit and None not in row.values()]
        if not rows:
            path.unlink()
            continue
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=reader.fieldnames, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_bytes(path, buffer.getvalue().encode())


def _epoch_of(line: str) -> float:
    """The epoch of a metrics.jsonl line; a line cut short by a kill counts as after any checkpoint."""
    try:
        return json.loads(line)["epoch"]
    except (json.JSONDecodeError, KeyError, TypeError):
        return float("inf")


def _number(text) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return float("inf")
