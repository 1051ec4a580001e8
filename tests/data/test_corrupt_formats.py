"""Corrupt, truncated, lying and huge data files end in one clear line (exit 2), before any allocation,
without running code from the file, and without creating a run directory."""

import gzip
import io
import os
import pickle
import struct
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

from striate.cli.main import main
from striate.data.idx import parse_idx, read_idx, write_idx
from striate.data.images import ImageTooLargeError, decode_image, load_image
from striate.errors import DataError

TINY = ["--model", "mlp", "--model.args", "{hidden: [8]}", "--progress", "off", "--data.augment", "[]",
        "--data.input_size", "8"]
HUGE_NPY_SHAPE = (99999999, 99999999)


def _one_clear_line(capsys, code: int) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2, captured.err
    assert len(lines) == 1 and len(lines[0]) <= 500, captured.err
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


def _train_fails(path, tmp_path, capsys) -> str:
    out_dir = tmp_path / "runs"
    code = main(["train", "--data", str(path), "--epochs", "1", "--out_dir", str(out_dir), *TINY])
    line = _one_clear_line(capsys, code)
    assert not out_dir.exists() or not any(out_dir.iterdir()), "a run directory was created for bad data"
    return line


def _info_fails(path, capsys) -> str:
    return _one_clear_line(capsys, main(["data", "info", str(path)]))


# ---- IDX ------------------------------------------------------------------------------------------------

def _idx_header(type_code: int, shape) -> bytes:
    return bytes([0, 0, type_code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


def _mnist_folder(root, gz: bool = False):
    root.mkdir()
    rng = np.random.default_rng(0)
    suffix = ".gz" if gz else ""
    for prefix, count in (("train", 12), ("t10k", 4)):
        write_idx(root / f"{prefix}-images-idx3-ubyte{suffix}", rng.integers(0, 256, (count, 8, 8), dtype=np.uint8))
        write_idx(root / f"{prefix}-labels-idx1-ubyte{suffix}", np.arange(count, dtype=np.uint8) % 2)
    return root


def _damage_images(root, payload: bytes, gz: bool = False):
    path = root / ("train-images-idx3-ubyte.gz" if gz else "train-images-idx3-ubyte")
    path.write_bytes(payload)
    return path


@pytest.mark.parametrize("command", ["train", "info"])
def test_truncated_idx_is_refused(tmp_path, capsys, command):
    root = _mnist_folder(tmp_path / "mnist")
    path = root / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    line = _train_fails(root, tmp_path, capsys) if command == "train" else _info_fails(root, capsys)
    assert "truncated or corrupt" in line and "train-images-idx3-ubyte" in line


def test_truncated_gzip_idx_is_refused(tmp_path, capsys):
    root = _mnist_folder(tmp_path / "mnist", gz=True)
    path = root / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-30])
    assert "corrupt or truncated" in _train_fails(root, tmp_path, capsys)


@pytest.mark.parametrize("shape", [
    (2**32 - 1, 2**32 - 1, 2**32 - 1),  # about 2**96 bytes
    (2**31, 2**31, 4),  # 2**64 bytes: an int64 product wraps to 0, which an empty payload would "match"
])
@pytest.mark.parametrize("gz", [False, True])
def test_idx_declaring_astronomical_shape_is_refused_before_allocating(tmp_path, capsys, shape, gz):
    root = _mnist_folder(tmp_path / "mnist", gz=gz)
    header = _idx_header(0x08, shape)
    _damage_images(root, gzip.compress(header) if gz else header, gz)
    line = _train_fails(root, tmp_path, capsys)
    assert "IDX header declares shape" in line and "more than" in line
    with pytest.raises(DataError, match="more than"):
        parse_idx(header)


def test_idx_declaring_more_than_it_holds_is_refused(tmp_path):
    path = tmp_path / "x-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(_idx_header(0x08, (1000, 28, 28)) + b"\0" * 50))
    with pytest.raises(DataError, match="784,000 bytes of data.*holds 50 bytes"):
        read_idx(path)
    path.write_bytes(gzip.compress(_idx_header(0x08, (1, 2, 2)) + b"\0" * 50))
    with pytest.raises(DataError, match="more than 4 bytes"):
        read_idx(path)


