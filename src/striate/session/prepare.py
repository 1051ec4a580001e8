"""One preparation of a run, whatever its task: the task chosen from ``data.task`` and checked against the
settings, the data read and split by the task, brought to the input size, the preprocessing measured on
the training split only, the model's arguments, and the loaders. Training and every reader of a finished
run (striate.session.open) go through these functions, so they see the same splits the same way.

Everything that can fail on bad input is checked here, before a run directory exists.

>>> prepared = prepare(load_recipe("recipes/lenet5-mnist.yaml"))      # doctest: +SKIP
>>> loader = make_loader(prepared, "train", config, "cpu", train=True)  # doctest: +SKIP
"""

import random
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from striate.data.augment import build_augment
from striate.data.preprocess import fit_preprocess, make_normalizer
from striate.errors import ConfigError
from striate.layers import init_weights
from striate.models import create_model, list_models, model_task
from striate.models.spec import is_spec_path, read_spec
from striate.tasks import Task, TaskData, task_kind
from striate.training.watch import Watch

EVAL_BATCH = 256  # batch size of evaluation loaders (figures do not depend on it)


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
class Prepared:
    task: Task
    watch: Watch  # the figure that picks the best weights, stops early, drives the plateau schedule
    splits: dict  # train / val / test, at the input size
    preprocess: dict  # how any image becomes a network input (stored with the run)
    names: list[str]  # class names (keypoints: coordinate names)
    model_args: dict  # the model builder's keyword arguments


def choose_task(config, distributed: bool = False) -> tuple[type[Task], Watch]:
    """The task class of ``data.task`` and the watched figure, with the settings the task refuses refused
    and ``optim.watch`` resolved to a figure of the task (written so into config.yaml)."""
    kind = task_kind(config.data.task)
    kind.check_settings(config, distributed)
    name = config.model.name
    if not is_spec_path(name) and model_task(name) != kind.model_kind:
        raise ConfigError(f"model '{name}' does not fit data.task {kind.name}; use one of "
                          f"{', '.join(list_models(kind.model_kind))}")
    watch = kind.watch(config.optim.watch)
    config.optim.watch = watch.name
    return kind, watch


def read_data(config, kind: type[Task]) -> TaskData:
    """The task's data, split (seeded; stratified for classifiers; fold ``data.fold`` with ``data.folds``)."""
    return kind.read(config.data, config.optim)


def to_input_size(data: TaskData, config, preprocess: dict | None = None) -> dict:
    """Every split brought to the network's input size (the run's ``preprocess`` when given)."""
    size = preprocess["input_size"] if preprocess else data.task.input_size(config.data.input_size, data.source_shape)
    fit = preprocess["fit"] if preprocess else config.data.fit
    return {name: data.task.to_input_size(part, size, fit) for name, part in data.splits.items()}


def prepare(config, distributed: bool = False) -> Prepared:
    """Read, split and size the data, fit the preprocessing on the training split, and work out the model's
    arguments: everything a run needs before its model exists."""
    kind, watch = choose_task(config, distributed)
    data = read_data(config, kind)
    splits = to_input_size(data, config)
    preprocess = data.preprocess
    if preprocess is None:
        native = data.source_shape
        preprocess = {"channels": native[0], "native_size": native[1:],
                      "input_size": data.task.input_size(config.data.input_size, native), "fit": config.data.fit,
                      **fit_preprocess(splits["train"].images, config.data.normalize, config.data.whiten_epsilon)}
    arguments = model_arguments(config, data.task.outputs(data.names), preprocess)
    return Prepared(data.task, watch, splits, preprocess, data.names, arguments)


def model_arguments(config, outputs: int, preprocess: dict) -> dict:
    """The builder's keyword arguments: shapes from the data, the rest from model.args."""
    args = {"num_classes": outputs, "in_channels": preprocess["channels"], "input_size": preprocess["input_size"],
            **config.model.args}
    if is_spec_path(config.model.name):  # keep the network spec in the run, so the run does not need the file
        args["spec"] = read_spec(config.model.name)
    return args


def build_model(config, model_args: dict) -> nn.Module:
    """A fresh model with ``model.init``'s initialisation."""
    return init_weights(create_model(config.model.name, **model_args), config.model.init)


def make_loader(prepared: Prepared, split: str, config, device, train: bool):
    """Batches of one split: shuffled and augmented for training (``train``), in order for evaluation."""
    part = prepared.splits[split]
    augment = build_augment(config.data.augment, prepared.preprocess) if train else None
    return prepared.task.loader(part, config.optim.batch_size if train else EVAL_BATCH,
                                make_normalizer(prepared.preprocess, device), shuffle=train, seed=config.run.seed,
                                device=device, augment=augment, workers=config.data.workers)
