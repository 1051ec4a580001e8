"""The IDX file format of MNIST (LeCun et al.), gzip-compressed or raw.

Header: two zero bytes, a type code, the number of dimensions n, then n
big-endian uint32 sizes; the data follow, big-endian, in C order.
See http://yann.lecun.com/exdb/mnist/ ("FILE FORMATS FOR THE MNIST DATABASE").
"""

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from striate.errors import DataError

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


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise DataError(f"IDX file not found: {path}; check the path (expected e.g. train-images-idx3-ubyte.gz)")
    try:
        raw = path.read_bytes()
        if raw[:2] == GZIP_MAGIC:
            return gzip.decompress(raw)
        return raw
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(
            f"{path}: the gzip stream is corrupt or truncated ({error}); download the file again"
        ) from None


def parse_idx(raw: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse the bytes of an IDX file into an array of its dtype and shape (native byte order).

    >>> parse_idx(bytes([0, 0, 8, 1, 0, 0, 0, 2, 7, 9])).tolist()
    [7, 9]
    """
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(
            f"{name}: not an IDX file (bad magic number {raw[:4].hex() or 'empty'}); "
            "expected two zero bytes, a type code and the rank, as in MNIST's files"
        )
    type_code, rank = raw[2], raw[3]
    if type_code not in IDX_DTYPES:
        raise DataError(
            f"{name}: unknown IDX type code 0x{type_code:02x}; expected one of "
            + ", ".join(f"0x{code:02x}" for code in IDX_DTYPES)
        )
    header_size = 4 + 4 * rank
    if len(raw) < header_size:
        raise DataError(f"{name}: truncated IDX header (rank {rank} needs {header_size} bytes, file has {len(raw)})")
    shape = struct.unpack(f">{rank}I", raw[4:header_size])
    dtype = IDX_DTYPES[type_code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(raw) - header_size
    if actual != expected:
        raise DataError(
            f"{name}: IDX header says shape {tuple(shape)} ({expected} bytes of data) but the file holds "
            f"{actual} bytes; the file is truncated or corrupt, download it again"
        )
    array = np.frombuffer(raw, dtype=dtype, offset=header_size).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw, detected from its first bytes).

    >>> images = read_idx("../shared/data/mnist/t10k-images-idx3-ubyte.gz")   # doctest: +SKIP
    >>> images.shape
    (10000, 28, 28)
    """
    path = Path(path)
    return parse_idx(_read_bytes(path), str(path))


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
