"""The device-resident loader: uint8 images live on the training device and are
batched, augmented and normalised there (as in airbench), with no worker processes."""

from collections.abc import Callable, Iterator

import torch

from striate.data.augment import Augmenter, mix_batch
from striate.data.dataset import ImageSet
from striate.data.shards import RankShare

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


SAMPLERS = ("shuffle", "balanced")  # data.sampler


def epoch_order(count: int, generator: torch.Generator, device, sampler: str = "shuffle",
                labels: torch.Tensor | None = None) -> torch.Tensor:
    """The indices one training epoch visits, drawn from its :func:`epoch_generator`: ``shuffle``, each image
    once in a random order; ``balanced``, ``count`` draws (the epoch keeps its length) with replacement, each a
    class chosen uniformly among the classes of ``labels`` and then one of its images uniformly, so every class
    is expected ``count / classes`` times an epoch and a rare class's images recur.

    >>> labels = torch.tensor([0] * 90 + [1] * 10)
    >>> order = epoch_order(100, torch.Generator().manual_seed(0), "cpu", "balanced", labels)
    >>> len(order), torch.bincount(labels[order]).tolist()
    (100, [44, 56])
    """
    if sampler == "shuffle":
        return torch.randperm(count, generator=generator, device=device)
    if sampler != "balanced":
        raise ValueError(f"unknown sampler '{sampler}'; expected one of {list(SAMPLERS)}")
    labels = labels.to(device)
    by_class = torch.argsort(labels, stable=True)  # image indices grouped by class
    classes, sizes = torch.unique(labels, sorted=True, return_counts=True)
    starts = sizes.cumsum(0) - sizes
    picked = torch.randint(len(classes), (count,), generator=generator, device=device)
    within = (torch.rand(count, generator=generator, device=device, dtype=torch.float64) * sizes[picked]).long()
    return by_class[starts[picked] + within.minimum(sizes[picked] - 1)]


class DeviceLoader(RankShare):
    """Mini-batches of ``(float images, labels)`` from an :class:`ImageSet` on ``device``.

    The order of epoch ``e`` depends only on ``seed`` and ``e`` (call ``set_epoch``),
    so a resumed run sees the same batches as an uninterrupted one; ``sampler`` (with ``shuffle``) draws it
    as :func:`epoch_order` says.

    >>> loader = DeviceLoader(data, batch_size=64, mean=[0.13], std=[0.31], shuffle=True)  # doctest: +SKIP
    >>> images, labels = next(iter(loader))                                               # doctest: +SKIP
    """

    def __init__(self, data: ImageSet, batch_size: int, mean, std, shuffle: bool = False, seed: int = 0,
                 device: str | torch.device = "cpu", augment: Augment | None = None, drop_last: bool = False,
                 normalize: Callable[[torch.Tensor], torch.Tensor] | None = None, sampler: str = "shuffle"):
        self.data = data.to(device)
        self.batch_size = batch_size
        self.device = torch.device(device)
        self.mean = torch.tensor(mean, device=self.device).view(1, -1, 1, 1)
        self.std = torch.tensor(std, device=self.device).clamp_min(1e-8).view(1, -1, 1, 1)
        self.shuffle = shuffle
        self.sampler = sampler  # with shuffle: shuffle (each image once an epoch) | balanced (see epoch_order)
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
        order = epoch_order(count, generator, self.device, self.sampler, self.data.labels) if self.shuffle else None
        draws = self.draws(generator)  # the epoch's generator, or under DDP this rank's own (striate.data.shards)
        for batch in range(len(self)):
            start, stop = batch * self.batch_size, min((batch + 1) * self.batch_size, count)
            index = self.share(order[start:stop] if order is not None else slice(start, stop))  # DDP: this rank's part
            images = augment_batch(self.data.images[index], self.augment, draws)
            images, labels = mix_batch(images, self.data.labels[index], self.augment, draws)  # mixup, cutmix
            yield self._normalize_float(images), labels
