"""The one way back from a run directory: :func:`open_run` rebuilds the run's task, model and
preprocessing from its files, and its test split (its fold included) with the very functions training
used (striate.session.prepare). ``striate evaluate``, ``predict``, ``report``, ``plot``, ``features``,
``export``, ``serve`` and transfer all read runs through it, so they agree with summary.json.

>>> run = open_run("runs/lenet5-mnist")            # doctest: +SKIP
>>> run.evaluate()["accuracy"]                     # doctest: +SKIP
0.98
>>> images, labels = next(iter(run.loader()))      # doctest: +SKIP
"""

import copy
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from striate.data.preprocess import display_moments, load_arrays, make_normalizer
from striate.data.sources import source_of
from striate.errors import DataError, RunError
from striate.models import create_model
from striate.files import remove_temporaries
from striate.pretrained import find_pretrained
from striate.session.lock import writer_of
from striate.session.prepare import EVAL_BATCH, Prepared, read_data, to_input_size
from striate.session.rundir import WEIGHT_FILES, RunPaths, read_history, read_meta, read_summary
from striate.tasks import Task, task_kind
from striate.training.checkpoint import load_weights
from striate.training.config import Config, load_recipe
from striate.training.loop import evaluate


@dataclass
class Run:
    """A finished (or interrupted) run: its files, configuration, task and model (eval mode)."""

    root: Path
    config: Config
    meta: dict  # model.json, with the preprocessing arrays read back
    task: Task
    model: nn.Module
    data_path: str | None = None  # another data set whose test split stands for the run's own
    class_map: dict | None = None  # data_path's class names -> the run's, where they differ
    writer: int | None = None  # the PID of a process still training the run when it was opened (-1: unknown)
    _test: object = field(default=None, repr=False)

    @property
    def paths(self) -> RunPaths:
        return RunPaths(self.root)

    @property
    def preprocess(self) -> dict:
        return self.meta["preprocess"]

    @property
    def class_names(self) -> list[str]:
        return self.meta["class_names"]

    @property
    def names(self) -> list[str]:
        return self.meta.get("names", self.meta["class_names"])

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.meta["input_shape"])

    @property
    def mean(self) -> list[float] | None:
        """The per-channel mean that undoes the network's normalisation for display (with :attr:`std`);
        None where it is no per-channel affine map (mean image, whitening): pictures are then stretched."""
        return display_moments(self.preprocess)[0]

    @property
    def std(self) -> list[float] | None:
        return display_moments(self.preprocess)[1]

    @property
    def history(self) -> list[dict]:
        return read_history(self.paths)

    @property
    def summary(self) -> dict:
        return read_summary(self.paths)

    @property
    def test(self):
        """The test split the run was tested on (or ``data_path``'s), at the network's input size."""
        if self._test is None:
            self._test = test_split(self.config, self.preprocess, self.data_path, self.names, self.class_map)
        return self._test

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """Float images in 0..1 -> network inputs, exactly as in training."""
        return make_normalizer(self.preprocess, images.device)(images)

    def loader(self, batch_size: int = EVAL_BATCH, device="cpu"):
        """The test split, normalised as in training, in order."""
        normalize = make_normalizer(self.preprocess, device)
        return self.task.loader(self.test, batch_size, normalize, shuffle=False, seed=self.config.run.seed,
                                device=device, workers=self.config.data.workers)

    def evaluate(self) -> dict:
        """The task's figures on the test split (the same figures as summary.json's test figures)."""
        return evaluate(self.model, self.loader(), self.task)

    def image(self, index: int = 0) -> tuple[torch.Tensor, int]:
        """One normalised test image (``C x H x W``) and its target."""
        if not 0 <= index < len(self.test):
            raise DataError(f"image index {index} is out of range: the test split has {len(self.test)} images "
                            f"(0..{len(self.test) - 1})")
        images, targets = next(iter(self.task.loader(self.test.subset(torch.tensor([index])), 1,
                                                     make_normalizer(self.preprocess), False, 0, "cpu")))
        return images[0], int(targets[0]) if targets[0].numel() == 1 else targets[0]


def open_run(run_dir: str | Path, weights: str | None = "best", data_path: str | None = None, device="cpu",
             class_map: dict | None = None) -> Run:
    """Open the run in ``run_dir`` with its ``best`` or ``last`` weights (None: no model, for what reads only
    the run's files, such as its curves); ``data_path``: evaluate and draw on that data's test split instead
    of the run's own, its classes matched to the run's by name (``class_map``: data name -> run name, for
    names that differ)."""
    if class_map and not data_path:
        raise DataError("a class map renames the classes of other data: give it with --data (data=) or drop it")
    run_dir = find_pretrained(run_dir) or run_dir  # a shipped network by name (striate.pretrained)
    if weights is not None and weights not in WEIGHT_FILES:
        raise RunError(f"unknown weights '{weights}'; expected one of {WEIGHT_FILES}")
    meta = read_meta(run_dir)
    paths = RunPaths(Path(run_dir))
    if not paths.config.is_file():
        raise RunError(f"{paths.root} has no config.yaml: it is not a striate run directory (give one made by 'striate train')")
    config = load_recipe(paths.config)
    meta["preprocess"] = load_arrays(run_dir, meta["preprocess"])  # the mean image / whitening matrix, if any
    task = task_kind(config.data.task).from_meta(config, meta)
    model = load_model(paths, meta, weights, device) if weights is not None else None
    writer = writer_of(paths.root)
    if writer is None:
        remove_temporaries(paths.root)  # left by writes a kill interrupted; never a real file
    return Run(paths.root, config, meta, task, model, data_path, class_map, writer)


