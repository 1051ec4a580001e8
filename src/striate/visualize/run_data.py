"""A finished run's model and data, gathered once for its pictures and its report.

>>> run = open_run("runs/lenet5-mnist")                 # doctest: +SKIP
>>> images, labels = next(iter(run.loader()))           # doctest: +SKIP
"""

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from striate.data import DeviceLoader, ImageSet


@dataclass
class RunData:
    run_dir: Path
    model: nn.Module  # in eval mode, on the CPU
    meta: dict  # model.json
    config: object  # the run's striate.train.config.Config
    test: ImageSet  # the run's test split at the network's input size

    @property
    def mean(self) -> list[float]:
        return self.meta["preprocess"]["mean"]

    @property
    def std(self) -> list[float]:
        return self.meta["preprocess"]["std"]

    @property
    def class_names(self) -> list[str]:
        return self.meta["class_names"]

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.meta["input_shape"])

    def loader(self, batch_size: int = 256) -> DeviceLoader:
        """The test split, normalised as in training, in order."""
        return DeviceLoader(self.test, batch_size, self.mean, self.std)

    def image(self, index: int = 0) -> tuple[torch.Tensor, int]:
        """One normalised test image (``C x H x W``) and its label."""
        from striate.errors import DataError

        if not 0 <= index < len(self.test):
            raise DataError(f"image index {index} is out of range: the test split has {len(self.test)} images (0..{len(self.test) - 1})")
        loader = DeviceLoader(self.test.subset(torch.tensor([index])), 1, self.mean, self.std)
        images, labels = next(iter(loader))
        return images[0], int(labels[0])


def open_run(run_dir: str | Path, weights: str = "best", data_path: str | None = None) -> RunData:
    """Load the run's model and rebuild its test split (or ``data_path``'s test split)."""
    from striate.pipeline import held_out_split
    from striate.runs import RunPaths, load_run_model
    from striate.train.config import load_recipe

    model, meta = load_run_model(run_dir, weights)
    config = load_recipe(RunPaths(Path(run_dir)).config)
    test = held_out_split(config, meta["preprocess"], data_path)
    return RunData(Path(run_dir), model, meta, config, test)
