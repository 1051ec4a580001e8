"""A run directory: its layout, its creation, the files that describe it (config.yaml, model.json,
preprocess.safetensors, summary.json) and the one reader of its history (metrics.jsonl).

    runs/<name>/
      config.yaml       the resolved configuration
      metrics.jsonl     one line of figures per epoch (metrics.csv: the same as a table)
      steps.csv         step, epoch, learning rate and loss of every step
      checkpoint.safetensors  everything needed to resume exactly (striate train --resume RUN)
      tensorboard/      event files, with run.tensorboard
      train.log         the console's lines: epoch lines, notes, warnings (appended by each session)
      mlflow.json       the MLflow tracking URI and run id, with run.mlflow
      best.safetensors  weights with the best validation accuracy
      last.safetensors  weights after the last epoch
      model.json        model name and arguments, class names, input shape,
                        preprocessing, striate version (the weights' sidecar)
      summary.json      final figures; summary.txt the same for people

>>> history = read_history(RunPaths(Path("runs/lenet5-mnist")))   # doctest: +SKIP
"""

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from striate.data.preprocess import ARRAYS_FILE, NORMALIZE_METHODS, split_arrays
from striate.errors import RunError, clip, short
from striate.files import atomic_write_bytes, atomic_write_json
from striate.pretrained import find_pretrained
from striate.training.config import config_to_dict

WEIGHT_FILES = ("best", "last")
MAX_META_BYTES = 10 * 1024**2  # model.json (and summary.json): a few kB in a real run
MAX_METRICS_BYTES = 256 * 1024**2  # metrics.jsonl: one short line an epoch
MAX_CLASSES = 100_000
MAX_CHANNELS = 4
MAX_INPUT_SIZE = 4096  # the network's input side, in pixels
MAX_NATIVE_SIZE = 16384  # the training images' own side, in pixels


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


def _read_json(path: Path, limit: int, damaged: str):
    """The JSON in ``path`` (at most ``limit`` bytes); RunError naming the file when it is unreadable."""
    size = path.stat().st_size
    if size > limit:
        raise RunError(f"{path}: {size:,} bytes, more than the {limit:,} bytes such a file can hold; {damaged}")
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as error:  # JSONDecodeError is a ValueError
        raise RunError(f"{path}: corrupt JSON ({clip(error, 120)}); {damaged}") from None


class _Bad(Exception):
    """What is wrong with one field of model.json (read_meta turns it into a RunError naming the file)."""


