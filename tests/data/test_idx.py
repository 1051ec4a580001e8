import gzip
import struct

import numpy as np
import pytest

from striate.data.idx import parse_idx, read_idx, write_idx
from striate.errors import DataError


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4), (2, 1, 3, 2)])
def test_round_trip_every_dtype_and_rank(tmp_path, dtype, shape):
    array = (np.arange(np.prod(shape)) - 3).reshape(shape).astype(dtype)
    if dtype == "uint8":
        array = np.arange(np.prod(shape), dtype=np.uint8).reshape(shape)
    for name in ("a.idx", "a.idx.gz"):
        write_idx(tmp_path / name, array)
        loaded = read_idx(tmp_path / name)
        assert loaded.dtype == array.dtype and loaded.shape == array.shape
        np.testing.assert_array_equal(loaded, array)


def test_big_endian_on_disk(tmp_path):
    write_idx(tmp_path / "x.idx", np.array([1, 256], dtype=np.int32))
    raw = (tmp_path / "x.idx").read_bytes()
    assert raw[:4] == bytes([0, 0, 0x0C, 1])
    assert struct.unpack(">I", raw[4:8]) == (2,)
    assert raw[8:] == bytes([0, 0, 0, 1, 0, 0, 1, 0])


def test_gzip_detected_from_content_not_name(tmp_path):
    payload = bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9])
    (tmp_path / "labels").write_bytes(gzip.compress(payload))
    assert read_idx(tmp_path / "labels").tolist() == [7, 8, 9]


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"", "bad magic"),
        (bytes([1, 0, 8, 1, 0, 0, 0, 1, 5]), "bad magic"),
        (bytes([0, 0, 0x42, 1, 0, 0, 0, 1, 5]), "unknown IDX type code 0x42"),
        (bytes([0, 0, 8, 3, 0, 0, 0, 2]), "truncated IDX header"),
        (bytes([0, 0, 8, 1, 0, 0, 0, 4, 1, 2]), "truncated or corrupt"),
        (bytes([0, 0, 8, 1, 0, 0, 0, 1, 1, 2]), "truncated or corrupt"),
    ],
)
def test_corrupt_headers_and_sizes(raw, message):
    with pytest.raises(DataError, match=message):
        parse_idx(raw, "x")


def test_truncated_gzip_stream(tmp_path):
    packed = gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 200]) + bytes(200))
    (tmp_path / "cut.gz").write_bytes(packed[: len(packed) // 2])
    with pytest.raises(DataError, match="gzip stream is corrupt or truncated"):
        read_idx(tmp_path / "cut.gz")


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_idx(tmp_path / "nothing.gz")


def test_real_mnist_test_set(shared_data):
    images = read_idx(shared_data / "mnist" / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(shared_data / "mnist" / "t10k-labels-idx1-ubyte.gz")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist()[:2] == [980, 1135]
