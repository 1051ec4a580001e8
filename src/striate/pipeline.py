"""From a :class:`Config` to a finished run directory: data, model, optimizer, loop, files.

Everything that can fail on bad input (data, model, optimizer names) is checked
before the run directory is created, so a bad command leaves nothing behind.

>>> from striate.train.config import Config
>>> result = train_from_config(Config())   # doctest: +SKIP
>>> result["test"]["accuracy"]            # doctest: +SKIP
0.982
"""

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import yaml

import striate
from striate.data import DeviceLoader, ImageSet, fit_to_size, load_source, make_splits
from striate.data.augment import build_augment
from striate.data.preprocess import ARRAYS_FILE, fit_preprocess, make_normalizer, split_arrays
from striate.data.sources import select_classes
from striate.errors import ConfigError, RunError
from striate.layers import init_weights
from striate.models import create_model
from striate.models.spec import is_spec_path, read_spec
from striate.runs import RunPaths, new_run_dir, read_history, write_summary
from striate.train.checkpoint import atomic_write_bytes, atomic_write_json
from striate.train.config import Config, config_to_dict, load_recipe
from striate.train.distributed import RankSlice, ShardedLoader, setup, teardown, world_from_environment
from striate.train.loop import evaluate
from striate.train.losses import build_loss
from striate.train.runner import check_config, prepare_model, run_training


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


def write_run_files(paths: RunPaths, config: Config, meta: dict) -> None:
    atomic_write_bytes(paths.config, yaml.safe_dump(config_to_dict(config), sort_keys=False).encode())
    atomic_write_json(paths.meta, meta)


def train_from_config(config: Config, recipe_name: str = "run", stream=None) -> dict:
    """Train as ``config`` says and write the run directory; returns its path and the final figures.

    Under torchrun every rank calls this; rank 0 writes the run directory and returns the figures.
    A ``data.task`` other than classification goes to striate.tasks.pipeline.train_task_from_config.
    """
    if config.data.task != "classification":
        from striate.tasks.pipeline import train_task_from_config

        return train_task_from_config(config, recipe_name, stream)
    return _train(config, recipe_name, stream)


def resume_run(run_dir: str | Path, stream=None) -> dict:
    """Continue a run from its checkpoint, exactly where it stopped (same result as never stopping).

    >>> result = resume_run("runs/lenet5-mnist")   # doctest: +SKIP
    """
    paths = RunPaths(Path(run_dir))
    if not paths.config.is_file():
        raise RunError(f"{paths.root} has no config.yaml: it is not a striate run directory (give one made by 'striate train')")
    if not paths.checkpoint.is_file():
        raise RunError(f"{paths.root} has no checkpoint.safetensors: it stopped before its first checkpoint; train it again")
    config = load_recipe(paths.config)
    if config.data.task != "classification":  # keypoints, segmentation, autoencoder
        from striate.tasks.pipeline import train_task_from_config

        return train_task_from_config(config, paths.root.name, stream, resume=paths)
    return _train(config, paths.root.name, stream, resume=paths)


def _train(config: Config, recipe_name: str, stream, resume: RunPaths | None = None) -> dict:
    world = world_from_environment()
    device = setup(world, resolve_device(config.run.device))
    seed_everything(config.run.seed)
    prepared = prepare_data(config)
    splits, preprocess = prepared.splits, prepared.preprocess
    class_names = splits["train"].class_names
    model_args = model_arguments(config, len(class_names), preprocess)
    model = prepare_model(init_weights(create_model(config.model.name, **model_args), config.model.init), config, device)
    train_loader = make_loader(splits["train"], preprocess, config, device, train=True)
    val_loader = make_loader(splits["val"], preprocess, config, device, train=False)
    if world.enabled:
        train_loader, val_loader = ShardedLoader(train_loader, world), RankSlice(val_loader, world)

    check_config(config, model, len(train_loader), device)
    paths = resume or _new_run(config, recipe_name, world, model_args, class_names, preprocess)
    try:
        _, best = run_training(model, train_loader, val_loader, config, paths, len(class_names), world, stream,
                               resume=resume is not None, make_monitor=_make_monitor(config))
        if not world.is_main:
            return {"run_dir": None, "history": [], "test": {}, "summary": {}}
        return _finish(paths, model, splits, preprocess, config, device, best)
    finally:
        teardown(world)


def _new_run(config: Config, recipe_name: str, world, model_args: dict, class_names: list, preprocess: dict) -> RunPaths:
    """Rank 0 creates the run directory and writes config.yaml and model.json; other ranks write nothing."""
    if not world.is_main:
        return RunPaths(Path(config.run.out_dir) / f".rank{world.rank}-writes-nothing")
    paths = RunPaths(new_run_dir(config.run.out_dir, config.run.name, recipe_name))
    preprocess_figures, preprocess_arrays = split_arrays(preprocess)  # arrays go to preprocess.safetensors
    if preprocess_arrays is not None:
        atomic_write_bytes(paths.root / ARRAYS_FILE, preprocess_arrays)
    meta = {"striate_version": striate.__version__, "model": {"name": config.model.name, "args": model_args},
            "class_names": class_names, "input_shape": [preprocess["channels"], preprocess["input_size"],
                                                        preprocess["input_size"]],
            "preprocess": preprocess_figures, "data": {"source": config.data.source, "path": config.data.path}}
    write_run_files(paths, config, meta)
    return paths


def _make_monitor(config: Config):
    """A factory of the per-layer monitor (hooks on the model and optimizer) when run.monitor is on, else None."""
    if not config.run.monitor:
        return None
    from striate.diagnose.monitors import LayerMonitor

    return lambda model, optimizer: LayerMonitor(model, optimizer, every=config.run.monitor_every)


def _finish(paths, model, splits, preprocess, config, device, best) -> dict:
    """Evaluate the best weights on the test split and write the summary."""
    from striate.train.checkpoint import load_weights

    history = read_history(paths)
    model.load_state_dict(load_weights(paths.weights("best")))
    test = evaluate(model, make_loader(splits["test"], preprocess, config, device, train=False),
                    len(splits["train"].class_names), build_loss(config.optim.loss))
    best_figures = history[best["epoch"] - 1] if best["epoch"] else {}
    summary = {"run": str(paths.root), "best_epoch": best["epoch"], "watch": config.optim.watch,
               "best_value": best["value"], "best_val_accuracy": best_figures.get("val_accuracy"),
               "test_accuracy": test["accuracy"], "test_top5_error": test["top5_error"], "test_loss": test["loss"],
               "test_count": test["count"], "epochs": len(history), "train_seconds": sum(f["seconds"] for f in history),
               "final_train_accuracy": history[-1]["train_accuracy"] if history else None,
               "parameters": sum(p.numel() for p in model.parameters())}
    if config.run.eval_train:  # the training split as the test split is measured: the honest train/test gap
        train = evaluate(model, make_loader(splits["train"], preprocess, config, device, train=False),
                         len(splits["train"].class_names))
        summary["train_eval_accuracy"] = train["accuracy"]
    write_summary(paths, summary, f"{config.model.name} ({summary['parameters']:,} parameters)", best,
                  config.optim.watch, f"accuracy {100 * test['accuracy']:.2f}% on {test['count']} images")
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
