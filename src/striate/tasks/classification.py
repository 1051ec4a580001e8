"""Classification as a task like the others: labels as targets, a softmax (or hinge, MSE, BCE) loss, weighed
per class when asked (``optim.class_balance``, ``optim.class_weights``), training batches drawn class-balanced
when asked (``data.sampler: balanced``), and accuracy, top-5 error, balanced accuracy, macro F1, ROC AUC (two
classes), per-class precision, recall and F1 and confusion counts as figures.

>>> task = ClassificationTask(num_classes=10)
>>> task.metric, ClassificationTask.watch("val_loss").higher_is_better
('accuracy', False)
"""

import torch

from striate.data.loader import DeviceLoader
from striate.data.sources import load_source, make_splits, select_classes
from striate.data.fileset import prepare_streaming, streaming_loader
from striate.errors import ConfigError, DataError
from striate.tasks.losses import class_weighted
from striate.tasks.task import Task, TaskData, balance_weights
from striate.errors import short
from striate.training.losses import build_loss
from striate.training.metrics import AccuracyMeter, ClassificationMeter


def source_options(data) -> dict:
    """What file-based sources need to know: the input size (image folders), skip_bad, max_per_class, and
    for image folders the decoding processes and whether the decoded cache is used."""
    return {"input_size": data.input_size, "skip_bad": data.skip_bad, "max_per_class": data.max_per_class,
            "workers": data.workers, "cache": data.cache}


def check_classes(data, splits: dict, names: list[str]) -> None:
    """Refuse data with fewer than two classes, named or present (a one-class 'classifier' is 100% right and
    learns nothing): a DataError naming the data and its classes."""
    present = sorted({int(label) for part in splits.values() for label in part.labels.unique().tolist()})
    count = min(len(names), len(present))
    if count >= 2:
        return
    where = data.path or f"data.source {data.source}"
    shown = ", ".join(short(names[label]) if label < len(names) else str(label) for label in present[:5])
    kept = f" after data.classes {short(data.classes)}" if data.classes else ""
    fix = ("keep two or more classes in data.classes" if data.classes else
           "give data with images of two or more classes (a folder per class, or two or more labels)")
    raise DataError(f"a classifier needs at least two classes; {where} has {count}{kept} ({shown or 'no images'}); {fix}")


