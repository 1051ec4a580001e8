"""Data sources read from files: MNIST-layout IDX files, image folders, CIFAR batches, NumPy arrays, CSV
tables, and the data sets that ``striate data download`` fetches. Importing this module registers them.

Each returns a :class:`~striate.data.registry.Splits`: the splits the files hold (any subset of train, val
and test) and notes saying which files or keys were read. Class names come from a sidecar next to the
data when there is one (``classes.txt``, one name a line, or ``classes.json``, a list or an
``{"index": "name"}`` mapping), else from the format's own metadata (CIFAR's meta file, an .npz
``class_names`` array, EMNIST's ``*-mapping.txt``), else they are the label indices.
"""

import json
from pathlib import Path

import numpy as np
import torch

from striate.data import folder as folders
from striate.data import folder_cache
from striate.data.arrays import MAX_CLASSES, check_labels, read_arrays, read_label_csv, to_nchw
from striate.data.cifar import read_cifar
from striate.data.dataset import ImageSet
from striate.data.download import default_data_dir
from striate.data.idx import find_idx_files, read_idx
from striate.data.registry import Splits, register_source
from striate.errors import DataError, clip, short

SIDECARS = ("classes.txt", "classes.json")
MAX_SIDECAR_BYTES = 16 * 1024**2


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


def _parse_sidecar(file: Path) -> list[str]:
    if file.stat().st_size > MAX_SIDECAR_BYTES:
        raise DataError(f"{file}: {file.stat().st_size:,} bytes; a class-name file holds at most {MAX_SIDECAR_BYTES:,}")
    try:
        text = file.read_text(encoding="utf-8")
        found = json.loads(text) if file.suffix == ".json" else text.rstrip().splitlines()
    except (UnicodeDecodeError, ValueError) as error:
        raise DataError(f"{file}: not a readable class-name file ({clip(error)}); expected "
                        + ("a JSON list of names or an {\"index\": \"name\"} object" if file.suffix == ".json"
                           else "UTF-8 text, one class name a line")) from None
    if isinstance(found, dict):
        try:
            indexed = {int(key): value for key, value in found.items()}
        except ValueError:
            raise DataError(f"{file}: the keys must be class indices (\"0\", \"1\", ...), found {short(list(found))}") from None
        if indexed and (min(indexed) < 0 or max(indexed) >= MAX_CLASSES):
            raise DataError(f"{file}: class indices must lie in 0..{MAX_CLASSES - 1}")
        found = [indexed.get(index, str(index)) for index in range(max(indexed, default=-1) + 1)]
    if not isinstance(found, list) or not all(isinstance(name, str) and name.strip() for name in found) \
            or len(found) > MAX_CLASSES:
        raise DataError(f"{file}: expected up to {MAX_CLASSES} non-empty class names (one a line, or a JSON list of "
                        f"strings), found {short(found)}")
    return [name.strip() for name in found]


def _mapping_names(folder: Path) -> list[str]:
    """EMNIST's ``emnist-letters-mapping.txt``: lines 'label code [code]' -> 'A/a' (unlisted indices: the index)."""
    files = sorted(folder.glob("*mapping.txt"))
    if len(files) != 1:
        return []
    try:
        rows = [[int(value) for value in line.split()] for line in files[0].read_text().splitlines() if line.strip()]
        codes = {row[0]: "/".join(dict.fromkeys(chr(code) for code in row[1:])) for row in rows if len(row) >= 2}
    except (ValueError, OverflowError, UnicodeDecodeError):
        return []  # not a mapping file of that kind: the names stay the indices
    return [codes.get(index, str(index)) for index in range(max(codes, default=-1) + 1)] if codes else []


def class_names(path: Path, count: int, own: list[str], notes: list[str]) -> list[str]:
    """The names of ``count`` classes (labels 0..count-1): a sidecar beside the data, else ``own`` (the
    format's metadata) when it names them all, else the indices."""
    folder = path if path.is_dir() else path.parent
    sidecar = next((folder / name for name in SIDECARS if (folder / name).is_file()), None)
    if sidecar is not None:
        names = _parse_sidecar(sidecar)
        if len(names) < count:
            raise DataError(f"{sidecar}: names {len(names)} classes but the labels run up to {count - 1} ({count} classes "
                            f"counting 0); give one name for each label 0..{count - 1} (when the labels start at 1, as in "
                            "EMNIST letters, add a first name for the unused 0)")
        notes.append(f"class names: {sidecar.name} ({len(names)} names)")
        return names
    if own and len(own) >= count:
        return list(own)
    return [str(index) for index in range(count)]


def _splits(path: Path, parts: dict, own_names: list[str], notes: list[str]) -> Splits:
    count = int(max(labels.max(initial=-1) for _, labels in parts.values())) + 1
    names = class_names(path, count, own_names, notes)
    return Splits({split: _image_set(to_nchw(images, str(path)), labels, names)
                   for split, (images, labels) in parts.items()}, notes)


