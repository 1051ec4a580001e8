"""NumPy arrays (``.npz``, or a folder of ``.npy`` files) and CSV tables of pixels.

NPZ / NPY keys, first match wins: ``x_train, y_train[, x_test, y_test]`` (the Keras layout),
``images, labels``, or ``x, y``; optional ``class_names`` (an array of strings). Images are
``N x H x W``, ``N x H x W x C`` or ``N x C x H x W`` (C in 1, 3), uint8 or floats in 0..1.
Nothing is unpickled (``allow_pickle=False``).

CSV: either a ``label`` column plus pixel columns (Kaggle's digit-recognizer layout), or an
``Image`` column of space-separated pixels plus numeric target columns, some empty (Kaggle's
facial-keypoints layout: 30 keypoint coordinates, 96 x 96 grey images) -> :func:`read_keypoints_csv`.
"""

import csv
import math
import zipfile
from pathlib import Path

import numpy as np

from striate.errors import DataError

KEY_PAIRS = (("x_train", "y_train"), ("images", "labels"), ("x", "y"))
TEST_PAIR = ("x_test", "y_test")


def to_nchw(images: np.ndarray, name: str) -> np.ndarray:
    """uint8 ``N x C x H x W`` from ``N x H x W``, ``N x H x W x C`` or ``N x C x H x W`` (floats 0..1 scaled)."""
    if images.dtype != np.uint8:
        if not np.issubdtype(images.dtype, np.number):
            raise DataError(f"{name}: expected numeric images, got dtype {images.dtype}")
        if np.issubdtype(images.dtype, np.floating) and not np.isfinite(images).all():
            raise DataError(f"{name}: the images hold NaN or infinite values")
        scale = 255.0 if np.issubdtype(images.dtype, np.floating) and images.max(initial=0) <= 1.0 else 1.0
        images = np.clip(np.rint(images * scale), 0, 255).astype(np.uint8)
    if images.ndim == 3:
        return images[:, None]
    if images.ndim == 4 and images.shape[1] in (1, 3):
        return images
    if images.ndim == 4 and images.shape[3] in (1, 3):
        return images.transpose(0, 3, 1, 2)
    raise DataError(f"{name}: expected images N x H x W, N x H x W x C or N x C x H x W with C = 1 or 3, "
                    f"got shape {images.shape}")


def _pair(arrays: dict, image_key: str, label_key: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    images, labels = to_nchw(arrays[image_key], f"{name}[{image_key}]"), np.asarray(arrays[label_key])
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"{name}[{label_key}]: expected a 1-D array of integer class labels, got "
                        f"{labels.dtype} of shape {labels.shape}")
    if len(images) != len(labels):
        raise DataError(f"{name}: {len(images)} images in '{image_key}' but {len(labels)} labels in '{label_key}'; "
                        "they must be the same length")
    return np.ascontiguousarray(images), labels.astype(np.int64)


def _load_arrays(path: Path) -> dict[str, np.ndarray]:
    try:
        if path.is_dir():
            return {file.stem: np.load(file, allow_pickle=False) for file in sorted(path.glob("*.npy"))}
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(f"{path}: not a readable NumPy file ({error}); expected .npz or .npy arrays "
                        "saved without pickles") from None


def read_arrays(path: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"train": (images, labels)[, "test": ...]}`` and ``class_names`` from an .npz or a folder of .npy."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"array file not found: {path}")
    arrays = _load_arrays(path)
    for image_key, label_key in KEY_PAIRS:
        if image_key in arrays and label_key in arrays:
            splits = {"train": _pair(arrays, image_key, label_key, str(path))}
            if all(key in arrays for key in TEST_PAIR):
                splits["test"] = _pair(arrays, *TEST_PAIR, str(path))
            names = [str(name) for name in arrays.get("class_names", [])]
            return {"splits": splits, "class_names": names}
    raise DataError(f"{path}: found arrays {sorted(arrays)}; expected x_train/y_train (and x_test/y_test), "
                    "images/labels or x/y")


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    if not path.is_file():
        raise DataError(f"CSV file not found: {path}")
    try:
        with path.open(newline="") as file:
            reader = csv.reader(file)
            header = next(reader, None)
            rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"{path}: not a readable CSV text file ({error})") from None
    if not header:
        raise DataError(f"{path}: empty CSV; expected a header row")
    return [name.strip() for name in header], rows


def _parse_pixels(text: str, where: str) -> np.ndarray:
    try:
        return np.array(text.split(), dtype=np.float64)
    except ValueError:
        raise DataError(f"{where}: the Image column must hold space-separated pixel values") from None


def _square(count: int, where: str) -> int:
    side = math.isqrt(count)
    if side * side != count or count == 0:
        raise DataError(f"{where}: {count} pixels do not make a square image; expected e.g. 96 x 96 = 9216")
    return side


def read_keypoints_csv(path: str | Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Kaggle facial-keypoints layout -> (uint8 images N x 1 x S x S, float32 targets N x T with NaN
    where a value is missing, target names). Columns other than ``Image`` (and ``ImageId``) are targets.

    >>> images, targets, names = read_keypoints_csv("training.csv")   # doctest: +SKIP
    >>> images.shape, targets.shape
    ((7049, 1, 96, 96), (7049, 30))
    """
    path = Path(path)
    header, rows = _rows(path)
    if "Image" not in header:
        raise DataError(f"{path}: no 'Image' column; expected the facial-keypoints layout (target columns and "
                        "an Image column of space-separated pixels)")
    image_column = header.index("Image")
    target_columns = [i for i, name in enumerate(header) if name not in ("Image", "ImageId")]
    images, targets, side = [], [], None
    for number, row in enumerate(rows, start=2):
        where = f"{path}, line {number}"
        if len(row) != len(header):
            raise DataError(f"{where}: {len(row)} fields but the header has {len(header)}")
        pixels = _parse_pixels(row[image_column], where)
        side = side or _square(len(pixels), where)
        if len(pixels) != side * side:
            raise DataError(f"{where}: {len(pixels)} pixels, but the first image had {side * side}")
        images.append(np.clip(np.rint(pixels), 0, 255).astype(np.uint8).reshape(1, side, side))
        try:
            targets.append([float(row[i]) if row[i].strip() else math.nan for i in target_columns])
        except ValueError:
            raise DataError(f"{where}: target values must be numbers or empty (missing)") from None
    if not images:
        raise DataError(f"{path}: the CSV has a header but no rows")
    return np.stack(images), np.asarray(targets, dtype=np.float32).reshape(len(images), -1), \
        [header[i] for i in target_columns]


def read_label_csv(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """A ``label`` column plus pixel columns (square grey images) -> (uint8 N x 1 x S x S, labels)."""
    path = Path(path)
    header, rows = _rows(path)
    if "label" not in header:
        raise DataError(f"{path}: no 'label' column; expected 'label' plus pixel columns (pixel0, pixel1, ...)")
    label_column = header.index("label")
    side = _square(len(header) - 1, f"{path} header")
    try:
        table = np.array(rows, dtype=np.float64)
    except ValueError:
        raise DataError(f"{path}: every row must have {len(header)} numeric fields (label and pixels)") from None
    if table.ndim != 2 or table.shape[1] != len(header):
        raise DataError(f"{path}: rows of unequal length; each needs {len(header)} fields")
    pixels = np.delete(table, label_column, axis=1)
    images = np.clip(np.rint(pixels), 0, 255).astype(np.uint8).reshape(-1, 1, side, side)
    return images, table[:, label_column].astype(np.int64)
