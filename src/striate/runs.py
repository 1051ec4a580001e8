"""A run directory: its layout, creation, and loading a trained model back.

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

>>> model, meta = load_run_model("runs/lenet5-mnist")   # doctest: +SKIP
"""

import json
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from striate.data.preprocess import load_arrays
from striate.errors import RunError
from striate.models import create_model
from striate.train.checkpoint import atomic_write_bytes, atomic_write_json, load_weights

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
    candidate, index = root / base, 1
    while candidate.exists():
        index += 1
        candidate = root / f"{base}-{index}"
    candidate.mkdir(parents=True)
    return candidate


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


def load_run_model(run_dir: str | Path, which: str = "best", device: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """Rebuild the run's model from model.json and load its ``best`` or ``last`` weights (eval mode)."""
    if which not in WEIGHT_FILES:
        raise RunError(f"unknown weights '{which}'; expected one of {WEIGHT_FILES}")
    meta = read_meta(run_dir)
    meta["preprocess"] = load_arrays(run_dir, meta["preprocess"])  # the mean image / whitening matrix, if any
    model = create_model(meta["model"]["name"], **meta["model"]["args"])
    state = load_weights(RunPaths(Path(run_dir)).weights(which))
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise RunError(f"{run_dir}: the weights do not fit model '{meta['model']['name']}' ({error})") from None
    return model.to(device).eval(), meta


def read_history(paths: RunPaths) -> list[dict]:
    """The per-epoch figures the run has logged (metrics.jsonl), oldest first (all epochs after a resume)."""
    return [json.loads(line) for line in paths.metrics.read_text().splitlines() if line]


def write_summary(paths: RunPaths, summary: dict, model_line: str, best: dict, watch: str, test_line: str) -> None:
    """summary.json, and summary.txt in words: the run, the model, the best epoch, the test figure, the time."""
    value = best["value"] if best["value"] is None else round(best["value"], 4)
    atomic_write_json(paths.summary, summary)
    text = (f"run {paths.root}\nmodel {model_line}\nbest epoch {best['epoch']}: {watch} {value}\n"
            f"test {test_line}\ntraining time {summary['train_seconds']:.1f}s\n")
    atomic_write_bytes(paths.root / "summary.txt", text.encode())
