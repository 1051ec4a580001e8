"""Classification as a task like the others: labels as targets, a softmax (or hinge, MSE, BCE) loss, and
accuracy, top-5 error, per-class accuracy and confusion counts as figures.

>>> task = ClassificationTask(num_classes=10)
>>> task.metric, ClassificationTask.watch("val_loss").higher_is_better
('accuracy', False)
"""

from striate.data.loader import DeviceLoader
from striate.data.sources import load_source, make_splits, select_classes
from striate.data.fileset import prepare_streaming, streaming_loader
from striate.errors import ConfigError, DataError
from striate.tasks.task import Task, TaskData
from striate.errors import short
from striate.training.losses import build_loss
from striate.training.metrics import AccuracyMeter, ClassificationMeter


def source_options(data) -> dict:
    """What file-based sources need to know: the input size (image folders), skip_bad, max_per_class."""
    return {"input_size": data.input_size, "skip_bad": data.skip_bad, "max_per_class": data.max_per_class}


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
    """Labels as targets; softmax (or hinge, MSE, BCE) loss; accuracy, top-5 error, per-class accuracy and
    confusion counts as figures.

    >>> task = ClassificationTask(num_classes=3)
    >>> task.describe({"accuracy": 0.5})
    'accuracy 50.00%'
    """

    name, metric = "classification", "accuracy"
    figures = ("accuracy", "top5_error")
    higher = frozenset({"accuracy"})
    loss_label = "cross-entropy loss"

    def __init__(self, num_classes: int, loss: str = "cross_entropy", label_smoothing: float = 0.0):
        self.num_classes, self.loss_name = num_classes, loss
        self.loss = build_loss(loss, label_smoothing)
        self.evaluation_loss = build_loss(loss)

    @classmethod
    def read(cls, data, optim) -> TaskData:
        if data.loader == "streaming" and data.classes:
            raise ConfigError("data.classes works with data.loader: device only; drop data.classes or use the device loader")
        if data.loader == "streaming":  # image folders stay on disk; worker processes decode them per batch
            splits, preprocess = prepare_streaming(data)
            shape = list(splits["train"].image_shape)
        elif data.loader == "device":
            raw = select_classes(load_source(data.source, data.path, **source_options(data)), data.classes)
            shape, preprocess = list(raw["train"].image_shape), None
            splits = make_splits(raw, data.val_fraction, data.test_fraction, data.split_seed, data.folds, data.fold)
        else:
            raise ConfigError(f"unknown data.loader '{data.loader}'; expected device or streaming")
        names = list(splits["train"].class_names)
        check_classes(data, splits, names)
        return TaskData(cls(len(names), optim.loss, optim.label_smoothing), splits, names, preprocess, shape)

    @classmethod
    def from_meta(cls, config, meta: dict) -> "ClassificationTask":
        return cls(len(meta["class_names"]), config.optim.loss, config.optim.label_smoothing)

    def meter(self) -> ClassificationMeter:
        return ClassificationMeter(self.num_classes)

    def train_meter(self) -> AccuracyMeter:
        return AccuracyMeter()

    def loader(self, part, batch_size, normalize, shuffle, seed, device, augment=None, workers: int = 0):
        if not hasattr(part, "images"):  # a FileSet: data.loader is streaming
            return streaming_loader(part, batch_size, normalize, shuffle, seed, device, augment, workers)
        return DeviceLoader(part, batch_size, [0.0], [1.0], shuffle=shuffle, seed=seed, device=device,
                            augment=augment, normalize=normalize)

    def describe(self, figures: dict) -> str:
        return f"accuracy {100 * figures['accuracy']:.2f}%"

    def tables(self, figures: dict, names: list[str]) -> list[tuple[str, list[str], list[list]]]:
        per_class = [[name, f"{100 * accuracy:.2f}%", sum(row)]
                     for name, accuracy, row in zip(names, figures["per_class_accuracy"], figures["confusion"])]
        confusion = [[name, *row] for name, row in zip(names, figures["confusion"])]
        return [("", ["class", "accuracy", "images"], per_class),
                ("confusion counts (rows: true class, columns: predicted)", ["true\\pred", *names], confusion)]
