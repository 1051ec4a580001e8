"""File-based sources: image folders (with corrupt files), CIFAR batches, NPZ/NPY, CSV; infer_source."""

import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from striate.data.arrays import read_keypoints_csv
from striate.data.sources import infer_source, load_source, make_splits
from striate.errors import DataError


def make_folder(root, classes=("cat", "dog"), per_class=3, size=(12, 10), mode="RGB", suffix=".png"):
    """Class sub-folders of small images whose pixels encode (class, index)."""
    for label, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for index in range(per_class):
            value = 40 * label + 10 * index
            array = np.full((size[1], size[0], 3) if mode == "RGB" else (size[1], size[0]), value, dtype=np.uint8)
            Image.fromarray(array).convert(mode).save(root / name / f"{index:03d}{suffix}")
    return root


def test_image_folder_reads_classes_resizes_and_keeps_values(tmp_path):
    make_folder(tmp_path / "data", size=(20, 16))
    splits = load_source("folder", str(tmp_path / "data"), input_size=8)
    train = splits["train"]
    assert list(splits) == ["train"] and train.class_names == ["cat", "dog"]
    assert train.images.shape == (6, 3, 8, 8) and train.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert train.images[4].float().mean().item() == pytest.approx(50, abs=1)  # dog #1: 40 + 10


def test_grey_and_colour_mix_becomes_colour_and_all_grey_stays_grey(tmp_path):
    make_folder(tmp_path / "grey", mode="L", suffix=".bmp")
    assert load_source("folder", str(tmp_path / "grey"), input_size=8)["train"].image_shape == (1, 8, 8)
    make_folder(tmp_path / "grey", classes=("cat",), per_class=1, mode="RGB", suffix=".jpg")
    assert load_source("folder", str(tmp_path / "grey"), input_size=8)["train"].image_shape == (3, 8, 8)


def test_split_layout_and_mismatched_class_folders(tmp_path):
    make_folder(tmp_path / "data" / "train")
    make_folder(tmp_path / "data" / "test", per_class=1)
    splits = load_source("folder", str(tmp_path / "data"), input_size=8, max_per_class=2)
    assert len(splits["train"]) == 4 and len(splits["test"]) == 2
    make_folder(tmp_path / "data" / "test", classes=("bird",), per_class=1)
    with pytest.raises(DataError, match=r"\['bird'\] do not appear in the training split"):
        load_source("folder", str(tmp_path / "data"), input_size=8)


def test_corrupt_files_stop_the_load_with_their_paths_or_are_skipped(tmp_path):
    root = make_folder(tmp_path / "data")
    (root / "cat" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (root / "dog" / "empty.png").write_bytes(b"")
    (root / "dog" / "notes.txt").write_text("ignored: not an image suffix")
    with pytest.raises(DataError, match=r"2 unreadable image file\(s\): .*broken\.jpg.*empty\.png.*--skip-bad"):
        load_source("folder", str(root), input_size=8)
    train = load_source("folder", str(root), input_size=8, skip_bad=True)["train"]
    assert len(train) == 6 and sorted(p.rsplit("/", 1)[-1] for p in train.skipped) == ["broken.jpg", "empty.png"]


def _write_batch(path, data, labels, label_key=b"labels"):
    with path.open("wb") as file:
        pickle.dump({b"data": data, label_key: labels, b"batch_label": b"x"}, file, protocol=2)


def make_cifar10(root, per_batch=4):
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        _write_batch(root / name, rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8), list(range(per_batch)))
    with (root / "batches.meta").open("wb") as file:
        pickle.dump({b"label_names": [b"airplane", b"automobile", b"bird", b"cat"]}, file, protocol=2)
    return root


def test_cifar10_batches(tmp_path):
    root = make_cifar10(tmp_path / "cifar-10-batches-py")
    assert infer_source(str(tmp_path)) == "cifar"  # the parent of cifar-10-batches-py works too
    splits = load_source("cifar", str(tmp_path))
    assert splits["train"].images.shape == (20, 3, 32, 32) and len(splits["test"]) == 4
    assert splits["train"].class_names == ["airplane", "automobile", "bird", "cat"]
    first = pickle.load((root / "data_batch_1").open("rb"), encoding="bytes")[b"data"][0]
    assert splits["train"].images[0].flatten().tolist() == first.tolist()  # channel-major rows, as documented


def test_cifar100_layout(tmp_path):
    root = tmp_path / "cifar-100-python"
    root.mkdir()
    data = np.zeros((3, 3072), dtype=np.uint8)
    _write_batch(root / "train", data, [0, 1, 2], b"fine_labels")
    _write_batch(root / "test", data[:1], [2], b"fine_labels")
    with (root / "meta").open("wb") as file:
        pickle.dump({b"fine_label_names": [b"apple", b"bee", b"cup"]}, file, protocol=2)
    splits = load_source("cifar", str(root))
    assert splits["train"].class_names == ["apple", "bee", "cup"] and splits["test"].labels.tolist() == [2]


class _Boom:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_cifar_batches_refuse_code_and_mismatched_labels(tmp_path):
    root = make_cifar10(tmp_path / "c")
    with (root / "data_batch_2").open("wb") as file:
        pickle.dump({b"data": _Boom(), b"labels": []}, file, protocol=2)
    with pytest.raises(DataError, match=r"refusing to load (__builtin__|builtins)\.print"):
        load_source("cifar", str(root))
    _write_batch(root / "data_batch_2", np.zeros((4, 3072), dtype=np.uint8), [0, 1])
    with pytest.raises(DataError, match="4 images but 2 labels"):
        load_source("cifar", str(root))
    (root / "data_batch_2").write_bytes(b"\x80\x02truncated")
    with pytest.raises(DataError, match="not a readable CIFAR batch"):
        load_source("cifar", str(root))


