"""Data for transfer: a run's recipe pointed at new data (same split rules), and loaders that prepare
images with a given run's preprocessing."""

from pathlib import Path

import math

import numpy as np
import torch

from striate.data import DeviceLoader
from striate.data.preprocess import make_normalizer
from striate.data.sources import source_of
from striate.errors import DataError
from striate.files import atomic_write_bytes
from striate.session import RunPaths, resolve_device
from striate.session.prepare import read_data, to_input_size
from striate.tasks import ClassificationTask
from striate.training.config import RunConfig, load_recipe, resolve_key
from striate.transfer.codes import extract_codes

CODES_BATCH = 256


def target_config(run_dir: str | Path, data: str | None = None, classes: list | None = None):
    """The run's config with the data switched to ``data`` (a folder or file, or a source name such as
    mnist5k) and, when given, ``data.classes`` set; the split fractions and seed stay the run's. How progress
    is shown is this command's choice, not the source run's (a run trained by 'striate compare' kept 'off')."""
    config = load_recipe(RunPaths(Path(run_dir)).config)
    config.run.progress = RunConfig().progress
    if data:
        config.data.source, config.data.path = source_of(data)
        config.data.loader = "device"
    if classes is not None:
        config.data.classes = list(classes)
    return config


MIN_STEPS = 300  # a transfer trains at least this many steps, however few its images (at most MAX_EPOCHS)
MAX_EPOCHS = 100
STEPS_PER_EPOCH = 10  # the batch is small enough for this many steps an epoch (8 images at least)


def fit_to_data(config, explicit=()) -> dict:
    """Set the batch size, validation share and epochs of a transfer from the target data, not the source
    run (whose recipe was made for its own data): the keys in ``explicit`` (given by the user) stay.

    * validation: 20% of each class under 200 labelled images a class, 10% under 2,000, else the recipe's;
    * batch: the largest power of two (8 at least, the recipe's at most) that gives 10 steps an epoch;
    * epochs: enough for 300 steps (the recipe's at least, 100 at most).

    Returns what was chosen and the split sizes, for :func:`describe_fit`."""
    given = {".".join(resolve_key(key)[:2]) for key in explicit}
    data = read_data(config, ClassificationTask)  # the session's own split rules, classes and budgets
    classes = max(1, len(data.names))
    pool = len(data.splits["train"]) + len(data.splits["val"])
    per_class = pool / classes
    if "data.val_fraction" not in given and per_class < 2000:
        config.data.val_fraction = 0.2 if per_class < 200 else 0.1
    train_count = max(1, round(pool * (1 - config.data.val_fraction)))
    if "optim.batch_size" not in given:
        largest = 2 ** int(math.log2(max(8, train_count // STEPS_PER_EPOCH)))
        config.optim.batch_size = max(1, min(config.optim.batch_size, largest))
    steps = math.ceil(train_count / config.optim.batch_size)
    if "optim.epochs" not in given:
        config.optim.epochs = min(MAX_EPOCHS, max(config.optim.epochs, math.ceil(MIN_STEPS / steps)))
    return {"train": train_count, "val": pool - train_count, "test": len(data.splits["test"]), "classes": classes,
            "batch_size": config.optim.batch_size, "val_fraction": config.data.val_fraction,
            "epochs": config.optim.epochs, "steps_per_epoch": steps, "given": sorted(given)}


def describe_fit(fit: dict) -> str:
    """One line: the split sizes a transfer uses and the settings chosen for them."""
    chosen = ", ".join(f"{label} {value}" for label, value, key in (
        ("batch", fit["batch_size"], "optim.batch_size"), ("epochs", fit["epochs"], "optim.epochs"),
        ("validation", f"{100 * fit['val_fraction']:g}%", "data.val_fraction")) if key not in fit["given"])
    return (f"target data: about {fit['train']} training, {fit['val']} validation and {fit['test']} test images of "
            f"{fit['classes']} classes; {fit['steps_per_epoch']} steps an epoch"
            + (f"; chosen for this data: {chosen} (set them to choose yourself)" if chosen else ""))


def splits_for_run(config, preprocess: dict) -> dict:
    """train/val/test ImageSets of ``config``'s data, split by the session's own rules (fold included) and
    brought to the run's input size."""
    data = read_data(config, ClassificationTask)
    channels = data.source_shape[0]
    if channels != preprocess["channels"]:
        raise DataError(f"the data has {channels} channels but the network takes {preprocess['channels']}; "
                        "give data with as many channels as the source run was trained on")
    return to_input_size(data, config, preprocess)


def eval_loader(part, preprocess: dict, device="cpu", batch_size: int = CODES_BATCH):
    """Batches of ``part`` in order, prepared with ``preprocess`` (a run's normalisation), no augmentation."""
    channels = preprocess["channels"]
    return DeviceLoader(part, batch_size, preprocess.get("mean", [0.0] * channels), preprocess.get("std", [1.0] * channels),
                        device=device, normalize=make_normalizer(preprocess, device))


def split_codes(model, splits: dict, preprocess: dict, layer: str, pooling: str = "avg", device="cpu") -> dict:
    """{split: (codes, labels)} for every split."""
    return {name: extract_codes(model, eval_loader(part, preprocess, device), layer, pooling)
            for name, part in splits.items()}


def write_codes(path: str | Path, codes: dict, class_names: list[str], info: dict) -> Path:
    """Codes and labels per split to ``.npz`` (keys ``train_codes``, ``train_labels``, ..., ``class_names``)
    or ``.safetensors`` (the names and ``info`` in its metadata), atomically."""
    import io
    import json

    path = Path(path)
    arrays = {}
    for split, (values, labels) in codes.items():
        arrays[f"{split}_codes"], arrays[f"{split}_labels"] = np.ascontiguousarray(values), np.ascontiguousarray(labels)
    if path.suffix == ".safetensors":
        from safetensors.numpy import save

        payload = save(arrays, metadata={"class_names": json.dumps(class_names), "striate": json.dumps(info)})
    elif path.suffix == ".npz":
        buffer = io.BytesIO()
        np.savez(buffer, **arrays, class_names=np.array(class_names, dtype=str), info=np.array(json.dumps(info)))
        payload = buffer.getvalue()
    else:
        raise DataError(f"cannot write codes to '{path.name}'; give a file name ending in .npz or .safetensors")
    atomic_write_bytes(path, payload)
    return path


def as_device(name: str) -> torch.device:
    return resolve_device(name)
