"""Image folders kept on disk for training with the streaming loader (``data.loader: streaming``).

A :class:`FileSet` stands where an in-memory :class:`~striate.data.dataset.ImageSet` would:
it has labels, class names, ``subset`` and ``image_shape``, so the same seeded stratified
splits apply, but its images are decoded by worker processes batch by batch.

>>> splits, preprocess = prepare_streaming(config.data)   # doctest: +SKIP
"""

from dataclasses import dataclass
from pathlib import Path

import torch

from striate.data.folder import FileList, decode_file, detect_channels, list_files, report_bad, split_folders
from striate.data.augment import uses_lighting
from striate.data.preprocess import fit_preprocess
from striate.data.sources import make_splits
from striate.data.streaming import StreamingLoader, find_bad_files
from striate.errors import DataError

FIT_SAMPLE = 10_000  # training images decoded to fit the preprocessing


@dataclass
class FileSet:
    files: FileList
    channels: int
    size: int

    def __len__(self) -> int:
        return len(self.files.paths)

    @property
    def labels(self) -> torch.Tensor:
        return torch.tensor(self.files.labels, dtype=torch.long)

    @property
    def class_names(self) -> list[str]:
        return self.files.class_names

    @property
    def num_classes(self) -> int:
        return len(self.files.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.channels, self.size, self.size)

    def subset(self, indices: torch.Tensor) -> "FileSet":
        chosen = indices.tolist()
        files = FileList([self.files.paths[i] for i in chosen], [self.files.labels[i] for i in chosen],
                         self.files.class_names)
        return FileSet(files, self.channels, self.size)

    def decode(self, count: int, seed: int = 0) -> torch.Tensor:
        """uint8 images of up to ``count`` files drawn at random (all of them when there are fewer)."""
        order = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))[:count]
        picked = sorted(order.tolist()) if count < len(self) else range(len(self))
        return torch.stack([decode_file(self.files.paths[i], self.channels, self.size) for i in picked])


def load_file_splits(path: str, size: int, skip_bad: bool, max_per_class: int, workers: int) -> dict[str, FileSet]:
    """List an image folder's splits and check (decode) every file once, before training."""
    if path is None or not Path(path).is_dir():
        raise DataError(f"data.loader: streaming needs an image folder (--data DIR), got {path}")
    splits, class_names, channels = {}, None, None
    for name, folder in split_folders(Path(path)).items():
        files = list_files(folder, class_names, max_per_class)
        class_names = class_names or files.class_names
        channels = channels or detect_channels(files.paths)
        bad = find_bad_files(files, channels, size, workers)
        report_bad(bad, skip_bad)
        bad_paths = {p for p, _ in bad}
        kept = [(p, label) for p, label in zip(files.paths, files.labels) if str(p) not in bad_paths]
        splits[name] = FileSet(FileList([p for p, _ in kept], [label for _, label in kept], list(class_names), bad),
                               channels, size)
    return splits


def streaming_loader(part: FileSet, batch_size: int, normalize, shuffle: bool, seed: int, device, augment,
                     workers: int):

    return StreamingLoader(part.files, part.channels, part.size, batch_size, normalize, shuffle=shuffle, seed=seed,
                           device=device, augment=augment, workers=workers)


def prepare_streaming(data) -> tuple[dict[str, FileSet], dict]:
    """The streaming counterpart of the pipeline's data preparation, for a ``DataConfig``: checked file
    splits (seeded, stratified) and the preprocessing fitted on (a sample of) the training split."""
    raw = load_file_splits(data.path, data.input_size, data.skip_bad, data.max_per_class, data.workers)
    splits = make_splits(raw, data.val_fraction, data.test_fraction, data.split_seed, data.folds, data.fold)
    train = splits["train"]
    preprocess = {"channels": train.channels, "native_size": [train.size, train.size], "input_size": data.input_size,
                  "fit": data.fit, **fit_preprocess(train.decode(FIT_SAMPLE, data.split_seed), data.normalize,
                                                    data.whiten_epsilon, colour_pca=uses_lighting(data.augment))}
    return splits, preprocess
