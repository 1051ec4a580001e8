"""The device-resident loader: uint8 images live on the training device and are
batched, augmented and normalised there (as in airbench), with no worker processes."""

from collections.abc import Callable, Iterator

import torch

from striate.data.augment import Augmenter
from striate.data.dataset import ImageSet

Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def channel_stats(images: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per-channel mean and standard deviation of uint8 images, in units of 0..1.

    >>> channel_stats(torch.full((2, 1, 4, 4), 255, dtype=torch.uint8))
    ([1.0], [0.0])
    """
    values = images.float().div(255).transpose(0, 1).reshape(images.shape[1], -1)
    return values.mean(dim=1).tolist(), values.std(dim=1, correction=0).tolist()


def augment_batch(images: torch.Tensor, augment: Augment | None, generator: torch.Generator) -> torch.Tensor:
    """uint8 batch -> augmented float batch in 0..1 (an Augmenter takes the uint8 images itself)."""
    if isinstance(augment, Augmenter):
        return augment(images, generator)
    images = images.float().div_(255)
    return augment(images, generator) if augment is not None else images


def epoch_generator(seed: int, epoch: int, device: torch.device) -> torch.Generator:
    """The random generator of one epoch of a loader: its batch order and augmentation draws depend only on
    the run's seed and the epoch, so a resumed run sees the batches an uninterrupted one sees. Every loader
    (device, streaming, task) draws from it.

    >>> int(torch.randint(0, 100, (1,), generator=epoch_generator(0, 3, torch.device("cpu"))))  # doctest: +SKIP
    """
    return torch.Generator(device=device).manual_seed(seed * 100_003 + epoch)


class DeviceLoader:
    """Mini-batches of ``(float images, labels)`` from an :class:`ImageSet` on ``device``.

    The order of epoch ``e`` depends only on ``seed`` and ``e`` (call ``set_epoch``),
    so a resumed run sees the same batches as an uninterrupted one.

    >>> loader = DeviceLoader(data, batch_size=64, mean=[0.13], std=[0.31], shuffle=True)  # doctest: +SKIP
    >>> images, labels = next(iter(loader))                                               # doctest: +SKIP
    """

    def __init__(self, data: ImageSet, batch_size: int, mean, std, shuffle: bool = False, seed: int = 0,
                 device: str | torch.device = "cpu", augment: Augment | None = None, drop_last: bool = False,
                 normalize: Callable[[torch.Tensor], torch.Tensor] | None = None):
        self.data = data.to(device)
        self.batch_size = batch_size
        self.device = torch.device(device)
        self.mean = torch.tensor(mean, device=self.device).view(1, -1, 1, 1)
        self.std = torch.tensor(std, device=self.device).clamp_min(1e-8).view(1, -1, 1, 1)
        self.shuffle = shuffle
        self.seed = seed
        self.augment = augment
        self.drop_last = drop_last
        self.epoch = 0
        self.normalize_fn = normalize  # a fitted preprocessing (striate.data.preprocess); else mean/std

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        count = len(self.data)
        return count // self.batch_size if self.drop_last else -(-count // self.batch_size)

    def _generator(self) -> torch.Generator:
        return epoch_generator(self.seed, self.epoch, self.device)

    def normalize(self, images_uint8: torch.Tensor) -> torch.Tensor:
        return self._normalize_float(images_uint8.float().div_(255))

    def _normalize_float(self, images: torch.Tensor) -> torch.Tensor:
        if self.normalize_fn is not None:
            return self.normalize_fn(images)
        return (images - self.mean) / self.std

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        count = len(self.data)
        generator = self._generator()
        order = torch.randperm(count, generator=generator, device=self.device) if self.shuffle else None
        for batch in range(len(self)):
            start = batch * self.batch_size
            index = order[start : start + self.batch_size] if order is not None else slice(start, start + self.batch_size)
            images = augment_batch(self.data.images[index], self.augment, generator)
            yield self._normalize_float(images), self.data.labels[index]