def _read_idx_pair(image_path: Path, label_path: Path) -> tuple[np.ndarray, np.ndarray]:
    images, labels = read_idx(image_path), read_idx(label_path)
    if images.ndim not in (3, 4):
        raise DataError(f"{image_path}: expected images of rank 3 (N x H x W) or 4, got shape {images.shape}")
    if labels.ndim != 1:
        raise DataError(f"{label_path}: expected labels of rank 1, got shape {labels.shape}")
    if len(images) != len(labels):
        raise DataError(f"{image_path.name} holds {len(images)} images but {label_path.name} holds {len(labels)} labels; "
                        "the files do not belong together")
    if images.dtype != np.uint8:
        images = np.clip(images, 0, 255).astype(np.uint8)
    return images, check_labels(labels, str(label_path))


@register_source("idx")
def idx_folder(path=None) -> Splits:
    """A folder of MNIST-layout IDX files: any of train-*, t10k-* (or test-*, EMNIST's names) images and labels;
    class names from a sidecar or EMNIST's mapping file, else the label indices."""
    folder = _require(path, "idx", "DIR (a folder of MNIST IDX files, e.g. ../shared/data/mnist)")
    if folder.is_file():
        raise DataError(f"{folder} is one file; data.source idx reads the folder of IDX files that holds it: "
                        f"--data {folder.parent}")
    parts, notes = {}, []
    for split, (image_path, label_path) in find_idx_files(folder).items():
        parts[split] = _read_idx_pair(image_path, label_path)
        notes.append(f"{split}: {image_path.name} + {label_path.name} ({len(parts[split][1])} images)")
    return _splits(folder, parts, _mapping_names(folder), notes)


@register_source("folder")
def image_folder(path=None, input_size: int = 32, skip_bad: bool = False, max_per_class: int = 0, workers: int = 2,
                 cache: bool = True):
    """A folder with one sub-folder per class (or train/ and test/ each with them); every image is
    decoded now (in ``workers`` processes), brought to input_size x input_size (shorter side scaled, centre
    cropped), and kept in the decoded cache (``cache``) that the next load of the unchanged folder reads."""
    root = _require(path, "folder", "DIR (DIR/<class>/*.jpg)")
    listing, names = {}, None
    for split, split_folder in folders.split_folders(root).items():
        names = folders.check_class_names(split_folder, names)
        listing[split] = (split_folder, folders.scan_classes(split_folder, names, stats=cache))
    where = folder_cache.cache_file(root, input_size, max_per_class) if cache else None
    state = folder_cache.fingerprint({split: entries for split, (_, entries) in listing.items()}) if cache else ""
    cached = folder_cache.read_cache(where, state) if cache else None
    if cached is None:
        decoded = _decode_folder(listing, names, input_size, max_per_class, workers)
    else:
        names, decoded = cached
    splits = Splits()
    for split, part in decoded.items():
        split_folder = listing[split][0]
        folders.report_bad(part.bad, skip_bad)
        if not len(part.images):
            raise DataError(f"{split_folder}: no readable images left after skipping {len(part.bad)} bad files")
        splits[split] = ImageSet(torch.from_numpy(part.images), torch.from_numpy(part.labels), list(names),
                                 [path for path, _ in part.bad])
        splits.notes.append(f"{split}: {split_folder.name}/ ({len(part.images)} images in {len(names)} "
                            f"class folders{f', at most {max_per_class} a class' if max_per_class else ''})")
    if cached is not None:
        splits.notes.append(f"decoded images read from the cache {where}")
    elif cache and folder_cache.write_cache(where, state, list(names), decoded):
        splits.notes.append(f"decoded images cached in {where}")
    return splits


def _decode_folder(listing: dict, names: list[str], input_size: int, max_per_class: int,
                   workers: int) -> dict[str, folder_cache.DecodedSplit]:
    decoded, channels = {}, None
    for split, (split_folder, entries) in listing.items():
        files = folders.select_files(split_folder, names, entries, max_per_class)
        channels = channels or folders.detect_channels(files.paths)
        images, labels, kept = folders.decode_files(files, channels, input_size, workers)
        decoded[split] = folder_cache.DecodedSplit(images.numpy(), labels.numpy(), kept.bad)
    return decoded


@register_source("cifar")
def cifar_batches(path=None) -> Splits:
    """CIFAR-10 or CIFAR-100 python batches: any of data_batch_1..5 and test_batch (or train and test), or one batch file."""
    path = _require(path, "cifar", "DIR (a cifar-10-batches-py folder)")
    found = read_cifar(path)
    return _splits(path, found["splits"], found["class_names"], found["notes"])


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
    return Splits({name: ImageSet(part.images, part.labels, list(FASHION_NAMES)) for name, part in splits.items()},
                  splits.notes)


@register_source("npz")
def numpy_arrays(path=None) -> Splits:
    """An .npz file, a folder of .npy files, or pairs of one-array .npz files (KMNIST): see striate.data.arrays."""
    path = _require(path, "npz", "FILE.npz")
    found = read_arrays(path)
    return _splits(path, found["splits"], found["class_names"], found["notes"])


@register_source("csv")
def csv_table(path=None) -> Splits:
    """A CSV with a 'label' column and square grey images as pixel columns (pixel0, pixel1, ...)."""
    path = _require(path, "csv", "FILE.csv")
    images, labels = read_label_csv(path)
    return _splits(path, {"train": (images, labels)}, [], [f"train: {path.name} ({len(labels)} rows)"])
