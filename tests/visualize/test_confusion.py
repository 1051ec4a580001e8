"""Confusion matrix, most confused pairs and top losses: the counts and losses behind the pictures."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from visualize_helpers import decode_png

from striate.training.loop import evaluate
from striate.visualize.confusion import most_confused_pairs, plot_confusion, plot_top_losses, row_normalised, top_losses
from striate.session import open_run


def test_confusion_counts_sum_to_the_data_set_size(tiny_cnn_run):
    run = open_run(tiny_cnn_run)
    figures = evaluate(run.model, run.loader(batch_size=50), run.task)
    counts = np.asarray(figures["confusion"])
    assert counts.sum() == len(run.test)
    assert (counts.sum(axis=1) == np.bincount(run.test.labels.numpy(), minlength=10)).all()  # rows: true classes


def test_row_normalised_rows_sum_to_one():
    counts = np.array([[5, 1, 0], [0, 0, 0], [2, 2, 4]])
    shares = row_normalised(counts)
    assert shares[0].sum() == pytest.approx(1.0) and shares[2].sum() == pytest.approx(1.0)
    assert (shares[1] == 0).all()  # an empty row stays 0 rather than NaN
    assert shares[2, 2] == pytest.approx(0.5)


def test_most_confused_pairs_are_the_largest_off_diagonal_counts():
    counts = np.array([[9, 3, 0], [7, 8, 1], [0, 3, 6]])
    assert most_confused_pairs(counts, 3) == [(1, 0, 7), (0, 1, 3), (2, 1, 3)]
    assert most_confused_pairs(np.eye(3, dtype=int) * 4, 5) == []


class FixedLogits(nn.Module):
    """Returns the logits stored for each input id (the image's first pixel)."""

    def __init__(self, logits):
        super().__init__()
        self.logits = logits

    def forward(self, images):
        return self.logits[images[:, 0, 0, 0].long()]


def test_top_losses_are_the_highest_losses_found_in_one_pass():
    torch.manual_seed(0)
    count = 50
    logits, labels = torch.randn(count, 4) * 3, torch.randint(0, 4, (count,))
    images = torch.arange(count).float().view(count, 1, 1, 1).expand(count, 1, 2, 2).contiguous()
    batches = ((images[i : i + 7], labels[i : i + 7]) for i in range(0, count, 7))  # a generator: one pass
    found = top_losses(FixedLogits(logits), batches, k=6)
    losses = F.cross_entropy(logits, labels, reduction="none")
    expected = losses.topk(6)
    assert torch.equal(found.indices, expected.indices)
    assert torch.allclose(found.losses, expected.values)
    assert torch.equal(found.labels, labels[expected.indices])
    assert torch.equal(found.predictions, logits[expected.indices].argmax(dim=1))
    assert torch.equal(found.images[:, 0, 0, 0].long(), expected.indices)  # the image kept is the right one


def test_pictures_decode(tiny_cnn_run, tmp_path):
    run = open_run(tiny_cnn_run)
    figures = run.evaluate()
    decode_png(plot_confusion(figures["confusion"], run.class_names, tmp_path / "confusion.png"))
    found = top_losses(run.model, run.loader(), k=10)
    assert len(found.losses) == 10 and bool((found.losses[:-1] >= found.losses[1:]).all())
    width, height = decode_png(plot_top_losses(found, tmp_path / "losses.png", run.mean, run.std, run.class_names))
    assert width > 300 and height > 200
