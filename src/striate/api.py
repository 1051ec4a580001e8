"""The Python API: the same session the command line uses, from a script or a Jupyter cell.

>>> import striate
>>> run = striate.train(epochs=1)                              # doctest: +SKIP
>>> run.summary["test_accuracy"], run.evaluate()["accuracy"]   # doctest: +SKIP
(0.958, 0.958)
>>> run.curves()                                               # doctest: +SKIP   (a matplotlib Figure)
"""

from pathlib import Path

import torch
from torch import nn

from striate.data.images import image_files
from striate.data.in_memory import from_dataset, write_arrays_file
from striate.data.sources import list_sources
from striate.diagnose.advice import Advice, advise_run
from striate.diagnose.run_checks import find_lr_for, run_checks
from striate.experiments.compare import compare as compare_arms
from striate.experiments.grid import parse_variation
from striate.export.predictor import Predictor
from striate.export.run_export import export_run
from striate.inspect.summary import Summary
from striate.inspect.summary import summary as inspect_summary
from striate.inspect.text import summary_lines
from striate.models import create_model
from striate.models.sequential import describe
from striate.session import Start, prepare, train_run
from striate.session import open_run as open_session_run
from striate.session.config import resolve_config
from striate.session.open import Run as SessionRun
from striate.training.plan import FineTunePlan, TrainingPlan
from striate.transfer.codes import resolve_layer
from striate.transfer.data import describe_fit, fit_to_data, split_codes, splits_for_run, target_config
from striate.transfer.finetune import finetune_run
from striate.visualize import pictures
from striate.visualize.report import write_report


class Run(SessionRun):
    """A run directory and everything striate can do with it: figures, predictions, pictures, the report.

    >>> run = striate.open_run("runs/lenet5-mnist")     # doctest: +SKIP
    >>> run.history[-1]["val_accuracy"], run.summary["test_accuracy"]   # doctest: +SKIP
    """

    @property
    def path(self) -> Path:
        return self.root

    def evaluate(self, data=None, class_map: dict | None = None) -> dict:
        """The task's figures on the run's own test split, or on ``data``'s (a folder or file path, a source
        name, or arrays ``(images, labels)``, its classes matched to the run's by name; ``class_map``: data
        name -> run name where they differ): the same figures as ``striate evaluate``."""
        if data is None:
            return super().evaluate()
        return open_run(self.root, data=data, class_map=class_map).evaluate()

    def predict(self, images, top_k: int = 3) -> list:
        """Top-k classes with probabilities for image files, arrays (``C x H x W``/``H x W``) or PIL images;
        a folder stands for every image in it (one prediction per image, in sorted order)."""
        single = not isinstance(images, (list, tuple)) and not (isinstance(images, (str, Path)) and Path(images).is_dir())
        images = image_files([images] if not isinstance(images, (list, tuple)) else list(images))
        top = Predictor(self.model, self.meta).predict(images, top_k)
        return top[0] if single else top

    def report(self) -> Path:
        """Write report.html (the whole run on one page) and return its path."""
        return write_report(self.root)

    def export(self, format: str = "onnx", **options) -> dict:
        """ONNX or TorchScript with a parity check (see ``striate export``); returns the sidecar record."""
        return export_run(self.root, format, **options)

    def check(self) -> list:
        """The health checks of ``striate check`` on this run's recipe (gradient check, loss at init, ...)."""
        return run_checks(self.config)

    def advise(self) -> Advice:
        """The bias/variance verdict and what to try, from the run's curves."""
        return advise_run(self.root)

    def features(self, layer: str = "features", pooling: str = "avg") -> dict:
        """CNN codes of ``layer`` for the run's train/val/test splits: ``{split: (codes, labels)}`` arrays."""
        layer = resolve_layer(self.model, layer)
        return split_codes(self.model, splits_for_run(self.config, self.preprocess), self.preprocess, layer, pooling)

    # pictures: matplotlib Figures (shown inline in a notebook; figure.savefig(...) in a script)
    def curves(self):
        """Loss and the task's figure per epoch, training against validation, and the learning rate."""
        return pictures.curves(self)

    def monitors(self):
        """Per-layer statistics over the epochs (activation std, dead ReLUs, gradient norms, update ratios) of a
        run trained with ``monitor=True``."""
        return pictures.monitors(self)

    def filters(self, layer: str | None = None):
        """The first convolution's kernels (or ``layer``'s) as an image grid."""
        return pictures.filters(self, layer)

    def feature_maps(self, image: int = 0, layers: list[str] | None = None):
        """Every channel of the chosen layers for test image ``image``."""
        return pictures.feature_maps(self, image, layers)

    def top_patches(self, layer: str | None = None, channels: list[int] | None = None):
        """The 9 test patches that activate each chosen channel most, cropped to its receptive field."""
        return pictures.top_patches(self, layer, channels)

    def saliency(self, image: int = 0, layer: str | None = None):
        """Gradient saliency and Grad-CAM for test image ``image``."""
        return pictures.saliency(self, image, layer)

    def deconvnet(self, layer: str | None = None, channels: list[int] | None = None):
        """The 9 strongest activations of each chosen channel with their deconvnet projections to the pixels."""
        return pictures.deconvnet(self, layer, channels)

    def guided_backprop(self, image: int = 0, layer: str | None = None, channels: list[int] | None = None):
        """Guided backpropagation for test image ``image``: the predicted class, or units of ``layer``."""
        return pictures.guided_backprop(self, image, layer, channels)

    def occlusion(self, image: int = 0, size: int | None = None, stride: int | None = None):
        """The true class's probability as a grey square hides each part of test image ``image``."""
        return pictures.occlusion(self, image, size, stride)

    def confusion(self):
        """The confusion matrix of the test split, counts and row-normalised."""
        return pictures.confusion(self)

    def top_losses(self, count: int = 16):
        """The test images with the highest loss, with true and predicted class."""
        return pictures.top_losses(self, count)

    def _repr_html_(self) -> str:
        summary, task = self.summary, self.task
        headline = task.describe(summary["test"]) if summary.get("test") else "not finished"  # the test figures
        rows = [("run", str(self.root)), ("model", self.meta["model"]["name"]), ("task", task.name),
                ("test", headline), ("best epoch", f"{summary.get('best_epoch', '-')} of {summary.get('epochs', '-')}"),
                ("training time", f"{summary.get('train_seconds', 0):.1f} s")]
        cells = "".join(f"<tr><th style='text-align:left'>{name}</th><td>{value}</td></tr>" for name, value in rows)
        return f"<table>{cells}</table>"

    def __repr__(self) -> str:
        return f"striate.Run('{self.root}')"


