"""MNIST IDX (gz) files into NumPy arrays, with nothing but the standard library and NumPy, so that the
peers read the same files as striate without using striate's code."""

import gzip
import struct
from pathlib import Path

import numpy as np


def read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as file:
        _, dtype, rank = struct.unpack(">HBB", file.read(4))  # magic: two zero bytes, type, rank
        shape = struct.unpack(">" + "I" * rank, file.read(4 * rank))
        return np.frombuffer(file.read(), dtype=np.uint8).reshape(shape)


def load_mnist(folder: str, limit: int | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{'train': (images N x 28 x 28 uint8, labels N), 'test': (...)}; ``limit`` keeps the first images."""
    folder = Path(folder)
    parts = {}
    for name, prefix in (("train", "train"), ("test", "t10k")):
        images = read_idx(next(folder.glob(f"{prefix}-images*idx3-ubyte*")))
        labels = read_idx(next(folder.glob(f"{prefix}-labels*idx1-ubyte*")))
        parts[name] = (images[:limit], labels[:limit]) if limit else (images, labels)
    return parts
