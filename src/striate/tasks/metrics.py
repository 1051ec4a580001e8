"""Figures of the dense and regression tasks, accumulated batch by batch (``update``) and read at the
end (``result``): keypoint RMSE in pixels, pixel accuracy and mean IoU, reconstruction error. ``loss_sum``
may be a 0-d tensor on the device (the training loop's, not read each step).

>>> confusion = confusion_matrix(torch.tensor([0, 1, 1]), torch.tensor([0, 1, 0]), 2)
>>> intersection_over_union(confusion).tolist()
[0.5, 0.5]
"""

import math

import torch


def confusion_matrix(predicted: torch.Tensor, target: torch.Tensor, num_classes: int,
                     ignore_index: int | None = None) -> torch.Tensor:
    """Counts (rows: true class, columns: predicted) over all pixels, leaving out ``ignore_index``."""
    predicted, target = predicted.flatten(), target.flatten()
    if ignore_index is not None:
        keep = target != ignore_index
        predicted, target = predicted[keep], target[keep]
    pairs = target.long() * num_classes + predicted.long()
    return torch.bincount(pairs, minlength=num_classes * num_classes).view(num_classes, num_classes)


def intersection_over_union(confusion: torch.Tensor) -> torch.Tensor:
    """Per-class IoU = TP / (TP + FP + FN); NaN for a class absent from both truth and prediction."""
    confusion = confusion.double()
    true_positive = confusion.diag()
    union = confusion.sum(dim=0) + confusion.sum(dim=1) - true_positive
    return torch.where(union > 0, true_positive / union.clamp_min(1), torch.full_like(union, math.nan))


def mean_iou(confusion: torch.Tensor) -> float:
    """The mean of the per-class IoU over the classes that occur (in truth or prediction)."""
    iou = intersection_over_union(confusion)
    present = ~torch.isnan(iou)
    return float(iou[present].mean()) if present.any() else math.nan


def median_frequency_weights(masks: torch.Tensor, num_classes: int, ignore_index: int | None = None) -> torch.Tensor:
    """Per-class loss weights by median frequency balancing (Eigen and Fergus 2015; SegNet):
    ``freq(c)`` = pixels of class c / pixels of the images where c occurs, ``weight(c)`` = median freq / freq(c).
    Rare classes (thin digit strokes) weigh more than the background; a class absent from ``masks`` gets 1."""
    flat = masks.reshape(len(masks), -1).long()
    counts = torch.zeros(num_classes, dtype=torch.float64)
    image_pixels = torch.zeros(num_classes, dtype=torch.float64)
    for mask in flat:
        if ignore_index is not None:
            mask = mask[mask != ignore_index]
        per_class = torch.bincount(mask[mask < num_classes], minlength=num_classes).double()
        counts += per_class
        image_pixels += (per_class > 0).double() * mask.numel()
    present = counts > 0
    if not present.any():
        return torch.ones(num_classes)
    frequency = counts[present] / image_pixels[present]
    weights = torch.ones(num_classes, dtype=torch.float64)
    weights[present] = frequency.median() / frequency
    return weights.float()


class SegmentationMeter:
    """Loss, pixel accuracy, mean IoU and per-class IoU over batches of scores and masks."""

    def __init__(self, num_classes: int, ignore_index: int = 255):
        self.num_classes, self.ignore_index = num_classes, ignore_index
        self.confusion = torch.zeros(num_classes, num_classes, dtype=torch.long)
        self.loss_sum, self.count = 0.0, 0

    def update(self, outputs: torch.Tensor, masks: torch.Tensor, loss_sum: float) -> None:
        counts = confusion_matrix(outputs.argmax(dim=1), masks, self.num_classes, self.ignore_index)
        self.confusion += counts.cpu()
        self.loss_sum += loss_sum
        self.count += len(masks)

    def totals(self) -> torch.Tensor:
        """Everything as one float64 tensor (DDP sums, exact mid-epoch resume): confusion, loss sum, count."""
        return torch.cat([self.confusion.flatten().double(), torch.tensor([float(self.loss_sum), self.count], dtype=torch.float64)])

    def load_totals(self, totals: torch.Tensor) -> None:
        classes = self.num_classes
        self.confusion = totals[: classes * classes].round().long().view(classes, classes)
        self.loss_sum, self.count = float(totals[-2]), int(round(float(totals[-1])))

    def result(self) -> dict:
        pixels = int(self.confusion.sum())
        return {"loss": float(self.loss_sum) / max(self.count, 1), "count": self.count,
                "pixel_accuracy": float(self.confusion.diag().sum()) / pixels if pixels else math.nan,
                "miou": mean_iou(self.confusion),
                "per_class_iou": intersection_over_union(self.confusion).tolist()}


