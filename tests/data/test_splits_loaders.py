"""Stratified splits and k-fold partitions; the streaming loader gives the device loader's batches."""

import pytest
import torch

from striate.data import DeviceLoader, ImageSet, stratified_split
from striate.data.augment import build_augment
from striate.data.preprocess import fit_preprocess, make_normalizer
from striate.data.sources import load_source, make_splits
from striate.data.splits import kfold_split
from striate.data.streaming import StreamingLoader
from striate.errors import ConfigError, DataError

LABELS = torch.tensor([0] * 50 + [1] * 30 + [2] * 20)


def test_stratified_split_counts_and_no_overlap():
    train, val, test = stratified_split(LABELS, [0.1, 0.2], seed=3)
    assert torch.bincount(LABELS[val]).tolist() == [5, 3, 2]
    assert torch.bincount(LABELS[test]).tolist() == [10, 6, 4]
    everything = torch.cat([train, val, test])
    assert len(everything) == 100 and len(torch.unique(everything)) == 100  # a partition: no overlap, no loss
    assert torch.equal(stratified_split(LABELS, [0.1, 0.2], seed=3)[1], val)
    assert not torch.equal(stratified_split(LABELS, [0.1, 0.2], seed=4)[1], val)


def test_kfold_partitions_each_class_evenly():
    folds = [kfold_split(LABELS, 5, fold, seed=1) for fold in range(5)]
    validation = torch.cat([val for _, val in folds])
    assert sorted(validation.tolist()) == list(range(100))  # every item validates exactly once
    for train, val in folds:
        assert torch.bincount(LABELS[val], minlength=3).tolist() == [10, 6, 4]
        assert len(set(train.tolist()) & set(val.tolist())) == 0 and len(train) + len(val) == 100
    with pytest.raises(ConfigError):
        kfold_split(LABELS, 5, 5)


def test_make_splits_with_folds_keeps_the_test_split_fixed():
    data = {"train": ImageSet(torch.zeros(100, 1, 2, 2, dtype=torch.uint8), LABELS)}
    first = make_splits(data, 0.1, 0.2, seed=0, folds=4, fold=0)
    second = make_splits(data, 0.1, 0.2, seed=0, folds=4, fold=1)
    assert len(first["test"]) == 20 and torch.equal(first["test"].labels, second["test"].labels)
    assert len(first["val"]) + len(first["train"]) == 80


def _folder(tmp_path, count=5):
    """Three class sub-folders of ``count`` random 14x11 PNG images each."""
    import numpy as np
    from PIL import Image

    root = tmp_path / "imgs"
    for label, name in enumerate(("a", "b", "c")):
        (root / name).mkdir(parents=True)
        for index in range(count):
            pixels = np.random.default_rng(label * 100 + index).integers(0, 256, (11, 14, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{index:03d}.png")
    return root


@pytest.mark.parametrize("workers", [0, 1])
def test_streaming_and_device_loaders_give_the_same_batches(tmp_path, workers):
    root = _folder(tmp_path)
    data = load_source("folder", str(root), input_size=8)["train"]
    normalize = make_normalizer(fit_preprocess(data.images, "channel"))
    augment = build_augment(["hflip", {"crop": {"padding": 2}}, {"rotate": {"degrees": 10}}, "noise"])
    device = DeviceLoader(data, 4, [0.0], [1.0], shuffle=True, seed=7, augment=augment, normalize=normalize)
    streaming = StreamingLoader.from_folder(root, size=8, batch_size=4, normalize=normalize, shuffle=True, seed=7,
                                            augment=augment, workers=workers)
    assert len(streaming) == len(device) == 4
    for epoch in (1, 2):
        device.set_epoch(epoch)
        streaming.set_epoch(epoch)
        pairs = list(zip(device, streaming))
        assert len(pairs) == 4
        for (images_a, labels_a), (images_b, labels_b) in pairs:
            assert torch.equal(labels_a, labels_b)
            assert torch.equal(images_a, images_b)
    device.set_epoch(3)
    assert not torch.equal(next(iter(device))[0], pairs[0][1][0])  # a new epoch is a new order and draw


def test_streaming_loader_reports_or_skips_bad_files_before_training(tmp_path):
    root = _folder(tmp_path, count=2)
    (root / "b" / "zz-bad.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with pytest.raises(DataError, match="zz-bad.png"):
        StreamingLoader.from_folder(root, size=8, batch_size=4)
    loader = StreamingLoader.from_folder(root, size=8, batch_size=4, skip_bad=True)
    assert len(loader.files.paths) == 6 and len(loader.files.bad) == 1
    assert sum(len(labels) for _, labels in loader) == 6
