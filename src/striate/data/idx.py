"""The IDX file format of MNIST (LeCun et al.), gzip-compressed or raw.

Header: two zero bytes, a type code, the number of dimensions n, then n
big-endian uint32 sizes; the data follow, big-endian, in C order.
See http://yann.lecun.com/exdb/mnist/ ("FILE FORMATS FOR THE MNIST DATABASE").
"""

import gzip
import math
import re
import struct
import zlib
from pathlib import Path

import numpy as np

from striate.errors import DataError, clip, short

# type code -> big-endian NumPy dtype
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
GZIP_MAGIC = b"\x1f\x8b"
# The most data one IDX file may declare (EMNIST ByClass, the largest in use, holds about 0.55 GB of images).
MAX_IDX_BYTES = 2 * 1024**3
_CHUNK = 16 * 1024**2


def _check_magic(head: bytes, name: str) -> tuple[np.dtype, int]:
    """The dtype and rank from the first four bytes (two zero bytes, a type code, the rank)."""
    if len(head) < 4 or head[0] != 0 or head[1] != 0:
        raise DataError(
            f"{name}: not an IDX file (bad magic number {head[:4].hex() or 'empty'}); "
            "expected two zero bytes, a type code and the rank, as in MNIST's files"
        )
    type_code, rank = head[2], head[3]
    if type_code not in IDX_DTYPES:
        raise DataError(
            f"{name}: unknown IDX type code 0x{type_code:02x}; expected one of "
            + ", ".join(f"0x{code:02x}" for code in IDX_DTYPES)
            + "; the file is corrupt or not an IDX file"
        )
    return IDX_DTYPES[type_code], rank


def _check_shape(dims: bytes, rank: int, dtype: np.dtype, name: str) -> tuple[tuple[int, ...], int]:
    """The declared shape and its size in bytes (exact Python integers, never a wrapped int64 product),
    refused above :data:`MAX_IDX_BYTES` before anything is allocated."""
    header_size = 4 + 4 * rank
    if len(dims) < 4 * rank:
        raise DataError(f"{name}: truncated IDX header (rank {rank} needs {header_size} bytes, "
                        f"file has {4 + len(dims)}); download the file again")
    shape = struct.unpack(f">{rank}I", dims[: 4 * rank])
    expected = math.prod(shape) * dtype.itemsize
    if expected > MAX_IDX_BYTES:
        raise DataError(f"{name}: IDX header declares shape {short(shape)} = {expected:,} bytes of data, more than "
                        f"the {MAX_IDX_BYTES:,} bytes striate reads from one IDX file; the header is corrupt "
                        "(or split the data into smaller files)")
    return shape, expected


def _size_mismatch(name: str, shape, expected: int, actual: str) -> DataError:
    return DataError(f"{name}: IDX header says shape {short(shape)} ({expected:,} bytes of data) but the file holds "
                     f"{actual} bytes; the file is truncated or corrupt, download it again")


