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
import re
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


BATCH_NAME = re.compile(r"data_batch_\d+")


def _batch_number(path: Path) -> int:
    return int(path.name.rsplit("_", 1)[1])


def cifar_files(path: Path) -> tuple[dict[str, list[Path]], Path | None, str] | None:
    """What CIFAR batches ``path`` holds: ``({"train": [files], "test": [files]}, meta file or None, label key)``,
    or None. ``path`` is a batch file, a folder of batches (any of data_batch_1..5 and test_batch; CIFAR-100's
    train/test beside meta), or the folder holding cifar-10-batches-py or cifar-100-python."""
    if path.is_file():
        folder, name = path.parent, path.name
        if BATCH_NAME.fullmatch(name) or name == "test_batch":
            return {"test" if name == "test_batch" else "train": [path]}, _meta(folder, "batches.meta"), "labels"
        if name in ("train", "test") and (folder / "meta").is_file():
            return {name: [path]}, folder / "meta", "fine_labels"
        return None
    for folder in (path, *(path / name for name in CIFAR_FOLDERS)):
        if not folder.is_dir():
            continue
        train = sorted((p for p in folder.glob("data_batch_*") if BATCH_NAME.fullmatch(p.name) and p.is_file()),
                       key=_batch_number)
        files = {"train": train} if train else {}
        if (folder / "test_batch").is_file():
            files["test"] = [folder / "test_batch"]
        if files:
            return files, _meta(folder, "batches.meta"), "labels"
        if (folder / "meta").is_file():
            files = {name: [folder / name] for name in ("train", "test") if (folder / name).is_file()}
            if files:
                return files, folder / "meta", "fine_labels"
    return None


def _meta(folder: Path, name: str) -> Path | None:
    return folder / name if (folder / name).is_file() else None


def read_cifar(path: str | Path) -> dict:
    """``{"splits": {"train": (images N x 3 x 32 x 32 uint8, labels)[, "test": ...]}, "class_names": [...],
    "notes": [...]}`` from CIFAR-10 batches (any of data_batch_1..5 and test_batch, batches.meta when present)
    or CIFAR-100 (train and/or test beside meta; fine labels); class names from the meta file, else none."""
    found = cifar_files(Path(path))
    if found is None:
        raise DataError(f"{path}: no CIFAR batches found; expected data_batch_1..5 and/or test_batch (CIFAR-10) "
                        "or train and/or test beside meta (CIFAR-100), e.g. from 'striate data download cifar10'")
    files, meta, label_key = found
    splits, notes = {}, []
    for split, batches in files.items():
        parts = [_batch_arrays(batch, label_key) for batch in batches]
        splits[split] = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
        of_five = f", {len(batches)} of the 5 training batches" if split == "train" and label_key == "labels" \
            and len(batches) != 5 else ""
        notes.append(f"{split}: {', '.join(b.name for b in batches)} ({len(splits[split][1])} images{of_five})")
    names = _names(read_batch(meta), "label_names" if label_key == "labels" else "fine_label_names", meta) if meta else []
    count = int(max(labels.max(initial=-1) for _, labels in splits.values())) + 1
    return {"splits": splits, "class_names": names if len(names) >= count else [], "notes": notes}
