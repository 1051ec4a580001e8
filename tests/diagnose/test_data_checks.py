"""The data checks pass on clean digits and fail on each kind of broken data."""

import torch

from striate.diagnose.data_checks import data_checks
from striate.diagnose.report import FAIL, PASS


def _digits():
    from striate.data import channel_stats, load_source, make_splits

    splits = make_splits(load_source("digits"), 0.1, 0.1, 0)
    mean, std = channel_stats(splits["train"].images)

    def normalise(part):
        return (part.images.float() / 255 - mean[0]) / std[0], part.labels

    return normalise(splits["train"]), normalise(splits["test"])


def _batches(images, labels, size=256):
    return [(images[i : i + size], labels[i : i + size]) for i in range(0, len(images), size)]


def _results(train, test):
    return {result.name: result for result in data_checks(_batches(*train), _batches(*test), 10)}


def test_clean_data_passes_every_check():
    results = _results(*_digits())
    assert {name: r.verdict for name, r in results.items()} == {
        "label balance": PASS, "NaN / Inf in inputs": PASS, "normalisation": PASS, "train/test overlap": PASS}


def test_nan_and_inf_are_found():
    (train_images, train_labels), test = _digits()
    train_images = train_images.clone()
    train_images[3, 0, 2, 2] = float("nan")
    train_images[700, 0, 0, 0] = float("inf")
    result = _results((train_images, train_labels), test)["NaN / Inf in inputs"]
    assert result.verdict == FAIL and result.measured == "2 in train"


def test_unnormalised_inputs_fail():
    (train_images, train_labels), test = _digits()
    result = _results((train_images * 40 + 100, train_labels), test)["normalisation"]
    assert result.verdict == FAIL


def test_unbalanced_labels_fail():
    (train_images, train_labels), test = _digits()
    keep = (train_labels != 3) | (torch.arange(len(train_labels)) % 20 == 0)  # keep 1 in 20 of the threes
    result = _results((train_images[keep], train_labels[keep]), test)["label balance"]
    assert result.verdict == FAIL and "'3' rarest" in result.measured


def test_train_test_duplicates_are_found_with_conflicting_labels():
    train, (test_images, test_labels) = _digits()
    leaked_images = torch.cat([test_images[:10], train[0][:20]])
    leaked_labels = torch.cat([test_labels[:10], (train[1][:20] + 1) % 10])
    result = _results(train, (leaked_images, leaked_labels))["train/test overlap"]
    assert result.verdict == FAIL
    assert result.measured.startswith("20 of 30") and "20 with a different label" in result.measured
