"""What a task changes around the one training loop: the loss, the meter (figures), the targets and
how one augmentation draw moves them with the images. ``data.task`` in a recipe picks one.

    classification  labels               cross-entropy      accuracy            (striate.pipeline)
    keypoints       N x 2K coordinates   masked MSE         RMSE in pixels
    segmentation    N x H x W classes    per-pixel softmax  pixel accuracy, mean IoU
    autoencoder     the images           MSE                MSE, PSNR

>>> task = SegmentationTask(num_classes=3)
>>> task.metric, task.higher_is_better
('miou', True)
"""

import torch

from striate.errors import ConfigError, did_you_mean
from striate.tasks.losses import masked_mse, pixel_cross_entropy, reconstruction_mse
from striate.tasks.metrics import KeypointMeter, ReconstructionMeter, SegmentationMeter

TASK_NAMES = ("classification", "keypoints", "segmentation", "autoencoder")


class Task:
    """Base: subclasses set ``name``, ``metric`` (the validation figure that picks the best epoch) and
    ``higher_is_better``, and define ``loss`` and ``meter``."""

    name, metric, higher_is_better = "", "loss", False
    figures: tuple[str, ...] = ()  # the single-number figures of its meter, logged as train_* and val_*

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        raise NotImplementedError

    def meter(self):
        raise NotImplementedError

    def batch(self, images: torch.Tensor, targets: torch.Tensor, augmenter=None, generator=None):
        """Float images in 0..1 and stored targets -> the (augmented) images and the training targets."""
        if augmenter is not None:
            images, _, _ = augmenter.apply(images, augmenter.draw(images.shape, generator, images.device))
        return images, targets

    def better(self, value: float, best: float | None) -> bool:
        """Whether ``value`` beats ``best`` (None: nothing yet); NaN never does."""
        if value != value:
            return best is None
        return best is None or best != best or (value > best if self.higher_is_better else value < best)


class KeypointTask(Task):
    """Targets: N x 2K coordinates (x1, y1, x2, y2, ...) scaled to -1..1, NaN where missing; ``swap``
    is the keypoint permutation a left-right flip applies (left eye <-> right eye)."""

    name, metric, higher_is_better = "keypoints", "rmse", False
    figures = ("rmse", "point_error")

    def __init__(self, image_size: int, swap: list[int] | None = None):
        self.half = (image_size - 1) / 2
        self.swap = swap

    def loss(self, outputs, targets, reduction="mean"):
        return masked_mse(outputs, targets, reduction)

    def meter(self):
        return KeypointMeter(self.half)

    def batch(self, images, targets, augmenter=None, generator=None):
        if augmenter is None:
            return images, targets
        points = (targets.view(len(targets), -1, 2) + 1) * self.half  # scaled -> pixel coordinates
        draws = augmenter.draw(images.shape, generator, images.device)
        images, _, points = augmenter.apply(images, draws, keypoints=points, swap=self.swap)
        return images, (points / self.half - 1).view(len(targets), -1)


class SegmentationTask(Task):
    """Targets: N x 1 x H x W uint8 class masks (``ignore_index`` for pixels without a label);
    ``weights``: optional per-class loss weights (median frequency balancing)."""

    name, metric, higher_is_better = "segmentation", "miou", True
    figures = ("miou", "pixel_accuracy")

    def __init__(self, num_classes: int, ignore_index: int = 255, weights: torch.Tensor | None = None):
        self.num_classes, self.ignore_index, self.weights = num_classes, ignore_index, weights

    def loss(self, outputs, targets, reduction="mean"):
        return pixel_cross_entropy(outputs, targets, self.ignore_index, reduction, self.weights)

    def meter(self):
        return SegmentationMeter(self.num_classes, self.ignore_index)

    def batch(self, images, targets, augmenter=None, generator=None):
        if augmenter is not None:
            draws = augmenter.draw(images.shape, generator, images.device)
            images, targets, _ = augmenter.apply(images, draws, masks=targets)
        return images, targets[:, 0].long()  # N x 1 x H x W -> N x H x W class indices


class AutoencoderTask(Task):
    """Targets: the (augmented) input images themselves, in 0..1."""

    name, metric, higher_is_better = "autoencoder", "mse", False
    figures = ("mse", "psnr")

    def loss(self, outputs, targets, reduction="mean"):
        return reconstruction_mse(outputs, targets, reduction)

    def meter(self):
        return ReconstructionMeter()

    def batch(self, images, targets, augmenter=None, generator=None):
        images, _ = super().batch(images, targets, augmenter, generator)
        return images, images


def check_task_name(name: str) -> str:
    if name not in TASK_NAMES:
        raise ConfigError(f"unknown data.task '{name}'{did_you_mean(name, TASK_NAMES)}; expected one of {list(TASK_NAMES)}")
    return name
