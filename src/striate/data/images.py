"""Decoding single images (PNG, JPEG, BMP, GIF, TIFF, WEBP, NPY; files, bytes, arrays, PIL images)
and turning them into network inputs with a run's recorded preprocessing.

>>> image = load_image("digit.png", channels=1)               # doctest: +SKIP
>>> batch = to_network_input([image], meta["preprocess"])     # doctest: +SKIP
"""

import io
import math
import os
import stat
import struct
from pathlib import Path

import numpy as np
import torch

from striate.data.arrays import read_npy_header
from striate.data.geometry import fit_image, fit_to_size, resize
from striate.data.preprocess import make_normalizer
from striate.errors import DataError, clip, short

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
# The Pillow decoders striate lets loose on bytes from outside (no PostScript, no exotic formats).
DECODABLE_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP")
DEFAULT_MAX_PIXELS = 40_000_000  # refuse larger images before decoding them (decompression bombs)
MAX_IMAGE_FILE_BYTES = 512 * 1024**2  # an image file (or .npy image) larger than this is not read at all


class NotAnImageError(DataError):
    """The bytes are not an image in one of the decodable formats."""


class ImageTooLargeError(DataError):
    """The image has more pixels than allowed."""


def _array_to_uint8(array: np.ndarray, name: str) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise DataError(f"{name}: the array holds NaN or infinite values")
        scale = 255.0 if array.max(initial=0) <= 1.0 else 1.0
        return np.clip(np.rint(array * scale), 0, 255).astype(np.uint8)
    if np.issubdtype(array.dtype, np.integer) or array.dtype == np.bool_:
        return np.clip(array.astype(np.int64), 0, 255).astype(np.uint8)
    raise DataError(f"{name}: expected a numeric image array, got dtype {array.dtype}")


def _to_channels(tensor: torch.Tensor, channels: int) -> torch.Tensor:
    """uint8 ``C x H x W`` with C in 1, 3 -> ``channels`` channels (grey = mean of RGB; RGB = grey repeated)."""
    if tensor.shape[0] == channels:
        return tensor
    if channels == 1:
        return tensor.float().mean(0, keepdim=True).round().to(torch.uint8)
    return tensor.expand(channels, -1, -1).contiguous()


def array_to_image(array, channels: int, name: str = "array") -> torch.Tensor:
    """A NumPy array or tensor ``H x W``, ``H x W x C`` or ``C x H x W`` -> uint8 ``channels x H x W``.

    Floats in 0..1 are scaled to 0..255; a fourth (alpha) channel is dropped.

    >>> array_to_image(np.zeros((28, 28), dtype=np.uint8), channels=1).shape
    torch.Size([1, 28, 28])
    """
    if isinstance(array, torch.Tensor):
        array = array.detach().cpu().numpy()
    array = _array_to_uint8(np.asarray(array), name)
    if array.ndim == 2:
        array = array[None]
    elif array.ndim == 3 and array.shape[-1] in (1, 3, 4) and array.shape[0] not in (1, 3):
        array = array.transpose(2, 0, 1)
    if array.ndim != 3 or array.shape[0] not in (1, 3, 4) or min(array.shape[1:]) < 1:
        raise DataError(f"{name}: expected an image array H x W, H x W x C or C x H x W, got shape {array.shape}")
    tensor = torch.from_numpy(np.ascontiguousarray(array[:3] if array.shape[0] == 4 else array))
    return _to_channels(tensor, channels)


def pil_to_image(image, channels: int) -> torch.Tensor:
    """A PIL image -> uint8 ``channels x H x W`` (converted to grey "L" or "RGB")."""
    array = np.asarray(image.convert("L" if channels == 1 else "RGB"), dtype=np.uint8)
    return torch.from_numpy(array.copy()).unsqueeze(0) if array.ndim == 2 else torch.from_numpy(array.transpose(2, 0, 1).copy())


def _check_size(width: int, height: int, max_pixels: int, name: str) -> None:
    if width < 1 or height < 1:
        raise DataError(f"{name}: the image is {width}x{height} pixels; expected at least 1x1")
    if width * height > max_pixels:
        raise ImageTooLargeError(f"{name}: the image is {width}x{height} = {width * height:,} pixels; the limit is "
                                 f"{max_pixels:,} pixels (scale it down first)")


