"""Batches of ``(network input, targets)`` for a task, with images and targets on the device: the
task's ``batch`` applies one augmentation draw to both, then the images are normalised."""

from collections.abc import Callable, Iterator

import torch

from striate.data.loader import epoch_generator
from striate.data.shards import RankShare
from striate.tasks.data import TargetSet


class TaskLoader(RankShare):
    """Like striate.data.DeviceLoader, for targets other than labels.

    >>> loader = TaskLoader(data, task, batch_size=32, normalize=lambda x: x)   # doctest: +SKIP
    """

    def __init__(self, data: TargetSet, task, batch_size: int, normalize: Callable, shuffle: bool = False,
                 seed: int = 0, device="cpu", augment=None):
        self.images, self.targets = data.images.to(device), data.targets.to(device)
        self.task, self.batch_size, self.normalize = task, batch_size, normalize
        self.shuffle, self.seed, self.device, self.augment = shuffle, seed, torch.device(device), augment
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return -(-len(self.images) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        generator = epoch_generator(self.seed, self.epoch, self.device)
        count = len(self.images)
        order = torch.randperm(count, generator=generator, device=self.device) if self.shuffle else \
            torch.arange(count, device=self.device)
        draws = self.draws(generator)  # the epoch's generator, or under DDP this rank's own (striate.data.shards)
        for start in range(0, count, self.batch_size):
            index = self.share(order[start:start + self.batch_size])  # DDP: this rank's part of the global batch
            images = self.images[index].float().div_(255)
            images, targets = self.task.batch(images, self.targets[index], self.augment, draws)
            yield self.normalize(images), targets
