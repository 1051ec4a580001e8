"""Task losses and metrics against hand-computed cases."""

import math

import pytest
import torch
import torch.nn.functional as F

from striate.tasks.losses import masked_mse, pixel_cross_entropy, reconstruction_mse
from striate.tasks.metrics import (KeypointMeter, ReconstructionMeter, SegmentationMeter, confusion_matrix,
                                   intersection_over_union, mean_iou, median_frequency_weights)

NAN = float("nan")


def test_masked_mse_ignores_missing_points():
    targets = torch.tensor([[0.0, 1.0, NAN, NAN], [0.5, 0.5, 0.0, 0.0]])
    outputs = torch.tensor([[1.0, 1.0, 7.0, -3.0], [0.5, 0.0, 0.0, 2.0]])
    # present: (1-0)^2 + 0 + 0 + 0.25 + 0 + 4 over 6 values
    assert masked_mse(outputs, targets).item() == pytest.approx(5.25 / 6)
    moved = outputs.clone()
    moved[0, 2:] = 1000.0  # predictions for the missing point change nothing
    assert masked_mse(moved, targets).item() == pytest.approx(5.25 / 6)
    # "sum": each sample's mean over its present values, summed: 1/2 + 4.25/4
    assert masked_mse(outputs, targets, reduction="sum").item() == pytest.approx(0.5 + 4.25 / 4)


def test_masked_mse_gradient_is_zero_at_missing_points():
    outputs = torch.zeros(1, 4, requires_grad=True)
    masked_mse(outputs, torch.tensor([[1.0, 1.0, NAN, NAN]])).backward()
    assert outputs.grad[0, 2:].abs().sum() == 0 and outputs.grad[0, :2].abs().sum() > 0


def test_pixel_cross_entropy_leaves_out_the_ignore_index():
    torch.manual_seed(0)
    scores = torch.randn(2, 3, 4, 4)
    masks = torch.randint(0, 3, (2, 4, 4))
    masks[0, 0] = 255
    kept = masks != 255
    expected = F.cross_entropy(scores.permute(0, 2, 3, 1)[kept], masks[kept])
    assert pixel_cross_entropy(scores, masks).item() == pytest.approx(expected.item(), rel=1e-5)
    changed = scores.clone()
    changed[0, :, 0] = 50.0  # scores at ignored pixels do not matter
    assert pixel_cross_entropy(changed, masks).item() == pytest.approx(expected.item(), rel=1e-5)


def test_median_frequency_weights_hand_computed():
    # image 1: 6 background, 2 of class 1, 1 ignored; image 2: 5 background, 4 of class 2 (9 pixels each)
    masks = torch.tensor([[[0, 0, 0], [0, 0, 0], [1, 1, 255]], [[0, 0, 0], [0, 0, 2], [2, 2, 2]]], dtype=torch.uint8)
    weights = median_frequency_weights(masks, 4, ignore_index=255)
    # freq: background 11/17 (8 + 9 labelled pixels), class 1 2/8, class 2 4/9; median 4/9; class 3 absent
    frequency = torch.tensor([11 / 17, 2 / 8, 4 / 9], dtype=torch.float64)
    assert torch.allclose(weights[:3].double(), (4 / 9) / frequency, atol=1e-6) and weights[3] == 1.0
    assert weights[1] > weights[2] > weights[0]  # the rarer, the heavier


def test_weighted_pixel_cross_entropy_is_the_weighted_mean_over_labelled_pixels():
    torch.manual_seed(0)
    scores, masks = torch.randn(2, 3, 2, 2), torch.tensor([[[0, 1], [2, 255]], [[0, 0], [1, 2]]])
    weight = torch.tensor([0.5, 2.0, 4.0])
    loss = pixel_cross_entropy(scores, masks, 255, weight=weight)
    per_pixel = -torch.log_softmax(scores, dim=1).gather(1, masks.clamp(max=2).unsqueeze(1)).squeeze(1)
    labelled = masks != 255
    pixel_weights = weight[masks[labelled]]
    assert loss.item() == pytest.approx(float((per_pixel[labelled] * pixel_weights).sum() / pixel_weights.sum()), rel=1e-6)
    assert loss.item() == pytest.approx(F.cross_entropy(scores, masks, weight=weight, ignore_index=255).item(), rel=1e-6)