# JPEG colour spaces libjpeg-turbo turns into striate's channels exactly as Pillow does (checked pixel for pixel in
# tests/data/test_images.py); other cases (grey wanted from a colour JPEG: Pillow's own formula; CMYK) go to Pillow
_PLAIN_JPEG = {3: ("YCbCr", "RGB"), 1: ("Gray",)}


def _decode_plain_jpeg(data: bytes, channels: int, max_pixels: int, name: str) -> torch.Tensor | None:
    """A JPEG whose pixels need no conversion, decoded by libjpeg-turbo through simplejpeg in one call
    (27 us for a 32x32 CIFAR image against Pillow's 169 us; both run libjpeg-turbo with the same settings,
    so the pixels are the same). ``None`` where Pillow should decide: no simplejpeg, another colour space,
    or any warning from the decoder (Pillow then decodes or names what is wrong, as before)."""
    try:
        import simplejpeg
    except ImportError:
        return None
    try:
        height, width, colorspace, _ = simplejpeg.decode_jpeg_header(data)
    except ValueError:
        return None
    if colorspace not in _PLAIN_JPEG.get(channels, ()):
        return None
    _check_size(width, height, max_pixels, name)
    try:
        array = simplejpeg.decode_jpeg(data, colorspace="RGB" if channels == 3 else "GRAY", strict=True)
    except ValueError:
        return None
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


def decode_image(data: bytes, channels: int, max_pixels: int = DEFAULT_MAX_PIXELS, name: str = "image") -> torch.Tensor:
    """Decode image bytes (PNG, JPEG, BMP, GIF, TIFF, WEBP) to uint8 ``channels x H x W``.

    The header is read first and an image of more than ``max_pixels`` pixels is refused before
    any pixel is decoded (whatever ``PIL.Image.MAX_IMAGE_PIXELS`` says; Pillow's own decompression-bomb
    error, or its warning when warnings are errors, is an :class:`ImageTooLargeError` too); truncated or
    corrupt data raise :class:`DataError`.

    >>> decode_image(open("digit.png", "rb").read(), channels=1).shape   # doctest: +SKIP
    torch.Size([1, 28, 28])
    """
    from PIL import Image, UnidentifiedImageError

    if data[:3] == b"\xff\xd8\xff":
        decoded = _decode_plain_jpeg(data, channels, max_pixels, name)
        if decoded is not None:
            return decoded
    try:
        with Image.open(io.BytesIO(data), formats=DECODABLE_FORMATS) as image:
            _check_size(*image.size, max_pixels, name)
            image.load()  # decodes now, so a truncated file fails here rather than later
            return pil_to_image(image, channels)
    except UnidentifiedImageError:
        raise NotAnImageError(f"{name}: not a decodable image; expected one of {', '.join(DECODABLE_FORMATS)}") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:  # the warning when raised as one
        raise ImageTooLargeError(f"{name}: refused as a decompression bomb ({clip(error)}); the limit is "
                                 f"{max_pixels:,} pixels") from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, MemoryError) as error:
        raise DataError(f"{name}: the image data is truncated or corrupt ({clip(error)}); send the whole file") \
            from None


def _open_nonblocking(path: str, flags: int) -> int:
    return os.open(path, flags | getattr(os, "O_NONBLOCK", 0))  # a FIFO opens at once instead of waiting


