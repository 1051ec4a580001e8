"""Run logs: per-epoch figures in metrics.jsonl and metrics.csv, the learning rate and loss of every step
in steps.csv, and TensorBoard event files when asked. On resume the logs are cut back to the checkpoint,
so a resumed run's logs read as if it had never stopped.
"""

import csv
import io
import json
from pathlib import Path

from striate.errors import ConfigError
from striate.files import atomic_write_bytes

STEP_COLUMNS = ("step", "epoch", "lr", "loss")


def _scalar_items(figures: dict) -> dict:
    return {key: value for key, value in figures.items() if isinstance(value, (int, float))}


class RunLog:
    """Appends to the run's log files (only rank 0 makes one)."""

    def __init__(self, root: Path, tensorboard: bool = False):
        self.root = Path(root)
        self.pending_steps: list[tuple] = []
        self.writer = _tensorboard_writer(self.root / "tensorboard") if tensorboard else None

    def step(self, step: int, epoch: int, lr: float, loss: float) -> None:
        self.pending_steps.append((step, epoch, lr, loss))
        if self.writer is not None:
            self.writer.add_scalar("train/lr", lr, step)
            self.writer.add_scalar("train/loss_step", loss, step)

    def flush_steps(self) -> None:
        """Write the buffered step lines (called at each checkpoint, so the files match it)."""
        path = self.root / "steps.csv"
        new = not path.exists()
        with path.open("a", newline="") as file:
            writer = csv.writer(file, lineterminator="\n")
            if new:
                writer.writerow(STEP_COLUMNS)
            writer.writerows(self.pending_steps)
        self.pending_steps.clear()

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
        if self.writer is not None:
            for key, value in scalars.items():
                if key not in ("epoch", "step"):
                    self.writer.add_scalar(key.replace("_", "/", 1), value, figures["step"])
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _tensorboard_writer(folder: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ConfigError("run.tensorboard needs the tensorboard package: pip install 'striate[tensorboard]'") from None
    return SummaryWriter(log_dir=str(folder))


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
