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
from striate.data.sources import infer_source
from striate.errors import DataError, RunError
from striate.models import create_model
from striate.files import remove_temporaries
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
            self._test = test_split(self.config, self.preprocess, self.data_path)
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


def open_run(run_dir: str | Path, weights: str | None = "best", data_path: str | None = None, device="cpu") -> Run:
    """Open the run in ``run_dir`` with its ``best`` or ``last`` weights (None: no model, for what reads only
    the run's files, such as its curves); ``data_path``: evaluate and draw on that data's test split instead
    of the run's own."""
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
    return Run(paths.root, config, meta, task, model, data_path, writer)


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


def test_split(config: Config, preprocess: dict, data_path: str | None = None):
    """The run's own test split, rebuilt from its recipe, split seed and fold by the functions training used;
    or the test split of ``data_path`` (read as the run's task reads data), at the run's input size."""
    config = copy.deepcopy(config)
    config.data.loader = "device"  # evaluation reads the split into memory, whatever training streamed
    kind = task_kind(config.data.task)
    if data_path:
        config.data.path = data_path
        if kind.uses_source:  # what the path plainly is, not the recipe's source
            config.data.source = infer_source(data_path)
    data = read_data(config, kind)
    test = to_input_size(data, config, preprocess)["test"]
    if len(test) == 0:
        raise DataError(f"the test split of {config.data.path} is empty; give data with more images "
                        f"(data.test_fraction is {config.data.test_fraction})")
    data.task.check_images(tuple(test.images.shape[1:]), preprocess)
    return test


__all__ = ["Prepared", "Run", "load_model", "load_run_model", "open_run", "test_split"]