class ClassificationTask(Task):
    """Labels as targets; softmax (or hinge, MSE, BCE) loss, its images weighed by their class with ``weights``
    (one per class; the evaluation loss stays unweighted); training batches drawn by ``sampler`` (``shuffle``:
    each image once an epoch; ``balanced``: every class equally often). Figures: accuracy, top-5 error, balanced
    accuracy, macro F1, ROC AUC of class 1 against class 0 (two classes), per class precision, recall (its
    accuracy) and F1, and confusion counts (striate.training.metrics.ClassificationMeter).

    >>> task = ClassificationTask(num_classes=3)
    >>> task.describe({"accuracy": 0.5})
    'accuracy 50.00%'
    """

    name, metric = "classification", "accuracy"
    figures = ("accuracy", "top5_error", "balanced_accuracy", "macro_f1")  # and roc_auc with two classes
    higher = frozenset({"accuracy", "balanced_accuracy", "macro_f1", "roc_auc"})
    loss_label = "cross-entropy loss"
    class_balance, balance_methods = True, ("inverse_frequency", "effective_number", "class_weights")
    balanced_sampling = True
    mixes_labels = True  # data.augment mixup, cutmix (the training step scores MixedTargets)

    def __init__(self, num_classes: int, loss: str = "cross_entropy", label_smoothing: float = 0.0,
                 weights=None, sampler: str = "shuffle"):
        self.num_classes, self.loss_name, self.weights, self.sampler = num_classes, loss, weights, sampler
        self.loss = build_loss(loss, label_smoothing)
        if weights is not None:  # the training loss only: held-out losses stay comparable across settings
            self.loss = class_weighted(self.loss, weights)
        self.evaluation_loss = build_loss(loss)

    @classmethod
    def check_settings(cls, config, distributed: bool) -> None:
        super().check_settings(config, distributed)
        if config.data.sampler == "balanced" and config.data.loader != "device":
            raise ConfigError("data.sampler balanced works with data.loader device; drop --data.sampler balanced "
                              "(optim.class_balance inverse_frequency weighs the loss instead) or use the device loader")

    @classmethod
    def build(cls, names: list[str], data, optim, train_labels) -> "ClassificationTask":
        """The task of the settings ``data`` and ``optim``, its class weights worked out from the training
        split's labels (striate.tasks.task.balance_weights)."""
        weights = balance_weights(optim, train_labels, names)
        return cls(len(names), optim.loss, optim.label_smoothing, weights, data.sampler)

    @classmethod
    def read(cls, data, optim) -> TaskData:
        if data.loader == "streaming" and (data.classes or data.train_per_class):
            key = "data.classes" if data.classes else "data.train_per_class"
            raise ConfigError(f"{key} works with data.loader: device only; drop {key} or use the device loader")
        if data.loader == "streaming":  # image folders stay on disk; worker processes decode them per batch
            splits, preprocess = prepare_streaming(data)
            shape = list(splits["train"].image_shape)
        elif data.loader == "device":
            raw = select_classes(load_source(data.source, data.path, **source_options(data)), data.classes)
            shape, preprocess = list(raw["train"].image_shape), None
            splits = make_splits(raw, data.val_fraction, data.test_fraction, data.split_seed, data.folds, data.fold,
                                 data.train_per_class)
        else:
            raise ConfigError(f"unknown data.loader '{data.loader}'; expected device or streaming")
        names = list(splits["train"].class_names)
        check_classes(data, splits, names)
        return TaskData(cls.build(names, data, optim, splits["train"].labels), splits, names, preprocess, shape)

    @classmethod
    def from_meta(cls, config, meta: dict) -> "ClassificationTask":
        weights = meta.get("class_weights")
        return cls(len(meta["class_names"]), config.optim.loss, config.optim.label_smoothing,
                   None if weights is None else torch.tensor(weights, dtype=torch.float32), config.data.sampler)

    def run_meta(self) -> dict:
        """The task, and the class weights of the training loss when there are any (model.json)."""
        return {"task": self.name, **({} if self.weights is None else {"class_weights": self.weights.tolist()})}

    def meter(self) -> ClassificationMeter:
        return ClassificationMeter(self.num_classes)

    def train_meter(self) -> AccuracyMeter:
        return AccuracyMeter()

    def loader(self, part, batch_size, normalize, shuffle, seed, device, augment=None, workers: int = 0):
        if not hasattr(part, "images"):  # a FileSet: data.loader is streaming
            return streaming_loader(part, batch_size, normalize, shuffle, seed, device, augment, workers)
        return DeviceLoader(part, batch_size, [0.0], [1.0], shuffle=shuffle, seed=seed, device=device,
                            augment=augment, normalize=normalize, sampler=self.sampler)

    def describe(self, figures: dict) -> str:
        """'accuracy 91.20%', then the balanced accuracy, macro F1 and ROC AUC where they were measured."""
        parts = [f"accuracy {_percent(figures['accuracy'])}"]
        for key, label, show in (("balanced_accuracy", "balanced accuracy", _percent), ("macro_f1", "macro F1", _number),
                                 ("roc_auc", "ROC AUC", _number)):
            value = figures.get(key)
            if value is not None and value == value:
                parts.append(f"{label} {show(value)}")
        return ", ".join(parts)

    def headline(self, figures: dict) -> list[tuple[str, str]]:
        """Test accuracy, balanced accuracy, macro F1 and (two classes) ROC AUC, as a report shows them first."""
        pairs = [("test accuracy", _percent(figures.get("accuracy"))),
                 ("balanced accuracy", _percent(figures.get("balanced_accuracy"))),
                 ("macro F1", _number(figures.get("macro_f1")))]
        return pairs + ([("ROC AUC", _number(figures["roc_auc"]))] if "roc_auc" in figures else [])

    def tables(self, figures: dict, names: list[str]) -> list[tuple[str, list[str], list[list]]]:
        per_class = [[name, _percent(precision), _percent(recall), f"{f1:.4f}", sum(row)] for name, precision, recall, f1, row
                     in zip(names, figures["per_class_precision"], figures["per_class_recall"], figures["per_class_f1"],
                            figures["confusion"])]
        confusion = [[name, *row] for name, row in zip(names, figures["confusion"])]
        return [(PER_CLASS_TITLE, ["class", "precision", "recall", "F1", "images"], per_class),
                ("confusion counts (rows: true class, columns: predicted)", ["true\\pred", *names], confusion)]


PER_CLASS_TITLE = ("per class: recall is the class's accuracy; a ratio of 0/0 (the precision of a class never "
                   "predicted) counts as 0")


def _percent(value) -> str:
    return "n/a" if value is None or value != value else f"{100 * value:.2f}%"


def _number(value) -> str:
    return "n/a" if value is None or value != value else f"{value:.4f}"
