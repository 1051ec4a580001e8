"""What a task changes around the one training loop: how its data is read and split, the targets and how
one augmentation draw moves them with the images, the loss, the meter (figures) and which way each figure
is better, what model.json keeps to rebuild it, and how its figures read. ``data.task`` in a recipe picks
one (striate.tasks.kinds); nothing else compares task names.

    classification  labels               softmax loss       accuracy, balanced accuracy, macro F1, ROC AUC, per class, confusion
    keypoints       N x 2K coordinates   masked MSE         RMSE in pixels
    segmentation    N x H x W classes    per-pixel softmax  pixel accuracy, mean IoU
    autoencoder     the images           MSE                MSE, PSNR

>>> from striate.tasks.dense import SegmentationTask
>>> SegmentationTask.metric, SegmentationTask.watch("val_miou").higher_is_better
('miou', True)
"""

from dataclasses import dataclass, field, fields
from pathlib import Path

import torch

from striate.data.augment import label_mixing
from striate.data.geometry import fit_to_size
from striate.errors import ConfigError, DataError, short
from striate.tasks.loader import TaskLoader
from striate.training.validation import CHOICES
from striate.training.watch import Watch


@dataclass
class TaskData:
    """What a task reads from ``data.*``: the task itself, the train/val/test splits at their native size,
    the names of the classes (or keypoint coordinates), and a preprocessing already fitted, if any."""

    task: "Task"
    splits: dict
    names: list[str]
    preprocess: dict | None = None  # the streaming reader fits it on a sample as it reads
    source_shape: list[int] = field(default_factory=list)  # C, H, W of the source's images