def _int(value, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Bad(f"'{where}' must be a whole number, found {short(value)}")
    if not low <= value <= high:
        raise _Bad(f"'{where}' is {short(value)}; expected {low}..{high}")
    return value


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _Bad(f"'{where}' must be a finite number, found {short(value)}")
    return value


def _object(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise _Bad(f"'{where}' must be a JSON object, found {short(value)}")
    return value


def _strings(value, where: str, low: int, high: int) -> list:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _Bad(f"'{where}' must be a list of strings, found {short(value)}")
    if not low <= len(value) <= high:
        raise _Bad(f"'{where}' has {len(value)} entries; expected {low}..{high}")
    return value


def _numbers(value, where: str, length: int) -> list:
    if not isinstance(value, list) or len(value) != length:
        raise _Bad(f"'{where}' must be a list of {length} numbers (one per channel), found {short(value)}")
    for index, item in enumerate(value):
        _number(item, f"{where}[{index}]")
    return value


def _check_preprocess(preprocess) -> int:
    _object(preprocess, "preprocess")
    for key in ("channels", "input_size", "mean", "std"):
        if key not in preprocess:
            raise _Bad(f"'preprocess' has no '{key}'")
    channels = _int(preprocess["channels"], "preprocess.channels", 1, MAX_CHANNELS)
    _int(preprocess["input_size"], "preprocess.input_size", 1, MAX_INPUT_SIZE)
    _numbers(preprocess["mean"], "preprocess.mean", channels)
    _numbers(preprocess["std"], "preprocess.std", channels)
    if "native_size" in preprocess:
        native = preprocess["native_size"]
        if not isinstance(native, list) or len(native) != 2:
            raise _Bad(f"'preprocess.native_size' must be [height, width], found {short(native)}")
        for index, side in enumerate(native):
            _int(side, f"preprocess.native_size[{index}]", 1, MAX_NATIVE_SIZE)
    if "normalize" in preprocess and preprocess["normalize"] not in NORMALIZE_METHODS:
        raise _Bad(f"'preprocess.normalize' is {short(preprocess['normalize'])}; expected one of {NORMALIZE_METHODS}")
    if "fit" in preprocess and not isinstance(preprocess["fit"], str):
        raise _Bad(f"'preprocess.fit' must be a string, found {short(preprocess['fit'])}")
    if "arrays_file" in preprocess and preprocess["arrays_file"] != ARRAYS_FILE:
        raise _Bad(f"'preprocess.arrays_file' is {short(preprocess['arrays_file'])}; expected '{ARRAYS_FILE}' "
                   "(a file inside the run directory)")
    return channels


def _check_meta(meta) -> dict:
    """``meta`` if it has the shape of a model.json (raises _Bad with what is wrong): checked before any of
    it builds a model or sizes a tensor, so an absurd num_classes or input size is refused up front."""
    _object(meta, "model.json")
    for key in ("model", "class_names", "input_shape", "preprocess"):
        if key not in meta:
            raise _Bad(f"no '{key}' entry")
    model = _object(meta["model"], "model")
    if not isinstance(model.get("name"), str) or not model["name"]:
        raise _Bad(f"'model.name' must be a model name (a string), found {short(model.get('name'))}")
    args = _object(model.get("args"), "model.args")
    num_classes = _int(args["num_classes"], "model.args.num_classes", 0, MAX_CLASSES) if "num_classes" in args \
        else None
    for key, high in (("in_channels", MAX_CHANNELS), ("input_size", MAX_INPUT_SIZE)):
        if key in args:
            _int(args[key], f"model.args.{key}", 1, high)
    names = _strings(meta["class_names"], "class_names", 0 if num_classes == 0 else 1, MAX_CLASSES)
    if num_classes and num_classes != len(names):
        raise _Bad(f"'model.args.num_classes' is {num_classes} but 'class_names' lists {len(names)} names")
    if "names" in meta:
        _strings(meta["names"], "names", 0, MAX_CLASSES)
    shape = meta["input_shape"]
    if not isinstance(shape, list) or len(shape) != 3:
        raise _Bad(f"'input_shape' must be [channels, height, width], found {short(shape)}")
    _int(shape[0], "input_shape[0]", 1, MAX_CHANNELS)
    _int(shape[1], "input_shape[1]", 1, MAX_INPUT_SIZE)
    _int(shape[2], "input_shape[2]", 1, MAX_INPUT_SIZE)
    channels = _check_preprocess(meta["preprocess"])
    if shape[0] != channels:
        raise _Bad(f"'input_shape' has {shape[0]} channels but 'preprocess.channels' is {channels}")
    for key in ("task", "striate_version"):
        if key in meta and not isinstance(meta[key], str):
            raise _Bad(f"'{key}' must be a string, found {short(meta[key])}")
    for key in ("transfer", "data"):
        if meta.get(key) is not None:
            _object(meta[key], key)
    if meta.get("transfer") and meta["transfer"].get("plan") is not None:
        _object(meta["transfer"]["plan"], "transfer.plan")
    if meta.get("class_weights") is not None:
        weights = meta["class_weights"]
        if not isinstance(weights, list):
            raise _Bad(f"'class_weights' must be a list of numbers, found {short(weights)}")
        _numbers(weights, "class_weights", len(names))
    if meta.get("swap") is not None:
        swap = meta["swap"]
        if not isinstance(swap, list) or len(swap) > MAX_CLASSES:
            raise _Bad(f"'swap' must be a list of keypoint indices, found {short(swap)}")
        for index, item in enumerate(swap):
            _int(item, f"swap[{index}]", 0, max(len(swap) - 1, 0))
    return meta


def read_meta(run_dir: str | Path) -> dict:
    """The run's model.json, checked against its schema (at most MAX_META_BYTES; a JSON object with
    model name and args, class_names, input_shape and preprocess of sane sizes that agree); raises
    RunError when the run is missing, incomplete or its model.json is damaged."""
    paths = RunPaths(find_pretrained(run_dir) or Path(run_dir))  # a shipped network by name, too
    if not paths.root.is_dir():
        raise RunError(f"run directory not found: {paths.root}; give a folder made by 'striate train' (e.g. runs/NAME)")
    if not paths.meta.is_file():
        raise RunError(f"{paths.root} has no model.json: it is not a finished striate run (train one with 'striate train')")
    damaged = "the run directory is damaged (train it again, or restore model.json)"
    meta = _read_json(paths.meta, MAX_META_BYTES, damaged)
    try:
        return _check_meta(meta)
    except _Bad as error:
        raise RunError(f"{paths.meta}: {error}; {damaged}") from None


def read_history(paths: RunPaths) -> list[dict]:
    """The per-epoch figures the run has logged (metrics.jsonl), oldest first (all epochs after a resume);
    [] before the first epoch ends. A damaged line is a RunError naming the file and line."""
    if not paths.metrics.is_file():
        return []
    size = paths.metrics.stat().st_size
    if size > MAX_METRICS_BYTES:
        raise RunError(f"{paths.metrics}: {size:,} bytes, more than the {MAX_METRICS_BYTES:,} bytes a metrics file "
                       "can hold; the run's metrics file is damaged")
    try:
        text = paths.metrics.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise RunError(f"{paths.metrics}: not UTF-8 text; the run's metrics file is damaged") from None
    history = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError) as error:
            raise RunError(f"{paths.metrics}, line {number}: corrupt JSON ({clip(error, 120)}); the run's metrics "
                           "file is damaged") from None
        if not isinstance(record, dict) or "epoch" not in record:
            raise RunError(f"{paths.metrics}, line {number}: not a line of epoch figures; the run's metrics file is damaged")
        history.append(record)
    return history


def read_summary(paths: RunPaths) -> dict:
    """The run's summary.json ({} while it is unfinished)."""
    if not paths.summary.is_file():
        return {}
    summary = _read_json(paths.summary, MAX_META_BYTES, "the run directory is damaged")
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
    kept = f" (kept: {summary['best_is']})" if summary.get("best_is", "").startswith("the last epoch") else ""
    text = (f"run {paths.root}\nmodel {model_line}\nbest epoch {best['epoch']}: {watch} {value}{kept}\n"
            f"test {test_line}\ntraining time {summary['train_seconds']:.1f}s\n")
    atomic_write_bytes(paths.root / "summary.txt", text.encode())
