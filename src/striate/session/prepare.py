"""One preparation of a run, whatever its task: the task chosen from ``data.task`` and checked against the
settings, the data read and split by the task, brought to the input size, the preprocessing measured on
the training split only, the model's arguments, and the loaders. Training and every reader of a finished
run (striate.session.open) go through these functions, so they see the same splits the same way.

Everything that can fail on bad input is checked here, before a run directory exists.

>>> prepared = prepare(load_recipe("recipes/lenet5-mnist.yaml"))      # doctest: +SKIP
>>> loader = make_loader(prepared, "train", config, "cpu", train=True)  # doctest: +SKIP
"""

import dataclasses
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from striate.data.augment import build_augment, uses_lighting
from striate.data.preprocess import fit_preprocess, make_normalizer, patch_whitening, rgb_eigen
from striate.data.registry import notes_of
from striate.data.splits import validation_size_note
from striate.errors import ConfigError, ModelError
from striate.layers import PatchWhitening, init_weights
from striate.models import create_model, list_models, model_task
from striate.models.convert import map_state_dict
from striate.models.spec import is_spec_path, read_spec
from striate.pretrained import find_pretrained
from striate.tasks import Task, TaskData, task_kind
from striate.training.checkpoint import read_state_file
from striate.training.watch import Watch

EVAL_BATCH = 256  # batch size of evaluation loaders (figures do not depend on it)
# training images whose patches a PatchWhitening layer's filters are measured on (5,000 CIFAR images give
# 4.8 million 2x2 patches: the 12 x 12 covariance is settled to well under 1%)
WHITENING_IMAGES = 5000


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
    notes: list = dataclasses.field(default_factory=list)  # what the data source read and where each split came from


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


def use_threads(threads: int) -> dict:
    """Set torch's CPU threads (``run.threads``; 0 keeps torch's default: one a physical core, or
    OMP_NUM_THREADS) and note the machine's load before the run starts: threads beyond the idle cores fight
    other processes for them (two 2-thread processes on 2 cores run about ten times slower, not two)."""
    if threads:
        torch.set_num_threads(threads)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    figures = {"threads": torch.get_num_threads(), "load_at_start": round(load, 2), "cores": os.cpu_count() or 1}
    others = others_running()
    if others is not None:
        figures["others_running_at_start"] = others
    return figures


