"""Decoding single images (PNG, JPEG, BMP, NPY) and turning them into network inputs
with a run's recorded preprocessing."""

from pathlib import Path

import numpy as np
import torch

from striate.data.geometry import fit_image, fit_to_size, resize
from striate.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def _array_to_uint8(array: np.ndarray, name: str) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise DataError(f"{name}: the array holds NaN or infinite values")
        scale = 255.0 if array.max(initial=0) <= 1.0 else 1.0
        return np.clip(np.rint(array * scale), 0, 255).astype(np.uint8)
    if np.issubdtype(array.dtype, np.integer):
        return np.clip(array, 0, 255).astype(np.uint8)
    raise DataError(f"{name}: expected a numeric image array, got dtype {array.dtype}")


def load_image(path: str | Path, channels: int) -> torch.Tensor:
    """Read an image file as uint8 ``C x H x W`` with ``channels`` channels (1: grey, 3: RGB).

    NPY arrays may be ``H x W``, ``H x W x C`` or ``C x H x W``; floats in 0..1 are scaled to 0..255.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"image not found: {path}")
    if path.suffix.lower() == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            raise DataError(f"{path}: not a readable .npy array ({error})") from None
        array = _array_to_uint8(array, str(path))
        if array.ndim == 2:
            array = array[None]
        elif array.ndim == 3 and array.shape[-1] in (1, 3, 4) and array.shape[0] not in (1, 3):
            array = array.transpose(2, 0, 1)
        if array.ndim != 3:
            raise DataError(f"{path}: expected an image array H x W, H x W x C or C x H x W, got shape {array.shape}")
        tensor = torch.from_numpy(np.ascontiguousarray(array[:3] if array.shape[0] == 4 else array))
        if tensor.shape[0] == channels:
            return tensor
        return tensor.float().mean(0, keepdim=True).round().to(torch.uint8) if channels == 1 else tensor.expand(channels, -1, -1).contiguous()
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image = image.convert("L" if channels == 1 else "RGB")
            array = np.asarray(image, dtype=np.uint8)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as error:
        raise DataError(f"{path}: cannot decode this image ({error}); expected a PNG, JPEG, BMP or NPY file") from None
    return torch.from_numpy(array.copy()).unsqueeze(0) if array.ndim == 2 else torch.from_numpy(array.transpose(2, 0, 1).copy())


def to_network_input(images: list[torch.Tensor], preprocess: dict) -> torch.Tensor:
    """uint8 ``C x H x W`` images of any size -> the normalised float batch the run's network expects:
    resized to the training data's native size, padded or resized to the input size, normalised."""
    native = tuple(preprocess["native_size"])
    if native[0] == native[1]:  # shorter side scaled, centre cropped: as image folders are read for training
        stacked = torch.stack([fit_image(image, native[0]) for image in images])
    else:
        stacked = torch.stack([resize(image.unsqueeze(0), native)[0] for image in images])
    stacked = fit_to_size(stacked, preprocess["input_size"], preprocess["fit"]).float().div(255)
    from striate.data.preprocess import make_normalizer

    return make_normalizer(preprocess)(stacked)
