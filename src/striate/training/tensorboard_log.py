"""TensorBoard event files of a run (``run.tensorboard: true``), laid out the way Keras and Lightning users
expect, so that ``tensorboard --logdir runs`` draws train and validation of each figure on one chart.

    RUN/tensorboard/train/       epoch_loss, epoch_accuracy, ... (the running figures of each epoch),
                                 learning_rate and batch_loss (every step), speed/*, monitor/* (run.monitor),
                                 weights/* and gradients/* histograms, the images 'inputs' (a batch after
                                 augmentation, once at the start) and 'filters/<first conv>' (each epoch)
    RUN/tensorboard/train_eval/  epoch_loss, epoch_accuracy, ... (the epoch's weights on a training sample in
                                 eval mode: the training figure to set against validation)
    RUN/tensorboard/validation/  epoch_loss, epoch_accuracy, ...
    RUN/tensorboard/             at the end: the hparams (the flattened config, with the final figures
                                 summary/* as its metrics) and the test confusion matrix

Each folder is a TensorBoard *run* and the same tag in several runs is one chart, one line per run (Keras's
``epoch_loss`` under ``train/`` and ``validation/``). The x axis is the optimizer step everywhere, so that a
resumed run can hide what its first session logged after the checkpoint (``purge_step``): TensorBoard then
shows every step once, as if the run had never stopped.

Histograms are written every ``run.monitor_every`` steps when ``run.monitor`` is on, else at the end of
each epoch (weights also at step 0); on a large model every histogram moves the whole model to the CPU.
"""

import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from striate.errors import ConfigError

RUN_OF_PREFIX = (("train_eval_", "train_eval"), ("val_", "validation"), ("train_", "train"))  # the longest first
SPEED = {"seconds": "speed/epoch_seconds", "images_per_second": "speed/images_per_second"}
NOT_DRAWN = ("epoch", "step", "lr")  # the learning rate is drawn every step (learning_rate)
INPUT_IMAGES = 32  # of the first batch
MAX_FILTERS = 64
MIN_SIDE = 32  # small images and filters are enlarged (nearest) to at least this many pixels
CONFUSION_LABELS = 20  # class names and counts written on the confusion matrix up to this many classes


def check_installed() -> None:
    """A ConfigError naming the extra to install when the tensorboard package is missing."""
    try:
        import torch.utils.tensorboard  # noqa: F401 -- it needs the tensorboard package
    except ImportError:
        raise ConfigError("run.tensorboard needs the tensorboard package: pip install 'striate[tensorboard]'") from None


def summary_writer(folder: Path, purge_step: int | None = None):
    """A SummaryWriter on ``folder``, whose events from ``purge_step`` on in earlier files TensorBoard hides."""
    check_installed()
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=str(folder), purge_step=purge_step)


def tag_of(name: str) -> tuple[str, str] | None:
    """The run and tag of a metrics.jsonl figure: ('validation', 'epoch_accuracy') for val_accuracy."""
    if name in NOT_DRAWN:
        return None
    if name in SPEED:
        return "train", SPEED[name]
    for prefix, run in RUN_OF_PREFIX:
        if name.startswith(prefix):
            return run, "epoch_" + name[len(prefix):]
    return "train", name  # e.g. a fine-tune's trainable_parameters


def displayable(images: torch.Tensor) -> torch.Tensor:
    """NCHW images TensorBoard can show: 1 or 3 channels, each image stretched to [0, 1], small ones enlarged."""
    images = images.detach().float().cpu()
    if images.shape[1] != 3:
        images = images[:, :1]
    low = images.amin(dim=(1, 2, 3), keepdim=True)
    high = images.amax(dim=(1, 2, 3), keepdim=True)
    images = (images - low) / (high - low).clamp_min(1e-12)
    factor = math.ceil(MIN_SIDE / max(1, min(images.shape[-2:])))
    return F.interpolate(images, scale_factor=factor, mode="nearest") if factor > 1 else images


def first_conv(model: nn.Module) -> tuple[str, nn.Conv2d] | None:
    return next(((name, module) for name, module in model.named_modules() if isinstance(module, nn.Conv2d)), None)


