"""CIFAR-10 and CIFAR-100 in their "python version" batch format (Krizhevsky 2009,
https://www.cs.toronto.edu/~kriz/cifar.html).

The batches are Python pickles. They are read with a restricted unpickler that only
rebuilds dicts, lists, strings and NumPy arrays: any other object in the file (code) is
refused, so a tampered batch cannot run anything. A batch file is at most
:data:`MAX_BATCH_BYTES` long, and its contents are checked (N x 3072 numeric data, labels
0..MAX_CLASSES-1, string class names) before use.
"""

import math
import pickle
from pathlib import Path

import numpy as np

from striate.data.arrays import MAX_CLASSES, check_labels
from striate.errors import DataError, clip, short

MAX_BATCH_BYTES = 512 * 1024**2  # CIFAR-100's train file, the largest, is about 155 MB

# The only globals a CIFAR batch refers to (NumPy arrays and their dtypes, under NumPy 1 and 2 names).
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),  # how protocol-2 pickles written by Python 3 spell bytes
}
CIFAR10_TRAIN = [f"data_batch_{index}" for index in range(1, 6)]
CIFAR_FOLDERS = ("cifar-10-batches-py", "cifar-100-python")


def _checked_reconstruct(reconstruct):
    """numpy's ``_reconstruct(subtype, shape, dtype)`` allocates ``shape`` before the data arrive; pickles
    written by NumPy always pass an empty shape (the data come with ``__setstate__``, size-checked)."""

    def rebuild(subtype, shape, dtype):
        if subtype is not np.ndarray or not isinstance(shape, tuple) or math.prod(shape) > 1:
            raise pickle.UnpicklingError(f"refusing an array placeholder of shape {short(shape)}")
        return reconstruct(subtype, shape, dtype)

    return rebuild


class _BatchUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {clip(module, 60)}.{clip(name, 60)}: a CIFAR batch "
                                         "holds only arrays and lists")
        found = super().find_class(module, name)
        return _checked_reconstruct(found) if name == "_reconstruct" else found


def read_batch(path: Path) -> dict:
    """One batch file as a dict with str keys (values as stored)."""
    if not path.is_file():
        raise DataError(f"CIFAR batch not found: {path}; expected the files of cifar-10-python.tar.gz or "
                        "cifar-100-python.tar.gz (get them with 'striate data download cifar10')")
    size = path.stat().st_size
    if size > MAX_BATCH_BYTES:
        raise DataError(f"{path}: {size:,} bytes; a CIFAR batch is at most {MAX_BATCH_BYTES:,} bytes (CIFAR-100's "
                        "train file is about 155 MB), so this is not one: download the data again")
    try:
        with path.open("rb") as file:
            raw = _BatchUnpickler(file, encoding="bytes").load()
    except Exception as error:  # noqa: BLE001 - only the allowed NumPy code ran: any error means a corrupt file
        raise DataError(f"{path}: not a readable CIFAR batch ({type(error).__name__}: {clip(error)}); "
                        "download the data again") from None
    if not isinstance(raw, dict):
        raise DataError(f"{path}: a CIFAR batch is a dict of data and labels, found {type(raw).__name__}")
    return {(key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)): value
            for key, value in raw.items()}


def _names(meta: dict, key: str, path: Path) -> list[str]:
    names = meta.get(key, [])
    if not isinstance(names, (list, tuple)) or len(names) > MAX_CLASSES \
            or not all(isinstance(name, (bytes, str)) for name in names):
        raise DataError(f"{path}: '{key}' must be a list of at most {MAX_CLASSES} class names (strings), found "
                        f"{short(names)}; download the data again")
    return [name.decode("utf-8", "replace") if isinstance(name, bytes) else name for name in names]


def _batch_arrays(path: Path, label_key: str) -> tuple[np.ndarray, np.ndarray]:
    batch = read_batch(path)
    if "data" not in batch or label_key not in batch:
        raise DataError(f"{path}: expected keys 'data' and '{label_key}', found {sorted(batch)}")
    data = batch["data"]
    if not isinstance(data, np.ndarray) or not np.issubdtype(data.dtype, np.number) \
            or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        found = f"{data.dtype} of shape {short(data.shape)}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DataError(f"{path}: expected 'data' as a numeric array N x 3072 (32x32 RGB rows), found {found}")
    try:
        labels = np.asarray(batch[label_key], dtype=np.int64)
    except (ValueError, TypeError, OverflowError):
        raise DataError(f"{path}: '{label_key}' must be a list of integer class labels; the batch is corrupt") from None
    labels = check_labels(labels, f"{path} ['{label_key}']")
    if len(data) != len(labels):
        raise DataError(f"{path}: {len(data)} images but {len(labels)} labels; the batch is corrupt")
    return data.astype(np.uint8).reshape(-1, 3, 32, 32), labels


def find_cifar_folder(path: Path) -> Path | None:
    """``path`` itself or its cifar-10-batches-py / cifar-100-python sub-folder, when it holds batches."""
    for folder in (path, *(path / name for name in CIFAR_FOLDERS)):
        if (folder / "data_batch_1").is_file() or (folder / "train").is_file() and (folder / "meta").is_file():
            return folder
    return None


def read_cifar(path: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray, list[str]]]:
    """``{"train": (images N x 3 x 32 x 32 uint8, labels, class names), "test": ...}`` from a CIFAR-10
    (data_batch_1..5, test_batch, batches.meta) or CIFAR-100 (train, test, meta; fine labels) folder."""
    folder = find_cifar_folder(Path(path))
    if folder is None:
        raise DataError(f"{path}: no CIFAR batches found; expected data_batch_1..5 and test_batch (CIFAR-10) "
                        "or train and test (CIFAR-100), e.g. from 'striate data download cifar10'")
    if (folder / "data_batch_1").is_file():
        names = _names(read_batch(folder / "batches.meta"), "label_names", folder / "batches.meta")
        parts = [_batch_arrays(folder / name, "labels") for name in CIFAR10_TRAIN]
        train = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
        test = _batch_arrays(folder / "test_batch", "labels")
    else:
        names = _names(read_batch(folder / "meta"), "fine_label_names", folder / "meta")
        train, test = _batch_arrays(folder / "train", "fine_labels"), _batch_arrays(folder / "test", "fine_labels")
    count = int(max(train[1].max(initial=-1), test[1].max(initial=-1))) + 1
    if len(names) < count:
        names = [str(index) for index in range(count)]
    return {"train": (*train, names), "test": (*test, names)}
