"""What a data path holds and what a run would train on (``striate data info PATH``): per split the data
holds, the count, classes and their balance, image shape and dtype, pixel mean and standard deviation,
the unreadable files; the files or keys read; and the train / validation / test splits a run makes of it
with :func:`striate.data.sources.make_splits` (the same function, fractions and seed training uses), with
each class's count, where each split comes from, and whether the validation split can choose an epoch.

>>> describe("../shared/data/mnist")["splits"]["train"]["count"]   # doctest: +SKIP
60000
>>> describe("../shared/data/mnist")["run_splits"]["val"]["count"]   # doctest: +SKIP
6000
"""

from dataclasses import dataclass
from pathlib import Path

import torch

from striate.data.arrays import read_keypoints_csv
from striate.data.folder import detect_channels, list_files, split_folders
from striate.data.images import load_image
from striate.data.preprocess import channel_moments
from striate.data.registry import Splits
from striate.data.sources import infer_source, list_sources, load_source, make_splits, source_of
from striate.data.splits import VAL_FLOOR_MAX_SHARE, VAL_FLOOR_PER_CLASS, validation_size_note
from striate.errors import DataError


@dataclass
class SplitSettings:
    """The settings of data.* that shape a run's splits (the defaults are DataConfig's)."""

    val_fraction: float = 0.1
    test_fraction: float = 0.1
    split_seed: int = 0
    train_per_class: int = 0
    max_per_class: int = 0


@dataclass
class _Labels:
    """Labels and class names without images: enough for make_splits to split a folder described file by file."""

    labels: torch.Tensor
    class_names: list[str]

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, indices: torch.Tensor) -> "_Labels":
        return _Labels(self.labels[indices], self.class_names)


def _class_counts(labels: torch.Tensor, names: list[str]) -> dict[str, int]:
    counts = torch.bincount(labels.cpu(), minlength=len(names)).tolist()
    return dict(zip(names, counts))


def _balance(counts: dict[str, int]) -> float | None:
    present = [count for count in counts.values() if count]
    return (min(present) / max(present)) if present else None  # 1.0: perfectly balanced


def _summarise(images: torch.Tensor, labels: torch.Tensor, names: list[str]) -> dict:
    mean, std = channel_moments(images) if len(images) else ([], [])
    counts = _class_counts(labels, names)
    return {"count": len(labels), "classes": counts, "num_classes": len(names), "balance": _balance(counts),
            "shape": list(images.shape[1:]), "dtype": str(images.dtype).removeprefix("torch."),
            "native_sizes": None, "mean": mean, "std": std, "unreadable": []}


def _folder_split(folder: Path, max_per_class: int) -> tuple[dict, _Labels]:
    """Decode every file at its own size (collecting the unreadable ones) for a folder split."""
    files = list_files(folder, max_per_class=max_per_class)
    channels = detect_channels(files.paths)
    total = torch.zeros(channels, dtype=torch.float64)
    squares, pixels, sizes, labels, bad = torch.zeros_like(total), 0, {}, [], []
    for path, label in zip(files.paths, files.labels):
        try:
            image = load_image(path, channels)
        except DataError as error:
            bad.append(f"{path} ({str(error).split(': ', 1)[-1]})")
            continue
        values = image.double().div(255).flatten(1)
        total, squares, pixels = total + values.sum(1), squares + (values**2).sum(1), pixels + values.shape[1]
        size = f"{image.shape[1]}x{image.shape[2]}"
        sizes[size] = sizes.get(size, 0) + 1
        labels.append(label)
    mean = total / max(pixels, 1)
    found = _Labels(torch.tensor(labels, dtype=torch.long), files.class_names)
    counts = _class_counts(found.labels, files.class_names)
    one_size = [int(side) for side in next(iter(sizes)).split("x")] if len(sizes) == 1 else [None, None]
    return {"count": len(labels), "classes": counts, "num_classes": len(files.class_names), "balance": _balance(counts),
            "shape": [channels, *one_size], "dtype": "uint8", "native_sizes": sizes, "mean": mean.tolist(),
            "std": (squares / max(pixels, 1) - mean**2).clamp_min(0).sqrt().tolist(), "unreadable": bad}, found


def _keypoints_csv(path: Path) -> dict:
    images, targets, names = read_keypoints_csv(path)
    mean, std = channel_moments(torch.from_numpy(images))
    missing = {name: int(count) for name, count in zip(names, torch.from_numpy(targets).isnan().sum(0).tolist())}
    return {"source": "csv (keypoints)", "splits": {"train": {
        "count": len(images), "shape": list(images.shape[1:]), "dtype": str(images.dtype), "mean": mean, "std": std,
        "targets": len(names), "missing_targets": missing, "complete_rows": int((~torch.from_numpy(targets).isnan()).all(1).sum())}}}


def _run_splits(found: Splits, settings: SplitSettings) -> tuple[dict, list[str], str | None]:
    """The train/val/test a run makes of ``found``: per split the count and class counts; the notes; and
    validation_size_note's line."""
    made = make_splits(found, settings.val_fraction, settings.test_fraction, settings.split_seed,
                       train_per_class=settings.train_per_class)
    names = made["train"].class_names
    parts = {name: {"count": len(part), "classes": _class_counts(part.labels, names)} for name, part in made.items()}
    return parts, made.notes[len(found.notes):], validation_size_note(made)


def describe(path: str | Path | None, source: str | None = None, settings: SplitSettings | None = None) -> dict:
    """A dict describing the data at ``path`` (the source is inferred unless given; ``path`` may name a
    source, e.g. ``mnist5k``) and the splits a run with ``settings`` makes of it."""
    settings = settings or SplitSettings()
    if path is not None and not Path(path).exists() and str(path) in list_sources():
        source, path = source_of(str(path))
    if path is not None:
        path = Path(path)
        if source is None and path.suffix.lower() == ".csv" and path.is_file() and "Image" in path.open().readline():
            return _keypoints_csv(path) | {"path": str(path)}
        source = source or infer_source(str(path))
    if source == "folder":
        described = {name: _folder_split(folder, settings.max_per_class) for name, folder in split_folders(path).items()}
        found = Splits({name: labels for name, (_, labels) in described.items()},
                       [f"{name}: {folder.name}/ ({described[name][0]['count']} readable images)"
                        for name, folder in split_folders(path).items()])
        splits = {name: summary for name, (summary, _) in described.items()}
    else:
        found = load_source(source, None if path is None else str(path), max_per_class=settings.max_per_class)
        splits = {name: _summarise(part.images, part.labels, part.class_names) for name, part in found.items()}
    run_splits, origins, too_small = _run_splits(found, settings)
    floor = (f"a carved validation split holds at least min({VAL_FLOOR_PER_CLASS}, {VAL_FLOOR_MAX_SHARE:.0%} of the "
             "class) images of each class")
    return {"path": str(path) if path is not None else source, "source": source, "notes": found.notes,
            "splits": splits, "run_splits": run_splits, "split_notes": origins, "validation_floor": floor,
            "validation_note": too_small, "settings": vars(settings)}
