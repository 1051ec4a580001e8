"""Your own data, first try: every common layout reads and trains in one command, `data info` shows the splits a
run makes, and data that cannot be read is refused in one line (exit 2) saying what was expected.

The files are written here with numpy, gzip, pickle and PIL, never with striate's own writers.
"""

import gzip
import json
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from striate.cli.main import main

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
TINY = ["--model", "mlp", "--model.args", "{hidden: [8]}", "--epochs", "1", "--progress", "off", "--data.augment", "[]",
        "--data.input_size", "8", "--data.fit", "resize", "--optim.batch_size", "32"]


def digits(count: int, classes: int, side: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images whose brightness says their class, and the labels 0..classes-1."""
    labels = np.arange(count) % classes
    noise = np.random.default_rng(seed).integers(0, 30, (count, side, side))
    return (labels[:, None, None] * (200 // classes) + noise).astype(np.uint8), labels.astype(np.uint8)


def write_idx(path: Path, array: np.ndarray) -> None:
    raw = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    path.write_bytes(gzip.compress(raw) if path.suffix == ".gz" else raw)


def idx_folder(root: Path, prefixes=("train", "t10k"), classes: int = 3, offset: int = 0, stem: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for prefix in prefixes:
        images, labels = digits(45 if prefix == "train" else 24, classes)
        write_idx(root / f"{stem}{prefix}-images-idx3-ubyte.gz", images)
        write_idx(root / f"{stem}{prefix}-labels-idx1-ubyte.gz", (labels + offset).astype(np.uint8))
    return root


def cifar_folder(root: Path, batches) -> Path:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for name in batches:
        with (folder / name).open("wb") as file:
            pickle.dump({b"data": rng.integers(0, 256, (30, 3072), dtype=np.uint8),
                         b"labels": [index % 3 for index in range(30)]}, file, protocol=2)
    with (folder / "batches.meta").open("wb") as file:
        pickle.dump({b"label_names": [b"cat", b"dog", b"frog"]}, file, protocol=2)
    return root


def image_folder(root: Path, splits=("train", "test"), size=(32, 32), per_class: int = 10) -> Path:
    for split in splits:
        for label, name in enumerate(("ant", "bee", "fly")):
            (root / split / name).mkdir(parents=True)
            for index in range(per_class if split == "train" else 4):
                pixels = np.full((size[1], size[0], 3), 60 * label + index, dtype=np.uint8)
                Image.fromarray(pixels).save(root / split / name / f"{index}.jpg")
    return root


def kmnist_pairs(root: Path) -> Path:
    root.mkdir()
    for split, count in (("train", 45), ("test", 24)):
        images, labels = digits(count, 3)
        np.savez_compressed(root / f"kmnist-{split}-imgs.npz", images)  # each holds arr_0, as KMNIST ships them
        np.savez_compressed(root / f"kmnist-{split}-labels.npz", labels)
    return root


def make_layout(kind: str, tmp_path: Path) -> Path:
    images, labels = digits(45, 3)
    test_images, test_labels = digits(24, 3, seed=1)
    if kind == "idx-full":
        return idx_folder(tmp_path / "mnist")
    if kind == "idx-train-only":
        return idx_folder(tmp_path / "mnist", ("train",))
    if kind == "idx-test-only":
        return idx_folder(tmp_path / "mnist", ("t10k",))
    if kind == "keras-npz":  # labels N x 1, as keras.datasets ships them
        np.savez(tmp_path / "data.npz", x_train=images, y_train=labels[:, None], x_test=test_images,
                 y_test=test_labels[:, None])
        return tmp_path / "data.npz"
    if kind == "medmnist-npz":
        np.savez(tmp_path / "pneumoniamnist.npz", train_images=images, train_labels=labels[:, None],
                 val_images=test_images, val_labels=test_labels[:, None], test_images=test_images,
                 test_labels=test_labels[:, None])
        return tmp_path / "pneumoniamnist.npz"
    if kind == "kmnist-pair-folder":
        return kmnist_pairs(tmp_path / "kmnist")
    if kind == "kmnist-pair-file":
        return kmnist_pairs(tmp_path / "kmnist") / "kmnist-train-imgs.npz"
    if kind == "cifar-one-batch":
        return cifar_folder(tmp_path / "cifar", ["data_batch_1"])
    if kind == "cifar-some-batches":
        return cifar_folder(tmp_path / "cifar", ["data_batch_2", "data_batch_3", "test_batch"])
    if kind == "cifar-test-only":
        return cifar_folder(tmp_path / "cifar", ["test_batch"])
    if kind == "cifar-batch-file":
        return cifar_folder(tmp_path / "cifar", ["data_batch_1", "data_batch_2"]) / "cifar-10-batches-py" / "data_batch_2"
    if kind == "image-folder":
        return image_folder(tmp_path / "pictures", size=(12, 10))
    raise AssertionError(kind)


LAYOUTS = ["idx-full", "idx-train-only", "idx-test-only", "keras-npz", "medmnist-npz", "kmnist-pair-folder",
           "kmnist-pair-file", "cifar-one-batch", "cifar-some-batches", "cifar-test-only", "cifar-batch-file",
           "image-folder"]


def info(path, capsys, *flags) -> dict:
    assert main(["data", "info", str(path), "--json", *flags]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("kind", LAYOUTS)
def test_each_layout_is_described_with_the_splits_a_run_makes(kind, tmp_path, capsys):
    found = info(make_layout(kind, tmp_path), capsys)
    parts = found["run_splits"]
    assert set(parts) == {"train", "val", "test"} and all(parts[name]["count"] > 0 for name in parts)
    assert sum(parts["train"]["classes"].values()) == parts["train"]["count"]
    assert found["notes"] and found["split_notes"]  # what was read, where val and test come from
    own = {name for name in ("val", "test") if name in found["splits"]}
    for name, label in (("val", "validation"), ("test", "test")):
        origin = next(note for note in found["split_notes"] if note.startswith(label + ":"))
        assert ("the data's own" in origin) == (name in own), origin


@pytest.mark.parametrize("kind", LAYOUTS)
def test_each_layout_trains_in_one_command(kind, tmp_path, capsys):
    runs = tmp_path / "runs"
    code = main(["train", "--data", str(make_layout(kind, tmp_path)), "--out_dir", str(runs), "--name", "r", *TINY])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "test accuracy" in captured.out
    assert len(json.loads((runs / "r" / "model.json").read_text())["class_names"]) == 3


def test_only_test_files_become_the_pool_and_say_so(tmp_path, capsys):
    found = info(make_layout("idx-test-only", tmp_path), capsys)
    assert list(found["splits"]) == ["train"] and found["splits"]["train"]["count"] == 24
    assert any("no training files" in note and "t10k" not in note for note in found["notes"])
    assert main(["data", "info", str(tmp_path / "mnist")]) == 0
    assert "no training files: the test (24 images) split is the one pool" in capsys.readouterr().out


def test_official_val_split_is_used_and_named(tmp_path, capsys):
    found = info(make_layout("medmnist-npz", tmp_path), capsys)
    assert found["run_splits"]["val"]["count"] == 24 and found["run_splits"]["train"]["count"] == 45
    assert "validation: the data's own val split (24 images)" in found["split_notes"]
    assert "val: val_images/val_labels of pneumoniamnist.npz (24 images)" in found["notes"]


def test_a_folder_with_train_and_val_keeps_its_val_and_carves_only_test(tmp_path, capsys):
    root = image_folder(tmp_path / "pictures", splits=("train", "val"), size=(8, 8))
    found = info(root, capsys, "--test-fraction", "0.2")
    assert found["run_splits"]["val"]["count"] == 12  # its own val/: 3 classes x 4
    assert found["run_splits"]["test"]["count"] == 6 and found["run_splits"]["train"]["count"] == 24


def test_cifar_jpeg_folder_shows_its_native_size(tmp_path, capsys):
    root = image_folder(tmp_path / "cifar10-jpeg", size=(32, 32))
    found = info(root, capsys)
    assert found["splits"]["train"]["shape"] == [3, 32, 32]
    assert main(["data", "info", str(root)]) == 0
    out = capsys.readouterr().out
    assert "shape 3x32x32" in out and "any" not in out
    Image.fromarray(np.zeros((20, 24, 3), np.uint8)).save(root / "train" / "ant" / "wide.png")
    assert main(["data", "info", str(root)]) == 0
    out = capsys.readouterr().out
    assert "3 channels at the sizes below" in out and "32x32 (30)" in out and "20x24 (1)" in out


def test_class_names_from_sidecars_and_emnist_mapping(tmp_path, capsys):
    root = idx_folder(tmp_path / "letters", classes=4, offset=1, stem="emnist-letters-")  # labels 1..4, as EMNIST
    found = info(root, capsys)
    assert list(found["run_splits"]["train"]["classes"]) == ["0", "1", "2", "3", "4"]  # the indices, not 0-9
    (root / "emnist-letters-mapping.txt").write_text("1 65 97\n2 66 98\n3 67 99\n4 68 100\n")
    assert list(info(root, capsys)["run_splits"]["train"]["classes"])[1:] == ["A/a", "B/b", "C/c", "D/d"]
    (root / "classes.txt").write_text("none\nalpha\nbeta\ngamma\ndelta\n")
    found = info(root, capsys)
    assert list(found["run_splits"]["train"]["classes"]) == ["none", "alpha", "beta", "gamma", "delta"]
    assert "class names: classes.txt (5 names)" in found["notes"]
    (root / "classes.txt").unlink()
    (root / "classes.json").write_text(json.dumps({"1": "a", "2": "b", "3": "c", "4": "d"}))
    assert list(info(root, capsys)["run_splits"]["train"]["classes"]) == ["0", "a", "b", "c", "d"]
    np.savez(tmp_path / "x.npz", x_train=digits(6, 2)[0], y_train=digits(6, 2)[1], class_names=np.array(["u", "v"]))
    assert list(info(tmp_path / "x.npz", capsys)["run_splits"]["test"]["classes"]) == ["u", "v"]


def test_a_recipe_source_of_another_format_reads_the_path_as_what_it_is(tmp_path, capsys):
    path = make_layout("keras-npz", tmp_path)
    code = main(["train", str(RECIPES / "mnist-fast.yaml"), "--data", str(path), "--out_dir", str(tmp_path / "runs"),
                 *TINY, "--optim.schedule", "constant"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"note: data.source is idx, but {path} is an .npz file: reading it as npz (set data.source npz" in err


def test_data_info_takes_a_source_name(capsys):
    found = info("digits", capsys, "--val-fraction", "0.2", "--data.split_seed", "3")
    assert found["source"] == "digits" and found["run_splits"]["val"]["count"] == 359
    assert found["settings"]["split_seed"] == 3


def test_train_per_class_cuts_only_the_training_split(tmp_path, capsys):
    path = make_layout("idx-full", tmp_path)
    whole = info(path, capsys)["run_splits"]
    cut = info(path, capsys, "--train-per-class", "4")["run_splits"]
    assert list(cut["train"]["classes"].values()) == [4, 4, 4]
    assert cut["val"] == whole["val"] and cut["test"] == whole["test"]
    runs = tmp_path / "runs"
    assert main(["train", "--data", str(path), "--data.train_per_class", "4", "--out_dir", str(runs), "--name", "r",
                 *TINY]) == 0
    assert "train_per_class: 4" in (runs / "r" / "config.yaml").read_text()
    assert main(["train", "--data", str(path), "--data.train_per_class", "-1", *TINY]) == 2
    assert "data.train_per_class" in capsys.readouterr().err


def test_max_per_class_is_a_reading_cap_for_every_source(tmp_path, capsys):
    found = info(make_layout("keras-npz", tmp_path), capsys, "--max-per-class", "5")
    assert found["splits"]["train"]["count"] == 15 and found["splits"]["test"]["count"] == 15


def _one_line_refusal(capsys, argv, *expected) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for text in expected:
        assert text in err, err
    return err


def test_archives_missing_paths_and_unknown_folders_say_what_they_are(tmp_path, capsys, monkeypatch):
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(b"\x1f\x8b not really")
    _one_line_refusal(capsys, ["data", "info", str(tmp_path / "cifar-10-python.tar.gz")],
                      "unpack it first: tar xzf")
    (tmp_path / "kmnist.zip").write_bytes(b"PK")
    _one_line_refusal(capsys, ["train", "--data", str(tmp_path / "kmnist.zip"), *TINY], "unpack it first: unzip")
    _one_line_refusal(capsys, ["data", "info", str(tmp_path / "absent")], "data path not found")
    monkeypatch.chdir(tmp_path)
    _one_line_refusal(capsys, ["data", "info", "mnist5"], "data path not found: mnist5 (did you mean 'mnist5k'?), "
                      "nor a source name")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "readme.txt").write_text("hello")
    _one_line_refusal(capsys, ["data", "info", str(tmp_path / "junk")], "cannot tell what data this is",
                      "readme.txt")
    write_idx(tmp_path / "train-images-idx3-ubyte", digits(4, 2)[0])
    _one_line_refusal(capsys, ["data", "info", str(tmp_path / "train-images-idx3-ubyte")], "one IDX file",
                      f"--data {tmp_path}")


def test_inconsistent_data_is_refused_in_one_line(tmp_path, capsys):
    root = idx_folder(tmp_path / "half", ("train",))
    (root / "train-labels-idx1-ubyte.gz").unlink()
    _one_line_refusal(capsys, ["data", "info", str(root)], "no matching labels file")
    both = idx_folder(idx_folder(tmp_path / "two", stem="emnist-letters-"), stem="emnist-digits-")
    _one_line_refusal(capsys, ["data", "info", str(both)], "IDX files of 2 data sets")
    pairs = kmnist_pairs(tmp_path / "kmnist")
    (pairs / "kmnist-test-labels.npz").unlink()
    _one_line_refusal(capsys, ["data", "info", str(pairs)], "kmnist-test-imgs.npz: no labels file")
    np.savez(tmp_path / "chest.npz", train_images=digits(6, 2)[0], train_labels=np.zeros((6, 14), np.uint8))
    _one_line_refusal(capsys, ["data", "info", str(tmp_path / "chest.npz")], "multi-label", "labels[:, k]")
    root = idx_folder(tmp_path / "named", classes=3)
    (root / "classes.txt").write_text("zero\none\n")
    _one_line_refusal(capsys, ["train", "--data", str(root), *TINY], "classes.txt: names 2 classes",
                      "labels run up to 2")