def open_run(path, weights: str = "best", data=None, class_map: dict | None = None) -> Run:
    """An existing run directory as a :class:`Run`; ``data`` (a path, a source name or arrays) stands for its
    test split in evaluate and the pictures, its classes matched to the run's by name (``class_map``: data
    name -> run name where they differ).

    >>> run = striate.open_run("runs/lenet5-mnist")   # doctest: +SKIP
    """
    opened = open_session_run(path, weights, _data_path(data, Path(path).parent / ".data"), class_map=class_map)
    return Run(**{name: getattr(opened, name) for name in opened.__dataclass_fields__})


def _data_path(data, folder: Path) -> str | None:
    """A data argument as a path or source a config can name: in-memory data are written to ``folder``."""
    if data is None or isinstance(data, (str, Path)):
        return None if data is None else str(data)
    if isinstance(data, torch.utils.data.Dataset):
        return str(write_arrays_file(*from_dataset(data), folder))
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return str(write_arrays_file(data[0], data[1], folder))
    raise TypeError(f"data: expected a path, a source name, (images, labels) arrays or a Dataset, got {type(data).__name__}")


def train(recipe=None, *, model=None, data=None, stream=None, **overrides) -> Run:
    """Train as a recipe says (a YAML path, a Config, a dict, or None for the default LeNet-5 on the built-in
    MNIST subset), with overrides by the names the command line uses (``epochs=3``, ``lr=0.1``,
    ``**{"data.augment": []}``); ``model`` is a registered name or an ``nn.Sequential`` of your own,
    ``data`` a folder or file, a source name, arrays ``(images, labels)`` or a ``torch.utils.data.Dataset``.
    Returns the finished :class:`Run` (the same run directory ``striate train`` writes).

    >>> run = striate.train(epochs=2, lr=0.05)                                     # doctest: +SKIP
    >>> net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    >>> run = striate.train(model=net, data=(images, labels), input_size=28)       # doctest: +SKIP
    """
    pairs = list(overrides.items())
    if isinstance(model, str):
        pairs.append(("model.name", model))
    if data is not None:
        pairs += _data_overrides(data, overrides)
    if isinstance(model, nn.Module):
        pairs += [("model.name", "sequential"), ("model.args", {"layers": describe(model)})]
    config, name = resolve_config(recipe, pairs)
    if not isinstance(model, nn.Module):
        return open_run(train_run(config, name, stream)["run_dir"])
    prepared = prepare(config)
    start = Start(model, prepared.model_args, TrainingPlan(), {}, prepared)  # your module itself is trained
    return open_run(train_run(config, name, stream, start=start)["run_dir"])