def load_run_model(run_dir: str | Path, weights: str = "best", device="cpu") -> tuple[nn.Module, dict]:
    """The run's model (eval mode) and its model.json with the preprocessing arrays: :func:`open_run` for
    the callers that need no more (export, the Predictor, transfer).

    >>> model, meta = load_run_model("runs/lenet5-mnist")   # doctest: +SKIP
    """
    run = open_run(run_dir, weights, device=device)
    return run.model, run.meta


def load_model(paths: RunPaths, meta: dict, weights: str = "best", device="cpu") -> nn.Module:
    """The run's architecture from model.json with its ``best`` or ``last`` weights, in eval mode."""
    model = create_model(meta["model"]["name"], **meta["model"]["args"])
    state = load_weights(paths.weights(weights))
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise RunError(f"{paths.root}: the weights do not fit model '{meta['model']['name']}' ({error})") from None
    return model.to(device).eval()


def test_split(config: Config, preprocess: dict, data_path: str | None = None, run_names: list[str] | None = None,
               class_map: dict | None = None):
    """The run's own test split, rebuilt from its recipe, split seed and fold by the functions training used;
    or the test split of ``data_path`` (read as the run's task reads data), at the run's input size, its
    classes matched to ``run_names`` (see :func:`match_classes`)."""
    config = copy.deepcopy(config)
    config.data.loader = "device"  # evaluation reads the split into memory, whatever training streamed
    kind = task_kind(config.data.task)
    if data_path:
        config.data.path = data_path
        if kind.uses_source:  # a source's name, or what the path plainly is (not the recipe's source)
            config.data.source, config.data.path = source_of(data_path)
    data = read_data(config, kind)
    test = to_input_size(data, config, preprocess)["test"]
    if data_path and run_names is not None and data.task.outputs(run_names):
        test = match_classes(test, data.names, run_names, class_map or {}, data_path)
    if len(test) == 0:
        raise DataError(f"the test split of {config.data.path} is empty; give data with more images "
                        f"(data.test_fraction is {config.data.test_fraction})")
    data.task.check_images(tuple(test.images.shape[1:]), preprocess)
    return test


def match_classes(part, data_names: list[str], run_names: list[str], class_map: dict, where: str):
    """``part`` (another data set's test split) with its labels renumbered to the run's classes, matched by
    name (``class_map`` renames the data's classes first): the same classes in another order, or some of
    them, are fine; a class the run does not know is refused, as is data whose targets are not class labels
    that differ from the run's.

    >>> from striate.data.dataset import ImageSet
    >>> part = ImageSet(torch.zeros(3, 1, 2, 2, dtype=torch.uint8), torch.tensor([0, 1, 1]), ["dog", "cat"])
    >>> match_classes(part, ["dog", "cat"], ["cat", "dog", "bird"], {}, "pets").labels.tolist()
    [1, 0, 0]
    """
    unknown_keys = sorted(set(class_map) - set(data_names))
    if unknown_keys:
        raise DataError(f"--class-map names {unknown_keys[:5]}, which are not classes of {where} (its classes: "
                        f"{_listed(data_names)}); map the data's class names to the run's")
    bad_values = sorted({value for value in class_map.values() if value not in run_names})
    if bad_values:
        raise DataError(f"--class-map maps to {bad_values[:5]}, which are not classes of the run (its classes: "
                        f"{_listed(run_names)})")
    renamed = [class_map.get(name, name) for name in data_names]
    if renamed == list(run_names):
        return part
    unknown = [name for name in renamed if name not in run_names]
    if unknown or not hasattr(part, "labels"):
        raise DataError(f"{where} has classes {_listed(data_names)} but the run was trained on {_listed(run_names)}; "
                        f"{len(unknown) or 'some'} of them are not the run's, so its figures would compare unlike "
                        "classes: evaluate on data with the run's classes, or map names with --class-map "
                        "'data_name=run_name,...'")
    new_label = torch.tensor([run_names.index(name) for name in renamed], dtype=torch.long)
    return type(part)(part.images, new_label[part.labels], list(run_names), list(part.skipped))


def _listed(names: list[str], most: int = 12) -> str:
    shown = ", ".join(names[:most])
    return f"[{shown}{', ...' if len(names) > most else ''}] ({len(names)})"


def parse_class_map(text: str | None) -> dict:
    """``"cats=cat,dogs=dog"`` -> ``{"cats": "cat", "dogs": "dog"}`` (the ``--class-map`` option)."""
    if not text:
        return {}
    mapping = {}
    for item in text.split(","):
        data_name, sep, run_name = item.partition("=")
        if not sep or not data_name.strip() or not run_name.strip():
            raise DataError(f"--class-map item '{item}' is not data_name=run_name; give e.g. --class-map 'cats=cat,dogs=dog'")
        mapping[data_name.strip()] = run_name.strip()
    return mapping


__all__ = ["Prepared", "Run", "load_model", "load_run_model", "match_classes", "open_run", "parse_class_map",
           "test_split"]
