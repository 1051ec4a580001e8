"""The streaming loader: for image folders that do not fit in memory. Worker processes decode
files on the CPU; augmentation and normalisation then run batched on the training device,
exactly as in :class:`~striate.data.loader.DeviceLoader`.

For the same seed, epoch, batch size and augmentation both loaders give the same batches:
the order comes from the same generator (:func:`~striate.data.loader.epoch_generator`), the files are decoded
with the same function as the folder source, and the random draws follow in the same order.

Every file is decoded once when the loader is built (``verify=True``), so an unreadable file
stops the run before training (or is skipped with ``skip_bad``), never in the middle of an epoch.

>>> loader = StreamingLoader.from_folder("cifar10/train", size=32, batch_size=128, workers=2)  # doctest: +SKIP
>>> images, labels = next(iter(loader))                                                        # doctest: +SKIP
"""

from collections.abc import Callable, Iterator
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

from striate.data.augment import mix_batch
from striate.data.folder import FileList, decode_file, detect_channels, list_files, report_bad
from striate.data.loader import augment_batch, epoch_generator
from striate.data.shards import RankShare, rank_share
from striate.errors import DataError


class FileDataset(Dataset):
    """Decoded files by index: ``(uint8 C x size x size, label)``; with ``check`` a failure returns
    ``(None, message)`` instead of raising."""

    def __init__(self, files: FileList, channels: int, size: int, check: bool = False):
        self.files, self.channels, self.size, self.check = files, channels, size, check

    def __len__(self) -> int:
        return len(self.files.paths)

    def __getitem__(self, index: int):
        path = self.files.paths[index]
        if not self.check:
            return decode_file(path, self.channels, self.size), self.files.labels[index]
        try:
            decode_file(path, self.channels, self.size)
            return index, ""
        except DataError as error:
            return index, str(error).split(": ", 1)[-1]


def _single_thread_worker(_: int) -> None:
    torch.set_num_threads(1)  # the workers decode; the main process keeps the cores for the model


def _private_generator() -> torch.Generator:
    """DataLoader draws its workers' base seed from this, not from the global generator, so that
    building a loader does not change the model's initialisation or dropout draws."""
    return torch.Generator().manual_seed(0)


def _stack(samples):
    images, labels = zip(*samples)
    return torch.stack(images), torch.tensor(labels, dtype=torch.long)


def find_bad_files(files: FileList, channels: int, size: int, workers: int = 0) -> list[tuple[str, str]]:
    """Decode every file (in ``workers`` processes); return ``(path, reason)`` of those that fail."""
    loader = DataLoader(FileDataset(files, channels, size, check=True), batch_size=64, num_workers=workers,
                        collate_fn=list, worker_init_fn=_single_thread_worker if workers else None,
                        generator=_private_generator())
    return [(str(files.paths[index]), reason) for batch in loader for index, reason in batch if reason]


class StreamingLoader(RankShare):
    """Mini-batches of ``(float images, labels)`` decoded from files by ``workers`` processes."""

    def __init__(self, files: FileList, channels: int, size: int, batch_size: int,
                 normalize: Callable[[torch.Tensor], torch.Tensor], shuffle: bool = False, seed: int = 0,
                 device: str | torch.device = "cpu", augment=None, workers: int = 0, drop_last: bool = False):
        self.files, self.channels, self.size = files, channels, size
        self.batch_size, self.normalize, self.shuffle, self.seed = batch_size, normalize, shuffle, seed
        self.device, self.augment, self.workers, self.drop_last = torch.device(device), augment, workers, drop_last
        self.epoch = 0

    @classmethod
    def from_folder(cls, folder: str | Path, size: int, batch_size: int, normalize=None, skip_bad: bool = False,
                    verify: bool = True, max_per_class: int = 0, class_names=None, **options) -> "StreamingLoader":
        """List a class-per-sub-folder image folder, check every file (``verify``), and build the loader.
        ``normalize`` defaults to pixels in 0..1."""
        files = list_files(Path(folder), class_names, max_per_class)
        channels = detect_channels(files.paths)
        if verify:
            bad = find_bad_files(files, channels, size, options.get("workers", 0))
            report_bad(bad, skip_bad)
            bad_paths = {path for path, _ in bad}
            kept = [(p, label) for p, label in zip(files.paths, files.labels) if str(p) not in bad_paths]
            files = FileList([p for p, _ in kept], [label for _, label in kept], files.class_names, bad)
        return cls(files, channels, size, batch_size, normalize or (lambda images: images), **options)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        count = len(self.files.paths)
        return count // self.batch_size if self.drop_last else -(-count // self.batch_size)

    def _order(self, generator: torch.Generator) -> torch.Tensor:
        count = len(self.files.paths)
        if self.shuffle:
            return torch.randperm(count, generator=generator, device=self.device).cpu()
        return torch.arange(count)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        generator = epoch_generator(self.seed, self.epoch, self.device)
        order = self._order(generator)
        batches = [order[b * self.batch_size : (b + 1) * self.batch_size].tolist() for b in range(len(self))]
        # DDP: this rank decodes and augments only its part of each global batch (an empty part is skipped)
        shares = [(share, len(batch)) for batch in batches if (share := rank_share(batch, self.shard))]
        loader = DataLoader(FileDataset(self.files, self.channels, self.size), batch_sampler=[s for s, _ in shares],
                            num_workers=self.workers, collate_fn=_stack,
                            worker_init_fn=_single_thread_worker if self.workers else None,
                            generator=_private_generator())
        draws = self.draws(generator)  # the epoch's generator, or under DDP this rank's own (striate.data.shards)
        for (images, labels), (_, global_size) in zip(loader, shares):
            self.global_size = global_size
            images = augment_batch(images.to(self.device, non_blocking=True), self.augment, draws)
            images, labels = mix_batch(images, labels.to(self.device), self.augment, draws)  # mixup, cutmix
            yield self.normalize(images), labels
