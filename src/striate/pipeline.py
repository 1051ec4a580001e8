"""From a :class:`Config` to a finished run directory: data, model, optimizer, loop, files.

Everything that can fail on bad input (data, model, optimizer names) is checked
before the run directory is created, so a bad command leaves nothing behind.

>>> from striate.train.config import Config
>>> result = train_from_config(Config())   # doctest: +SKIP
>>> result["test"]["accuracy"]            # doctest: +SKIP
0.982
"""

import json
import random
from dataclasses import dataclass

import numpy as np
import torch
import yaml

import striate
from striate.data import DeviceLoader, ImageSet, fit_to_size, load_source, make_splits
from striate.data.augment import build_augment
from striate.data.preprocess import ARRAYS_FILE, fit_preprocess, make_normalizer, split_arrays
from striate.data.sources import select_classes
from striate.errors import ConfigError
from striate.layers import init_weights
from striate.models import create_model
from striate.models.spec import is_spec_path, read_spec
from striate.runs import RunPaths, new_run_dir
from striate.train.checkpoint import atomic_write_bytes, atomic_write_json, save_weights
from striate.train.config import Config, config_to_dict
from striate.train.loop import evaluate, fit
from striate.train.optim import build_optimizer, build_schedule
from striate.train.progress import make_progress


def resolve_device(name: str) -> torch.device:
    """'auto' -> CUDA when present, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"run.device is '{name}' but no CUDA GPU is available; use run.device: auto or cpu")
    try:
        return torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown run.device '{name}'; expected auto, cpu, cuda or cuda:N") from None


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@dataclass
class PreparedData:
    splits: dict[str, ImageSet]  # train / val / test, brought to the input size
    preprocess: dict  # how any image becomes a network input (stored with the run)


def prepare_data(config: Config) -> PreparedData:
    """Load the source, split it (seeded, stratified), fit images to the input size, and measure
    the normalisation on the training split only."""
    data = config.data
    if data.loader == "streaming" and data.classes:
        raise ConfigError("data.classes works with data.loader: device only; drop data.classes or use the device loader")
    if data.loader == "streaming":  # image folders stay on disk; worker processes decode them per batch
        from striate.data.fileset import prepare_streaming

        return PreparedData(*prepare_streaming(data))
    if data.loader != "device":
        raise ConfigError(f"unknown data.loader '{data.loader}'; expected device or streaming")
    raw = select_classes(load_source(data.source, data.path, **source_options(config)), data.classes)
    native = list(raw["train"].image_shape)
    splits = make_splits(raw, data.val_fraction, data.test_fraction, data.split_seed, data.folds, data.fold)
    splits = {name: ImageSet(fit_to_size(part.images, data.input_size, data.fit), part.labels, part.class_names)
              for name, part in splits.items()}
    preprocess = {"channels": native[0], "native_size": native[1:], "input_size": data.input_size, "fit": data.fit,
                  **fit_preprocess(splits["train"].images, data.normalize, data.whiten_epsilon)}
    return PreparedData(splits, preprocess)


def source_options(config: Config) -> dict:
    """What file-based sources need to know: the input size (image folders), skip_bad, max_per_class."""
    data = config.data
    return {"input_size": data.input_size, "skip_bad": data.skip_bad, "max_per_class": data.max_per_class}


def model_arguments(config: Config, num_classes: int, preprocess: dict) -> dict:
    """The builder's keyword arguments: shapes from the data, the rest from model.args."""
    args = {"num_classes": num_classes, "in_channels": preprocess["channels"],
            "input_size": preprocess["input_size"], **config.model.args}
    if is_spec_path(config.model.name):  # keep the network spec in the run, so the run does not need the file
        args["spec"] = read_spec(config.model.name)
    return args


def make_loader(part: ImageSet, preprocess: dict, config: Config, device, train: bool) -> DeviceLoader:
    if not isinstance(part, ImageSet):  # a FileSet: data.loader is streaming
        from striate.data.fileset import streaming_loader

        return streaming_loader(part, config.optim.batch_size if train else 512, make_normalizer(preprocess, device),
                                train, config.run.seed, device,
                                build_augment(config.data.augment, preprocess) if train else None, config.data.workers)
    return DeviceLoader(part, config.optim.batch_size if train else 512, preprocess["mean"], preprocess["std"],
                        shuffle=train, seed=config.run.seed, device=device,
                        augment=build_augment(config.data.augment, preprocess) if train else None,
                        normalize=make_normalizer(preprocess, device))


def _write_run_files(paths: RunPaths, config: Config, meta: dict) -> None:
    atomic_write_bytes(paths.config, yaml.safe_dump(config_to_dict(config), sort_keys=False).encode())
    atomic_write_json(paths.meta, meta)