class Task:
    """Base: subclasses set ``name``, ``metric`` (the validation figure that picks the best epoch by default),
    ``figures`` (the single-number figures of the meter, logged as train_* and val_*) and ``higher`` (the
    figures for which higher is better; the loss and any other figure are better lower)."""

    name, metric = "", "loss"
    figures: tuple[str, ...] = ()
    higher: frozenset = frozenset()
    # the curve drawn beside the loss (key in metrics.jsonl, axis label, scale), the loss's label, the caption
    # of the predictions picture
    curve_figure: tuple[str, str, float] = ("accuracy", "accuracy (%)", 100.0)
    loss_label, picture_caption = "loss", ""
    model_kind = "classification"  # the kind of registered model it trains (striate.models.list_models)
    resizes = True  # images are brought to data.input_size (dense tasks keep their native size)
    uses_source = True  # reads data.source (keypoints and segmentation read their own layouts)
    distributed, folds, streaming = True, True, True  # DDP, k-fold, the streaming loader
    normalizations: tuple[str, ...] | None = None  # the data.normalize methods it takes (None: all)
    class_balance = False  # whether per-class loss weights apply (optim.class_balance, optim.class_weights)
    balance_methods: tuple[str, ...] = ("median_frequency",)  # with class_balance: the methods it takes
    balanced_sampling = False  # whether data.sampler: balanced (classes drawn equally often) applies
    mixes_labels = False  # whether data.augment may mix images with their labels (mixup, cutmix)

    @classmethod
    def check_settings(cls, config, distributed: bool) -> None:
        """Refuse settings this task does not support, before anything is read or written."""
        data, optim = config.data, config.optim
        check_balance(cls, optim)
        mixing = label_mixing(data.augment)  # checks every data.augment entry, names and ranges
        if mixing and not cls.mixes_labels:
            raise ConfigError(f"data.augment {mixing[0]} mixes pairs of images and their class labels; data.task is "
                              f"{cls.name}, whose targets do not mix: drop {mixing[0]} from data.augment")
        if data.sampler != "shuffle" and not cls.balanced_sampling:
            raise ConfigError(f"data.sampler {data.sampler} draws a classifier's classes equally often; data.task is "
                              f"{cls.name}: set data.sampler shuffle")
        if (data.folds > 1 and not cls.folds) or (data.loader != "device" and not cls.streaming):
            raise ConfigError(f"data.task {cls.name} trains with data.folds 0 and data.loader device only; "
                              "drop --folds / --data.loader streaming")
        if distributed and not cls.distributed:
            raise ConfigError(f"data.task {cls.name} trains in one process; run it without torchrun "
                              "(DistributedDataParallel is for classification)")
        if cls.normalizations is not None and data.normalize not in cls.normalizations:
            raise ConfigError(f"data.normalize '{data.normalize}' is for classifiers; use one of {list(cls.normalizations)}")

    # ---- the watched figure -------------------------------------------------------------------------
    @classmethod
    def watchable(cls) -> tuple[str, ...]:
        """The figures optim.watch may name: val_* and train_* of the loss and each figure."""
        return tuple(f"{split}_{name}" for split in ("val", "train") for name in ("loss", *cls.figures))

    @classmethod
    def direction(cls, figure: str) -> bool:
        """Whether ``figure`` (``val_miou``, ``test_accuracy``, ``miou`` ...) is better higher."""
        return figure.split("_", 1)[-1] in cls.higher or figure in cls.higher

    @classmethod
    def watch(cls, name: str) -> Watch:
        """The typed watched figure for ``name``; the classifier's default (val_accuracy) means this task's
        own validation figure."""
        if name == "val_accuracy" and "accuracy" not in cls.figures:
            name = f"val_{cls.metric}"
        return cls.figure(name, "optim.watch")

    @classmethod
    def figure(cls, name: str, what: str = "figure") -> Watch:
        """The typed figure ``name`` (val_* or train_* of the loss or a figure of this task), e.g. a target."""
        if name not in cls.watchable():
            raise ConfigError(f"unknown {what} '{name}' for data.task {cls.name}; expected one of {list(cls.watchable())}")
        return Watch(name, cls.direction(name))

    # ---- data -------------------------------------------------------------------------------------------
    @classmethod
    def read(cls, data, optim) -> TaskData:
        """Read and split the data a ``DataConfig`` names (``optim``: settings that depend on the data)."""
        raise NotImplementedError

    @classmethod
    def from_meta(cls, config, meta: dict) -> "Task":
        """The task of a finished run, from its config and model.json (no data read)."""
        raise NotImplementedError

    def run_meta(self) -> dict:
        """What model.json keeps so that :meth:`from_meta` rebuilds this task."""
        return {"task": self.name}

    def input_size(self, configured: int, native: list[int]) -> int:
        return configured if self.resizes else native[-1]

    def to_input_size(self, part, size: int, fit: str):
        """A split brought to the network's input size (``fit``: pad or resize)."""
        if not self.resizes or not hasattr(part, "images"):
            return part
        return type(part)(fit_to_size(part.images, size, fit), *_rest_of(part))

    def check_images(self, shape: tuple, preprocess: dict) -> None:
        """Refuse images (``C x H x W``) the run's network cannot take."""
        if shape[0] != preprocess["channels"]:
            raise DataError(f"the data has {shape[0]} channels but the run was trained on {preprocess['channels']}")

    def outputs(self, names: list[str]) -> int:
        """The model's ``num_classes``: the number of classes, of coordinates, or 0."""
        return len(names)

    # ---- training ---------------------------------------------------------------------------------------
    def loss(self, outputs: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        raise NotImplementedError

    def evaluation_loss(self, outputs: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        """The loss reported on held-out data (the classifier's leaves out label smoothing)."""
        return self.loss(outputs, targets, reduction)

    def meter(self):
        raise NotImplementedError

    def train_meter(self):
        """The meter of a training epoch (the classifier's counts only hits, without a host sync per step)."""
        return self.meter()

    def batch(self, images: torch.Tensor, targets: torch.Tensor, augmenter=None, generator=None):
        """Float images in 0..1 and stored targets -> the (augmented) images and the training targets."""
        if augmenter is not None:
            images, _, _ = augmenter.apply(images, augmenter.draw(images.shape, generator, images.device))
        return images, targets

    def loader(self, part, batch_size: int, normalize, shuffle: bool, seed: int, device, augment=None, workers: int = 0):
        """Batches of (network input, targets) of one split, on ``device``."""
        return TaskLoader(part, self, batch_size, normalize, shuffle=shuffle, seed=seed, device=device, augment=augment)

    # ---- figures ----------------------------------------------------------------------------------------
    def describe(self, figures: dict) -> str:
        """The headline of a set of figures, e.g. 'accuracy 98.00%' or 'mean IoU 0.7123'."""
        raise NotImplementedError

    def headline(self, figures: dict) -> list[tuple[str, str]]:
        """The test figures a report shows first, as (label, value) pairs."""
        return [("test", self.describe(figures))]

    def tables(self, figures: dict, names: list[str]) -> list[tuple[str, list[str], list[list]]]:
        """Detail tables of an evaluation: (title, headers, rows) each."""
        return []

    def summary(self, test: dict) -> dict:
        """The test figures as summary.json keeps them: ``test_<figure>`` for each single number."""
        return {f"test_{name}": value for name, value in test.items() if isinstance(value, (int, float))}

    def picture(self, model, loader, path: Path) -> Path | None:
        """A picture of predictions on the first test batch (None: the task draws none at the end of a run)."""
        return None


# ---- per-class loss weights (optim.class_balance, optim.class_weights) --------------------------------------
BALANCE_WEIGHS = {"median_frequency": "weighs the pixels of a segmentation loss by median frequency",
                  "inverse_frequency": "weighs a classifier's loss by inverse class frequency",
                  "effective_number": "weighs a classifier's loss by the effective number of images",
                  "class_weights": "weighs a classifier's loss by the given weights"}


def check_balance(kind: type[Task], optim) -> None:
    """Refuse per-class weights that ``kind`` does not take, or two ways of setting them at once (one line each;
    the names themselves are checked with the other choices, striate.training.validation.CHOICES)."""
    method = optim.class_balance
    if method not in CHOICES["optim.class_balance"]:
        raise ConfigError(f"unknown optim.class_balance '{method}'; expected one of {list(CHOICES['optim.class_balance'])}")
    if optim.class_weights and method != "none":
        raise ConfigError(f"optim.class_weights and optim.class_balance {method} both set the class weights; keep one "
                          "(--optim.class_balance none keeps the given weights)")
    wanted = "class_weights" if optim.class_weights else method
    takes = kind.balance_methods if kind.class_balance else ()
    if wanted == "none" or wanted in takes:
        return
    setting = "optim.class_weights" if optim.class_weights else f"optim.class_balance {method}"
    undo = "set optim.class_weights []" if optim.class_weights else "set optim.class_balance none"
    other = [name for name in takes if name != "class_weights"]
    fix = f"use optim.class_balance {' or '.join(other)}, or {undo}" if other else undo
    raise ConfigError(f"{setting} {BALANCE_WEIGHS[wanted]}; data.task is {kind.name}: {fix}")


def balance_weights(optim, labels: torch.Tensor, names: list[str]) -> torch.Tensor | None:
    """A classifier's per-class loss weights (float32, one per class) as ``optim`` says, from the training
    split's ``labels``; None: no weighting. With ``n_c`` images of class c out of ``n``, C classes:

        inverse_frequency  n / (C n_c)                               (scikit-learn's 'balanced')
        effective_number   (1 - beta) / (1 - beta^n_c), scaled to sum to C     (Cui et al. 2019)
        class_weights      as given, one per class (checked here: the count of classes is known)

    A class without training images gets 1 (it never meets the training loss).

    >>> from striate.training.config import OptimConfig
    >>> balance_weights(OptimConfig(class_balance="inverse_frequency"), torch.tensor([0, 0, 0, 1]), ["a", "b"])
    tensor([0.6667, 2.0000])
    """
    classes = len(names)
    if optim.class_weights:
        if len(optim.class_weights) != classes:
            shown = ", ".join(short(name) for name in names[:5]) + (", ..." if classes > 5 else "")
            example = ", ".join(["1.0"] * min(classes, 5)) + (", ..." if classes > 5 else "")
            raise ConfigError(f"optim.class_weights has {len(optim.class_weights)} values; expected one per class, "
                              f"{classes} ({shown}), e.g. [{example}]")
        return torch.tensor([float(value) for value in optim.class_weights], dtype=torch.float32)
    if optim.class_balance not in ("inverse_frequency", "effective_number"):
        return None
    counts = torch.bincount(labels.long().flatten(), minlength=classes)[:classes].double()
    present = counts > 0
    weights = torch.ones(classes, dtype=torch.float64)
    if optim.class_balance == "inverse_frequency":
        weights[present] = counts.sum() / (classes * counts[present])
    else:
        beta = optim.class_balance_beta
        inverse_effective = (1 - beta) / (1 - beta ** counts[present])
        weights[present] = inverse_effective * int(present.sum()) / inverse_effective.sum()
    return weights.float()


def _rest_of(part) -> list:
    """The fields of an ImageSet / TargetSet after its images (labels or targets, names)."""
    return [getattr(part, f.name) for f in fields(part)[1:]]

