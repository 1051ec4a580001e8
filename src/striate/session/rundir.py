"""A run directory: its layout, its creation, the files that describe it (config.yaml, model.json,
preprocess.safetensors, summary.json) and the one reader of its history (metrics.jsonl).

    runs/<name>/
      config.yaml       the resolved configuration
      metrics.jsonl     one line of figures per epoch (metrics.csv: the same as a table)
      steps.csv         step, epoch, learning rate and loss of every step
      checkpoint.safetensors  everything needed to resume exactly (striate train --resume RUN)
      tensorboard/      event files, with run.tensorboard
      best.safetensors  weights with the best validation accuracy
      last.safetensors  weights after the last epoch
      model.json        model name and arguments, class names, input shape,
                        preprocessing, striate version (the weights' sidecar)
      summary.json      final figures; summary.txt the same for people

>>> history = read_history(RunPaths(Path("runs/lenet5-mnist")))   # doctest: +SKIP
"""

import json
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from striate.data.preprocess import ARRAYS_FILE, split_arrays
from striate.errors import RunError
from striate.files import atomic_write_bytes, atomic_write_json
from striate.train.config import config_to_dict

WEIGHT_FILES = ("best", "last")


@dataclass(frozen=True)
class RunPaths:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.jsonl"

    @property
    def meta(self) -> Path:
        return self.root / "model.json"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"

    @property
    def checkpoint(self) -> Path:
        return self.root / "checkpoint.safetensors"

    def weights(self, which: str = "best") -> Path:
        return self.root / f"{which}.safetensors"


def new_run_dir(out_dir: str | Path, name: str | None, default_name: str) -> Path:
    """Create ``out_dir/<name>`` (``name`` defaults to ``default_name`` plus the time; a clash adds -2, -3...)."""
    base = name or f"{default_name}-{time.strftime('%Y%m%d-%H%M%S')}"
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    candidate, index = root / base, 1
    while True:
        try:
            candidate.mkdir()  # atomic: two processes never get the same folder
            return candidate
        except FileExistsError:
            index += 1
            candidate = root / f"{base}-{index}"


def read_meta(run_dir: str | Path) -> dict:
    """The run's model.json; raises RunError when the run is missing or incomplete."""
    paths = RunPaths(Path(run_dir))
    if not paths.root.is_dir():
        raise RunError(f"run directory not found: {paths.root}; give a folder made by 'striate train' (e.g. runs/NAME)")
    if not paths.meta.is_file():
        raise RunError(f"{paths.root} has no model.json: it is not a finished striate run (train one with 'striate train')")
    try:
        return json.loads(paths.meta.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RunError(f"{paths.meta}: corrupt JSON ({error}); the run directory is damaged") from None


def read_history(paths: RunPaths) -> list[dict]:
    """The per-epoch figures the run has logged (metrics.jsonl), oldest first (all epochs after a resume);
    [] before the first epoch ends. A damaged line is a RunError naming the file and line."""
    if not paths.metrics.is_file():
        return []
    history = []
    for number, line in enumerate(paths.metrics.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise RunError(f"{paths.metrics}, line {number}: corrupt JSON ({error}); the run's metrics file is damaged") from None
        if not isinstance(record, dict) or "epoch" not in record:
            raise RunError(f"{paths.metrics}, line {number}: not a line of epoch figures; the run's metrics file is damaged")
        history.append(record)
    return history


def read_summary(paths: RunPaths) -> dict:
    """The run's summary.json ({} while it is unfinished)."""
    if not paths.summary.is_file():
        return {}
    try:
        summary = json.loads(paths.summary.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RunError(f"{paths.summary}: corrupt JSON ({error}); the run directory is damaged") from None
    return summary if isinstance(summary, dict) else {}


def write_run_files(paths: RunPaths, config, meta: dict, preprocess: dict) -> None:
    """config.yaml, model.json and (for whitening and mean-image preprocessing) preprocess.safetensors."""
    figures, arrays = split_arrays(preprocess)  # arrays go to preprocess.safetensors
    if arrays is not None:
        atomic_write_bytes(paths.root / ARRAYS_FILE, arrays)
    atomic_write_bytes(paths.config, yaml.safe_dump(config_to_dict(config), sort_keys=False).encode())
    atomic_write_json(paths.meta, meta | {"preprocess": figures})


def write_summary(paths: RunPaths, summary: dict, model_line: str, best: dict, watch: str, test_line: str) -> None:
    """summary.json, and summary.txt in words: the run, the model, the best epoch, the test figure, the time."""
    value = best["value"] if best["value"] is None else round(best["value"], 4)
    atomic_write_json(paths.summary, summary)
    text = (f"run {paths.root}\nmodel {model_line}\nbest epoch {best['epoch']}: {watch} {value}\n"
            f"test {test_line}\ntraining time {summary['train_seconds']:.1f}s\n")
    atomic_write_bytes(paths.root / "summary.txt", text.encode())