@pytest.mark.parametrize("content, message", [
    (b"\x01\x00\x08\x03" + b"\0" * 64, "bad magic number"),
    (b"PK\x03\x04" + b"\0" * 64, "bad magic number"),
    (b"\x00\x00\x42\x03" + b"\0" * 64, "unknown IDX type code 0x42"),
    (b"\x00\x00\x08\x03\x00\x00", "truncated IDX header"),
    (b"", "bad magic number empty"),
])
def test_idx_with_bad_magic_or_type_code_is_refused(tmp_path, capsys, content, message):
    root = _mnist_folder(tmp_path / "mnist")
    _damage_images(root, content)
    assert message in _train_fails(root, tmp_path, capsys)


# ---- NPY / NPZ ------------------------------------------------------------------------------------------

def _npy_bytes(header: dict, payload: bytes) -> bytes:
    stream = io.BytesIO()
    np.lib.format.write_array_header_1_0(stream, header)
    return stream.getvalue() + payload


def _array_bytes(array: np.ndarray) -> bytes:
    stream = io.BytesIO()
    np.save(stream, array, allow_pickle=False)
    return stream.getvalue()


def _npz(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(f"{name}.npy", data)
    return path


HUGE_MEMBER = _npy_bytes({"descr": "|u1", "fortran_order": False, "shape": HUGE_NPY_SHAPE}, b"\0" * 64)
LABELS = _array_bytes(np.zeros(4, dtype=np.int64))


@pytest.mark.parametrize("command", ["train", "info"])
def test_npz_declaring_a_huge_array_is_refused_before_allocating(tmp_path, capsys, command):
    path = _npz(tmp_path / "huge.npz", {"x_train": HUGE_MEMBER, "y_train": LABELS})
    line = _train_fails(path, tmp_path, capsys) if command == "train" else _info_fails(path, capsys)
    assert "x_train.npy" in line and "99999999, 99999999" in line and "more than" in line


def test_a_folder_of_npy_declaring_a_huge_array_is_refused(tmp_path, capsys):
    folder = tmp_path / "arrays"
    folder.mkdir()
    (folder / "x.npy").write_bytes(HUGE_MEMBER)
    (folder / "y.npy").write_bytes(LABELS)
    assert "99999999, 99999999" in _info_fails(folder, capsys)


def test_npy_whose_data_do_not_match_its_header_is_refused(tmp_path, capsys):
    images = _array_bytes(np.zeros((4, 8, 8), dtype=np.uint8))
    path = _npz(tmp_path / "short.npz", {"x_train": images[:-10], "y_train": LABELS})
    assert "the file holds" in _train_fails(path, tmp_path, capsys)


class _System:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_npz_with_an_object_array_is_refused_without_unpickling(tmp_path, capsys):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(np.array([_System(marker)], dtype=object), protocol=3)
    member = _npy_bytes({"descr": "|O", "fortran_order": False, "shape": (1,)}, payload)
    path = _npz(tmp_path / "objects.npz", {"x_train": member, "y_train": LABELS})
    line = _train_fails(path, tmp_path, capsys)
    assert "Python objects (a pickle)" in line and not marker.exists()
    np.savez(tmp_path / "saved.npz", x_train=np.array([{"a": 1}] * 4, dtype=object), y_train=np.zeros(4, int))
    assert "never unpickles" in _info_fails(tmp_path / "saved.npz", capsys)


def test_labels_far_out_of_range_are_refused(tmp_path, capsys):
    path = tmp_path / "labels.npz"
    np.savez(path, x_train=np.zeros((4, 8, 8), dtype=np.uint8), y_train=np.array([0, 1, 2, 10**12]))
    assert "class labels must lie in 0..99999" in _train_fails(path, tmp_path, capsys)


def test_not_a_zip_is_refused(tmp_path, capsys):
    path = tmp_path / "junk.npz"
    path.write_bytes(b"PK\x03\x04" + os.urandom(200))
    assert "not a readable NumPy file" in _train_fails(path, tmp_path, capsys)


# ---- CIFAR -----------------------------------------------------------------------------------------------

def _cifar_folder(root):
    root.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{index}" for index in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (2, 3072), dtype=np.uint8), b"labels": [0, 1], b"batch_label": b"x"}
        (root / name).write_bytes(pickle.dumps(batch, protocol=2))
    (root / "batches.meta").write_bytes(pickle.dumps({b"label_names": [b"cat", b"dog"]}, protocol=2))
    return root


@pytest.mark.parametrize("victim", ["data_batch_1", "batches.meta", "test_batch"])
@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_a_cifar_batch_that_would_run_a_command_is_refused_without_running_it(tmp_path, capsys, victim, protocol):
    root = _cifar_folder(tmp_path / "cifar")
    marker = tmp_path / "pwned"
    (root / victim).write_bytes(pickle.dumps({b"data": _System(marker), b"labels": [0]}, protocol=protocol))
    line = _train_fails(root, tmp_path, capsys)
    assert "refusing to load" in line and "system" in line and victim in line
    assert not marker.exists()


def test_a_cifar_array_placeholder_of_huge_shape_is_refused(tmp_path, capsys):
    root = _cifar_folder(tmp_path / "cifar")
    # numpy's _reconstruct(ndarray, shape, dtype) would allocate the shape at once: a real batch passes (0,)
    reconstruct = np.ndarray.__reduce__(np.zeros(1, np.uint8))[0]

    class _Placeholder:
        def __reduce__(self):
            return (reconstruct, (np.ndarray, (2**40,), b"b"))

    (root / "data_batch_1").write_bytes(pickle.dumps({b"data": _Placeholder(), b"labels": []}, protocol=2))
    assert "refusing an array placeholder" in _train_fails(root, tmp_path, capsys)


@pytest.mark.parametrize("batch, message", [
    ({b"data": np.zeros((2, 10), np.uint8), b"labels": [0, 1]}, "N x 3072"),
    ({b"data": "not an array", b"labels": [0, 1]}, "N x 3072"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10**30]}, "integer class labels"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10**9]}, "class labels must lie in"),
    ([1, 2, 3], "a dict of data and labels"),
])
def test_cifar_batches_with_wrong_contents_are_refused(tmp_path, capsys, batch, message):
    root = _cifar_folder(tmp_path / "cifar")
    (root / "data_batch_3").write_bytes(pickle.dumps(batch, protocol=2))
    assert message in _train_fails(root, tmp_path, capsys)