def _to_array(payload, shape, dtype: np.dtype) -> np.ndarray:
    array = np.frombuffer(payload, dtype=dtype, count=math.prod(shape)).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def parse_idx(raw: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse the bytes of an IDX file into an array of its dtype and shape (native byte order).

    >>> parse_idx(bytes([0, 0, 8, 1, 0, 0, 0, 2, 7, 9])).tolist()
    [7, 9]
    """
    dtype, rank = _check_magic(raw[:4], name)
    header_size = 4 + 4 * rank
    shape, expected = _check_shape(raw[4:header_size], rank, dtype, name)
    actual = len(raw) - header_size
    if actual != expected:
        raise _size_mismatch(name, shape, expected, f"{actual:,}")
    return _to_array(memoryview(raw)[header_size:], shape, dtype)


def _read_at_most(stream, limit: int) -> bytearray:
    """Up to ``limit`` bytes, read in chunks (memory grows with what the file holds, not what it claims)."""
    data = bytearray()
    while len(data) < limit:
        chunk = stream.read(min(_CHUNK, limit - len(data)))
        if not chunk:
            break
        data += chunk
    return data


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw, detected from its first bytes).

    The header is checked before the data are read: the declared shape must fit the file's size (for a
    gzip file, its decompressed size) and stay below :data:`MAX_IDX_BYTES`.

    >>> images = read_idx("../shared/data/mnist/t10k-images-idx3-ubyte.gz")   # doctest: +SKIP
    >>> images.shape
    (10000, 28, 28)
    """
    path = Path(path)
    name = str(path)
    if not path.is_file():
        raise DataError(f"IDX file not found: {path}; check the path (expected e.g. train-images-idx3-ubyte.gz)")
    try:
        with path.open("rb") as file:
            compressed = file.read(2) == GZIP_MAGIC
            file.seek(0)
            stream = gzip.GzipFile(fileobj=file, mode="rb") if compressed else file
            dtype, rank = _check_magic(stream.read(4), name)
            header_size = 4 + 4 * rank
            shape, expected = _check_shape(stream.read(4 * rank), rank, dtype, name)
            if not compressed:
                actual = path.stat().st_size - header_size
                if actual != expected:
                    raise _size_mismatch(name, shape, expected, f"{actual:,}")
            payload = _read_at_most(stream, expected + 1)
    except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
        raise DataError(f"{path}: the gzip stream is corrupt or truncated ({clip(error)}); "
                        "download the file again") from None
    if len(payload) != expected:
        actual = f"more than {expected:,}" if len(payload) > expected else f"{len(payload):,}"
        raise _size_mismatch(name, shape, expected, actual)
    return _to_array(payload, shape, dtype)


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file (gzip-compressed when the name ends in .gz)."""
    array = np.asarray(array)
    codes = {dtype.newbyteorder("="): code for code, dtype in IDX_DTYPES.items()}
    native = array.dtype.newbyteorder("=")
    if native not in codes:
        raise DataError(f"IDX cannot hold dtype {array.dtype}; use one of uint8, int8, int16, int32, float32, float64")
    header = bytes([0, 0, codes[native], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(IDX_DTYPES[codes[native]]).tobytes()
    path = Path(path)
    path.write_bytes(gzip.compress(payload) if path.suffix == ".gz" else payload)


# MNIST's names (train-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte), Kaggle's (train-images.idx3-ubyte) and
# EMNIST's (emnist-letters-test-labels-idx1-ubyte.gz): a stem, images or labels, the rank, -ubyte, maybe .gz
IDX_NAME = re.compile(r"^(?P<stem>.*?)(?P<kind>images|labels)[-.]idx(?P<rank>\d)-ubyte(\.gz)?$", re.IGNORECASE)
IDX_SPLITS = {"train": "train", "t10k": "test", "test": "test", "val": "val", "valid": "val", "validation": "val"}


def is_idx_name(name: str) -> bool:
    """Whether a file name is an IDX images or labels file's (MNIST, Kaggle and EMNIST spellings)."""
    return IDX_NAME.match(name) is not None


def find_idx_files(folder: Path) -> dict[str, tuple[Path, Path]]:
    """``{split: (images file, labels file)}`` of the IDX files in ``folder``, any subset of train, t10k/test
    and val (the split is the word before ``images``/``labels``; none means train).

    >>> find_idx_files(Path("../shared/data/mnist"))["test"][0].name   # doctest: +SKIP
    't10k-images-idx3-ubyte.gz'
    """
    found: dict[tuple[str, str], dict[str, Path]] = {}
    for path in sorted(folder.iterdir()):
        match = IDX_NAME.match(path.name)
        if match and path.is_file():
            words = [word for word in re.split(r"[-_.]+", match["stem"].lower()) if word]
            split = next((IDX_SPLITS[word] for word in reversed(words) if word in IDX_SPLITS), "train")
            stem = "-".join(word for word in words if word not in IDX_SPLITS)
            found.setdefault((stem, split), {}).setdefault(match["kind"].lower(), path)  # raw before .gz
    if not found:
        seen = ", ".join(sorted(path.name for path in folder.iterdir())[:6]) or "nothing"
        raise DataError(f"{folder}: no train-images-idx3-ubyte[.gz] or other IDX files; expected images and labels files "
                        f"(train-images-idx3-ubyte.gz with train-labels-idx1-ubyte.gz, t10k-* for a test split) as MNIST "
                        f"ships them; the folder holds {seen}")
    stems = sorted({stem for stem, _ in found})
    if len(stems) > 1:
        raise DataError(f"{folder}: holds the IDX files of {len(stems)} data sets ({', '.join(s or '(no prefix)' for s in stems)}); "
                        "move each data set's files into a folder of its own")
    pairs = {}
    for (_, split), kinds in sorted(found.items(), key=lambda item: ("train", "val", "test").index(item[0][1])):
        if len(kinds) < 2:
            have, lack = ("images", "labels") if "images" in kinds else ("labels", "images")
            raise DataError(f"{kinds[have]}: no matching {lack} file beside it; each IDX images file needs its "
                            f"labels file (e.g. train-images-idx3-ubyte.gz with train-labels-idx1-ubyte.gz)")
        pairs[split] = (kinds["images"], kinds["labels"])
    return pairs