def test_iou_hand_computed():
    # truth    predicted          class 0: TP 2, FP 1, FN 1 -> 2/4
    # 0 0 1    0 1 1              class 1: TP 2, FP 1, FN 1 -> 2/4
    # 1 2 2    0 2 1              class 2: TP 1, FP 0, FN 1 -> 1/2
    truth = torch.tensor([[0, 0, 1], [1, 2, 2]])
    predicted = torch.tensor([[0, 1, 1], [0, 2, 1]])
    confusion = confusion_matrix(predicted, truth, 3)
    assert confusion.tolist() == [[1, 1, 0], [1, 1, 0], [0, 1, 1]]
    assert intersection_over_union(confusion).tolist() == pytest.approx([1 / 3, 1 / 4, 1 / 2])
    assert mean_iou(confusion) == pytest.approx((1 / 3 + 1 / 4 + 1 / 2) / 3)


def test_iou_leaves_out_absent_classes_and_ignored_pixels():
    truth = torch.tensor([0, 0, 1, 255])
    predicted = torch.tensor([0, 0, 1, 3])
    confusion = confusion_matrix(predicted, truth, 4, ignore_index=255)
    iou = intersection_over_union(confusion)
    assert iou[:2].tolist() == [1.0, 1.0] and math.isnan(iou[2]) and math.isnan(iou[3])
    assert mean_iou(confusion) == 1.0


def test_segmentation_meter_accumulates_batches():
    meter = SegmentationMeter(2)
    scores = torch.tensor([[[[1.0, -1.0]], [[0.0, 0.0]]]])  # N=1, C=2, H=1, W=2: predicts [0, 1]
    meter.update(scores, torch.tensor([[[0, 0]]]), loss_sum=1.0)
    meter.update(scores, torch.tensor([[[1, 1]]]), loss_sum=3.0)
    result = meter.result()
    assert result["pixel_accuracy"] == 0.5 and result["loss"] == 2.0
    assert result["miou"] == pytest.approx(1 / 3)  # each class: TP 1, FP 1, FN 1


def test_keypoint_rmse_in_pixels():
    meter = KeypointMeter(half_size=10.0)
    outputs = torch.tensor([[0.3, 0.4, 0.0, 0.0]])  # point 1 off by (3, 4) pixels; point 2 missing
    meter.update(outputs, torch.tensor([[0.0, 0.0, NAN, NAN]]), loss_sum=0.0)
    result = meter.result()
    assert result["point_error"] == pytest.approx(5.0)
    assert result["rmse"] == pytest.approx(5.0 / math.sqrt(2)) and result["points"] == 1
    assert result["per_point_error"][0] == pytest.approx(5.0) and math.isnan(result["per_point_error"][1])
    meter.update(torch.tensor([[0.0, 0.0, 0.6, 0.8]]), torch.zeros(1, 4), loss_sum=0.0)  # point 2 off by 10 px
    per_point = meter.result()["per_point_error"]
    assert per_point[0] == pytest.approx(math.sqrt(25 / 2)) and per_point[1] == pytest.approx(10.0)


def test_reconstruction_error_and_psnr():
    meter = ReconstructionMeter()
    images = torch.zeros(2, 1, 2, 2)
    meter.update(images + 0.1, images, loss_sum=0.0)
    result = meter.result()
    assert result["mse"] == pytest.approx(0.01) and result["psnr"] == pytest.approx(20.0)
    assert reconstruction_mse(images + 0.1, images).item() == pytest.approx(0.01)
