"""Data handed over in memory (NumPy or torch arrays ``(images, labels)``, or a ``torch.utils.data.Dataset``)
made into a file that a run can name in its config.yaml and read again in any process: an ``.npz`` of uint8
images and int64 labels, named by its content (the same data, the same file).

>>> path = write_arrays_file(images, labels, "runs/.data")   # doctest: +SKIP
"""

import hashlib
import io
from pathlib import Path

import numpy as np
import torch

from striate.errors import DataError
from striate.files import atomic_write_bytes


def _numpy(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def as_uint8_images(images) -> np.ndarray:
    """``N x H x W``, ``N x C x H x W`` or ``N x H x W x C`` images, uint8 or float in 0..1 (or 0..255) ->
    uint8 ``N x H x W`` (one channel) or ``N x H x W x C``."""
    array = _numpy(images)
    if array.ndim not in (3, 4) or len(array) == 0:
        raise DataError(f"images: expected N x H x W or N x C x H x W (or N x H x W x C), got shape {array.shape}")
    if array.ndim == 4 and array.shape[1] in (1, 3) and array.shape[3] not in (1, 3):
        array = array.transpose(0, 2, 3, 1)  # channels first -> last, as .npz sources keep them
    if array.dtype != np.uint8:
        values = array.astype(np.float64)
        if not np.isfinite(values).all():
            raise DataError("images: the arrays hold NaN or infinite values; give pixels in 0..1 or 0..255")
        scale = 255.0 if values.max(initial=0) <= 1.0 else 1.0
        array = np.clip(np.rint(values * scale), 0, 255).astype(np.uint8)
    return array[..., 0] if array.ndim == 4 and array.shape[3] == 1 else array


def as_labels(labels, count: int) -> np.ndarray:
    array = _numpy(labels).reshape(-1) if _numpy(labels).ndim == 2 and _numpy(labels).shape[1] == 1 else _numpy(labels)
    if array.ndim != 1 or len(array) != count:
        raise DataError(f"labels: expected {count} class indices (one per image), got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.integer) or (len(array) and array.min() < 0):
        raise DataError("labels: expected whole class indices 0, 1, 2, ...")
    return array.astype(np.int64)


def from_dataset(dataset) -> tuple[np.ndarray, np.ndarray]:
    """Every ``(image, label)`` of a map-style dataset (tensors, arrays or PIL images)."""
    images, labels = [], []
    for index in range(len(dataset)):
        image, label = dataset[index]
        images.append(_numpy(image) if not hasattr(image, "getbands") else np.asarray(image))
        labels.append(int(label))
    if not images:
        raise DataError("the dataset is empty")
    return np.stack(images), np.asarray(labels)


def write_arrays_file(images, labels, folder: str | Path, class_names: list[str] | None = None) -> Path:
    """The data as ``folder/<sha256 prefix>.npz`` (written once; the same data give the same file)."""
    pixels = as_uint8_images(images)
    targets = as_labels(labels, len(pixels))
    arrays = {"x": pixels, "y": targets}
    if class_names is not None:
        arrays["class_names"] = np.asarray([str(name) for name in class_names])
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    payload = buffer.getvalue()
    path = Path(folder) / f"{hashlib.sha256(payload).hexdigest()[:16]}.npz"
    if not path.is_file():
        atomic_write_bytes(path, payload)
    return path