class KeypointMeter:
    """Loss and the root-mean-square error in pixels per point, over the points present.

    Targets are coordinates scaled to -1..1 (``pixels = (value + 1) * half``), so one unit is
    ``half_size`` pixels, (S - 1) / 2 for an S-pixel side.
    """

    def __init__(self, half_size: float):
        self.half_size = half_size
        self.squared_sum, self.points, self.loss_sum, self.count = 0.0, 0, 0.0, 0
        self.by_point: torch.Tensor | None = None  # K x 2: squared pixel distance sum and count per keypoint

    def update(self, outputs: torch.Tensor, targets: torch.Tensor, loss_sum: float) -> None:
        points = outputs.view(len(outputs), -1, 2), targets.view(len(targets), -1, 2)
        present = ~torch.isnan(points[1]).any(dim=2)  # N x K: both coordinates given
        distances = (points[0] - torch.nan_to_num(points[1])).pow(2).sum(dim=2)  # squared distance per point
        distances = distances.double().where(present, 0.0) * self.half_size ** 2
        by_point = torch.stack([distances.sum(dim=0), present.sum(dim=0).double()], dim=1).cpu()
        self.by_point = by_point if self.by_point is None else self.by_point + by_point
        self.squared_sum += float(distances.sum())
        self.points += int(present.sum())
        self.loss_sum += loss_sum
        self.count += len(outputs)

    def totals(self) -> torch.Tensor:
        """Everything as one float64 tensor: squared sum, points, loss sum, count, then the per-point sums."""
        head = torch.tensor([self.squared_sum, self.points, float(self.loss_sum), self.count], dtype=torch.float64)
        return head if self.by_point is None else torch.cat([head, self.by_point.flatten()])

    def load_totals(self, totals: torch.Tensor) -> None:
        squared_sum, points, self.loss_sum, count = totals[:4].tolist()
        self.squared_sum, self.points, self.count = squared_sum, int(round(points)), int(round(count))
        self.by_point = totals[4:].view(-1, 2).clone() if len(totals) > 4 else None

    def result(self) -> dict:
        # RMSE of the point positions (Euclidean) and per coordinate (Kaggle's score): they differ by sqrt(2)
        per_point = math.sqrt(self.squared_sum / self.points) if self.points else math.nan
        by_point = [] if self.by_point is None else [
            math.sqrt(total / count) if count else math.nan for total, count in self.by_point.tolist()]
        return {"loss": float(self.loss_sum) / max(self.count, 1), "count": self.count, "rmse": per_point / math.sqrt(2),
                "point_error": per_point, "points": self.points, "per_point_error": by_point}


class ReconstructionMeter:
    """Loss, mean squared error per pixel (0..1 units) and the PSNR it amounts to."""

    def __init__(self):
        self.squared_sum, self.values, self.loss_sum, self.count = 0.0, 0, 0.0, 0

    def update(self, outputs: torch.Tensor, images: torch.Tensor, loss_sum: float) -> None:
        self.squared_sum += float((outputs - images).pow(2).sum())
        self.values += images.numel()
        self.loss_sum += loss_sum
        self.count += len(images)

    def totals(self) -> torch.Tensor:
        return torch.tensor([self.squared_sum, self.values, float(self.loss_sum), self.count], dtype=torch.float64)

    def load_totals(self, totals: torch.Tensor) -> None:
        self.squared_sum, values, self.loss_sum, count = totals.tolist()
        self.values, self.count = int(round(values)), int(round(count))

    def result(self) -> dict:
        mse = self.squared_sum / self.values if self.values else math.nan
        psnr = 10 * math.log10(1 / mse) if mse and mse == mse else math.nan
        return {"loss": float(self.loss_sum) / max(self.count, 1), "count": self.count, "mse": mse, "psnr": psnr}