def _data_overrides(data, overrides: dict) -> list[tuple[str, object]]:
    if isinstance(data, str) and data in list_sources() and not Path(data).exists():
        return [("data.source", data), ("data.path", None)]
    folder = Path(overrides.get("out_dir", overrides.get("run.out_dir", "runs"))) / ".data"
    return [("data.path", _data_path(data, folder))]


def summary(model, input_shape=None) -> "SummaryView":
    """Shapes, parameters, multiply-adds and receptive fields, layer by layer, of a registered model (by name),
    a network spec file or any ``nn.Module``.

    >>> print(striate.summary("lenet5", (1, 32, 32)))   # doctest: +SKIP
    """
    if isinstance(model, str):
        model = create_model(model)
    shape = tuple(input_shape) if input_shape else (getattr(model, "in_channels", 1), 32, 32)
    return SummaryView(inspect_summary(model, shape))


class SummaryView:
    """A model summary that prints as the CLI's table and shows as HTML in a notebook."""

    def __init__(self, table: Summary):
        self.table = table

    def __getattr__(self, name):
        return getattr(self.table, name)

    def __str__(self) -> str:
        return "\n".join(summary_lines(self.table))

    def _repr_html_(self) -> str:
        return "<pre>" + str(self).replace("&", "&amp;").replace("<", "&lt;") + "</pre>"


def check(recipe=None, **overrides) -> list:
    """The health checks of ``striate check`` on a recipe: gradient check, loss at initialisation against
    ln C, overfitting 20 images, data checks, activation and gradient statistics; a verdict each.

    >>> results = striate.check(epochs=1)   # doctest: +SKIP
    """
    return run_checks(resolve_config(recipe, list(overrides.items()))[0])


def lr_find(recipe=None, start_lr: float = 1e-7, end_lr: float = 10.0, steps: int = 100, **overrides):
    """The learning-rate range test (Smith 2017) on a recipe's model; ``result.suggested_lr`` and its plot.

    >>> result = striate.lr_find(steps=50)   # doctest: +SKIP
    """
    return find_lr_for(resolve_config(recipe, list(overrides.items()))[0], start_lr, end_lr, steps)


def compare(recipe=None, vary=(), seeds: int = 1, folder: str | Path = "runs/compare", target=None, jobs: int = 1,
            **overrides) -> dict:
    """Train every combination of ``vary`` (``["lr=0.1,0.01", "model.args.activation=relu,tanh"]``) with
    ``seeds`` seeds each, as ``striate compare`` does; returns the rows (mean and spread) and the files.

    >>> table = striate.compare(vary=["optim.optimizer=sgd,adam"], epochs=2)   # doctest: +SKIP
    """
    config, _ = resolve_config(recipe, list(overrides.items()))
    return compare_arms(config, [parse_variation(text) for text in vary], seeds, folder, jobs, target)


def finetune(source, data=None, classes=None, freeze: str | None = None, freeze_stages: int = 0,
             body_lr_scale: float = 1.0, unfreeze_at: int = 0, model: str | None = None, **overrides) -> Run:
    """Fine-tune a run (or a weights file with ``model=NAME``) on new data: a new head, the bottom frozen
    (``freeze='conv1..conv2'`` or ``freeze_stages=2``), the body on ``body_lr_scale`` times the rate, everything
    trained from epoch ``unfreeze_at``; an ordinary run of the session (checkpoints, resume, report).

    >>> run = striate.finetune("runs/mnist-0-4", classes=[5, 6, 7, 8, 9], freeze_stages=2, epochs=3)   # doctest: +SKIP
    """
    path = _data_path(data, Path(overrides.get("out_dir", "runs")) / ".data")
    config = target_config(source, path, classes) if Path(source).is_dir() else resolve_config(None, [])[0]
    if path is not None and not Path(source).is_dir():
        config.data.path = path
    config.run.name = None
    config, _ = resolve_config(config, list(overrides.items()))
    print(describe_fit(fit_to_data(config, list(overrides))), flush=True)
    plan = FineTunePlan(freeze, freeze_stages, body_lr_scale, unfreeze_at)
    return open_run(finetune_run(str(source), config, plan, model)["run_dir"])


__all__ = ["Run", "check", "compare", "finetune", "lr_find", "open_run", "summary", "train"]
