"""What a data path holds: per split the count, classes and their balance, image shape and dtype,
pixel mean and standard deviation, and the unreadable files (``striate data info PATH``).

>>> describe("../shared/data/mnist")["splits"]["train"]["count"]   # doctest: +SKIP
60000
"""

from pathlib import Path

import torch

from striate.data.arrays import read_keypoints_csv
from striate.data.folder import detect_channels, list_files, split_folders
from striate.data.images import load_image
from striate.data.preprocess import channel_moments
from striate.data.sources import infer_source, load_source
from striate.errors import DataError


def _class_counts(labels: torch.Tensor, names: list[str]) -> dict[str, int]:
    counts = torch.bincount(labels.cpu(), minlength=len(names)).tolist()
    return dict(zip(names, counts))


def _summarise(images: torch.Tensor, labels: torch.Tensor, names: list[str], shapes=None) -> dict:
    mean, std = channel_moments(images) if len(images) else ([], [])
    counts = _class_counts(labels, names)
    present = [count for count in counts.values() if count]
    return {"count": len(labels), "classes": counts, "num_classes": len(names),
            "balance": (min(present) / max(present)) if present else None,  # 1.0: perfectly balanced
            "shape": list(images.shape[1:]), "dtype": str(images.dtype).removeprefix("torch."),
            "native_sizes": shapes, "mean": mean, "std": std}


def _folder_split(folder: Path) -> dict:
    """Decode every file at its own size (collecting the unreadable ones) for a folder split."""
    files = list_files(folder)
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
    labels_tensor = torch.tensor(labels, dtype=torch.long)
    counts = _class_counts(labels_tensor, files.class_names)
    present = [count for count in counts.values() if count]
    return {"count": len(labels), "classes": counts, "num_classes": len(files.class_names),
            "balance": (min(present) / max(present)) if present else None, "shape": [channels, None, None],
            "dtype": "uint8", "native_sizes": sizes, "mean": mean.tolist(),
            "std": (squares / max(pixels, 1) - mean**2).clamp_min(0).sqrt().tolist(), "unreadable": bad}


def _keypoints_csv(path: Path) -> dict:
    images, targets, names = read_keypoints_csv(path)
    mean, std = channel_moments(torch.from_numpy(images))
    missing = {name: int(count) for name, count in zip(names, torch.from_numpy(targets).isnan().sum(0).tolist())}
    return {"source": "csv (keypoints)", "splits": {"train": {
        "count": len(images), "shape": list(images.shape[1:]), "dtype": str(images.dtype), "mean": mean, "std": std,
        "targets": len(names), "missing_targets": missing, "complete_rows": int((~torch.from_numpy(targets).isnan()).all(1).sum())}}}


def describe(path: str | Path, source: str | None = None) -> dict:
    """A dict describing the data at ``path`` (the source is inferred unless given)."""
    path = Path(path)
    if source is None and path.suffix.lower() == ".csv" and path.is_file() and "Image" in path.open().readline():
        return _keypoints_csv(path) | {"path": str(path)}
    source = source or infer_source(str(path))
    if source == "folder":
        splits = {name: _folder_split(folder) for name, folder in split_folders(path).items()}
    else:
        splits = {name: _summarise(part.images, part.labels, part.class_names) | {"unreadable": []}
                  for name, part in load_source(source, str(path)).items()}
    return {"path": str(path), "source": source, "splits": splits}