def test_a_truncated_cifar_batch_is_refused(tmp_path, capsys):
    root = _cifar_folder(tmp_path / "cifar")
    path = root / "data_batch_2"
    path.write_bytes(path.read_bytes()[:1000])
    assert "not a readable CIFAR batch" in _info_fails(root, capsys)


# ---- images ----------------------------------------------------------------------------------------------

def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR declares width x height grey pixels, with almost no pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [100_000, 20_000, 7_000])  # over 2x Pillow's limit, over it, over striate's only
def test_png_decompression_bombs_are_refused_before_decoding(tmp_path, side):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_only(side, side))
    with pytest.raises(ImageTooLargeError):
        load_image(path, channels=1)
    with pytest.raises(ImageTooLargeError):
        decode_image(path.read_bytes(), channels=1)


def test_a_bomb_under_warnings_as_errors_is_still_one_data_error(tmp_path):
    import warnings

    data = _png_header_only(10_000, 10_000)  # 1e8 pixels: Pillow warns (between its limit and twice it)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ImageTooLargeError):
            decode_image(data, channels=1)


def test_an_image_folder_with_a_bomb_fails_in_one_line_and_skip_bad_drops_it(tmp_path, capsys):
    root = tmp_path / "images"
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        for index in range(6):
            Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(root / name / f"{index}.png")
    (root / "a" / "bomb.png").write_bytes(_png_header_only(100_000, 100_000))
    line = _train_fails(root, tmp_path, capsys)
    assert "bomb.png" in line and "--skip-bad" in line


def test_a_npy_image_declaring_a_huge_shape_is_refused(tmp_path):
    path = tmp_path / "image.npy"
    path.write_bytes(HUGE_MEMBER)
    with pytest.raises(DataError, match="more than"):
        load_image(path, channels=1)
    path.write_bytes(_npy_bytes({"descr": "|O", "fortran_order": False, "shape": (1,)}, pickle.dumps([1])))
    with pytest.raises(DataError, match="never unpickles"):
        load_image(path, channels=1)


# ---- the one line ----------------------------------------------------------------------------------------

def test_a_very_long_error_is_cut_to_one_line_of_500_characters(tmp_path, capsys):
    folder = tmp_path / ("x" * 200) / ("y" * 200 + "\nsecond line")
    folder.mkdir(parents=True)
    (folder / "junk.npz").write_bytes(b"not a zip")
    line = _train_fails(folder / "junk.npz", tmp_path, capsys)
    assert len(line) == 500 and " ... " in line and line.startswith("striate train: error: ")
    assert line.endswith("saved without pickles") and "y second line/junk.npz" in line  # the break is a space