def load_image(path: str | Path, channels: int) -> torch.Tensor:
    """Read an image file as uint8 ``C x H x W`` with ``channels`` channels (1: grey, 3: RGB).

    NPY arrays may be ``H x W``, ``H x W x C`` or ``C x H x W``; floats in 0..1 are scaled to 0..255.
    """
    path = os.fspath(path)  # a str: building a Path a file costs as much as opening it
    try:  # one open and one fstat a file (not two stats and an open): 20% of reading a small JPEG
        handle = open(path, "rb", opener=_open_nonblocking)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise DataError(f"image not found: {path}") from None
    with handle:
        status = os.fstat(handle.fileno())
        if not stat.S_ISREG(status.st_mode):  # a pipe or a device named like an image is not read
            raise DataError(f"image not found: {path} is not a regular file")
        size = status.st_size
        if size > MAX_IMAGE_FILE_BYTES:
            raise ImageTooLargeError(f"{path}: {size:,} bytes; striate reads image files of at most "
                                     f"{MAX_IMAGE_FILE_BYTES:,} bytes (scale it down first)")
        data = None if os.path.splitext(path)[1].lower() == ".npy" else handle.read()
    if data is None:
        return array_to_image(_read_image_npy(Path(path), size), channels, path)
    try:
        return decode_image(data, channels, name=path)
    except NotAnImageError:
        raise DataError(f"{path}: cannot decode this image; expected a PNG, JPEG, BMP or NPY file") from None


def image_files(items: list) -> list:
    """``items`` with every folder among them replaced by the image files (and ``.npy`` images) it holds,
    sub-folders included, in sorted order; files, arrays and other items stay as they are.

    A folder without any image file is refused (it is most likely the wrong folder)."""
    expanded = []
    for item in items:
        if isinstance(item, (str, Path)) and Path(item).is_dir():
            folder = Path(item)
            found = sorted(str(path) for path in folder.rglob("*")
                           if path.is_file() and path.suffix.lower() in (*IMAGE_SUFFIXES, ".npy"))
            if not found:
                raise DataError(f"{folder}: a folder with no image files in it (or its sub-folders); expected "
                                f"{', '.join(IMAGE_SUFFIXES)} or .npy files")
            expanded.extend(found)
        else:
            expanded.append(item)
    return expanded


def _read_image_npy(path: Path, size: int) -> np.ndarray:
    """A .npy image, its header checked first (no pickles; at most DEFAULT_MAX_PIXELS x 4 values)."""
    try:
        with path.open("rb") as file:
            shape, _, _, _ = read_npy_header(file, size, str(path))
            values = math.prod(shape)
            if values > 4 * DEFAULT_MAX_PIXELS:
                raise ImageTooLargeError(f"{path}: the array declares shape {short(shape)} = {values:,} values; an "
                                         f"image has at most {DEFAULT_MAX_PIXELS:,} pixels of up to 4 channels")
            file.seek(0)
            return np.load(file, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise DataError(f"{path}: not a readable .npy array ({clip(error)})") from None


def as_image(item, channels: int) -> torch.Tensor:
    """Any supported image (a path, a NumPy array, a tensor, a PIL image, encoded bytes) -> uint8 ``C x H x W``."""
    if isinstance(item, (str, Path)):
        return load_image(item, channels)
    if isinstance(item, (bytes, bytearray)):
        return decode_image(bytes(item), channels)
    if isinstance(item, (np.ndarray, torch.Tensor)):
        return array_to_image(item, channels)
    if hasattr(item, "convert") and hasattr(item, "size"):  # a PIL image, without importing PIL here
        return pil_to_image(item, channels)
    raise DataError(f"cannot use a {type(item).__name__} as an image; give a path, a NumPy array, a tensor, "
                    "a PIL image or encoded image bytes")


def to_network_size(images: list[torch.Tensor], preprocess: dict) -> torch.Tensor:
    """uint8 ``C x H x W`` images of any size -> a float batch in 0..1 at the run's input size: resized
    to the training data's native size, then padded or resized to the input size (not normalised)."""
    native = tuple(preprocess["native_size"])
    if native[0] == native[1]:  # shorter side scaled, centre cropped: as image folders are read for training
        stacked = torch.stack([fit_image(image, native[0]) for image in images])
    else:
        stacked = torch.stack([resize(image.unsqueeze(0), native)[0] for image in images])
    return fit_to_size(stacked, preprocess["input_size"], preprocess["fit"]).float().div(255)


def to_network_input(images: list[torch.Tensor], preprocess: dict) -> torch.Tensor:
    """uint8 ``C x H x W`` images of any size -> the normalised float batch the run's network expects
    (:func:`to_network_size`, then the run's normalisation)."""
    return make_normalizer(preprocess)(to_network_size(images, preprocess))