def others_running(samples: int = 5, interval: float = 0.02) -> int | None:
    """How many other threads are running or waiting for a core now: the kernel's run queue
    (``/proc/loadavg``'s running count, this thread taken out), the median of a few samples; None where
    there is no such file. The 1-minute load average still counts a process that ended 30 s ago."""
    counts = []
    for index in range(samples):
        try:
            with open("/proc/loadavg") as handle:
                counts.append(max(0, int(handle.read().split()[3].split("/")[0]) - 1))
        except (OSError, ValueError, IndexError):
            return None
        if index + 1 < samples:
            time.sleep(interval)
    return sorted(counts)[len(counts) // 2]


def busy_machine_note(figures: dict) -> str | None:
    """A line when the run's threads and the load it started under asked for more cores than the machine
    has (``figures`` from :func:`use_threads`, kept in summary.json), else None. The run queue at the start
    decides where it was measured; the load average alone lags a minute behind (a run started just after
    another one ended would be told the machine was busy)."""
    threads, load, cores = figures.get("threads", 1), figures.get("load_at_start", 0.0), figures.get("cores", 1)
    others = figures.get("others_running_at_start")
    busy = load if others is None else min(load, others)
    if threads <= 1 or busy < 1.0 or busy + threads <= 1.25 * cores:  # under a core of other work: no matter
        return None
    shown = f"load {load:.1f}" + ("" if others is None else f", {others} other threads running")
    return (f"the machine was busy ({shown} on {cores} cores) and this run used {threads} threads: "
            "with --run.threads 1 it may run several times faster")


def watch_that_fits(watch: Watch, splits: dict, config) -> Watch:
    """``watch``, or, when its validation figure rests on too few images to choose an epoch by
    (striate.data.splits.validation_size_note), a watch that keeps the last epoch, saying why (the summary
    and ``striate train`` print it)."""
    if not watch.name.startswith("val_") or not hasattr(splits["train"], "labels"):
        return watch
    note = validation_size_note(splits)
    if note is None:
        return watch
    stopping = "; early stopping was off" if config.optim.early_stop_patience else ""
    return dataclasses.replace(watch, last_because=f"{note}{stopping} (give more data or a larger data.val_fraction "
                                                   "to choose by validation)")


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
    watch = watch_that_fits(watch, data.splits, config)
    splits = to_input_size(data, config)
    notes = notes_of(data.splits)
    if config.data.val_is_test:
        splits, watch = val_is_test(splits, watch)
        notes.append(f"validation: the test split ({len(splits['test'])} images) after every epoch (data.val_is_test)")
    preprocess = data.preprocess
    if preprocess is None:
        native = data.source_shape
        preprocess = {"channels": native[0], "native_size": native[1:],
                      "input_size": data.task.input_size(config.data.input_size, native), "fit": config.data.fit,
                      **fit_preprocess(splits["train"].images, config.data.normalize, config.data.whiten_epsilon,
                                       colour_pca=uses_lighting(config.data.augment))}
    elif (uses_lighting(config.data.augment) and preprocess["channels"] == 3 and "rgb_eigenvalues" not in preprocess
          and isinstance(getattr(splits["train"], "images", None), torch.Tensor)):
        # a fine-tune adding lighting to a run fitted without it: the colour PCA of the data it trains on
        values, vectors = rgb_eigen(splits["train"].images)
        preprocess = {**preprocess, "rgb_eigenvalues": values, "rgb_eigenvectors": vectors}
    arguments = model_arguments(config, data.task.outputs(data.names), preprocess)
    return Prepared(data.task, watch, splits, preprocess, data.names, arguments, notes)


def val_is_test(splits: dict, watch: Watch) -> tuple[dict, Watch]:
    """``data.val_is_test``: the test split measured after every epoch in place of a validation split (a speed
    run's learning curve: test accuracy against time), and a watch that keeps the last epoch, so that no
    choice (best weights, early stopping, a plateau) is made on the test split."""
    because = "the validation figures are the test split's (data.val_is_test): nothing is chosen by them"
    return {**splits, "val": splits["test"]}, dataclasses.replace(watch, last_because=because)


def model_arguments(config, outputs: int, preprocess: dict) -> dict:
    """The builder's keyword arguments: shapes from the data, the rest from model.args."""
    args = {"num_classes": outputs, "in_channels": preprocess["channels"], "input_size": preprocess["input_size"],
            **config.model.args}
    if is_spec_path(config.model.name):  # keep the network spec in the run, so the run does not need the file
        args["spec"] = read_spec(config.model.name)
    return args


def build_model(config, prepared: "Prepared") -> nn.Module:
    """A fresh model as a run starts it: ``model.init``'s initialisation, then the layers measured on the
    training data (:func:`init_from_data`); `striate train` and `striate check` both build theirs here."""
    model = init_weights(create_model(config.model.name, **prepared.model_args), config.model.init)
    init_from_data(model, prepared, config.run.seed)
    return model


def init_from_data(model: nn.Module, prepared: Prepared, seed: int = 0) -> int:
    """Set the layers of ``model`` that are measured on the data rather than learned: each
    :class:`~striate.layers.PatchWhitening` gets the whitening filters of the patches of up to
    :data:`WHITENING_IMAGES` training images (a seeded sample, preprocessed as the network sees them).
    Returns how many layers were set; a fresh model's only (a resumed run or a fine-tune has its weights)."""
    layers = [module for module in model.modules() if isinstance(module, PatchWhitening)]
    if not layers:
        return 0
    train = prepared.splits["train"]
    if not hasattr(train, "images"):
        raise ConfigError(f"model '{type(model).__name__}' measures its whitening layer on the training images, "
                          "which data.loader streaming does not hold in memory; use data.loader: device")
    chosen = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))[:WHITENING_IMAGES]
    images = make_normalizer(prepared.preprocess)(train.images[chosen].float().div(255))
    for layer in layers:
        layer.load_whitening(*patch_whitening(images, layer.kernel_size[0], layer.epsilon))
    return len(layers)


def start_from_weights(model: nn.Module, weights: str) -> dict:
    """Load ``model.weights`` into ``model``: a shipped network's name (striate.pretrained), a run directory
    (its best weights) or a weights file (striate safetensors, or a torchvision/timm .pt/.pth state dict,
    mapped layer by layer). Tensors of the same name and shape are loaded; those whose shape differs (a head
    for other classes) keep their initialisation. Returns what model.json records about it."""
    path = find_pretrained(weights) or Path(weights)
    if path.is_dir():
        path = path / "best.safetensors"
    if not path.is_file():
        raise ConfigError(f"model.weights: '{weights}' not found; give a shipped network's name ('striate models "
                          "--pretrained' lists them), a run directory or a weights file (.safetensors, .pt, .pth)")
    state = read_state_file(path)
    own = model.state_dict()
    if not set(state) & set(own):  # another layout (torchvision, timm): renamed layer by layer
        try:
            state = map_state_dict(model, state)
        except ModelError as error:
            raise ConfigError(f"model.weights: {path} does not fit this model ({error}); for new classes use "
                              "'striate transfer finetune --from FILE --model NAME'") from None
    loaded = {key: value for key, value in state.items() if key in own and own[key].shape == value.shape}
    if not loaded:
        raise ConfigError(f"model.weights: no tensor of {path} fits this model (other names or shapes); is it "
                          "for this architecture?")
    model.load_state_dict(loaded, strict=False)
    return {"weights_from": str(weights), "tensors_loaded": len(loaded),
            "tensors_initialised": sorted(set(own) - set(loaded))}


def make_loader(prepared: Prepared, split: str, config, device, train: bool):
    """Batches of one split: shuffled and augmented for training (``train``), in order for evaluation."""
    part = prepared.splits[split]
    augment = build_augment(config.data.augment, prepared.preprocess) if train else None
    return prepared.task.loader(part, config.optim.batch_size if train else EVAL_BATCH,
                                make_normalizer(prepared.preprocess, device), shuffle=train, seed=config.run.seed,
                                device=device, augment=augment, workers=config.data.workers)