def train_from_config(config: Config, recipe_name: str = "run", stream=None) -> dict:
    """Train as ``config`` says and write the run directory; returns its path and the final figures."""
    device = resolve_device(config.run.device)
    seed_everything(config.run.seed)
    prepared = prepare_data(config)
    splits, preprocess = prepared.splits, prepared.preprocess
    class_names = splits["train"].class_names
    model_args = model_arguments(config, len(class_names), preprocess)
    model = init_weights(create_model(config.model.name, **model_args), config.model.init).to(device)
    optim = config.optim
    optimizer = build_optimizer(model, optim.optimizer, optim.lr, optim.momentum, optim.nesterov, optim.weight_decay)
    train_loader = make_loader(splits["train"], preprocess, config, device, train=True)
    val_loader = make_loader(splits["val"], preprocess, config, device, train=False)
    schedule = build_schedule(optimizer, optim.schedule, optim.epochs * len(train_loader))
    progress = make_progress(config.run.progress, optim.epochs, len(train_loader), stream)

    paths = RunPaths(new_run_dir(config.run.out_dir, config.run.name, recipe_name))
    preprocess_figures, preprocess_arrays = split_arrays(preprocess)  # arrays go to preprocess.safetensors
    if preprocess_arrays is not None:
        atomic_write_bytes(paths.root / ARRAYS_FILE, preprocess_arrays)
    meta = {"striate_version": striate.__version__, "model": {"name": config.model.name, "args": model_args},
            "class_names": class_names, "input_shape": [preprocess["channels"], preprocess["input_size"],
                                                        preprocess["input_size"]],
            "preprocess": preprocess_figures, "data": {"source": config.data.source, "path": config.data.path}}
    _write_run_files(paths, config, meta)
    best = {"val_accuracy": -1.0, "epoch": 0}
    monitor = _make_monitor(config, model, optimizer)

    def on_epoch(figures: dict) -> None:
        if monitor is not None:
            _record_monitor(monitor, figures)
        with paths.metrics.open("a") as file:
            file.write(json.dumps(figures) + "\n")
        save_weights(paths.weights("last"), model.state_dict())
        if not figures["val_accuracy"] <= best["val_accuracy"]:  # better, or no validation figure (NaN)
            best.update(val_accuracy=figures["val_accuracy"], epoch=figures["epoch"])
            save_weights(paths.weights("best"), model.state_dict())
        progress.on_epoch(figures)

    try:
        history = fit(model, optimizer, train_loader, val_loader, optim.epochs, schedule, len(class_names),
                      on_step=progress.on_step, on_epoch=on_epoch)
    finally:
        progress.close()
        if monitor is not None:
            monitor.close()
    return _finish(paths, model, splits, preprocess, config, device, history, best)


def _make_monitor(config: Config, model, optimizer):
    """The per-layer monitor when run.monitor is on (hooks on the model and optimizer), else None."""
    if not config.run.monitor:
        return None
    from striate.diagnose.monitors import LayerMonitor

    return LayerMonitor(model, optimizer, every=config.run.monitor_every)


def _record_monitor(monitor, figures: dict) -> None:
    """Add the epoch's layer statistics to its figures and warn (on stderr) about those out of range."""
    import sys

    figures.update(monitor.epoch_figures())
    for line in figures["monitor_warnings"]:
        print(f"warning: epoch {figures['epoch']}: {line}", file=sys.stderr)


def _finish(paths, model, splits, preprocess, config, device, history, best) -> dict:
    """Evaluate the best weights on the test split and write the summary."""
    from striate.train.checkpoint import load_weights

    model.load_state_dict(load_weights(paths.weights("best")))
    test = evaluate(model, make_loader(splits["test"], preprocess, config, device, train=False), len(splits["train"].class_names))
    summary = {"run": str(paths.root), "best_epoch": best["epoch"], "best_val_accuracy": best["val_accuracy"],
               "test_accuracy": test["accuracy"], "test_loss": test["loss"], "test_count": test["count"],
               "epochs": len(history), "train_seconds": sum(f["seconds"] for f in history),
               "final_train_accuracy": history[-1]["train_accuracy"] if history else None,
               "parameters": sum(p.numel() for p in model.parameters())}
    atomic_write_json(paths.summary, summary)
    text = (f"run {paths.root}\nmodel {config.model.name} ({summary['parameters']:,} parameters)\n"
            f"best epoch {best['epoch']}: validation accuracy {100 * best['val_accuracy']:.2f}%\n"
            f"test accuracy {100 * test['accuracy']:.2f}% on {test['count']} images\n"
            f"training time {summary['train_seconds']:.1f}s\n")
    atomic_write_bytes(paths.root / "summary.txt", text.encode())
    return {"run_dir": paths.root, "history": history, "test": test, "summary": summary}


def held_out_split(config: Config, preprocess: dict, data_path: str | None = None) -> ImageSet:
    """The run's own test split (rebuilt from its recipe and split seed), or the test split of ``data_path``
    brought to the run's input size."""
    from striate.data.sources import infer_source

    data = config.data
    source, path = (infer_source(data_path), data_path) if data_path else (data.source, data.path)
    splits = make_splits(select_classes(load_source(source, path, **source_options(config)), data.classes),
                         data.val_fraction, data.test_fraction, data.split_seed)
    test = splits["test"]
    if test.image_shape[0] != preprocess["channels"]:
        from striate.errors import DataError

        raise DataError(f"the data has {test.image_shape[0]} channels but the run was trained on {preprocess['channels']}")
    return ImageSet(fit_to_size(test.images, preprocess["input_size"], preprocess["fit"]), test.labels, test.class_names)