class TensorBoardLog:
    """The event files of one training session; ``resumed_at`` (a checkpoint's step) hides the events the
    previous session wrote after it."""

    def __init__(self, folder: Path, model: nn.Module, train_loader, resumed_at: int | None = None,
                 histogram_every: int = 0):
        self.folder = Path(folder)
        self.model = model
        self.purge_step = None if resumed_at is None else resumed_at + 1
        self.every = max(1, histogram_every or len(train_loader))
        self.writers: dict = {}
        self.conv = first_conv(model)
        if resumed_at is None:
            self._inputs(train_loader)
            self._histograms(0, gradients=False)
            self._filters(0)

    def writer(self, run: str):
        if run not in self.writers:
            self.writers[run] = summary_writer(self.folder / run, self.purge_step)
        return self.writers[run]

    def step(self, step: int) -> None:
        """After a training step: the histograms of weights and gradients, when they are due."""
        if step % self.every == 0:
            self._histograms(step)

    def step_scalars(self, step: int, lr: float, loss: float) -> None:
        """A step's learning rate and loss (read later than the step, in batches, so as not to wait for a GPU)."""
        train = self.writer("train")
        train.add_scalar("learning_rate", lr, step)
        train.add_scalar("batch_loss", loss, step)

    def epoch(self, figures: dict) -> None:
        step = figures["step"]
        for name, value in figures.items():
            place = tag_of(name) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
            if place is not None:
                self.writer(place[0]).add_scalar(place[1], value, step)
        for layer, values in (figures.get("monitor") or {}).items():
            for name, value in values.items():
                self.writer("train").add_scalar(f"monitor/{layer}/{name}", value, step)
        self._filters(step)
        for writer in self.writers.values():
            writer.flush()

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()
        self.writers.clear()

    def _inputs(self, loader) -> None:
        """The first batch the network trains on, after augmentation (the loaders draw from their own seeded
        generators: reading it here changes nothing of the run)."""
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(1)
        batches = iter(loader)
        images = next(batches, (None,))[0]
        del batches  # a streaming loader's workers stop here
        if isinstance(images, torch.Tensor) and images.dim() == 4:
            self.writer("train").add_images("inputs", displayable(images[:INPUT_IMAGES]), 0)

    def _filters(self, step: int) -> None:
        if self.conv is not None:
            name, conv = self.conv
            self.writer("train").add_images(f"filters/{name}", displayable(conv.weight[:MAX_FILTERS]), step)

    def _histograms(self, step: int, gradients: bool = True) -> None:
        train = self.writer("train")
        for name, parameter in self.model.named_parameters():
            tensors = [("weights", parameter)] + ([("gradients", parameter.grad)] if gradients else [])
            for kind, tensor in tensors:
                if tensor is not None and tensor.numel() and bool(torch.isfinite(tensor).all()):
                    train.add_histogram(f"{kind}/{name}", tensor.detach().float().cpu(), step)


def hparam_value(value):
    """A config value as an hparam: numbers, text and booleans as they are, anything else as JSON text."""
    if isinstance(value, (bool, int, float, str)):
        return value
    return json.dumps(value, default=str)


def write_run_end(folder: Path, hparams: dict, figures: dict, step: int, confusion=None, class_names=()) -> None:
    """The hparams of the run (``hparams``, flat) with ``figures`` (the final figures) as its metrics, written
    as scalars ``summary/<name>`` at ``step``, and the test confusion matrix when there is one."""
    from torch.utils.tensorboard.summary import hparams as hparams_summary

    metrics = {f"summary/{name}": float(value) for name, value in figures.items()}
    writer = summary_writer(folder)
    try:
        for summary in hparams_summary({key: hparam_value(value) for key, value in hparams.items()}, metrics):
            writer.file_writer.add_summary(summary, step)
        for name, value in metrics.items():
            writer.add_scalar(name, value, step)
        if confusion:
            writer.add_figure("test/confusion_matrix", confusion_figure(confusion, class_names), step)
    finally:
        writer.close()


def confusion_figure(confusion: list[list[int]], class_names=()):
    """The confusion matrix as a matplotlib Figure: rows the true class, columns the prediction, the colour
    each row's share (recall on the diagonal), the counts written in when there are few classes."""
    from matplotlib.figure import Figure

    counts = np.asarray(confusion, dtype=float)
    k = len(counts)
    shares = counts / counts.sum(axis=1, keepdims=True).clip(min=1)
    side = min(12.0, 3.0 + 0.45 * k)
    figure = Figure(figsize=(side, side))
    axes = figure.add_subplot()
    axes.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    if k <= CONFUSION_LABELS:
        names = [str(name) for name in class_names] if len(class_names) == k else [str(i) for i in range(k)]
        axes.set_xticks(range(k), names, rotation=90)
        axes.set_yticks(range(k), names)
        for row in range(k):
            for column in range(k):
                axes.text(column, row, f"{counts[row, column]:.0f}", ha="center", va="center", fontsize=8,
                          color="white" if shares[row, column] > 0.5 else "black")
    figure.tight_layout()
    return figure
