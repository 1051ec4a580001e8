"""Losses against their formulas by hand; metrics accumulated batch by batch."""

import math

import pytest
import torch
import torch.nn.functional as F

from striate.errors import ConfigError
from striate.training.losses import build_loss, masked_mse
from striate.training.metrics import ClassificationMeter, RegressionMeter

SCORES = torch.tensor([[3.0, 1.0, 2.5], [0.0, 2.0, -1.0]])
LABELS = torch.tensor([0, 2])


def test_cross_entropy_is_the_softmax_log_loss():
    expected = -(SCORES.softmax(1)[[0, 1], LABELS]).log().mean()
    assert build_loss("cross_entropy")(SCORES, LABELS) == pytest.approx(float(expected))


def test_hinge_losses_by_hand():
    # sample 0 (y=0): max(0, 1-3+1)=0, max(0, 2.5-3+1)=0.5 -> 0.5;  sample 1 (y=2): 0-(-1)+1=2, 2+1+1=4 -> 6
    assert float(build_loss("hinge")(SCORES, LABELS)) == pytest.approx((0.5 + 6) / 2)
    assert float(build_loss("squared_hinge")(SCORES, LABELS)) == pytest.approx((0.25 + 4 + 16) / 2)
    assert float(build_loss("hinge")(SCORES, LABELS, reduction="sum")) == pytest.approx(6.5)


def test_bce_is_one_vs_rest_on_sigmoids():
    targets = F.one_hot(LABELS, 3).float()
    p = SCORES.sigmoid()
    expected = -(targets * p.log() + (1 - targets) * (1 - p).log()).sum(1).mean()
    assert float(build_loss("bce")(SCORES, LABELS)) == pytest.approx(float(expected), rel=1e-5)


def test_mse_masks_missing_targets():
    outputs = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    targets = torch.tensor([[2.0, math.nan, 1.0], [math.nan, math.nan, 3.0]])
    assert float(masked_mse(outputs, targets)) == pytest.approx((1 + 4 + 9) / 3)
    outputs.requires_grad_(True)
    masked_mse(outputs, targets).backward()
    assert outputs.grad[0, 1] == 0 and outputs.grad[1, 0] == 0  # a missing target pulls nothing


def test_label_smoothing_changes_only_cross_entropy():
    smoothed = build_loss("cross_entropy", label_smoothing=0.2)(SCORES, LABELS)
    assert float(smoothed) != pytest.approx(float(build_loss("cross_entropy")(SCORES, LABELS)))
    with pytest.raises(ConfigError, match="cross_entropy only"):
        build_loss("hinge", label_smoothing=0.1)


def test_classification_meter_accumulates_confusion_top5_and_per_class():
    torch.manual_seed(0)
    logits, labels = torch.randn(50, 7), torch.randint(0, 7, (50,))
    meter = ClassificationMeter(7)
    for start in range(0, 50, 16):
        meter.update(logits[start:start + 16], labels[start:start + 16])
    result = meter.result()
    predicted = logits.argmax(1)
    assert result["accuracy"] == pytest.approx(float((predicted == labels).float().mean()))
    top5 = logits.topk(5, 1).indices
    assert result["top5_error"] == pytest.approx(1 - float((top5 == labels[:, None]).any(1).float().mean()))
    confusion = torch.tensor(result["confusion"])
    assert int(confusion.sum()) == 50 and int(confusion[labels[0], predicted[0]]) >= 1
    for klass in range(7):
        mask = labels == klass
        if mask.any():
            assert result["per_class_accuracy"][klass] == pytest.approx(float((predicted[mask] == klass).float().mean()))


def test_regression_meter_mse_and_rmse_skip_missing():
    meter = RegressionMeter()
    meter.update(torch.tensor([1.0, 2.0]), torch.tensor([3.0, math.nan]))
    meter.update(torch.tensor([0.0]), torch.tensor([2.0]))
    assert meter.result() == {"mse": 4.0, "rmse": 2.0, "count": 2}