def test_npz_layouts_and_mismatch(tmp_path):
    images = np.random.default_rng(0).random((6, 5, 5, 3)).astype(np.float32)  # N x H x W x C in 0..1
    np.savez(tmp_path / "a.npz", x_train=images, y_train=np.array([0, 1, 2, 0, 1, 2]), x_test=images[:2],
             y_test=np.array([1, 1]), class_names=np.array(["r", "g", "b"]))
    assert infer_source(str(tmp_path / "a.npz")) == "npz"
    splits = load_source("npz", str(tmp_path / "a.npz"))
    assert splits["train"].image_shape == (3, 5, 5) and splits["test"].class_names == ["r", "g", "b"]
    assert splits["train"].images[0, 0, 0, 0].item() == round(float(images[0, 0, 0, 0]) * 255)
    np.savez(tmp_path / "b.npz", images=np.zeros((4, 8, 8), np.uint8), labels=np.array([0, 1, 1]))
    with pytest.raises(DataError, match="4 images in 'images' but 3 labels"):
        load_source("npz", str(tmp_path / "b.npz"))
    np.savez(tmp_path / "c.npz", foo=np.zeros(3))
    with pytest.raises(DataError, match=r"found arrays \['foo'\]"):
        load_source("npz", str(tmp_path / "c.npz"))
    (tmp_path / "npy").mkdir()
    np.save(tmp_path / "npy" / "x.npy", np.zeros((3, 1, 4, 4), np.uint8))
    np.save(tmp_path / "npy" / "y.npy", np.array([0, 1, 0]))
    assert infer_source(str(tmp_path / "npy")) == "npz"
    assert load_source("npz", str(tmp_path / "npy"))["train"].image_shape == (1, 4, 4)


def test_keypoints_csv_with_missing_values(tmp_path):
    pixels = " ".join(str(v) for v in range(16))
    (tmp_path / "k.csv").write_text("left_eye_x,left_eye_y,right_eye_x,Image\n"
                                    f"1.5,2.5,,{pixels}\n"
                                    f",3,4,{pixels}\n")
    images, targets, names = read_keypoints_csv(tmp_path / "k.csv")
    assert images.shape == (2, 1, 4, 4) and images[0, 0, 1, 0] == 4
    assert names == ["left_eye_x", "left_eye_y", "right_eye_x"]
    assert targets.dtype == np.float32 and np.isnan(targets[0, 2]) and np.isnan(targets[1, 0])
    assert targets[0, :2].tolist() == [1.5, 2.5]
    (tmp_path / "bad.csv").write_text(f"x,Image\n1,{pixels}\n2,1 2 3\n")
    with pytest.raises(DataError, match="line 3: 3 pixels do not make a square|line 3: 3 pixels"):
        read_keypoints_csv(tmp_path / "bad.csv")


def test_label_csv_source(tmp_path):
    header = "label," + ",".join(f"pixel{i}" for i in range(4))
    (tmp_path / "d.csv").write_text(f"{header}\n1,0,10,20,30\n0,255,0,0,0\n")
    train = load_source("csv", str(tmp_path / "d.csv"))["train"]
    assert train.images.shape == (2, 1, 2, 2) and train.labels.tolist() == [1, 0]
    assert train.images[0, 0].tolist() == [[0, 10], [20, 30]]


def test_infer_source_for_folders_and_unknown_data(tmp_path):
    make_folder(tmp_path / "imgs")
    assert infer_source(str(tmp_path / "imgs")) == "folder"
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "readme.txt").write_text("hi")
    with pytest.raises(DataError, match="cannot tell what data this is"):
        infer_source(str(tmp_path / "junk"))


def test_official_val_and_test_splits_are_kept(tmp_path):
    for split in ("train", "val", "test"):
        make_folder(tmp_path / "d" / split, per_class=2)
    splits = make_splits(load_source("folder", str(tmp_path / "d"), input_size=8), 0.5, 0.5, 0)
    assert [len(splits[name]) for name in ("train", "val", "test")] == [4, 4, 4]


def test_downloaded_sources_say_how_to_get_the_data(tmp_path, monkeypatch):
    monkeypatch.setenv("STRIATE_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError, match="striate data download cifar10"):
        load_source("cifar10")
    make_cifar10(tmp_path / "cifar10" / "cifar-10-batches-py")
    assert len(load_source("cifar10")["train"]) == 20
    assert torch.is_tensor(load_source("cifar10")["test"].labels)


def test_corrupt_npz_and_ragged_label_csv(tmp_path):
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 not a zip really")
    with pytest.raises(DataError, match="not a readable NumPy file"):
        load_source("npz", str(tmp_path / "broken.npz"))
    header = "label," + ",".join(f"pixel{i}" for i in range(4))
    (tmp_path / "ragged.csv").write_text(f"{header}\n1,0,10,20,30\n0,255,0\n")
    with pytest.raises(DataError, match="5 numeric fields"):
        load_source("csv", str(tmp_path / "ragged.csv"))


def test_prediction_inputs_are_cut_like_the_training_folder(tmp_path):
    from striate.data.folder import decode_file
    from striate.data.images import load_image, to_network_input

    pixels = np.random.default_rng(1).integers(0, 256, (12, 30, 3), dtype=np.uint8)  # a wide picture
    Image.fromarray(pixels).save(tmp_path / "wide.png")
    preprocess = {"native_size": [8, 8], "input_size": 8, "fit": "pad", "normalize": "none"}
    predicted = to_network_input([load_image(tmp_path / "wide.png", 3)], preprocess)
    trained = decode_file(tmp_path / "wide.png", 3, 8).float().div(255)
    assert torch.allclose(predicted[0], trained)
