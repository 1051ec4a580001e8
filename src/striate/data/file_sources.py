"""Data sources read from files: image folders, CIFAR batches, NumPy arrays, CSV tables, and the
data sets that ``striate data download`` fetches. Importing this module registers them."""

from pathlib import Path

import numpy as np
import torch

from striate.data import folder as folders
from striate.data.arrays import read_arrays, read_label_csv
from striate.data.cifar import read_cifar
from striate.data.dataset import ImageSet
from striate.data.download import default_data_dir
from striate.data.registry import register_source
from striate.data.sources import idx_folder
from striate.errors import DataError


def _require(path, source: str, example: str) -> Path:
    if path is None:
        raise DataError(f"data source '{source}' needs a path: pass --data {example}")
    path = Path(path)
    if not path.exists():
        raise DataError(f"data path not found: {path}; expected {example}")
    return path


def _image_set(images: np.ndarray, labels: np.ndarray, names: list[str]) -> ImageSet:
    return ImageSet(torch.from_numpy(np.ascontiguousarray(images)), torch.from_numpy(labels.astype(np.int64)),
                    list(names))


@register_source("folder")
def image_folder(path=None, input_size: int = 32, skip_bad: bool = False, max_per_class: int = 0):
    """A folder with one sub-folder per class (or train/ and test/ each with them); every image is
    decoded now, brought to input_size x input_size (shorter side scaled, centre cropped)."""
    root = _require(path, "folder", "DIR (DIR/<class>/*.jpg)")
    splits, class_names, channels = {}, None, None
    for split, split_folder in folders.split_folders(root).items():
        files = folders.list_files(split_folder, class_names, max_per_class)
        class_names = class_names or files.class_names
        channels = channels or folders.detect_channels(files.paths)
        images, labels, decoded = folders.decode_files(files, channels, input_size)
        folders.report_bad(decoded.bad, skip_bad)
        if not len(images):
            raise DataError(f"{split_folder}: no readable images left after skipping {len(decoded.bad)} bad files")
        splits[split] = ImageSet(images, labels, list(class_names), [path for path, _ in decoded.bad])
    return splits


@register_source("cifar")
def cifar_batches(path=None):
    """CIFAR-10 or CIFAR-100 python batches (data_batch_1..5 + test_batch, or train + test)."""
    parts = read_cifar(_require(path, "cifar", "DIR (a cifar-10-batches-py folder)"))
    return {name: _image_set(*part) for name, part in parts.items()}


def _downloaded(name: str, path) -> Path:
    folder = Path(path) if path else default_data_dir() / name
    if not folder.exists():
        raise DataError(f"{folder} not found: download the data first with 'striate data download {name}' "
                        "(or give its folder with --data)")
    return folder


@register_source("cifar10")
def cifar10(path=None):
    """CIFAR-10 from the download folder (striate data download cifar10)."""
    return cifar_batches(_downloaded("cifar10", path))


@register_source("cifar100")
def cifar100(path=None):
    """CIFAR-100 (fine labels) from the download folder (striate data download cifar100)."""
    return cifar_batches(_downloaded("cifar100", path))


@register_source("mnist")
def mnist(path=None):
    """MNIST IDX files from the download folder (striate data download mnist)."""
    return idx_folder(_downloaded("mnist", path))


FASHION_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                 "Ankle boot"]


@register_source("fashion-mnist")
def fashion_mnist(path=None):
    """Fashion-MNIST IDX files from the download folder (striate data download fashion-mnist)."""
    splits = idx_folder(_downloaded("fashion-mnist", path))
    return {name: ImageSet(part.images, part.labels, list(FASHION_NAMES)) for name, part in splits.items()}


@register_source("npz")
def numpy_arrays(path=None):
    """An .npz file (or a folder of .npy files): x_train/y_train[/x_test/y_test], images/labels or x/y."""
    found = read_arrays(_require(path, "npz", "FILE.npz"))
    splits = found["splits"]
    count = int(max(labels.max(initial=0) for _, labels in splits.values())) + 1
    names = found["class_names"] or [str(index) for index in range(count)]
    return {name: _image_set(images, labels, names) for name, (images, labels) in splits.items()}


@register_source("csv")
def csv_table(path=None):
    """A CSV with a 'label' column and square grey images as pixel columns (pixel0, pixel1, ...)."""
    images, labels = read_label_csv(_require(path, "csv", "FILE.csv"))
    count = int(labels.max(initial=0)) + 1
    return {"train": _image_set(images, labels, [str(index) for index in range(count)])}
